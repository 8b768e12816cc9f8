// tests/lib/fake_syslogd.h -- a fake /dev/log for unit tests that check log
// lines (isakmpd_lifetime_test, tmd_manager_test).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "common/log.h"

namespace ike::testing {

// A datagram socket standing in for /dev/log, so that a unit test reads the
// daemon's log lines (LogInit points the log at it for the object's life,
// under |ident|). A thread empties it all the time: a datagram socket queues
// only a few lines (net.unix.max_dgram_qlen), and the logger waits for room
// once it is full.
class FakeSyslogd {
 public:
  explicit FakeSyslogd(std::string ident) : ident_(std::move(ident)) {
    char dir[] = "/tmp/ike-syslogtest-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    dir_ = dir;
    path_ = dir_ + "/log";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    reader_ = std::thread([this] {
      while (!stop_) {
        if (!ReadAll()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    LogInit(ident_.c_str(), LOG_LOCAL4, path_.c_str());
  }
  ~FakeSyslogd() {
    LogInit(ident_.c_str(), LOG_LOCAL4);
    stop_ = true;
    reader_.join();
    close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  // Every line sent so far (a line is queued before its logging call
  // returns, and only ReadAll takes it out, under the lock).
  std::string Drain() {
    ReadAll();
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  bool ReadAll() {
    std::lock_guard<std::mutex> lock(mu_);
    bool any = false;
    char buf[4096];
    for (ssize_t n; (n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT)) > 0; any = true)
      text_.append(buf, static_cast<size_t>(n)).push_back('\n');
    return any;
  }

  std::string ident_, dir_, path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string text_;
  std::thread reader_;
};

}  // namespace ike::testing
