// One NETLINK_XFRM socket through libmnl: a batch of requests goes out in one
// sendmsg, and the answers are collected per sequence number. Blocking: the
// kernel answers XFRM requests at once, and tmd's loop is the only user.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"
#include "tmd/xfrm/xfrm_messages.h"

struct mnl_socket;

namespace ike::tmd::xfrm {

class NetlinkSocket {
 public:
  // Opens and binds the socket (extended acks on, so the kernel's reason
  // comes back with an error). Fails without CONFIG_XFRM_USER or as non-root.
  // |protocol|: NETLINK_XFRM, or NETLINK_ROUTE for routes.h.
  static Result<std::unique_ptr<NetlinkSocket>> Open(int protocol = -1);
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  // Where a new Batch should start numbering (Exchange moves it past the
  // batch, so sequence numbers are unique per socket).
  uint32_t next_seq() const { return next_seq_; }

  // A batch may hold at most one dump request (the kernel runs one dump per
  // socket at a time and refuses another with EBUSY).
  // Sends |batch| and waits until every request in it is answered: an
  // acknowledgement or error (NLMSG_ERROR), or the end of a dump
  // (NLMSG_DONE). Data messages (replies, dump entries) go to |on_message|.
  // Returns each request's status by sequence number; fails only when the
  // socket itself does.
  Result<std::map<uint32_t, NetlinkStatus>> Exchange(
      const Batch& batch, const std::function<void(const nlmsghdr*)>& on_message = {});

 private:
  explicit NetlinkSocket(mnl_socket* socket) : socket_(socket) {}
  mnl_socket* socket_;
  uint32_t next_seq_ = 1;
};

}  // namespace ike::tmd::xfrm
