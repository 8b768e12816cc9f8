// What Main Mode and Aggressive Mode compute alike (RFC 2409 5): the key
// exchange, HASH_I and HASH_R, our identity, the checks of the peer's, and
// what the peer announced. Each returns a failure Outcome, or nullopt when
// the step may go on.
#pragma once

#include <optional>
#include <vector>

#include "isakmpd/exchange/phase1_exchange.h"

namespace ike::isakmpd::phase1 {

std::string Peer(const Phase1Context& sa);  // "192.0.2.2"

// Our DH key pair of |group| and nonce: fills g^x and our nonce for sa.role.
std::optional<Phase1Outcome> MakeKeyExchange(const Phase1Context& sa, Phase1Exchange& ex,
                                             const ExchangeTools& tools, crypto::DhGroup group);
// KE and nonce payloads with our values.
std::vector<wire::Payload> KeyExchangeAndNonce(const Phase1Context& sa, const Phase1Exchange& ex);
// Reads the peer's KE and nonce (the KE length must match the group, RFC
// 2409 5; the public value is validated) and computes g^xy.
std::optional<Phase1Outcome> TakePeerKeyExchange(const Phase1Context& sa, Phase1Exchange& ex,
                                                 const std::vector<wire::Payload>& payloads);
// SKEYID_d/a/e, the encryption key and the first phase 1 IV (RFC 2409 5,
// Appendix B), from SKEYID.
void DeriveKeys(Phase1Context& sa, Phase1Exchange& ex, SecretBytes skeyid);

// Our ID payload (the definition's local_id, or our address).
wire::Payload OurIdPayload(const Phase1Exchange& ex);
// HASH_I (initiator) or HASH_R (responder) over our ID payload body.
wire::Payload OurHashPayload(const Phase1Context& sa, const Phase1Exchange& ex);
// INITIAL-CONTACT (RFC 2407 4.6.3.3): protocol ISAKMP, SPI the cookie pair.
wire::Payload InitialContactNotify(const Phase1Context& sa);
// RESPONDER-LIFETIME for the ISAKMP SA when we keep a shorter lifetime than
// the chosen transform's (RFC 2407 4.5.4, 4.6.3.1), or nullopt.
std::optional<wire::Payload> LifetimeNotify(const Phase1Context& sa);

// The peer's ID must be the one the definition expects.
std::optional<Phase1Outcome> CheckPeerId(const Phase1Context& sa, const Phase1Exchange& ex,
                                         const wire::Payload& id);
// The peer's HASH_I or HASH_R over |peer_id_b|. A HASH that does not verify
// in a message that parsed means the pre-shared keys differ.
std::optional<Phase1Outcome> CheckPeerHash(const Phase1Context& sa, const Phase1Exchange& ex,
                                           const wire::HashPayload* hash, ByteView peer_id_b);
// INITIAL-CONTACT among |payloads|; read only from a message whose HASH
// verified (a forged one would drop every SA with the peer).
bool SaysInitialContact(const std::vector<wire::Payload>& payloads);
// The vendor IDs the peer sent (vendor_ids.h), onto the SA.
void NoteVendorIds(Phase1Context& sa, const std::vector<wire::Payload>& payloads);
// Our vendor IDs (vendor_ids::Ours) at the end of |out|; FRAGMENTATION as
// |ex| allows, and from a responder only after NoteVendorIds saw the
// initiator's.
void AppendOurVendorIds(const Phase1Context& sa, const Phase1Exchange& ex,
                        std::vector<wire::Payload>& out);
// The NAT traversal version the peer's message 1 or 2 agrees to
// (nat_traversal::Agreed); kNone when settings.nat_traversal is off.
NatTVersion AgreedNatT(const Phase1Exchange& ex, const std::vector<wire::Payload>& payloads);

}  // namespace ike::isakmpd::phase1
