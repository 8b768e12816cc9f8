// cpsd: the credential proxy. Holds the pre-shared keys (ConfDir()/psk.db) and
// answers isakmpd's SKEYID requests over cpsd.sock; runs in the foreground
// under srcmstr. SIGTERM: exit 0. SIGHUP: re-read the keys.
#include <signal.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdio>

#include "common/daemon_args.h"
#include "common/event_loop.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/memory.h"
#include "cpsd/core/cpsd_service.h"

namespace {

constexpr char kHelp[] =
    "usage: cpsd [--help]\n"
    "The IKE credential proxy: the only process that reads psk.db (root, mode 0600);\n"
    "computes the pre-shared-key SKEYID for isakmpd. Started by srcmstr\n"
    "(startsrc -s cpsd or -g ike), in the foreground.\n"
    "  SIGTERM  exit 0\n"
    "  SIGHUP   re-read psk.db (refresh -s cpsd)\n"
    "Environment: IKE_CONFDIR (/etc/ike), IKE_RUNDIR (/run/ike), IKE_LOG_STDERR=1.\n"
    "See cpsd(8), psk.db(5).\n";

// A start-up error is one line on stderr (srcmstr shows it to startsrc) and
// one in syslog.
int Fail(const std::string& message) {
  std::fprintf(stderr, "cpsd: %s\n", message.c_str());
  LOG_ERROR("%s", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (int status = ike::HandleDaemonArgs("cpsd", argc, argv, kHelp); status >= 0) return status;
  ike::LogInit("cpsd", LOG_LOCAL4);
  signal(SIGPIPE, SIG_IGN);
  const std::string psk_path = ike::ipc::ConfDir() + "/psk.db";
  auto load = [psk_path] { return ike::cpsd::PskStore::Load(psk_path); };
  ike::Result<ike::cpsd::PskStore> initial = load();
  if (!initial.ok()) return Fail(initial.error().message);
  ike::ReturnFreedMemory();  // what parsing psk.db left behind

  ike::cpsd::CpsdService service(load, std::move(initial).value(), getpid());
  ike::EventLoop loop;
  ike::ipc::Server server(
      loop, ike::ipc::SocketPath("cpsd"),
      [&service](const ike::ipc::ConnectionPtr& conn, const ike::ipc::Envelope& request) {
        ike::cpsd::Response response = service.Handle(request);
        conn->Send(response.reply);
        if (response.close) conn->Close();
      });
  const ike::TimePoint started = loop.Now();
  service.SetVitals([&loop, &server, started] {
    return ike::cpsd::CpsdService::Vitals{
        std::chrono::duration_cast<ike::Duration>(loop.Now() - started), server.connection_count()};
  });
  ike::Status listening = server.Listen();
  if (!listening.ok()) return Fail(listening.error().message);

  loop.OnSignal(SIGTERM, [&loop] {
    LOG_EVENT("SIGTERM received, exiting");
    loop.Stop();
  });
  loop.OnSignal(SIGINT, [&loop] { loop.Stop(); });
  // Reload errors are logged by the service; the old keys stay in use.
  loop.OnSignal(SIGHUP, [&service] { (void)service.Reload(); });

  LOG_EVENT("cpsd started, %zu pre-shared keys from %s, listening on %s", service.store().size(),
            psk_path.c_str(), server.path().c_str());
  int rc = loop.Run();
  return rc == 0 ? 0 : 1;
}
