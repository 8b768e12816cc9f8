#include "isakmpd/exchange/phase1_parts.h"

#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/lifetime.h"
#include "isakmpd/exchange/nat_traversal.h"
#include "isakmpd/exchange/vendor_ids.h"

namespace ike::isakmpd::phase1 {
namespace {

using wire::Payload;
using Outcome = Phase1Outcome;

constexpr size_t kNonceLength = 32;

// HASH_I if |initiator|, else HASH_R (RFC 2409 5), over the ID body |id_b|.
Bytes Phase1Hash(const Phase1Context& sa, const Phase1Exchange& ex, bool initiator, ByteView id_b) {
  const auto derive = initiator ? keymat::HashI : keymat::HashR;
  return derive(sa.suite->hash, ex.skeyid.view(), ex.g_xi, ex.g_xr, sa.icookie, sa.rcookie,
                ex.sai_b, id_b);
}

Bytes CookiePair(const Phase1Context& sa) {
  Bytes cookies(sa.icookie.begin(), sa.icookie.end());
  cookies.insert(cookies.end(), sa.rcookie.begin(), sa.rcookie.end());
  return cookies;
}

}  // namespace

std::string Peer(const Phase1Context& sa) { return sa.remote.address.ToString(); }

std::optional<Outcome> MakeKeyExchange(const Phase1Context& sa, Phase1Exchange& ex,
                                       const ExchangeTools& tools, crypto::DhGroup group) {
  auto dh = tools.dh.Take(group);
  if (!dh) return Outcome::Fail(ipc::INTERNAL, "DH key generation failed: " + dh.error().message);
  ex.dh = std::move(dh.value());
  Bytes nonce = tools.random.Generate(kNonceLength);
  if (sa.role == Role::kInitiator) {
    ex.g_xi = ex.dh->PublicValue();
    ex.ni = std::move(nonce);
  } else {
    ex.g_xr = ex.dh->PublicValue();
    ex.nr = std::move(nonce);
  }
  return std::nullopt;
}

std::vector<Payload> KeyExchangeAndNonce(const Phase1Context& sa, const Phase1Exchange& ex) {
  const bool init = sa.role == Role::kInitiator;
  return {wire::MakePayload(wire::KeyExchangePayload{init ? ex.g_xi : ex.g_xr}),
          wire::MakePayload(wire::NoncePayload{init ? ex.ni : ex.nr})};
}

std::optional<Outcome> TakePeerKeyExchange(const Phase1Context& sa, Phase1Exchange& ex,
                                           const std::vector<Payload>& payloads) {
  const auto* ke = wire::FindBody<wire::KeyExchangePayload>(payloads);
  const auto* nonce = wire::FindBody<wire::NoncePayload>(payloads);
  if (ke->data.size() != crypto::DhPublicLength(sa.suite->group))
    return Outcome::Fail(ipc::PEER_NOTIFY,
                         "peer " + Peer(sa) + " sent a KE payload of " +
                             std::to_string(ke->data.size()) + " octets for group " +
                             sa.suite->GroupName(),
                         wire::NotifyType::kInvalidKeyInformation);
  if (nonce->data.size() < 8 || nonce->data.size() > 256)
    return Outcome::Fail(ipc::PEER_NOTIFY, "peer " + Peer(sa) + " sent a nonce of bad length",
                         wire::NotifyType::kPayloadMalformed);
  auto shared = ex.dh->ComputeShared(ke->data);
  if (!shared)
    return Outcome::Fail(
        ipc::PEER_NOTIFY,
        "peer " + Peer(sa) + " sent an invalid DH public value: " + shared.error().message,
        wire::NotifyType::kInvalidKeyInformation);
  ex.g_xy = std::move(shared.value());
  if (sa.role == Role::kInitiator) {
    ex.g_xr = ke->data;
    ex.nr = nonce->data;
  } else {
    ex.g_xi = ke->data;
    ex.ni = nonce->data;
  }
  return std::nullopt;
}

void DeriveKeys(Phase1Context& sa, Phase1Exchange& ex, SecretBytes skeyid) {
  ex.skeyid = std::move(skeyid);
  const auto& s = *sa.suite;
  sa.keys = keymat::DerivePhase1(s.hash, s.cipher, ex.skeyid.view(), ex.g_xy.view(), sa.icookie,
                                 sa.rcookie);
  sa.iv = keymat::Phase1Iv(s.hash, ex.g_xi, ex.g_xr, crypto::CipherBlockSize(s.cipher));
}

Payload OurIdPayload(const Phase1Exchange& ex) {
  return wire::MakePayload(
      Phase1IdPayload(ex.definition.local_id(), ex.definition.local_address()));
}

Payload OurHashPayload(const Phase1Context& sa, const Phase1Exchange& ex) {
  const Bytes id_b = wire::EncodePayloadBody(OurIdPayload(ex).body);
  return wire::MakePayload(
      wire::HashPayload{Phase1Hash(sa, ex, sa.role == Role::kInitiator, id_b)});
}

Payload InitialContactNotify(const Phase1Context& sa) {
  wire::NotifyPayload n;
  n.protocol = static_cast<uint8_t>(wire::ProtocolId::kIsakmp);
  n.spi = CookiePair(sa);
  n.type = static_cast<uint16_t>(wire::NotifyType::kInitialContact);
  return wire::MakePayload(std::move(n));
}

std::optional<Payload> LifetimeNotify(const Phase1Context& sa) {
  if (!sa.suite->life_shortened) return std::nullopt;
  return lifetime::ResponderLifetimeNotify(wire::ProtocolId::kIsakmp, CookiePair(sa),
                                           sa.suite->life_seconds, sa.suite->life_kbytes);
}

std::optional<Outcome> CheckPeerId(const Phase1Context& sa, const Phase1Exchange& ex,
                                   const Payload& id) {
  const std::string seen = IdPayloadText(std::get<wire::IdPayload>(id.body));
  if (IdentityKey(seen) == IdentityKey(ex.remote_id)) return std::nullopt;
  return Outcome::Fail(
      ipc::INVALID_ID,
      "peer " + Peer(sa) + " identified itself as '" + seen + "', expected '" + ex.remote_id + "'",
      wire::NotifyType::kInvalidIdInformation);
}

std::optional<Outcome> CheckPeerHash(const Phase1Context& sa, const Phase1Exchange& ex,
                                     const wire::HashPayload* hash, ByteView peer_id_b) {
  if (!hash)
    return Outcome::Fail(ipc::AUTHENTICATION_FAILED,
                         "peer " + Peer(sa) + " does not authenticate with a pre-shared key",
                         wire::NotifyType::kAuthenticationFailed);
  if (SameHash(hash->data, Phase1Hash(sa, ex, sa.role != Role::kInitiator, peer_id_b)))
    return std::nullopt;
  return Outcome::Fail(ipc::AUTHENTICATION_FAILED,
                       std::string("authentication failed: ") +
                           (sa.role == Role::kInitiator ? "HASH_R" : "HASH_I") + " from " +
                           Peer(sa) + " did not verify (the pre-shared keys differ)",
                       wire::NotifyType::kAuthenticationFailed);
}

bool SaysInitialContact(const std::vector<Payload>& payloads) {
  for (const Payload& p : payloads)
    if (const auto* n = std::get_if<wire::NotifyPayload>(&p.body))
      if (n->type == static_cast<uint16_t>(wire::NotifyType::kInitialContact)) return true;
  return false;
}

void NoteVendorIds(Phase1Context& sa, const std::vector<Payload>& payloads) {
  const vendor_ids::Announced a = vendor_ids::Read(payloads);
  sa.peer_dpd = a.dpd;
  sa.peer_aixike = a.aixike;
  sa.peer_fragmentation = a.fragmentation;
  sa.peer_vendor_ids = a.known;
  sa.peer_unknown_vendor_ids = a.unknown;
}

void AppendOurVendorIds(const Phase1Context& sa, const Phase1Exchange& ex,
                        std::vector<Payload>& out) {
  const bool fragmentation =
      ex.fragmentation && (sa.role == Role::kInitiator || sa.peer_fragmentation);
  for (Payload& vid : vendor_ids::Ours(fragmentation)) out.push_back(std::move(vid));
}

NatTVersion AgreedNatT(const Phase1Exchange& ex, const std::vector<Payload>& payloads) {
  return ex.nat_traversal ? nat_traversal::Agreed(payloads) : NatTVersion::kNone;
}

}  // namespace ike::isakmpd::phase1
