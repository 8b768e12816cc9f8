// libFuzzer target for the IPC framing (common/ipc_frame.cc): the 4-octet
// length prefix, the size cap and the ike.ipc.Envelope parse with its version
// check, i.e. what every daemon runs on bytes from a local socket. Links
// only ike_ipc_frame (no sockets, no libevent).
//
// Input: a byte stream, fed to one FrameDecoder in chunks whose sizes come
// from the input itself, so frames split at every boundary are exercised.
// Checks beyond "no crash": a decoded envelope re-encodes to a frame that
// decodes to the same bytes, and a decoder never buffers more than the input.
#include <google/protobuf/text_format.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/ipc_frame.h"

namespace {

using ike::ipc::Envelope;
using ike::ipc::FrameDecoder;

// EncodeFrame(e) must decode to exactly one envelope that encodes the same.
void CheckRoundTrip(const Envelope& e) {
  const std::string frame = ike::ipc::EncodeFrame(e);
  FrameDecoder again;
  again.Append(frame.data(), frame.size());
  Envelope decoded;
  std::string error;
  if (again.Next(&decoded, &error) != FrameDecoder::Status::kFrame) abort();
  if (ike::ipc::EncodeFrame(decoded) != frame) abort();
  if (again.buffered() != 0) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First octet: the chunk size (1..256) the stream is appended in.
  const size_t chunk = size_t{data[0]} + 1;
  ++data;
  --size;
  FrameDecoder decoder;
  size_t fed = 0;
  while (fed < size) {
    const size_t n = std::min(chunk, size - fed);
    decoder.Append(data + fed, n);
    fed += n;
    for (;;) {
      Envelope e;
      std::string error;
      const auto status = decoder.Next(&e, &error);
      if (status == FrameDecoder::Status::kNeedMore) break;
      // A daemon closes the connection on an error: so do we.
      if (status == FrameDecoder::Status::kError) {
        if (error.empty()) abort();
        return 0;
      }
      CheckRoundTrip(e);
    }
    if (decoder.buffered() > fed) abort();
  }
  return 0;
}

// Seeds (fuzz_replay_ipc_frame --write-seeds DIR): one frame of each common
// kind, two frames back to back, a wrong version, and an oversized length.
extern "C" int FuzzWriteSeeds(const char* dir) {
  const char* kEnvelopes[] = {
      "version: 1 request_id: 7 ping {}",
      "version: 1 request_id: 8 error { code: BAD_FRAME reason: \"x\" }",
      ("version: 1 phase1_request { tunnel: 3 definition { name: \"t1\" "
       "local_address: \"192.0.2.1\" remote_address: \"192.0.2.2\" } }"),
      "version: 1 skeyid_request { prf: SHA2_256 ni: \"0123456789abcdef\" nr: \"fedcba98\" }",
      "version: 1 state_change { }",
      "version: 2 ping {}",
  };
  std::filesystem::create_directories(dir);
  std::string both;
  int n = 0;
  auto write = [&](const std::string& stream) {
    std::ofstream out(std::filesystem::path(dir) / ("seed" + std::to_string(n++) + ".bin"),
                      std::ios::binary);
    out << static_cast<char>(n * 37) << stream;  // a different chunk size each
    return bool(out);
  };
  for (const char* text : kEnvelopes) {
    Envelope e;
    if (!google::protobuf::TextFormat::ParseFromString(text, &e)) return 1;
    const std::string frame = ike::ipc::EncodeFrame(e);
    if (n < 2) both += frame;
    if (!write(frame)) return 1;
  }
  if (!write(both) || !write(std::string("\x7f\xff\xff\xff", 4))) return 1;
  return 0;
}
