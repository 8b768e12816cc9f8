#include "isakmpd/service/dh_pool.h"

#include <algorithm>

#include "common/log.h"

namespace ike::isakmpd {

DhKeyPool::DhKeyPool(size_t per_group, size_t low_water)
    : per_group_(std::max<size_t>(per_group, 1)),
      low_water_(std::clamp<size_t>(low_water ? low_water : per_group / 4, 1, per_group_)),
      worker_([this] { Run(); }) {}

DhKeyPool::~DhKeyPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

Result<std::unique_ptr<crypto::DhKeyPair>> DhKeyPool::Take(crypto::DhGroup group) {
  std::unique_ptr<crypto::DhKeyPair> pair;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stock& stock = stock_[group];  // marks the group as wanted
    if (!stock.pairs.empty()) {
      pair = std::move(stock.pairs.front());
      stock.pairs.pop_front();
    }
    if (!stock.refilling && stock.pairs.size() < low_water_) {
      stock.refilling = true;
      wake = true;
      ++wakeups_;
    }
  }
  if (wake) wake_.notify_one();
  if (pair) return pair;
  return crypto::DhKeyPair::Generate(group);
}

size_t DhKeyPool::ready(crypto::DhGroup group) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = stock_.find(group);
  return it == stock_.end() ? 0 : it->second.pairs.size();
}

uint64_t DhKeyPool::wakeups() {
  std::lock_guard<std::mutex> lock(mu_);
  return wakeups_;
}

bool DhKeyPool::NextGroup(crypto::DhGroup* group) const {
  for (const auto& [g, stock] : stock_) {
    if (stock.refilling) {
      *group = g;
      return true;
    }
  }
  return false;
}

void DhKeyPool::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    crypto::DhGroup group{};
    wake_.wait(lock, [&] { return stop_ || NextGroup(&group); });
    if (stop_) return;
    // One batch up to the target; Take may hand pairs out meanwhile.
    while (!stop_ && stock_[group].pairs.size() < per_group_) {
      lock.unlock();
      auto pair = crypto::DhKeyPair::Generate(group);
      lock.lock();
      if (!pair) {
        LOG_ERROR("DH key pool: %s", pair.error().message.c_str());
        wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; });
        break;
      }
      stock_[group].pairs.push_back(std::move(pair.value()));
    }
    stock_[group].refilling = false;
  }
}

}  // namespace ike::isakmpd
