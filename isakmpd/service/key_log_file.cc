#include "isakmpd/service/key_log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace ike::isakmpd {
namespace {

// Closes the descriptor on every path out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

void KeyLogFile::AppendKeyLine(const std::string& path, const SecretBytes& line) {
  // O_NOFOLLOW: a symbolic link planted at the path must not send the keys
  // elsewhere.
  Fd f{open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600)};
  if (f.fd < 0) return Report(path, Errno("cannot open it"));
  struct stat st {};
  if (fstat(f.fd, &st) != 0) return Report(path, Errno("cannot stat it"));
  if (!S_ISREG(st.st_mode)) return Report(path, "not a regular file");
  // A file someone else owns (made ahead, say, by a user who hopes to read
  // the keys) is not ours to fill.
  if (st.st_uid != geteuid())
    return Report(path, "owned by uid " + std::to_string(st.st_uid) + ", not by isakmpd's uid " +
                            std::to_string(geteuid()));
  if ((st.st_mode & 077) != 0) {
    if (fchmod(f.fd, 0600) != 0) return Report(path, Errno("cannot make it mode 0600"));
    LOG_EVENT("key log %s: group and other access removed (mode 0600)", path.c_str());
  }
  ByteView rest = line.view();
  while (!rest.empty()) {
    const ssize_t n = write(f.fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Report(path, Errno("cannot write to it"));
    rest = rest.subspan(static_cast<size_t>(n));
  }
  last_problem_.clear();
}

void KeyLogFile::Report(const std::string& path, const std::string& problem) {
  if (problem == last_problem_) return;
  last_problem_ = problem;
  LOG_ERROR("key log %s (settings.ike_key_log): %s; key not written", path.c_str(),
            problem.c_str());
}

}  // namespace ike::isakmpd
