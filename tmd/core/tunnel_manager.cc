// TunnelManager: bookkeeping shared by activate, remove, list and the
// isakmpd events (activate.cc, remove.cc, events.cc).
#include "tmd/core/tunnel_manager.h"

#include <algorithm>

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

TunnelManager::TunnelManager(KernelBackend& kernel, IsakmpdLink& isakmpd, const Clock& clock,
                             Timers* timers, crypto::Random* random)
    : kernel_(kernel),
      isakmpd_(isakmpd),
      clock_(clock),
      timers_(timers),
      own_random_(random ? nullptr : std::make_unique<crypto::OpenSslRandom>()),
      random_(random ? random : own_random_.get()) {}

TunnelManager::~TunnelManager() {
  if (timers_ == nullptr) return;
  phase2_.ForEach([&](uint32_t, Phase2Tunnel& t) { timers_->Cancel(t.retry_timer); });
  phase1_.ForEach([&](uint32_t, Phase1Tunnel& t) { timers_->Cancel(t.soft_timer); });
}

void TunnelManager::SetDatabase(DatabasePtr database) {
  database_ = std::move(database);
  // Raised limits start waiting negotiations now rather than at the next release.
  if (database_) UpdateAdmissionLimits();
  admission_.Drain([this](const AdmissionQueue::Ticket& t) { return StartQueuedPhase1(t); });
  ArmTraps();
}

template <typename T>
bool TunnelManager::Move(T& t, TunnelStatus next, std::string_view why) {
  const bool legal = LegalMove(t.status, next);
  transitions_.Count(t.status, next, legal);
  if (!legal) {
    LOG_ERROR("%s: cannot switch %s -> %s (%.*s)", Tag(t).c_str(), StatusName(t.status).c_str(),
              StatusName(next).c_str(), static_cast<int>(why.size()), why.data());
    return false;
  }
  const bool failing = next == TunnelStatus::kFailed || next == TunnelStatus::kClear;
  const bool was_failed = t.status == TunnelStatus::kFailed || t.status == TunnelStatus::kClear;
  if (failing && !was_failed) {
    // Every way into Failed is timed (DPD's too); the caller that knows the
    // kind of failure sets it after.
    t.failed_unix = clock_.UnixNow();
    t.failure = 0;
  } else if (was_failed && !failing) {
    KeepLastError(t);
  }
  t.status = next;
  return true;
}

bool TunnelManager::Transition(Phase1Tunnel& t, TunnelStatus next, std::string_view why) {
  return Move(t, next, why);
}

bool TunnelManager::Transition(Phase2Tunnel& t, TunnelStatus next, std::string_view why) {
  return Move(t, next, why);
}

// Events name a tunnel by number once tmd assigned one, by handle before.
Phase1Tunnel* TunnelManager::Phase1ByRef(uint32_t number, uint64_t handle) {
  if (number == 0 && handle != 0) {
    auto h = phase1_by_handle_.find(handle);
    if (h == phase1_by_handle_.end()) return nullptr;
    number = h->second;
  }
  return phase1_.Find(number);
}

Phase2Tunnel* TunnelManager::Phase2ByRef(uint32_t number, uint64_t handle) {
  if (number == 0 && handle != 0) {
    auto h = phase2_by_handle_.find(handle);
    if (h == phase2_by_handle_.end()) return nullptr;
    number = h->second;
  }
  return phase2_.Find(number);
}

Phase1Tunnel* TunnelManager::LivePhase1(std::string_view name) {
  auto it = phase1_by_name_.find(name);
  return it == phase1_by_name_.end() ? nullptr : Phase1ByRef(it->second, 0);
}

Phase2Tunnel* TunnelManager::LivePhase2(std::string_view name) {
  auto it = phase2_by_name_.find(name);
  return it == phase2_by_name_.end() ? nullptr : Phase2ByRef(it->second, 0);
}

namespace {

// The index key views the tunnel's own name; re-pointing a key means erasing
// it first (assigning through [] would keep the old view).
template <typename Map>
void Reindex(Map& index, std::string* name, std::string_view new_name, uint32_t number) {
  auto old = index.find(*name);
  if (old != index.end() && old->second == number) index.erase(old);
  *name = new_name;
  if (name->empty()) return;
  index.erase(*name);
  index.emplace(*name, number);
}

template <typename Map>
void Unindex(Map& index, const std::string& name, uint32_t number) {
  auto it = index.find(name);
  if (it != index.end() && it->second == number) index.erase(it);
}

}  // namespace

void TunnelManager::SetName(Phase1Tunnel& t, std::string_view name) {
  Reindex(phase1_by_name_, &t.name, name, t.number);
}

void TunnelManager::SetName(Phase2Tunnel& t, std::string_view name) {
  Reindex(phase2_by_name_, &t.name, name, t.number);
}

std::string TunnelManager::Tag(const Phase1Tunnel& t) const {
  return "tunnel " + std::to_string(t.number) + " phase 1 peer " + t.remote_address.str() +
         " cookies " + t.icookie.HexOrZero() + ":" + t.rcookie.HexOrZero();
}

std::string TunnelManager::Tag(const Phase2Tunnel& t) const {
  // Phase 2 lines carry the peer and cookies of the phase 1 SA protecting them.
  std::string peer = "unknown", ic = "0000000000000000", rc = ic;
  if (const Phase1Tunnel* p1 = FindPhase1(t.phase1_number)) {
    peer = p1->remote_address.str();
    ic = p1->icookie.HexOrZero();
    rc = p1->rcookie.HexOrZero();
  }
  return "tunnel " + std::to_string(t.number) + " phase 2 peer " + peer + " cookies " + ic + ":" +
         rc;
}

void TunnelManager::Uninstall(Phase2Tunnel& t) {
  for (uint8_t i = 0; i < t.sa_count; ++i) {
    Status s = DeleteKernelSa(t.sas[i].destination, t.sas[i].spi);
    if (!s.ok()) LOG_ERROR("%s: %s", Tag(t).c_str(), s.error().message.c_str());
  }
  for (uint8_t i = 0; i < t.rule_count; ++i) {
    Status s = kernel_.DeletePolicy(t.rules[i]);
    if (!s.ok()) LOG_ERROR("%s: %s", Tag(t).c_str(), s.error().message.c_str());
  }
  for (const Phase2Tunnel::OldPair& old : t.old_pairs) DeleteSas(t, old.sas, old.sa_count);
  t.old_pairs.clear();
  t.sa_count = 0;
  t.rule_count = 0;
  if (timers_ != nullptr) timers_->Cancel(t.retry_timer);
  t.retry_timer = 0;
  t.rekeying = false;
}

void TunnelManager::ErasePhase1(uint32_t number) {
  Phase1Tunnel* t = phase1_.Find(number);
  if (t == nullptr) return;
  CountEnded(*t, ipc::DELETED);  // removed while negotiating
  if (timers_ != nullptr) timers_->Cancel(t->soft_timer);
  StopDpd(*t);
  if (t->handle != 0) phase1_by_handle_.erase(t->handle);
  Unindex(phase1_by_name_, t->name, number);
  phase1_.Erase(number);
  phase1_numbers_.Release(number);
  ReleasePhase1Slot(number);
}

void TunnelManager::ErasePhase2(uint32_t number) {
  Phase2Tunnel* t = phase2_.Find(number);
  if (t == nullptr) return;
  CountEnded(*t, ipc::DELETED);  // removed while negotiating
  Uninstall(*t);
  DropEarlyInboundOf(number, "the tunnel ended");
  if (t->handle != 0) phase2_by_handle_.erase(t->handle);
  Unindex(phase2_by_name_, t->name, number);
  if (Phase1Tunnel* p1 = Phase1ByRef(t->phase1_number, 0)) std::erase(p1->waiting, number);
  const std::string name = t->name;
  phase2_.Erase(number);
  phase2_numbers_.Release(number);
  // An armed trap stays on call: its tunnel is listed Dormant again.
  if (const Trap* trap = TrapOf(name); trap != nullptr && LivePhase2(name) == nullptr) {
    MakeDormant(*trap);
  }
}

uint64_t TunnelManager::SendToIsakmpd(ipc::Envelope envelope, uint32_t phase, uint32_t number,
                                      uint64_t serial, bool rekey) {
  const uint64_t id = next_request_id_++;
  envelope.set_version(1);
  envelope.set_request_id(id);
  pending_[id] = {phase, number, serial, rekey};
  isakmpd_.Send(envelope);
  return id;
}

void TunnelManager::OnIsakmpdMessage(ipc::Envelope& e) {
  if (e.has_phase2_established()) return OnPhase2Established(*e.mutable_phase2_established());
  OnIsakmpdMessage(static_cast<const ipc::Envelope&>(e));
}

void TunnelManager::OnIsakmpdMessage(const ipc::Envelope& e) {
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
    case B::kPhase2Established: {
      ipc::Envelope copy = e;  // its keys are wiped after installation
      OnPhase2Established(*copy.mutable_phase2_established());
      break;
    }
    case B::kNegotiationFailed:
      OnNegotiationFailed(e.negotiation_failed());
      break;
    case B::kSaDeleted:
      OnSaDeleted(e.sa_deleted());
      break;
    case B::kDpdReport:
      OnDpdReport(e.dpd_report());
      break;
    default:
      LOG_DEBUG("isakmpd sent body %d; ignored", static_cast<int>(e.body_case()));
  }
}

void TunnelManager::OnIsakmpdDisconnected() {
  pending_.clear();
  DropEarlyInboundOf(0, "isakmpd stopped");
  const std::string reason = "isakmpd stopped during the negotiation";
  // FailPhase1 may start queued negotiations and fail waiting phase 2
  // tunnels, but never adds or erases tunnels.
  phase1_.ForEach([&](uint32_t, Phase1Tunnel& t) {
    if (t.status == TunnelStatus::kNegotiating) FailPhase1(t, reason, ipc::NOT_READY);
  });
  phase2_.ForEach([&](uint32_t, Phase2Tunnel& t) {
    if (t.status == TunnelStatus::kNegotiating) FailPhase2(t, reason, ipc::NOT_READY);
    // Its SAs stay in the kernel and keep carrying traffic; a rekey under
    // way died with isakmpd.
    t.rekeying = false;
  });
  // The ISAKMP SAs died with isakmpd (issue 9.6): listing them Active would
  // send the next rekey to an SA a new isakmpd does not hold.
  phase1_.ForEach([&](uint32_t, Phase1Tunnel& t) {
    if (t.status != TunnelStatus::kActive) return;
    if (timers_ != nullptr) timers_->Cancel(t.soft_timer);
    t.replacing = false;
    t.rekey_unix = 0;
    FailPhase1(t,
               "isakmpd stopped; its ISAKMP SAs are gone (the phase 2 SAs in the kernel "
               "carry on)");
  });
}

void TunnelManager::OnIsakmpdConnected() {
  // After a restart of isakmpd: each Active phase 2 tunnel gets a new
  // ISAKMP SA and a new pair now, not at its soft limit, so that both ends
  // hold the same SAs again within seconds.
  std::vector<uint32_t> active;
  phase2_.ForEach([&](uint32_t n, const Phase2Tunnel& t) {
    const Phase1Tunnel* p1 = phase1_.Find(t.phase1_number);
    if (t.status == TunnelStatus::kActive && !t.rekeying &&
        (p1 == nullptr || p1->status != TunnelStatus::kActive)) {
      active.push_back(n);
    }
  });
  for (uint32_t n : active) {
    if (Phase2Tunnel* t = phase2_.Find(n)) StartRekey(*t, "isakmpd (re)connected");
  }
}

void TunnelManager::Shutdown() {
  // isakmpd deletes its own SAs (Delete payloads) when it stops; tmd removes
  // only the kernel state it installed.
  phase2_.ForEach([&](uint32_t, Phase2Tunnel& t) { Uninstall(t); });
  for (const auto& [handle, early] : early_inbound_) {
    if (timers_ != nullptr) timers_->Cancel(early.timer);
  }
  early_inbound_.clear();
  kernel_.Clear();
  LOG_EVENT("removed %zu phase 2 tunnels from the kernel tunnel cache", phase2_.size());
  phase1_by_name_.clear();
  phase2_by_name_.clear();
  phase1_.Clear();
  phase2_.Clear();
  phase1_by_handle_.clear();
  phase2_by_handle_.clear();
  traps_.clear();  // kernel_.Clear() took their policies
  trap_by_name_.clear();
  pending_.clear();
  phase1_numbers_ = NumberPool();
  phase2_numbers_ = NumberPool();
  admission_ = AdmissionQueue();
}

}  // namespace ike::tmd
