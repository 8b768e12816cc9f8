// Inbound SPIs through the SpiAllocator port (hole f, isakmpd side): Quick
// Mode waits in its named step (kAwaitSpi) for an answer that comes later,
// never, or twice; a late answer for a gone exchange is ignored.
#include <catch2/catch.hpp>
#include <set>

#include "tests/lib/isakmpd_pair.h"

namespace ike::isakmpd {
namespace {

using testing::Pair;

// Keeps every request; the test answers them when it likes.
struct FakeSpis : SpiAllocator {
  struct Request {
    IpAddress local, remote;
    uint8_t protocol;
    std::function<void(std::optional<uint32_t>)> done;
  };
  void Allocate(const IpAddress& local, const IpAddress& remote, uint8_t protocol,
                std::function<void(std::optional<uint32_t>)> done) override {
    requests.push_back({local, remote, protocol, std::move(done)});
  }
  std::vector<Request> requests;
};

ipc::RemoveTunnel RemovePhase2(uint32_t tunnel) {
  ipc::RemoveTunnel r;
  r.set_phase(2);
  r.set_tunnel(tunnel);
  return r;
}

TEST_CASE("the responder waits for its SPI, then answers with it", "[spi]") {
  FakeSpis spis;
  Pair net("secret", "secret", nullptr, &spis);
  net.EstablishPhase1();
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  net.Run();  // HDR*, HASH(1), SA, Ni, KE, IDci, IDcr -->; B asks for an SPI
  REQUIRE(spis.requests.size() == 1);
  CHECK(spis.requests[0].local.ToString() == testing::kHostB);
  CHECK(spis.requests[0].remote.ToString() == testing::kHostA);  // ALLOCSPI needs the peer
  CHECK(spis.requests[0].protocol == 3);                         // ESP
  CHECK(net.wire.empty());                                       // no message 2 yet
  CHECK(net.b.manager.quick_mode_count() == 1);
  spis.requests[0].done(0x4242);
  net.Run();  // <-- HDR*, HASH(2), ...; HDR*, HASH(3) -->
  REQUIRE(net.b.Established(2));
  REQUIRE(net.a.Established(2));
  CHECK(net.b.Established(2)->phase2_established().sa(0).spi() == 0x4242);  // B inbound
  CHECK(net.a.Established(2)->phase2_established().sa(1).spi() == 0x4242);  // A outbound
}

TEST_CASE("the initiator waits for its SPI before Quick Mode 1", "[spi]") {
  FakeSpis spis;
  Pair net("secret", "secret", &spis, nullptr);
  net.EstablishPhase1();
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  CHECK(net.wire.empty());
  REQUIRE(spis.requests.size() == 1);
  spis.requests[0].done(0x5151);
  net.Run();
  REQUIRE(net.a.Established(2));
  CHECK(net.a.Established(2)->phase2_established().sa(0).spi() == 0x5151);
}

TEST_CASE("an SPI that never comes fails the Quick Mode after the time-out", "[spi]") {
  FakeSpis spis;
  Pair net("secret", "secret", &spis, nullptr);
  net.EstablishPhase1();
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  net.clock.Advance(SaManager::kSpiTimeoutMs - 1);
  CHECK_FALSE(net.a.Failed(2));
  net.clock.Advance(1);
  REQUIRE(net.a.Failed(2));
  const auto& f = net.a.Failed(2)->negotiation_failed();
  CHECK_THAT(f.reason(), Catch::Contains("no inbound SPI"));
  CHECK(f.state2() == ipc::PHASE2_INIT);
  CHECK(net.a.manager.quick_mode_count() == 0);
  // The answer after the time-out is for an exchange that is gone.
  spis.requests[0].done(0x6161);
  CHECK(net.wire.empty());
  CHECK(net.a.manager.isakmp_sa_count() == 1);
}

TEST_CASE("a second answer is ignored", "[spi]") {
  FakeSpis spis;
  Pair net("secret", "secret", nullptr, &spis);
  net.EstablishPhase1();
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  net.Run();
  REQUIRE(spis.requests.size() == 1);
  auto done = spis.requests[0].done;
  done(0x7171);
  REQUIRE(net.wire.size() == 1);  // message 2
  done(0x7272);                   // again, with another SPI
  CHECK(net.wire.size() == 1);
  net.Run();
  REQUIRE(net.b.Established(2));
  CHECK(net.b.Established(2)->phase2_established().sa(0).spi() == 0x7171);
  CHECK(net.b.Phase2Reports() == 1);
  CHECK(net.b.Phase2Reports(/*early=*/true) == 1);
}

TEST_CASE("no SPI to be had fails the Quick Mode; a removed one ignores its answer", "[spi]") {
  FakeSpis spis;
  Pair net("secret", "secret", &spis, nullptr);
  net.EstablishPhase1();
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  spis.requests[0].done(std::nullopt);
  REQUIRE(net.a.Failed(2));
  CHECK_THAT(net.a.Failed(2)->negotiation_failed().reason(), Catch::Contains("no inbound SPI"));
  auto second = net.Phase2(net.DatabaseA());
  second.set_tunnel(2);
  REQUIRE(net.a.manager.StartPhase2(second).has_ack());
  REQUIRE(net.a.manager.Remove(RemovePhase2(2)).has_ack());  // tmd removes it meanwhile
  spis.requests[1].done(0x8181);
  CHECK(net.wire.empty());
  CHECK(net.a.manager.quick_mode_count() == 0);
}

TEST_CASE("the default allocator gives unique SPIs of at least 256", "[spi]") {
  Pair net;
  net.EstablishPhase1();
  std::set<uint32_t> in;
  for (uint32_t t = 1; t <= 100; ++t) {
    auto r = net.Phase2(net.DatabaseA());
    r.set_tunnel(t);
    REQUIRE(net.a.manager.StartPhase2(r).has_ack());
  }
  net.Run();
  for (const auto& e : net.a.events)
    if (e.has_phase2_established()) in.insert(e.phase2_established().sa(0).spi());
  CHECK(in.size() == 100);
  CHECK(*in.begin() >= 256);
}

}  // namespace
}  // namespace ike::isakmpd
