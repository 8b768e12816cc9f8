// The state names operators see (architecture.md "States operators see").
#pragma once

namespace ike::isakmpd {

enum class Role { kInitiator, kResponder };
inline const char* RoleName(Role r) { return r == Role::kInitiator ? "Initiator" : "Responder"; }

// Phase 1 (Main Mode), per role, as IBM names them:
//   INIT     initiator: message 1 not yet sent | responder: processing message 1
//   WAIT SA  initiator: sent message 1, waiting for message 2
//   WAIT KE  responder: processed message 1, waiting for message 3
//   IN KE    initiator: sent message 3 | responder: received message 3
//   DONE     initiator: received message 6 | responder: sent message 6
enum class Phase1State { kInit, kWaitSa, kWaitKe, kInKe, kDone };
const char* Phase1StateName(Phase1State s);
// Cisco IOS equivalents (MM_NO_STATE, MM_SA_SETUP, MM_KEY_EXCH, QM_IDLE).
const char* Phase1CiscoName(Phase1State s);

// Phase 2 (Quick Mode without commit bit), per IBM:
//   INIT  initiator: message 2 not yet received | responder: message 2 not yet sent
//   KEP   initiator: message 2 received | responder: message 2 sent
//   DONE  initiator: message 3 sent | responder: message 3 received
enum class Phase2State { kInit, kKep, kDone };
const char* Phase2StateName(Phase2State s);

}  // namespace ike::isakmpd
