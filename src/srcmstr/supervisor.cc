#include "src/srcmstr/supervisor.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>

#include "common/log.h"
#include "src/core/src_messages.h"
#include "src/core/subsystems.h"
#include "src/srcmstr/process.h"

namespace ike::src {
namespace {

constexpr Duration kStartLimit(10000);  // conventions.md: 10 s per subsystem
constexpr Duration kStopLimit(10000);   // then SIGKILL
constexpr Duration kPollInterval(100);
constexpr Duration kPingTimeout(300);
constexpr Duration kRestartDelay(1000);
constexpr Duration kRefreshTimeout(5000);
constexpr size_t kErrLines = 5;

ipc::Envelope SrcReplyEnvelope(const std::vector<std::string>& lines, bool failed) {
  ipc::Envelope reply;
  for (const auto& line : lines) reply.mutable_src_reply()->add_line(line);
  reply.mutable_src_reply()->set_failed(failed);
  return reply;
}

ipc::Envelope Request(uint64_t id) {
  ipc::Envelope e;
  e.set_version(ipc::kProtocolVersion);
  e.set_request_id(id);
  return e;
}

}  // namespace

Supervisor::Supervisor(EventLoop& loop, std::function<void()> on_idle)
    : loop_(loop), on_idle_(std::move(on_idle)) {
  for (const auto& name : GroupMembers()) subsystems_[name].name = name;
  BuildDispatch();
}

// One handler per body case (common/ipc_dispatch.h); a body not listed here
// gets Error{UNKNOWN_BODY} and the connection is closed.
void Supervisor::BuildDispatch() {
  using B = ipc::Envelope;
  using C = const ipc::ConnectionPtr&;
  dispatch_.OnPing(getpid());
  dispatch_.On(B::kSrcStart, [this](const B& request, C conn) {
    // The socket is already gone; startsrc retries with a fresh srcmstr
    // rather than have us start daemons and then exit under them.
    if (closing_) return ipc::Reply(ipc::MakeError(0, ipc::NOT_READY, "srcmstr is exiting"));
    Enqueue([this, conn, request] { ServeStart(conn, request); });
    return ipc::NoReply();
  });
  dispatch_.On(B::kSrcStop, [this](const B& request, C conn) {
    Enqueue([this, conn, request] { ServeStop(conn, request); });
    return ipc::NoReply();
  });
  dispatch_.On(B::kSrcStatusRequest, [this](const B& request, C conn) {
    ServeStatus(conn, request);
    return ipc::NoReply();
  });
  dispatch_.On(B::kSrcRefresh, [this](const B& request, C conn) {
    ServeRefresh(conn, request);
    return ipc::NoReply();
  });
}

void Supervisor::HandleRequest(const ipc::ConnectionPtr& conn, const ipc::Envelope& request) {
  ipc::Deliver(*conn, dispatch_.Dispatch(request, conn));
}

void Supervisor::Enqueue(std::function<void()> job) {
  jobs_.push_back(std::move(job));
  if (!job_running_) JobDone();
}

void Supervisor::JobDone() {
  job_running_ = false;
  if (jobs_.empty()) return;
  job_running_ = true;
  auto job = std::move(jobs_.front());
  jobs_.pop_front();
  job();
}

// ---- start ------------------------------------------------------------------

void Supervisor::ServeStart(const ipc::ConnectionPtr& conn, const ipc::Envelope& request) {
  const auto& req = request.src_start();
  auto targets = ResolveTarget(req.group(), req.subsystem());
  if (!targets.ok()) {
    Reply(conn, request, SrcReplyEnvelope({targets.error().message}, true));
    JobDone();
    return;
  }
  auto lines = std::make_shared<Lines>();
  StartInOrder(*targets, 0, lines, [this, conn, request, lines](bool ok) {
    Reply(conn, request, SrcReplyEnvelope(*lines, !ok));
    JobDone();
    if (!ok) CheckIdle();
  });
}

// Starts |names| one after the other, each only once the previous answers
// Ping (tmd must be up before isakmpd connects to it). Stops at a failure.
void Supervisor::StartInOrder(std::vector<std::string> names, size_t index,
                              std::shared_ptr<Lines> lines, std::function<void(bool ok)> done) {
  if (index == names.size()) {
    done(true);
    return;
  }
  Subsystem& sub = Get(names[index]);
  if (sub.state != State::kInoperative) {
    for (auto& line : MsgAlreadyActive(sub.name)) lines->push_back(line);
    StartInOrder(std::move(names), index + 1, lines, std::move(done));
    return;
  }
  sub.limiter.Reset();
  StartOne(sub, true, [this, names, index, lines, done, &sub](bool ok, Lines out) {
    lines->insert(lines->end(), out.begin(), out.end());
    if (!ok) {
      done(false);
      return;
    }
    sub.want_running = true;
    StartInOrder(names, index + 1, lines, done);
  });
}

void Supervisor::StartOne(Subsystem& sub, bool truncate_err, StartDone done) {
  std::string binary = FindInstalledBinary(sub.name);
  if (binary.empty()) {
    done(false, {"The " + sub.name + " Subsystem could not be started: no " + sub.name +
                 " program in $IKE_SBINDIR, srcmstr's directory or ../sbin."});
    return;
  }
  Result<pid_t> pid = Spawn(binary, sub.name, ErrPath(sub.name), truncate_err);
  if (!pid.ok()) {
    done(false, {"The " + sub.name + " Subsystem could not be started: " + pid.error().message});
    return;
  }
  LOG_INFO("started subsystem %s (%s), pid %d", sub.name.c_str(), binary.c_str(), *pid);
  sub.pid = *pid;
  sub.state = State::kStarting;
  sub.on_started = std::move(done);
  sub.deadline = loop_.Now() + kStartLimit;
  sub.timer = loop_.Schedule(kPollInterval, [this, &sub] {
    sub.timer = 0;
    PollStarted(sub);
  });
}

// Up means "answers Ping on its socket", not merely "process exists".
void Supervisor::PollStarted(Subsystem& sub) {
  if (sub.state != State::kStarting || sub.pid == 0) return;
  ipc::Envelope ping = Request(static_cast<uint64_t>(sub.pid));
  ping.mutable_ping();
  auto reply = ipc::Call(ipc::SocketPath(sub.name), ping, kPingTimeout);
  if (reply.ok() && reply->has_pong() &&
      (reply->pong().pid() == 0 || reply->pong().pid() == sub.pid)) {
    sub.state = State::kActive;
    LOG_EVENT("subsystem %s is active, pid %d", sub.name.c_str(), sub.pid);
    if (auto done = std::exchange(sub.on_started, nullptr))
      done(true, {MsgStarted(sub.name, sub.pid)});
    return;
  }
  if (loop_.Now() >= sub.deadline) {
    LOG_ERROR("subsystem %s (pid %d) did not answer within 10 seconds, killing it",
              sub.name.c_str(), sub.pid);
    Lines lines = StartFailure(sub, "did not answer within 10 seconds and was stopped");
    // Report only once it is reaped, so a retry cannot race the old process.
    StartDone done = std::exchange(sub.on_started, nullptr);
    sub.state = State::kStopping;
    sub.on_stopped = [done, lines] {
      if (done) done(false, lines);
    };
    kill(sub.pid, SIGKILL);
    return;
  }
  sub.timer = loop_.Schedule(kPollInterval, [this, &sub] {
    sub.timer = 0;
    PollStarted(sub);
  });
}

Supervisor::Lines Supervisor::StartFailure(const Subsystem& sub, const std::string& why) const {
  Lines lines = {"The " + sub.name + " Subsystem " + why + "."};
  for (auto& line : LastLines(ReadFileTail(ErrPath(sub.name), 8192), kErrLines))
    lines.push_back(line);
  return lines;
}

// ---- children ---------------------------------------------------------------

void Supervisor::ReapChildren() {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (auto& [name, sub] : subsystems_) {
      if (sub.pid == pid) {
        OnChildExit(sub, status);
        break;
      }
    }
  }
}

void Supervisor::OnChildExit(Subsystem& sub, int wait_status) {
  sub.pid = 0;
  sub.last_wait_status = wait_status;
  if (sub.timer != 0) loop_.Cancel(std::exchange(sub.timer, 0));
  std::string how = DescribeWaitStatus(wait_status);
  switch (sub.state) {
    case State::kStarting: {
      sub.state = State::kInoperative;
      if (auto done = std::exchange(sub.on_started, nullptr)) {
        done(false, StartFailure(sub, "exited during start-up (" + how + ")"));
      }
      break;
    }
    case State::kStopping:
      sub.state = State::kInoperative;
      LOG_EVENT("subsystem %s stopped (%s)", sub.name.c_str(), how.c_str());
      if (auto done = std::exchange(sub.on_stopped, nullptr)) done();
      break;
    case State::kActive:
      sub.state = State::kInoperative;
      if (sub.want_running) {
        LOG_ERROR("subsystem %s died (%s), restarting", sub.name.c_str(), how.c_str());
        ScheduleRestart(sub);
      }
      break;
    case State::kInoperative:
      break;
  }
}

void Supervisor::ScheduleRestart(Subsystem& sub) {
  if (!sub.want_running) return;
  if (!sub.limiter.Allow(loop_.Now())) {
    LOG_ERROR(
        "subsystem %s died more than 5 times within 60 seconds; not restarting it, "
        "it is now inoperative (last: %s)",
        sub.name.c_str(), DescribeWaitStatus(sub.last_wait_status).c_str());
    sub.want_running = false;
    sub.state = State::kInoperative;
    return;
  }
  sub.state = State::kStarting;  // lssrc shows "starting" during the delay
  sub.timer = loop_.Schedule(kRestartDelay, [this, &sub] {
    sub.timer = 0;
    StartOne(sub, false, [this, &sub](bool ok, Lines lines) {
      if (ok) {
        LOG_EVENT("subsystem %s restarted, pid %d", sub.name.c_str(), sub.pid);
        return;
      }
      for (const auto& line : lines) LOG_ERROR("%s", line.c_str());
      ScheduleRestart(sub);
    });
  });
}

// ---- stop -------------------------------------------------------------------

void Supervisor::ServeStop(const ipc::ConnectionPtr& conn, const ipc::Envelope& request) {
  const auto& req = request.src_stop();
  auto targets = ResolveTarget(req.group(), req.subsystem());
  if (!targets.ok()) {
    Reply(conn, request, SrcReplyEnvelope({targets.error().message}, true));
    JobDone();
    return;
  }
  std::string target = req.subsystem().empty() ? req.group() : req.subsystem();
  std::vector<std::string> first, last;
  for (const auto& name : StopOrder(*targets)) (name == "tmd" ? last : first).push_back(name);
  auto lines = std::make_shared<Lines>();
  StopStages({first, last}, req.force(), lines, [this, conn, request, lines, target] {
    if (lines->empty()) lines->push_back(MsgInoperative(target));
    Reply(conn, request, SrcReplyEnvelope(*lines, false));
    JobDone();
    CheckIdle();
  });
}

void Supervisor::StopAll() {
  LOG_EVENT("SIGTERM received: stopping all subsystems");
  Enqueue([this] {
    std::vector<std::string> first, last;
    for (const auto& name : StopOrder(GroupMembers()))
      (name == "tmd" ? last : first).push_back(name);
    StopStages({first, last}, false, std::make_shared<Lines>(), [this] {
      JobDone();
      closing_ = true;
      if (on_idle_) on_idle_();
    });
  });
}

// Each stage is signalled at once and waited for as a whole; the next stage
// starts when every member of this one has exited.
void Supervisor::StopStages(std::vector<std::vector<std::string>> stages, bool force,
                            std::shared_ptr<Lines> lines, std::function<void()> done) {
  if (stages.empty()) {
    done();
    return;
  }
  std::vector<std::string> stage = std::move(stages.front());
  stages.erase(stages.begin());
  auto remaining = std::make_shared<size_t>(stage.size() + 1);
  auto next = [this, remaining, stages, force, lines, done] {
    if (--*remaining == 0) StopStages(stages, force, lines, done);
  };
  for (const auto& name : stage) {
    Subsystem& sub = Get(name);
    if (sub.state != State::kInoperative) lines->push_back(MsgRequestedStop(name));
    StopOne(sub, force, next);
  }
  next();  // the extra count: the stage cannot end while members are still being asked
}

void Supervisor::StopOne(Subsystem& sub, bool force, std::function<void()> done) {
  sub.want_running = false;
  sub.on_started = nullptr;  // a restart in flight is abandoned
  if (sub.timer != 0) loop_.Cancel(std::exchange(sub.timer, 0));
  if (sub.pid == 0) {
    sub.state = State::kInoperative;
    done();
    return;
  }
  if (sub.state == State::kStopping) {
    auto previous = std::move(sub.on_stopped);
    sub.on_stopped = [previous, done] {
      if (previous) previous();
      done();
    };
  } else {
    sub.state = State::kStopping;
    sub.on_stopped = std::move(done);
  }
  LOG_EVENT("stopping subsystem %s (pid %d) with %s", sub.name.c_str(), sub.pid,
            force ? "SIGKILL" : "SIGTERM");
  kill(sub.pid, force ? SIGKILL : SIGTERM);
  if (force) return;
  sub.timer = loop_.Schedule(kStopLimit, [this, &sub] {
    sub.timer = 0;
    if (sub.state != State::kStopping || sub.pid == 0) return;
    LOG_ERROR("subsystem %s (pid %d) did not stop within 10 seconds, sending SIGKILL",
              sub.name.c_str(), sub.pid);
    kill(sub.pid, SIGKILL);
  });
}

// ---- status and refresh -----------------------------------------------------

void Supervisor::ServeStatus(const ipc::ConnectionPtr& conn, const ipc::Envelope& request) {
  const auto& req = request.src_status_request();
  auto targets = ResolveTarget(req.group(), req.subsystem());
  if (!targets.ok()) {
    Reply(conn, request, ipc::MakeError(0, ipc::BAD_ARGUMENT, targets.error().message));
    return;
  }
  ipc::Envelope reply;
  for (const auto& name : *targets) {
    const Subsystem& sub = Get(name);
    auto* row = reply.mutable_src_status_reply()->add_subsystem();
    row->set_name(name);
    row->set_group(std::string(kGroupIke));
    row->set_pid(sub.state == State::kInoperative ? 0 : sub.pid);
    switch (sub.state) {
      case State::kInoperative:
        row->set_status(kStatusInoperative);
        break;
      case State::kStarting:
        row->set_status(kStatusStarting);
        break;
      case State::kActive:
        row->set_status(kStatusActive);
        break;
      case State::kStopping:
        row->set_status(kStatusStopping);
        break;
    }
  }
  Reply(conn, request, reply);
}

// Blocks the loop for at most kRefreshTimeout per daemon; refreshes are rare
// and operator-driven, so a simple blocking Call is acceptable here.
void Supervisor::ServeRefresh(const ipc::ConnectionPtr& conn, const ipc::Envelope& request) {
  const auto& req = request.src_refresh();
  auto targets = ResolveTarget(req.group(), req.subsystem());
  if (!targets.ok()) {
    Reply(conn, request, SrcReplyEnvelope({targets.error().message}, true));
    return;
  }
  Lines lines;
  bool failed = false;
  bool any_active = false;
  for (const auto& name : *targets) {
    const Subsystem& sub = Get(name);
    if (sub.state == State::kActive) {
      any_active = true;
      lines.push_back(RefreshOne(sub, &failed));
    } else if (!req.subsystem().empty()) {
      lines.push_back(MsgRefreshNotActive(name));
      failed = true;
    }
  }
  if (req.subsystem().empty() && !any_active) {
    lines = {MsgInoperative(req.group())};
    failed = true;
  }
  Reply(conn, request, SrcReplyEnvelope(lines, failed));
}

std::string Supervisor::RefreshOne(const Subsystem& sub, bool* failed) {
  ipc::Envelope refresh = Request(1);
  refresh.mutable_refresh();
  auto reply = ipc::Call(ipc::SocketPath(sub.name), refresh, kRefreshTimeout);
  if (reply.ok() && reply->has_ack()) {
    LOG_EVENT("subsystem %s refreshed", sub.name.c_str());
    return MsgRefreshDone();
  }
  *failed = true;
  std::string why = !reply.ok()          ? reply.error().message
                    : reply->has_error() ? reply->error().reason()
                                         : "unexpected reply";
  LOG_ERROR("refresh of subsystem %s failed: %s", sub.name.c_str(), why.c_str());
  return "The " + sub.name + " Subsystem refresh failed: " + why;
}

// ---- helpers ----------------------------------------------------------------

std::string Supervisor::ErrPath(const std::string& name) const {
  return ipc::RunDir() + "/" + name + ".err";
}

bool Supervisor::AnyRunning() const {
  for (const auto& [name, sub] : subsystems_) {
    if (sub.state != State::kInoperative) return true;
  }
  return false;
}

void Supervisor::CheckIdle() {
  if (closing_ || job_running_ || !jobs_.empty() || AnyRunning() || !on_idle_) return;
  closing_ = true;
  on_idle_();
}

void Supervisor::Reply(const ipc::ConnectionPtr& conn, const ipc::Envelope& request,
                       ipc::Envelope reply) {
  if (!conn || conn->closed()) return;
  conn->Send(ipc::MakeReply(request.request_id(), std::move(reply)));
}

}  // namespace ike::src
