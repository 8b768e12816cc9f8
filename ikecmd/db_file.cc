// rename(2) within a directory is atomic: a reader (tmd on refresh) sees
// the old file or the new one, never a mix.
#include "ikecmd/db_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ike::cmd {
namespace {

Error SysError(const std::string& path, const char* what) {
  return Error{path + ": " + what + ": " + std::strerror(errno)};
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The file a write must replace: the target of a symlink, else |path|.
std::string Target(const std::string& path) {
  char resolved[PATH_MAX];
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && realpath(path.c_str(), resolved))
    return resolved;
  return path;
}

bool WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Mode and owner the new file takes: the old file's, or 0644 less the umask.
Status Inherit(int fd, const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return SysError(path, "cannot stat");
    const mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0644 & ~mask) != 0) return SysError(path, "cannot set the mode");
    return Status::Ok();
  }
  if (fchown(fd, st.st_uid, st.st_gid) != 0) return SysError(path, "cannot keep the owner");
  if (fchmod(fd, st.st_mode & 07777) != 0) return SysError(path, "cannot keep the mode");
  return Status::Ok();
}

}  // namespace

Result<std::string> ReadDbFile(const std::string& path, bool missing_is_empty) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT && missing_is_empty) return std::string();
    return SysError(path, "cannot open");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return SysError(path, "cannot read");
  return text.str();
}

Result<DbLock> DbLock::Take(const std::string& path) {
  const std::string dir = DirOf(Target(path));
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SysError(dir, "cannot open");
  if (flock(fd, LOCK_EX) != 0) {
    Error e = SysError(dir, "cannot lock");
    close(fd);
    return e;
  }
  return DbLock(fd);
}

DbLock::~DbLock() {
  if (fd_ >= 0) close(fd_);  // releases the lock
}

Status WriteDbFileAtomically(const std::string& path, const std::string& text) {
  const std::string target = Target(path);
  std::string tmp = target + ".ikedb-XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) return SysError(tmp, "cannot create");
  Status s = Inherit(fd, target);
  if (s.ok() && !WriteAll(fd, text)) s = SysError(tmp, "cannot write");
  if (s.ok() && fsync(fd) != 0) s = SysError(tmp, "cannot sync");
  if (close(fd) != 0 && s.ok()) s = SysError(tmp, "cannot close");
  if (s.ok() && rename(tmp.c_str(), target.c_str()) != 0) s = SysError(target, "cannot replace");
  if (!s.ok()) {
    unlink(tmp.c_str());
    return s;
  }
  // The rename itself must reach the disk before we say "written".
  const int dir = open(DirOf(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return Status::Ok();
}

}  // namespace ike::cmd
