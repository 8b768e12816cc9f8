// The internal steps of each exchange: what drives dispatch (which message is
// expected next, which handler runs). Operators never see these; the names
// they see come from state_names.h, one pure table per (step, role, mode).
//
// strongSwan does the same (tasks/main_mode.c keeps MM_INIT/MM_SA/MM_KE/
// MM_AUTH apart from the IKE_SA state it reports).
#pragma once

#include <cstdint>

namespace ike::isakmpd {

enum class Role : uint8_t { kInitiator, kResponder };
inline const char* RoleName(Role r) { return r == Role::kInitiator ? "Initiator" : "Responder"; }

// Phase 1 exchange modes (RFC 2409 5): chosen by the initiator's IKE
// protection; the responder accepts Aggressive Mode only where its own
// protection says AGGRESSIVE (aggressive_mode.h).
enum class Phase1Mode : uint8_t { kMain, kAggressive };
inline const char* Phase1ModeName(Phase1Mode m) {
  return m == Phase1Mode::kMain ? "Main Mode" : "Aggressive Mode";
}

// Phase 1, one value per point at which we wait. Both modes wait at the
// same kinds of points, so they share the enum; each mode has its own edge
// table (sa/transitions.cc) and name table (state_names.cc), and takes only
// some of the steps:
//   Main Mode (RFC 2409 5)
//     initiator: kInit -> kSaSent -> kKeSent -> kAwaitSkeyid -> kAuthSent -> kDone
//     responder: kInit -> kSaAnswered -> kAwaitSkeyid -> kKeAnswered -> kDone
//   Aggressive Mode (RFC 2409 5; the responder's message 2 carries HASH_R,
//   so it needs SKEYID before it can answer)
//     initiator: kInit -> kSaSent -> kAwaitSkeyid -> kDone
//     responder: kInit -> kAwaitSkeyid -> kSaAnswered -> kDone
// kFailed and kDeleted end every SA (the transition table in sa/ allows them
// from any live step).
enum class Phase1Step : uint8_t {
  kInit,         // I: message 1 not yet sent | R: processing message 1
  kSaSent,       // I: sent message 1, waiting for message 2
  kSaAnswered,   // R: sent message 2, waiting for message 3
  kKeSent,       // MM I: sent message 3, waiting for message 4
  kAwaitSkeyid,  // waiting for cpsd: MM I got 4 | MM R got 3, sent 4 |
                 // AM I got 2 | AM R got 1
  kKeAnswered,   // MM R: SKEYID known, waiting for message 5
  kAuthSent,     // MM I: sent message 5, waiting for message 6
  kDone,         // MM I: got 6 | MM R: sent 6 | AM I: sent 3 | AM R: got 3
  kFailed,
  kDeleted,
};
constexpr int kPhase1StepCount = 10;
const char* Phase1StepName(Phase1Step s);  // for logs: "SA sent"

// Quick Mode (RFC 2409 5.5, no commit bit).
//   initiator: kAwaitSpi -> kHashSaNonceSent -> kKeyed -> kDone
//   responder: kAwaitSpi -> kHashSaNonceAnswered -> kDone
enum class QuickModeStep : uint8_t {
  kAwaitSpi,             // waiting for our inbound SPI (SpiAllocator)
  kHashSaNonceSent,      // I: sent message 1, waiting for message 2
  kKeyed,                // I: message 2 verified, KEYMAT derived, message 3 next
  kHashSaNonceAnswered,  // R: sent message 2, waiting for message 3
  kDone,                 // I: sent message 3 | R: got message 3
  kFailed,
  kDeleted,
};
constexpr int kQuickModeStepCount = 7;
const char* QuickModeStepName(QuickModeStep s);

}  // namespace ike::isakmpd
