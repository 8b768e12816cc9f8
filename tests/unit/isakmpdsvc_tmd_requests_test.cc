// isakmpd's requests to tmd (tmd_requests.h): AllocateSpi (hole 4.f) and
// the events the SA manager waits on; the request each sends over the tmd
// connection, and each way a request ends: reply, error, timeout, lost
// connection, no connection.
#include <catch2/catch.hpp>
#include <optional>
#include <vector>

#include "common/ipc.h"
#include "isakmpd/service/tmd_requests.h"
#include "tests/lib/fakes.h"

namespace ike::isakmpd {
namespace {

struct Fixture {
  testing::FakeClock clock;
  std::vector<ipc::Envelope> sent;
  bool connected = true;
  TmdRequests client{[this](const ipc::Envelope& e) {
                       if (!connected) return false;
                       sent.push_back(e);
                       return true;
                     },
                     clock, Duration(1000), Duration(500)};
  std::vector<std::optional<uint32_t>> results;
  int confirmed = 0;
  void Confirm() {
    ipc::Envelope event;
    event.mutable_phase2_established()->set_handle(7);
    client.Confirm(event, [this] { ++confirmed; });
  }
  void Allocate() {
    client.Allocate(*IpAddress::Parse("192.0.2.1"), *IpAddress::Parse("198.51.100.7"), 3,
                    [this](std::optional<uint32_t> spi) { results.push_back(spi); });
  }
  ipc::Envelope ReplyTo(const ipc::Envelope& request, uint32_t spi) {
    ipc::Envelope r;
    r.set_request_id(request.request_id());
    r.mutable_allocate_spi_reply()->set_spi(spi);
    return r;
  }
};

TEST_CASE("the request names our address and ESP; the reply's SPI reaches the caller") {
  Fixture f;
  f.Allocate();
  REQUIRE(f.sent.size() == 1);
  REQUIRE(f.sent[0].has_allocate_spi());
  CHECK(f.sent[0].allocate_spi().local_address() == "192.0.2.1");
  CHECK(f.sent[0].allocate_spi().remote_address() == "198.51.100.7");
  CHECK(f.sent[0].allocate_spi().protocol() == ipc::PROTO_ESP);
  CHECK(f.results.empty());
  CHECK(f.client.OnReply(f.ReplyTo(f.sent[0], 0x1234)));
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0] == 0x1234u);
  CHECK(f.client.pending() == 0);
  f.clock.Advance(5000);  // the timeout was cancelled
  CHECK(f.results.size() == 1);
}

TEST_CASE("replies are matched by request id") {
  Fixture f;
  f.Allocate();
  f.Allocate();
  REQUIRE(f.sent.size() == 2);
  CHECK(f.sent[0].request_id() != f.sent[1].request_id());
  CHECK(f.client.OnReply(f.ReplyTo(f.sent[1], 2000)));
  CHECK(f.client.OnReply(f.ReplyTo(f.sent[0], 1000)));
  CHECK(f.results == std::vector<std::optional<uint32_t>>{2000u, 1000u});
  // Not ours: tmd's Ack, or an error for another request id.
  ipc::Envelope ack;
  ack.mutable_ack();
  CHECK_FALSE(f.client.OnReply(ack));
  ipc::Envelope other = ipc::MakeError(7, ipc::INTERNAL, "x");
  CHECK_FALSE(f.client.OnReply(other));
}

TEST_CASE("an error reply, a timeout and a lost connection give nullopt") {
  Fixture f;
  f.Allocate();
  CHECK(f.client.OnReply(ipc::MakeError(f.sent[0].request_id(), ipc::INTERNAL, "no free SPI")));
  f.Allocate();
  f.clock.Advance(999);
  CHECK(f.results.size() == 1);
  f.clock.Advance(1);
  f.Allocate();
  f.client.OnDisconnected();
  CHECK(f.results ==
        std::vector<std::optional<uint32_t>>{std::nullopt, std::nullopt, std::nullopt});
  // The late reply to the timed-out request is consumed and dropped.
  CHECK(f.client.OnReply(f.ReplyTo(f.sent[1], 5)));
  CHECK(f.results.size() == 3);
}

TEST_CASE("without a tmd connection the request ends at once, from the loop") {
  Fixture f;
  f.connected = false;
  f.Allocate();
  CHECK(f.results.empty());  // never inside Allocate
  f.clock.RunDue();
  CHECK(f.results == std::vector<std::optional<uint32_t>>{std::nullopt});
}

// tmd's answer to a confirmed event.
ipc::Envelope AckTo(const ipc::Envelope& request) {
  ipc::Envelope ack;
  ack.set_request_id(request.request_id());
  ack.mutable_ack();
  return ack;
}

TEST_CASE("a confirmed event goes with a request id and ends on tmd's Ack or Error") {
  Fixture f;
  f.Confirm();
  f.Confirm();
  REQUIRE(f.sent.size() == 2);
  CHECK(f.sent[0].has_phase2_established());
  CHECK(f.sent[0].phase2_established().handle() == 7u);
  CHECK(f.sent[0].request_id() != 0);
  CHECK(f.sent[0].request_id() != f.sent[1].request_id());
  CHECK(f.confirmed == 0);
  CHECK(f.client.OnReply(AckTo(f.sent[1])));
  CHECK(f.confirmed == 1);
  CHECK(f.client.OnReply(ipc::MakeError(f.sent[0].request_id(), ipc::INTERNAL, "x")));
  CHECK(f.confirmed == 2);
  CHECK(f.client.pending() == 0);
  f.clock.Advance(5000);  // both timeouts were cancelled
  CHECK(f.confirmed == 2);
  // An Ack without one of our ids is not ours.
  CHECK_FALSE(f.client.OnReply(AckTo(ipc::Envelope())));
}

TEST_CASE("a confirmed event ends without tmd: timeout, lost or no connection") {
  Fixture f;
  f.Confirm();
  f.clock.Advance(499);
  CHECK(f.confirmed == 0);
  f.clock.Advance(1);  // the confirm timeout, shorter than AllocateSpi's
  CHECK(f.confirmed == 1);
  f.Confirm();
  f.client.OnDisconnected();
  CHECK(f.confirmed == 2);
  f.connected = false;
  f.Confirm();
  CHECK(f.confirmed == 2);  // never inside Confirm
  f.clock.RunDue();
  CHECK(f.confirmed == 3);
  // The late Ack to the timed-out one is consumed and dropped.
  CHECK(f.client.OnReply(AckTo(f.sent[0])));
  CHECK(f.confirmed == 3);
}

}  // namespace
}  // namespace ike::isakmpd
