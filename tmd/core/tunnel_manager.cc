// TunnelManager: bookkeeping shared by activate, remove, list and the
// isakmpd events (activate.cc, remove.cc, events.cc).
#include "tmd/core/tunnel_manager.h"

#include <algorithm>
#include <unordered_set>

#include "common/log.h"

namespace ike::tmd {

uint32_t NumberPool::Allocate() {
  if (!free_.empty()) {
    const uint32_t n = *free_.begin();
    free_.erase(free_.begin());
    return n;
  }
  return next_++;
}

void NumberPool::Release(uint32_t n) {
  if (n == 0 || n >= next_) return;
  free_.insert(n);
  // Shrink so a fully emptied pool starts at 1 again without a growing set.
  while (next_ > 1 && free_.contains(next_ - 1)) free_.erase(--next_);
}

TunnelManager::TunnelManager(KernelBackend& kernel, IsakmpdLink& isakmpd, const Clock& clock)
    : kernel_(kernel), isakmpd_(isakmpd), clock_(clock) {}

const Phase1Tunnel* TunnelManager::FindPhase1(uint32_t number) const {
  auto it = phase1_.find(number);
  return it == phase1_.end() ? nullptr : &it->second;
}

const Phase2Tunnel* TunnelManager::FindPhase2(uint32_t number) const {
  auto it = phase2_.find(number);
  return it == phase2_.end() ? nullptr : &it->second;
}

// Events name a tunnel by number once tmd assigned one, by handle before.
Phase1Tunnel* TunnelManager::Phase1ByRef(uint32_t number, uint64_t handle) {
  if (number == 0 && handle != 0) {
    auto h = phase1_by_handle_.find(handle);
    if (h == phase1_by_handle_.end()) return nullptr;
    number = h->second;
  }
  auto it = phase1_.find(number);
  return it == phase1_.end() ? nullptr : &it->second;
}

Phase2Tunnel* TunnelManager::Phase2ByRef(uint32_t number, uint64_t handle) {
  if (number == 0 && handle != 0) {
    auto h = phase2_by_handle_.find(handle);
    if (h == phase2_by_handle_.end()) return nullptr;
    number = h->second;
  }
  auto it = phase2_.find(number);
  return it == phase2_.end() ? nullptr : &it->second;
}

Phase1Tunnel* TunnelManager::LivePhase1(const std::string& name) {
  auto it = phase1_by_name_.find(name);
  return it == phase1_by_name_.end() ? nullptr : Phase1ByRef(it->second, 0);
}

Phase2Tunnel* TunnelManager::LivePhase2(const std::string& name) {
  auto it = phase2_by_name_.find(name);
  return it == phase2_by_name_.end() ? nullptr : Phase2ByRef(it->second, 0);
}

std::string TunnelManager::Tag(const Phase1Tunnel& t) const {
  const ipc::Phase1Status& s = t.status;
  const std::string ic = s.icookie().empty() ? "0000000000000000" : s.icookie();
  const std::string rc = s.rcookie().empty() ? "0000000000000000" : s.rcookie();
  return "tunnel " + std::to_string(s.number()) + " phase 1 peer " + s.remote_address() +
         " cookies " + ic + ":" + rc;
}

std::string TunnelManager::Tag(const Phase2Tunnel& t) const {
  // Phase 2 lines carry the peer and cookies of the phase 1 SA protecting them.
  std::string peer = "unknown", ic = "0000000000000000", rc = ic;
  if (const Phase1Tunnel* p1 = FindPhase1(t.status.phase1_number())) {
    peer = p1->status.remote_address();
    if (!p1->status.icookie().empty()) ic = p1->status.icookie();
    if (!p1->status.rcookie().empty()) rc = p1->status.rcookie();
  }
  return "tunnel " + std::to_string(t.status.number()) + " phase 2 peer " + peer + " cookies " +
         ic + ":" + rc;
}

void TunnelManager::Uninstall(Phase2Tunnel& t) {
  for (const auto& sa : t.sas) {
    Status s = kernel_.DeleteSa(sa.destination, sa.spi);
    if (!s.ok()) LOG_ERROR("%s: %s", Tag(t).c_str(), s.error().message.c_str());
  }
  for (uint32_t rule : t.rules) {
    Status s = kernel_.DeletePolicy(rule);
    if (!s.ok()) LOG_ERROR("%s: %s", Tag(t).c_str(), s.error().message.c_str());
  }
  t.sas.clear();
  t.rules.clear();
}

void TunnelManager::ErasePhase1(uint32_t number) {
  auto it = phase1_.find(number);
  if (it == phase1_.end()) return;
  if (it->second.handle != 0) phase1_by_handle_.erase(it->second.handle);
  auto n = phase1_by_name_.find(it->second.status.name());
  if (n != phase1_by_name_.end() && n->second == number) phase1_by_name_.erase(n);
  phase1_.erase(it);
  phase1_numbers_.Release(number);
  ReleasePhase1Slot(number);
}

void TunnelManager::ErasePhase2(uint32_t number) {
  auto it = phase2_.find(number);
  if (it == phase2_.end()) return;
  Uninstall(it->second);
  if (it->second.handle != 0) phase2_by_handle_.erase(it->second.handle);
  auto n = phase2_by_name_.find(it->second.status.name());
  if (n != phase2_by_name_.end() && n->second == number) phase2_by_name_.erase(n);
  if (Phase1Tunnel* p1 = Phase1ByRef(it->second.status.phase1_number(), 0)) {
    std::erase(p1->waiting, number);
  }
  phase2_.erase(it);
  phase2_numbers_.Release(number);
}

uint64_t TunnelManager::SendToIsakmpd(ipc::Envelope envelope, uint32_t phase, uint32_t number,
                                      uint64_t serial) {
  const uint64_t id = next_request_id_++;
  envelope.set_version(1);
  envelope.set_request_id(id);
  pending_[id] = {phase, number, serial};
  isakmpd_.Send(envelope);
  return id;
}

namespace {

template <typename Map>
std::vector<uint32_t> SortedKeys(const Map& m) {
  std::vector<uint32_t> keys;
  keys.reserve(m.size());
  for (const auto& [k, v] : m) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

ipc::Envelope TunnelManager::List(const ipc::ListRequest& r) const {
  ipc::Envelope out;
  ipc::ListReply* reply = out.mutable_list_reply();
  const std::unordered_set<uint32_t> wanted(r.numlist().begin(), r.numlist().end());
  auto selected = [&](uint32_t n) { return wanted.empty() || wanted.contains(n); };
  if (r.db()) {
    if (database_) *reply->mutable_database() = database_->proto();
    return out;
  }
  if (r.cache() || r.filters()) {
    // numlist= narrows the kernel tables to those phase 2 tunnels.
    if (r.cache()) {
      for (auto& e : kernel_.ListSas()) {
        if (selected(e.tunnel())) *reply->add_cache() = std::move(e);
      }
    }
    if (r.filters()) {
      for (auto& f : kernel_.ListPolicies()) {
        if (selected(f.tunnel())) *reply->add_filter() = std::move(f);
      }
    }
    return out;
  }
  // Phase 1 rows before phase 2 rows, each sorted by number (AIX layout).
  std::unordered_set<uint32_t> listed1;
  if (r.phase() != 2) {
    for (uint32_t n : SortedKeys(phase1_)) {
      if (!selected(n)) continue;
      *reply->add_phase1() = phase1_.at(n).status;
      listed1.insert(n);
    }
  }
  if (r.phase() != 1) {
    for (uint32_t n : SortedKeys(phase2_)) {
      const ipc::Phase2Status& s = phase2_.at(n).status;
      // phase=1+: the phase 2 tunnels of the listed phase 1 tunnels.
      const bool keep = r.phase() == 3 ? listed1.contains(s.phase1_number()) : selected(n);
      if (keep) *reply->add_phase2() = s;
    }
  }
  return out;
}

void TunnelManager::OnIsakmpdMessage(ipc::Envelope& e) {
  using B = ipc::Envelope;
  switch (e.body_case()) {
    case B::kAck:
    case B::kError:
      OnReply(e);
      break;
    case B::kStateChange:
      OnStateChange(e.state_change());
      break;
    case B::kPhase1Established:
      OnPhase1Established(e.phase1_established());
      break;
    case B::kPhase2Established:
      OnPhase2Established(*e.mutable_phase2_established());
      break;
    case B::kNegotiationFailed:
      OnNegotiationFailed(e.negotiation_failed());
      break;
    case B::kSaDeleted:
      OnSaDeleted(e.sa_deleted());
      break;
    default:
      LOG_DEBUG("isakmpd sent body %d; ignored", static_cast<int>(e.body_case()));
  }
}

void TunnelManager::OnIsakmpdDisconnected() {
  pending_.clear();
  const std::string reason = "isakmpd stopped during the negotiation";
  for (uint32_t n : SortedKeys(phase1_)) {
    Phase1Tunnel& t = phase1_.at(n);
    if (t.status.status() == kNegotiating) FailPhase1(t, reason);
  }
  for (uint32_t n : SortedKeys(phase2_)) {
    Phase2Tunnel& t = phase2_.at(n);
    if (t.status.status() == kNegotiating) FailPhase2(t, reason);
  }
}

void TunnelManager::Shutdown() {
  // isakmpd deletes its own SAs (Delete payloads) when it stops; tmd removes
  // only the kernel state it installed.
  for (auto& [n, t] : phase2_) Uninstall(t);
  kernel_.Clear();
  LOG_EVENT("removed %zu phase 2 tunnels from the kernel tunnel cache", phase2_.size());
  phase1_.clear();
  phase2_.clear();
  phase1_by_handle_.clear();
  phase2_by_handle_.clear();
  phase1_by_name_.clear();
  phase2_by_name_.clear();
  pending_.clear();
  phase1_numbers_ = NumberPool();
  phase2_numbers_ = NumberPool();
}

}  // namespace ike::tmd
