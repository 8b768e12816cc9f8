// UDP sockets on the event loop (isakmpd's transport).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/address.h"
#include "common/bytes.h"
#include "common/result.h"

namespace ike {
class EventLoop;

// An ICMP error for a datagram we sent (IP_RECVERR / IPV6_RECVERR): the
// only sign a negotiation gets that the peer's host is up but has no IKE
// (port unreachable), that a firewall refuses it (administratively
// prohibited) or that it cannot be reached at all (host/network
// unreachable, also reported locally when ARP or neighbour discovery fails).
struct UdpError {
  enum class Kind { kPortUnreachable, kHostUnreachable, kNetUnreachable, kProhibited, kOther };
  Kind kind = Kind::kOther;
  Endpoint to;                        // where the datagram that failed was going
  std::optional<IpAddress> reporter;  // who sent the ICMP message
  uint8_t type = 0;                   // ICMP (or ICMPv6) type and code
  uint8_t code = 0;
};

// Kind from an ICMP (|v6| false) or ICMPv6 type and code; nullopt for those
// that say nothing about reachability (packet too big, fragmentation
// needed, redirects): they are the kernel's business.
std::optional<UdpError::Kind> ClassifyIcmp(bool v6, uint8_t type, uint8_t code);
// "ICMP port unreachable from 192.0.2.2": stable words the diagnosis keys on
// (tunneldb/diagnosis.cc).
std::string DescribeUdpError(const UdpError& e);

class UdpSocket {
 public:
  using ErrorHandler = std::function<void(const UdpError& error)>;
  using PacketHandler = std::function<void(ByteView data, const Endpoint& from)>;
  // |to| is the local address and port the datagram was sent to.
  using AddressedPacketHandler =
      std::function<void(ByteView data, const Endpoint& from, const Endpoint& to)>;
  // Binds |local| (SO_REUSEADDR, non-blocking) and reads on |loop|.
  static Result<std::unique_ptr<UdpSocket>> Bind(EventLoop& loop, const Endpoint& local,
                                                 PacketHandler on_packet);
  // Binds the unspecified address of |local|'s family (:: or 0.0.0.0) at
  // |local|'s port: one socket for every local address, present or added
  // later, instead of one per address (a host with 20,000 tunnel endpoints
  // would otherwise need 40,000 descriptors). The kernel tells each
  // datagram's destination (IPV6_PKTINFO / IP_PKTINFO); SendFrom picks the
  // source address the same way.
  static Result<std::unique_ptr<UdpSocket>> BindAny(EventLoop& loop, const Endpoint& local,
                                                    AddressedPacketHandler on_packet);
  ~UdpSocket();
  Status SendTo(ByteView data, const Endpoint& to);
  // Sends from |source| (a local address of the socket's family).
  Status SendFrom(ByteView data, const IpAddress& source, const Endpoint& to);
  // RFC 3948: the kernel takes ESP-in-UDP arriving on this socket (port
  // 4500) for its SAs; IKE behind the 4-octet zero non-ESP marker and
  // anything else still reach the handler as they came, and one-octet NAT
  // keepalives are dropped by the kernel. Without it, the kernel hands the
  // peer's ESP to the handler and no packet through a NAT is decrypted.
  Status EnableEspInUdp();
  // Reports ICMP errors for datagrams this socket sent. Without a handler
  // they are read and dropped (they must be read: an unread error queue
  // keeps the socket readable).
  void OnError(ErrorHandler handler) { on_error_ = std::move(handler); }
  // The bound address; with port 0 in Bind, the port the kernel chose.
  const Endpoint& local() const { return local_; }

 private:
  UdpSocket() = default;
  EventLoop* loop_ = nullptr;
  int fd_ = -1;
  Endpoint local_;
  PacketHandler on_packet_;
  AddressedPacketHandler on_addressed_packet_;  // BindAny sockets
  ErrorHandler on_error_;
  // A send met an earlier ICMP error (and took its sk_err): the error queue
  // holds entries no receive will announce, so the next ReadAll reads it.
  // Otherwise a receive's error says when to read it: no extra system call
  // per wake-up on the hot path.
  bool errors_queued_ = false;
  // Expires with the socket, so the read loop notices a handler that
  // destroyed it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  void ReadAll();
  // Reads the socket's error queue to the end; false if the socket went
  // away in a handler.
  bool ReadErrors();
};

}  // namespace ike
