#include "isakmpd/exchange/quick_mode.h"

#include "common/byte_reader.h"
#include "common/selector.h"
#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/lifetime.h"
#include "isakmpd/exchange/nat_traversal.h"

namespace ike::isakmpd::quick_mode {
namespace {

using wire::Payload;
using wire::PayloadType;
using Outcome = Phase2Outcome;
using Step = QuickModeStep;

constexpr size_t kNonceLength = 32;
constexpr uint8_t kProtoEsp = 3;

// The octets after HASH: what HASH(1) and HASH(2) cover (RFC 2409 5.5).
Bytes RestAfterHash(const std::vector<Payload>& payloads) {
  Bytes rest;
  for (size_t i = 1; i < payloads.size(); ++i) Append(rest, payloads[i].raw);
  return rest;
}

const Bytes& HashData(const std::vector<Payload>& payloads) {
  return std::get<wire::HashPayload>(payloads.front().body).data;
}

// Encodes |rest| to learn its octets, then prepends HASH over them.
std::vector<Payload> WithHash(std::vector<Payload> rest, const Phase1Context& p1,
                              const QuickModeExchange& qm, bool second) {
  const Bytes encoded = wire::EncodePayloads(rest);
  const auto prf = p1.suite->hash;
  Bytes hash =
      second ? keymat::QuickModeHash2(prf, p1.keys.skeyid_a.view(), qm.message_id, qm.ni, encoded)
             : keymat::QuickModeHash1(prf, p1.keys.skeyid_a.view(), qm.message_id, encoded);
  std::vector<Payload> out;
  out.push_back(wire::MakePayload(wire::HashPayload{std::move(hash)}));
  for (auto& p : rest) out.push_back(std::move(p));
  return out;
}

std::string Peer(const Phase1Context& p1) { return p1.remote.address.ToString(); }

Bytes SpiOctets(uint32_t spi) {
  const auto b = BigEndian32(spi);
  return Bytes(b.begin(), b.end());
}

// RFC 2407 4.5, RFC 3947 5.1: the definition's mode, UDP-encapsulated
// when a NAT is in the path.
// The drafts number the UDP modes differently (nat_traversal.h).
uint16_t Encapsulation(const Phase1Context& p1, const QuickModeExchange& qm) {
  const bool transport = qm.definition.mode() == db::ESP_TRANSPORT;
  if (p1.behind_nat()) return nat_traversal::UdpEncapsulation(p1.nat_t, transport);
  return transport ? wire::kEncapsulationTransport : wire::kEncapsulationTunnel;
}

// RFC 3947 5.2: in transport mode through a NAT, both messages 1 and 2
// carry the original addresses, so that a host that must fix up TCP/UDP
// checksums after decapsulation can (the Linux kernel needs nothing more
// for ESP transport: XFRM recomputes nothing, the checksums of traffic
// between the hosts are over the addresses they see).
void AddNatOa(const Phase1Context& p1, const QuickModeExchange& qm, std::vector<Payload>& rest) {
  if (qm.definition.mode() != db::ESP_TRANSPORT || !p1.behind_nat()) return;
  for (auto& p : nat_traversal::NatOaPayloads(p1)) rest.push_back(std::move(p));
}

// KEYMAT for both directions (RFC 2409 5.5): the SPI decides the direction.
void DeriveKeymat(const Phase1Context& p1, QuickModeExchange& qm) {
  const size_t len = qm.suite->enc_key_bytes + qm.suite->integ_key_bytes;
  const auto prf = p1.suite->hash;
  qm.keymat_in = keymat::QuickModeKeymat(prf, p1.keys.skeyid_d.view(), qm.g_qm.view(), kProtoEsp,
                                         qm.spi_in, qm.ni, qm.nr, len);
  qm.keymat_out = keymat::QuickModeKeymat(prf, p1.keys.skeyid_d.view(), qm.g_qm.view(), kProtoEsp,
                                          qm.spi_out, qm.ni, qm.nr, len);
}

// PFS: our KE (generated earlier) against the peer's (RFC 2409 5.5).
std::optional<Outcome> TakePfs(const Phase1Context& p1, QuickModeExchange& qm,
                               const std::vector<Payload>& payloads) {
  const auto* ke = wire::FindBody<wire::KeyExchangePayload>(payloads);
  const bool want = qm.suite->pfs_group.has_value();
  if (want != (ke != nullptr))
    return Outcome::Fail(ipc::NO_PROPOSAL_CHOSEN,
                         std::string("peer ") + Peer(p1) +
                             (want ? " sent no KE payload although PFS was agreed"
                                   : " sent a KE payload without PFS"),
                         wire::NotifyType::kNoProposalChosen);
  if (!want) return std::nullopt;
  auto shared = qm.dh->ComputeShared(ke->data);
  if (!shared)
    return Outcome::Fail(
        ipc::PEER_NOTIFY,
        "peer " + Peer(p1) + " sent an invalid PFS public value: " + shared.error().message,
        wire::NotifyType::kInvalidKeyInformation);
  qm.g_qm = std::move(shared.value());
  return std::nullopt;
}

std::optional<Outcome> MakePfsKey(QuickModeExchange& qm, crypto::DhGroup group,
                                  const ExchangeTools& tools) {
  auto dh = tools.dh.Take(group);
  if (!dh) return Outcome::Fail(ipc::INTERNAL, "PFS key generation failed: " + dh.error().message);
  qm.dh = std::move(dh.value());
  return std::nullopt;
}

// RFC 2409 5.5: the responder returns IDci/IDcr. They must be ours, or a
// narrowing of ours (each range inside ours, protocol and ports equal or
// ours unspecified): anything wider or elsewhere is traffic our policy never
// allowed (strongSwan quick_mode.c: "peer selected invalid traffic
// selectors"). We always send IDs, so a reply without them is refused too.
std::optional<Outcome> CheckReturnedIds(const Phase1Context& p1, QuickModeExchange& qm,
                                        const std::vector<Payload>& payloads) {
  std::vector<const wire::IdPayload*> ids;
  for (const auto& p : payloads)
    if (auto* id = std::get_if<wire::IdPayload>(&p.body)) ids.push_back(id);
  const uint32_t protocol = TunnelProtocol(qm.definition);
  const wire::IdPayload ours_i = SelectorIdPayload(qm.definition.local(), protocol);
  const wire::IdPayload ours_r = SelectorIdPayload(qm.definition.remote(), protocol);
  auto our_i = IdPayloadRange(ours_i), our_r = IdPayloadRange(ours_r);
  const std::string ours = qm.local_text + " / " + qm.remote_text;
  auto fail = [&](const std::string& theirs) {
    return Outcome::Fail(ipc::INVALID_ID,
                         "peer " + Peer(p1) + " returned phase 2 IDs " + theirs +
                             ", neither ours (" + ours + ") nor a narrowing of them",
                         wire::NotifyType::kInvalidIdInformation);
  };
  if (ids.empty()) return fail("(none)");
  if (ids.size() != 2 || !our_i || !our_r) return fail("(unreadable)");
  auto ri = IdPayloadRange(*ids[0]), rr = IdPayloadRange(*ids[1]);
  if (!ri || !rr) return fail("(not address IDs)");
  const std::string theirs = ri->ToString() + " / " + rr->ToString();
  auto narrows = [](const wire::IdPayload& ours, const wire::IdPayload& theirs) {
    return (ours.protocol == 0 || ours.protocol == theirs.protocol) &&
           (ours.port == 0 || ours.port == theirs.port);
  };
  if (!our_i->Contains(*ri) || !our_r->Contains(*rr) || !narrows(ours_i, *ids[0]) ||
      !narrows(ours_r, *ids[1]))
    return fail(theirs);
  qm.local_text = ri->ToString();
  qm.remote_text = rr->ToString();
  qm.protocol = ids[0]->protocol;
  qm.local_port = ids[0]->port;
  qm.remote_port = ids[1]->port;
  return std::nullopt;
}

Outcome InitiatorRecvHashSaNonceSendHash(const Phase1Context& p1, QuickModeExchange& qm,
                                         const std::vector<Payload>& payloads) {
  const auto prf = p1.suite->hash;
  const Bytes expect = keymat::QuickModeHash2(prf, p1.keys.skeyid_a.view(), qm.message_id, qm.ni,
                                              RestAfterHash(payloads));
  if (!SameHash(HashData(payloads), expect))
    return Outcome::Fail(ipc::AUTHENTICATION_FAILED,
                         "quick mode HASH(2) from " + Peer(p1) + " did not verify",
                         wire::NotifyType::kInvalidHashInformation);
  if (auto fail = CheckReturnedIds(p1, qm, payloads)) return *fail;
  std::string why;
  auto suite = AcceptEspReply(*wire::FindBody<wire::SaPayload>(payloads), qm.protection,
                              Encapsulation(p1, qm), qm.min_life_seconds, &qm.spi_out, &why);
  if (!suite)
    return Outcome::Fail(ipc::NO_PROPOSAL_CHOSEN, "peer " + Peer(p1) + " answered badly: " + why,
                         wire::NotifyType::kNoProposalChosen);
  qm.suite = *suite;
  if (auto fail = lifetime::TakeResponderLifetime(payloads, wire::ProtocolId::kIpsecEsp,
                                                  qm.min_life_seconds, Peer(p1),
                                                  &qm.suite->life_seconds, &qm.suite->life_kbytes))
    return Outcome::Fail(std::move(*fail));
  qm.nr = wire::FindBody<wire::NoncePayload>(payloads)->data;
  qm.peer_nat_oa = nat_traversal::ReadNatOa(p1, payloads);
  if (auto fail = TakePfs(p1, qm, payloads)) return *fail;
  DeriveKeymat(p1, qm);
  Bytes hash3 = keymat::QuickModeHash3(prf, p1.keys.skeyid_a.view(), qm.message_id, qm.ni, qm.nr);
  Outcome o = Outcome::Send({wire::MakePayload(wire::HashPayload{std::move(hash3)})}, true);
  o.done = true;  // KEP while message 3 is built, DONE once it is sent
  return std::move(o).To(Step::kKeyed);
}

Outcome ResponderRecvHash(const Phase1Context& p1, QuickModeExchange& qm,
                          const std::vector<Payload>& payloads) {
  const Bytes expect =
      keymat::QuickModeHash3(p1.suite->hash, p1.keys.skeyid_a.view(), qm.message_id, qm.ni, qm.nr);
  if (!SameHash(HashData(payloads), expect))
    return Outcome::Fail(ipc::AUTHENTICATION_FAILED,
                         "quick mode HASH(3) from " + Peer(p1) + " did not verify",
                         wire::NotifyType::kInvalidHashInformation);
  Outcome o;
  o.done = true;
  return std::move(o).To(Step::kDone);
}

}  // namespace

Outcome InitiatorSendHashSaNonce(const Phase1Context& p1, QuickModeExchange& qm,
                                 const ExchangeTools& tools) {
  qm.ni = tools.random.Generate(kNonceLength);
  std::vector<Payload> rest;
  rest.push_back(wire::MakePayload(BuildEspSa(qm.protection, qm.spi_in, Encapsulation(p1, qm))));
  rest.push_back(wire::MakePayload(wire::NoncePayload{qm.ni}));
  if (qm.protection.pfs_group() != db::DH_GROUP_NONE) {
    if (auto fail = MakePfsKey(qm, static_cast<crypto::DhGroup>(qm.protection.pfs_group()), tools))
      return *fail;
    rest.push_back(wire::MakePayload(wire::KeyExchangePayload{qm.dh->PublicValue()}));
  }
  const uint32_t protocol = TunnelProtocol(qm.definition);
  rest.push_back(wire::MakePayload(SelectorIdPayload(qm.definition.local(), protocol)));
  rest.push_back(wire::MakePayload(SelectorIdPayload(qm.definition.remote(), protocol)));
  AddNatOa(p1, qm, rest);
  return Outcome::Send(WithHash(std::move(rest), p1, qm, false), true).To(Step::kHashSaNonceSent);
}

Outcome ResponderRecvHashSaNonceSendHashSaNonce(const Phase1Context& p1, QuickModeExchange& qm,
                                                const std::vector<Payload>& payloads,
                                                const ExchangeTools& tools) {
  std::string why;
  wire::SaPayload reply;
  auto suite = SelectEspSuite(*wire::FindBody<wire::SaPayload>(payloads), qm.protection,
                              Encapsulation(p1, qm), qm.spi_in, qm.min_life_seconds, &reply,
                              &qm.spi_out, &why);
  if (!suite)
    return Outcome::Fail(ipc::NO_PROPOSAL_CHOSEN,
                         "no phase 2 proposal chosen for peer " + Peer(p1) + ": " + why,
                         wire::NotifyType::kNoProposalChosen);
  qm.suite = *suite;
  qm.ni = wire::FindBody<wire::NoncePayload>(payloads)->data;
  qm.nr = tools.random.Generate(kNonceLength);
  if (qm.suite->pfs_group)
    if (auto fail = MakePfsKey(qm, *qm.suite->pfs_group, tools)) return *fail;
  if (auto fail = TakePfs(p1, qm, payloads)) return *fail;
  DeriveKeymat(p1, qm);

  std::vector<Payload> rest;
  rest.push_back(wire::MakePayload(std::move(reply)));
  rest.push_back(wire::MakePayload(wire::NoncePayload{qm.nr}));
  if (qm.dh) rest.push_back(wire::MakePayload(wire::KeyExchangePayload{qm.dh->PublicValue()}));
  for (const auto& id : qm.ids) rest.push_back(wire::MakePayload(id.body));  // echo IDci, IDcr
  AddNatOa(p1, qm, rest);
  qm.peer_nat_oa = nat_traversal::ReadNatOa(p1, payloads);
  // RFC 2407 4.5.4: the exchange that carries our SA says when we keep a
  // shorter lifetime than offered; SPI "the sender's inbound" (4.6.3.1).
  if (qm.suite->life_shortened)
    rest.push_back(lifetime::ResponderLifetimeNotify(wire::ProtocolId::kIpsecEsp,
                                                     SpiOctets(qm.spi_in), qm.suite->life_seconds,
                                                     qm.suite->life_kbytes));
  return Outcome::Send(WithHash(std::move(rest), p1, qm, true), true)
      .To(Step::kHashSaNonceAnswered);
}

Outcome Receive(const Phase1Context& p1, QuickModeExchange& qm, QuickModeStep step,
                const std::vector<wire::Payload>& payloads) {
  if (qm.role == Role::kInitiator && step == Step::kHashSaNonceSent)
    return InitiatorRecvHashSaNonceSendHash(p1, qm, payloads);
  if (qm.role == Role::kResponder && step == Step::kHashSaNonceAnswered)
    return ResponderRecvHash(p1, qm, payloads);
  return Outcome::Wait();
}

std::optional<wire::MessageKind> ExpectedMessage(Role role, QuickModeStep step) {
  if (role == Role::kInitiator && step == Step::kHashSaNonceSent)
    return wire::MessageKind::kQuickMode2;
  if (role == Role::kResponder && step == Step::kHashSaNonceAnswered)
    return wire::MessageKind::kQuickMode3;
  return std::nullopt;
}

bool VerifyHash1(const Phase1Context& p1, uint32_t message_id,
                 const std::vector<wire::Payload>& payloads) {
  const Bytes expect = keymat::QuickModeHash1(p1.suite->hash, p1.keys.skeyid_a.view(), message_id,
                                              RestAfterHash(payloads));
  return SameHash(HashData(payloads), expect);
}

std::string SelectorsText(const Selectors& s) {
  std::string out = s.initiator.ToString() + " / " + s.responder.ToString();
  if (s.protocol == 0 && s.initiator_port == 0 && s.responder_port == 0) return out;
  auto port = [](uint16_t p) { return p == 0 ? std::string("any") : std::to_string(p); };
  return out + " (protocol " + std::to_string(s.protocol) + ", ports " + port(s.initiator_port) +
         " / " + port(s.responder_port) + ")";
}

std::optional<Selectors> ReadSelectors(const Phase1Context& p1,
                                       const std::vector<wire::Payload>& payloads) {
  std::vector<const wire::IdPayload*> ids;
  for (const auto& p : payloads)
    if (auto* id = std::get_if<wire::IdPayload>(&p.body)) ids.push_back(id);
  Selectors s;
  if (ids.empty()) {
    s.initiator =
        AddressRange::Host(p1.role == Role::kInitiator ? p1.local.address : p1.remote.address);
    s.responder =
        AddressRange::Host(p1.role == Role::kInitiator ? p1.remote.address : p1.local.address);
    return s;
  }
  if (ids.size() != 2) return std::nullopt;
  auto a = IdPayloadRange(*ids[0]);
  auto b = IdPayloadRange(*ids[1]);
  if (!a || !b) return std::nullopt;
  s.initiator = *a;
  s.responder = *b;
  s.protocol = ids[0]->protocol;
  s.initiator_port = ids[0]->port;
  s.responder_port = ids[1]->port;
  return s;
}

}  // namespace ike::isakmpd::quick_mode
