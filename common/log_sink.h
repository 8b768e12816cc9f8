// The syslog socket behind common/log.h: formats the datagram syslog(3)
// would send and delivers it either at once or in batches (LogDeferTo).
// Internal to log.cc; separate so the queueing rules can be unit-tested with
// a socket of the test's own.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace ike::internal {

class SyslogSink {
 public:
  static constexpr size_t kMaxQueued = 20000;  // lines; beyond: drop the oldest
  static constexpr size_t kBatch = 64;         // datagrams per sendmmsg
  static constexpr int kRetryMs = 10;          // after the socket was full

  // Where datagrams go and how they are tagged. Closes a previous socket.
  void Configure(std::string socket_path, std::string ident, int facility, pid_t pid);

  // Queues "<PRI>timestamp ident[pid]: text" (|severity| a LOG_* priority).
  // Sent at once unless the calling thread defers and |urgent| is false.
  void Submit(int severity, std::string_view text, bool urgent);

  void DeferTo(std::function<void(int delay_ms)> schedule);
  void StopDeferring();
  void Flush();

  size_t queued_for_test();
  size_t dropped_for_test();

 private:
  // Sends queued datagrams; |wait| blocks on a full socket. Returns true
  // when the queue is empty. mu_ held.
  bool SendQueued(bool wait);
  bool Connect();
  void Disconnect();
  std::string Format(int severity, std::string_view text);
  void ScheduleFlush(int delay_ms);  // mu_ held; at most one pending

  std::mutex mu_;
  std::string socket_path_ = "/dev/log";
  std::string ident_ = "ike";
  int facility_ = 0;
  pid_t pid_ = 0;
  int fd_ = -1;
  std::deque<std::string> queue_;
  size_t dropped_ = 0;
  std::function<void(int)> schedule_;
  std::thread::id owner_;
  bool flush_pending_ = false;
  bool in_schedule_ = false;
  time_t stamp_second_ = -1;
  char stamp_[32] = {};
};

}  // namespace ike::internal
