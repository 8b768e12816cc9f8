// Process plumbing for srcmstr: detaching itself and running subsystems.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace ike::src {

// Double fork + setsid, stdio to /dev/null, cwd "/". Returns (in the daemon)
// the write end of a pipe that the original process reads: it exits 0 once
// ReportReady(fd, "") is called, or prints the message and exits 1. So the
// startsrc that launched us sees a bind failure on its own stderr.
int Detach();
void ReportReady(int ready_fd, const std::string& error);

// Starts |binary| as argv[0] |name| with stdin /dev/null and stdout/stderr
// appended to |err_path| (truncated first when |truncate|), the environment
// inherited and every signal back to default. Returns the child's pid.
Result<pid_t> Spawn(const std::string& binary, const std::string& name, const std::string& err_path,
                    bool truncate);

// The last |max_bytes| of a file, or "" if it cannot be read (diagnostics).
std::string ReadFileTail(const std::string& path, size_t max_bytes);

// Sends our stderr to |path| (appending): with IKE_LOG_STDERR=1 srcmstr's log
// lines land in RunDir()/srcmstr.err instead of /dev/null, for hosts and
// tests without a syslog daemon.
void RedirectStderr(const std::string& path);

}  // namespace ike::src
