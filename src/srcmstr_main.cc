// srcmstr: the System Resource Controller for group ike. Started on demand by
// startsrc; detaches, serves srcmstr.sock and supervises tmd, isakmpd and
// cpsd (src/srcmstr/supervisor.h). Exits when a stop leaves nothing running.
#include <signal.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdlib>

#include "common/daemon_args.h"
#include "common/event_loop.h"
#include "common/ipc.h"
#include "common/log.h"
#include "src/srcmstr/process.h"
#include "src/srcmstr/supervisor.h"

namespace {

constexpr char kHelp[] =
    "usage: srcmstr [--help]\n"
    "The System Resource Controller of group ike (tmd, isakmpd, cpsd): started by\n"
    "startsrc, it detaches, starts, restarts and stops the daemons, and exits when none\n"
    "is left. Use startsrc, stopsrc, lssrc and refresh.\n"
    "Environment: IKE_RUNDIR (/run/ike), IKE_SBINDIR, IKE_LOG_STDERR=1.\n"
    "See srcmstr(8).\n";

// Another srcmstr already serving the socket (two startsrc racing) wins.
bool AnotherSrcmstrAnswers(const std::string& path) {
  ike::ipc::Envelope ping;
  ping.set_version(ike::ipc::kProtocolVersion);
  ping.mutable_ping();
  auto reply = ike::ipc::Call(path, ping, ike::Duration(500));
  return reply.ok() && reply->has_pong();
}

}  // namespace

int main(int argc, char** argv) {
  // Before Detach: the help goes to the terminal that asked.
  if (int status = ike::HandleDaemonArgs("srcmstr", argc, argv, kHelp); status >= 0) return status;
  int ready_fd = ike::src::Detach();
  ike::LogInit("srcmstr", LOG_LOCAL4);
  signal(SIGPIPE, SIG_IGN);
  const std::string path = ike::ipc::SocketPath("srcmstr");
  if (AnotherSrcmstrAnswers(path)) {
    ike::src::ReportReady(ready_fd, "");
    return 0;
  }

  ike::EventLoop loop;
  bool exiting = false;
  // Unlink first, so a startsrc arriving now starts a fresh srcmstr instead
  // of talking to one that is leaving; stop a moment later so the last reply
  // is flushed.
  auto on_idle = [&loop, &path, &exiting] {
    if (exiting) return;
    exiting = true;
    LOG_EVENT("no subsystem is active any more, exiting");
    unlink(path.c_str());
    loop.Schedule(ike::Duration(200), [&loop] { loop.Stop(); });
  };
  ike::src::Supervisor supervisor(loop, on_idle);
  ike::ipc::Server server(
      loop, path,
      [&supervisor](const ike::ipc::ConnectionPtr& conn, const ike::ipc::Envelope& request) {
        supervisor.HandleRequest(conn, request);
      });
  loop.OnSignal(SIGCHLD, [&supervisor] { supervisor.ReapChildren(); });
  loop.OnSignal(SIGTERM, [&supervisor] { supervisor.StopAll(); });
  loop.OnSignal(SIGHUP, [] {});  // detached: a stray hangup must not kill us
  ike::Status listening = server.Listen();
  if (!listening.ok()) {
    LOG_ERROR("%s", listening.error().message.c_str());
    ike::src::ReportReady(ready_fd, "srcmstr: " + listening.error().message);
    return 1;
  }
  ike::src::ReportReady(ready_fd, "");
  if (const char* copy = getenv("IKE_LOG_STDERR"); copy != nullptr && std::string(copy) == "1") {
    ike::src::RedirectStderr(ike::ipc::RunDir() + "/srcmstr.err");
  }
  LOG_EVENT("srcmstr started, listening on %s", path.c_str());
  int rc = loop.Run();
  // The Server removes the socket only if it is still the one it bound, so a
  // newer srcmstr that took over the path keeps its socket.
  return rc == 0 ? 0 : 1;
}
