// tmd, the tunnel manager daemon. Runs in the foreground under srcmstr
// (conventions.md "Daemons"): loads the tunnel database, serves tmd.sock,
// stops on SIGTERM (exit 0), re-reads the database on SIGHUP.
#include <signal.h>
#include <syslog.h>

#include <cstdio>
#include <memory>

#include "common/daemon_args.h"
#include "common/event_loop.h"
#include "common/ipc.h"
#include "common/ipc_dispatch.h"
#include "common/log.h"
#include "common/memory.h"
#include "tmd/service/tmd_service.h"
#include "tmd/xfrm/xfrm_kernel.h"

namespace {

constexpr char kHelp[] =
    "usage: tmd [--help]\n"
    "The IKE tunnel manager: owns tunnels.db, numbers the tunnels, installs their SAs and\n"
    "filter rules in the kernel, answers the ike command. Started by srcmstr\n"
    "(startsrc -s tmd or -g ike), in the foreground.\n"
    "  SIGTERM  remove the tunnels and the kernel state, exit 0\n"
    "  SIGHUP   re-read tunnels.db (refresh -s tmd)\n"
    "Environment: IKE_CONFDIR (/etc/ike), IKE_RUNDIR (/run/ike), IKE_LOG_STDERR=1.\n"
    "See tmd(8), tunnels.db(5).\n";

// A start-up failure: one line on stderr and in syslog, exit status 1.
int Fatal(const std::string& line) {
  std::fprintf(stderr, "tmd: %s\n", line.c_str());
  LOG_ERROR("%s", line.c_str());
  return 1;
}

// The backend settings.kernel_backend names (XFRM unless STATE_ONLY).
ike::Result<std::unique_ptr<ike::tmd::KernelBackend>> OpenKernel(ike::db::KernelBackend kind) {
  using namespace ike;
  if (kind == db::STATE_ONLY) {
    LOG_EVENT("kernel backend: state-only (SAs and policies kept in tmd; no traffic protected)");
    return std::unique_ptr<tmd::KernelBackend>(std::make_unique<tmd::StateOnlyKernel>());
  }
  auto xfrm = tmd::XfrmKernel::Open();
  if (!xfrm.ok()) {
    return Error{"kernel backend XFRM: " + xfrm.error().message +
                 " (settings { kernel_backend: STATE_ONLY } in tunnels.db runs without it)"};
  }
  LOG_EVENT("kernel backend: XFRM (Linux tunnel cache and policies over netlink)");
  return std::unique_ptr<tmd::KernelBackend>(std::move(xfrm.value()));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ike;
  if (int status = HandleDaemonArgs("tmd", argc, argv, kHelp); status >= 0) return status;
  LogInit("tmd", LOG_LOCAL4);
  signal(SIGPIPE, SIG_IGN);
  const std::string path = ipc::ConfDir() + "/tunnels.db";
  Result<tmd::Database> database = tmd::Database::Load(path);
  if (!database.ok()) return Fatal(database.error().message);
  const db::LogLevel level = database->proto().settings().log_level();
  const int phase1_defs = database->proto().ike_tunnel_size();
  const int phase2_defs = database->proto().ipsec_tunnel_size();
  ipc::ApplyLogLevel(level);

  auto kernel = OpenKernel(database->proto().settings().kernel_backend());
  if (!kernel.ok()) return Fatal(kernel.error().message);

  EventLoop loop;
  ReturnFreedMemory();  // what parsing the text format left behind
  tmd::TmdService service(loop, ipc::SocketPath("tmd"), path,
                          std::make_shared<const tmd::Database>(std::move(database.value())),
                          std::move(kernel.value()));
  Status listening = service.Start();
  if (!listening.ok()) return Fatal(listening.error().message);
  loop.OnSignal(SIGTERM, [&] {
    LOG_EVENT("SIGTERM: stopping");
    service.Shutdown();
  });
  loop.OnSignal(SIGINT, [&] { service.Shutdown(); });
  loop.OnSignal(SIGHUP, [&] { (void)service.Refresh(); });
  LOG_EVENT("tmd started; tunnel database %s (%d phase 1, %d phase 2 definitions)", path.c_str(),
            phase1_defs, phase2_defs);
  return loop.Run() == 0 ? 0 : 1;
}
