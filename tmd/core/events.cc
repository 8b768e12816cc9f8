// What isakmpd tells tmd: replies to our requests (steps 3 and 5), state
// changes, established SAs (then steps 6 and 7: tunnel cache and dynamic
// filter table, aix-ike.md 4.2), failures and deletions.
#include <algorithm>

#include "common/log.h"
#include "tmd/core/ipc_helpers.h"
#include "tmd/core/tunnel_manager.h"
#include "tunneldb/diagnosis.h"
#include "tunneldb/names.h"

namespace ike::tmd {
namespace {

// The reason counted for a failure isakmpd reports (INTERNAL if it named none).
ipc::ErrorCode FailureCode(const ipc::NegotiationFailed& e) {
  return e.code() == ipc::OK ? ipc::INTERNAL : e.code();
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
  if (p.rekey && p.phase == 1) {
    Phase1Tunnel* t = Phase1ByRef(p.number, 0);
    if (t != nullptr && t->serial == p.serial && t->replacing) ReplacementFailed(*t, reason);
    return;
  }
  if (p.rekey) {
    Phase2Tunnel* t = Phase2ByRef(p.number, 0);
    if (t != nullptr && t->serial == p.serial && t->rekeying) RekeyFailed(*t, reason);
    return;
  }
  if (p.phase == 1) {
    Phase1Tunnel* t = Phase1ByRef(p.number, 0);
    if (t != nullptr && t->serial == p.serial) FailPhase1(*t, reason, e.error().code());
  } else if (p.phase == 2) {
    Phase2Tunnel* t = Phase2ByRef(p.number, 0);
    if (t != nullptr && t->serial == p.serial) FailPhase2(*t, reason, e.error().code());
  } else if (!reason.empty()) {
    LOG_ERROR("isakmpd refused a request: %s", reason.c_str());
  }
}

// isakmpd logs every state change at events level (one line each, the issue
// asks for one); tmd's copy of the same transition is information level.
void TunnelManager::OnStateChange(const ipc::StateChange& e) {
  auto change = [&] {
    // Only Cisco's name moved (issue 11.2): say which, not "IN KE -> IN KE".
    if (e.phase() == 1 && e.old_phase1() == e.new_phase1())
      return tunneldb::Phase1StateName(e.new_phase1()) + " (now " +
             ipc::IosPhase1State_Name(e.ios_phase1()) + ", " +
             ipc::AsaPhase1State_Name(e.asa_phase1()) + ")";
    if (e.phase() == 2 && e.old_phase2() == e.new_phase2())
      return tunneldb::Phase2StateName(e.new_phase2()) + " (now " +
             ipc::IosPhase2State_Name(e.ios_phase2()) + ")";
    return e.phase() == 1 ? tunneldb::Phase1StateName(e.old_phase1()) + " -> " +
                                tunneldb::Phase1StateName(e.new_phase1())
                          : tunneldb::Phase2StateName(e.old_phase2()) + " -> " +
                                tunneldb::Phase2StateName(e.new_phase2());
  };
  if (e.phase() == 1) {
    Phase1Tunnel* t = Phase1ByRef(e.tunnel(), e.handle());
    if (t == nullptr && e.tunnel() == 0 && e.handle() != 0) t = AdoptResponderPhase1(e);
    if (t == nullptr) {
      LOG_INFO("tunnel - phase 1 peer %s cookies %s:%s: %s", e.peer().c_str(), e.icookie().c_str(),
               e.rcookie().c_str(), change().c_str());
      return;
    }
    // The Main Mode of a re-establishment: the tunnel stays Active.
    if (t->status == TunnelStatus::kActive && e.handle() != 0 && e.handle() != t->handle) {
      if (LogEnabled(LogLevel::kInformation)) {
        LOG_INFO("%s: re-establishment: %s", Tag(*t).c_str(), change().c_str());
      }
      return;
    }
    // Reaching DONE is not yet Active: that is Phase1Established's move.
    if (e.new_phase1() != ipc::PHASE1_DONE &&
        !Transition(*t, TunnelStatus::kNegotiating, "state change " + change())) {
      return;
    }
    if (e.handle() != 0 && t->handle == 0) {
      t->handle = e.handle();
      phase1_by_handle_[e.handle()] = t->number;
    }
    t->icookie.Set(e.icookie());
    t->rcookie.Set(e.rcookie());
    if (!e.peer().empty() && t->remote_address.empty()) t->remote_address.Set(e.peer());
    if (t->state != e.new_phase1() || t->state_unix == 0) t->state_unix = clock_.UnixNow();
    t->state = e.new_phase1();
    t->message = static_cast<uint8_t>(e.message());
    t->ios_state = static_cast<uint8_t>(e.ios_phase1());
    t->asa_state = static_cast<uint8_t>(e.asa_phase1());
    if (LogEnabled(LogLevel::kInformation)) {
      LOG_INFO("%s: %s", Tag(*t).c_str(), change().c_str());
    }
    return;
  }
  Phase2Tunnel* t = Phase2ByRef(e.tunnel(), e.handle());
  if (t == nullptr) {
    LOG_INFO("tunnel - phase 2 peer %s cookies %s:%s: %s", e.peer().c_str(), e.icookie().c_str(),
             e.rcookie().c_str(), change().c_str());
    return;
  }
  // The Quick Mode of a rekey: the tunnel stays Active on its current pair.
  if (t->status == TunnelStatus::kActive && e.handle() != 0 && e.handle() != t->handle) {
    if (LogEnabled(LogLevel::kInformation)) {
      LOG_INFO("%s: rekey: %s", Tag(*t).c_str(), change().c_str());
    }
    return;
  }
  if (e.new_phase2() != ipc::PHASE2_DONE &&
      !Transition(*t, TunnelStatus::kNegotiating, "state change " + change())) {
    return;
  }
  if (e.handle() != 0 && t->handle == 0) {
    t->handle = e.handle();
    phase2_by_handle_[e.handle()] = t->number;
  }
  if (t->state != e.new_phase2() || t->state_unix == 0) t->state_unix = clock_.UnixNow();
  t->state = e.new_phase2();
  t->message = static_cast<uint8_t>(e.message());
  t->ios_state = static_cast<uint8_t>(e.ios_phase2());
  if (LogEnabled(LogLevel::kInformation)) LOG_INFO("%s: %s", Tag(*t).c_str(), change().c_str());
}

// A peer started a negotiation with us (step 3 without a request): number it
// now, so the responder side lists it as Negotiating, and Failed with its
// reason if it fails. A Failed responder tunnel from the same peer is reused
// rather than piling up one entry per attempt.
Phase1Tunnel* TunnelManager::AdoptResponderPhase1(const ipc::StateChange& e) {
  Phase1Tunnel* t = nullptr;
  const AddressText peer(e.peer());
  phase1_.ForEach([&](uint32_t, Phase1Tunnel& candidate) {
    if (t == nullptr && candidate.status == TunnelStatus::kFailed &&
        candidate.role == ipc::RESPONDER && candidate.remote_address.str() == e.peer()) {
      t = &candidate;
    }
  });
  if (t != nullptr) {
    phase1_by_handle_.erase(t->handle);
  } else {
    const uint32_t n = phase1_numbers_.Allocate();
    t = &phase1_.Create(n);
    t->number = n;
  }
  t->serial = next_serial_++;
  t->handle = e.handle();
  phase1_by_handle_[e.handle()] = t->number;
  t->role = ipc::RESPONDER;
  t->mode = e.mode() != ipc::EXCHANGE_MODE_UNSPECIFIED ? e.mode() : ipc::MAIN;
  t->remote_address = peer;
  t->remote_id = peer;
  KeepLastError(*t);  // a reused Failed row: its reason becomes the last error
  CountStarted(*t);
  SendAssigned(isakmpd_, e.handle(), 1, t->number);
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
  // A new ISAKMP SA for a tunnel that is up (issue 9.3): ours replaces the
  // SA under the same number; the peer's (reported as a responder, maybe
  // under a row numbered when its Main Mode began) takes over the Active
  // tunnel of its definition, and that row goes.
  if (t != nullptr && t->status == TunnelStatus::kActive && t->handle != e.handle()) {
    return Phase1Replaced(*t, e, /*assign=*/false);
  }
  // (The responder's row got its number when the Main Mode began, so the
  // report may carry that number rather than 0.)
  Phase1Tunnel* live = !e.name().empty() ? LivePhase1(e.name()) : nullptr;
  if (live != nullptr && live != t && live->status == TunnelStatus::kActive &&
      (t == nullptr || t->status != TunnelStatus::kActive)) {
    if (t != nullptr) {
      CountEnded(*t, ipc::OK);  // the peer's Main Mode succeeded, as a re-establishment
      ErasePhase1(t->number);
    }
    return Phase1Replaced(*live, e, /*assign=*/true);
  }
  if (t == nullptr) {  // responder (step 3 without a request from tmd)
    const uint32_t n = phase1_numbers_.Allocate();
    t = &phase1_.Create(n);
    t->serial = next_serial_++;
    t->number = n;
    assigned = true;
    CountStarted(*t);
  }
  if (!Transition(*t, TunnelStatus::kActive, "isakmpd reports phase 1 established")) return;
  CountEnded(*t, ipc::OK);
  UpdatePhase1(*t, e);
  if (assigned) SendAssigned(isakmpd_, e.handle(), 1, t->number);
  ReleasePhase1Slot(t->number);
  ArmPhase1Soft(*t);
  StartDpd(*t);
  if (auto restart = dpd_restarts_.find(t->name); restart != dpd_restarts_.end()) {
    if (timers_ != nullptr) timers_->Cancel(restart->second.timer);
    dpd_restarts_.erase(restart);
  }
  if (LogEnabled(LogLevel::kEvents)) {
    LOG_EVENT("%s: established as %s (%s mode, %s, %s, %s, %s)", Tag(*t).c_str(),
              tunneldb::RoleName(t->role).c_str(), tunneldb::ExchangeModeName(t->mode).c_str(),
              tunneldb::IkeEncryptionName(t->encryption, t->key_length).c_str(),
              tunneldb::IkeHashName(t->hash).c_str(),
              tunneldb::AuthMethodName(t->auth_method).c_str(),
              tunneldb::DhGroupName(t->dh_group).c_str());
  }
  // Step 4 for every phase 2 tunnel that waited for this phase 1.
  std::vector<uint32_t> waiting;
  waiting.swap(t->waiting);
  for (uint32_t n2 : waiting) {
    Phase2Tunnel* t2 = Phase2ByRef(n2, 0);
    if (t2 != nullptr && t2->status == TunnelStatus::kNegotiating && !t2->phase2_requested) {
      SendPhase2Request(*t2);
    } else if (t2 != nullptr && t2->status == TunnelStatus::kActive && t2->rekeying) {
      t2->phase1_number = t->number;
      SendPhase2Request(*t2, true);
    }
  }
}

void TunnelManager::Phase1Replaced(Phase1Tunnel& t, const ipc::Phase1Established& e, bool assign) {
  const std::string old_cookies = t.icookie.HexOrZero() + ":" + t.rcookie.HexOrZero();
  UpdatePhase1(t, e);
  if (assign) SendAssigned(isakmpd_, e.handle(), 1, t.number);
  t.replacing = false;
  ReleasePhase1Slot(t.number);  // a re-establishment of ours held one
  ArmPhase1Soft(t);
  StartDpd(t);                   // the new SA is the one to probe
  if (e.collision_survivor()) {  // both ends re-established at once; isakmpd kept this one
    LOG_EVENT(
        "%s: both ends re-established phase 1 at once; the ISAKMP SA %s:%s serves the "
        "tunnel, %s goes",
        Tag(t).c_str(), t.icookie.HexOrZero().c_str(), t.rcookie.HexOrZero().c_str(),
        old_cookies.c_str());
    return;
  }
  ++t.rekey_count;
  ++counters_.phase1.rekeys;
  LOG_EVENT(
      "%s: re-established (%u) as %s: the new ISAKMP SA takes over from %s; phase 2 "
      "tunnels unchanged",
      Tag(t).c_str(), t.rekey_count, tunneldb::RoleName(t.role).c_str(), old_cookies.c_str());
}

// What a Phase1Established says about the SA, into the tunnel's row.
void TunnelManager::UpdatePhase1(Phase1Tunnel& tunnel, const ipc::Phase1Established& e) {
  Phase1Tunnel* t = &tunnel;  // the body reads as OnPhase1Established's did
  if (t->handle != 0 && t->handle != e.handle()) phase1_by_handle_.erase(t->handle);
  t->handle = e.handle();
  phase1_by_handle_[e.handle()] = t->number;
  if (!e.name().empty()) SetName(*t, e.name());
  t->state = ipc::PHASE1_DONE;
  t->nat_t = static_cast<uint8_t>(e.nat_t());
  t->nat_local = e.nat_local();
  t->nat_remote = e.nat_remote();
  t->peer_dpd = e.peer_dpd();
  Keep(&t->role, e.role());
  Keep(&t->mode, e.mode());
  // The last message of the exchange (RFC 2409 5): Main Mode's sixth,
  // Aggressive Mode's third.
  t->message = t->mode == ipc::AGGRESSIVE ? 3 : 6;
  Keep(&t->local_address, e.local_address());
  Keep(&t->remote_address, e.remote_address());
  Keep(&t->local_id, e.local_id());
  Keep(&t->remote_id, e.remote_id());
  t->icookie.Set(e.icookie());
  t->rcookie.Set(e.rcookie());
  if (e.encryption() != db::IKE_ENCRYPTION_UNSPECIFIED) {
    t->encryption = e.encryption();
    t->key_length = static_cast<uint16_t>(e.key_length());
  }
  Keep(&t->hash, e.hash());
  Keep(&t->auth_method, e.auth_method());
  Keep(&t->dh_group, e.dh_group());
  t->peer_aixike = e.peer_aixike();
  if (e.lifetime_seconds() != 0) t->lifetime_seconds = e.lifetime_seconds();
  t->established_unix = clock_.UnixNow();
  t->reason.Clear();
}

void TunnelManager::OnPhase2Established(ipc::Phase2Established& e) {
  if (e.before_message3()) return InstallEarlyInbound(e);
  Phase2Tunnel* t = Phase2ByRef(e.tunnel(), e.tunnel() == 0 ? e.handle() : 0);
  bool assigned = false;
  if (t == nullptr && e.tunnel() != 0) {
    LOG_ERROR("isakmpd reports phase 2 tunnel %u established, but tmd has no such tunnel",
              e.tunnel());
    WipeKeys(e);
    return;
  }
  if (t == nullptr) {  // responder
    // The peer renews a tunnel we have up: same number, a new pair.
    Phase2Tunnel* named = e.name().empty() ? nullptr : LivePhase2(e.name());
    if (named != nullptr && named->status == TunnelStatus::kActive) {
      return InstallRekeyedPair(*named, e, /*assigned=*/true);
    }
    // The peer brought up a trapped tunnel before our traffic did: it takes
    // the Dormant (or Clear) row of its definition, not a second row.
    Phase2Tunnel* trapped = named;
    if (trapped != nullptr &&
        (trapped->status == TunnelStatus::kDormant || trapped->status == TunnelStatus::kClear)) {
      t = trapped;
      Transition(*t, TunnelStatus::kNegotiating, "the peer negotiated it");
    } else {
      const uint32_t n = phase2_numbers_.Allocate();
      t = &phase2_.Create(n);
      t->serial = next_serial_++;
      t->number = n;
    }
    assigned = true;
    const Phase1Tunnel* p1 =
        Phase1ByRef(e.phase1_tunnel(), e.phase1_tunnel() ? 0 : e.phase1_handle());
    t->phase1_number = p1 ? p1->number : 0;
    CountStarted(*t);
  }
  if (t->status == TunnelStatus::kActive && !assigned) {
    if (e.handle() == t->handle) return InstallHeldOutbound(*t, e);
    if (FindOldPair(*t, e.handle(), nullptr) != nullptr) {
      WipeKeys(e);  // the held outbound SA of a pair that lost a collision
      return;
    }
    return InstallRekeyedPair(*t, e, /*assigned=*/false);
  }
  // Checked before anything is installed: a refused report installs nothing.
  if (!LegalMove(t->status, TunnelStatus::kActive)) {
    Transition(*t, TunnelStatus::kActive, "isakmpd reports phase 2 established");
    WipeKeys(e);
    return;
  }
  if (t->handle != 0 && t->handle != e.handle()) phase2_by_handle_.erase(t->handle);
  t->handle = e.handle();
  phase2_by_handle_[e.handle()] = t->number;
  if (!e.name().empty()) SetName(*t, e.name());
  Keep(&t->role, e.role());
  Keep(&t->local_id, e.local_id());
  Keep(&t->remote_id, e.remote_id());
  t->pfs_group = e.pfs_group();  // DH_GROUP_NONE: no PFS was negotiated
  if (e.lifetime_seconds() != 0) t->lifetime_seconds = e.lifetime_seconds();
  t->lifetime_kbytes = e.lifetime_kbytes();
  t->soft_seconds = static_cast<uint32_t>(SoftLimit(t->lifetime_seconds, t->role));
  for (const ipc::ChildSa& sa : e.sa()) {
    (sa.direction() == ipc::INBOUND ? t->spi_in : t->spi_out) = sa.spi();
    t->encryption = sa.encryption();
    t->key_length = static_cast<uint16_t>(sa.encryption_key_bits());
    t->integrity = sa.integrity();
  }
  if (assigned) SendAssigned(isakmpd_, e.handle(), 2, t->number);
  Status installed = Install(*t, e);
  WipeKeys(e);
  if (!installed.ok()) {
    Uninstall(*t);
    FailPhase2(*t, "cannot install the tunnel in the kernel: " + installed.error().message,
               ipc::INTERNAL);
    ipc::Envelope rm;
    rm.mutable_remove_tunnel()->set_phase(2);
    rm.mutable_remove_tunnel()->set_tunnel(t->number);
    SendToIsakmpd(std::move(rm), 0, 0, 0);
    return;
  }
  Transition(*t, TunnelStatus::kActive, "phase 2 installed");
  CountEnded(*t, ipc::OK);
  ReleaseHeldTrap(t->name);
  t->retry_unix = 0;
  if (Trap* trap = TrapOf(t->name)) {
    trap->failures = 0;
    trap->retry_unix = 0;
  }
  t->state = ipc::PHASE2_DONE;
  t->message = 3;
  t->established_unix = clock_.UnixNow();
  t->rekey_unix = t->soft_seconds ? t->established_unix + t->soft_seconds : 0;
  t->current_ours = t->role == ipc::INITIATOR;
  t->predecessor = 0;
  t->rekeying = false;
  t->reason.Clear();
  if (LogEnabled(LogLevel::kEvents)) {
    LOG_EVENT(
        "%s: established as %s, %s %s, SPI in 0x%08x out 0x%08x; tunnel cache and filter "
        "rules installed",
        Tag(*t).c_str(), tunneldb::RoleName(t->role).c_str(), t->local_id.str().c_str(),
        t->remote_id.str().c_str(), t->spi_in, t->spi_out);
  }
}

// Steps 6 and 7: two tunnel cache entries, then one permit rule per direction.
Status TunnelManager::Install(Phase2Tunnel& t, const ipc::Phase2Established& e) {
  // A second report for the same tunnel supersedes what the first installed.
  Uninstall(t);
  Status sas = InstallSas(t, e);
  if (!sas.ok()) return sas;
  return InstallPolicies(t, e);
}

// The SAs of |e|, added to the tunnel's current pair (an inbound SA already
// installed before message 3 is taken as it is: early_inbound.cc).
Status TunnelManager::InstallSas(Phase2Tunnel& t, const ipc::Phase2Established& e) {
  if (e.sa_size() + t.sa_count > static_cast<int>(t.sas.size())) {
    return Error{"isakmpd reported " + std::to_string(e.sa_size()) +
                 " SAs for one phase 2 tunnel (one per direction expected)"};
  }
  SaLimits limits;
  limits.hard_seconds = e.lifetime_seconds();
  limits.hard_kbytes = e.lifetime_kbytes();
  limits.soft_seconds = t.soft_seconds;
  limits.soft_kbytes = t.lifetime_kbytes && t.lifetime_seconds
                           ? t.lifetime_kbytes * t.soft_seconds / t.lifetime_seconds
                           : 0;
  for (const ipc::ChildSa& sa : e.sa()) {
    if (sa.direction() == ipc::INBOUND && ClaimEarlyInbound(t, e.handle(), sa.spi())) continue;
    Result<Phase2Tunnel::InstalledSa> installed = InstallChildSa(t.number, sa, limits);
    if (!installed.ok()) return installed.error();
    t.sas[t.sa_count++] = *installed;
  }
  return Status::Ok();
}

Result<Phase2Tunnel::InstalledSa> TunnelManager::InstallChildSa(uint32_t number,
                                                                const ipc::ChildSa& sa,
                                                                const SaLimits& limits) {
  SaSpec spec;
  spec.tunnel = number;
  spec.direction = sa.direction() == ipc::INBOUND ? Direction::kInbound : Direction::kOutbound;
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
  spec.lifetime_seconds = limits.hard_seconds;
  spec.lifetime_kbytes = limits.hard_kbytes;
  spec.soft_seconds = limits.soft_seconds;
  spec.soft_kbytes = limits.soft_kbytes;
  spec.added_unix = clock_.UnixNow();
  spec.source_port = static_cast<uint16_t>(sa.source_port());
  spec.destination_port = static_cast<uint16_t>(sa.destination_port());
  spec.transport = sa.transport();
  Status s = kernel_.InstallSa(spec);
  if (!s.ok()) return s.error();
  ++counters_.kernel_sas_added;
  return Phase2Tunnel::InstalledSa{*dst, sa.spi(), spec.direction == Direction::kInbound};
}

Status TunnelManager::InstallPolicies(Phase2Tunnel& t, const ipc::Phase2Established& e) {
  const uint32_t n = t.number;
  // The negotiated selectors (or, if isakmpd left them out, the defined ones).
  const std::string local_id = t.local_id.str();
  const std::string remote_id = t.remote_id.str();
  Result<AddressRange> local = t.local_id.value() ? Result<AddressRange>(*t.local_id.value())
                                                  : AddressRange::Parse(local_id);
  Result<AddressRange> remote = t.remote_id.value() ? Result<AddressRange>(*t.remote_id.value())
                                                    : AddressRange::Parse(remote_id);
  if (!local.ok()) return Error{"local selector '" + local_id + "': " + local.error().message};
  if (!remote.ok()) return Error{"remote selector '" + remote_id + "': " + remote.error().message};
  for (Direction d : {Direction::kOutbound, Direction::kInbound}) {
    PolicySpec p;
    p.tunnel = n;
    p.direction = d;
    p.source = d == Direction::kOutbound ? *local : *remote;
    p.destination = d == Direction::kOutbound ? *remote : *local;
    p.protocol = e.protocol();
    p.source_port =
        static_cast<uint16_t>(d == Direction::kOutbound ? e.local_port() : e.remote_port());
    p.destination_port =
        static_cast<uint16_t>(d == Direction::kOutbound ? e.remote_port() : e.local_port());
    p.spi = d == Direction::kOutbound ? t.spi_out : t.spi_in;
    for (const ipc::ChildSa& sa : e.sa()) {
      if ((sa.direction() == ipc::INBOUND) != (d == Direction::kInbound)) continue;
      p.outer_source = IpAddress::Parse(sa.source()).value_or(IpAddress{});
      p.outer_destination = IpAddress::Parse(sa.destination()).value_or(IpAddress{});
      p.transport = sa.transport();
    }
    Result<uint32_t> id = kernel_.InstallPolicy(p);
    if (!id.ok()) return id.error();
    t.rules[t.rule_count++] = *id;
  }
  return Status::Ok();
}

// Once per failure (issue 11.3): the first likely cause of the diagnosis
// ike cmd=diagnose gives in full, so the log alone points somewhere.
void TunnelManager::LogLikelyCause(const std::string& tag, const tunneldb::Diagnosis& d) {
  if (d.causes.empty()) return;
  LOG_EVENT("%s: stopped in %s; likely cause: %s (check: %s); ike cmd=diagnose lists all",
            tag.c_str(), d.where.c_str(), d.causes.front().cause.c_str(),
            d.causes.front().check.c_str());
}

void TunnelManager::FailPhase1(Phase1Tunnel& t, const std::string& reason, ipc::ErrorCode code) {
  CountEnded(t, code);
  Transition(t, TunnelStatus::kFailed, reason);  // legal from every status
  t.reason.Set(reason);
  t.failed_unix = clock_.UnixNow();
  t.failure = static_cast<uint8_t>(code);
  StopDpd(t);
  if (dpd_restarts_.contains(t.name)) {
    const std::string next = DpdRestartFailed(t.name, reason);
    if (!next.empty()) t.reason.Set(reason + "; " + next);
  }
  if (t.handle != 0) phase1_by_handle_.erase(t.handle);
  t.handle = 0;
  LOG_ERROR("%s: negotiation failed in state %s: %s", Tag(t).c_str(),
            tunneldb::Phase1StateName(t.state).c_str(), reason.c_str());
  LogLikelyCause(Tag(t), tunneldb::Diagnose(Phase1Row(t)));
  ReleasePhase1Slot(t.number);
  // A phase 2 tunnel cannot be negotiated without its phase 1.
  std::vector<uint32_t> waiting;
  waiting.swap(t.waiting);
  for (uint32_t n2 : waiting) {
    if (Phase2Tunnel* t2 = Phase2ByRef(n2, 0)) {
      const std::string why = "phase 1 tunnel " + std::to_string(t.number) + " failed: " + reason;
      if (t2->status == TunnelStatus::kActive) {
        if (t2->rekeying) RekeyFailed(*t2, why);  // its current SAs carry on
      } else {
        FailPhase2(*t2, why, code);
      }
    }
  }
}

void TunnelManager::FailPhase2(Phase2Tunnel& t, const std::string& reason, ipc::ErrorCode code) {
  CountEnded(t, code);
  if (t.handle != 0) phase2_by_handle_.erase(t.handle);
  t.handle = 0;
  t.phase2_requested = false;
  if (FailTrapTunnel(t, reason)) {
    t.failure = static_cast<uint8_t>(code);
    return;
  }
  Transition(t, TunnelStatus::kFailed, reason);
  t.reason.Set(reason);
  t.failed_unix = clock_.UnixNow();
  t.failure = static_cast<uint8_t>(code);
  LOG_ERROR("%s: negotiation failed in state %s: %s", Tag(t).c_str(),
            tunneldb::Phase2StateName(t.state).c_str(), reason.c_str());
  LogLikelyCause(Tag(t), tunneldb::Diagnose(Phase2Row(t)));
}

void TunnelManager::OnNegotiationFailed(const ipc::NegotiationFailed& e) {
  if (e.phase() == 2) DropEarlyInbound(e.handle(), "the Quick Mode failed");
  if (e.phase() == 1) {
    if (Phase1Tunnel* t = Phase1ByRef(e.tunnel(), e.tunnel() ? 0 : e.handle())) {
      if (t->status == TunnelStatus::kActive && e.handle() != t->handle) {
        if (t->replacing) ReplacementFailed(*t, e.reason());  // the old SA carries on
        return;
      }
      if (e.state1() != ipc::PHASE1_STATE_UNSPECIFIED) t->state = e.state1();
      if (e.message() != 0) t->message = static_cast<uint8_t>(e.message());
      FailPhase1(*t, e.reason(), FailureCode(e));
      return;
    }
  } else if (Phase2Tunnel* t = Phase2ByRef(e.tunnel(), e.tunnel() ? 0 : e.handle())) {
    if (t->status == TunnelStatus::kActive) {  // a rekey: the current pair carries on
      if (t->rekeying && e.handle() != t->handle) RekeyFailed(*t, e.reason());
      return;
    }
    if (e.state2() != ipc::PHASE2_STATE_UNSPECIFIED) t->state = e.state2();
    if (e.message() != 0) t->message = static_cast<uint8_t>(e.message());
    FailPhase2(*t, e.reason(), FailureCode(e));
    return;
  }
  // A responder negotiation that never got a number: started and failed.
  NegotiationCounters& c = e.phase() == 1 ? counters_.phase1 : counters_.phase2;
  ++c.started;
  ++c.failed[FailureCode(e)];
  const std::string state = e.phase() == 1 ? tunneldb::Phase1StateName(e.state1())
                                           : tunneldb::Phase2StateName(e.state2());
  LOG_ERROR("tunnel 0 phase %u handle %llu: negotiation failed in state %s: %s", e.phase(),
            static_cast<unsigned long long>(e.handle()), state.c_str(), e.reason().c_str());
}

void TunnelManager::OnSaDeleted(const ipc::SaDeleted& e) {
  const char* why = e.by_peer() ? "deleted by the peer" : "deleted";
  if (e.phase() == 1) {
    Phase1Tunnel* t = Phase1ByRef(e.tunnel(), e.tunnel() ? 0 : e.handle());
    // A Failed tunnel stays listed until the operator removes it.
    if (t == nullptr || t->status == TunnelStatus::kFailed) return;
    if (e.handle() != 0 && t->handle != 0 && e.handle() != t->handle) return;  // stale
    LOG_EVENT("%s: %s: %s", Tag(*t).c_str(), why, e.reason().c_str());
    std::vector<uint32_t> waiting = t->waiting;
    for (uint32_t n2 : waiting) {
      if (Phase2Tunnel* t2 = Phase2ByRef(n2, 0)) {
        const std::string reason = "phase 1 tunnel " + std::to_string(t->number) + " " + why;
        if (t2->status != TunnelStatus::kActive) {
          FailPhase2(*t2, reason, ipc::DELETED);
        } else if (t2->rekeying) {
          RekeyFailed(*t2, reason);
        }
      }
    }
    ErasePhase1(t->number);
    return;
  }
  Phase2Tunnel* t = Phase2ByRef(e.tunnel(), e.tunnel() ? 0 : e.handle());
  if (t == nullptr || t->status == TunnelStatus::kFailed) return;
  if (e.handle() != 0 && t->handle != 0 && e.handle() != t->handle) {
    // A pair a rekey replaced (or a stale report): only that pair goes.
    size_t index = 0;
    if (FindOldPair(*t, e.handle(), &index) != nullptr) {
      LOG_EVENT("%s: previous SA pair %s (%s); removed from the tunnel cache", Tag(*t).c_str(), why,
                e.reason().c_str());
      RemoveOldPair(*t, index, /*tell_peer=*/false);
    }
    return;
  }
  if (!t->old_pairs.empty()) {
    // The current pair went, an older one is still valid: the kernel sends
    // on it again, and so the tunnel stays up on it.
    DeleteSas(*t, t->sas, t->sa_count);
    MakeCurrent(*t, t->old_pairs.back());
    t->old_pairs.pop_back();
    LOG_EVENT("%s: current SA pair %s: %s; the previous pair (%s) carries the traffic again",
              Tag(*t).c_str(), why, e.reason().c_str(), SpiPair(t->spi_in, t->spi_out).c_str());
    return;
  }
  LOG_EVENT("%s: %s: %s; tunnel cache entries and filter rules removed", Tag(*t).c_str(), why,
            e.reason().c_str());
  ErasePhase2(t->number);
}

}  // namespace ike::tmd
