// Diffie-Hellman key pairs generated ahead of time on a worker thread, so key
// generation (half the DH cost, performance.md) runs on the second core while
// the event loop negotiates. Each pair is handed out once.
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
  // Keeps up to |per_group| ready pairs for every group asked for so far.
  explicit DhKeyPool(size_t per_group = 64);
  ~DhKeyPool() override;
  DhKeyPool(const DhKeyPool&) = delete;
  DhKeyPool& operator=(const DhKeyPool&) = delete;

  // A ready pair if there is one, else one generated now (never blocks on
  // the worker).
  Result<std::unique_ptr<crypto::DhKeyPair>> Take(crypto::DhGroup group) override;

 private:
  void Run();
  // The wanted group with the fewest ready pairs below the target, if any.
  bool NextGroup(crypto::DhGroup* group) const;

  const size_t per_group_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::map<crypto::DhGroup, std::deque<std::unique_ptr<crypto::DhKeyPair>>> ready_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace ike::isakmpd
