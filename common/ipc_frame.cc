// common/ipc_frame.h: paths, framing and the frame decoder. No sockets and no
// libevent, so tools and fuzz targets can link it alone.
#include "common/ipc_frame.h"

#include <cstdlib>
#include <cstring>

#include "common/byte_reader.h"

namespace ike::ipc {
namespace {

constexpr size_t kHeaderBytes = 4;

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

std::string RunDir() { return EnvOr("IKE_RUNDIR", "/run/ike"); }

std::string ConfDir() { return EnvOr("IKE_CONFDIR", "/etc/ike"); }

std::string SocketPath(std::string_view name) {
  return RunDir() + "/" + std::string(name) + ".sock";
}

std::string EncodeFrame(const Envelope& envelope) {
  std::string body;
  // proto3 omits a zero version; a sender that forgot to set it would have
  // every frame refused, so stamp the current version in front of the body.
  // A later field wins on parse, so an explicit version is never overridden.
  if (envelope.version() == 0) body.assign("\x08\x01", 2);
  static_assert(kProtocolVersion == 1, "update the version stamp above");
  envelope.AppendToString(&body);
  uint32_t n = static_cast<uint32_t>(body.size());
  std::string frame;
  frame.reserve(kHeaderBytes + body.size());
  const auto header = BigEndian32(n);
  frame.append(header.begin(), header.end());
  frame.append(body);
  return frame;
}

void FrameDecoder::Append(const void* data, size_t n) {
  buffer_.append(static_cast<const char*>(data), n);
}

FrameDecoder::Status FrameDecoder::Next(Envelope* out, std::string* error) {
  uint32_t n = 0;
  if (!ReadBigEndian32(View(buffer_), &n)) return Status::kNeedMore;
  // Checked before waiting for the body so a hostile length cannot make us
  // buffer gigabytes.
  if (n > kMaxFrameBytes) {
    *error = "frame of " + std::to_string(n) + " bytes exceeds the " +
             std::to_string(kMaxFrameBytes) + "-byte cap";
    return Status::kError;
  }
  if (buffer_.size() < kHeaderBytes + n) return Status::kNeedMore;
  bool parsed = out->ParseFromArray(buffer_.data() + kHeaderBytes, static_cast<int>(n));
  buffer_.erase(0, kHeaderBytes + n);
  if (!parsed) {
    *error = "frame of " + std::to_string(n) + " bytes does not parse as an ike.ipc.Envelope";
    return Status::kError;
  }
  if (out->version() != kProtocolVersion) {
    *error = "frame has protocol version " + std::to_string(out->version()) + ", expected " +
             std::to_string(kProtocolVersion);
    return Status::kError;
  }
  return Status::kFrame;
}

Envelope MakeReply(uint64_t request_id, Envelope body) {
  body.set_version(kProtocolVersion);
  body.set_request_id(request_id);
  return body;
}

Envelope MakeError(uint64_t request_id, ErrorCode code, std::string reason) {
  Envelope e = MakeReply(request_id, Envelope());
  e.mutable_error()->set_code(code);
  e.mutable_error()->set_reason(std::move(reason));
  return e;
}

Envelope MakeAck(uint64_t request_id, std::string message) {
  Envelope e = MakeReply(request_id, Envelope());
  e.mutable_ack()->set_message(std::move(message));
  return e;
}

}  // namespace ike::ipc
