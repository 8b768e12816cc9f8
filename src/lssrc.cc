// lssrc -s Subsystem | -g Group | -a: the AIX short status table.
// lssrc -l -s Subsystem: its short line, then the daemon's long status
// (src/core/long_status.h), which the daemon itself answers.
#include <cstdio>

#include "common/ipc.h"
#include "src/client/src_client.h"
#include "src/core/long_status.h"
#include "src/core/src_messages.h"

namespace {

constexpr ike::Duration kTimeout(3000);

// The subsystem's own answer on its socket. srcmstr is not asked to
// forward it: it would have to wait on the daemon inside its event loop,
// and the daemon's socket answers the same question directly.
int PrintLongStatus(const ike::ipc::SubsystemStatus& row) {
  using namespace ike;
  if (row.status() != src::kStatusActive) {
    // AIX says the same when a request cannot reach an inoperative subsystem.
    std::fprintf(stderr, "%s\n", src::MsgRefreshNotActive(row.name()).c_str());
    return 1;
  }
  ipc::Envelope request;
  request.set_version(ipc::kProtocolVersion);
  request.set_request_id(1);
  request.mutable_daemon_status_request();
  Result<ipc::Envelope> reply = ipc::Call(ipc::SocketPath(row.name()), request, kTimeout);
  if (!reply.ok()) {
    std::fprintf(stderr, "lssrc: the %s subsystem did not answer: %s\n", row.name().c_str(),
                 reply.error().message.c_str());
    return 1;
  }
  if (!reply->has_daemon_status_reply()) {
    std::fprintf(stderr, "lssrc: the %s subsystem has no long status%s%s\n", row.name().c_str(),
                 reply->has_error() ? ": " : "",
                 reply->has_error() ? reply->error().reason().c_str() : "");
    return 1;
  }
  std::fputs(src::FormatLongStatus(row, reply->daemon_status_reply()).c_str(), stdout);
  return 0;
}

}  // namespace

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
  auto reply = CallSrcmstr(request, kTimeout);
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
  if (args.long_form) {
    if (rows.size() != 1) {
      std::fprintf(stderr, "lssrc: srcmstr sent %zu rows for %s\n", rows.size(),
                   args.subsystem.c_str());
      return 1;
    }
    return PrintLongStatus(rows[0]);
  }
  std::fputs(FormatStatusTable(rows).c_str(), stdout);
  return 0;
}
