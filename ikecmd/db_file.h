// The file side of ikedb's edits: read tunnels.db, lock it against a second
// ikedb, and replace it atomically so tmd never reads half a file.
#pragma once

#include <string>

#include "common/result.h"

namespace ike::cmd {

// The whole file. A missing file is an error unless |missing_is_empty|
// (put into a database that does not exist yet creates it).
Result<std::string> ReadDbFile(const std::string& path, bool missing_is_empty = false);

// Holds an exclusive flock(2) on the directory of |path| while it lives, so
// two ikedb edits of one database run one after the other instead of one
// losing the other's change (the file itself is replaced, so it cannot
// carry the lock).
class DbLock {
 public:
  static Result<DbLock> Take(const std::string& path);
  DbLock(DbLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DbLock& operator=(DbLock&&) = delete;
  ~DbLock();

 private:
  explicit DbLock(int fd) : fd_(fd) {}
  int fd_;
};

// Replaces |path| with |text|: a temporary file in the same directory,
// written and synced, given the old file's mode and owner (a new file: 0644
// less the umask), then renamed over |path| (a symlink's target). On any
// failure |path| is untouched and the temporary file removed.
Status WriteDbFileAtomically(const std::string& path, const std::string& text);

}  // namespace ike::cmd
