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

// Phase 1 exchange modes (RFC 2409 5). Only Main Mode is implemented; the
// Aggressive Mode rows of the name table are ready for it.
enum class Phase1Mode : uint8_t { kMain, kAggressive };

// Main Mode (RFC 2409 5), one value per point at which we wait.
//   initiator: kInit -> kSaSent -> kKeSent -> kAwaitSkeyid -> kAuthSent -> kDone
//   responder: kInit -> kSaAnswered -> kAwaitSkeyid -> kKeAnswered -> kDone
// kFailed and kDeleted end every SA (the transition table in sa/ allows them
// from any live step).
enum class MainModeStep : uint8_t {
  kInit,         // I: message 1 not yet sent | R: processing message 1
  kSaSent,       // I: sent message 1, waiting for message 2
  kSaAnswered,   // R: sent message 2, waiting for message 3
  kKeSent,       // I: sent message 3, waiting for message 4
  kAwaitSkeyid,  // I: got message 4 | R: got 3, sent 4; waiting for cpsd
  kKeAnswered,   // R: SKEYID known, waiting for message 5
  kAuthSent,     // I: sent message 5, waiting for message 6
  kDone,         // I: got message 6 | R: sent message 6
  kFailed,
  kDeleted,
};
constexpr int kMainModeStepCount = 10;
const char* MainModeStepName(MainModeStep s);  // for logs: "SA sent"

// Aggressive Mode (RFC 2409 5): not implemented yet; the steps exist so the
// name table is complete and tested.
enum class AggressiveModeStep : uint8_t {
  kInit,         // I: message 1 not yet sent | R: processing message 1
  kSaSent,       // I: sent message 1, waiting for message 2
  kSaAnswered,   // R: sent message 2, waiting for message 3
  kAwaitSkeyid,  // I: got message 2, waiting for cpsd before message 3
  kDone,         // I: sent message 3 | R: got message 3
};
constexpr int kAggressiveModeStepCount = 5;

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
