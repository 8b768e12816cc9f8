#include "isakmpd/exchange/main_mode.h"

#include "isakmpd/exchange/lifetime.h"
#include "isakmpd/exchange/nat_traversal.h"
#include "isakmpd/exchange/phase1_parts.h"
#include "isakmpd/exchange/vendor_ids.h"

namespace ike::isakmpd::main_mode {
namespace {

using wire::Payload;
using wire::PayloadType;

using Outcome = Phase1Outcome;
using Step = Phase1Step;
using namespace phase1;  // phase1_parts.h

std::vector<Payload> KeNoncePayloads(const Phase1Context& sa, const Phase1Exchange& mm) {
  std::vector<Payload> out = KeyExchangeAndNonce(sa, mm);
  if (sa.uses_nat_t())
    for (auto& p : nat_traversal::NatDPayloads(sa)) out.push_back(std::move(p));
  return out;
}

std::vector<Payload> IdAuthPayloads(const Phase1Context& sa, const Phase1Exchange& mm) {
  std::vector<Payload> out{OurIdPayload(mm), OurHashPayload(sa, mm)};
  // Encrypted with message 5, as strongSwan and Cisco send it.
  if (sa.role == Role::kInitiator && mm.initial_contact) out.push_back(InitialContactNotify(sa));
  return out;
}

// Checks the peer's ID and HASH (message 5 or 6).
std::optional<Outcome> VerifyIdAuth(Phase1Context& sa, const Phase1Exchange& mm,
                                    const std::vector<Payload>& payloads) {
  const Payload* id = wire::Find(payloads, PayloadType::kIdentification);
  const auto* hash = wire::FindBody<wire::HashPayload>(payloads);
  if (!hash) return CheckPeerHash(sa, mm, hash, {});  // says it does not use a PSK
  if (auto fail = CheckPeerId(sa, mm, *id)) return fail;
  if (auto fail = CheckPeerHash(sa, mm, hash, id->raw_body())) return fail;
  sa.peer_initial_contact = SaysInitialContact(payloads);
  return std::nullopt;
}

// ---- initiator -------------------------------------------------------------

Outcome InitiatorRecvSaSendKeNonce(Phase1Context& sa, Phase1Exchange& mm,
                                   const std::vector<Payload>& payloads,
                                   const ExchangeTools& tools) {
  std::string why;
  auto suite = AcceptIkeReply(*wire::FindBody<wire::SaPayload>(payloads), mm.protection,
                              mm.min_life_seconds, &why);
  if (!suite)
    return Outcome::Fail(ipc::NO_PROPOSAL_CHOSEN, "peer " + Peer(sa) + " answered badly: " + why,
                         wire::NotifyType::kNoProposalChosen);
  sa.suite = *suite;
  sa.nat_t = AgreedNatT(mm, payloads);
  NoteVendorIds(sa, payloads);
  if (auto fail = MakeKeyExchange(sa, mm, tools, sa.suite->group)) return *fail;
  return Outcome::Send(KeNoncePayloads(sa, mm)).To(Step::kKeSent);
}

Outcome InitiatorRecvKeNonce(Phase1Context& sa, Phase1Exchange& mm,
                             const std::vector<Payload>& payloads) {
  if (auto fail = TakePeerKeyExchange(sa, mm, payloads)) return *fail;
  if (sa.uses_nat_t()) nat_traversal::Detect(sa, payloads);
  Outcome o;
  o.need_skeyid = true;
  return std::move(o).To(Step::kAwaitSkeyid);
}

Outcome InitiatorRecvIdAuth(Phase1Context& sa, Phase1Exchange& mm,
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

Outcome ResponderRecvSaSendSa(Phase1Context& sa, Phase1Exchange& mm,
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
  sa.nat_t = AgreedNatT(mm, payloads);
  NoteVendorIds(sa, payloads);
  std::vector<Payload> out{wire::MakePayload(std::move(reply))};
  if (sa.uses_nat_t()) out.push_back(nat_traversal::VendorIdPayload(sa.nat_t));
  AppendOurVendorIds(sa, mm, out);
  return Outcome::Send(std::move(out)).To(Step::kSaAnswered);
}

Outcome ResponderRecvKeNonceSendKeNonce(Phase1Context& sa, Phase1Exchange& mm,
                                        const std::vector<Payload>& payloads,
                                        const ExchangeTools& tools) {
  if (auto fail = MakeKeyExchange(sa, mm, tools, sa.suite->group)) return *fail;
  if (auto fail = TakePeerKeyExchange(sa, mm, payloads)) return *fail;
  if (sa.uses_nat_t()) nat_traversal::Detect(sa, payloads);
  Outcome o = Outcome::Send(KeNoncePayloads(sa, mm));
  o.need_skeyid = true;
  return std::move(o).To(Step::kAwaitSkeyid);
}

Outcome ResponderRecvIdAuthSendIdAuth(Phase1Context& sa, Phase1Exchange& mm,
                                      const std::vector<Payload>& payloads) {
  if (auto fail = VerifyIdAuth(sa, mm, payloads)) return *fail;
  std::vector<Payload> out = IdAuthPayloads(sa, mm);
  // RFC 2407 4.5.4: a shorter lifetime is announced in the exchange that
  // carries the SA; message 2 is unprotected, so it goes in message 6, the
  // first protected one (as Cisco IOS does).
  if (auto n = LifetimeNotify(sa)) out.push_back(std::move(*n));
  Outcome o = Outcome::Send(std::move(out), /*encrypt=*/true);
  o.done = true;
  return std::move(o).To(Step::kDone);
}

}  // namespace

Outcome InitiatorSendSa(Phase1Context& sa, Phase1Exchange& mm) {
  Payload sa_payload = wire::MakePayload(BuildIkeSa(mm.protection));
  mm.sai_b = wire::EncodePayloadBody(sa_payload.body);
  std::vector<Payload> out;
  out.push_back(std::move(sa_payload));
  if (mm.nat_traversal)
    for (Payload& vid : nat_traversal::OfferedVendorIds()) out.push_back(std::move(vid));
  AppendOurVendorIds(sa, mm, out);
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

int MessageSentIn(Phase1Step step) {
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

Outcome Receive(Phase1Context& sa, Phase1Exchange& mm, const std::vector<Payload>& payloads,
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

Outcome OnSkeyid(Phase1Context& sa, Phase1Exchange& mm, SecretBytes skeyid) {
  if (sa.step != Step::kAwaitSkeyid) return Outcome::Wait();
  DeriveKeys(sa, mm, std::move(skeyid));
  if (sa.role == Role::kResponder) return Outcome::Wait().To(Step::kKeAnswered);
  return Outcome::Send(IdAuthPayloads(sa, mm), /*encrypt=*/true).To(Step::kAuthSent);
}

}  // namespace ike::isakmpd::main_mode
