// ike: starts, stops and lists IKE tunnels by asking tmd (aix-ike.md 1).
// Exit status: 0 success; 1 bad arguments (message and usage on stderr);
// 2 tmd answered with an error or could not be reached ("ike: <reason>").
#include <cstdio>
#include <string>
#include <vector>

#include "common/ipc.h"
#include "ikecmd/args.h"
#include "ikecmd/render.h"

namespace {

using namespace ike;

constexpr Duration kTimeout{10000};

int Fail(const std::string& reason) {
  std::fprintf(stderr, "ike: %s\n", reason.c_str());
  return 2;
}

// cmd=log: every daemon that answers gets the new level.
int SetLevels(const cmd::Arguments& a) {
  int answered = 0;
  for (const char* daemon : {"tmd", "isakmpd", "cpsd"}) {
    Result<ipc::Envelope> r = ipc::Call(ipc::SocketPath(daemon), cmd::BuildRequest(a), kTimeout);
    if (!r.ok()) {
      std::fprintf(stderr, "ike: %s: %s\n", daemon, r.error().message.c_str());
    } else if (r->has_error()) {
      std::fprintf(stderr, "ike: %s: %s\n", daemon, r->error().reason().c_str());
    } else {
      std::printf("%s: %s\n", daemon, r->ack().message().c_str());
      ++answered;
    }
  }
  return answered > 0 ? 0 : 2;
}

// tmd sends a listing in chunks (ListReply.more); the table needs them all
// (failure lines come after every row), so they are joined, then rendered.
Result<ipc::Envelope> CallList(const ipc::Envelope& request) {
  ipc::Envelope joined;
  Status s = ipc::CallStream(ipc::SocketPath("tmd"), request, kTimeout, [&](ipc::Envelope& part) {
    if (!part.has_list_reply()) {
      joined = std::move(part);  // an Error ends the listing
      return false;
    }
    cmd::AppendListChunk(part.mutable_list_reply(), &joined);
    return joined.list_reply().more();
  });
  if (!s.ok()) return s.error();
  return joined;
}

}  // namespace

int main(int argc, char** argv) {
  Result<cmd::Arguments> args =
      cmd::ParseArguments(std::vector<std::string>(argv + 1, argv + argc));
  if (!args.ok()) {
    std::fprintf(stderr, "ike: %s\n%s", args.error().message.c_str(), cmd::Usage());
    return 1;
  }
  const cmd::Arguments& a = *args;
  if (a.help) {
    std::fputs(cmd::Help().c_str(), stdout);
    return 0;
  }
  if (a.cmd == cmd::Subcommand::kLog) return SetLevels(a);
  Result<ipc::Envelope> reply =
      a.cmd == cmd::Subcommand::kList || a.cmd == cmd::Subcommand::kDiagnose
          ? CallList(cmd::BuildRequest(a))
          : ipc::Call(ipc::SocketPath("tmd"), cmd::BuildRequest(a), kTimeout);
  if (!reply.ok()) return Fail("cannot reach tmd: " + reply.error().message);
  if (reply->has_error()) return Fail(reply->error().reason());
  std::string out;
  if (reply->has_activate_reply()) out = cmd::RenderActivate(reply->activate_reply());
  if (reply->has_remove_reply()) out = cmd::RenderRemove(reply->remove_reply());
  if (reply->has_list_reply()) out = cmd::RenderList(reply->list_reply(), a);
  std::fputs(out.c_str(), stdout);
  return 0;
}
