// The peer's rekey, seen from the responder (issue 9.2): the initiator
// installs its new pair when Quick Mode message 2 reaches it and may send on
// it before message 3 reaches us (strongSwan does; with our own daemon as
// initiator the outbound SA waits a second, rekey.cc). So isakmpd reports our
// new inbound SA before message 2 (Phase2Established.before_message3), tmd
// installs it at once when the pair renews a tunnel that is up, and message 2
// leaves when tmd answered the report (tmd_service.cc: Ack). The
// report on message 3 confirms it (InstallSas takes it as installed); a
// NegotiationFailed for the same handle, the tunnel's end, or isakmpd's
// withdraws it. An inbound SA takes only what was encrypted with its keys,
// so installing it before message 3 proves the initiator holds them admits
// nothing (RFC 2409 5.5 leaves the moment open).
//
// A first Quick Mode (no tunnel up) still installs on message 3: its
// policies and number come with it.
#include "common/log.h"
#include "tmd/core/ipc_helpers.h"
#include "tmd/core/tunnel_manager.h"

namespace ike::tmd {
namespace {

// Longer than isakmpd waits for message 3 with the default retransmissions
// (2 + 4 + 8 + 16 + 32 s): an early SA nobody confirmed or withdrew by then
// (isakmpd dropped the exchange without a report) is deleted.
constexpr Duration kEarlyInboundLimit = std::chrono::seconds(120);

}  // namespace

void TunnelManager::InstallEarlyInbound(ipc::Phase2Established& e) {
  Phase2Tunnel* t = e.name().empty() ? nullptr : LivePhase2(e.name());
  const bool one_inbound = e.sa_size() == 1 && e.sa(0).direction() == ipc::INBOUND;
  if (t == nullptr || t->status != TunnelStatus::kActive || !one_inbound ||
      early_inbound_.count(e.handle()) != 0) {
    WipeKeys(e);
    return;
  }
  SaLimits limits;
  limits.hard_seconds = e.lifetime_seconds();
  limits.hard_kbytes = e.lifetime_kbytes();
  limits.soft_seconds = static_cast<uint32_t>(SoftLimit(e.lifetime_seconds(), ipc::RESPONDER));
  limits.soft_kbytes = e.lifetime_kbytes() && e.lifetime_seconds()
                           ? e.lifetime_kbytes() * limits.soft_seconds / e.lifetime_seconds()
                           : 0;
  Result<Phase2Tunnel::InstalledSa> installed = InstallChildSa(t->number, e.sa(0), limits);
  WipeKeys(e);
  if (!installed.ok()) {
    // Message 3's report tries again, with the whole pair.
    LOG_ERROR("%s: cannot install the peer's new inbound SA 0x%08x before message 3: %s",
              Tag(*t).c_str(), e.sa(0).spi(), installed.error().message.c_str());
    return;
  }
  EarlyInbound early;
  early.number = t->number;
  early.serial = t->serial;
  early.sa = *installed;
  early.soft_seconds = limits.soft_seconds;
  if (timers_ != nullptr) {
    const uint64_t handle = e.handle();
    early.timer = timers_->Schedule(kEarlyInboundLimit, [this, handle] {
      if (auto it = early_inbound_.find(handle); it != early_inbound_.end()) it->second.timer = 0;
      DropEarlyInbound(handle, "no Quick Mode message 3 reported");
    });
  }
  early_inbound_[e.handle()] = early;
  LOG_INFO(
      "%s: the peer renews the pair: new inbound SA 0x%08x installed as Quick Mode "
      "message 2 leaves",
      Tag(*t).c_str(), early.sa.spi);
}

bool TunnelManager::ClaimEarlyInbound(Phase2Tunnel& t, uint64_t handle, uint32_t spi) {
  auto it = early_inbound_.find(handle);
  if (it == early_inbound_.end()) return false;
  const EarlyInbound early = it->second;
  const bool same = early.number == t.number && early.serial == t.serial && early.sa.spi == spi;
  if (!same) {
    DropEarlyInbound(handle, "message 3 reported another SA");
    return false;
  }
  if (timers_ != nullptr) timers_->Cancel(early.timer);
  early_inbound_.erase(it);
  t.sas[t.sa_count++] = early.sa;
  return true;
}

uint32_t TunnelManager::EarlySoftSeconds(uint64_t handle) const {
  auto it = early_inbound_.find(handle);
  return it == early_inbound_.end() ? 0 : it->second.soft_seconds;
}

void TunnelManager::DropEarlyInbound(uint64_t handle, std::string_view why) {
  auto it = early_inbound_.find(handle);
  if (it == early_inbound_.end()) return;
  const EarlyInbound early = it->second;
  early_inbound_.erase(it);
  if (timers_ != nullptr) timers_->Cancel(early.timer);
  Status s = DeleteKernelSa(early.sa.destination, early.sa.spi);
  LOG_INFO("tunnel %u phase 2: early inbound SA 0x%08x withdrawn (%.*s)%s%s", early.number,
           early.sa.spi, static_cast<int>(why.size()), why.data(), s.ok() ? "" : ": ",
           s.ok() ? "" : s.error().message.c_str());
}

bool TunnelManager::ForgetEarlyInbound(const KernelEvent& e) {
  for (auto it = early_inbound_.begin(); it != early_inbound_.end(); ++it) {
    const EarlyInbound& early = it->second;
    if (early.sa.spi != e.spi || early.sa.destination != e.destination) continue;
    if (e.hard) {
      if (timers_ != nullptr) timers_->Cancel(early.timer);
      LOG_INFO("tunnel %u phase 2: early inbound SA 0x%08x expired before message 3", early.number,
               early.sa.spi);
      early_inbound_.erase(it);
    }
    return true;
  }
  return false;
}

void TunnelManager::DropEarlyInboundOf(uint32_t number, std::string_view why) {
  std::vector<uint64_t> handles;
  for (const auto& [handle, early] : early_inbound_) {
    if (number == 0 || early.number == number) handles.push_back(handle);
  }
  for (uint64_t h : handles) DropEarlyInbound(h, why);
}

}  // namespace ike::tmd
