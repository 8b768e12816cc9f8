// Inbound SPIs come from tmd's kernel interface (issue 7, hole 4.f): unique
// among live SAs and outstanding reservations per destination, never 0 nor
// below 256, reservations lapse, an install consumes its reservation.
#include <catch2/catch.hpp>
#include <random>
#include <unordered_set>

#include "tests/lib/fakes.h"
#include "tmd/core/kernel.h"

namespace ike::tmd {
namespace {

// A random source that collides on purpose: values from a small range, with
// 0 and reserved values (1-255) among them.
class CollidingRandom : public crypto::Random {
 public:
  explicit CollidingRandom(uint32_t range) : range_(range) {}
  void Fill(std::span<uint8_t> out) override {
    const uint32_t v = static_cast<uint32_t>(engine_() % range_);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(v >> (8 * (i % 4)));
  }

 private:
  std::mt19937 engine_{7};
  uint32_t range_;
};

// Always the same value.
class StuckRandom : public crypto::Random {
 public:
  explicit StuckRandom(uint32_t v) : v_(v) {}
  void Fill(std::span<uint8_t> out) override {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(v_ >> (8 * (i % 4)));
  }

 private:
  uint32_t v_;
};

const IpAddress kUs = *IpAddress::Parse("192.0.2.1");
const IpAddress kOther = *IpAddress::Parse("192.0.2.9");
const IpAddress kPeer = *IpAddress::Parse("198.51.100.1");

SaSpec Inbound(uint32_t spi) {
  SaSpec sa;
  sa.tunnel = 1;
  sa.spi = spi;
  sa.source = *IpAddress::Parse("192.0.2.2");
  sa.destination = kUs;
  return sa;
}

TEST_CASE("100,000 SPIs from a colliding random source are unique and never below 256") {
  testing::FakeClock clock;
  // 150,000 values for 100,000 SPIs: most draws late in the run collide.
  CollidingRandom random(150000);
  StateOnlyKernel kernel(&random, &clock);
  std::unordered_set<uint32_t> seen;
  for (int i = 0; i < 100000; ++i) {
    Result<uint32_t> spi = kernel.AllocateSpi(kUs, kPeer, ipc::PROTO_ESP);
    REQUIRE(spi.ok());
    REQUIRE(*spi >= 256);
    REQUIRE(seen.insert(*spi).second);
    // Every other one becomes an installed SA: both kinds of live SPI count.
    if (i % 2 == 0) REQUIRE(kernel.InstallSa(Inbound(*spi)).ok());
  }
  CHECK(kernel.sa_count() == 50000);
  CHECK(kernel.reservation_count() == 50000);
}

TEST_CASE("an SPI taken for one destination is free for another") {
  testing::FakeClock clock;
  StuckRandom random(0x12345678);
  StateOnlyKernel kernel(&random, &clock);
  CHECK(*kernel.AllocateSpi(kUs, kPeer, ipc::PROTO_ESP) == 0x12345678);
  CHECK(*kernel.AllocateSpi(kOther, kPeer, ipc::PROTO_ESP) == 0x12345678);
  // The same destination again: every draw collides, so it fails, naming why.
  Result<uint32_t> again = kernel.AllocateSpi(kUs, kPeer, ipc::PROTO_ESP);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message.find("no free ESP SPI for 192.0.2.1") != std::string::npos);
}

TEST_CASE("0 and 1-255 are never handed out") {
  testing::FakeClock clock;
  StuckRandom zero(0), low(255);
  CHECK_FALSE(StateOnlyKernel(&zero, &clock).AllocateSpi(kUs, kPeer, ipc::PROTO_ESP).ok());
  CHECK_FALSE(StateOnlyKernel(&low, &clock).AllocateSpi(kUs, kPeer, ipc::PROTO_ESP).ok());
  StuckRandom first(256);
  CHECK(*StateOnlyKernel(&first, &clock).AllocateSpi(kUs, kPeer, ipc::PROTO_AH) == 256);
}

TEST_CASE("a reservation lapses when no SA uses it in time") {
  testing::FakeClock clock;
  StuckRandom random(0x1000);
  StateOnlyKernel kernel(&random, &clock);
  REQUIRE(kernel.AllocateSpi(kUs, kPeer, ipc::PROTO_ESP).ok());
  clock.Advance(kSpiReservationLifetime.count() - 1);
  CHECK_FALSE(kernel.AllocateSpi(kUs, kPeer, ipc::PROTO_ESP).ok());  // still reserved
  clock.Advance(1);
  CHECK(*kernel.AllocateSpi(kUs, kPeer, ipc::PROTO_ESP) == 0x1000);  // lapsed, handed out again
  CHECK(kernel.reservation_count() == 1);
}

TEST_CASE("installing a reserved SPI consumes the reservation; the SPI stays taken") {
  testing::FakeClock clock;
  StuckRandom random(0x1000);
  StateOnlyKernel kernel(&random, &clock);
  REQUIRE(kernel.AllocateSpi(kUs, kPeer, ipc::PROTO_ESP).ok());
  REQUIRE(kernel.InstallSa(Inbound(0x1000)).ok());
  CHECK(kernel.reservation_count() == 0);
  // The reservation's lapse does not free an installed SA's SPI.
  clock.Advance(kSpiReservationLifetime.count() * 2);
  CHECK_FALSE(kernel.AllocateSpi(kUs, kPeer, ipc::PROTO_ESP).ok());
  // Deleting the SA does.
  REQUIRE(kernel.DeleteSa(kUs, 0x1000).ok());
  CHECK(*kernel.AllocateSpi(kUs, kPeer, ipc::PROTO_ESP) == 0x1000);
}

}  // namespace
}  // namespace ike::tmd
