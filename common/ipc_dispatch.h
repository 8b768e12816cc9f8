// One dispatcher for every daemon's requests (docs/architecture.md "IPC"):
// one handler per envelope body case, the standard control handlers every
// daemon answers (Ping, SetLogLevel, Refresh), and one rule for the rest: an
// unknown body gets Error{UNKNOWN_BODY} and the connection is closed. Pure:
// no sockets and no event loop; the daemon's glue sends what Dispatch returns.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/clock.h"
#include "common/ipc_frame.h"
#include "common/log.h"
#include "common/result.h"
#include "ike.pb.h"

namespace ike::ipc {

// What a handler answers. The reply is stamped with the protocol version and
// the request's id by the dispatcher, so handlers build only the body.
struct Answer {
  std::optional<Envelope> reply;  // nullopt: nothing now (later, or never)
  bool close = false;             // close the connection after the reply
};
inline Answer Reply(Envelope body) { return {std::move(body), false}; }
inline Answer NoReply() { return {}; }
inline Answer ReplyAndClose(Envelope body) { return {std::move(body), true}; }

// Sends |answer| on |conn| (anything with Send(const Envelope&) and Close(),
// such as ipc::Connection) and closes it if asked.
template <typename Conn>
void Deliver(Conn& conn, const Answer& answer) {
  if (answer.reply) conn.Send(*answer.reply);
  if (answer.close) conn.Close();
}

// The one conversion from the contract's level (proto/tunneldb.proto; the
// numbers match LogLevel's) to ours. LOG_LEVEL_UNSPECIFIED is kEvents, the
// default.
LogLevel ToLogLevel(db::LogLevel level);
// Sets the level unless it is LOG_LEVEL_UNSPECIFIED (keep the current one).
void ApplyLogLevel(db::LogLevel level);

// The bodies of the standard answers.
Envelope PongBody(std::string_view daemon, int pid);
// Applies the level, logs it, and acknowledges with "log level <name>".
Envelope SetLogLevelBody(const SetLogLevel& request);
// Ack{message} when the refresh worked, else Error{DATABASE_ERROR, reason}.
Envelope RefreshBody(const Result<std::string>& outcome);
// Error{UNKNOWN_BODY}, naming the daemon and the body case.
Envelope UnknownBody(std::string_view daemon, const Envelope& request);
// lssrc -l (issue 11.5): a DaemonStatusReply with what every daemon says of
// itself; the daemon adds its own part (mutable_tmd() and the like).
Envelope DaemonStatusBody(std::string_view daemon, int pid, Duration uptime, size_t ipc_clients);

// |Context| is what handlers get beside the request (the connection, for a
// daemon that answers later or checks who asked; nothing for a pure core).
template <typename... Context>
class Dispatcher {
 public:
  using Handler = std::function<Answer(const Envelope&, Context...)>;
  using Refresher = std::function<Result<std::string>()>;

  explicit Dispatcher(std::string daemon) : daemon_(std::move(daemon)) {}

  // One handler per body case; registering a case again replaces it.
  void On(Envelope::BodyCase body, Handler handler) {
    handlers_[static_cast<int>(body)] = std::move(handler);
  }

  // The standard control handlers.
  void OnPing(int pid) {
    On(Envelope::kPing, [daemon = daemon_, pid](const Envelope&, Context...) {
      return Reply(PongBody(daemon, pid));
    });
  }
  void OnSetLogLevel() {
    On(Envelope::kSetLogLevel,
       [](const Envelope& e, Context...) { return Reply(SetLogLevelBody(e.set_log_level())); });
  }
  // |refresh| re-reads the daemon's configuration and says what it loaded.
  void OnRefresh(Refresher refresh) {
    On(Envelope::kRefresh, [refresh = std::move(refresh)](const Envelope&, Context...) {
      return Reply(RefreshBody(refresh()));
    });
  }
  void OnControl(int pid, Refresher refresh) {
    OnPing(pid);
    OnSetLogLevel();
    OnRefresh(std::move(refresh));
  }

  // The handler's answer, its reply stamped; for an unknown body
  // Error{UNKNOWN_BODY} and close.
  Answer Dispatch(const Envelope& request, Context... context) const {
    auto it = handlers_.find(static_cast<int>(request.body_case()));
    Answer answer = it == handlers_.end() ? ReplyAndClose(UnknownBody(daemon_, request))
                                          : it->second(request, context...);
    if (answer.reply) answer.reply = MakeReply(request.request_id(), std::move(*answer.reply));
    return answer;
  }

  const std::string& daemon() const { return daemon_; }

 private:
  std::string daemon_;
  std::unordered_map<int, Handler> handlers_;
};

}  // namespace ike::ipc
