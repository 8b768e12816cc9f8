// What the kernel reports on its own (issue 8.3): an SA at its soft limit,
// the moment to rekey (issue 9.2, rekey.cc), or at its hard limit, where the
// kernel has deleted it. The hard limit of a pair a rekey replaced removes
// that pair (the peer is told); of the current pair, the tunnel ends: no
// rekey made it in time.
#include "common/ipc_frame.h"
#include "common/log.h"
#include "tmd/core/ipc_helpers.h"
#include "tmd/core/tunnel_manager.h"

namespace ike::tmd {

void TunnelManager::OnKernelEvent(const KernelEvent& e) {
  if (e.kind == KernelEvent::Kind::kAcquire) return OnAcquire(e);
  if (e.hard) ++counters_.kernel_sas_expired;  // the kernel deleted it
  if (ForgetEarlyInbound(e)) return;
  Phase2Tunnel* t = phase2_.Find(e.tunnel);
  bool current = false;
  if (t != nullptr) {
    for (uint8_t i = 0; i < t->sa_count; ++i) {
      current |= t->sas[i].spi == e.spi && t->sas[i].destination == e.destination;
    }
  }
  size_t old_index = 0;
  Phase2Tunnel::OldPair* old = nullptr;
  if (t != nullptr && !current) {
    for (size_t i = 0; i < t->old_pairs.size() && old == nullptr; ++i) {
      for (uint8_t j = 0; j < t->old_pairs[i].sa_count; ++j) {
        if (t->old_pairs[i].sas[j].spi == e.spi &&
            t->old_pairs[i].sas[j].destination == e.destination) {
          old = &t->old_pairs[i];
          old_index = i;
        }
      }
    }
  }
  // An event for an SA this tunnel no longer has (removed, or the tunnel
  // number reused) changes nothing.
  if (t == nullptr || (!current && old == nullptr)) {
    LOG_INFO("kernel: SA 0x%08x of tunnel %u %s expired; no such SA in the tunnel list", e.spi,
             e.tunnel, e.hard ? "hard" : "soft");
    return;
  }
  const char* limit = e.by_volume ? "volume (lifetime_kbytes)" : "time (lifetime_seconds)";
  if (old != nullptr) {
    if (!e.hard) return;  // a replaced pair is not renewed
    LOG_EVENT(
        "%s: previous SA pair expired (SA 0x%08x, hard %s limit); the pair removed, the "
        "peer told",
        Tag(*t).c_str(), e.spi, limit);
    return RemoveOldPair(*t, old_index, /*tell_peer=*/true);
  }
  const char* direction = e.spi == t->spi_in ? "inbound" : "outbound";
  if (!e.hard) {
    char why[160];
    std::snprintf(why, sizeof why, "%s SA 0x%08x reached its soft %s limit", direction, e.spi,
                  limit);
    if (t->rekeying) {
      LOG_INFO("%s: %s; a rekey is already under way", Tag(*t).c_str(), why);
      return;
    }
    return StartRekey(*t, why);
  }
  LOG_EVENT(
      "%s: %s SA 0x%08x expired (hard %s limit) before a rekey replaced it; tunnel "
      "removed, the peer told",
      Tag(*t).c_str(), direction, e.spi, limit);
  if (t->status != TunnelStatus::kFailed && isakmpd_.connected()) {
    ipc::Envelope rm;
    rm.mutable_remove_tunnel()->set_phase(2);
    rm.mutable_remove_tunnel()->set_tunnel(t->number);
    SendToIsakmpd(std::move(rm), 0, 0, 0);
  }
  ErasePhase2(t->number);  // the other SA and the policies go with it
}

}  // namespace ike::tmd
