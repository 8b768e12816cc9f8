// Main Mode (RFC 2409 section 5, pre-shared key authentication):
//   Initiator                          Responder
//   HDR, SA                     -->                                    (1)
//                               <--    HDR, SA                         (2)
//   HDR, KE, Ni                 -->                                    (3)
//                               <--    HDR, KE, Nr                     (4)
//   HDR*, IDii, HASH_I          -->                                    (5)
//                               <--    HDR*, IDir, HASH_R              (6)
// Each handler is named after the message it receives and the one it sends.
// Handlers compute and return an Outcome; they do no I/O. SKEYID comes from
// cpsd (need_skeyid), after which the SA manager calls OnSkeyid.
#pragma once

#include <vector>

#include "common/crypto.h"
#include "isakmpd/exchange/outcome.h"
#include "isakmpd/exchange/tools.h"
#include "isakmpd/sa/isakmp_sa.h"

namespace ike::isakmpd::main_mode {

// Initiator, state INIT: builds message 1.
Outcome InitiatorSendSa(IsakmpSa& sa);
// The next step for a message received in the SA's current state.
Outcome Receive(IsakmpSa& sa, const std::vector<wire::Payload>& payloads,
                const ExchangeTools& tools);
// SKEYID arrived from cpsd: derive SKEYID_d/a/e and the phase 1 IV; the
// initiator then sends message 5.
Outcome OnSkeyid(IsakmpSa& sa, SecretBytes skeyid);

// The message kind expected next in the SA's state, for payload validation.
std::optional<wire::MessageKind> ExpectedMessage(const IsakmpSa& sa);

}  // namespace ike::isakmpd::main_mode
