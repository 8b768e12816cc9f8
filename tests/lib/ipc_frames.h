// Frames for the IPC tests (ipc_frame_test, common_ipc_test): a Ping request
// and a frame around arbitrary bytes (the 4-byte big-endian length of
// common/ipc_frame.h), so a test can send what EncodeFrame never would.
#pragma once

#include <cstdint>
#include <string>

#include "common/byte_reader.h"
#include "common/ipc_frame.h"

namespace ike::ipc::testing {

inline Envelope PingRequest(uint64_t id) {
  Envelope e;
  e.set_version(kProtocolVersion);
  e.set_request_id(id);
  e.mutable_ping();
  return e;
}

inline std::string RawFrame(const std::string& body) {
  const auto n = BigEndian32(static_cast<uint32_t>(body.size()));
  return std::string(n.begin(), n.end()) + body;
}

}  // namespace ike::ipc::testing
