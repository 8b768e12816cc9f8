// The libevent adapter: one event_base per daemon. Only common/ includes
// libevent headers; the rest sees Clock, Timers and these callbacks.
#pragma once

#include <functional>
#include <memory>
#include <unordered_map>

#include "common/clock.h"

struct event_base;

namespace ike {

class EventLoop : public Clock, public Timers {
 public:
  EventLoop();
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs until Stop(). Returns 0, or -1 if libevent failed.
  int Run();
  void Stop();

  TimePoint Now() const override;
  uint64_t UnixNow() const override;
  TimerId Schedule(Duration delay, std::function<void()> fn) override;
  void Cancel(TimerId id) override;

  // Calls |fn| on the loop when the signal arrives (SIGTERM, SIGHUP, ...).
  void OnSignal(int signo, std::function<void()> fn);
  // Calls |fn| whenever |fd| is readable, until Unwatch(fd).
  void WatchReadable(int fd, std::function<void()> fn);
  void Unwatch(int fd);

  event_base* base() const { return base_; }

 private:
  struct Impl;
  event_base* base_ = nullptr;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ike
