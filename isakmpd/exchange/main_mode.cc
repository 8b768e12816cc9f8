#include "isakmpd/exchange/main_mode.h"

#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/nat_traversal.h"

namespace ike::isakmpd::main_mode {
namespace {

using wire::Payload;
using wire::PayloadType;

constexpr size_t kNonceLength = 32;

std::string Peer(const IsakmpSa& sa) { return sa.remote.address.ToString(); }

Outcome WithState(Outcome o, Phase1State s) {
  o.phase1_state = s;
  return o;
}

// Generates our DH key pair and nonce; fills g^x and nonce for |role|.
std::optional<Outcome> MakeKeyExchange(IsakmpSa& sa, const ExchangeTools& tools) {
  auto dh = tools.dh.Take(sa.suite->group);
  if (!dh) return Outcome::Fail(ipc::INTERNAL, "DH key generation failed: " + dh.error().message);
  sa.dh = std::move(dh.value());
  Bytes nonce = tools.random.Generate(kNonceLength);
  if (sa.role == Role::kInitiator) {
    sa.g_xi = sa.dh->PublicValue();
    sa.ni = std::move(nonce);
  } else {
    sa.g_xr = sa.dh->PublicValue();
    sa.nr = std::move(nonce);
  }
  return std::nullopt;
}

std::vector<Payload> KeNoncePayloads(const IsakmpSa& sa) {
  const bool init = sa.role == Role::kInitiator;
  std::vector<Payload> out{wire::MakePayload(wire::KeyExchangePayload{init ? sa.g_xi : sa.g_xr}),
                           wire::MakePayload(wire::NoncePayload{init ? sa.ni : sa.nr})};
  if (sa.nat_t)
    for (auto& p : nat_traversal::NatDPayloads(sa)) out.push_back(std::move(p));
  return out;
}

// Reads the peer's KE and nonce (RFC 2409 5: KE length must match the group)
// and computes g^xy.
std::optional<Outcome> TakePeerKeyExchange(IsakmpSa& sa, const std::vector<Payload>& payloads) {
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
  auto shared = sa.dh->ComputeShared(ke->data);
  if (!shared)
    return Outcome::Fail(
        ipc::PEER_NOTIFY,
        "peer " + Peer(sa) + " sent an invalid DH public value: " + shared.error().message,
        wire::NotifyType::kInvalidKeyInformation);
  sa.g_xy = std::move(shared.value());
  if (sa.role == Role::kInitiator) {
    sa.g_xr = ke->data;
    sa.nr = nonce->data;
  } else {
    sa.g_xi = ke->data;
    sa.ni = nonce->data;
  }
  return std::nullopt;
}

// HASH_I if |initiator|, else HASH_R, over the ID payload body |id_b|.
Bytes Phase1Hash(const IsakmpSa& sa, bool initiator, ByteView id_b) {
  const auto derive = initiator ? keymat::HashI : keymat::HashR;
  return derive(sa.suite->hash, sa.skeyid.view(), sa.g_xi, sa.g_xr, sa.icookie, sa.rcookie,
                sa.sai_b, id_b);
}

Bytes OurHash(const IsakmpSa& sa, ByteView id_b) {
  return Phase1Hash(sa, sa.role == Role::kInitiator, id_b);
}

Bytes PeerHash(const IsakmpSa& sa, ByteView id_b) {
  return Phase1Hash(sa, sa.role != Role::kInitiator, id_b);
}

std::vector<Payload> IdAuthPayloads(IsakmpSa& sa) {
  Payload id =
      wire::MakePayload(Phase1IdPayload(sa.definition.local_id(), sa.definition.local_address()));
  const Bytes id_b = wire::EncodePayloadBody(id.body);
  return {std::move(id), wire::MakePayload(wire::HashPayload{OurHash(sa, id_b)})};
}

// Checks the peer's ID and HASH (message 5 or 6). A HASH mismatch with a
// message that decrypted and parsed means the pre-shared keys differ.
std::optional<Outcome> VerifyIdAuth(IsakmpSa& sa, const std::vector<Payload>& payloads) {
  const Payload* id = wire::Find(payloads, PayloadType::kIdentification);
  const auto* hash = wire::FindBody<wire::HashPayload>(payloads);
  if (!hash)
    return Outcome::Fail(ipc::AUTHENTICATION_FAILED,
                         "peer " + Peer(sa) + " does not authenticate with a pre-shared key",
                         wire::NotifyType::kAuthenticationFailed);
  const auto& id_body = std::get<wire::IdPayload>(id->body);
  const std::string seen = IdPayloadText(id_body);
  if (seen != sa.remote_id)
    return Outcome::Fail(ipc::INVALID_ID,
                         "peer " + Peer(sa) + " identified itself as '" + seen + "', expected '" +
                             sa.remote_id + "'",
                         wire::NotifyType::kInvalidIdInformation);
  if (hash->data != PeerHash(sa, id->raw_body()))
    return Outcome::Fail(ipc::AUTHENTICATION_FAILED,
                         std::string("authentication failed: ") +
                             (sa.role == Role::kInitiator ? "HASH_R" : "HASH_I") + " from " +
                             Peer(sa) + " did not verify (the pre-shared keys differ)",
                         wire::NotifyType::kAuthenticationFailed);
  return std::nullopt;
}

// ---- initiator -------------------------------------------------------------

Outcome InitiatorRecvSaSendKeNonce(IsakmpSa& sa, const std::vector<Payload>& payloads,
                                   const ExchangeTools& tools) {
  std::string why;
  auto suite = AcceptIkeReply(*wire::FindBody<wire::SaPayload>(payloads), sa.protection, &why);
  if (!suite)
    return Outcome::Fail(ipc::NO_PROPOSAL_CHOSEN, "peer " + Peer(sa) + " answered badly: " + why,
                         wire::NotifyType::kNoProposalChosen);
  sa.suite = *suite;
  sa.nat_t = nat_traversal::HasVendorId(payloads);
  if (auto fail = MakeKeyExchange(sa, tools)) return *fail;
  return WithState(Outcome::Send(KeNoncePayloads(sa)), Phase1State::kInKe);
}

Outcome InitiatorRecvKeNonce(IsakmpSa& sa, const std::vector<Payload>& payloads) {
  if (auto fail = TakePeerKeyExchange(sa, payloads)) return *fail;
  if (sa.nat_t) nat_traversal::Detect(sa, payloads);
  Outcome o;
  o.need_skeyid = true;
  return o;
}

Outcome InitiatorRecvIdAuth(IsakmpSa& sa, const std::vector<Payload>& payloads) {
  if (auto fail = VerifyIdAuth(sa, payloads)) return *fail;
  Outcome o;
  o.done = true;
  return WithState(o, Phase1State::kDone);
}

// ---- responder -------------------------------------------------------------

Outcome ResponderRecvSaSendSa(IsakmpSa& sa, const std::vector<Payload>& payloads) {
  const Payload* sa_payload = wire::Find(payloads, PayloadType::kSa);
  wire::SaPayload reply;
  std::string why;
  auto suite =
      SelectIkeSuite(std::get<wire::SaPayload>(sa_payload->body), sa.protection, &reply, &why);
  if (!suite)
    return Outcome::Fail(ipc::NO_PROPOSAL_CHOSEN,
                         "no proposal chosen for peer " + Peer(sa) + ": " + why,
                         wire::NotifyType::kNoProposalChosen);
  sa.suite = *suite;
  sa.sai_b = Bytes(sa_payload->raw_body().begin(), sa_payload->raw_body().end());
  sa.nat_t = nat_traversal::HasVendorId(payloads);
  std::vector<Payload> out{wire::MakePayload(std::move(reply))};
  if (sa.nat_t) out.push_back(nat_traversal::VendorIdPayload());
  return WithState(Outcome::Send(std::move(out)), Phase1State::kWaitKe);
}

Outcome ResponderRecvKeNonceSendKeNonce(IsakmpSa& sa, const std::vector<Payload>& payloads,
                                        const ExchangeTools& tools) {
  if (auto fail = MakeKeyExchange(sa, tools)) return *fail;
  if (auto fail = TakePeerKeyExchange(sa, payloads)) return *fail;
  if (sa.nat_t) nat_traversal::Detect(sa, payloads);
  Outcome o = Outcome::Send(KeNoncePayloads(sa));
  o.need_skeyid = true;
  return WithState(o, Phase1State::kInKe);
}

Outcome ResponderRecvIdAuthSendIdAuth(IsakmpSa& sa, const std::vector<Payload>& payloads) {
  if (auto fail = VerifyIdAuth(sa, payloads)) return *fail;
  Outcome o = Outcome::Send(IdAuthPayloads(sa), /*encrypt=*/true);
  o.done = true;
  return WithState(o, Phase1State::kDone);
}

}  // namespace

Outcome InitiatorSendSa(IsakmpSa& sa) {
  Payload sa_payload = wire::MakePayload(BuildIkeSa(sa.protection));
  sa.sai_b = wire::EncodePayloadBody(sa_payload.body);
  std::vector<Payload> out;
  out.push_back(std::move(sa_payload));
  out.push_back(nat_traversal::VendorIdPayload());
  return WithState(Outcome::Send(std::move(out)), Phase1State::kWaitSa);
}

std::optional<wire::MessageKind> ExpectedMessage(const IsakmpSa& sa) {
  using K = wire::MessageKind;
  const bool init = sa.role == Role::kInitiator;
  switch (sa.state) {
    case Phase1State::kInit:
      return init ? std::nullopt : std::optional(K::kMainMode1);
    case Phase1State::kWaitSa:
      return K::kMainMode2;
    case Phase1State::kWaitKe:
      return K::kMainMode3;
    case Phase1State::kInKe:
      if (init) return sa.g_xr.empty() ? K::kMainMode4 : K::kMainMode6;
      return K::kMainMode5;
    case Phase1State::kDone:
      return std::nullopt;
  }
  return std::nullopt;
}

Outcome Receive(IsakmpSa& sa, const std::vector<Payload>& payloads, const ExchangeTools& tools) {
  auto kind = ExpectedMessage(sa);
  if (!kind) return Outcome::Wait();
  switch (*kind) {
    case wire::MessageKind::kMainMode1:
      return ResponderRecvSaSendSa(sa, payloads);
    case wire::MessageKind::kMainMode2:
      return InitiatorRecvSaSendKeNonce(sa, payloads, tools);
    case wire::MessageKind::kMainMode3:
      return ResponderRecvKeNonceSendKeNonce(sa, payloads, tools);
    case wire::MessageKind::kMainMode4:
      return InitiatorRecvKeNonce(sa, payloads);
    case wire::MessageKind::kMainMode5:
      return ResponderRecvIdAuthSendIdAuth(sa, payloads);
    case wire::MessageKind::kMainMode6:
      return InitiatorRecvIdAuth(sa, payloads);
    default:
      return Outcome::Wait();
  }
}

Outcome OnSkeyid(IsakmpSa& sa, SecretBytes skeyid) {
  sa.skeyid = std::move(skeyid);
  sa.skeyid_pending = false;
  const auto& s = *sa.suite;
  sa.keys = keymat::DerivePhase1(s.hash, s.cipher, sa.skeyid.view(), sa.g_xy.view(), sa.icookie,
                                 sa.rcookie);
  sa.iv = keymat::Phase1Iv(s.hash, sa.g_xi, sa.g_xr, crypto::CipherBlockSize(s.cipher));
  if (sa.role == Role::kResponder) return Outcome::Wait();
  return Outcome::Send(IdAuthPayloads(sa), /*encrypt=*/true);
}

}  // namespace ike::isakmpd::main_mode
