// srcmstr's core: the subsystems of group ike, their processes and states,
// and the SrcStart/SrcStop/SrcStatusRequest/SrcRefresh requests. Runs on one
// EventLoop; start and stop requests are queued and served one at a time so
// a group start and a group stop never interleave.
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "common/ipc.h"
#include "common/ipc_dispatch.h"
#include "src/core/restart_limiter.h"

namespace ike::src {

class Supervisor {
 public:
  // |on_idle| is called when a stop (or a failed start) leaves no subsystem
  // running: srcmstr then exits.
  Supervisor(EventLoop& loop, std::function<void()> on_idle);

  void HandleRequest(const ipc::ConnectionPtr& conn, const ipc::Envelope& request);
  // SIGCHLD: reaps every exited child.
  void ReapChildren();
  // SIGTERM to srcmstr: a normal stop of everything, then |on_idle|.
  void StopAll();

 private:
  enum class State { kInoperative, kStarting, kActive, kStopping };
  using Lines = std::vector<std::string>;
  using StartDone = std::function<void(bool ok, Lines lines)>;

  struct Subsystem {
    std::string name;
    State state = State::kInoperative;
    pid_t pid = 0;
    bool want_running = false;  // restart when it dies
    RestartLimiter limiter;
    TimerId timer = 0;  // restart delay, Ping poll or SIGKILL deadline
    TimePoint deadline;
    int last_wait_status = 0;
    StartDone on_started;
    std::function<void()> on_stopped;
  };

  // Queue of start/stop jobs; each calls JobDone() when it has replied.
  void Enqueue(std::function<void()> job);
  void JobDone();

  void ServeStart(const ipc::ConnectionPtr& conn, const ipc::Envelope& request);
  void ServeStop(const ipc::ConnectionPtr& conn, const ipc::Envelope& request);
  void ServeStatus(const ipc::ConnectionPtr& conn, const ipc::Envelope& request);
  void ServeRefresh(const ipc::ConnectionPtr& conn, const ipc::Envelope& request);

  void StartInOrder(std::vector<std::string> names, size_t index, std::shared_ptr<Lines> lines,
                    std::function<void(bool ok)> done);
  void StartOne(Subsystem& sub, bool truncate_err, StartDone done);
  void PollStarted(Subsystem& sub);
  void StopStages(std::vector<std::vector<std::string>> stages, bool force,
                  std::shared_ptr<Lines> lines, std::function<void()> done);
  void StopOne(Subsystem& sub, bool force, std::function<void()> done);
  void OnChildExit(Subsystem& sub, int wait_status);
  void ScheduleRestart(Subsystem& sub);
  std::string RefreshOne(const Subsystem& sub, bool* failed);

  Lines StartFailure(const Subsystem& sub, const std::string& why) const;
  std::string ErrPath(const std::string& name) const;
  bool AnyRunning() const;
  void CheckIdle();
  void BuildDispatch();
  void Reply(const ipc::ConnectionPtr& conn, const ipc::Envelope& request, ipc::Envelope reply);
  Subsystem& Get(const std::string& name) { return subsystems_.at(name); }

  EventLoop& loop_;
  std::function<void()> on_idle_;
  std::map<std::string, Subsystem> subsystems_;
  ipc::Dispatcher<const ipc::ConnectionPtr&> dispatch_{"srcmstr"};
  std::deque<std::function<void()>> jobs_;
  bool job_running_ = false;
  bool closing_ = false;  // on_idle_ called: refuse new starts
};

}  // namespace ike::src
