// HalfOpenTable: admission of Main Mode 1 under the half-open caps, eviction
// of the oldest SA not past message 2, shortened lifetimes and the report
// once per second (issue 7, item 4a).
#include <catch2/catch.hpp>
#include <set>

#include "isakmpd/sa/half_open.h"

namespace ike::isakmpd {
namespace {

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

TimePoint At(int64_t ms) { return TimePoint{} + Duration(ms); }

struct Fixture {
  explicit Fixture(uint32_t per_peer = 4, uint32_t total = 100) {
    HalfOpenTable::Limits l;
    l.per_peer = per_peer;
    l.total = total;
    table.SetLimits(l);
  }
  // Admits and adds (when admitted) a new SA with the next handle.
  HalfOpenTable::Admission Arrive(const IpAddress& peer, int64_t ms) {
    auto a = table.Admit(peer, At(ms), [this](uint64_t h) { return progressed.count(h) > 0; });
    if (a.admit) table.Add(peer, next++, At(ms));
    return a;
  }
  HalfOpenTable table;
  std::set<uint64_t> progressed;
  uint64_t next = 1;
};

TEST_CASE("below the caps every Main Mode 1 is admitted, nothing evicted", "[half_open]") {
  Fixture f;
  for (int i = 0; i < 4; ++i) {
    auto a = f.Arrive(Ip("192.0.2.1"), i);
    CHECK(a.admit);
    CHECK(a.evicted.empty());
    CHECK_FALSE(a.report);
  }
  CHECK(f.table.count(Ip("192.0.2.1")) == 4);
  CHECK(f.table.total() == 4);
}

TEST_CASE("at the per-peer cap the oldest unprogressed SA of that peer is evicted", "[half_open]") {
  Fixture f;
  for (int i = 0; i < 4; ++i) f.Arrive(Ip("192.0.2.1"), i);  // handles 1..4
  f.Arrive(Ip("192.0.2.9"), 5);                              // another peer: 5
  f.progressed.insert(1);                                    // its initiator answered message 2
  auto a = f.Arrive(Ip("192.0.2.1"), 100);
  CHECK(a.admit);
  CHECK(a.evicted == std::vector<uint64_t>{2});  // 1 progressed, 5 is another peer's
  CHECK(f.table.count(Ip("192.0.2.1")) == 4);
  CHECK(f.table.count(Ip("192.0.2.9")) == 1);
  a = f.Arrive(Ip("192.0.2.1"), 101);
  CHECK(a.evicted == std::vector<uint64_t>{3});
  CHECK(f.table.counters().evicted == 2);
}

TEST_CASE("a burst within the grace is not evicted by itself: the excess is dropped",
          "[half_open]") {
  Fixture f;
  for (int i = 0; i < 4; ++i) f.Arrive(Ip("192.0.2.1"), 0);
  auto a = f.Arrive(Ip("192.0.2.1"), 5);  // every SA is 5 ms old (grace 20 ms)
  CHECK_FALSE(a.admit);
  CHECK(a.evicted.empty());
  CHECK(f.table.counters().dropped == 1);
  a = f.Arrive(Ip("192.0.2.1"), 20);  // the grace has passed: evict the oldest
  CHECK(a.admit);
  CHECK(a.evicted == std::vector<uint64_t>{1});
}

TEST_CASE("when every slot has progressed past message 2, Main Mode 1 is dropped", "[half_open]") {
  Fixture f;
  for (int i = 0; i < 4; ++i) f.Arrive(Ip("192.0.2.1"), i);
  f.progressed = {1, 2, 3, 4};
  auto a = f.Arrive(Ip("192.0.2.1"), 10000);
  CHECK_FALSE(a.admit);
  CHECK(a.evicted.empty());
  CHECK(f.table.count(Ip("192.0.2.1")) == 4);
}

TEST_CASE("under pressure half-open SAs older than the pressure lifetime go at once",
          "[half_open]") {
  Fixture f;
  f.Arrive(Ip("192.0.2.1"), 0);     // 1
  f.Arrive(Ip("192.0.2.1"), 100);   // 2
  f.Arrive(Ip("192.0.2.1"), 200);   // 3
  f.Arrive(Ip("192.0.2.1"), 2500);  // 4
  f.progressed.insert(2);
  // At 3200 ms, 1 and 3 are older than 3 s and not past message 2; 2 has
  // progressed and keeps its full lifetime; 4 is young.
  auto a = f.Arrive(Ip("192.0.2.1"), 3200);
  CHECK(a.admit);
  CHECK(a.evicted == std::vector<uint64_t>{1, 3});
  CHECK(f.table.counters().expired == 2);
  CHECK(f.table.counters().evicted == 0);
  CHECK(f.table.count(Ip("192.0.2.1")) == 3);  // 2, 4 and the new one
}

TEST_CASE("the global cap evicts the oldest unprogressed SA of any peer", "[half_open]") {
  Fixture f(/*per_peer=*/10, /*total=*/3);
  f.Arrive(Ip("192.0.2.1"), 0);   // 1
  f.Arrive(Ip("192.0.2.2"), 50);  // 2
  f.Arrive(Ip("192.0.2.3"), 60);  // 3
  f.progressed.insert(1);
  auto a = f.Arrive(Ip("192.0.2.4"), 100);
  CHECK(a.admit);
  CHECK(a.evicted == std::vector<uint64_t>{2});
  CHECK(f.table.total() == 3);
  REQUIRE(a.report);
  CHECK(a.report->find("max_half_open 3") != std::string::npos);
}

TEST_CASE("Remove forgets an SA; unknown handles are ignored", "[half_open]") {
  Fixture f;
  f.Arrive(Ip("192.0.2.1"), 0);
  f.Arrive(Ip("192.0.2.1"), 1);
  f.table.Remove(1);
  f.table.Remove(1);
  f.table.Remove(42);
  CHECK(f.table.count(Ip("192.0.2.1")) == 1);
  f.table.Remove(2);
  CHECK(f.table.count(Ip("192.0.2.1")) == 0);
  CHECK(f.table.total() == 0);
}

TEST_CASE("a flood is reported once per second with counts, not per datagram", "[half_open]") {
  Fixture f(/*per_peer=*/256, /*total=*/2048);
  std::vector<std::string> reports;
  // 5,000 Main Mode 1 per second for 2 s: one every 0.2 ms, i.e. 5 per ms.
  for (int ms = 0; ms < 2000; ++ms)
    for (int k = 0; k < 5; ++k)
      if (auto a = f.Arrive(Ip("192.0.2.1"), ms); a.report) reports.push_back(*a.report);
  CHECK(f.table.count(Ip("192.0.2.1")) == 256);
  CHECK(f.table.counters().admitted == 10000);
  CHECK(f.table.counters().evicted == 10000 - 256);
  CHECK(f.table.counters().dropped == 0);
  // The cap is first reached at 51 ms, then once per second.
  REQUIRE(reports.size() == 2);
  CHECK(reports[0] ==
        "half-open cap reached for 192.0.2.1 (max_half_open_per_peer 256); in the last 0.1 s: "
        "257 Main Mode 1 admitted, 1 half-open SAs evicted (oldest not past message 2), 0 "
        "expired (older than 3 s), 0 dropped");
  INFO(reports[1]);
  CHECK(reports[1].find("in the last 1.0 s: 4999 Main Mode 1 admitted, 4999 half-open SAs "
                        "evicted") != std::string::npos);
}

TEST_CASE("a legitimate Main Mode 1 in a flood survives if answered within cap/rate",
          "[half_open]") {
  Fixture f(/*per_peer=*/256, /*total=*/2048);
  for (int ms = 0; ms < 100; ++ms)
    for (int k = 0; k < 5; ++k) f.Arrive(Ip("192.0.2.1"), ms);
  auto a = f.Arrive(Ip("192.0.2.1"), 100);  // the real initiator's
  REQUIRE(a.admit);
  const uint64_t legit = f.next - 1;
  std::set<uint64_t> evicted;
  for (int ms = 100; ms < 140; ++ms)  // 40 ms to answer message 2
    for (int k = 0; k < 5; ++k)
      for (uint64_t h : f.Arrive(Ip("192.0.2.1"), ms).evicted) evicted.insert(h);
  CHECK_FALSE(evicted.count(legit));
  f.progressed.insert(legit);  // its message 3 arrived
  for (int ms = 140; ms < 2000; ++ms)
    for (int k = 0; k < 5; ++k)
      for (uint64_t h : f.Arrive(Ip("192.0.2.1"), ms).evicted) evicted.insert(h);
  CHECK_FALSE(evicted.count(legit));
}

}  // namespace
}  // namespace ike::isakmpd
