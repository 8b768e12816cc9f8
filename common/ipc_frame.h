// The pure half of the IPC contract (docs/architecture.md "IPC"): a frame is a
// 4-byte big-endian length followed by one serialized ike.ipc.Envelope. This
// header has no sockets and no event loop, so the daemons' cores, the command
// line tools and fuzz targets use it without linking libevent; the runtime
// (Server, Client, Call on the loop) is common/ipc.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ike.pb.h"

namespace ike::ipc {

constexpr uint32_t kProtocolVersion = 1;
constexpr size_t kMaxFrameBytes = 16u << 20;  // fits ike cmd=list of 50k tunnels

// $IKE_RUNDIR or /run/ike; $IKE_CONFDIR or /etc/ike.
std::string RunDir();
std::string ConfDir();
// RunDir()/<name>.sock for name in tmd, isakmpd, cpsd, srcmstr.
std::string SocketPath(std::string_view name);

// Length prefix + |envelope|; a version of 0 is sent as kProtocolVersion.
std::string EncodeFrame(const Envelope& envelope);

// Splits a byte stream into envelopes. Checks the length against
// kMaxFrameBytes before buffering the body, and the protocol version.
class FrameDecoder {
 public:
  enum class Status { kNeedMore, kFrame, kError };
  void Append(const void* data, size_t n);
  // kFrame: *out holds the next envelope. kError: *error says why (too large,
  // does not parse, bad version); the caller replies Error{BAD_FRAME} and
  // closes the connection.
  Status Next(Envelope* out, std::string* error);
  size_t buffered() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

// Replies, stamped with kProtocolVersion and |request_id|.
Envelope MakeReply(uint64_t request_id, Envelope body);
Envelope MakeError(uint64_t request_id, ErrorCode code, std::string reason);
Envelope MakeAck(uint64_t request_id, std::string message = "");

}  // namespace ike::ipc
