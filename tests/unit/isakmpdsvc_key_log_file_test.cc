// The key log file (settings.ike_key_log): lines appended, the file created
// mode 0600 only when a line comes, and the paths it must not write through
// (a symbolic link, a directory, someone else's file). The lines here are
// made up, not keys.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "isakmpd/service/key_log_file.h"

namespace ike::isakmpd {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    char t[] = "/tmp/ike-keylog-test-XXXXXX";
    REQUIRE(mkdtemp(t) != nullptr);
    path = t;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

SecretBytes Line(const std::string& text) { return SecretBytes(Bytes(text.begin(), text.end())); }

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

const std::string kLine1 = "0011223344556677,00112233445566778899aabbccddeeff\n";
const std::string kLine2 = "8899aabbccddeeff,ffeeddccbbaa99887766554433221100\n";

TEST_CASE("key log file: created mode 0600 at the first line, then appended to") {
  TempDir dir;
  const std::string path = dir.path + "/keys.txt";
  KeyLogFile file;
  CHECK_FALSE(fs::exists(path));      // nothing before a line comes
  const mode_t old_umask = umask(0);  // the file's own mode, not the umask, keeps it private
  file.AppendKeyLine(path, Line(kLine1));
  umask(old_umask);
  file.AppendKeyLine(path, Line(kLine2));
  CHECK(Read(path) == kLine1 + kLine2);
  CHECK(Mode(path) == 0600);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK(st.st_uid == geteuid());
  // Removed while on (rotated, say): created again.
  fs::remove(path);
  file.AppendKeyLine(path, Line(kLine2));
  CHECK(Read(path) == kLine2);
}

TEST_CASE("key log file: an existing file loses group and other access") {
  TempDir dir;
  const std::string path = dir.path + "/keys.txt";
  { std::ofstream(path) << kLine1; }
  REQUIRE(chmod(path.c_str(), 0644) == 0);
  KeyLogFile file;
  file.AppendKeyLine(path, Line(kLine2));
  CHECK(Read(path) == kLine1 + kLine2);
  CHECK(Mode(path) == 0600);
}

TEST_CASE("key log file: not through a symbolic link, not into a directory") {
  TempDir dir;
  const std::string target = dir.path + "/elsewhere.txt";
  { std::ofstream(target) << ""; }
  const std::string link = dir.path + "/keys.txt";
  fs::create_symlink(target, link);
  KeyLogFile file;
  file.AppendKeyLine(link, Line(kLine1));
  CHECK(Read(target).empty());
  const std::string sub = dir.path + "/sub";
  fs::create_directory(sub);
  file.AppendKeyLine(sub, Line(kLine1));
  CHECK(fs::is_directory(sub));
  CHECK(fs::is_empty(sub));
  // A missing directory: nothing is created on the way.
  file.AppendKeyLine(dir.path + "/missing/keys.txt", Line(kLine1));
  CHECK_FALSE(fs::exists(dir.path + "/missing"));
}

TEST_CASE("key log file: someone else's file is not filled") {
  if (geteuid() != 0) return;  // only root can make a file someone else's
  TempDir dir;
  const std::string path = dir.path + "/keys.txt";
  { std::ofstream(path) << ""; }
  REQUIRE(chown(path.c_str(), 65534, 65534) == 0);
  REQUIRE(chmod(path.c_str(), 0600) == 0);
  KeyLogFile file;
  file.AppendKeyLine(path, Line(kLine1));
  CHECK(Read(path).empty());
}

}  // namespace
}  // namespace ike::isakmpd
