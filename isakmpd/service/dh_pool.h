// Diffie-Hellman key pairs generated ahead of time on a worker thread, so key
// generation (half the DH cost, performance.md) runs on the second core while
// the event loop negotiates. Each pair is handed out once.
//
// The worker sleeps until a group's stock falls below its low-water mark and
// then refills it to the target in one batch: waking it on every Take cost a
// futex wake and a context switch per key, more than an ECP key itself.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "isakmpd/exchange/tools.h"

namespace ike::isakmpd {

class DhKeyPool : public DhKeySource {
 public:
  // Keeps up to |per_group| ready pairs for every group asked for so far and
  // starts refilling a group when fewer than |low_water| are left (default:
  // a quarter of |per_group|, at least 1).
  explicit DhKeyPool(size_t per_group = 64, size_t low_water = 0);
  ~DhKeyPool() override;
  DhKeyPool(const DhKeyPool&) = delete;
  DhKeyPool& operator=(const DhKeyPool&) = delete;

  // A ready pair if there is one, else one generated now (never blocks on
  // the worker).
  Result<std::unique_ptr<crypto::DhKeyPair>> Take(crypto::DhGroup group) override;

  // Observability for tests: ready pairs of |group|, and how often the
  // worker was woken.
  size_t ready(crypto::DhGroup group);
  uint64_t wakeups();

 private:
  struct Stock {
    std::deque<std::unique_ptr<crypto::DhKeyPair>> pairs;
    bool refilling = false;  // below low water: the worker fills to the target
  };
  void Run();
  // A group the worker should refill, if any.
  bool NextGroup(crypto::DhGroup* group) const;

  const size_t per_group_;
  const size_t low_water_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::map<crypto::DhGroup, Stock> stock_;
  uint64_t wakeups_ = 0;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace ike::isakmpd
