#include "isakmpd/exchange/main_mode.h"

#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/lifetime.h"
#include "isakmpd/exchange/nat_traversal.h"
#include "isakmpd/exchange/vendor_ids.h"

namespace ike::isakmpd::main_mode {
namespace {

using wire::Payload;
using wire::PayloadType;

constexpr size_t kNonceLength = 32;

using Outcome = Phase1Outcome;
using Step = MainModeStep;

std::string Peer(const Phase1Context& sa) { return sa.remote.address.ToString(); }

// Generates our DH key pair and nonce; fills g^x and nonce for |role|.
std::optional<Outcome> MakeKeyExchange(const Phase1Context& sa, MainModeExchange& mm,
                                       const ExchangeTools& tools) {
  auto dh = tools.dh.Take(sa.suite->group);
  if (!dh) return Outcome::Fail(ipc::INTERNAL, "DH key generation failed: " + dh.error().message);
  mm.dh = std::move(dh.value());
  Bytes nonce = tools.random.Generate(kNonceLength);
  if (sa.role == Role::kInitiator) {
    mm.g_xi = mm.dh->PublicValue();
    mm.ni = std::move(nonce);
  } else {
    mm.g_xr = mm.dh->PublicValue();
    mm.nr = std::move(nonce);
  }
  return std::nullopt;
}

std::vector<Payload> KeNoncePayloads(const Phase1Context& sa, const MainModeExchange& mm) {
  const bool init = sa.role == Role::kInitiator;
  std::vector<Payload> out{wire::MakePayload(wire::KeyExchangePayload{init ? mm.g_xi : mm.g_xr}),
                           wire::MakePayload(wire::NoncePayload{init ? mm.ni : mm.nr})};
  if (sa.nat_t)
    for (auto& p : nat_traversal::NatDPayloads(sa)) out.push_back(std::move(p));
  return out;
}

// Reads the peer's KE and nonce (RFC 2409 5: KE length must match the group)
// and computes g^xy.
std::optional<Outcome> TakePeerKeyExchange(const Phase1Context& sa, MainModeExchange& mm,
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
  auto shared = mm.dh->ComputeShared(ke->data);
  if (!shared)
    return Outcome::Fail(
        ipc::PEER_NOTIFY,
        "peer " + Peer(sa) + " sent an invalid DH public value: " + shared.error().message,
        wire::NotifyType::kInvalidKeyInformation);
  mm.g_xy = std::move(shared.value());
  if (sa.role == Role::kInitiator) {
    mm.g_xr = ke->data;
    mm.nr = nonce->data;
  } else {
    mm.g_xi = ke->data;
    mm.ni = nonce->data;
  }
  return std::nullopt;
}

// HASH_I if |initiator|, else HASH_R, over the ID payload body |id_b|.
Bytes Phase1Hash(const Phase1Context& sa, const MainModeExchange& mm, bool initiator,
                 ByteView id_b) {
  const auto derive = initiator ? keymat::HashI : keymat::HashR;
  return derive(sa.suite->hash, mm.skeyid.view(), mm.g_xi, mm.g_xr, sa.icookie, sa.rcookie,
                mm.sai_b, id_b);
}

Bytes OurHash(const Phase1Context& sa, const MainModeExchange& mm, ByteView id_b) {
  return Phase1Hash(sa, mm, sa.role == Role::kInitiator, id_b);
}

Bytes PeerHash(const Phase1Context& sa, const MainModeExchange& mm, ByteView id_b) {
  return Phase1Hash(sa, mm, sa.role != Role::kInitiator, id_b);
}

std::vector<Payload> IdAuthPayloads(const Phase1Context& sa, const MainModeExchange& mm) {
  Payload id =
      wire::MakePayload(Phase1IdPayload(mm.definition.local_id(), mm.definition.local_address()));
  const Bytes id_b = wire::EncodePayloadBody(id.body);
  std::vector<Payload> out{std::move(id),
                           wire::MakePayload(wire::HashPayload{OurHash(sa, mm, id_b)})};
  if (sa.role == Role::kInitiator && mm.initial_contact) {
    // RFC 2407 4.6.3.3: protocol ISAKMP, SPI the cookie pair; encrypted
    // with message 5, as strongSwan and Cisco send it.
    wire::NotifyPayload n;
    n.protocol = static_cast<uint8_t>(wire::ProtocolId::kIsakmp);
    n.spi.assign(sa.icookie.begin(), sa.icookie.end());
    n.spi.insert(n.spi.end(), sa.rcookie.begin(), sa.rcookie.end());
    n.type = static_cast<uint16_t>(wire::NotifyType::kInitialContact);
    out.push_back(wire::MakePayload(std::move(n)));
  }
  return out;
}

bool SaysInitialContact(const std::vector<Payload>& payloads) {
  for (const Payload& p : payloads)
    if (const auto* n = std::get_if<wire::NotifyPayload>(&p.body))
      if (n->type == static_cast<uint16_t>(wire::NotifyType::kInitialContact)) return true;
  return false;
}

// RFC 2407 4.5.4 and 4.6.3.1: a responder that keeps a shorter lifetime
// than the initiator's transform says so in the exchange that carries its
// SA. In Main Mode that is message 2, still unprotected, so the notify goes
// in message 6, the first protected one (protocol ISAKMP, SPI the cookie
// pair, as Cisco IOS does); HASH_R does not cover it, the encryption with
// the keys just agreed does.
std::optional<Payload> LifetimeNotify(const Phase1Context& sa) {
  if (!sa.suite->life_shortened) return std::nullopt;
  Bytes cookies(sa.icookie.begin(), sa.icookie.end());
  cookies.insert(cookies.end(), sa.rcookie.begin(), sa.rcookie.end());
  return lifetime::ResponderLifetimeNotify(wire::ProtocolId::kIsakmp, std::move(cookies),
                                           sa.suite->life_seconds, sa.suite->life_kbytes);
}

// Checks the peer's ID and HASH (message 5 or 6). A HASH mismatch with a
// message that decrypted and parsed means the pre-shared keys differ.
std::optional<Outcome> VerifyIdAuth(Phase1Context& sa, const MainModeExchange& mm,
                                    const std::vector<Payload>& payloads) {
  const Payload* id = wire::Find(payloads, PayloadType::kIdentification);
  const auto* hash = wire::FindBody<wire::HashPayload>(payloads);
  if (!hash)
    return Outcome::Fail(ipc::AUTHENTICATION_FAILED,
                         "peer " + Peer(sa) + " does not authenticate with a pre-shared key",
                         wire::NotifyType::kAuthenticationFailed);
  const auto& id_body = std::get<wire::IdPayload>(id->body);
  const std::string seen = IdPayloadText(id_body);
  if (seen != mm.remote_id)
    return Outcome::Fail(ipc::INVALID_ID,
                         "peer " + Peer(sa) + " identified itself as '" + seen + "', expected '" +
                             mm.remote_id + "'",
                         wire::NotifyType::kInvalidIdInformation);
  if (!SameHash(hash->data, PeerHash(sa, mm, id->raw_body())))
    return Outcome::Fail(ipc::AUTHENTICATION_FAILED,
                         std::string("authentication failed: ") +
                             (sa.role == Role::kInitiator ? "HASH_R" : "HASH_I") + " from " +
                             Peer(sa) + " did not verify (the pre-shared keys differ)",
                         wire::NotifyType::kAuthenticationFailed);
  // Read only once the HASH proved who sent it: a forged INITIAL-CONTACT
  // would drop every SA with the peer.
  sa.peer_initial_contact = SaysInitialContact(payloads);
  return std::nullopt;
}

void NoteVendorIds(Phase1Context& sa, const std::vector<Payload>& payloads) {
  const vendor_ids::Announced a = vendor_ids::Read(payloads);
  sa.peer_dpd = a.dpd;
  sa.peer_aixike = a.aixike;
  sa.peer_vendor_ids = a.known;
  sa.peer_unknown_vendor_ids = a.unknown;
}

// ---- initiator -------------------------------------------------------------

Outcome InitiatorRecvSaSendKeNonce(Phase1Context& sa, MainModeExchange& mm,
                                   const std::vector<Payload>& payloads,
                                   const ExchangeTools& tools) {
  std::string why;
  auto suite = AcceptIkeReply(*wire::FindBody<wire::SaPayload>(payloads), mm.protection,
                              mm.min_life_seconds, &why);
  if (!suite)
    return Outcome::Fail(ipc::NO_PROPOSAL_CHOSEN, "peer " + Peer(sa) + " answered badly: " + why,
                         wire::NotifyType::kNoProposalChosen);
  sa.suite = *suite;
  sa.nat_t = nat_traversal::HasVendorId(payloads);
  NoteVendorIds(sa, payloads);
  if (auto fail = MakeKeyExchange(sa, mm, tools)) return *fail;
  return Outcome::Send(KeNoncePayloads(sa, mm)).To(Step::kKeSent);
}

Outcome InitiatorRecvKeNonce(Phase1Context& sa, MainModeExchange& mm,
                             const std::vector<Payload>& payloads) {
  if (auto fail = TakePeerKeyExchange(sa, mm, payloads)) return *fail;
  if (sa.nat_t) nat_traversal::Detect(sa, payloads);
  Outcome o;
  o.need_skeyid = true;
  return std::move(o).To(Step::kAwaitSkeyid);
}

Outcome InitiatorRecvIdAuth(Phase1Context& sa, MainModeExchange& mm,
                            const std::vector<Payload>& payloads) {
  if (auto fail = VerifyIdAuth(sa, mm, payloads)) return *fail;
  if (auto fail = lifetime::TakeResponderLifetime(payloads, wire::ProtocolId::kIsakmp,
                                                  mm.min_life_seconds, Peer(sa),
                                                  &sa.suite->life_seconds, &sa.suite->life_kbytes))
    return Outcome::Fail(std::move(*fail));
  Outcome o;
  o.done = true;
  return std::move(o).To(Step::kDone);
}

// ---- responder -------------------------------------------------------------

Outcome ResponderRecvSaSendSa(Phase1Context& sa, MainModeExchange& mm,
                              const std::vector<Payload>& payloads) {
  const Payload* sa_payload = wire::Find(payloads, PayloadType::kSa);
  wire::SaPayload reply;
  std::string why;
  auto suite = SelectIkeSuite(std::get<wire::SaPayload>(sa_payload->body), mm.protection,
                              mm.min_life_seconds, &reply, &why);
  if (!suite)
    return Outcome::Fail(ipc::NO_PROPOSAL_CHOSEN,
                         "no proposal chosen for peer " + Peer(sa) + ": " + why,
                         wire::NotifyType::kNoProposalChosen);
  sa.suite = *suite;
  mm.sai_b = Bytes(sa_payload->raw_body().begin(), sa_payload->raw_body().end());
  sa.nat_t = nat_traversal::HasVendorId(payloads);
  NoteVendorIds(sa, payloads);
  std::vector<Payload> out{wire::MakePayload(std::move(reply))};
  if (sa.nat_t) out.push_back(nat_traversal::VendorIdPayload());
  for (Payload& vid : vendor_ids::Ours()) out.push_back(std::move(vid));
  return Outcome::Send(std::move(out)).To(Step::kSaAnswered);
}

Outcome ResponderRecvKeNonceSendKeNonce(Phase1Context& sa, MainModeExchange& mm,
                                        const std::vector<Payload>& payloads,
                                        const ExchangeTools& tools) {
  if (auto fail = MakeKeyExchange(sa, mm, tools)) return *fail;
  if (auto fail = TakePeerKeyExchange(sa, mm, payloads)) return *fail;
  if (sa.nat_t) nat_traversal::Detect(sa, payloads);
  Outcome o = Outcome::Send(KeNoncePayloads(sa, mm));
  o.need_skeyid = true;
  return std::move(o).To(Step::kAwaitSkeyid);
}

Outcome ResponderRecvIdAuthSendIdAuth(Phase1Context& sa, MainModeExchange& mm,
                                      const std::vector<Payload>& payloads) {
  if (auto fail = VerifyIdAuth(sa, mm, payloads)) return *fail;
  std::vector<Payload> out = IdAuthPayloads(sa, mm);
  if (auto n = LifetimeNotify(sa)) out.push_back(std::move(*n));
  Outcome o = Outcome::Send(std::move(out), /*encrypt=*/true);
  o.done = true;
  return std::move(o).To(Step::kDone);
}

}  // namespace

Outcome InitiatorSendSa(Phase1Context&, MainModeExchange& mm) {
  Payload sa_payload = wire::MakePayload(BuildIkeSa(mm.protection));
  mm.sai_b = wire::EncodePayloadBody(sa_payload.body);
  std::vector<Payload> out;
  out.push_back(std::move(sa_payload));
  out.push_back(nat_traversal::VendorIdPayload());
  for (Payload& vid : vendor_ids::Ours()) out.push_back(std::move(vid));
  return Outcome::Send(std::move(out)).To(Step::kSaSent);
}

std::optional<wire::MessageKind> ExpectedMessage(const Phase1Context& sa) {
  using K = wire::MessageKind;
  const bool init = sa.role == Role::kInitiator;
  switch (sa.step) {
    case Step::kInit:
      return init ? std::nullopt : std::optional(K::kMainMode1);
    case Step::kSaSent:
      return K::kMainMode2;
    case Step::kSaAnswered:
      return K::kMainMode3;
    case Step::kKeSent:
      return K::kMainMode4;
    case Step::kAwaitSkeyid:
      return init ? std::nullopt : std::optional(K::kMainMode5);
    case Step::kKeAnswered:
      return K::kMainMode5;
    case Step::kAuthSent:
      return K::kMainMode6;
    case Step::kDone:
    case Step::kFailed:
    case Step::kDeleted:
      return std::nullopt;
  }
  return std::nullopt;
}

int MessageSentIn(MainModeStep step) {
  switch (step) {
    case Step::kSaSent:
      return 1;
    case Step::kSaAnswered:
      return 2;
    case Step::kKeSent:
      return 3;
    case Step::kAwaitSkeyid:
      return 4;  // only the responder sends on entering it
    case Step::kAuthSent:
      return 5;
    case Step::kDone:
      return 6;  // only the responder sends on entering it
    default:
      return 0;
  }
}

Outcome Receive(Phase1Context& sa, MainModeExchange& mm, const std::vector<Payload>& payloads,
                const ExchangeTools& tools) {
  const bool init = sa.role == Role::kInitiator;
  switch (sa.step) {
    case Step::kInit:
      return init ? Outcome::Wait() : ResponderRecvSaSendSa(sa, mm, payloads);
    case Step::kSaSent:
      return InitiatorRecvSaSendKeNonce(sa, mm, payloads, tools);
    case Step::kSaAnswered:
      return ResponderRecvKeNonceSendKeNonce(sa, mm, payloads, tools);
    case Step::kKeSent:
      return InitiatorRecvKeNonce(sa, mm, payloads);
    case Step::kKeAnswered:
      return ResponderRecvIdAuthSendIdAuth(sa, mm, payloads);
    case Step::kAuthSent:
      return InitiatorRecvIdAuth(sa, mm, payloads);
    default:
      return Outcome::Wait();
  }
}

Outcome OnSkeyid(Phase1Context& sa, MainModeExchange& mm, SecretBytes skeyid) {
  if (sa.step != Step::kAwaitSkeyid) return Outcome::Wait();
  mm.skeyid = std::move(skeyid);
  const auto& s = *sa.suite;
  sa.keys = keymat::DerivePhase1(s.hash, s.cipher, mm.skeyid.view(), mm.g_xy.view(), sa.icookie,
                                 sa.rcookie);
  sa.iv = keymat::Phase1Iv(s.hash, mm.g_xi, mm.g_xr, crypto::CipherBlockSize(s.cipher));
  if (sa.role == Role::kResponder) return Outcome::Wait().To(Step::kKeAnswered);
  return Outcome::Send(IdAuthPayloads(sa, mm), /*encrypt=*/true).To(Step::kAuthSent);
}

}  // namespace ike::isakmpd::main_mode
