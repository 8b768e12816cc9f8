// The AIX texts and the lssrc layout, byte for byte.
#include "src/core/src_messages.h"

#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "src/core/restart_limiter.h"

using namespace ike::src;

TEST_CASE("message lines") {
  CHECK(MsgStarted("tmd", 1234) ==
        "0513-059 The tmd Subsystem has been started. Subsystem PID is 1234.");
  CHECK(MsgAlreadyActive("tmd") ==
        std::vector<std::string>{"0513-029 The tmd Subsystem is already active.",
                                 "Multiple instances are not supported."});
  CHECK(MsgRequestedStop("cpsd") == "0513-044 The cpsd Subsystem was requested to stop.");
  CHECK(MsgInoperative("ike") == "0513-004 The Subsystem or Group, ike, is currently inoperative.");
  CHECK(MsgRefreshDone() ==
        "0513-095 The request for subsystem refresh was completed successfully.");
  CHECK(IsSuccessLine(MsgStarted("tmd", 1)));
  CHECK(IsSuccessLine(MsgRequestedStop("tmd")));
  CHECK_FALSE(IsSuccessLine(MsgAlreadyActive("tmd")[0]));
  CHECK_FALSE(IsSuccessLine("Multiple instances are not supported."));
  CHECK_FALSE(IsSuccessLine(MsgInoperative("ike")));
}

TEST_CASE("lssrc table layout") {
  std::vector<ike::ipc::SubsystemStatus> rows = InoperativeStatuses({"tmd", "isakmpd", "cpsd"});
  rows[0].set_pid(5898250);
  rows[0].set_status("active");
  CHECK(FormatStatusTable(rows) ==
        "Subsystem         Group            PID          Status\n"
        " tmd              ike              5898250      active\n"
        " isakmpd          ike                           inoperative\n"
        " cpsd             ike                           inoperative\n");
}

TEST_CASE("wait status and .err tails") {
  CHECK(DescribeWaitStatus(W_EXITCODE(1, 0)) == "exit status 1");
  CHECK(DescribeWaitStatus(W_EXITCODE(0, 9)) == "signal 9");
  CHECK(LastLines("a\nb\n\nc\nd\n", 2) == std::vector<std::string>{"c", "d"});
  CHECK(LastLines("only", 5) == std::vector<std::string>{"only"});
  CHECK(LastLines("", 5).empty());
}

TEST_CASE("restart limiter: more than 5 restarts in 60 s gives up") {
  RestartLimiter limiter;
  ike::TimePoint t0{};
  for (int i = 0; i < 5; ++i) CHECK(limiter.Allow(t0 + std::chrono::seconds(i)));
  CHECK_FALSE(limiter.Allow(t0 + std::chrono::seconds(10)));
  // Once the first restart is 60 s old, one more is allowed.
  CHECK(limiter.Allow(t0 + std::chrono::seconds(60)));
  limiter.Reset();
  CHECK(limiter.recent() == 0);
}
