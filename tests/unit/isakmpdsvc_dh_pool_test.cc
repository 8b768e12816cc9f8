// The DH key pool: pairs generated ahead on a worker thread, each handed out
// once, and still correct.
#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "isakmpd/service/dh_pool.h"

namespace ike::isakmpd {
namespace {

// Waits (up to 60 s: a loaded CI machine, not a timing check) until |pool| holds |n| ready pairs of
// |group|.
bool WaitReady(DhKeyPool& pool, crypto::DhGroup group, size_t n) {
  for (int i = 0; i < 6000 && pool.ready(group) < n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pool.ready(group) >= n;
}

TEST_CASE("DH key pool hands out distinct, working key pairs", "[dh]") {
  // Low water at the target: every Take below 4 starts a refill, so the pool
  // is sure to hold 2 again below. (With the default low water of 1, 12 Takes
  // could leave 1 pair and no refill, and the wait below never ended: the
  // flake that failed CI on 2026-12-02.)
  DhKeyPool pool(4, 4);
  std::set<Bytes> seen;
  for (int i = 0; i < 12; ++i) {
    auto a = pool.Take(crypto::DhGroup::kEcp256);
    REQUIRE(a.ok());
    CHECK(seen.insert(a.value()->PublicValue()).second);  // never the same pair twice
  }
  // Once the worker has refilled (only Take removes pairs, so both come from
  // the pool), two pooled pairs agree on a secret.
  REQUIRE(WaitReady(pool, crypto::DhGroup::kEcp256, 2));
  auto a = pool.Take(crypto::DhGroup::kEcp256);
  auto b = pool.Take(crypto::DhGroup::kEcp256);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto ab = a.value()->ComputeShared(b.value()->PublicValue());
  auto ba = b.value()->ComputeShared(a.value()->PublicValue());
  REQUIRE(ab.ok());
  REQUIRE(ba.ok());
  CHECK(ab.value().bytes() == ba.value().bytes());
}

TEST_CASE("DH key pool serves several groups and stops cleanly", "[dh]") {
  auto pool = std::make_unique<DhKeyPool>(2);
  for (auto g : {crypto::DhGroup::kModp2048, crypto::DhGroup::kEcp256, crypto::DhGroup::kEcp384}) {
    auto k = pool->Take(g);
    REQUIRE(k.ok());
    CHECK(k.value()->group() == g);
    CHECK(k.value()->PublicValue().size() == crypto::DhPublicLength(g));
  }
  pool.reset();  // joins the worker while it may be generating
}

TEST_CASE("DH key pool wakes its worker only below the low-water mark", "[dh]") {
  DhKeyPool pool(8, 2);
  const auto g = crypto::DhGroup::kEcp256;
  REQUIRE(pool.Take(g).ok());  // first use: the group is wanted, one wake-up
  CHECK(pool.wakeups() == 1);
  REQUIRE(WaitReady(pool, g, 8));                          // refilled to the target in one batch
  for (int i = 0; i < 6; ++i) REQUIRE(pool.Take(g).ok());  // 8 -> 2: above low water
  CHECK(pool.wakeups() == 1);
  CHECK(pool.ready(g) == 2);
  REQUIRE(pool.Take(g).ok());  // 2 -> 1: below low water, one wake-up
  CHECK(pool.wakeups() == 2);
  // Still refilling, or refilled to 8 already: either way no wake-up (the
  // worker clears |refilling| only at the target, under the lock).
  REQUIRE(pool.Take(g).ok());
  CHECK(pool.wakeups() == 2);
  // Refilled to 8 before that Take (7 now, above low water, no refill) or
  // after it (8): at least 7 either way. Waiting for 8 hung when the worker
  // had won the race.
  REQUIRE(WaitReady(pool, g, 7));
}

TEST_CASE("DH key pool still serves when empty (generates inline)", "[dh]") {
  DhKeyPool pool(2, 1);
  std::set<Bytes> seen;
  for (int i = 0; i < 20; ++i) {  // faster than the worker can refill
    auto k = pool.Take(crypto::DhGroup::kModp2048);
    REQUIRE(k.ok());
    CHECK(seen.insert(k.value()->PublicValue()).second);
  }
}

}  // namespace
}  // namespace ike::isakmpd
