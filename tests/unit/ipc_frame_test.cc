// The pure frame codec (common/ipc_frame.h). Linked without the event loop
// (the "ipc" prefix links ike_ipc_dispatch, which has no libevent).
#include "common/ipc_frame.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "tests/lib/ipc_frames.h"

namespace ike::ipc {
namespace {

using testing::PingRequest;
using testing::RawFrame;

TEST_CASE("FrameDecoder handles a frame arriving byte by byte") {
  std::string frame = EncodeFrame(PingRequest(42));
  FrameDecoder decoder;
  Envelope out;
  std::string error;
  for (size_t i = 0; i + 1 < frame.size(); ++i) {
    decoder.Append(&frame[i], 1);
    REQUIRE(decoder.Next(&out, &error) == FrameDecoder::Status::kNeedMore);
  }
  decoder.Append(&frame.back(), 1);
  REQUIRE(decoder.Next(&out, &error) == FrameDecoder::Status::kFrame);
  CHECK(out.request_id() == 42);
  CHECK(out.has_ping());
  CHECK(decoder.buffered() == 0);
  CHECK(decoder.Next(&out, &error) == FrameDecoder::Status::kNeedMore);
}

TEST_CASE("FrameDecoder returns several frames from one chunk") {
  std::string chunk = EncodeFrame(PingRequest(1)) + EncodeFrame(MakeError(2, BAD_ARGUMENT, "x")) +
                      EncodeFrame(PingRequest(3));
  std::string partial = EncodeFrame(PingRequest(4));
  chunk += partial.substr(0, 3);
  FrameDecoder decoder;
  decoder.Append(chunk.data(), chunk.size());
  Envelope out;
  std::string error;
  REQUIRE(decoder.Next(&out, &error) == FrameDecoder::Status::kFrame);
  CHECK(out.request_id() == 1);
  REQUIRE(decoder.Next(&out, &error) == FrameDecoder::Status::kFrame);
  CHECK(out.request_id() == 2);
  CHECK(out.error().code() == BAD_ARGUMENT);
  CHECK(out.error().reason() == "x");
  REQUIRE(decoder.Next(&out, &error) == FrameDecoder::Status::kFrame);
  CHECK(out.request_id() == 3);
  CHECK(decoder.Next(&out, &error) == FrameDecoder::Status::kNeedMore);
  CHECK(decoder.buffered() == 3);
}

TEST_CASE("FrameDecoder refuses an oversized frame from its header alone") {
  FrameDecoder decoder;
  const char header[] = {0x01, 0x00, 0x00, 0x01};  // 16 MiB + 1
  decoder.Append(header, 4);
  Envelope out;
  std::string error;
  REQUIRE(decoder.Next(&out, &error) == FrameDecoder::Status::kError);
  CHECK(error == "frame of 16777217 bytes exceeds the 16777216-byte cap");
}

TEST_CASE("FrameDecoder refuses garbage and wrong versions") {
  Envelope out;
  std::string error;
  SECTION("unparsable body") {
    FrameDecoder decoder;
    std::string frame = RawFrame("\xff\xff\xff\xff\xff");
    decoder.Append(frame.data(), frame.size());
    REQUIRE(decoder.Next(&out, &error) == FrameDecoder::Status::kError);
    CHECK(error.find("does not parse") != std::string::npos);
  }
  SECTION("version 2") {
    Envelope e = PingRequest(5);
    e.set_version(2);
    std::string frame = EncodeFrame(e);
    FrameDecoder decoder;
    decoder.Append(frame.data(), frame.size());
    REQUIRE(decoder.Next(&out, &error) == FrameDecoder::Status::kError);
    CHECK(error == "frame has protocol version 2, expected 1");
  }
  SECTION("empty frame has version 0") {
    FrameDecoder decoder;
    std::string frame = RawFrame("");
    decoder.Append(frame.data(), frame.size());
    REQUIRE(decoder.Next(&out, &error) == FrameDecoder::Status::kError);
    CHECK(error == "frame has protocol version 0, expected 1");
  }
}

TEST_CASE("EncodeFrame stamps the protocol version when the sender left it 0") {
  Envelope e;
  e.set_request_id(9);
  e.mutable_refresh();
  std::string frame = EncodeFrame(e);
  FrameDecoder decoder;
  decoder.Append(frame.data(), frame.size());
  Envelope out;
  std::string error;
  REQUIRE(decoder.Next(&out, &error) == FrameDecoder::Status::kFrame);
  CHECK(out.version() == kProtocolVersion);
  CHECK(out.has_refresh());
}

TEST_CASE("RunDir, ConfDir and SocketPath follow the environment") {
  setenv("IKE_RUNDIR", "/tmp/x", 1);
  CHECK(SocketPath("tmd") == "/tmp/x/tmd.sock");
  unsetenv("IKE_RUNDIR");
  CHECK(RunDir() == "/run/ike");
  CHECK(SocketPath("cpsd") == "/run/ike/cpsd.sock");
  unsetenv("IKE_CONFDIR");
  CHECK(ConfDir() == "/etc/ike");
}

TEST_CASE("MakeReply, MakeError and MakeAck stamp the version and request id") {
  Envelope body;
  body.mutable_pong()->set_daemon("x");
  Envelope reply = MakeReply(11, body);
  CHECK(reply.version() == kProtocolVersion);
  CHECK(reply.request_id() == 11);
  CHECK(reply.pong().daemon() == "x");
  Envelope error = MakeError(12, UNKNOWN_PEER, "why");
  CHECK(error.version() == kProtocolVersion);
  CHECK(error.request_id() == 12);
  CHECK(error.error().code() == UNKNOWN_PEER);
  CHECK(error.error().reason() == "why");
  Envelope ack = MakeAck(13, "done");
  CHECK(ack.version() == kProtocolVersion);
  CHECK(ack.request_id() == 13);
  CHECK(ack.ack().message() == "done");
}

}  // namespace
}  // namespace ike::ipc
