#include "cpsd/core/cpsd_service.h"

#include "common/log.h"
#include "common/memory.h"

namespace ike::cpsd {

CpsdService::CpsdService(Loader loader, PskStore store, int pid)
    : loader_(std::move(loader)), store_(std::move(store)), dispatch_("cpsd") {
  dispatch_.OnControl(pid, [this] { return Refresh(); });
  dispatch_.On(ipc::Envelope::kSkeyidRequest,
               [this](const ipc::Envelope& e) { return OnSkeyid(e); });
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

}  // namespace ike::cpsd
