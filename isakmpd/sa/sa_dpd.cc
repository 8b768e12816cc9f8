// Dead Peer Detection, the probing half in isakmpd (RFC 3706; issue 9.4).
// tmd keeps the schedule, counts the unanswered probes and decides that a
// peer is dead (tmd/core/dpd.cc): it has the kernel's inbound counters and
// the tunnels. Here a probe goes out on the ISAKMP SA and what becomes of it
// is reported (DpdReport). Answering the peer's probes is in
// sa_informational.cc.
#include "common/ipc_frame.h"
#include "isakmpd/exchange/informational.h"
#include "isakmpd/sa/sa_manager.h"

namespace ike::isakmpd {

ipc::Envelope SaManager::Probe(const ipc::DpdProbe& request) {
  IsakmpSa* sa = FindSa(request.handle());
  if (sa == nullptr || !sa->established() || !sa->keyed()) {
    EmitDpdReport(request.tunnel(), request.handle(), ipc::DPD_NO_SA, 0);
    return ipc::MakeAck(0);
  }
  // RFC 3706 2.1: only a peer that announced DPD understands R-U-THERE.
  if (!sa->peer_dpd) {
    EmitDpdReport(sa->tunnel, sa->handle, ipc::DPD_NOT_SUPPORTED, 0);
    return ipc::MakeAck(0);
  }
  // RFC 3706 5.3: proof of liveness is any authenticated message; a probe
  // is only needed after the peer has been silent.
  const TimePoint now = deps_.clock->Now();
  if (request.quiet_ms() != 0 && sa->last_heard &&
      now - *sa->last_heard < Duration(request.quiet_ms())) {
    EmitDpdReport(sa->tunnel, sa->handle, ipc::DPD_HEARD_RECENTLY, 0);
    return ipc::MakeAck(0);
  }
  // RFC 3706 5.5 and 7: the first sequence number is random (so a probe
  // of an earlier SA cannot pass for one of this), then one more each time.
  if (sa->dpd_seq_out == 0) {
    do sa->dpd_seq_out = deps_.random->NextU32() >> 1;  // room to count up
    while (sa->dpd_seq_out == 0);
  } else {
    ++sa->dpd_seq_out;
  }
  if (!sa->dpd_unanswered_from) sa->dpd_unanswered_from = sa->dpd_seq_out;
  SendInformational(*sa,
                    {informational::DpdNotify(*sa, wire::NotifyType::kRUThere, sa->dpd_seq_out)});
  ++counters_.dpd_probes_sent;
  EmitDpdReport(sa->tunnel, sa->handle, ipc::DPD_PROBE_SENT, sa->dpd_seq_out);
  return ipc::MakeAck(0);
}

// RFC 3706 5.5: the ACK carries the sequence number of the probe it
// answers. Any outstanding probe's number proves the peer alive; anything
// else (an old number, one never sent) is dropped and counted.
void SaManager::OnDpdAck(IsakmpSa& sa, uint32_t sequence) {
  if (!sa.dpd_unanswered_from || sequence < *sa.dpd_unanswered_from || sequence > sa.dpd_seq_out) {
    ++counters_.dpd_dropped;
    Dropped(ipc::DROP_DPD);
    LogRepeated(dpd_lines_, LogLevel::kInformation, sa,
                "dropped R-U-THERE-ACK with sequence number " + std::to_string(sequence) +
                    ": no probe of ours outstanding with that number");
    return;
  }
  sa.dpd_unanswered_from.reset();
  EmitDpdReport(sa.tunnel, sa.handle, ipc::DPD_ACKNOWLEDGED, sequence);
}

void SaManager::EmitDpdReport(uint32_t tunnel, uint64_t handle, ipc::DpdOutcome outcome,
                              uint32_t sequence) {
  ipc::Envelope e;
  ipc::DpdReport* r = e.mutable_dpd_report();
  r->set_tunnel(tunnel);
  r->set_handle(handle);
  r->set_outcome(outcome);
  r->set_sequence(sequence);
  deps_.events->Emit(std::move(e));
}

}  // namespace ike::isakmpd
