// lssrc -l -s isakmpd (issue 11.5): the datagram counters, and the long
// status built from the transition counters (transitions.h) and the live
// SAs. Modelled on AIX's ipsecstat: totals, then drops by reason.
#include <map>

#include "isakmpd/sa/ipc_enums.h"
#include "isakmpd/sa/sa_manager.h"

namespace ike::isakmpd {
namespace {

void ToProto(const KindCounters& in, ipc::NegotiationCounts* out) {
  out->set_started(in.started);
  out->set_succeeded(in.established);
  out->set_rekeys(in.rekeyed);
  for (const auto& [code, count] : in.failed) {
    ipc::ReasonCount* row = out->add_failed();
    row->set_reason(code);
    row->set_count(count);
  }
}

}  // namespace

void SaManager::SendDatagram(const Endpoint& from, const Endpoint& to, ByteView packet) {
  ++counters_.packets.sent;
  deps_.packets->SendPacket(from, to, packet);
}

ipc::IsakmpdStatus SaManager::LongStatus() const {
  ipc::IsakmpdStatus out;
  ToProto(counters_.isakmp, out.mutable_phase1());
  ToProto(counters_.ipsec, out.mutable_phase2());
  // SAs that failed or were deleted and are on their way out have no IBM
  // state (ToIpc: UNSPECIFIED): not listed.
  std::map<ipc::Phase1State, uint64_t> isakmp;
  for (const auto& [handle, sa] : sas_) {
    const ipc::Phase1State s = ToIpc(sa->mode, sa->step, sa->role);
    if (s != ipc::PHASE1_STATE_UNSPECIFIED) ++isakmp[s];
  }
  for (const auto& [state, count] : isakmp) {
    ipc::Phase1StateCount* row = out.add_isakmp_sas();
    row->set_state(state);
    row->set_count(count);
  }
  std::map<ipc::Phase2State, uint64_t> ipsec;
  for (const auto& [handle, child] : children_) {
    const ipc::Phase2State s = ToIpc(child->step);
    if (s != ipc::PHASE2_STATE_UNSPECIFIED) ++ipsec[s];
  }
  for (const auto& [state, count] : ipsec) {
    ipc::Phase2StateCount* row = out.add_ipsec_sas();
    row->set_state(state);
    row->set_count(count);
  }
  out.set_packets_in(counters_.packets.received);
  out.set_packets_out(counters_.packets.sent);
  for (const auto& [reason, count] : counters_.packets.dropped) {
    ipc::DropCount* row = out.add_dropped();
    row->set_reason(reason);
    row->set_count(count);
  }
  out.set_half_open(half_open_table_.total());
  out.set_dpd_probes_sent(counters_.dpd_probes_sent);
  out.set_nat_keepalives_sent(counters_.nat_keepalives);
  out.set_icmp_errors(counters_.icmp_errors);
  out.set_fragments_in(counters_.fragments_received);
  out.set_fragments_out(counters_.fragments_sent);
  return out;
}

}  // namespace ike::isakmpd
