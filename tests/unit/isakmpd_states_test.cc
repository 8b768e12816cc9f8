// The operators' names per (step, role, mode) and the legal-transition
// tables, exhaustively (state_names.h, sa/transitions.h).
#include <catch2/catch.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "isakmpd/exchange/state_names.h"
#include "isakmpd/sa/ipc_enums.h"
#include "isakmpd/sa/transitions.h"
#include "tunneldb/names.h"

namespace ike::isakmpd {
namespace {

using Row = std::tuple<std::string, std::string, std::string>;
using M = MainModeStep;
using Q = QuickModeStep;
constexpr Role I = Role::kInitiator;
constexpr Role R = Role::kResponder;

Row Names(StateNames n) { return {n.ibm, n.cisco, n.asa}; }
const Row kImpossible{"?", "?", "?"};

TEST_CASE("Main Mode names by step and role, as IBM, IOS and ASA define them", "[states]") {
  struct Case {
    M step;
    Role role;
    Row names;
  };
  // Every (step, role): IBM per role and message count, IOS by what was
  // agreed, ASA by the message awaited.
  const std::vector<Case> cases = {
      {M::kInit, I, {"INIT", "MM_NO_STATE", "-"}},
      {M::kInit, R, {"INIT", "MM_NO_STATE", "-"}},
      {M::kSaSent, I, {"WAIT SA", "MM_NO_STATE", "MM_WAIT_MSG2"}},
      {M::kSaSent, R, kImpossible},
      {M::kSaAnswered, I, kImpossible},
      {M::kSaAnswered, R, {"WAIT KE", "MM_SA_SETUP", "MM_WAIT_MSG3"}},
      {M::kKeSent, I, {"IN KE", "MM_SA_SETUP", "MM_WAIT_MSG4"}},
      {M::kKeSent, R, kImpossible},
      {M::kAwaitSkeyid, I, {"IN KE", "MM_KEY_EXCH", "MM_WAIT_MSG4"}},
      {M::kAwaitSkeyid, R, {"IN KE", "MM_KEY_EXCH", "MM_WAIT_MSG5"}},
      {M::kKeAnswered, I, kImpossible},
      {M::kKeAnswered, R, {"IN KE", "MM_KEY_EXCH", "MM_WAIT_MSG5"}},
      {M::kAuthSent, I, {"IN KE", "MM_KEY_EXCH", "MM_WAIT_MSG6"}},
      {M::kAuthSent, R, kImpossible},
      {M::kDone, I, {"DONE", "QM_IDLE", "MM_ACTIVE"}},
      {M::kDone, R, {"DONE", "QM_IDLE", "MM_ACTIVE"}},
      {M::kFailed, I, {"FAILED", "FAILED", "FAILED"}},
      {M::kFailed, R, {"FAILED", "FAILED", "FAILED"}},
      {M::kDeleted, I, {"DELETED", "DELETED", "DELETED"}},
      {M::kDeleted, R, {"DELETED", "DELETED", "DELETED"}},
  };
  REQUIRE(cases.size() == size_t(2 * kMainModeStepCount));
  for (const auto& c : cases) {
    INFO(MainModeStepName(c.step) << " " << RoleName(c.role));
    CHECK(Names(MainModeNames(c.step, c.role)) == c.names);
    CHECK(Names(Phase1Names(Phase1Mode::kMain, uint8_t(c.step), c.role)) == c.names);
  }
  CHECK(Names(MainModeNames(static_cast<M>(kMainModeStepCount), I)) == kImpossible);
}

TEST_CASE("Aggressive Mode names", "[states]") {
  using A = AggressiveModeStep;
  const std::vector<std::tuple<A, Role, Row>> cases = {
      {A::kInit, I, {"INIT", "AG_NO_STATE", "-"}},
      {A::kInit, R, {"INIT", "AG_NO_STATE", "-"}},
      {A::kSaSent, I, {"WAIT SA", "AG_INIT_EXCH", "AM_WAIT_MSG2"}},
      {A::kSaSent, R, kImpossible},
      {A::kSaAnswered, I, kImpossible},
      {A::kSaAnswered, R, {"IN KE", "AG_INIT_EXCH", "AM_WAIT_MSG3"}},
      {A::kAwaitSkeyid, I, {"IN KE", "AG_INIT_EXCH", "AM_WAIT_MSG2"}},
      {A::kAwaitSkeyid, R, kImpossible},
      {A::kDone, I, {"DONE", "AG_AUTH", "AM_ACTIVE"}},
      {A::kDone, R, {"DONE", "AG_AUTH", "AM_ACTIVE"}},
  };
  REQUIRE(cases.size() == size_t(2 * kAggressiveModeStepCount));
  for (const auto& [step, role, names] : cases) {
    CHECK(Names(AggressiveModeNames(step, role)) == names);
    CHECK(Names(Phase1Names(Phase1Mode::kAggressive, uint8_t(step), role)) == names);
  }
}

TEST_CASE("Quick Mode names: INIT, KEP, DONE per role", "[states]") {
  const std::vector<std::tuple<Q, Role, std::string>> cases = {
      {Q::kAwaitSpi, I, "INIT"},
      {Q::kAwaitSpi, R, "INIT"},
      {Q::kHashSaNonceSent, I, "INIT"},
      {Q::kHashSaNonceSent, R, "?"},
      {Q::kKeyed, I, "KEP"},
      {Q::kKeyed, R, "?"},
      {Q::kHashSaNonceAnswered, I, "?"},
      {Q::kHashSaNonceAnswered, R, "KEP"},
      {Q::kDone, I, "DONE"},
      {Q::kDone, R, "DONE"},
      {Q::kFailed, I, "FAILED"},
      {Q::kFailed, R, "FAILED"},
      {Q::kDeleted, I, "DELETED"},
      {Q::kDeleted, R, "DELETED"},
  };
  REQUIRE(cases.size() == size_t(2 * kQuickModeStepCount));
  for (const auto& [step, role, ibm] : cases)
    CHECK(std::string(QuickModeNames(step, role).ibm) == ibm);
}

// The legal moves, listed once more by hand: every other (from, to, role)
// of the full cross product must be refused.
TEST_CASE("Main Mode transitions: exactly the table is legal", "[states]") {
  const std::vector<std::tuple<M, M, Role>> legal_moves = {
      {M::kInit, M::kSaSent, I},
      {M::kSaSent, M::kKeSent, I},
      {M::kKeSent, M::kAwaitSkeyid, I},
      {M::kAwaitSkeyid, M::kAuthSent, I},
      {M::kAuthSent, M::kDone, I},
      {M::kInit, M::kSaAnswered, R},
      {M::kSaAnswered, M::kAwaitSkeyid, R},
      {M::kAwaitSkeyid, M::kKeAnswered, R},
      {M::kKeAnswered, M::kDone, R},
  };
  int legal = 0;
  for (Role role : {I, R})
    for (int f = 0; f < kMainModeStepCount; ++f)
      for (int t = 0; t < kMainModeStepCount; ++t) {
        const M from = static_cast<M>(f), to = static_cast<M>(t);
        const bool ended = from == M::kFailed || from == M::kDeleted;
        bool expect = !ended && (to == M::kDeleted || (to == M::kFailed && from != M::kDone));
        for (const auto& [lf, lt, lr] : legal_moves) expect |= lf == from && lt == to && lr == role;
        // A step the role never takes is never entered.
        expect &= std::string(MainModeNames(from, role).ibm) != "?";
        INFO(MainModeStepName(from) << " -> " << MainModeStepName(to) << " " << RoleName(role));
        if (std::string(MainModeNames(from, role).ibm) == "?") continue;
        CHECK(LegalTransition(from, to, role) == expect);
        legal += expect;
      }
  // The table, failed or deleted from the 5 + 4 negotiating steps of each
  // role, and DONE -> deleted for both.
  CHECK(legal == 9 + 2 * (5 + 4) + 2);
}

TEST_CASE("Quick Mode transitions: exactly the table is legal", "[states]") {
  CHECK(LegalTransition(Q::kAwaitSpi, Q::kHashSaNonceSent, I));
  CHECK_FALSE(LegalTransition(Q::kAwaitSpi, Q::kHashSaNonceSent, R));
  CHECK(LegalTransition(Q::kAwaitSpi, Q::kHashSaNonceAnswered, R));
  CHECK(LegalTransition(Q::kHashSaNonceSent, Q::kKeyed, I));
  CHECK(LegalTransition(Q::kKeyed, Q::kDone, I));
  CHECK(LegalTransition(Q::kHashSaNonceAnswered, Q::kDone, R));
  CHECK_FALSE(LegalTransition(Q::kHashSaNonceSent, Q::kDone, I));  // KEP is not skipped
  CHECK_FALSE(LegalTransition(Q::kAwaitSpi, Q::kDone, R));
  CHECK_FALSE(LegalTransition(Q::kDone, Q::kFailed, I));  // an IPsec SA is deleted, not failed
  CHECK(LegalTransition(Q::kDone, Q::kDeleted, I));
  for (int t = 0; t < kQuickModeStepCount; ++t) {
    CHECK_FALSE(LegalTransition(Q::kFailed, static_cast<Q>(t), I));
    CHECK_FALSE(LegalTransition(Q::kDeleted, static_cast<Q>(t), R));
  }
  for (Q live : {Q::kAwaitSpi, Q::kHashSaNonceSent, Q::kKeyed})
    CHECK(LegalTransition(live, Q::kFailed, I));
}

}  // namespace
}  // namespace ike::isakmpd

namespace ike::isakmpd {
namespace {

// The state each step reports to tmd (sa/ipc_enums) is the IBM state of the
// one names table, for every step a role can take (tmd and ike print it).
TEST_CASE("the IPC state of every step is its IBM name", "[states]") {
  for (Role role : {Role::kInitiator, Role::kResponder}) {
    for (int i = 0; i < kMainModeStepCount; ++i) {
      const auto step = static_cast<MainModeStep>(i);
      const StateNames names = MainModeNames(step, role);
      if (std::string(names.ibm) == "?" || step == MainModeStep::kFailed ||
          step == MainModeStep::kDeleted)
        continue;  // a step this role never takes, or an end (own events)
      INFO(MainModeStepName(step) << " " << RoleName(role));
      CHECK(tunneldb::Phase1StateName(ToIpc(step)) == names.ibm);
    }
    for (int i = 0; i < kQuickModeStepCount; ++i) {
      const auto step = static_cast<QuickModeStep>(i);
      const StateNames names = QuickModeNames(step, role);
      if (std::string(names.ibm) == "?" || step == QuickModeStep::kFailed ||
          step == QuickModeStep::kDeleted)
        continue;
      INFO(QuickModeStepName(step) << " " << RoleName(role));
      CHECK(tunneldb::Phase2StateName(ToIpc(step)) == names.ibm);
    }
  }
  // Message numbers reached: Main Mode 1..6, Quick Mode 1..3.
  CHECK(MessageNumber(MainModeStep::kSaSent) == 1);
  CHECK(MessageNumber(MainModeStep::kKeAnswered) == 4);
  CHECK(MessageNumber(MainModeStep::kDone) == 6);
  CHECK(MessageNumber(QuickModeStep::kKeyed) == 2);
  CHECK(MessageNumber(QuickModeStep::kDone) == 3);
}

}  // namespace
}  // namespace ike::isakmpd
