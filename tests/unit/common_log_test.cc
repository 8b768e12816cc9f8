// Log level names, filtering and the IKE_LOG_STDERR copy.
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/event_loop.h"
#include "common/log.h"
#include "common/log_sink.h"

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

// A datagram socket standing in for syslogd's /dev/log.
class FakeSyslogd {
 public:
  FakeSyslogd() {
    char dir[] = "/tmp/ike-syslogd-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    dir_ = dir;
    path_ = dir_ + "/log";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~FakeSyslogd() {
    close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  // Every datagram waiting now, without blocking.
  std::vector<std::string> Drain() {
    std::vector<std::string> out;
    char buf[4096];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  std::string dir_, path_;
  int fd_ = -1;
};

// The text after "ident[pid]: ".
std::string Text(const std::string& datagram) {
  size_t at = datagram.find("]: ");
  return at == std::string::npos ? datagram : datagram.substr(at + 3);
}

TEST_CASE("A line goes out at once as <PRI>timestamp ident[pid]: text when nothing defers") {
  FakeSyslogd syslogd;
  internal::SyslogSink sink;
  sink.Configure(syslogd.path(), "tmd", LOG_LOCAL4, 1234);
  sink.Submit(LOG_NOTICE, "tunnel 1 phase 1: INIT -> WAIT SA", false);
  std::vector<std::string> got = syslogd.Drain();
  REQUIRE(got.size() == 1);
  CHECK(got[0].rfind("<" + std::to_string(LOG_LOCAL4 | LOG_NOTICE) + ">", 0) == 0);
  CHECK(got[0].find(" tmd[1234]: tunnel 1 phase 1: INIT -> WAIT SA") != std::string::npos);
  CHECK(got[0].size() == std::string("<165>Nov 22 10:14:21 tmd[1234]: ").size() +
                             std::string("tunnel 1 phase 1: INIT -> WAIT SA").size());
}

TEST_CASE("Deferred lines wait for one scheduled flush; an error line sends all in order") {
  FakeSyslogd syslogd;
  internal::SyslogSink sink;
  sink.Configure(syslogd.path(), "isakmpd", LOG_LOCAL4, 1);
  std::vector<int> scheduled;
  sink.DeferTo([&](int delay_ms) { scheduled.push_back(delay_ms); });
  sink.Submit(LOG_NOTICE, "one", false);
  sink.Submit(LOG_NOTICE, "two", false);
  CHECK(syslogd.Drain().empty());
  CHECK(scheduled == std::vector<int>{0});
  sink.Flush();
  std::vector<std::string> got = syslogd.Drain();
  REQUIRE(got.size() == 2);
  CHECK(Text(got[0]) == "one");
  CHECK(Text(got[1]) == "two");

  sink.Submit(LOG_NOTICE, "three", false);
  sink.Submit(LOG_ERR, "four", true);
  got = syslogd.Drain();
  REQUIRE(got.size() == 2);
  CHECK(Text(got[0]) == "three");
  CHECK(Text(got[1]) == "four");

  // Another thread's lines are not deferred to this thread's loop.
  std::thread([&] { sink.Submit(LOG_NOTICE, "other thread", false); }).join();
  got = syslogd.Drain();
  REQUIRE(got.size() == 1);
  CHECK(Text(got[0]) == "other thread");

  sink.Submit(LOG_NOTICE, "five", false);
  sink.StopDeferring();
  got = syslogd.Drain();
  REQUIRE(got.size() == 1);
  CHECK(Text(got[0]) == "five");
}

TEST_CASE("A full syslog socket never blocks a deferred flush; overflow is counted, not hidden") {
  FakeSyslogd syslogd;  // nobody reads: the socket fills after a few datagrams
  internal::SyslogSink sink;
  sink.Configure(syslogd.path(), "isakmpd", LOG_LOCAL4, 1);
  std::vector<int> scheduled;
  sink.DeferTo([&](int delay_ms) { scheduled.push_back(delay_ms); });
  const size_t total = internal::SyslogSink::kMaxQueued + 500;
  for (size_t i = 0; i < total; ++i) sink.Submit(LOG_NOTICE, "line " + std::to_string(i), false);
  CHECK(sink.queued_for_test() == internal::SyslogSink::kMaxQueued);
  CHECK(sink.dropped_for_test() > 0);
  sink.Flush();  // returns although the socket is full
  CHECK(sink.queued_for_test() > 0);
  CHECK(sink.dropped_for_test() == 0);  // now a line of its own in the queue
  CHECK(scheduled.back() == internal::SyslogSink::kRetryMs);

  // The reader catches up: the first line after the sent ones says how many were lost.
  std::vector<std::string> got = syslogd.Drain();
  const size_t first_batch = got.size();
  CHECK(first_batch > 0);
  CHECK(Text(got[0]) == "line 0");
  bool saw_note = false;
  for (int round = 0; round < 100000 && sink.queued_for_test() > 0; ++round) {
    sink.Flush();
    for (const std::string& line : syslogd.Drain()) {
      if (Text(line).find("log lines dropped: the syslog daemon did not take them in time") !=
          std::string::npos) {
        saw_note = true;
      }
      got.push_back(line);
    }
  }
  CHECK(saw_note);
  CHECK(Text(got.back()) == "line " + std::to_string(total - 1));
  sink.StopDeferring();
}

TEST_CASE("EventLoop::Run batches log lines and sends the rest when it stops") {
  FakeSyslogd syslogd;
  LogInit("looptest", LOG_LOCAL4, syslogd.path().c_str());
  EventLoop loop;
  size_t seen_during_callback = 99;
  loop.Schedule(Duration(0), [&] {
    LOG_EVENT("first");
    LOG_EVENT("second");
    seen_during_callback = syslogd.Drain().size();  // still queued
    loop.Schedule(Duration(20), [&] { loop.Stop(); });
  });
  REQUIRE(loop.Run() == 0);
  CHECK(seen_during_callback == 0);
  std::vector<std::string> got = syslogd.Drain();
  REQUIRE(got.size() == 2);
  CHECK(Text(got[0]) == "first");
  CHECK(Text(got[1]) == "second");
  LogInit("logtest", LOG_LOCAL4);
}

}  // namespace
}  // namespace ike
