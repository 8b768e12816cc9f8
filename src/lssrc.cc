// lssrc -s Subsystem | -g Group | -a: the AIX short status table.
#include <cstdio>

#include "common/ipc.h"
#include "src/client/src_client.h"
#include "src/core/src_messages.h"

int main(int argc, char** argv) {
  using namespace ike::src;
  SrcArgs args;
  std::vector<std::string> targets;
  int exit_code = 0;
  if (!ParseCommandLine(SrcCommand::kStatus, argc, argv, &args, &targets, &exit_code)) {
    return exit_code;
  }
  std::vector<ike::ipc::SubsystemStatus> rows;
  ike::ipc::Envelope request;
  request.mutable_src_status_request()->set_group(args.all ? "ike" : args.group);
  request.mutable_src_status_request()->set_subsystem(args.subsystem);
  auto reply = CallSrcmstr(request, ike::Duration(3000));
  if (reply.ok() && reply->has_src_status_reply()) {
    const auto& got = reply->src_status_reply().subsystem();
    rows.assign(got.begin(), got.end());
  } else if (reply.ok() && reply->has_error()) {
    std::fprintf(stderr, "%s\n", reply->error().reason().c_str());
    return 1;
  } else {
    // srcmstr not running: nothing it supervises can be active.
    rows = InoperativeStatuses(targets);
  }
  std::fputs(FormatStatusTable(rows).c_str(), stdout);
  return 0;
}
