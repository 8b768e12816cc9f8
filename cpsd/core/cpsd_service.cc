#include "cpsd/core/cpsd_service.h"

#include "common/log.h"
#include "common/memory.h"

namespace ike::cpsd {

CpsdService::CpsdService(Loader loader, PskStore store, int pid)
    : loader_(std::move(loader)), store_(std::move(store)), dispatch_("cpsd"), pid_(pid) {
  dispatch_.OnControl(pid, [this] { return Refresh(); });
  dispatch_.On(ipc::Envelope::kSkeyidRequest,
               [this](const ipc::Envelope& e) { return OnSkeyid(e); });
  dispatch_.On(ipc::Envelope::kDaemonStatusRequest,
               [this](const ipc::Envelope&) { return OnDaemonStatus(); });
}

Response CpsdService::Handle(const ipc::Envelope& request) {
  // Every cpsd handler answers at once, so there is always a reply.
  ipc::Answer answer = dispatch_.Dispatch(request);
  return {std::move(*answer.reply), answer.close};
}

Status CpsdService::Reload() {
  Result<PskStore> fresh = loader_();
  if (!fresh.ok()) {
    LOG_ERROR("refresh failed, keeping %zu keys: %s", store_.size(), fresh.error().message.c_str());
    return fresh.error();
  }
  store_ = std::move(fresh).value();
  ++counters_.reloads;
  ReturnFreedMemory();
  LOG_EVENT("loaded %zu pre-shared keys from %s", store_.size(), store_.source().c_str());
  return Status::Ok();
}

Result<std::string> CpsdService::Refresh() {
  Status status = Reload();
  if (!status.ok()) return status.error();
  return "loaded " + std::to_string(store_.size()) + " pre-shared keys from " + store_.source();
}

ipc::Answer CpsdService::OnSkeyid(const ipc::Envelope& request) {
  const ipc::SkeyidRequest& req = request.skeyid_request();
  SkeyidOutcome outcome = store_.ComputeSkeyid(req);
  ++counters_.skeyid_requests;
  if (outcome.code == ipc::OK) {
    ++counters_.psk_found;
  } else if (outcome.code == ipc::UNKNOWN_PEER) {
    ++counters_.psk_missing;
  } else {
    ++counters_.refused;
  }
  if (outcome.code != ipc::OK) {
    // The reason names the peer and the file, never the key.
    LOG_ERROR("SKEYID request refused: %s", outcome.reason.c_str());
    return ipc::Reply(ipc::MakeError(0, outcome.code, outcome.reason));
  }
  LOG_INFO("computed SKEYID for peer %s (id %s)", req.remote_address().c_str(),
           req.remote_id().c_str());
  ipc::Envelope reply;
  const Bytes& skeyid = outcome.skeyid.bytes();
  reply.mutable_skeyid_reply()->set_skeyid(skeyid.data(), skeyid.size());
  return ipc::Reply(std::move(reply));
}

ipc::CpsdStatus CpsdService::LongStatus() const {
  ipc::CpsdStatus out;
  out.set_keys_loaded(store_.size());
  out.set_skeyid_requests(counters_.skeyid_requests);
  out.set_psk_found(counters_.psk_found);
  out.set_psk_missing(counters_.psk_missing);
  out.set_refused(counters_.refused);
  out.set_reloads(counters_.reloads);
  return out;
}

ipc::Answer CpsdService::OnDaemonStatus() const {
  const Vitals vitals = vitals_ ? vitals_() : Vitals{};
  ipc::Envelope e = ipc::DaemonStatusBody("cpsd", pid_, vitals.uptime, vitals.ipc_clients);
  *e.mutable_daemon_status_reply()->mutable_cpsd() = LongStatus();
  return ipc::Reply(std::move(e));
}

}  // namespace ike::cpsd
