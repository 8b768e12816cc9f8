#include "common/event_loop.h"

#include <event2/event.h>

#include <ctime>
#include <exception>

#include "common/log.h"

namespace ike {
namespace {

// Callbacks are held through shared_ptr so a callback that unregisters itself
// (Unwatch from inside a read handler) does not destroy the std::function
// while it is running.
using SharedFn = std::shared_ptr<std::function<void()>>;

// No exception may unwind through libevent's C frames (style.md rule 9).
void RunGuarded(const std::function<void()>& fn, const char* what) {
  try {
    fn();
  } catch (const std::exception& e) {
    LOG_ERROR("%s callback threw: %s", what, e.what());
  } catch (...) {
    LOG_ERROR("%s callback threw a non-standard exception", what);
  }
}

}  // namespace

struct EventLoop::Impl {
  struct Timer {
    Impl* impl;
    TimerId id;
    event* ev;
    std::function<void()> fn;
  };
  struct Watch {
    event* ev;
    SharedFn fn;
  };

  TimerId next_timer_id = 1;
  std::unordered_map<TimerId, std::unique_ptr<Timer>> timers;
  std::unordered_map<int, Watch> signals;
  std::unordered_map<int, Watch> watches;

  static void OnTimer(evutil_socket_t, short, void* arg);
  static void OnWatch(evutil_socket_t, short, void* arg);
};

void EventLoop::Impl::OnTimer(evutil_socket_t, short, void* arg) {
  auto* timer = static_cast<Timer*>(arg);
  Impl* impl = timer->impl;
  auto it = impl->timers.find(timer->id);
  if (it == impl->timers.end()) return;
  // Detach before running: the callback may Cancel() this id, schedule new
  // timers (rehashing the map) or destroy the object that owned the timer.
  std::function<void()> fn = std::move(it->second->fn);
  event_free(it->second->ev);
  impl->timers.erase(it);
  RunGuarded(fn, "timer");
}

void EventLoop::Impl::OnWatch(evutil_socket_t, short, void* arg) {
  // |arg| is the SharedFn's control block owner, copied so it stays alive.
  SharedFn fn = *static_cast<SharedFn*>(arg);
  RunGuarded(*fn, "event");
}

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {
  // libevent defaults to CLOCK_MONOTONIC_COARSE, which lets a timer fire a
  // few milliseconds before Now() (steady_clock) says it is due.
  event_config* config = event_config_new();
  if (config != nullptr) event_config_set_flag(config, EVENT_BASE_FLAG_PRECISE_TIMER);
  base_ = config != nullptr ? event_base_new_with_config(config) : event_base_new();
  if (config != nullptr) event_config_free(config);
  if (base_ == nullptr) LOG_ERROR("cannot create the libevent event_base");
}

EventLoop::~EventLoop() {
  for (auto& [id, timer] : impl_->timers) event_free(timer->ev);
  for (auto& [fd, w] : impl_->watches) {
    if (w.ev != nullptr) event_free(w.ev);
  }
  for (auto& [signo, w] : impl_->signals) {
    if (w.ev != nullptr) event_free(w.ev);
  }
  impl_.reset();
  if (base_ != nullptr) event_base_free(base_);
}

int EventLoop::Run() {
  if (base_ == nullptr) return -1;
  // Log lines written by callbacks go to syslog in one batch per loop turn
  // or two (a zero-delay timer runs after the I/O callbacks already ready),
  // never blocking the loop on a busy syslogd (common/log.h).
  LogDeferTo([this](int delay_ms) { Schedule(std::chrono::milliseconds(delay_ms), &LogFlush); });
  // NO_EXIT_ON_EMPTY: "runs until Stop()", even while nothing is registered.
  const int rc = event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
  LogStopDeferring();
  return rc < 0 ? -1 : 0;
}

void EventLoop::Stop() {
  if (base_ != nullptr) event_base_loopbreak(base_);
}

TimePoint EventLoop::Now() const { return std::chrono::steady_clock::now(); }

uint64_t EventLoop::UnixNow() const { return static_cast<uint64_t>(time(nullptr)); }

TimerId EventLoop::Schedule(Duration delay, std::function<void()> fn) {
  TimerId id = impl_->next_timer_id++;
  auto timer = std::make_unique<Impl::Timer>();
  timer->impl = impl_.get();
  timer->id = id;
  timer->fn = std::move(fn);
  timer->ev = evtimer_new(base_, &Impl::OnTimer, timer.get());
  if (timer->ev == nullptr) {
    LOG_ERROR("evtimer_new failed; timer %llu will never fire",
              static_cast<unsigned long long>(id));
    return id;
  }
  long long ms = delay.count() < 0 ? 0 : delay.count();
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  evtimer_add(timer->ev, &tv);
  impl_->timers.emplace(id, std::move(timer));
  return id;
}

void EventLoop::Cancel(TimerId id) {
  auto it = impl_->timers.find(id);
  if (it == impl_->timers.end()) return;
  event_free(it->second->ev);
  impl_->timers.erase(it);
}

void EventLoop::OnSignal(int signo, std::function<void()> fn) {
  auto old = impl_->signals.find(signo);
  if (old != impl_->signals.end()) {
    if (old->second.ev != nullptr) event_free(old->second.ev);
    impl_->signals.erase(old);
  }
  Impl::Watch& w = impl_->signals[signo];
  w.fn = std::make_shared<std::function<void()>>(std::move(fn));
  w.ev = evsignal_new(base_, signo, &Impl::OnWatch, &w.fn);
  if (w.ev == nullptr || evsignal_add(w.ev, nullptr) != 0) {
    LOG_ERROR("cannot watch signal %d", signo);
  }
}

void EventLoop::WatchReadable(int fd, std::function<void()> fn) {
  Unwatch(fd);
  Impl::Watch& w = impl_->watches[fd];
  w.fn = std::make_shared<std::function<void()>>(std::move(fn));
  w.ev = event_new(base_, fd, EV_READ | EV_PERSIST, &Impl::OnWatch, &w.fn);
  if (w.ev == nullptr || event_add(w.ev, nullptr) != 0) {
    LOG_ERROR("cannot watch fd %d for reading", fd);
  }
}

void EventLoop::Unwatch(int fd) {
  auto it = impl_->watches.find(fd);
  if (it == impl_->watches.end()) return;
  if (it->second.ev != nullptr) event_free(it->second.ev);
  impl_->watches.erase(it);
}

}  // namespace ike
