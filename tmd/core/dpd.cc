// Dead Peer Detection (RFC 3706; issue 9.4), the deciding half. isakmpd
// sends the probes (isakmpd/sa/sa_dpd.cc); tmd keeps the schedule because it
// has what says a peer is alive without asking it, the kernel's inbound
// counters of the tunnel's SAs, and because the action on a dead peer is
// about tunnels and kernel state.
//
// Per Active phase 1 tunnel whose definition asks for DPD, a timer every
// interval_seconds:
//   - IDLE mode: inbound packets on any of its phase 2 SAs since the last
//     check mean the peer is alive, no probe (RFC 3706 5.3: "worry" only
//     about a silent peer); isakmpd also skips the probe when an
//     authenticated IKE message arrived within the interval;
//   - otherwise a probe (DpdProbe -> R-U-THERE); an ACK, or life seen as
//     above, clears the count of unanswered probes;
//   - when |retries| probes went unanswered for an interval each, the peer
//     is dead: interval x retries after the first unanswered probe. The
//     tunnels' SAs go (isakmpd and kernel) and the action decides what the
//     rows become (tunneldb.proto DpdAction); it is logged once, and listed
//     as the reason.
// A peer that did not announce DPD (no vendor ID) is not probed.
#include <algorithm>

#include "common/log.h"
#include "tmd/core/tunnel_manager.h"
#include "tunneldb/database.h"

namespace ike::tmd {
namespace {

constexpr uint64_t kDefaultRestartSeconds = 30;
constexpr uint64_t kMaxRestartSeconds = 3600;

const char* ActionText(db::DpdAction action) {
  switch (action) {
    case db::DPD_CLEAR:
      return "its tunnels are cleared (action clear)";
    case db::DPD_RESTART:
      return "its tunnels are negotiated again (action restart)";
    default:
      return "its phase 2 tunnels are held: traffic negotiates them again (action hold)";
  }
}

}  // namespace

const db::DeadPeerDetection* TunnelManager::DpdOf(const Phase1Tunnel& t) const {
  const db::IkeTunnel* def = database_ ? database_->FindIkeTunnel(t.name) : nullptr;
  if (def == nullptr || def->dpd().mode() == db::DPD_OFF) return nullptr;
  return &def->dpd();
}

// The Active phase 2 tunnels negotiated under phase 1 tunnel |t|, found
// through its definition's children (no walk over every tunnel: a gateway
// has 20,000 of them).
std::vector<uint32_t> TunnelManager::ChildrenOf(const Phase1Tunnel& t) {
  std::vector<uint32_t> out;
  if (!database_ || t.name.empty()) return out;
  for (int i : database_->IpsecTunnelsOf(t.name)) {
    Phase2Tunnel* t2 = LivePhase2(database_->proto().ipsec_tunnel(i).name());
    if (t2 != nullptr && t2->phase1_number == t.number && InIsakmpd(t2->status)) {
      out.push_back(t2->number);
    }
  }
  return out;
}

uint64_t TunnelManager::InboundPackets(const Phase1Tunnel& t) {
  uint64_t packets = 0;
  auto add = [&](const Phase2Tunnel::InstalledSa& sa) {
    if (!sa.inbound) return;
    if (auto c = kernel_.Counters(sa.destination, sa.spi)) packets += c->packets;
  };
  for (uint32_t n2 : ChildrenOf(t)) {
    const Phase2Tunnel* t2 = phase2_.Find(n2);
    for (uint8_t i = 0; i < t2->sa_count; ++i) add(t2->sas[i]);
    for (const Phase2Tunnel::OldPair& old : t2->old_pairs) {
      for (uint8_t i = 0; i < old.sa_count; ++i) add(old.sas[i]);
    }
  }
  return packets;
}

void TunnelManager::StartDpd(Phase1Tunnel& t) {
  StopDpd(t);
  t.dpd_unanswered = 0;
  t.dpd_unsupported = false;
  const db::DeadPeerDetection* dpd = DpdOf(t);
  if (timers_ == nullptr || dpd == nullptr) return;
  t.dpd_inbound = InboundPackets(t);
  const uint32_t number = t.number;
  const uint64_t serial = t.serial;
  t.dpd_timer = timers_->Schedule(std::chrono::seconds(dpd->interval_seconds()),
                                  [this, number, serial] { DpdTick(number, serial); });
}

void TunnelManager::StopDpd(Phase1Tunnel& t) {
  if (timers_ != nullptr) timers_->Cancel(t.dpd_timer);
  t.dpd_timer = 0;
}

void TunnelManager::DpdTick(uint32_t number, uint64_t serial) {
  Phase1Tunnel* t = phase1_.Find(number);
  if (t == nullptr || t->serial != serial) return;
  t->dpd_timer = 0;
  const db::DeadPeerDetection* dpd = DpdOf(*t);
  if (t->status != TunnelStatus::kActive || dpd == nullptr || t->dpd_unsupported) return;
  auto again = [&] {
    t->dpd_timer = timers_->Schedule(std::chrono::seconds(dpd->interval_seconds()),
                                     [this, number, serial] { DpdTick(number, serial); });
  };
  if (dpd->mode() == db::DPD_IDLE) {
    const uint64_t inbound = InboundPackets(*t);
    if (inbound != t->dpd_inbound) {  // traffic from the peer: alive
      t->dpd_inbound = inbound;
      PeerAlive(*t, "ESP traffic");
      return again();
    }
  }
  if (t->dpd_unanswered >= dpd->retries()) return PeerDead(*t, *dpd);
  if (isakmpd_.connected() && t->handle != 0) {
    ipc::Envelope e;
    ipc::DpdProbe* p = e.mutable_dpd_probe();
    p->set_tunnel(t->number);
    p->set_handle(t->handle);
    if (dpd->mode() == db::DPD_IDLE) p->set_quiet_ms(dpd->interval_seconds() * 1000);
    SendToIsakmpd(std::move(e), 0, 0, 0);
  }
  again();
}

void TunnelManager::PeerAlive(Phase1Tunnel& t, const char* how) {
  if (t.dpd_unanswered != 0) {
    LOG_EVENT("%s: peer %s alive again (%s) after %u unanswered R-U-THERE probe(s)", Tag(t).c_str(),
              t.remote_address.str().c_str(), how, t.dpd_unanswered);
  }
  t.dpd_unanswered = 0;
}

void TunnelManager::OnDpdReport(const ipc::DpdReport& r) {
  Phase1Tunnel* t = Phase1ByRef(0, r.handle());
  if (t == nullptr || t->handle != r.handle() || t->status != TunnelStatus::kActive) return;
  switch (r.outcome()) {
    case ipc::DPD_PROBE_SENT:
      ++t->dpd_unanswered;
      LOG_INFO("%s: peer %s silent; R-U-THERE %u sent (%u unanswered)", Tag(*t).c_str(),
               t->remote_address.str().c_str(), r.sequence(), t->dpd_unanswered);
      break;
    case ipc::DPD_HEARD_RECENTLY:
      PeerAlive(*t, "IKE message");
      break;
    case ipc::DPD_ACKNOWLEDGED:
      PeerAlive(*t, "R-U-THERE-ACK");
      break;
    case ipc::DPD_NOT_SUPPORTED:
      t->dpd_unsupported = true;
      StopDpd(*t);
      LOG_EVENT("%s: peer %s did not announce Dead Peer Detection (RFC 3706 vendor ID): not probed",
                Tag(*t).c_str(), t->remote_address.str().c_str());
      break;
    default:
      break;
  }
}

void TunnelManager::PeerDead(Phase1Tunnel& t, const db::DeadPeerDetection& dpd) {
  const std::string reason = "peer " + t.remote_address.str() + " dead: no answer to " +
                             std::to_string(dpd.retries()) + " DPD probes (R-U-THERE) in " +
                             std::to_string(uint64_t{dpd.interval_seconds()} * dpd.retries()) +
                             " s";
  LOG_ERROR("%s: %s; %s", Tag(t).c_str(), reason.c_str(), ActionText(dpd.action()));
  const std::string name = t.name;
  const db::IkeTunnel* ike = database_->FindIkeTunnel(name);
  // isakmpd forgets the SAs (its Deletes go to a peer that is likely gone).
  auto tell_isakmpd = [&](uint32_t phase, uint32_t number) {
    if (!isakmpd_.connected()) return;
    ipc::Envelope e;
    e.mutable_remove_tunnel()->set_phase(phase);
    e.mutable_remove_tunnel()->set_tunnel(number);
    SendToIsakmpd(std::move(e), 0, 0, 0);
  };
  std::vector<std::string> held;
  for (uint32_t n2 : ChildrenOf(t)) {
    Phase2Tunnel* t2 = phase2_.Find(n2);
    tell_isakmpd(2, n2);
    const std::string why = "phase 1 tunnel " + std::to_string(t.number) + ": " + reason;
    if (dpd.action() == db::DPD_HOLD) {
      held.push_back(t2->name);
      ErasePhase2(n2);  // the kernel state goes; an armed trap lists it Dormant
      continue;
    }
    Uninstall(*t2);
    if (t2->handle != 0) phase2_by_handle_.erase(t2->handle);
    t2->handle = 0;
    Transition(*t2, TunnelStatus::kFailed, why);
    t2->reason.Set(why);
  }
  tell_isakmpd(1, t.number);
  StopDpd(t);
  if (timers_ != nullptr) timers_->Cancel(t.soft_timer);
  t.soft_timer = 0;
  t.replacing = false;
  t.rekey_unix = 0;
  if (t.handle != 0) phase1_by_handle_.erase(t.handle);
  t.handle = 0;
  Transition(t, TunnelStatus::kFailed, reason);
  t.reason.Set(reason);
  if (ike == nullptr) return;
  if (dpd.action() == db::DPD_HOLD) {
    for (const std::string& n : held) HoldWithTrap(n, *ike, reason);
  } else if (dpd.action() == db::DPD_RESTART) {
    DpdRestart& r = dpd_restarts_[name];
    r.failures = 0;
    RestartAfterDpd(name);
  }
}

// DPD_HOLD: the definition's trap lists the tunnel Dormant; a manual
// definition gets one for the purpose (held), disarmed once it is up again.
void TunnelManager::HoldWithTrap(const std::string& name, const db::IkeTunnel& ike,
                                 const std::string& reason) {
  const db::IpsecTunnel* def = database_->FindIpsecTunnel(name);
  if (def == nullptr) return;
  if (TrapOf(name) == nullptr) {
    db::IpsecTunnel on_demand = *def;
    on_demand.set_activation(db::ON_DEMAND);
    Arm(on_demand, ike, "held after DPD");
    if (Trap* trap = TrapOf(name)) trap->held = true;
  }
  if (Phase2Tunnel* dormant = LivePhase2(name);
      dormant != nullptr && dormant->status == TunnelStatus::kDormant) {
    dormant->reason.Set(reason + "; traffic negotiates it again");
  }
}

// A held trap has done its work when its tunnel is Active again.
void TunnelManager::ReleaseHeldTrap(const std::string& name) {
  Trap* trap = TrapOf(name);
  if (trap != nullptr && trap->held) Disarm(trap->id);
}

// DPD_RESTART: phase 1 and the definition's phase 2 tunnels again, now and,
// while that fails, after settings.trap_retry_seconds doubling to an hour.
// An operator's remove (the rows gone) or activate ends it.
void TunnelManager::RestartAfterDpd(const std::string& name) {
  auto it = dpd_restarts_.find(name);
  if (it == dpd_restarts_.end()) return;
  it->second.timer = 0;
  Phase1Tunnel* p1 = LivePhase1(name);
  const db::IkeTunnel* ike = database_ ? database_->FindIkeTunnel(name) : nullptr;
  if (p1 == nullptr || p1->status != TunnelStatus::kFailed || ike == nullptr) {
    dpd_restarts_.erase(it);
    return;
  }
  if (!isakmpd_.connected()) {
    DpdRestartFailed(name, "isakmpd is not running");
    return;
  }
  ipc::ActivateReply reply;
  std::string refusal;
  bool started = false;
  for (int i : database_->IpsecTunnelsOf(name)) {
    const db::IpsecTunnel& def = database_->proto().ipsec_tunnel(i);
    Phase2Tunnel* t2 = LivePhase2(def.name());
    if (t2 == nullptr || t2->status != TunnelStatus::kFailed) continue;
    started |= StartTarget({ike, &def, 0, 0}, &reply, &refusal);
  }
  if (!started) started = StartTarget({ike, nullptr, 0, 0}, &reply, &refusal);
  if (!started) {
    DpdRestartFailed(name, refusal);
    return;
  }
  LOG_EVENT("%s: negotiating again after the peer was declared dead (DPD action restart, try %u)",
            name.c_str(), it->second.failures + 1);
}

std::string TunnelManager::DpdRestartFailed(const std::string& name, const std::string& reason) {
  auto it = dpd_restarts_.find(name);
  if (it == dpd_restarts_.end() || timers_ == nullptr || it->second.timer != 0) return "";
  const db::Settings* settings = database_ ? &database_->proto().settings() : nullptr;
  const uint64_t base = settings && settings->trap_retry_seconds() ? settings->trap_retry_seconds()
                                                                   : kDefaultRestartSeconds;
  const uint32_t shift = std::min<uint32_t>(it->second.failures, 12);
  const uint64_t wait = std::min(base << shift, std::max(base, kMaxRestartSeconds));
  ++it->second.failures;
  it->second.timer =
      timers_->Schedule(std::chrono::seconds(wait), [this, name] { RestartAfterDpd(name); });
  LOG_EVENT("%s: restart after DPD failed (%s); next try in %llu s", name.c_str(), reason.c_str(),
            static_cast<unsigned long long>(wait));
  return "the peer was declared dead (DPD), negotiating again in " + std::to_string(wait) + " s";
}

}  // namespace ike::tmd
