// Aggressive Mode (RFC 2409 section 5, pre-shared key authentication):
//   Initiator                          Responder
//   HDR, SA, KE, Ni, IDii       -->                                    (1)
//                               <--    HDR, SA, KE, Nr, IDir, HASH_R   (2)
//   HDR*, HASH_I                -->                                    (3)
// Three messages instead of six, at a price: the identities travel in the
// clear, and message 2 gives an eavesdropper (or anyone who sends a message
// 1) HASH_R, against which the pre-shared key can be guessed offline. So a
// responder accepts it only where its IKE protection says AGGRESSIVE. What
// it buys: the responder learns the initiator's identity before it needs
// the key, so a peer with a dynamic address is found, and its key looked
// up, by identity.
//
// The DH group cannot be negotiated (KE travels with the offer): every
// proposal of an AGGRESSIVE protection uses one group (tunneldb checks).
// Message 3 is encrypted, as strongSwan and Cisco send it; an unencrypted
// one (RFC 2409 read literally) is accepted too. With NAT-T (RFC 3947 5)
// NAT-D travels in messages 2 and 3, and the initiator moves to port 4500
// for message 3 when a NAT is found.
//
// Handlers as in main_mode.h: named after the message they receive and the
// one they send; they compute and return an Outcome, no I/O.
#pragma once

#include <optional>
#include <vector>

#include "isakmpd/exchange/phase1_exchange.h"

namespace ike::isakmpd::aggressive_mode {

// Initiator, step kInit: builds message 1.
Phase1Outcome InitiatorSendSaKeId(Phase1Context& sa, Phase1Exchange& ex,
                                  const ExchangeTools& tools);
Phase1Outcome Receive(Phase1Context& sa, Phase1Exchange& ex,
                      const std::vector<wire::Payload>& payloads, const ExchangeTools& tools);
// SKEYID arrived: the initiator verifies HASH_R and sends message 3; the
// responder sends message 2.
Phase1Outcome OnSkeyid(Phase1Context& sa, Phase1Exchange& ex, SecretBytes skeyid);
std::optional<wire::MessageKind> ExpectedMessage(const Phase1Context& sa);
int MessageSentIn(Phase1Step step, Role role);

// The peer identity message 1 carries, as cpsd and the database name it
// ("host.example", "user@example", "192.0.2.2"): the responder finds its
// definition by it. Empty if the message has no ID payload.
std::string InitiatorIdentity(const std::vector<wire::Payload>& payloads);

}  // namespace ike::isakmpd::aggressive_mode
