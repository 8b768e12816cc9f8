#include "isakmpd/service/dh_pool.h"

#include "common/log.h"

namespace ike::isakmpd {

DhKeyPool::DhKeyPool(size_t per_group) : per_group_(per_group), worker_([this] { Run(); }) {}

DhKeyPool::~DhKeyPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

Result<std::unique_ptr<crypto::DhKeyPair>> DhKeyPool::Take(crypto::DhGroup group) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& queue = ready_[group];  // marks the group as wanted
    if (!queue.empty()) {
      std::unique_ptr<crypto::DhKeyPair> pair = std::move(queue.front());
      queue.pop_front();
      wake_.notify_one();
      return pair;
    }
  }
  wake_.notify_one();
  return crypto::DhKeyPair::Generate(group);
}

bool DhKeyPool::NextGroup(crypto::DhGroup* group) const {
  size_t fewest = per_group_;
  for (const auto& [g, queue] : ready_) {
    if (queue.size() < fewest) {
      fewest = queue.size();
      *group = g;
    }
  }
  return fewest < per_group_;
}

void DhKeyPool::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    crypto::DhGroup group{};
    wake_.wait(lock, [&] { return stop_ || NextGroup(&group); });
    if (stop_) return;
    lock.unlock();
    auto pair = crypto::DhKeyPair::Generate(group);
    lock.lock();
    if (!pair) {
      LOG_ERROR("DH key pool: %s", pair.error().message.c_str());
      wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; });
      continue;
    }
    ready_[group].push_back(std::move(pair.value()));
  }
}

}  // namespace ike::isakmpd
