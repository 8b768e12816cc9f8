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
using M = Phase1Step;
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
  REQUIRE(cases.size() == size_t(2 * kPhase1StepCount));
  for (const auto& c : cases) {
    INFO(Phase1StepName(c.step) << " " << RoleName(c.role));
    CHECK(Names(MainModeNames(c.step, c.role)) == c.names);
    CHECK(Names(Phase1Names(Phase1Mode::kMain, c.step, c.role)) == c.names);
  }
  CHECK(Names(MainModeNames(static_cast<M>(kPhase1StepCount), I)) == kImpossible);
}

TEST_CASE("Aggressive Mode names (seed 000 figure 2, IOS AG_*, ASA AM_*)", "[states]") {
  const std::vector<std::tuple<M, Role, Row>> cases = {
      {M::kInit, I, {"INIT", "AG_NO_STATE", "-"}},
      {M::kInit, R, {"INIT", "AG_NO_STATE", "-"}},
      {M::kSaSent, I, {"WAIT SA", "AG_INIT_EXCH", "AM_WAIT_MSG2"}},
      {M::kSaSent, R, kImpossible},
      {M::kSaAnswered, I, kImpossible},
      {M::kSaAnswered, R, {"IN KE", "AG_INIT_EXCH", "AM_WAIT_MSG3"}},
      {M::kKeSent, I, kImpossible},
      {M::kKeSent, R, kImpossible},
      {M::kAwaitSkeyid, I, {"IN KE", "AG_INIT_EXCH", "AM_WAIT_MSG2"}},
      {M::kAwaitSkeyid, R, {"INIT", "AG_NO_STATE", "-"}},
      {M::kKeAnswered, I, kImpossible},
      {M::kKeAnswered, R, kImpossible},
      {M::kAuthSent, I, kImpossible},
      {M::kAuthSent, R, kImpossible},
      {M::kDone, I, {"DONE", "AG_AUTH", "AM_ACTIVE"}},
      {M::kDone, R, {"DONE", "AG_AUTH", "AM_ACTIVE"}},
      {M::kFailed, I, {"FAILED", "FAILED", "FAILED"}},
      {M::kFailed, R, {"FAILED", "FAILED", "FAILED"}},
      {M::kDeleted, I, {"DELETED", "DELETED", "DELETED"}},
      {M::kDeleted, R, {"DELETED", "DELETED", "DELETED"}},
  };
  REQUIRE(cases.size() == size_t(2 * kPhase1StepCount));
  for (const auto& [step, role, names] : cases) {
    INFO(Phase1StepName(step) << " " << RoleName(role));
    CHECK(Names(AggressiveModeNames(step, role)) == names);
    CHECK(Names(Phase1Names(Phase1Mode::kAggressive, step, role)) == names);
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

TEST_CASE("Quick Mode names in IOS's words (debug crypto isakmp); ASA has none", "[states]") {
  const std::vector<std::tuple<Q, Role, std::string>> cases = {
      {Q::kAwaitSpi, I, "IKE_QM_READY"},
      {Q::kAwaitSpi, R, "IKE_QM_SPI_STARVE"},
      {Q::kHashSaNonceSent, I, "IKE_QM_I_QM1"},
      {Q::kKeyed, I, "IKE_QM_IPSEC_INSTALL_AWAIT"},
      {Q::kHashSaNonceAnswered, R, "IKE_QM_R_QM2"},
      {Q::kDone, I, "IKE_QM_PHASE2_COMPLETE"},
      {Q::kDone, R, "IKE_QM_PHASE2_COMPLETE"},
  };
  for (const auto& [step, role, ios] : cases) {
    CHECK(std::string(QuickModeNames(step, role).cisco) == ios);
    CHECK(std::string(QuickModeNames(step, role).asa) == "-");
    CHECK(ipc::IosPhase2State_Name(IosState(step, role)) == ios);  // what tmd and ike get
  }
}

// Every Cisco name in the table travels to tmd and ike as the proto enum of
// the same name (ipc_enums.h); "-", FAILED and DELETED as unspecified.
TEST_CASE("every IOS and ASA name of the table is an IPC enum value of that name", "[states]") {
  for (Phase1Mode mode : {Phase1Mode::kMain, Phase1Mode::kAggressive})
    for (Role role : {I, R})
      for (int i = 0; i < kPhase1StepCount; ++i) {
        const auto step = static_cast<Phase1Step>(i);
        const StateNames n = Phase1Names(mode, step, role);
        const std::string ios = n.cisco, asa = n.asa;
        if (ios == "?") continue;  // a step the role never takes
        const bool named = ios != "-" && ios != "FAILED" && ios != "DELETED";
        CHECK((named ? ios : std::string("IOS_PHASE1_STATE_UNSPECIFIED")) ==
              ipc::IosPhase1State_Name(IosState(mode, step, role)));
        const bool asa_named = asa != "-" && asa != "FAILED" && asa != "DELETED";
        CHECK((asa_named ? asa : std::string("ASA_PHASE1_STATE_UNSPECIFIED")) ==
              ipc::AsaPhase1State_Name(AsaState(mode, step, role)));
      }
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
    for (int f = 0; f < kPhase1StepCount; ++f)
      for (int t = 0; t < kPhase1StepCount; ++t) {
        const M from = static_cast<M>(f), to = static_cast<M>(t);
        const bool ended = from == M::kFailed || from == M::kDeleted;
        bool expect = !ended && (to == M::kDeleted || (to == M::kFailed && from != M::kDone));
        for (const auto& [lf, lt, lr] : legal_moves) expect |= lf == from && lt == to && lr == role;
        // A step the role never takes is never entered.
        expect &= std::string(MainModeNames(to, role).ibm) != "?";
        INFO(Phase1StepName(from) << " -> " << Phase1StepName(to) << " " << RoleName(role));
        if (std::string(MainModeNames(from, role).ibm) == "?") continue;
        CHECK(LegalTransition(Phase1Mode::kMain, from, to, role) == expect);
        legal += expect;
      }
  // The table, failed or deleted from the 5 + 4 negotiating steps of each
  // role, and DONE -> deleted for both.
  CHECK(legal == 9 + 2 * (5 + 4) + 2);
}

TEST_CASE("Aggressive Mode transitions: exactly the table is legal, per role", "[states]") {
  const std::vector<std::tuple<M, M, Role>> legal_moves = {
      {M::kInit, M::kSaSent, I},
      {M::kSaSent, M::kAwaitSkeyid, I},
      {M::kAwaitSkeyid, M::kDone, I},
      {M::kInit, M::kAwaitSkeyid, R},
      {M::kAwaitSkeyid, M::kSaAnswered, R},
      {M::kSaAnswered, M::kDone, R},
  };
  int legal = 0;
  for (Role role : {I, R})
    for (int f = 0; f < kPhase1StepCount; ++f)
      for (int t = 0; t < kPhase1StepCount; ++t) {
        const M from = static_cast<M>(f), to = static_cast<M>(t);
        if (std::string(AggressiveModeNames(from, role).ibm) == "?") continue;
        const bool ended = from == M::kFailed || from == M::kDeleted;
        bool expect = !ended && (to == M::kDeleted || (to == M::kFailed && from != M::kDone));
        for (const auto& [lf, lt, lr] : legal_moves) expect |= lf == from && lt == to && lr == role;
        expect &= std::string(AggressiveModeNames(to, role).ibm) != "?";
        INFO(Phase1StepName(from) << " -> " << Phase1StepName(to) << " " << RoleName(role));
        CHECK(LegalTransition(Phase1Mode::kAggressive, from, to, role) == expect);
        legal += expect;
      }
  // The table, failed or deleted from the 3 negotiating steps of each role,
  // and DONE -> deleted for both.
  CHECK(legal == 6 + 2 * (3 + 3) + 2);
  // The responder's SKEYID leads to its message 2, never straight to DONE.
  CHECK_FALSE(LegalTransition(Phase1Mode::kAggressive, M::kAwaitSkeyid, M::kDone, R));
  CHECK_FALSE(LegalTransition(Phase1Mode::kAggressive, M::kAwaitSkeyid, M::kSaAnswered, I));
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
    for (Phase1Mode mode : {Phase1Mode::kMain, Phase1Mode::kAggressive}) {
      for (int i = 0; i < kPhase1StepCount; ++i) {
        const auto step = static_cast<Phase1Step>(i);
        const StateNames names = Phase1Names(mode, step, role);
        if (std::string(names.ibm) == "?" || step == Phase1Step::kFailed ||
            step == Phase1Step::kDeleted)
          continue;  // a step this role never takes, or an end (own events)
        INFO(Phase1ModeName(mode) << " " << Phase1StepName(step) << " " << RoleName(role));
        CHECK(tunneldb::Phase1StateName(ToIpc(mode, step, role)) == names.ibm);
      }
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
  // Message numbers reached: Main Mode 1..6, Aggressive Mode 1..3, Quick
  // Mode 1..3.
  constexpr auto kMain = Phase1Mode::kMain;
  constexpr auto kAggr = Phase1Mode::kAggressive;
  CHECK(MessageNumber(kMain, Phase1Step::kSaSent, I) == 1);
  CHECK(MessageNumber(kMain, Phase1Step::kKeAnswered, R) == 4);
  CHECK(MessageNumber(kMain, Phase1Step::kDone, I) == 6);
  CHECK(MessageNumber(kAggr, Phase1Step::kSaSent, I) == 1);
  CHECK(MessageNumber(kAggr, Phase1Step::kAwaitSkeyid, I) == 2);
  CHECK(MessageNumber(kAggr, Phase1Step::kAwaitSkeyid, R) == 1);
  CHECK(MessageNumber(kAggr, Phase1Step::kSaAnswered, R) == 2);
  CHECK(MessageNumber(kAggr, Phase1Step::kDone, R) == 3);
  CHECK(MessageNumber(QuickModeStep::kKeyed) == 2);
  CHECK(MessageNumber(QuickModeStep::kDone) == 3);
}

}  // namespace
}  // namespace ike::isakmpd
