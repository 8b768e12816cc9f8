// Main Mode (RFC 2409 section 5, pre-shared key authentication):
//   Initiator                          Responder
//   HDR, SA                     -->                                    (1)
//                               <--    HDR, SA                         (2)
//   HDR, KE, Ni                 -->                                    (3)
//                               <--    HDR, KE, Nr                     (4)
//   HDR*, IDii, HASH_I          -->                                    (5)
//                               <--    HDR*, IDir, HASH_R              (6)
// Each handler is named after the message it receives and the one it sends.
// The SA's MainModeStep (steps.h) picks the handler; handlers compute and
// return an Outcome with the next step; they do no I/O. SKEYID comes from
// cpsd (need_skeyid), after which the SA manager calls OnSkeyid.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "common/crypto.h"
#include "isakmpd/exchange/outcome.h"
#include "isakmpd/exchange/phase1_context.h"
#include "isakmpd/exchange/tools.h"
#include "tunneldb.pb.h"
#include "tunneldb/database.h"

namespace ike::isakmpd {

// The negotiation state of one Main Mode: owned by its ISAKMP SA until the
// exchange is done or failed, then freed in one step (secrets wipe
// themselves).
struct MainModeExchange {
  db::IkeTunnel definition;
  db::IkeProtection protection;
  std::string local_id;
  std::string remote_id;
  // settings.min_lifetime_seconds: shorter lifetimes are refused, offered
  // (message 1) or imposed (RESPONDER-LIFETIME in message 6).
  uint32_t min_life_seconds = tunneldb::kMinLifetimeSeconds;
  // Initiator: say INITIAL-CONTACT in message 5 (RFC 2407 4.6.3.3): we hold
  // no other ISAKMP SA with this peer, so whatever it holds with us is stale.
  bool initial_contact = false;

  std::unique_ptr<crypto::DhKeyPair> dh;
  Bytes g_xi, g_xr, ni, nr;
  SecretBytes g_xy;
  Bytes sai_b;  // the initiator's SA payload body, for HASH_I/HASH_R
  SecretBytes skeyid;

  // Message 5 that arrived while the step was kAwaitSkeyid, and where.
  std::optional<Bytes> queued_packet;
  Endpoint queued_local, queued_remote;
  int rejected_auth = 0;  // message 5/6 copies that did not decrypt or verify
};

namespace main_mode {

// Initiator, step kInit: builds message 1.
Phase1Outcome InitiatorSendSa(Phase1Context& sa, MainModeExchange& mm);
// The next step for a message received in the SA's current step.
Phase1Outcome Receive(Phase1Context& sa, MainModeExchange& mm,
                      const std::vector<wire::Payload>& payloads, const ExchangeTools& tools);
// SKEYID arrived from cpsd (step kAwaitSkeyid): derive SKEYID_d/a/e and the
// phase 1 IV; the initiator then sends message 5.
Phase1Outcome OnSkeyid(Phase1Context& sa, MainModeExchange& mm, SecretBytes skeyid);

// The message expected in the SA's step, for payload validation; nullopt
// when none is (kInit initiator, kDone, kFailed ...). In kAwaitSkeyid the
// responder expects message 5 but cannot read it yet (it is parked).
std::optional<wire::MessageKind> ExpectedMessage(const Phase1Context& sa);
// The number (1..6) of the message we sent on entering |step|.
int MessageSentIn(MainModeStep step);

}  // namespace main_mode
}  // namespace ike::isakmpd
