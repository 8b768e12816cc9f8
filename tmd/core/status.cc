// lssrc -l -s tmd (issue 11.5): the counters of counters.h, counted here
// at the start and end of each negotiation, and the long status built from
// them and from the live tunnels.
#include <array>

#include "tmd/core/tunnel_manager.h"

namespace ike::tmd {
namespace {

template <typename T>
void AddByStatus(const TunnelTable<T>& table,
                 google::protobuf::RepeatedPtrField<ipc::TunnelStatusCount>* out) {
  std::array<uint64_t, 8> by_status{};
  table.ForEach([&](uint32_t, const T& t) { ++by_status[static_cast<size_t>(t.status)]; });
  for (size_t s = 0; s < by_status.size(); ++s) {
    if (by_status[s] == 0) continue;
    ipc::TunnelStatusCount* row = out->Add();
    row->set_status(ToIpc(static_cast<TunnelStatus>(s)));
    row->set_count(by_status[s]);
  }
}

void Start(bool* counted, NegotiationCounters& c) {
  if (*counted) return;
  *counted = true;
  ++c.started;
}

void End(bool* counted, NegotiationCounters& c, ipc::ErrorCode failure) {
  if (!*counted) return;  // never started (queued), or counted already
  *counted = false;
  if (failure == ipc::OK) {
    ++c.succeeded;
  } else {
    ++c.failed[failure];
  }
}

}  // namespace

void ToProto(const NegotiationCounters& in, ipc::NegotiationCounts* out) {
  out->set_started(in.started);
  out->set_succeeded(in.succeeded);
  out->set_rekeys(in.rekeys);
  for (const auto& [code, count] : in.failed) {
    ipc::ReasonCount* row = out->add_failed();
    row->set_reason(code);
    row->set_count(count);
  }
}

void TunnelManager::CountStarted(Phase1Tunnel& t) { Start(&t.counted, counters_.phase1); }
void TunnelManager::CountStarted(Phase2Tunnel& t) { Start(&t.counted, counters_.phase2); }
void TunnelManager::CountEnded(Phase1Tunnel& t, ipc::ErrorCode failure) {
  End(&t.counted, counters_.phase1, failure);
}
void TunnelManager::CountEnded(Phase2Tunnel& t, ipc::ErrorCode failure) {
  End(&t.counted, counters_.phase2, failure);
}

Status TunnelManager::DeleteKernelSa(const IpAddress& destination, uint32_t spi) {
  Status s = kernel_.DeleteSa(destination, spi);
  if (s.ok()) ++counters_.kernel_sas_deleted;
  return s;
}

ipc::TmdStatus TunnelManager::LongStatus() const {
  ipc::TmdStatus out;
  AddByStatus(phase1_, out.mutable_phase1_tunnels());
  AddByStatus(phase2_, out.mutable_phase2_tunnels());
  ToProto(counters_.phase1, out.mutable_phase1());
  ToProto(counters_.phase2, out.mutable_phase2());
  out.set_kernel_sas(kernel_.ListSas().size());
  out.set_kernel_sas_added(counters_.kernel_sas_added);
  out.set_kernel_sas_expired(counters_.kernel_sas_expired);
  out.set_kernel_sas_deleted(counters_.kernel_sas_deleted);
  out.set_rekeys_failed(counters_.rekeys_failed);
  out.set_isakmpd_connected(isakmpd_.connected());
  return out;
}

}  // namespace ike::tmd
