// The operator-visible names, one row per step (state_names.h). Sources:
// IBM's "Interpreting IKEv1 daemon phase 1 SA states" (per role and message
// count), Cisco IOS and ASA "show crypto isakmp sa" documentation.
//
// Cisco's MM_KEY_AUTH is the instant between verifying the peer's HASH and
// QM_IDLE; authentication and establishment happen in one step here, so the
// name is never shown for Main Mode. Aggressive Mode ends in AG_AUTH, which
// Cisco describes as the completed, authenticated exchange.
#include "isakmpd/exchange/state_names.h"

namespace ike::isakmpd {
namespace {

constexpr StateNames kUnknown{"?", "?", "?"};
constexpr StateNames kFailedNames{"FAILED", "FAILED", "FAILED"};
constexpr StateNames kDeletedNames{"DELETED", "DELETED", "DELETED"};
constexpr StateNames kNone{nullptr, nullptr, nullptr};  // step impossible in this role

struct Row {
  StateNames initiator;
  StateNames responder;
};

// clang-format off
constexpr Row kMainMode[kPhase1StepCount] = {
  // step           initiator                                      responder
  /* kInit */       {{"INIT", "MM_NO_STATE", "-"},                 {"INIT", "MM_NO_STATE", "-"}},
  /* kSaSent */     {{"WAIT SA", "MM_NO_STATE", "MM_WAIT_MSG2"},   kNone},
  /* kSaAnswered */ {kNone,                                        {"WAIT KE", "MM_SA_SETUP", "MM_WAIT_MSG3"}},
  /* kKeSent */     {{"IN KE", "MM_SA_SETUP", "MM_WAIT_MSG4"},     kNone},
  /* kAwaitSkeyid*/ {{"IN KE", "MM_KEY_EXCH", "MM_WAIT_MSG4"},     {"IN KE", "MM_KEY_EXCH", "MM_WAIT_MSG5"}},
  /* kKeAnswered */ {kNone,                                        {"IN KE", "MM_KEY_EXCH", "MM_WAIT_MSG5"}},
  /* kAuthSent */   {{"IN KE", "MM_KEY_EXCH", "MM_WAIT_MSG6"},     kNone},
  /* kDone */       {{"DONE", "QM_IDLE", "MM_ACTIVE"},             {"DONE", "QM_IDLE", "MM_ACTIVE"}},
  /* kFailed */     {kFailedNames,                                 kFailedNames},
  /* kDeleted */    {kDeletedNames,                                kDeletedNames},
};

// Aggressive Mode takes four of the phase 1 steps per role (steps.h). The
// responder computes SKEYID before it answers (message 2 carries HASH_R):
// it is still "processing message 1" for IBM, and has agreed nothing for IOS.
constexpr Row kAggressiveMode[kPhase1StepCount] = {
  /* kInit */       {{"INIT", "AG_NO_STATE", "-"},                 {"INIT", "AG_NO_STATE", "-"}},
  /* kSaSent */     {{"WAIT SA", "AG_INIT_EXCH", "AM_WAIT_MSG2"},  kNone},
  /* kSaAnswered */ {kNone,                                        {"IN KE", "AG_INIT_EXCH", "AM_WAIT_MSG3"}},
  /* kKeSent */     {kNone,                                        kNone},
  /* kAwaitSkeyid*/ {{"IN KE", "AG_INIT_EXCH", "AM_WAIT_MSG2"},    {"INIT", "AG_NO_STATE", "-"}},
  /* kKeAnswered */ {kNone,                                        kNone},
  /* kAuthSent */   {kNone,                                        kNone},
  /* kDone */       {{"DONE", "AG_AUTH", "AM_ACTIVE"},             {"DONE", "AG_AUTH", "AM_ACTIVE"}},
  /* kFailed */     {kFailedNames,                                 kFailedNames},
  /* kDeleted */    {kDeletedNames,                                kDeletedNames},
};

// Quick Mode: IOS names its states in "debug crypto isakmp" (IKE_QM_*):
// the initiator is READY until its SPI comes, the responder SPI_STARVE;
// the initiator sent QM1 (I_QM1) and, with QM2 in, installs the SAs
// (IPSEC_INSTALL_AWAIT); the responder answered with QM2 (R_QM2). ASA names
// no Quick Mode state ("show crypto isakmp sa" lists phase 1 only).
constexpr Row kQuickMode[kQuickModeStepCount] = {
  /* kAwaitSpi */           {{"INIT", "IKE_QM_READY", "-"},               {"INIT", "IKE_QM_SPI_STARVE", "-"}},
  /* kHashSaNonceSent */    {{"INIT", "IKE_QM_I_QM1", "-"},               kNone},
  /* kKeyed */              {{"KEP", "IKE_QM_IPSEC_INSTALL_AWAIT", "-"},  kNone},
  /* kHashSaNonceAnswered */{kNone,                                       {"KEP", "IKE_QM_R_QM2", "-"}},
  /* kDone */               {{"DONE", "IKE_QM_PHASE2_COMPLETE", "-"},     {"DONE", "IKE_QM_PHASE2_COMPLETE", "-"}},
  /* kFailed */             {kFailedNames,                                kFailedNames},
  /* kDeleted */            {kDeletedNames,                               kDeletedNames},
};
// clang-format on

StateNames Pick(const Row* table, int size, int step, Role role) {
  if (step < 0 || step >= size) return kUnknown;
  const StateNames& n = role == Role::kInitiator ? table[step].initiator : table[step].responder;
  return n.ibm ? n : kUnknown;
}

}  // namespace

StateNames MainModeNames(Phase1Step step, Role role) {
  return Pick(kMainMode, kPhase1StepCount, static_cast<int>(step), role);
}

StateNames AggressiveModeNames(Phase1Step step, Role role) {
  return Pick(kAggressiveMode, kPhase1StepCount, static_cast<int>(step), role);
}

StateNames QuickModeNames(QuickModeStep step, Role role) {
  return Pick(kQuickMode, kQuickModeStepCount, static_cast<int>(step), role);
}

StateNames Phase1Names(Phase1Mode mode, Phase1Step step, Role role) {
  return mode == Phase1Mode::kMain ? MainModeNames(step, role) : AggressiveModeNames(step, role);
}

const char* Phase1StepName(Phase1Step s) {
  static constexpr const char* kNames[kPhase1StepCount] = {
      "init",        "SA sent",      "SA answered", "KE sent", "awaiting SKEYID",
      "KE answered", "ID+HASH sent", "done",        "failed",  "deleted"};
  const int i = static_cast<int>(s);
  return i < kPhase1StepCount ? kNames[i] : "?";
}

const char* QuickModeStepName(QuickModeStep s) {
  static constexpr const char* kNames[kQuickModeStepCount] = {
      "awaiting SPI", "HASH(1) sent", "keyed", "HASH(2) sent", "done", "failed", "deleted"};
  const int i = static_cast<int>(s);
  return i < kQuickModeStepCount ? kNames[i] : "?";
}

}  // namespace ike::isakmpd
