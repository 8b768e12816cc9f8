// common/ipc_dispatch.h: the standard control answers every daemon gives.
#include "common/ipc_dispatch.h"

#include <algorithm>

namespace ike::ipc {

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
      return LogLevel::kEvents;  // EVENTS, and UNSPECIFIED: the default level
  }
}

void ApplyLogLevel(db::LogLevel level) {
  // LOG_LEVEL_UNSPECIFIED keeps the current level (proto/tunneldb.proto).
  if (level != db::LOG_LEVEL_UNSPECIFIED) ::ike::SetLogLevel(ToLogLevel(level));
}

Envelope PongBody(std::string_view daemon, int pid) {
  Envelope e;
  e.mutable_pong()->set_daemon(std::string(daemon));
  e.mutable_pong()->set_pid(pid);
  return e;
}

Envelope SetLogLevelBody(const SetLogLevel& request) {
  ApplyLogLevel(request.level());
  LOG_EVENT("log level set to %s", LogLevelName(GetLogLevel()));
  Envelope e;
  e.mutable_ack()->set_message(std::string("log level ") + LogLevelName(GetLogLevel()));
  return e;
}

Envelope RefreshBody(const Result<std::string>& outcome) {
  if (!outcome.ok()) return MakeError(0, DATABASE_ERROR, outcome.error().message);
  return MakeAck(0, *outcome);
}

Envelope UnknownBody(std::string_view daemon, const Envelope& request) {
  const int body = static_cast<int>(request.body_case());
  // Logged at information only: a peer's unknown body must not flood the log.
  LOG_INFO("unsupported request body %d; replying UNKNOWN_BODY and closing", body);
  return MakeError(
      0, UNKNOWN_BODY,
      std::string(daemon) + " does not serve this request (body " + std::to_string(body) + ")");
}

Envelope DaemonStatusBody(std::string_view daemon, int pid, Duration uptime, size_t ipc_clients) {
  Envelope e;
  DaemonStatusReply* r = e.mutable_daemon_status_reply();
  r->set_daemon(std::string(daemon));
  r->set_pid(pid);
  r->set_uptime_seconds(static_cast<uint64_t>(std::max<int64_t>(0, uptime.count() / 1000)));
  r->set_ipc_clients(static_cast<uint32_t>(ipc_clients));
  return e;
}

}  // namespace ike::ipc
