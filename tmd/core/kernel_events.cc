// What the kernel reports on its own (issue 8.3): an SA at its soft limit
// (the moment to rekey; issue 9 builds the rekey on this event) or at its
// hard limit, where the kernel has deleted it and the tunnel ends: tmd
// removes the rest of its kernel state and has isakmpd tell the peer.
#include "common/ipc_frame.h"
#include "common/log.h"
#include "tmd/core/tunnel_manager.h"

namespace ike::tmd {

void TunnelManager::OnKernelEvent(const KernelEvent& e) {
  if (e.kind == KernelEvent::Kind::kAcquire) return OnAcquire(e);
  Phase2Tunnel* t = phase2_.Find(e.tunnel);
  // An event for an SA this tunnel no longer has (replaced, or the tunnel
  // number reused) changes nothing.
  if (t == nullptr || (e.spi != t->spi_in && e.spi != t->spi_out)) {
    LOG_INFO("kernel: SA 0x%08x of tunnel %u %s expired; no such SA in the tunnel list", e.spi,
             e.tunnel, e.hard ? "hard" : "soft");
    return;
  }
  const char* limit = e.by_volume ? "volume (lifetime_kbytes)" : "time (lifetime_seconds)";
  const char* direction = e.spi == t->spi_in ? "inbound" : "outbound";
  if (!e.hard) {
    LOG_EVENT(
        "%s: %s SA 0x%08x reached its soft %s limit; rekeying is not done yet, the "
        "tunnel ends at the hard limit",
        Tag(*t).c_str(), direction, e.spi, limit);
    return;
  }
  LOG_EVENT("%s: %s SA 0x%08x expired (hard %s limit); tunnel removed, the peer told",
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
