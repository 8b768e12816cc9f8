// ikedb's file handling: the database is replaced whole, keeping its mode
// and owner, through a symlink to its target, and left alone on failure.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "ikecmd/db_file.h"

namespace ike::cmd {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/ikedb-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string Slurp(const fs::path& p) {
  Result<std::string> r = ReadDbFile(p);
  REQUIRE(r.ok());
  return *r;
}

TEST_CASE("reading: missing file is an error unless asked for empty") {
  TempDir dir;
  const std::string path = dir.path / "tunnels.db";
  Result<std::string> r = ReadDbFile(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == path + ": cannot open: No such file or directory");
  r = ReadDbFile(path, /*missing_is_empty=*/true);
  REQUIRE(r.ok());
  CHECK(r->empty());
}

TEST_CASE("writing replaces the file and keeps its mode") {
  TempDir dir;
  const fs::path path = dir.path / "tunnels.db";
  std::ofstream(path) << "old\n";
  REQUIRE(chmod(path.c_str(), 0640) == 0);
  REQUIRE(WriteDbFileAtomically(path, "new\n").ok());
  CHECK(Slurp(path) == "new\n");
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_uid == getuid());
  // No temporary file is left beside it.
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("writing a new file creates it") {
  TempDir dir;
  const fs::path path = dir.path / "tunnels.db";
  REQUIRE(WriteDbFileAtomically(path, "x\n").ok());
  CHECK(Slurp(path) == "x\n");
}

TEST_CASE("writing through a symlink replaces its target") {
  TempDir dir;
  const fs::path real = dir.path / "real.db", link = dir.path / "tunnels.db";
  std::ofstream(real) << "old\n";
  fs::create_symlink(real, link);
  REQUIRE(WriteDbFileAtomically(link, "new\n").ok());
  CHECK(fs::is_symlink(link));
  CHECK(Slurp(real) == "new\n");
}

TEST_CASE("a write that cannot start names the file and why") {
  const Status s = WriteDbFileAtomically("/nonexistent-dir-ikedb/tunnels.db", "x");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("/nonexistent-dir-ikedb/tunnels.db.ikedb-") == 0);
  CHECK(s.error().message.find("cannot create") != std::string::npos);
}

TEST_CASE("the lock is taken and released") {
  TempDir dir;
  const std::string path = dir.path / "tunnels.db";
  {
    Result<DbLock> lock = DbLock::Take(path);
    REQUIRE(lock.ok());
  }
  Result<DbLock> again = DbLock::Take(path);
  CHECK(again.ok());
}

}  // namespace
}  // namespace ike::cmd
