#include "common/udp.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <vector>

#include "common/event_loop.h"
#include "common/log.h"

namespace ike {
namespace {
constexpr int kReceiveBufferBytes = 4 << 20;
}  // namespace

namespace {

// The largest UDP payload; ISAKMP messages are far smaller, but a truncated
// read would look like a corrupt packet.
constexpr size_t kMaxDatagram = 65535;

Error SocketError(const std::string& what, const Endpoint& where, int err) {
  return Error{what + " " + where.ToString() + ": " + strerror(err)};
}

}  // namespace

Result<std::unique_ptr<UdpSocket>> UdpSocket::Bind(EventLoop& loop, const Endpoint& local,
                                                   PacketHandler on_packet) {
  sockaddr_storage addr;
  socklen_t len = static_cast<socklen_t>(local.ToSockaddr(&addr));
  if (len == 0) return Error{"cannot bind UDP: " + local.ToString() + " has no address family"};
  int fd = socket(local.address.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return SocketError("cannot create UDP socket for", local, errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // A reconnect storm delivers thousands of Main Mode requests at once; the
  // default ~200 kB buffer drops most of them (seen in bench/ at N=2000).
  // FORCE works for root past net.core.rmem_max; otherwise ask for what we may.
  int buffer = kReceiveBufferBytes;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof(buffer)) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  // An IPv6 socket on :: must not also claim the IPv4 port: isakmpd binds
  // IPv4 addresses separately.
  if (local.address.family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    int err = errno;
    close(fd);
    return SocketError("cannot bind UDP", local, err);
  }
  std::unique_ptr<UdpSocket> sock(new UdpSocket());
  sock->loop_ = &loop;
  sock->fd_ = fd;
  sock->local_ = local;
  // With port 0 the kernel picks the port; callers and tests need to know it.
  sockaddr_storage bound;
  socklen_t bound_len = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) == 0) {
    if (auto e = Endpoint::FromSockaddr(reinterpret_cast<const sockaddr*>(&bound))) {
      sock->local_ = *e;
    }
  }
  sock->on_packet_ = std::move(on_packet);
  UdpSocket* raw = sock.get();
  loop.WatchReadable(fd, [raw] { raw->ReadAll(); });
  return sock;
}

UdpSocket::~UdpSocket() {
  if (fd_ < 0) return;
  loop_->Unwatch(fd_);
  close(fd_);
}

void UdpSocket::ReadAll() {
  std::weak_ptr<bool> token = alive_;
  std::vector<uint8_t> buf(kMaxDatagram);
  // Drain the socket (until EAGAIN) so one wake-up handles a burst.
  while (true) {
    sockaddr_storage from;
    socklen_t from_len = sizeof(from);
    ssize_t n = recvfrom(fd_, buf.data(), buf.size(), MSG_TRUNC, reinterpret_cast<sockaddr*>(&from),
                         &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        LOG_ERROR("udp %s: recvfrom: %s", local_.ToString().c_str(), strerror(errno));
      }
      return;
    }
    std::optional<Endpoint> peer = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&from));
    if (!peer) continue;
    if (static_cast<size_t>(n) > buf.size()) {
      LOG_INFO("udp %s: dropped a truncated %zd-byte datagram from %s", local_.ToString().c_str(),
               n, peer->ToString().c_str());
      continue;
    }
    // A copy: the handler may destroy this socket, and with it on_packet_.
    PacketHandler handler = on_packet_;
    try {
      handler(ByteView(buf.data(), static_cast<size_t>(n)), *peer);
    } catch (const std::exception& e) {
      LOG_ERROR("udp: packet handler threw: %s", e.what());
    } catch (...) {
      LOG_ERROR("udp: packet handler threw a non-standard exception");
    }
    if (token.expired()) return;
  }
}

Status UdpSocket::SendTo(ByteView data, const Endpoint& to) {
  sockaddr_storage addr;
  socklen_t len = static_cast<socklen_t>(to.ToSockaddr(&addr));
  if (len == 0) return Error{"cannot send UDP to " + to.ToString() + ": no address family"};
  ssize_t n = sendto(fd_, data.data(), data.size(), MSG_DONTWAIT,
                     reinterpret_cast<const sockaddr*>(&addr), len);
  if (n < 0) return SocketError("sendto", to, errno);
  if (static_cast<size_t>(n) != data.size()) {
    return Error{"sendto " + to.ToString() + ": short write"};
  }
  return Status::Ok();
}

}  // namespace ike
