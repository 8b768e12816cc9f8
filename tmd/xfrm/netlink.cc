#include "tmd/xfrm/netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

namespace ike::tmd::xfrm {

Result<std::unique_ptr<NetlinkSocket>> NetlinkSocket::Open(int protocol) {
  if (protocol < 0) protocol = NETLINK_XFRM;
  mnl_socket* s = mnl_socket_open(protocol);
  if (s == nullptr) {
    return Error{std::string("cannot open the ") + (protocol == NETLINK_XFRM ? "XFRM" : "routing") +
                 " netlink socket: " + std::strerror(errno)};
  }
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int e = errno;
    mnl_socket_close(s);
    return Error{std::string("cannot bind the XFRM netlink socket: ") + std::strerror(e)};
  }
  // The kernel's own words with an error ("Requested type not found"), and
  // errors without a copy of the request (which may hold keys).
  int on = 1;
  mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &on, sizeof on);
  mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &on, sizeof on);
  // A batch of 20,000 tunnels' worth of acknowledgements must not overflow.
  int size = 4 << 20;
  setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  // The kernel answers at once; a request it never answers must not stop
  // tmd's loop for good.
  timeval timeout{5, 0};
  setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return std::unique_ptr<NetlinkSocket>(new NetlinkSocket(s));
}

NetlinkSocket::~NetlinkSocket() { mnl_socket_close(socket_); }

Result<std::map<uint32_t, NetlinkStatus>> NetlinkSocket::Exchange(
    const Batch& batch, const std::function<void(const nlmsghdr*)>& on_message) {
  std::map<uint32_t, NetlinkStatus> statuses;
  if (batch.empty()) return statuses;
  // Which sequence numbers we wait for.
  std::set<uint32_t> waiting;
  for (const auto* nlh = reinterpret_cast<const nlmsghdr*>(batch.bytes().data());
       mnl_nlmsg_ok(nlh, static_cast<int>(batch.bytes().data() + batch.bytes().size() -
                                          reinterpret_cast<const uint8_t*>(nlh)));
       nlh = reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const uint8_t*>(nlh) +
                                               MNL_ALIGN(nlh->nlmsg_len))) {
    waiting.insert(nlh->nlmsg_seq);
    next_seq_ = std::max(next_seq_, nlh->nlmsg_seq + 1);
  }
  if (next_seq_ == 0) next_seq_ = 1;
  if (mnl_socket_sendto(socket_, batch.bytes().data(), batch.bytes().size()) < 0) {
    return Error{std::string("XFRM netlink send failed: ") + std::strerror(errno)};
  }
  const uint32_t port = mnl_socket_get_portid(socket_);
  std::vector<uint8_t> buffer(1 << 16);
  while (!waiting.empty()) {
    const ssize_t n = mnl_socket_recvfrom(socket_, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return Error{"the kernel did not answer " + std::to_string(waiting.size()) +
                     " XFRM requests within 5 s"};
      }
      return Error{std::string("XFRM netlink receive failed: ") + std::strerror(errno)};
    }
    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_pid != port && nlh->nlmsg_pid != 0) continue;
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (auto status = ParseStatus(nlh); status && waiting.erase(status->seq)) {
          statuses[status->seq] = *status;
        }
      } else if (nlh->nlmsg_type == NLMSG_DONE) {
        if (waiting.erase(nlh->nlmsg_seq)) statuses[nlh->nlmsg_seq] = {nlh->nlmsg_seq, 0, ""};
      } else if (waiting.contains(nlh->nlmsg_seq) && on_message) {
        on_message(nlh);
      }
    }
  }
  return statuses;
}

}  // namespace ike::tmd::xfrm
