// What isakmpd tells tmd: replies to our requests (steps 3 and 5), state
// changes, established SAs (then steps 6 and 7: tunnel cache and dynamic
// filter table, aix-ike.md 4.2), failures and deletions.
#include <algorithm>

#include "common/log.h"
#include "tmd/core/tunnel_manager.h"

namespace ike::tmd {
namespace {

// Overwrites key bytes once the kernel has them (style.md: secrets never kept).
void WipeKeys(ipc::Phase2Established& e) {
  for (ipc::ChildSa& sa : *e.mutable_sa()) {
    std::string* k1 = sa.mutable_encryption_key();
    std::string* k2 = sa.mutable_integrity_key();
    std::fill(k1->begin(), k1->end(), '\0');
    std::fill(k2->begin(), k2->end(), '\0');
    k1->clear();
    k2->clear();
  }
}

void SendAssigned(IsakmpdLink& link, uint64_t handle, uint32_t phase, uint32_t number) {
  ipc::Envelope e;
  e.set_version(1);
  e.set_request_id(0);
  ipc::TunnelAssigned* a = e.mutable_tunnel_assigned();
  a->set_handle(handle);
  a->set_phase(phase);
  a->set_tunnel(number);
  link.Send(e);
}

}  // namespace

void TunnelManager::OnReply(const ipc::Envelope& e) {
  auto it = pending_.find(e.request_id());
  if (it == pending_.end()) return;  // the tunnel was removed meanwhile
  const Pending p = it->second;
  pending_.erase(it);
  if (e.has_ack()) return;
  // isakmpd refused the request outright (step 3 or 5 "error"). The serial
  // check ignores a late reply for a removed tunnel whose number was reused.
  const std::string reason = e.error().reason();
  if (p.phase == 1) {
    Phase1Tunnel* t = Phase1ByRef(p.number, 0);
    if (t != nullptr && t->serial == p.serial) FailPhase1(*t, reason);
  } else if (p.phase == 2) {
    Phase2Tunnel* t = Phase2ByRef(p.number, 0);
    if (t != nullptr && t->serial == p.serial) FailPhase2(*t, reason);
  } else if (!reason.empty()) {
    LOG_ERROR("isakmpd refused a request: %s", reason.c_str());
  }
}

// isakmpd logs every state change at events level (one line each, the issue
// asks for one); tmd's copy of the same transition is information level.
void TunnelManager::OnStateChange(const ipc::StateChange& e) {
  const std::string change = e.old_state() + " -> " + e.new_state();
  if (e.phase() == 1) {
    Phase1Tunnel* t = Phase1ByRef(e.tunnel(), e.handle());
    if (t == nullptr && e.tunnel() == 0 && e.handle() != 0) t = AdoptResponderPhase1(e);
    if (t == nullptr) {
      LOG_INFO("tunnel - phase 1 peer %s cookies %s:%s: %s", e.peer().c_str(), e.icookie().c_str(),
                e.rcookie().c_str(), change.c_str());
      return;
    }
    if (e.handle() != 0 && t->handle == 0) {
      t->handle = e.handle();
      phase1_by_handle_[e.handle()] = t->status.number();
    }
    if (!e.icookie().empty()) t->status.set_icookie(e.icookie());
    if (!e.rcookie().empty()) t->status.set_rcookie(e.rcookie());
    if (!e.peer().empty() && t->status.remote_address().empty()) {
      t->status.set_remote_address(e.peer());
    }
    t->status.set_state(e.new_state());
    if (e.new_state() != "DONE") t->status.set_status(kNegotiating);
    LOG_INFO("%s: %s", Tag(*t).c_str(), change.c_str());
    return;
  }
  Phase2Tunnel* t = Phase2ByRef(e.tunnel(), e.handle());
  if (t == nullptr) {
    LOG_INFO("tunnel - phase 2 peer %s cookies %s:%s: %s", e.peer().c_str(), e.icookie().c_str(),
              e.rcookie().c_str(), change.c_str());
    return;
  }
  if (e.handle() != 0 && t->handle == 0) {
    t->handle = e.handle();
    phase2_by_handle_[e.handle()] = t->status.number();
  }
  t->status.set_state(e.new_state());
  if (e.new_state() != "DONE") t->status.set_status(kNegotiating);
  LOG_INFO("%s: %s", Tag(*t).c_str(), change.c_str());
}

// A peer started a negotiation with us (step 3 without a request): number it
// now, so the responder side lists it as Negotiating, and Failed with its
// reason if it fails. A Failed responder tunnel from the same peer is reused
// rather than piling up one entry per attempt.
Phase1Tunnel* TunnelManager::AdoptResponderPhase1(const ipc::StateChange& e) {
  Phase1Tunnel* t = nullptr;
  for (auto& [n, candidate] : phase1_) {
    const ipc::Phase1Status& s = candidate.status;
    if (s.status() == kFailed && s.role() == "Responder" && s.remote_address() == e.peer()) {
      t = &candidate;
      break;
    }
  }
  if (t != nullptr) {
    phase1_by_handle_.erase(t->handle);
  } else {
    const uint32_t n = phase1_numbers_.Allocate();
    t = &phase1_[n];
    t->status.set_number(n);
  }
  t->serial = next_serial_++;
  t->handle = e.handle();
  phase1_by_handle_[e.handle()] = t->status.number();
  t->status.set_role("Responder");
  t->status.set_mode("Main");
  t->status.set_remote_address(e.peer());
  t->status.set_remote_id(e.peer());
  t->status.clear_reason();
  SendAssigned(isakmpd_, e.handle(), 1, t->status.number());
  return t;
}

void TunnelManager::OnPhase1Established(const ipc::Phase1Established& e) {
  Phase1Tunnel* t = Phase1ByRef(e.tunnel(), e.tunnel() == 0 ? e.handle() : 0);
  bool assigned = false;
  if (t == nullptr && e.tunnel() != 0) {
    LOG_ERROR("isakmpd reports phase 1 tunnel %u established, but tmd has no such tunnel",
              e.tunnel());
    return;
  }
  if (t == nullptr) {  // responder (step 3 without a request from tmd)
    const uint32_t n = phase1_numbers_.Allocate();
    t = &phase1_[n];
    t->serial = next_serial_++;
    t->status.set_number(n);
    assigned = true;
    if (!e.name().empty()) phase1_by_name_[e.name()] = n;
  }
  if (t->handle != 0 && t->handle != e.handle()) phase1_by_handle_.erase(t->handle);
  t->handle = e.handle();
  phase1_by_handle_[e.handle()] = t->status.number();
  if (e.tunnel() == 0 && !e.name().empty()) phase1_by_name_[e.name()] = t->status.number();
  ipc::Phase1Status& s = t->status;
  if (!e.name().empty()) s.set_name(e.name());
  s.set_status(kActive);
  s.set_state("DONE");
  // Empty event fields keep what the definition said (the offer).
  auto set = [](std::string* field, const std::string& value) {
    if (!value.empty()) *field = value;
  };
  set(s.mutable_role(), e.role());
  set(s.mutable_mode(), e.mode());
  set(s.mutable_local_address(), e.local_address());
  set(s.mutable_remote_address(), e.remote_address());
  set(s.mutable_local_id(), e.local_id());
  set(s.mutable_remote_id(), e.remote_id());
  set(s.mutable_icookie(), e.icookie());
  set(s.mutable_rcookie(), e.rcookie());
  set(s.mutable_encryption(), e.encryption());
  set(s.mutable_hash(), e.hash());
  set(s.mutable_auth_method(), e.auth_method());
  set(s.mutable_dh_group(), e.dh_group());
  if (e.lifetime_seconds() != 0) s.set_lifetime_seconds(e.lifetime_seconds());
  s.set_established_unix(clock_.UnixNow());
  s.clear_reason();
  if (assigned) SendAssigned(isakmpd_, e.handle(), 1, s.number());
  ReleasePhase1Slot(s.number());
  LOG_EVENT("%s: established as %s (%s mode, %s, %s, %s, %s)", Tag(*t).c_str(), e.role().c_str(),
            e.mode().c_str(), e.encryption().c_str(), e.hash().c_str(), e.auth_method().c_str(),
            e.dh_group().c_str());
  // Step 4 for every phase 2 tunnel that waited for this phase 1.
  std::vector<uint32_t> waiting;
  waiting.swap(t->waiting);
  for (uint32_t n2 : waiting) {
    Phase2Tunnel* t2 = Phase2ByRef(n2, 0);
    if (t2 != nullptr && t2->status.status() == kNegotiating && !t2->phase2_requested) {
      SendPhase2Request(*t2);
    }
  }
}

void TunnelManager::OnPhase2Established(ipc::Phase2Established& e) {
  Phase2Tunnel* t = Phase2ByRef(e.tunnel(), e.tunnel() == 0 ? e.handle() : 0);
  bool assigned = false;
  if (t == nullptr && e.tunnel() != 0) {
    LOG_ERROR("isakmpd reports phase 2 tunnel %u established, but tmd has no such tunnel",
              e.tunnel());
    WipeKeys(e);
    return;
  }
  if (t == nullptr) {  // responder
    const uint32_t n = phase2_numbers_.Allocate();
    t = &phase2_[n];
    t->serial = next_serial_++;
    t->status.set_number(n);
    assigned = true;
    if (!e.name().empty()) phase2_by_name_[e.name()] = n;
    const Phase1Tunnel* p1 =
        Phase1ByRef(e.phase1_tunnel(), e.phase1_tunnel() ? 0 : e.phase1_handle());
    t->status.set_phase1_number(p1 ? p1->status.number() : 0);
  }
  if (t->handle != 0 && t->handle != e.handle()) phase2_by_handle_.erase(t->handle);
  t->handle = e.handle();
  phase2_by_handle_[e.handle()] = t->status.number();
  ipc::Phase2Status& s = t->status;
  if (!e.name().empty()) s.set_name(e.name());
  auto set = [](std::string* field, const std::string& value) {
    if (!value.empty()) *field = value;
  };
  set(s.mutable_role(), e.role());
  set(s.mutable_local_id(), e.local_id());
  set(s.mutable_remote_id(), e.remote_id());
  set(s.mutable_pfs_group(), e.pfs_group());
  if (e.lifetime_seconds() != 0) s.set_lifetime_seconds(e.lifetime_seconds());
  for (const ipc::ChildSa& sa : e.sa()) {
    (sa.direction() == "inbound" ? s.set_spi_in(sa.spi()) : s.set_spi_out(sa.spi()));
    s.set_encryption(sa.encryption() + (sa.encryption_key_bits() && sa.encryption() == "AES-CBC"
                                            ? "-" + std::to_string(sa.encryption_key_bits())
                                            : ""));
    s.set_integrity(sa.integrity());
  }
  if (assigned) SendAssigned(isakmpd_, e.handle(), 2, s.number());
  Status installed = Install(*t, e);
  WipeKeys(e);
  if (!installed.ok()) {
    Uninstall(*t);
    FailPhase2(*t, "cannot install the tunnel in the kernel: " + installed.error().message);
    ipc::Envelope rm;
    rm.mutable_remove_tunnel()->set_phase(2);
    rm.mutable_remove_tunnel()->set_tunnel(s.number());
    SendToIsakmpd(std::move(rm), 0, 0, 0);
    return;
  }
  s.set_status(kActive);
  s.set_state("DONE");
  s.set_established_unix(clock_.UnixNow());
  s.clear_reason();
  LOG_EVENT(
      "%s: established as %s, %s %s, SPI in 0x%08x out 0x%08x; tunnel cache and filter "
      "rules installed",
      Tag(*t).c_str(), e.role().c_str(), s.local_id().c_str(), s.remote_id().c_str(), s.spi_in(),
      s.spi_out());
}

// Steps 6 and 7: two tunnel cache entries, then one permit rule per direction.
Status TunnelManager::Install(Phase2Tunnel& t, const ipc::Phase2Established& e) {
  const uint32_t n = t.status.number();
  for (const ipc::ChildSa& sa : e.sa()) {
    SaSpec spec;
    spec.tunnel = n;
    spec.direction = sa.direction() == "inbound" ? Direction::kInbound : Direction::kOutbound;
    spec.spi = sa.spi();
    auto src = IpAddress::Parse(sa.source());
    auto dst = IpAddress::Parse(sa.destination());
    if (!src || !dst)
      return Error{"SA endpoints '" + sa.source() + "' -> '" + sa.destination() +
                   "' are not IP addresses"};
    spec.source = *src;
    spec.destination = *dst;
    spec.encryption = sa.encryption();
    spec.encryption_key_bits = sa.encryption_key_bits();
    spec.encryption_key = View(sa.encryption_key());
    spec.integrity = sa.integrity();
    spec.integrity_key = View(sa.integrity_key());
    spec.lifetime_seconds = e.lifetime_seconds();
    spec.lifetime_kbytes = e.lifetime_kbytes();
    spec.added_unix = clock_.UnixNow();
    spec.source_port = static_cast<uint16_t>(sa.source_port());
    spec.destination_port = static_cast<uint16_t>(sa.destination_port());
    Status s = kernel_.InstallSa(spec);
    if (!s.ok()) return s;
    t.sas.push_back({*dst, sa.spi()});
  }
  // The negotiated selectors (or, if isakmpd left them out, the defined ones).
  const std::string& local_id = t.status.local_id();
  const std::string& remote_id = t.status.remote_id();
  Result<AddressRange> local = AddressRange::Parse(local_id);
  Result<AddressRange> remote = AddressRange::Parse(remote_id);
  if (!local.ok()) return Error{"local selector '" + local_id + "': " + local.error().message};
  if (!remote.ok()) return Error{"remote selector '" + remote_id + "': " + remote.error().message};
  for (Direction d : {Direction::kOutbound, Direction::kInbound}) {
    PolicySpec p;
    p.tunnel = n;
    p.direction = d;
    p.source = d == Direction::kOutbound ? *local : *remote;
    p.destination = d == Direction::kOutbound ? *remote : *local;
    p.protocol = e.protocol();
    p.spi = d == Direction::kOutbound ? t.status.spi_out() : t.status.spi_in();
    Result<uint32_t> id = kernel_.InstallPolicy(p);
    if (!id.ok()) return id.error();
    t.rules.push_back(*id);
  }
  return Status::Ok();
}

void TunnelManager::FailPhase1(Phase1Tunnel& t, const std::string& reason) {
  t.status.set_status(kFailed);
  t.status.set_reason(reason);
  if (t.handle != 0) phase1_by_handle_.erase(t.handle);
  t.handle = 0;
  LOG_ERROR("%s: negotiation failed in state %s: %s", Tag(t).c_str(), t.status.state().c_str(),
            reason.c_str());
  ReleasePhase1Slot(t.status.number());
  // A phase 2 tunnel cannot be negotiated without its phase 1.
  std::vector<uint32_t> waiting;
  waiting.swap(t.waiting);
  for (uint32_t n2 : waiting) {
    if (Phase2Tunnel* t2 = Phase2ByRef(n2, 0)) {
      FailPhase2(*t2, "phase 1 tunnel " + std::to_string(t.status.number()) + " failed: " + reason);
    }
  }
}

void TunnelManager::FailPhase2(Phase2Tunnel& t, const std::string& reason) {
  t.status.set_status(kFailed);
  t.status.set_reason(reason);
  if (t.handle != 0) phase2_by_handle_.erase(t.handle);
  t.handle = 0;
  t.phase2_requested = false;
  LOG_ERROR("%s: negotiation failed in state %s: %s", Tag(t).c_str(), t.status.state().c_str(),
            reason.c_str());
}

void TunnelManager::OnNegotiationFailed(const ipc::NegotiationFailed& e) {
  if (e.phase() == 1) {
    if (Phase1Tunnel* t = Phase1ByRef(e.tunnel(), e.tunnel() ? 0 : e.handle())) {
      if (!e.state().empty()) t->status.set_state(e.state());
      FailPhase1(*t, e.reason());
      return;
    }
  } else if (Phase2Tunnel* t = Phase2ByRef(e.tunnel(), e.tunnel() ? 0 : e.handle())) {
    if (!e.state().empty()) t->status.set_state(e.state());
    FailPhase2(*t, e.reason());
    return;
  }
  // A responder negotiation that never got a number.
  LOG_ERROR("tunnel 0 phase %u handle %llu: negotiation failed in state %s: %s", e.phase(),
            static_cast<unsigned long long>(e.handle()), e.state().c_str(), e.reason().c_str());
}

void TunnelManager::OnSaDeleted(const ipc::SaDeleted& e) {
  const char* why = e.by_peer() ? "deleted by the peer" : "deleted";
  if (e.phase() == 1) {
    Phase1Tunnel* t = Phase1ByRef(e.tunnel(), e.tunnel() ? 0 : e.handle());
    // A Failed tunnel stays listed until the operator removes it.
    if (t == nullptr || t->status.status() == kFailed) return;
    if (e.handle() != 0 && t->handle != 0 && e.handle() != t->handle) return;  // stale
    LOG_EVENT("%s: %s: %s", Tag(*t).c_str(), why, e.reason().c_str());
    std::vector<uint32_t> waiting = t->waiting;
    for (uint32_t n2 : waiting) {
      if (Phase2Tunnel* t2 = Phase2ByRef(n2, 0)) {
        FailPhase2(*t2, "phase 1 tunnel " + std::to_string(t->status.number()) + " " + why);
      }
    }
    ErasePhase1(t->status.number());
    return;
  }
  Phase2Tunnel* t = Phase2ByRef(e.tunnel(), e.tunnel() ? 0 : e.handle());
  if (t == nullptr || t->status.status() == kFailed) return;
  if (e.handle() != 0 && t->handle != 0 && e.handle() != t->handle) return;
  LOG_EVENT("%s: %s: %s; tunnel cache entries and filter rules removed", Tag(*t).c_str(), why,
            e.reason().c_str());
  ErasePhase2(t->status.number());
}

}  // namespace ike::tmd
