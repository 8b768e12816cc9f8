// stopsrc [-f | -c] -s Subsystem | -g Group: asks srcmstr to stop the
// subsystems (tmd last) and prints its lines once they have exited.
#include "common/ipc.h"
#include "src/client/src_client.h"
#include "src/core/src_messages.h"

int main(int argc, char** argv) {
  using namespace ike::src;
  SrcArgs args;
  std::vector<std::string> targets;
  int exit_code = 0;
  if (!ParseCommandLine(SrcCommand::kStop, argc, argv, &args, &targets, &exit_code)) {
    return exit_code;
  }
  if (!SrcmstrAnswers()) {
    // No srcmstr, so nothing of ours runs: the AIX answer for a stopped group.
    PrintLines({MsgInoperative(args.subsystem.empty() ? args.group : args.subsystem)});
    return 0;
  }
  ike::ipc::Envelope request;
  request.mutable_src_stop()->set_group(args.group);
  request.mutable_src_stop()->set_subsystem(args.subsystem);
  request.mutable_src_stop()->set_force(args.force);
  // Two stages (tmd last), each up to 10 s before SIGKILL.
  auto reply = CallSrcmstr(request, ike::Duration(30000));
  if (!reply.ok()) {
    std::fprintf(stderr, "stopsrc: %s\n", reply.error().message.c_str());
    return 1;
  }
  return PrintReply(*reply);
}
