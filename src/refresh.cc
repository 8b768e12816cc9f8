// refresh -s Subsystem | -g Group: srcmstr sends Refresh to each active
// daemon and returns one line per answer.
#include "common/ipc.h"
#include "src/client/src_client.h"
#include "src/core/src_messages.h"

int main(int argc, char** argv) {
  using namespace ike::src;
  SrcArgs args;
  std::vector<std::string> targets;
  int exit_code = 0;
  if (!ParseCommandLine(SrcCommand::kRefresh, argc, argv, &args, &targets, &exit_code)) {
    return exit_code;
  }
  if (!SrcmstrAnswers()) {
    // A refresh never starts anything (aix-ike.md 3.2).
    PrintLines({args.subsystem.empty() ? MsgInoperative(args.group)
                                       : MsgRefreshNotActive(args.subsystem)});
    return 1;
  }
  ike::ipc::Envelope request;
  request.mutable_src_refresh()->set_group(args.group);
  request.mutable_src_refresh()->set_subsystem(args.subsystem);
  auto reply = CallSrcmstr(request, ike::Duration(5000 * targets.size() + 2000));
  if (!reply.ok()) {
    std::fprintf(stderr, "refresh: %s\n", reply.error().message.c_str());
    return 1;
  }
  return PrintReply(*reply);
}
