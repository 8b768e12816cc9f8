// UDP sockets on the event loop (isakmpd's transport).
#pragma once

#include <functional>
#include <memory>

#include "common/address.h"
#include "common/bytes.h"
#include "common/result.h"

namespace ike {
class EventLoop;

class UdpSocket {
 public:
  using PacketHandler = std::function<void(ByteView data, const Endpoint& from)>;
  // Binds |local| (SO_REUSEADDR, non-blocking) and reads on |loop|.
  static Result<std::unique_ptr<UdpSocket>> Bind(EventLoop& loop, const Endpoint& local,
                                                 PacketHandler on_packet);
  ~UdpSocket();
  Status SendTo(ByteView data, const Endpoint& to);
  // The bound address; with port 0 in Bind, the port the kernel chose.
  const Endpoint& local() const { return local_; }

 private:
  UdpSocket() = default;
  EventLoop* loop_ = nullptr;
  int fd_ = -1;
  Endpoint local_;
  PacketHandler on_packet_;
  // Expires with the socket, so the read loop notices a handler that
  // destroyed it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  void ReadAll();
};

}  // namespace ike
