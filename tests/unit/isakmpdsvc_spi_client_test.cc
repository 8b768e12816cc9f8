// isakmpd's AllocateSpi client (hole 4.f): the request it sends over the tmd
// connection, and each way a request ends: reply, error, timeout, lost
// connection, no connection.
#include <catch2/catch.hpp>
#include <optional>
#include <vector>

#include "common/ipc.h"
#include "isakmpd/service/spi_client.h"
#include "tests/lib/fakes.h"

namespace ike::isakmpd {
namespace {

struct Fixture {
  testing::FakeClock clock;
  std::vector<ipc::Envelope> sent;
  bool connected = true;
  SpiClient client{[this](const ipc::Envelope& e) {
                     if (!connected) return false;
                     sent.push_back(e);
                     return true;
                   },
                   clock, Duration(1000)};
  std::vector<std::optional<uint32_t>> results;
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

}  // namespace
}  // namespace ike::isakmpd
