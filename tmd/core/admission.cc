// Admission control (admission.h). Each peer keeps its own FIFO; |ready_|
// orders the peers that could start one more negotiation by the arrival of
// their oldest waiting ticket, so taking its first element is "the oldest
// ticket that both limits allow", in O(log peers).
#include "tmd/core/admission.h"

namespace ike::tmd {

void AdmissionQueue::SetLimits(size_t max_total, size_t max_per_peer) {
  if (max_per_peer == max_per_peer_) {
    max_total_ = max_total;
    return;
  }
  max_total_ = max_total;
  max_per_peer_ = max_per_peer;
  for (auto& [address, peer] : peers_) Update(peer);
}

bool AdmissionQueue::Fits(const Peer& p) const {
  return max_per_peer_ == 0 || p.running < max_per_peer_;
}

void AdmissionQueue::Update(Peer& p) {
  ready_.erase({p.listed_seq, &p});
  p.listed_seq = 0;
  if (p.waiting.empty() || !Fits(p)) return;
  p.listed_seq = p.waiting.front().seq;
  ready_.insert({p.listed_seq, &p});
}

void AdmissionQueue::Forget(Peer& p) {
  if (p.running != 0 || !p.waiting.empty()) return;
  ready_.erase({p.listed_seq, &p});
  peers_.erase(p.address);
}

bool AdmissionQueue::Admit(const Ticket& ticket, std::string_view peer) {
  // A number still holding a slot (should not happen) gives it back first.
  if (auto it = running_.find(ticket.number); it != running_.end()) {
    Peer& old = *it->second;
    --old.running;
    running_.erase(it);
    Update(old);
    Forget(old);
  }
  auto [it, fresh] = peers_.try_emplace(std::string(peer));
  Peer& p = it->second;
  if (fresh) p.address = it->first;
  const bool global_free = max_total_ == 0 || running_.size() < max_total_;
  if (global_free && Fits(p) && p.waiting.empty()) {
    running_[ticket.number] = &p;
    ++p.running;
    return true;
  }
  p.waiting.push_back({next_seq_++, ticket});
  ++queued_;
  Update(p);
  return false;
}

void AdmissionQueue::Release(uint32_t number, const Starter& start) {
  auto it = running_.find(number);
  if (it == running_.end()) return;
  Peer& p = *it->second;
  --p.running;
  running_.erase(it);
  Update(p);
  Forget(p);
  Drain(start);
}

void AdmissionQueue::Drain(const Starter& start) {
  while (!ready_.empty() && (max_total_ == 0 || running_.size() < max_total_)) {
    Peer& p = *ready_.begin()->second;
    const Ticket ticket = p.waiting.front().ticket;
    p.waiting.pop_front();
    --queued_;
    if (start(ticket)) {
      running_[ticket.number] = &p;
      ++p.running;
    }
    Update(p);
    Forget(p);
  }
}

}  // namespace ike::tmd
