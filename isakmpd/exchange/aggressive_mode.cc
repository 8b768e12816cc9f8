#include "isakmpd/exchange/aggressive_mode.h"

#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/lifetime.h"
#include "isakmpd/exchange/nat_traversal.h"
#include "isakmpd/exchange/phase1_parts.h"
#include "isakmpd/exchange/vendor_ids.h"

namespace ike::isakmpd::aggressive_mode {
namespace {

using wire::Payload;
using wire::PayloadType;
using Outcome = Phase1Outcome;
using Step = Phase1Step;
using namespace phase1;  // phase1_parts.h

// The group message 1's KE is for: the first proposal's (all share it).
crypto::DhGroup OfferedGroup(const db::IkeProtection& protection) {
  return static_cast<crypto::DhGroup>(protection.proposal(0).dh_group());
}

// The chosen proposal's group must be the one KE was made for.
std::optional<Outcome> CheckGroup(const Phase1Context& sa, crypto::DhGroup ke_group) {
  if (sa.suite->group == ke_group) return std::nullopt;
  IkeSuite offered = *sa.suite;
  offered.group = ke_group;
  return Outcome::Fail(ipc::NO_PROPOSAL_CHOSEN,
                       "Aggressive Mode with " + Peer(sa) + ": the chosen proposal has group " +
                           sa.suite->GroupName() + " but the key exchange was made for " +
                           offered.GroupName() +
                           " (the group cannot be negotiated in Aggressive Mode)",
                       wire::NotifyType::kNoProposalChosen);
}

// ---- initiator -------------------------------------------------------------

Outcome InitiatorRecvSaKeIdAuth(Phase1Context& sa, Phase1Exchange& ex,
                                const std::vector<Payload>& payloads) {
  std::string why;
  auto suite = AcceptIkeReply(*wire::FindBody<wire::SaPayload>(payloads), ex.protection,
                              ex.min_life_seconds, &why);
  if (!suite)
    return Outcome::Fail(ipc::NO_PROPOSAL_CHOSEN, "peer " + Peer(sa) + " answered badly: " + why,
                         wire::NotifyType::kNoProposalChosen);
  sa.suite = *suite;
  if (auto fail = CheckGroup(sa, OfferedGroup(ex.protection))) return *fail;
  sa.nat_t = AgreedNatT(ex, payloads);
  NoteVendorIds(sa, payloads);
  const Payload* id = wire::Find(payloads, PayloadType::kIdentification);
  if (auto fail = CheckPeerId(sa, ex, *id)) return *fail;
  if (auto fail = TakePeerKeyExchange(sa, ex, payloads)) return *fail;
  if (sa.uses_nat_t()) nat_traversal::Detect(sa, payloads);
  ex.peer_id_b.assign(id->raw_body().begin(), id->raw_body().end());
  ex.peer_message2 = payloads;  // HASH_R and notifies, read with SKEYID
  Outcome o;
  o.need_skeyid = true;
  return std::move(o).To(Step::kAwaitSkeyid);
}

// Message 3: HASH_I, NAT-D, INITIAL-CONTACT; encrypted (see the header).
Outcome InitiatorVerifyAuthSendAuth(Phase1Context& sa, Phase1Exchange& ex) {
  const auto& m2 = ex.peer_message2;
  if (auto fail = CheckPeerHash(sa, ex, wire::FindBody<wire::HashPayload>(m2), ex.peer_id_b))
    return *fail;
  if (auto fail = lifetime::TakeResponderLifetime(m2, wire::ProtocolId::kIsakmp,
                                                  ex.min_life_seconds, Peer(sa),
                                                  &sa.suite->life_seconds, &sa.suite->life_kbytes))
    return Outcome::Fail(std::move(*fail));
  sa.peer_initial_contact = SaysInitialContact(m2);
  ex.peer_message2.clear();
  std::vector<Payload> out{OurHashPayload(sa, ex)};
  if (sa.uses_nat_t())
    for (auto& p : nat_traversal::NatDPayloads(sa)) out.push_back(std::move(p));
  if (ex.initial_contact) out.push_back(InitialContactNotify(sa));
  Outcome o = Outcome::Send(std::move(out), /*encrypt=*/true);
  o.done = true;
  return std::move(o).To(Step::kDone);
}

// ---- responder -------------------------------------------------------------

Outcome ResponderRecvSaKeId(Phase1Context& sa, Phase1Exchange& ex,
                            const std::vector<Payload>& payloads, const ExchangeTools& tools) {
  const Payload* sa_payload = wire::Find(payloads, PayloadType::kSa);
  wire::SaPayload reply;
  std::string why;
  auto suite = SelectIkeSuite(std::get<wire::SaPayload>(sa_payload->body), ex.protection,
                              ex.min_life_seconds, &reply, &why);
  if (!suite)
    return Outcome::Fail(ipc::NO_PROPOSAL_CHOSEN,
                         "no proposal chosen for peer " + Peer(sa) + ": " + why,
                         wire::NotifyType::kNoProposalChosen);
  sa.suite = *suite;
  ex.sai_b = Bytes(sa_payload->raw_body().begin(), sa_payload->raw_body().end());
  ex.chosen_sa = std::move(reply);
  sa.nat_t = AgreedNatT(ex, payloads);
  NoteVendorIds(sa, payloads);
  const Payload* id = wire::Find(payloads, PayloadType::kIdentification);
  if (auto fail = CheckPeerId(sa, ex, *id)) return *fail;
  ex.peer_id_b.assign(id->raw_body().begin(), id->raw_body().end());
  if (auto fail = MakeKeyExchange(sa, ex, tools, sa.suite->group)) return *fail;
  if (auto fail = TakePeerKeyExchange(sa, ex, payloads)) return *fail;
  Outcome o;
  o.need_skeyid = true;
  return std::move(o).To(Step::kAwaitSkeyid);
}

// Message 2. RESPONDER-LIFETIME goes here, the exchange's only message from
// us (RFC 2407 4.5.4); unprotected, but read by the initiator only after
// HASH_R verified.
Outcome ResponderSendSaKeIdAuth(Phase1Context& sa, Phase1Exchange& ex) {
  std::vector<Payload> out{wire::MakePayload(std::move(*ex.chosen_sa))};
  ex.chosen_sa.reset();
  for (Payload& p : KeyExchangeAndNonce(sa, ex)) out.push_back(std::move(p));
  out.push_back(OurIdPayload(ex));
  out.push_back(OurHashPayload(sa, ex));
  if (sa.uses_nat_t()) {
    for (auto& p : nat_traversal::NatDPayloads(sa)) out.push_back(std::move(p));
    out.push_back(nat_traversal::VendorIdPayload(sa.nat_t));
  }
  if (auto n = LifetimeNotify(sa)) out.push_back(std::move(*n));
  AppendOurVendorIds(sa, ex, out);
  return Outcome::Send(std::move(out)).To(Step::kSaAnswered);
}

Outcome ResponderRecvAuth(Phase1Context& sa, Phase1Exchange& ex,
                          const std::vector<Payload>& payloads) {
  if (auto fail = CheckPeerHash(sa, ex, wire::FindBody<wire::HashPayload>(payloads), ex.peer_id_b))
    return *fail;
  if (sa.uses_nat_t()) nat_traversal::Detect(sa, payloads);
  sa.peer_initial_contact = SaysInitialContact(payloads);
  Outcome o;
  o.done = true;
  return std::move(o).To(Step::kDone);
}

}  // namespace

Outcome InitiatorSendSaKeId(Phase1Context& sa, Phase1Exchange& ex, const ExchangeTools& tools) {
  if (auto fail = MakeKeyExchange(sa, ex, tools, OfferedGroup(ex.protection))) return *fail;
  Payload sa_payload = wire::MakePayload(BuildIkeSa(ex.protection));
  ex.sai_b = wire::EncodePayloadBody(sa_payload.body);
  std::vector<Payload> out;
  out.push_back(std::move(sa_payload));
  for (Payload& p : KeyExchangeAndNonce(sa, ex)) out.push_back(std::move(p));
  out.push_back(OurIdPayload(ex));
  if (ex.nat_traversal)
    for (Payload& vid : nat_traversal::OfferedVendorIds()) out.push_back(std::move(vid));
  AppendOurVendorIds(sa, ex, out);
  return Outcome::Send(std::move(out)).To(Step::kSaSent);
}

Outcome Receive(Phase1Context& sa, Phase1Exchange& ex, const std::vector<Payload>& payloads,
                const ExchangeTools& tools) {
  const bool init = sa.role == Role::kInitiator;
  switch (sa.step) {
    case Step::kInit:
      return init ? Outcome::Wait() : ResponderRecvSaKeId(sa, ex, payloads, tools);
    case Step::kSaSent:
      return InitiatorRecvSaKeIdAuth(sa, ex, payloads);
    case Step::kSaAnswered:
      return ResponderRecvAuth(sa, ex, payloads);
    default:
      return Outcome::Wait();
  }
}

Outcome OnSkeyid(Phase1Context& sa, Phase1Exchange& ex, SecretBytes skeyid) {
  if (sa.step != Step::kAwaitSkeyid) return Outcome::Wait();
  DeriveKeys(sa, ex, std::move(skeyid));
  return sa.role == Role::kInitiator ? InitiatorVerifyAuthSendAuth(sa, ex)
                                     : ResponderSendSaKeIdAuth(sa, ex);
}

std::optional<wire::MessageKind> ExpectedMessage(const Phase1Context& sa) {
  using K = wire::MessageKind;
  const bool init = sa.role == Role::kInitiator;
  switch (sa.step) {
    case Step::kInit:
      return init ? std::nullopt : std::optional(K::kAggressive1);
    case Step::kSaSent:
      return K::kAggressive2;
    case Step::kSaAnswered:
      return K::kAggressive3;
    default:
      return std::nullopt;
  }
}

int MessageSentIn(Phase1Step step, Role role) {
  const bool init = role == Role::kInitiator;
  switch (step) {
    case Step::kSaSent:
      return 1;
    case Step::kSaAnswered:
      return 2;
    case Step::kDone:
      return init ? 3 : 0;
    default:
      return 0;
  }
}

std::string InitiatorIdentity(const std::vector<Payload>& payloads) {
  const auto* id = wire::FindBody<wire::IdPayload>(payloads);
  return id ? IdPayloadText(*id) : std::string();
}

}  // namespace ike::isakmpd::aggressive_mode
