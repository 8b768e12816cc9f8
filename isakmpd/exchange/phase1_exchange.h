// One phase 1 negotiation, whichever mode runs it (RFC 2409 5): its state
// and the entry points the SA manager calls. Each entry point hands over to
// main_mode.h or aggressive_mode.h by the SA's mode; what both modes compute
// alike (key exchange, HASH_I/HASH_R, identities) is in phase1_parts.h.
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

// The negotiation state of one phase 1: owned by its ISAKMP SA until the
// exchange is done or failed, then freed in one step (secrets wipe
// themselves).
struct Phase1Exchange {
  db::IkeTunnel definition;
  db::IkeProtection protection;
  std::string local_id;
  std::string remote_id;
  // settings.min_lifetime_seconds: shorter lifetimes are refused, offered
  // (message 1) or imposed (RESPONDER-LIFETIME in the last message).
  uint32_t min_life_seconds = tunneldb::kMinLifetimeSeconds;
  // Initiator: say INITIAL-CONTACT with HASH_I (RFC 2407 4.6.3.3): we hold
  // no other ISAKMP SA with this peer, so whatever it holds with us is stale.
  bool initial_contact = false;
  // settings.nat_traversal: false sends no NAT-T vendor ID and ignores the
  // peer's, so no NAT-D, no move to port 4500, no UDP encapsulation.
  bool nat_traversal = true;
  // settings.fragmentation is not OFF: our FRAGMENTATION vendor ID goes out
  // (the responder's only if the initiator's came).
  bool fragmentation = true;

  std::unique_ptr<crypto::DhKeyPair> dh;
  Bytes g_xi, g_xr, ni, nr;
  SecretBytes g_xy;
  Bytes sai_b;  // the initiator's SA payload body, for HASH_I/HASH_R
  // Aggressive Mode: the body of the peer's ID payload (message 1 for the
  // responder, 2 for the initiator), which its HASH covers.
  Bytes peer_id_b;
  // Aggressive Mode: the initiator reads message 2's HASH_R and notifies
  // only once SKEYID is known; the responder's SA reply waits for it too.
  std::vector<wire::Payload> peer_message2;
  std::optional<wire::SaPayload> chosen_sa;
  SecretBytes skeyid;

  // An encrypted message that arrived while the step was kAwaitSkeyid, and
  // where (read once SKEYID is here).
  std::optional<Bytes> queued_packet;
  Endpoint queued_local, queued_remote;
  int rejected_auth = 0;  // HASH_I/HASH_R messages that did not decrypt or verify
};

namespace phase1 {

// Initiator, step kInit: builds message 1 of the SA's mode.
Phase1Outcome Start(Phase1Context& sa, Phase1Exchange& ex, const ExchangeTools& tools);
// The next step for a message received in the SA's current step.
Phase1Outcome Receive(Phase1Context& sa, Phase1Exchange& ex,
                      const std::vector<wire::Payload>& payloads, const ExchangeTools& tools);
// SKEYID arrived from cpsd (step kAwaitSkeyid).
Phase1Outcome OnSkeyid(Phase1Context& sa, Phase1Exchange& ex, SecretBytes skeyid);
// The message expected in the SA's step, for payload validation; nullopt
// when none is.
std::optional<wire::MessageKind> ExpectedMessage(const Phase1Context& sa);
// The number of the message we sent on entering |step| (0: none).
int MessageSentIn(Phase1Mode mode, Phase1Step step, Role role);
// The number of the last message sent or received in |step|, for tmd and
// Cisco-style names (MM_WAIT_MSG<n+1>).
int MessageReached(Phase1Mode mode, Phase1Step step, Role role);
// The exchange type phase 1 messages of |mode| carry (RFC 2408 3.1).
wire::ExchangeType ExchangeTypeOf(Phase1Mode mode);
// True once the peer has sent the message after our first answer (Main
// Mode 3, Aggressive Mode 3): the responder SA is no longer half-open
// prey for a spoofed message 1.
bool PeerWentOn(const Phase1Context& sa);

}  // namespace phase1
}  // namespace ike::isakmpd
