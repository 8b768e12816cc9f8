// startsrc -s Subsystem | -g Group: starts srcmstr if needed, asks it to start
// the subsystems (tmd first) and prints its lines once all answer Ping.
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
  ike::Status up = EnsureSrcmstr();
  if (!up.ok()) {
    std::fprintf(stderr, "%s\n", up.error().message.c_str());
    return 1;
  }
  ike::ipc::Envelope request;
  request.mutable_src_start()->set_group(args.group);
  request.mutable_src_start()->set_subsystem(args.subsystem);
  // srcmstr waits up to 10 s per subsystem for its Ping answer.
  auto reply = CallSrcmstr(request, ike::Duration(10000 * targets.size() + 5000));
  if (!reply.ok()) {
    std::fprintf(stderr, "startsrc: %s\n", reply.error().message.c_str());
    return 1;
  }
  return PrintReply(*reply);
}
