// Log level names, filtering and the IKE_LOG_STDERR copy.
#include <syslog.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/log.h"

namespace ike {
namespace {

TEST_CASE("ParseLogLevel accepts the AIX words case-insensitively") {
  struct Case {
    const char* text;
    LogLevel level;
  };
  for (Case c :
       {Case{"none", LogLevel::kNone}, Case{"ERROR", LogLevel::kError},
        Case{"errors", LogLevel::kError}, Case{"Events", LogLevel::kEvents},
        Case{"isakmp_events", LogLevel::kEvents}, Case{"information", LogLevel::kInformation},
        Case{"INFO", LogLevel::kInformation}, Case{"debug", LogLevel::kDebug}}) {
    INFO(c.text);
    LogLevel out = LogLevel::kNone;
    REQUIRE(ParseLogLevel(c.text, &out));
    CHECK(out == c.level);
  }
  LogLevel out = LogLevel::kDebug;
  CHECK_FALSE(ParseLogLevel("verbose", &out));
  CHECK_FALSE(ParseLogLevel("", &out));
  CHECK_FALSE(ParseLogLevel("debugx", &out));
  CHECK(out == LogLevel::kDebug);
  CHECK(std::string(LogLevelName(LogLevel::kInformation)) == "information");
  CHECK(std::string(LogLevelName(LogLevel::kNone)) == "none");
}

TEST_CASE("Level filtering, default events") {
  CHECK(GetLogLevel() == LogLevel::kEvents);
  CHECK(LogEnabled(LogLevel::kError));
  CHECK(LogEnabled(LogLevel::kEvents));
  CHECK_FALSE(LogEnabled(LogLevel::kInformation));
  SetLogLevel(LogLevel::kNone);
  CHECK_FALSE(LogEnabled(LogLevel::kError));
  SetLogLevel(LogLevel::kDebug);
  CHECK(LogEnabled(LogLevel::kDebug));
  CHECK_FALSE(LogEnabled(LogLevel::kNone));
  SetLogLevel(LogLevel::kEvents);
}

TEST_CASE("IKE_LOG_STDERR=1 copies lines to stderr as ident[pid]: line") {
  char path[] = "/tmp/ike-log-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  int saved = dup(STDERR_FILENO);
  setenv("IKE_LOG_STDERR", "1", 1);
  LogInit("logtest", LOG_LOCAL4);
  fflush(stderr);
  dup2(fd, STDERR_FILENO);
  LOG_EVENT("tunnel %d phase %d: %s", 1, 1, "WAIT SA -> WAIT KE");
  LOG_INFO("filtered out at the default level");
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fd);
  unsetenv("IKE_LOG_STDERR");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  unlink(path);
  CHECK(text.str() ==
        "logtest[" + std::to_string(getpid()) + "]: tunnel 1 phase 1: WAIT SA -> WAIT KE\n");
}

}  // namespace
}  // namespace ike
