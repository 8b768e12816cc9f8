#include "src/srcmstr/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ike::src {
namespace {

void RedirectStdio(int out_fd) {
  int null_fd = open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    if (out_fd < 0) out_fd = null_fd;
  }
  if (out_fd >= 0) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
  }
}

// In the first process: wait for the daemon's verdict and exit with it.
[[noreturn]] void AwaitReady(int read_fd, pid_t child) {
  std::string message;
  char buf[512];
  ssize_t n;
  while ((n = read(read_fd, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    message.append(buf, static_cast<size_t>(n));
  }
  waitpid(child, nullptr, 0);
  if (message == "OK") _exit(0);
  if (message.empty()) message = "srcmstr: exited during start-up (see syslog)";
  std::fprintf(stderr, "%s\n", message.c_str());
  _exit(1);
}

}  // namespace

int Detach() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t first = fork();
  if (first < 0) return -1;
  if (first > 0) {
    close(fds[1]);
    AwaitReady(fds[0], first);
  }
  close(fds[0]);
  setsid();  // no controlling terminal: a hangup of startsrc's shell is not ours
  pid_t second = fork();
  if (second != 0) _exit(second < 0 ? 1 : 0);  // the session leader leaves
  if (chdir("/") != 0) {
    // "/" always exists; nothing sensible to do otherwise.
  }
  RedirectStdio(-1);
  return fds[1];
}

void ReportReady(int ready_fd, const std::string& error) {
  if (ready_fd < 0) return;
  std::string message = error.empty() ? "OK" : error;
  ssize_t ignored = write(ready_fd, message.data(), message.size());
  (void)ignored;
  close(ready_fd);
}

Result<pid_t> Spawn(const std::string& binary, const std::string& name, const std::string& err_path,
                    bool truncate) {
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  int err_fd = open(err_path.c_str(), flags, 0600);
  if (err_fd < 0) return Error{err_path + ": " + std::strerror(errno)};
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(err_fd);
    return Error{std::string("cannot fork: ") + std::strerror(err)};
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec. libevent's handlers
    // and our blocked mask must not leak into the daemon.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    RedirectStdio(err_fd);
    close_range(3, ~0U, 0);
    execl(binary.c_str(), name.c_str(), static_cast<char*>(nullptr));
    const char* why = std::strerror(errno);
    ssize_t ignored = write(STDERR_FILENO, "srcmstr: cannot execute ", 24);
    ignored = write(STDERR_FILENO, binary.data(), binary.size());
    ignored = write(STDERR_FILENO, ": ", 2);
    ignored = write(STDERR_FILENO, why, std::strlen(why));
    ignored = write(STDERR_FILENO, "\n", 1);
    (void)ignored;
    _exit(127);
  }
  close(err_fd);
  return pid;
}

std::string ReadFileTail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff size = in.tellg();
  std::streamoff start = size > static_cast<std::streamoff>(max_bytes)
                             ? size - static_cast<std::streamoff>(max_bytes)
                             : 0;
  in.seekg(start);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void RedirectStderr(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  dup2(fd, STDERR_FILENO);
  close(fd);
}

}  // namespace ike::src
