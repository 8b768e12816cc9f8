#include "isakmpd/sa/half_open.h"

#include <cstdio>
#include <cstring>

namespace ike::isakmpd {

size_t HalfOpenTable::AddressHash::operator()(const IpAddress& a) const {
  uint64_t hi, lo;
  std::memcpy(&hi, a.octets.data(), 8);
  std::memcpy(&lo, a.octets.data() + 8, 8);
  return static_cast<size_t>(
      (hi ^ (lo * 0x9e3779b97f4a7c15ull) ^ uint64_t(a.family)) * 0x9e3779b97f4a7c15ull >> 7);
}

uint32_t HalfOpenTable::count(const IpAddress& peer) const {
  auto it = by_peer_.find(peer);
  return it == by_peer_.end() ? 0 : static_cast<uint32_t>(it->second.size());
}

bool HalfOpenTable::Full(const IpAddress& peer, bool global) const {
  if (global) return order_.size() >= limits_.total;
  return count(peer) >= limits_.per_peer;
}

HalfOpenTable::Admission HalfOpenTable::Admit(const IpAddress& peer, TimePoint now,
                                              const Progressed& progressed) {
  if (!window_start_) window_start_ = now;
  Admission out;
  // The peer's own cap first: a flood from one address then evicts only
  // that address's SAs, never another peer's.
  bool pressure = false;
  bool global = false;
  for (bool g : {false, true}) {
    if (!Full(peer, g)) continue;
    pressure = true;
    global = global || g;
    MakeRoom(peer, g, now, progressed, &out.evicted);
  }
  out.admit = !Full(peer, false) && !Full(peer, true);
  if (out.admit) {
    ++counters_.admitted;
    ++window_.admitted;
  } else {
    ++counters_.dropped;
    ++window_.dropped;
  }
  if (pressure) out.report = Report(peer, global, now);
  return out;
}

void HalfOpenTable::MakeRoom(const IpAddress& peer, bool global, TimePoint now,
                             const Progressed& progressed, std::vector<uint64_t>* out) {
  // Oldest first: |order_| for the global cap, the peer's queue otherwise.
  std::vector<uint64_t> candidates;
  auto consider = [&](const Entry& e) -> bool {  // false: stop scanning
    if (progressed(e.handle)) return true;
    if (now - e.arrived >= limits_.pressure_lifetime) {
      candidates.push_back(e.handle);  // expired under pressure
      return true;
    }
    // The oldest unprogressed: evict it, unless even it is within the grace
    // (then so is every later one).
    if (candidates.empty() && now - e.arrived >= limits_.eviction_grace)
      candidates.push_back(e.handle);
    return false;
  };
  if (global) {
    for (const Entry& e : order_)
      if (!consider(e)) break;
  } else if (auto it = by_peer_.find(peer); it != by_peer_.end()) {
    for (const auto& e : it->second)
      if (!consider(*e)) break;
  }
  for (uint64_t h : candidates) {
    const bool expired = now - by_handle_.at(h).in_order->arrived >= limits_.pressure_lifetime;
    Forget(h);
    out->push_back(h);
    if (expired) {
      ++counters_.expired;
      ++window_.expired;
    } else {
      ++counters_.evicted;
      ++window_.evicted;
    }
  }
}

void HalfOpenTable::Add(const IpAddress& peer, uint64_t handle, TimePoint now) {
  if (by_handle_.count(handle)) return;
  auto in_order = order_.insert(order_.end(), Entry{handle, peer, now});
  PeerQueue& q = by_peer_[peer];
  auto in_peer = q.insert(q.end(), in_order);
  by_handle_.emplace(handle, Where{in_order, in_peer});
}

void HalfOpenTable::Remove(uint64_t handle) { Forget(handle); }

void HalfOpenTable::Forget(uint64_t handle) {
  auto it = by_handle_.find(handle);
  if (it == by_handle_.end()) return;
  const IpAddress peer = it->second.in_order->peer;
  auto q = by_peer_.find(peer);
  q->second.erase(it->second.in_peer);
  if (q->second.empty()) by_peer_.erase(q);
  order_.erase(it->second.in_order);
  by_handle_.erase(it);
}

// One line per report_interval at most, whatever the flood rate: the counts
// since the previous line, and which cap (per peer, or the daemon's) is full.
std::optional<std::string> HalfOpenTable::Report(const IpAddress& peer, bool global,
                                                 TimePoint now) {
  if (last_report_ && now - *last_report_ < limits_.report_interval) return std::nullopt;
  const double seconds =
      std::chrono::duration<double>(now - (last_report_ ? *last_report_ : *window_start_)).count();
  char counts[256];
  std::snprintf(counts, sizeof counts,
                "in the last %.1f s: %llu Main Mode 1 admitted, %llu half-open SAs evicted "
                "(oldest not past message 2), %llu expired (older than %lld s), %llu dropped",
                seconds, static_cast<unsigned long long>(window_.admitted),
                static_cast<unsigned long long>(window_.evicted),
                static_cast<unsigned long long>(window_.expired),
                static_cast<long long>(limits_.pressure_lifetime.count() / 1000),
                static_cast<unsigned long long>(window_.dropped));
  std::string cap =
      global ? "half-open cap reached (max_half_open " + std::to_string(limits_.total) + ")"
             : "half-open cap reached for " + peer.ToString() + " (max_half_open_per_peer " +
                   std::to_string(limits_.per_peer) + ")";
  last_report_ = now;
  window_ = Counters{};
  return cap + "; " + counts;
}

}  // namespace ike::isakmpd
