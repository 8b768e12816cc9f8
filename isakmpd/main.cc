// isakmpd: the IKEv1 daemon. A thin shell: logging, the event loop, the
// service; everything else is in isakmpd_core.
#include <signal.h>
#include <syslog.h>

#include <cstdio>

#include "common/daemon_args.h"
#include "common/event_loop.h"
#include "common/log.h"
#include "isakmpd/service/service.h"

namespace {

constexpr char kHelp[] =
    "usage: isakmpd [--help]\n"
    "The IKEv1 daemon (RFC 2409): Main, Aggressive and Quick Mode, Informational, NAT-T,\n"
    "DPD. Takes its configuration from tmd, its SKEYID from cpsd. Started by srcmstr\n"
    "(startsrc -s isakmpd or -g ike), in the foreground.\n"
    "  SIGTERM  send Delete payloads for every SA, exit 0\n"
    "Environment: IKE_RUNDIR (/run/ike), IKE_LOG_STDERR=1.\n"
    "See isakmpd(8).\n";

}  // namespace

int main(int argc, char** argv) {
  if (int status = ike::HandleDaemonArgs("isakmpd", argc, argv, kHelp); status >= 0) return status;
  ike::LogInit("isakmpd", LOG_LOCAL4);
  signal(SIGPIPE, SIG_IGN);
  ike::EventLoop loop;
  ike::isakmpd::IsakmpdService service(loop);
  if (auto st = service.Start(); !st) {
    fprintf(stderr, "isakmpd: %s\n", st.error().message.c_str());
    LOG_ERROR("cannot start: %s", st.error().message.c_str());
    return 1;
  }
  loop.OnSignal(SIGTERM, [&] {
    LOG_EVENT("stopping: deleting all SAs");
    service.Stop();
  });
  loop.OnSignal(SIGINT, [&] { service.Stop(); });
  loop.OnSignal(SIGHUP, [] { LOG_INFO("SIGHUP: configuration comes from tmd"); });
  LOG_EVENT("isakmpd started");
  const int rc = loop.Run();
  LOG_EVENT("isakmpd stopped");
  return rc == 0 ? 0 : 1;
}
