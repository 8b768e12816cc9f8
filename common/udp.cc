#include "common/udp.h"

#include <netinet/in.h>
#include <netinet/udp.h>
// After netinet/in.h: the kernel header then leaves glibc's IPv6 types alone.
#include <linux/errqueue.h>
#include <linux/xfrm.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>
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

// The errors an ICMP message leaves on the socket (sk_err) besides its
// entry in the error queue. The next send or receive returns that error,
// whatever peer it is for, and does nothing else: such a send is tried
// again, such a receive reads the error queue.
bool IsEarlierIcmpError(int err) {
  switch (err) {
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EACCES:
    case EPROTO:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EMSGSIZE:
      return true;
    default:
      return false;
  }
}

// Bounds one wake-up's work on the error queue (a flood of spoofed ICMP).
constexpr int kMaxErrorsPerWake = 64;

constexpr uint8_t kIcmpDestUnreachable = 3;   // RFC 792
constexpr uint8_t kIcmp6DestUnreachable = 1;  // RFC 4443 3.1

}  // namespace

std::optional<UdpError::Kind> ClassifyIcmp(bool v6, uint8_t type, uint8_t code) {
  using K = UdpError::Kind;
  if (v6) {
    if (type != kIcmp6DestUnreachable) return std::nullopt;
    switch (code) {
      case 0:  // no route to destination
      case 6:  // reject route
        return K::kNetUnreachable;
      case 1:  // communication administratively prohibited
      case 5:  // source address failed ingress/egress policy
        return K::kProhibited;
      case 3:  // address unreachable (neighbour discovery failed)
        return K::kHostUnreachable;
      case 4:
        return K::kPortUnreachable;
      default:
        return K::kOther;
    }
  }
  if (type != kIcmpDestUnreachable) return std::nullopt;
  switch (code) {
    case 0:   // net unreachable
    case 6:   // destination network unknown
    case 11:  // network unreachable for type of service
      return K::kNetUnreachable;
    case 1:   // host unreachable (also ARP failing on our own link)
    case 7:   // destination host unknown
    case 12:  // host unreachable for type of service
      return K::kHostUnreachable;
    case 3:
      return K::kPortUnreachable;
    case 9:   // network administratively prohibited
    case 10:  // host administratively prohibited
    case 13:  // communication administratively prohibited (RFC 1812)
      return K::kProhibited;
    case 4:  // fragmentation needed: path MTU, not reachability
      return std::nullopt;
    default:
      return K::kOther;
  }
}

std::string DescribeUdpError(const UdpError& e) {
  std::string what;
  switch (e.kind) {
    case UdpError::Kind::kPortUnreachable:
      what = "ICMP port unreachable";
      break;
    case UdpError::Kind::kHostUnreachable:
      what = "ICMP host unreachable";
      break;
    case UdpError::Kind::kNetUnreachable:
      what = "ICMP network unreachable";
      break;
    case UdpError::Kind::kProhibited:
      what = "ICMP administratively prohibited";
      break;
    case UdpError::Kind::kOther:
      what = "ICMP destination unreachable (code " + std::to_string(e.code) + ")";
      break;
  }
  if (e.reporter) what += " from " + e.reporter->ToString();
  return what;
}

Result<std::unique_ptr<UdpSocket>> UdpSocket::BindAny(EventLoop& loop, const Endpoint& local,
                                                      AddressedPacketHandler on_packet) {
  Endpoint any{IpAddress{}, local.port};
  any.address.family = local.address.family;
  auto sock = Bind(loop, any, nullptr);
  if (!sock) return sock;
  int one = 1;
  const bool v6 = any.address.family == AF_INET6;
  if (setsockopt((*sock)->fd_, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVPKTINFO : IP_PKTINFO,
                 &one, sizeof(one)) != 0) {
    return SocketError("cannot ask for destination addresses on", any, errno);
  }
  (*sock)->on_addressed_packet_ = std::move(on_packet);
  return sock;
}

namespace {

// IKE's own datagrams must never go through (or be dropped for want of) the
// IPsec SAs they negotiate: a tunnel whose selectors cover the gateways'
// addresses would otherwise swallow the next Main Mode. A per-socket XFRM
// policy that allows everything in and out takes precedence over the
// kernel's policy database (what strongSwan and OpenBSD isakmpd do too).
// Needs CAP_NET_ADMIN; without it (tests as a user) there is no tunnel
// either.
void BypassIpsec(int fd, int family) {
  for (uint8_t dir : {XFRM_POLICY_IN, XFRM_POLICY_OUT}) {
    xfrm_userpolicy_info policy{};
    policy.action = XFRM_POLICY_ALLOW;
    policy.sel.family = static_cast<uint16_t>(family);
    policy.dir = dir;
    if (family == AF_INET6) {
      setsockopt(fd, IPPROTO_IPV6, IPV6_XFRM_POLICY, &policy, sizeof policy);
    } else {
      setsockopt(fd, IPPROTO_IP, IP_XFRM_POLICY, &policy, sizeof policy);
    }
  }
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
  BypassIpsec(fd, local.address.family);
  // ICMP errors for what we send (ReadErrors): an unconnected UDP socket
  // hears of them only with IP_RECVERR.
  if (local.address.family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
  else
    setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
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

namespace {

// The destination address from IPV6_PKTINFO / IP_PKTINFO, if present.
std::optional<IpAddress> DestinationOf(msghdr& msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      return IpAddress::FromBytes(ByteView(info.ipi6_addr.s6_addr, 16));
    }
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      return IpAddress::FromBytes(
          ByteView(reinterpret_cast<const uint8_t*>(&info.ipi_addr.s_addr), 4));
    }
  }
  return std::nullopt;
}

}  // namespace

void UdpSocket::ReadAll() {
  std::weak_ptr<bool> token = alive_;
  std::vector<uint8_t> buf(kMaxDatagram);
  alignas(cmsghdr)
      uint8_t control[CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo))];
  int errors = 0;
  // Drain the socket (until EAGAIN) so one wake-up handles a burst.
  while (true) {
    sockaddr_storage from;
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd_, &msg, MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      // The error queue keeps the socket readable until it is read, even
      // after a send consumed the error it left (errors_queued_).
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (errors_queued_) ReadErrors();
        return;
      }
      if (IsEarlierIcmpError(errno) && ++errors <= kMaxErrorsPerWake) {
        if (!ReadErrors()) return;
        continue;
      }
      LOG_ERROR("udp %s: recvmsg: %s", local_.ToString().c_str(), strerror(errno));
      return;
    }
    std::optional<Endpoint> peer = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&from));
    if (!peer) continue;
    if (static_cast<size_t>(n) > buf.size() || (msg.msg_flags & MSG_TRUNC) != 0) {
      LOG_INFO("udp %s: dropped a truncated %zd-byte datagram from %s", local_.ToString().c_str(),
               n, peer->ToString().c_str());
      continue;
    }
    const ByteView data(buf.data(), static_cast<size_t>(n));
    try {
      if (on_addressed_packet_) {
        std::optional<IpAddress> destination = DestinationOf(msg);
        if (!destination) continue;  // cannot answer from the right address
        // A copy: the handler may destroy this socket, and with it the handler.
        AddressedPacketHandler handler = on_addressed_packet_;
        handler(data, *peer, Endpoint{*destination, local_.port});
      } else {
        PacketHandler handler = on_packet_;
        handler(data, *peer);
      }
    } catch (const std::exception& e) {
      LOG_ERROR("udp: packet handler threw: %s", e.what());
    } catch (...) {
      LOG_ERROR("udp: packet handler threw a non-standard exception");
    }
    if (token.expired()) return;
  }
}

bool UdpSocket::ReadErrors() {
  errors_queued_ = false;
  std::weak_ptr<bool> token = alive_;
  for (int i = 0; i < kMaxErrorsPerWake; ++i) {
    sockaddr_storage to;
    uint8_t data[64];  // the start of our datagram: not needed
    iovec iov{data, sizeof data};
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(sock_extended_err) + sizeof(sockaddr_in6))];
    msghdr msg{};
    msg.msg_name = &to;
    msg.msg_namelen = sizeof to;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (recvmsg(fd_, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
      if (errno == EINTR) continue;
      return true;  // EAGAIN: the queue is empty
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      const bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
      const bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
      if (!(v4 || v6) || c->cmsg_len < CMSG_LEN(sizeof(sock_extended_err))) continue;
      sock_extended_err ee;
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
      std::optional<UdpError::Kind> kind =
          ClassifyIcmp(ee.ee_origin == SO_EE_ORIGIN_ICMP6, ee.ee_type, ee.ee_code);
      std::optional<Endpoint> dest = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&to));
      if (!kind || !dest) continue;
      UdpError error{*kind, *dest, std::nullopt, ee.ee_type, ee.ee_code};
      // SO_EE_OFFENDER: the ICMP message's sender, right after the header.
      sockaddr_storage offender{};
      const size_t room = c->cmsg_len - CMSG_LEN(sizeof ee);
      std::memcpy(&offender, CMSG_DATA(c) + sizeof ee, std::min(room, sizeof(sockaddr_in6)));
      if (auto e = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&offender)))
        error.reporter = e->address;
      if (!on_error_) continue;
      try {
        ErrorHandler handler = on_error_;  // a copy: the handler may destroy this socket
        handler(error);
      } catch (const std::exception& e) {
        LOG_ERROR("udp: error handler threw: %s", e.what());
      }
      if (token.expired()) return false;
    }
  }
  return true;
}

Status UdpSocket::SendFrom(ByteView data, const IpAddress& source, const Endpoint& to) {
  sockaddr_storage addr;
  socklen_t len = static_cast<socklen_t>(to.ToSockaddr(&addr));
  if (len == 0) return Error{"cannot send UDP to " + to.ToString() + ": no address family"};
  if (source.family != local_.address.family) {
    return Error{"cannot send from " + source.ToString() + " on " + local_.ToString()};
  }
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  iovec iov{const_cast<uint8_t*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_name = &addr;
  msg.msg_namelen = len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
  if (source.family == AF_INET6) {
    in6_pktinfo info{};
    std::memcpy(info.ipi6_addr.s6_addr, source.octets.data(), 16);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    msg.msg_controllen = CMSG_SPACE(sizeof info);
  } else {
    in_pktinfo info{};
    std::memcpy(&info.ipi_spec_dst.s_addr, source.octets.data(), 4);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    msg.msg_controllen = CMSG_SPACE(sizeof info);
  }
  ssize_t n = sendmsg(fd_, &msg, MSG_DONTWAIT);
  if (n < 0 && IsEarlierIcmpError(errno)) {
    errors_queued_ = true;
    n = sendmsg(fd_, &msg, MSG_DONTWAIT);
  }
  if (n < 0) return SocketError("sendmsg", to, errno);
  if (static_cast<size_t>(n) != data.size()) {
    return Error{"sendmsg " + to.ToString() + ": short write"};
  }
  return Status::Ok();
}

Status UdpSocket::EnableEspInUdp() {
  int type = UDP_ENCAP_ESPINUDP;
  if (setsockopt(fd_, IPPROTO_UDP, UDP_ENCAP, &type, sizeof type) != 0) {
    return SocketError("cannot take ESP in UDP (UDP_ENCAP_ESPINUDP) on", local_, errno);
  }
  return Status::Ok();
}

Status UdpSocket::SendTo(ByteView data, const Endpoint& to) {
  sockaddr_storage addr;
  socklen_t len = static_cast<socklen_t>(to.ToSockaddr(&addr));
  if (len == 0) return Error{"cannot send UDP to " + to.ToString() + ": no address family"};
  auto send = [&] {
    return sendto(fd_, data.data(), data.size(), MSG_DONTWAIT,
                  reinterpret_cast<const sockaddr*>(&addr), len);
  };
  ssize_t n = send();
  if (n < 0 && IsEarlierIcmpError(errno)) {
    errors_queued_ = true;
    n = send();
  }
  if (n < 0) return SocketError("sendto", to, errno);
  if (static_cast<size_t>(n) != data.size()) {
    return Error{"sendto " + to.ToString() + ": short write"};
  }
  return Status::Ok();
}

}  // namespace ike
