// What every exchange may read of the ISAKMP SA it runs under: role, step,
// cookies, endpoints, the agreed suite and the phase 1 keys. Defined here so
// exchange/ never includes sa/ (sa/ links exchange/, never the other way);
// sa/isakmp_sa.h extends it with what only the SA manager needs.
#pragma once

#include <optional>
#include <string>

#include "common/address.h"
#include "ikev1/keymat.h"
#include "isakmpd/exchange/steps.h"
#include "isakmpd/exchange/suite.h"
#include "isakmpd/wire/wire.h"

namespace ike::isakmpd {

// The NAT traversal both sides announced by vendor ID: RFC 3947 or one of
// the drafts before it, which number NAT-D, NAT-OA and the encapsulation
// modes differently (nat_traversal.h). kNone: none, or switched off
// (settings.nat_traversal).
enum class NatTVersion : uint8_t { kNone, kDraft02, kDraft02n, kDraft03, kRfc3947 };

struct Phase1Context {
  Role role = Role::kInitiator;
  Phase1Mode mode = Phase1Mode::kMain;
  Phase1Step step = Phase1Step::kInit;  // changed only by SaManager::Transition
  wire::Cookie icookie{};
  wire::Cookie rcookie{};
  Endpoint local;
  Endpoint remote;

  std::optional<IkeSuite> suite;
  keymat::Phase1Keys keys;
  Bytes iv;  // phase 1 CBC state: the last block of the last phase 1 message

  // NAT traversal (RFC 3947): both sent a vendor ID (nat_t); NAT-D showed
  // a NAT in front of us or of the peer (nat_local, nat_remote). Either
  // moves IKE to port 4500 from message 5 on and makes ESP
  // UDP-encapsulated.
  NatTVersion nat_t = NatTVersion::kNone;
  bool uses_nat_t() const { return nat_t != NatTVersion::kNone; }
  // The peer announced Dead Peer Detection (RFC 3706) and is this suite
  // (exchange/vendor_ids.h).
  bool peer_dpd = false;
  bool peer_aixike = false;
  // The peer announced IKEv1 fragmentation: a message of ours too large
  // for settings.fragment_size may then go in fragments.
  bool peer_fragmentation = false;
  // Every vendor ID it sent (vendor_ids.h Announced), for the log.
  uint8_t peer_unknown_vendor_ids = 0;
  uint32_t peer_vendor_ids = 0;
  // The peer's message 5 or 6 said INITIAL-CONTACT: it has just started and
  // every older SA with it (both phases) is stale.
  bool peer_initial_contact = false;
  bool nat_local = false;
  bool nat_remote = false;
  bool behind_nat() const { return nat_local || nat_remote; }

  bool established() const { return step == Phase1Step::kDone; }
  // SKEYID_a exists: Informational and Quick Mode messages can be protected.
  bool keyed() const { return !keys.skeyid_a.empty(); }
  std::string CookieText() const;  // "icookie:rcookie" in hex
  // The first IV of the phase 2 or Informational exchange |message_id|
  // (RFC 2409 Appendix B): hash(last phase 1 block | M-ID), cut to a block.
  // Each exchange then keeps its own CBC chain.
  Bytes IvFor(uint32_t message_id) const;
};

// Constant-time HASH comparison (CRYPTO_memcmp): a HASH check must not tell
// an attacker how many leading octets of a forgery were right.
bool SameHash(ByteView a, ByteView b);

}  // namespace ike::isakmpd
