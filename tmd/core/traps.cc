// On-demand activation and negotiation discovery (issue 8.3, 8.4; seed 004).
// A definition with activation ON_DEMAND or DISCOVERY gets a trap: an
// outbound kernel policy without an SA. The first packet that hits it makes
// the kernel report an acquire, and tmd activates the definition, once per
// tunnel: while the tunnel negotiates or is up, further acquires change
// nothing, and after a failure traffic starts the next attempt only when
// the back-off has passed (settings.trap_retry_seconds, doubling to an
// hour). ON_DEMAND holds packets back until the tunnel is up (the kernel
// drops them); DISCOVERY lets them through in the clear ("secure if the peer
// can, clear otherwise"), and a failed attempt leaves the tunnel Clear with
// the reason. The tunnel's own policies replace the trap while it lives
// (tmd/xfrm/xfrm_kernel.cc); when it goes, the trap is back and the tunnel
// is listed Dormant again.
#include <algorithm>
#include <ctime>

#include "common/address.h"
#include "common/log.h"
#include "common/selector.h"
#include "tmd/core/tunnel_manager.h"
#include "tunneldb/names.h"

namespace ike::tmd {
namespace {

constexpr uint64_t kDefaultTrapRetrySeconds = 30;
constexpr uint64_t kMaxTrapRetrySeconds = 3600;

bool IsTrapped(db::Activation a) { return a == db::ON_DEMAND || a == db::DISCOVERY; }

std::string Signature(const db::IpsecTunnel& def, const db::IkeTunnel& ike) {
  return std::to_string(def.activation()) + '|' + SelectorText(def.local()) + '|' +
         std::to_string(TunnelProtocol(def)) + '|' + std::to_string(def.local().port()) + '|' +
         SelectorText(def.remote()) + '|' + std::to_string(def.remote().port()) + '|' + ike.name() +
         '|' + ike.local_address() + '|' + ike.remote_address();
}

std::string ClockTime(uint64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  tm local{};
  localtime_r(&t, &local);
  char text[16];
  strftime(text, sizeof text, "%H:%M:%S", &local);
  return text;
}

}  // namespace

TunnelManager::Trap* TunnelManager::TrapOf(std::string_view name) {
  auto it = trap_by_name_.find(std::string(name));
  if (it == trap_by_name_.end()) return nullptr;
  auto trap = traps_.find(it->second);
  return trap == traps_.end() ? nullptr : &trap->second;
}

void TunnelManager::ArmTraps() {
  std::set<uint32_t> keep;
  if (database_) {
    for (const db::IpsecTunnel& def : database_->proto().ipsec_tunnel()) {
      if (!IsTrapped(def.activation())) continue;
      const db::IkeTunnel* ike = database_->FindIkeTunnel(def.ike_tunnel());
      if (ike == nullptr) continue;  // the validator names it
      std::string signature = Signature(def, *ike);
      if (Trap* armed = TrapOf(def.name())) {
        if (armed->signature == signature) {
          keep.insert(armed->id);
          continue;
        }
        Disarm(armed->id);  // changed by a refresh: built again below
      }
      Arm(def, *ike, std::move(signature));
      if (Trap* armed = TrapOf(def.name())) keep.insert(armed->id);
    }
  }
  std::vector<uint32_t> gone;
  for (const auto& [id, trap] : traps_) {
    // A trap DPD left (dpd.cc) stays while its definition does.
    const bool held = trap.held && database_ && database_->FindIpsecTunnel(trap.name) != nullptr;
    if (!keep.contains(id) && !held) gone.push_back(id);
  }
  for (uint32_t id : gone) Disarm(id);
}

void TunnelManager::Arm(const db::IpsecTunnel& def, const db::IkeTunnel& ike,
                        std::string signature) {
  const char* kind = def.activation() == db::DISCOVERY ? "discovery" : "on-demand";
  std::optional<AddressRange> local = SelectorAddressRange(def.local());
  std::optional<AddressRange> remote = SelectorAddressRange(def.remote());
  std::optional<IpAddress> outer_local = IpAddress::Parse(ike.local_address());
  std::optional<IpAddress> outer_remote = IpAddress::Parse(ike.remote_address());
  if (!local || !remote || !outer_local || !outer_remote) {
    LOG_ERROR("%s: cannot arm the %s trap: its selectors or endpoints are not addresses",
              def.name().c_str(), kind);
    return;
  }
  Trap trap;
  trap.id = next_trap_id_++;
  trap.name = def.name();
  trap.signature = std::move(signature);
  trap.clear = def.activation() == db::DISCOVERY;
  PolicySpec spec;
  spec.direction = Direction::kOutbound;
  spec.source = *local;
  spec.destination = *remote;
  spec.protocol = TunnelProtocol(def);
  spec.source_port = static_cast<uint16_t>(def.local().port());
  spec.destination_port = static_cast<uint16_t>(def.remote().port());
  spec.outer_source = *outer_local;
  spec.outer_destination = *outer_remote;
  spec.trap = trap.id;
  spec.clear_until_up = trap.clear;
  Result<uint32_t> rule = kernel_.InstallPolicy(spec);
  if (!rule.ok()) {
    LOG_ERROR("%s: cannot arm the %s trap %s -> %s: %s", def.name().c_str(), kind,
              local->ToString().c_str(), remote->ToString().c_str(), rule.error().message.c_str());
    return;
  }
  trap.rule = *rule;
  LOG_EVENT("%s: %s trap armed for %s -> %s (%s); traffic activates the tunnel", def.name().c_str(),
            kind, local->ToString().c_str(), remote->ToString().c_str(),
            trap.clear ? "in the clear until it is up" : "held back until it is up");
  const uint32_t id = trap.id;
  trap_by_name_[trap.name] = id;
  const Trap& stored = traps_.emplace(id, std::move(trap)).first->second;
  if (LivePhase2(stored.name) == nullptr) MakeDormant(stored);
}

void TunnelManager::Disarm(uint32_t id) {
  auto it = traps_.find(id);
  if (it == traps_.end()) return;
  const std::string name = it->second.name;
  Status s = kernel_.DeletePolicy(it->second.rule);
  if (!s.ok()) LOG_ERROR("%s: %s", name.c_str(), s.error().message.c_str());
  trap_by_name_.erase(name);
  traps_.erase(it);
  LOG_EVENT("%s: trap disarmed; traffic no longer activates the tunnel", name.c_str());
  Phase2Tunnel* live = LivePhase2(name);
  if (live != nullptr && live->status == TunnelStatus::kDormant) ErasePhase2(live->number);
}

void TunnelManager::MakeDormant(const Trap& trap) {
  const db::IpsecTunnel* def = database_ ? database_->FindIpsecTunnel(trap.name) : nullptr;
  if (def == nullptr) return;
  const uint32_t n = phase2_numbers_.Allocate();
  Phase2Tunnel& t = phase2_.Create(n);
  t.serial = next_serial_++;
  t.number = n;
  t.status = TunnelStatus::kDormant;
  t.state = ipc::PHASE2_STATE_UNSPECIFIED;
  t.activation = def->activation();
  t.retry_unix = trap.retry_unix;
  t.local_id.Set(SelectorRangeText(def->local()));
  t.remote_id.Set(SelectorRangeText(def->remote()));
  SetName(t, trap.name);
}

void TunnelManager::OnAcquire(const KernelEvent& e) {
  auto it = traps_.find(e.trap);
  if (it == traps_.end()) {
    LOG_INFO("kernel: traffic %s -> %s hit trap %u, which is not armed",
             e.source.ToString().c_str(), e.destination.ToString().c_str(), e.trap);
    return;
  }
  Trap& trap = it->second;
  Phase2Tunnel* live = LivePhase2(trap.name);
  // Once per tunnel: the kernel asks again for every flow and after its
  // acquire timeout while the negotiation runs.
  if (live != nullptr && InIsakmpd(live->status)) return;
  if (clock_.UnixNow() < trap.retry_unix) return;  // back-off after a failure
  const db::IpsecTunnel* def = database_ ? database_->FindIpsecTunnel(trap.name) : nullptr;
  const db::IkeTunnel* ike = def ? database_->FindIkeTunnel(def->ike_tunnel()) : nullptr;
  if (ike == nullptr) return;
  if (!isakmpd_.connected()) {
    LOG_ERROR("%s: traffic %s -> %s hit the trap, but isakmpd is not running", trap.name.c_str(),
              e.source.ToString().c_str(), e.destination.ToString().c_str());
    return;
  }
  ipc::ActivateReply reply;
  std::string refusal;
  if (!StartTarget({ike, def, 0, 0}, &reply, &refusal)) {
    LOG_ERROR("%s: traffic hit the trap, not activated: %s", trap.name.c_str(), refusal.c_str());
    return;
  }
  if (Phase2Tunnel* t = LivePhase2(trap.name)) {
    LOG_EVENT("%s: traffic %s -> %s hit the %s trap of %s: activating", Tag(*t).c_str(),
              e.source.ToString().c_str(), e.destination.ToString().c_str(),
              trap.clear ? "discovery" : "on-demand", trap.name.c_str());
  }
}

bool TunnelManager::FailTrapTunnel(Phase2Tunnel& t, const std::string& reason) {
  Trap* trap = TrapOf(t.name);
  // Only a negotiation that failed: an installed tunnel that fails (a
  // second report the kernel refused) takes the ordinary way to Failed.
  if (trap == nullptr || t.activation == db::MANUAL || t.activation == db::ACTIVATION_UNSPECIFIED ||
      (t.status != TunnelStatus::kNegotiating && t.status != TunnelStatus::kClear)) {
    return false;
  }
  const db::Settings* settings = database_ ? &database_->proto().settings() : nullptr;
  const uint64_t base = settings && settings->trap_retry_seconds() ? settings->trap_retry_seconds()
                                                                   : kDefaultTrapRetrySeconds;
  const uint32_t shift = std::min<uint32_t>(trap->failures, 12);
  const uint64_t wait = std::min(base << shift, std::max(base, kMaxTrapRetrySeconds));
  ++trap->failures;
  trap->retry_unix = clock_.UnixNow() + wait;
  t.retry_unix = trap->retry_unix;
  const std::string when = "traffic after " + ClockTime(trap->retry_unix) + " (" +
                           std::to_string(wait) + " s) starts the next attempt";
  std::string text;
  if (trap->clear) {
    text = "in the clear: " + reason + "; " + when;
    Transition(t, TunnelStatus::kClear, reason);
  } else {
    text = reason + "; " + when;
    Transition(t, TunnelStatus::kFailed, reason);
  }
  t.reason.Set(text);
  LOG_ERROR("%s: negotiation failed in state %s: %s", Tag(t).c_str(),
            tunneldb::Phase2StateName(t.state).c_str(), text.c_str());
  return true;
}

}  // namespace ike::tmd
