#include "cpsd/core/cpsd_service.h"

#include <unordered_map>

#include "common/log.h"
#include "common/memory.h"

namespace ike::cpsd {
namespace {

// Matches ike::ipc::kProtocolVersion (common/ipc.h); that header pulls in the
// event-loop side, which the pure core does not link.
constexpr uint32_t kVersion = 1;

LogLevel ToLogLevel(db::LogLevel level) {
  switch (level) {
    case db::NONE:
      return LogLevel::kNone;
    case db::ERROR:
      return LogLevel::kError;
    case db::INFORMATION:
      return LogLevel::kInformation;
    case db::DEBUG:
      return LogLevel::kDebug;
    default:
      return LogLevel::kEvents;  // UNSPECIFIED keeps the default level
  }
}

}  // namespace

ipc::Envelope ReplyTo(const ipc::Envelope& request) {
  ipc::Envelope reply;
  reply.set_version(kVersion);
  reply.set_request_id(request.request_id());
  return reply;
}

ipc::Envelope ErrorReply(const ipc::Envelope& request, ipc::ErrorCode code, std::string reason) {
  ipc::Envelope reply = ReplyTo(request);
  reply.mutable_error()->set_code(code);
  reply.mutable_error()->set_reason(std::move(reason));
  return reply;
}

CpsdService::CpsdService(Loader loader, PskStore store, int pid)
    : loader_(std::move(loader)), store_(std::move(store)), pid_(pid) {}

Response CpsdService::Handle(const ipc::Envelope& request) {
  using Handler = ipc::Envelope (CpsdService::*)(const ipc::Envelope&);
  static const std::unordered_map<int, Handler> kTable = {
      {ipc::Envelope::kPing, &CpsdService::OnPing},
      {ipc::Envelope::kSetLogLevel, &CpsdService::OnSetLogLevel},
      {ipc::Envelope::kRefresh, &CpsdService::OnRefresh},
      {ipc::Envelope::kSkeyidRequest, &CpsdService::OnSkeyid},
  };
  auto it = kTable.find(request.body_case());
  if (it == kTable.end()) {
    LOG_INFO("unsupported request body %d", static_cast<int>(request.body_case()));
    return {ErrorReply(request, ipc::UNKNOWN_BODY, "cpsd does not serve this request"), true};
  }
  return {(this->*(it->second))(request), false};
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

ipc::Envelope CpsdService::OnPing(const ipc::Envelope& request) {
  ipc::Envelope reply = ReplyTo(request);
  reply.mutable_pong()->set_daemon("cpsd");
  reply.mutable_pong()->set_pid(pid_);
  return reply;
}

ipc::Envelope CpsdService::OnSetLogLevel(const ipc::Envelope& request) {
  // LOG_LEVEL_UNSPECIFIED keeps the current level (proto/tunneldb.proto).
  if (request.set_log_level().level() != db::LOG_LEVEL_UNSPECIFIED)
    SetLogLevel(ToLogLevel(request.set_log_level().level()));
  LOG_EVENT("log level set to %s", LogLevelName(GetLogLevel()));
  ipc::Envelope reply = ReplyTo(request);
  reply.mutable_ack()->set_message(std::string("log level ") + LogLevelName(GetLogLevel()));
  return reply;
}

ipc::Envelope CpsdService::OnRefresh(const ipc::Envelope& request) {
  Status status = Reload();
  if (!status.ok()) return ErrorReply(request, ipc::DATABASE_ERROR, status.error().message);
  ipc::Envelope reply = ReplyTo(request);
  reply.mutable_ack()->set_message("loaded " + std::to_string(store_.size()) +
                                   " pre-shared keys from " + store_.source());
  return reply;
}

ipc::Envelope CpsdService::OnSkeyid(const ipc::Envelope& request) {
  const ipc::SkeyidRequest& req = request.skeyid_request();
  SkeyidOutcome outcome = store_.ComputeSkeyid(req);
  if (outcome.code != ipc::OK) {
    // The reason names the peer and the file, never the key.
    LOG_ERROR("SKEYID request refused: %s", outcome.reason.c_str());
    return ErrorReply(request, outcome.code, outcome.reason);
  }
  LOG_INFO("computed SKEYID for peer %s (id %s)", req.remote_address().c_str(),
           req.remote_id().c_str());
  ipc::Envelope reply = ReplyTo(request);
  const Bytes& skeyid = outcome.skeyid.bytes();
  reply.mutable_skeyid_reply()->set_skeyid(skeyid.data(), skeyid.size());
  return reply;
}

}  // namespace ike::cpsd
