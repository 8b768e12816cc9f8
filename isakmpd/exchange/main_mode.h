// Main Mode (RFC 2409 section 5, pre-shared key authentication):
//   Initiator                          Responder
//   HDR, SA                     -->                                    (1)
//                               <--    HDR, SA                         (2)
//   HDR, KE, Ni                 -->                                    (3)
//                               <--    HDR, KE, Nr                     (4)
//   HDR*, IDii, HASH_I          -->                                    (5)
//                               <--    HDR*, IDir, HASH_R              (6)
// Each handler is named after the message it receives and the one it sends.
// The SA's Phase1Step (steps.h) picks the handler; handlers compute and
// return an Outcome with the next step; they do no I/O. SKEYID comes from
// cpsd (need_skeyid), after which the SA manager calls OnSkeyid.
#pragma once

#include <optional>
#include <vector>

#include "isakmpd/exchange/phase1_exchange.h"

namespace ike::isakmpd {

namespace main_mode {

// Initiator, step kInit: builds message 1.
Phase1Outcome InitiatorSendSa(Phase1Context& sa, Phase1Exchange& mm);
// The next step for a message received in the SA's current step.
Phase1Outcome Receive(Phase1Context& sa, Phase1Exchange& mm,
                      const std::vector<wire::Payload>& payloads, const ExchangeTools& tools);
// SKEYID arrived from cpsd (step kAwaitSkeyid): derive SKEYID_d/a/e and the
// phase 1 IV; the initiator then sends message 5.
Phase1Outcome OnSkeyid(Phase1Context& sa, Phase1Exchange& mm, SecretBytes skeyid);

// The message expected in the SA's step, for payload validation; nullopt
// when none is (kInit initiator, kDone, kFailed ...). In kAwaitSkeyid the
// responder expects message 5 but cannot read it yet (it is parked).
std::optional<wire::MessageKind> ExpectedMessage(const Phase1Context& sa);
// The number (1..6) of the message we sent on entering |step|.
int MessageSentIn(Phase1Step step);

}  // namespace main_mode
}  // namespace ike::isakmpd
