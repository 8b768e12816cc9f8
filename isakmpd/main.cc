// isakmpd: the IKEv1 daemon. A thin shell: logging, the event loop, the
// service; everything else is in isakmpd_core.
#include <signal.h>
#include <syslog.h>

#include <cstdio>

#include "common/event_loop.h"
#include "common/log.h"
#include "isakmpd/service/service.h"

int main() {
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
