// startsrc -s Subsystem | -g Group: starts srcmstr if needed, asks it to start
// the subsystems (tmd first) and prints its lines once all answer Ping.
#include <unistd.h>

#include <cstdio>

#include "common/ipc.h"
#include "src/client/src_client.h"

int main(int argc, char** argv) {
  using namespace ike::src;
  SrcArgs args;
  std::vector<std::string> targets;
  int exit_code = 0;
  if (!ParseCommandLine(SrcCommand::kStart, argc, argv, &args, &targets, &exit_code)) {
    return exit_code;
  }
  ike::ipc::Envelope request;
  request.mutable_src_start()->set_group(args.group);
  request.mutable_src_start()->set_subsystem(args.subsystem);
  // srcmstr waits up to 10 s per subsystem for its Ping answer.
  const ike::Duration timeout(10000 * targets.size() + 5000);
  ike::Result<ike::ipc::Envelope> reply = ike::Error{"not sent"};
  // A second try covers an srcmstr that was just exiting (idle after a stop)
  // when we reached it: the retry starts a fresh one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    ike::Status up = EnsureSrcmstr();
    if (!up.ok()) {
      std::fprintf(stderr, "%s\n", up.error().message.c_str());
      return 1;
    }
    reply = CallSrcmstr(request, timeout);
    bool exiting = reply.ok() && reply->has_error() && reply->error().code() == ike::ipc::NOT_READY;
    // Only a refused connection is safe to repeat; a timeout may mean the
    // request is still being served.
    bool not_reached = !reply.ok() && reply.error().message.rfind("cannot connect", 0) == 0;
    if (!exiting && !not_reached) break;
    usleep(300 * 1000);  // let the old srcmstr finish leaving
  }
  if (!reply.ok()) {
    std::fprintf(stderr, "startsrc: %s\n", reply.error().message.c_str());
    return 1;
  }
  return PrintReply(*reply);
}
