// EventLoop: timer order, cancellation, re-entrancy, fd watches and signals.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <stdexcept>
#include <vector>

#include "common/event_loop.h"

namespace ike {
namespace {

using namespace std::chrono_literals;

TEST_CASE("Timers fire in deadline order and Run returns after Stop") {
  EventLoop loop;
  std::vector<int> order;
  auto start = loop.Now();
  TimerId a = loop.Schedule(30ms, [&] { order.push_back(30); });
  TimerId b = loop.Schedule(10ms, [&] { order.push_back(10); });
  TimerId c = loop.Schedule(20ms, [&] { order.push_back(20); });
  loop.Schedule(40ms, [&] { loop.Stop(); });
  CHECK(a != 0);
  CHECK(a != b);
  CHECK(b != c);
  CHECK(loop.Run() == 0);
  CHECK(order == std::vector<int>{10, 20, 30});
  CHECK(loop.Now() - start >= 40ms);
  CHECK(loop.UnixNow() > 1600000000u);
}

TEST_CASE("Cancel stops a timer, from outside or from another timer") {
  EventLoop loop;
  std::vector<int> fired;
  TimerId gone = loop.Schedule(5ms, [&] { fired.push_back(1); });
  loop.Cancel(gone);
  TimerId victim = loop.Schedule(30ms, [&] { fired.push_back(2); });
  loop.Schedule(10ms, [&] {
    fired.push_back(3);
    loop.Cancel(victim);
  });
  loop.Schedule(50ms, [&] { loop.Stop(); });
  loop.Cancel(12345);  // unknown: a no-op
  REQUIRE(loop.Run() == 0);
  CHECK(fired == std::vector<int>{3});
  loop.Cancel(victim);  // already cancelled: a no-op
}

TEST_CASE("A timer may cancel itself, schedule more and destroy its owner") {
  EventLoop loop;
  std::vector<int> fired;
  TimerId self = 0;
  self = loop.Schedule(1ms, [&] {
    loop.Cancel(self);
    fired.push_back(1);
    for (int i = 0; i < 50; ++i)
      loop.Schedule(Duration(2 + i), [&fired, i] { fired.push_back(100 + i); });
  });
  // The callback owns an object whose destructor cancels the timer that is
  // running: the loop has already let go of it.
  struct Owner {
    EventLoop* loop;
    TimerId id = 0;
    ~Owner() { loop->Cancel(id); }
  };
  auto owner = std::make_shared<Owner>(Owner{&loop});
  owner->id = loop.Schedule(5ms, [&owner] { owner.reset(); });
  loop.Schedule(100ms, [&] { loop.Stop(); });
  REQUIRE(loop.Run() == 0);
  REQUIRE(fired.size() == 51);
  CHECK(fired.front() == 1);
  CHECK(fired.back() == 149);
  CHECK(owner == nullptr);
}

TEST_CASE("A throwing callback does not escape into libevent") {
  EventLoop loop;
  bool after = false;
  loop.Schedule(1ms, [] { throw std::runtime_error("boom"); });
  loop.Schedule(5ms, [&] {
    after = true;
    loop.Stop();
  });
  REQUIRE(loop.Run() == 0);
  CHECK(after);
}

TEST_CASE("WatchReadable calls back until Unwatch, even from inside") {
  EventLoop loop;
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  int reads = 0;
  loop.WatchReadable(fds[0], [&] {
    char c;
    REQUIRE(read(fds[0], &c, 1) == 1);
    if (++reads == 2) {
      loop.Unwatch(fds[0]);
      loop.Schedule(20ms, [&] { loop.Stop(); });
    }
  });
  REQUIRE(write(fds[1], "abc", 3) == 3);
  REQUIRE(loop.Run() == 0);
  CHECK(reads == 2);
  close(fds[0]);
  close(fds[1]);
}

TEST_CASE("OnSignal runs the handler on the loop") {
  EventLoop loop;
  bool got = false;
  loop.OnSignal(SIGUSR1, [&] {
    got = true;
    loop.Stop();
  });
  loop.Schedule(5ms, [] { raise(SIGUSR1); });
  loop.Schedule(2000ms, [&] { loop.Stop(); });
  REQUIRE(loop.Run() == 0);
  CHECK(got);
}

}  // namespace
}  // namespace ike
