#include "src/client/src_client.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "common/ipc.h"
#include "src/core/src_messages.h"
#include "src/core/subsystems.h"

namespace ike::src {
namespace {

constexpr Duration kPingTimeout(500);
constexpr Duration kSrcmstrStartLimit(5000);

// Runs srcmstr and waits for the first process; srcmstr's parent exits only
// when the detached daemon has bound its socket or has failed.
Status RunSrcmstr(const std::string& binary) {
  pid_t pid = fork();
  if (pid < 0) return Error{"cannot fork: " + std::string(strerror(errno))};
  if (pid == 0) {
    execl(binary.c_str(), "srcmstr", static_cast<char*>(nullptr));
    std::fprintf(stderr, "cannot execute %s: %s\n", binary.c_str(), strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error{"0513-001 The System Resource Controller daemon is not active (srcmstr " +
                 DescribeWaitStatus(status) + ")."};
  }
  return Status::Ok();
}

}  // namespace

bool SrcmstrAnswers() {
  ipc::Envelope ping;
  ping.mutable_ping();
  Result<ipc::Envelope> reply = CallSrcmstr(ping, kPingTimeout);
  return reply.ok() && reply->has_pong();
}

Status EnsureSrcmstr() {
  if (SrcmstrAnswers()) return Status::Ok();
  std::string binary = FindInstalledBinary("srcmstr");
  if (binary.empty()) {
    return Error{
        "0513-001 The System Resource Controller daemon is not active: no srcmstr "
        "program in $IKE_SBINDIR, this program's directory or ../sbin."};
  }
  Status ran = RunSrcmstr(binary);
  if (!ran.ok()) return ran;
  auto deadline = std::chrono::steady_clock::now() + kSrcmstrStartLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (SrcmstrAnswers()) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Error{"0513-001 The System Resource Controller daemon is not active (no answer on " +
               ipc::SocketPath("srcmstr") + ")."};
}

Result<ipc::Envelope> CallSrcmstr(ipc::Envelope request, Duration timeout) {
  request.set_version(ipc::kProtocolVersion);
  request.set_request_id(static_cast<uint64_t>(getpid()));
  return ipc::Call(ipc::SocketPath("srcmstr"), request, timeout);
}

void PrintLines(const std::vector<std::string>& lines) {
  for (const auto& line : lines) {
    FILE* out = IsSuccessLine(line) ? stdout : stderr;
    std::fprintf(out, "%s\n", line.c_str());
    std::fflush(out);  // keeps the order when stdout and stderr share a terminal
  }
}

int PrintReply(const ipc::Envelope& reply) {
  if (reply.has_error()) {
    std::fprintf(stderr, "%s\n", reply.error().reason().c_str());
    return 1;
  }
  if (!reply.has_src_reply()) {
    std::fprintf(stderr, "srcmstr sent an unexpected reply\n");
    return 1;
  }
  const auto& lines = reply.src_reply().line();
  PrintLines(std::vector<std::string>(lines.begin(), lines.end()));
  return reply.src_reply().failed() ? 1 : 0;
}

bool ParseCommandLine(SrcCommand command, int argc, char** argv, SrcArgs* args,
                      std::vector<std::string>* targets, int* exit_code) {
  Result<SrcArgs> parsed = ParseSrcArgs(command, std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s\n", parsed.error().message.c_str());
    *exit_code = 1;
    return false;
  }
  *args = *parsed;
  if (args->help) {
    std::fputs(Help(command).c_str(), stdout);
    *exit_code = 0;
    return false;
  }
  std::string group = args->all ? std::string(kGroupIke) : args->group;
  Result<std::vector<std::string>> resolved = ResolveTarget(group, args->subsystem);
  if (!resolved.ok()) {
    std::fprintf(stderr, "%s\n", resolved.error().message.c_str());
    *exit_code = 1;
    return false;
  }
  *targets = *resolved;
  return true;
}

}  // namespace ike::src
