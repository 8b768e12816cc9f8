// AdmissionQueue: the total cap, the per-peer cap, FIFO order among what the
// caps allow, stale tickets, nothing dropped.
#include <catch2/catch.hpp>
#include <set>
#include <vector>

#include "tmd/core/admission.h"

namespace ike::tmd {
namespace {

struct Recorder {
  std::vector<uint32_t> started;
  std::set<uint32_t> stale;
  AdmissionQueue::Starter starter() {
    return [this](const AdmissionQueue::Ticket& t) {
      if (stale.contains(t.number)) return false;
      started.push_back(t.number);
      return true;
    };
  }
};

TEST_CASE("admission: one busy peer does not take every slot") {
  AdmissionQueue q;
  q.SetLimits(4, 2);
  Recorder r;
  // Tunnels 1-4 to peer A, then 5 and 6 to B: A gets its 2 slots, B the other 2.
  CHECK(q.Admit({1, 1}, "A"));
  CHECK(q.Admit({2, 2}, "A"));
  CHECK_FALSE(q.Admit({3, 3}, "A"));
  CHECK_FALSE(q.Admit({4, 4}, "A"));
  CHECK(q.Admit({5, 5}, "B"));
  CHECK(q.Admit({6, 6}, "B"));
  CHECK(q.in_flight() == 4);
  CHECK(q.queued() == 2);
  // An A slot frees: the oldest waiting A ticket starts.
  q.Release(1, r.starter());
  CHECK(r.started == std::vector<uint32_t>{3});
  // A B slot frees: A is at its cap, so nothing starts; a later B ticket would.
  q.Release(5, r.starter());
  CHECK(r.started.size() == 1);
  CHECK(q.Admit({7, 7}, "B"));
  CHECK(q.in_flight() == 4);
}

TEST_CASE("admission: FIFO across peers when the total cap is the limit") {
  AdmissionQueue q;
  q.SetLimits(1, 0);  // no per-peer cap
  Recorder r;
  CHECK(q.Admit({1, 1}, "A"));
  CHECK_FALSE(q.Admit({2, 2}, "B"));
  CHECK_FALSE(q.Admit({3, 3}, "A"));
  CHECK_FALSE(q.Admit({4, 4}, "C"));
  q.Release(1, r.starter());
  q.Release(2, r.starter());
  q.Release(3, r.starter());
  CHECK(r.started == std::vector<uint32_t>{2, 3, 4});
  CHECK(q.queued() == 0);
}

TEST_CASE("admission: stale tickets are skipped without taking a slot") {
  AdmissionQueue q;
  q.SetLimits(1, 1);
  Recorder r;
  CHECK(q.Admit({1, 1}, "A"));
  CHECK_FALSE(q.Admit({2, 2}, "A"));
  CHECK_FALSE(q.Admit({3, 3}, "A"));
  r.stale.insert(2);  // removed while it waited
  q.Release(1, r.starter());
  CHECK(r.started == std::vector<uint32_t>{3});
  CHECK(q.in_flight() == 1);
  CHECK(q.queued() == 0);
  // Releasing a number that holds no slot changes nothing.
  q.Release(42, r.starter());
  CHECK(q.in_flight() == 1);
}

TEST_CASE("admission: raised limits start waiting tickets on Drain; 0 means no cap") {
  AdmissionQueue q;
  q.SetLimits(2, 1);
  Recorder r;
  CHECK(q.Admit({1, 1}, "A"));
  CHECK_FALSE(q.Admit({2, 2}, "A"));
  CHECK_FALSE(q.Admit({3, 3}, "A"));
  q.SetLimits(0, 0);
  q.Drain(r.starter());
  CHECK(r.started == std::vector<uint32_t>{2, 3});
  CHECK(q.in_flight() == 3);
}

TEST_CASE("admission: thousands of tunnels to one peer all get their turn") {
  AdmissionQueue q;
  q.SetLimits(128, 32);
  Recorder r;
  size_t admitted = 0;
  for (uint32_t n = 1; n <= 5000; ++n) admitted += q.Admit({n, n}, "gateway");
  CHECK(admitted == 32);
  // Each finished negotiation starts the next; nothing is lost.
  for (uint32_t n = 1; n <= 5000; ++n) q.Release(n, r.starter());
  CHECK(r.started.size() == 5000 - 32);
  CHECK(r.started.front() == 33);
  CHECK(r.started.back() == 5000);
  CHECK(q.in_flight() == 0);
  CHECK(q.queued() == 0);
}

}  // namespace
}  // namespace ike::tmd
