// Quick Mode and Informational exchanges on established ISAKMP SAs.
#include <cstring>

#include "common/ipc_frame.h"
#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/informational.h"
#include "isakmpd/sa/sa_manager.h"

namespace ike::isakmpd {
namespace {

uint32_t SpiFromBytes(const Bytes& b) {
  uint32_t v = 0;
  for (uint8_t x : b) v = (v << 8) | x;
  return v;
}

// ESP SPIs below 256 are reserved (RFC 4303 2.1).
uint32_t NewSpi(crypto::Random& rng) {
  uint32_t spi = 0;
  while (spi < 256) spi = rng.NextU32();
  return spi;
}

uint32_t NewMessageId(crypto::Random& rng) {
  uint32_t id = 0;
  while (id == 0) id = rng.NextU32();
  return id;
}

const db::IpsecProtection* FindIpsecProtection(const db::TunnelDatabase& d,
                                               const std::string& name) {
  for (const auto& p : d.ipsec_protection())
    if (p.name() == name) return &p;
  return nullptr;
}

ipc::ErrorCode CodeForNotify(uint16_t type) {
  switch (static_cast<wire::NotifyType>(type)) {
    case wire::NotifyType::kNoProposalChosen:
      return ipc::NO_PROPOSAL_CHOSEN;
    case wire::NotifyType::kAuthenticationFailed:
    case wire::NotifyType::kInvalidHashInformation:
    case wire::NotifyType::kPayloadMalformed:
      return ipc::AUTHENTICATION_FAILED;
    case wire::NotifyType::kInvalidIdInformation:
      return ipc::INVALID_ID;
    default:
      return ipc::PEER_NOTIFY;
  }
}

std::string TunnelText(uint32_t tunnel) {
  return tunnel ? std::to_string(tunnel) : std::string("-");
}

bool PortMatches(uint32_t ours, uint16_t theirs) { return ours == 0 || ours == theirs; }

}  // namespace

ipc::Envelope SaManager::StartPhase2(const ipc::Phase2Request& request) {
  auto p1 = p1_by_tunnel_.find(request.phase1_tunnel());
  if (p1 == p1_by_tunnel_.end() || !sas_.at(p1->second)->established())
    return ipc::MakeError(
        0, ipc::NOT_READY,
        "phase 1 tunnel " + std::to_string(request.phase1_tunnel()) + " is not active");
  if (p2_by_tunnel_.count(request.tunnel()))
    return ipc::MakeError(
        0, ipc::TUNNEL_ACTIVE,
        "phase 2 tunnel " + std::to_string(request.tunnel()) + " is already active");
  IsakmpSa& sa = *sas_.at(p1->second);
  auto qm = std::make_unique<QuickModeExchange>();
  qm->handle = next_handle_++;
  qm->tunnel = request.tunnel();
  qm->role = Role::kInitiator;
  qm->message_id = NewMessageId(*deps_.random);
  qm->definition = request.definition();
  qm->protection = request.protection();
  qm->spi_in = NewSpi(*deps_.random);
  auto local = SelectorRange(qm->definition.local());
  auto remote = SelectorRange(qm->definition.remote());
  if (!local || !remote)
    return ipc::MakeError(0, ipc::BAD_ARGUMENT, "phase 2 selectors do not parse");
  qm->local_text = local->ToString();
  qm->remote_text = remote->ToString();
  qm->iv = keymat::Phase2Iv(sa.suite->hash, sa.iv, qm->message_id,
                            crypto::CipherBlockSize(sa.suite->cipher));
  QuickModeExchange& ref = *qm;
  qm_by_msgid_[MessageKey{sa.handle, qm->message_id}] = qm->handle;
  qm_parent_[qm->handle] = sa.handle;
  sa.quick_modes.push_back(qm->handle);
  p2_by_tunnel_[qm->tunnel] = qm->handle;
  qms_[qm->handle] = std::move(qm);
  LogLine(LogLevel::kEvents, sa,
          "initiating Quick Mode for phase 2 tunnel " + std::to_string(ref.tunnel) + " (" +
              ref.local_text + " <-> " + ref.remote_text + ")");
  ApplyPhase2(sa, ref, quick_mode::InitiatorSendHashSaNonce(sa, ref, tools_));
  return ipc::MakeAck(0);
}

void SaManager::OnQuickMode(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                            ByteView packet) {
  auto it = by_cookies_.find(Cookies(h.icookie, h.rcookie));
  if (it == by_cookies_.end()) {
    LOG_INFO("dropped Quick Mode message: unknown cookies %s:%s", ToHex(h.icookie).c_str(),
             ToHex(h.rcookie).c_str());
    return;
  }
  IsakmpSa& p1 = *sas_.at(it->second);
  if (!p1.established() || !(h.flags & wire::kFlagEncryption) || h.message_id == 0) {
    // strongSwan may send QM1 right behind the last phase 1 message; the
    // initiator retransmits, so dropping it here is safe.
    LogLine(LogLevel::kInformation, p1, "dropped Quick Mode message: phase 1 not complete");
    return;
  }
  auto q = qm_by_msgid_.find(MessageKey{p1.handle, h.message_id});
  if (q == qm_by_msgid_.end()) return StartResponderQuickMode(p1, h, local, remote, packet);
  QuickModeExchange& qm = *qms_.at(q->second);
  if (HandleDuplicate(p1, qm.tx, packet)) return;
  if (qm.state == Phase2State::kDone) return;
  Bytes next_iv;
  auto plain = Open(p1, h, packet, qm.iv, &next_iv);
  if (!plain) return;
  auto parsed = wire::ParsePayloads(h.next_payload, *plain);
  const auto kind =
      qm.role == Role::kInitiator ? wire::MessageKind::kQuickMode2 : wire::MessageKind::kQuickMode3;
  std::optional<wire::ParseError> error;
  if (auto* e = std::get_if<wire::ParseError>(&parsed)) error = *e;
  if (!error) error = wire::ValidatePayloads(kind, std::get<0>(parsed));
  if (error) {
    LogLine(LogLevel::kInformation, p1,
            std::string("dropped malformed ") + wire::MessageKindName(kind) + ": " + error->detail);
    return;
  }
  qm.iv = next_iv;
  NoteEndpoints(p1, local, remote);
  deps_.timers->Cancel(qm.tx.timer);  // answered; message 3 ends it for the responder
  qm.tx.timer = 0;
  ApplyPhase2(p1, qm, quick_mode::Receive(p1, qm, std::get<0>(parsed)));
}

void SaManager::StartResponderQuickMode(IsakmpSa& p1, const wire::Header& h, const Endpoint& local,
                                        const Endpoint& remote, ByteView packet) {
  auto qm = std::make_unique<QuickModeExchange>();
  qm->role = Role::kResponder;
  qm->message_id = h.message_id;
  Bytes iv = keymat::Phase2Iv(p1.suite->hash, p1.iv, h.message_id,
                              crypto::CipherBlockSize(p1.suite->cipher));
  auto plain = Open(p1, h, packet, iv, &qm->iv);
  if (!plain) return;
  auto parsed = wire::ParsePayloads(h.next_payload, *plain);
  std::optional<wire::ParseError> error;
  if (auto* e = std::get_if<wire::ParseError>(&parsed)) error = *e;
  if (!error) error = wire::ValidatePayloads(wire::MessageKind::kQuickMode1, std::get<0>(parsed));
  if (error) {
    LogLine(LogLevel::kInformation, p1, "dropped malformed Quick Mode message 1: " + error->detail);
    return;
  }
  const auto& payloads = std::get<0>(parsed);
  if (!quick_mode::VerifyHash1(p1, h.message_id, payloads)) {
    LogLine(LogLevel::kError, p1, "dropped Quick Mode message 1: HASH(1) did not verify");
    return;
  }
  NoteEndpoints(p1, local, remote);
  // The initiator sends Quick Mode only after Main Mode 6 reached it, so our
  // message 6 will never be asked for again (RFC 2409 5: phase 2 runs under
  // an established ISAKMP SA).
  DropPhase1Retransmission(p1);
  auto selectors = quick_mode::ReadSelectors(p1, payloads);
  const db::IpsecTunnel* def = selectors ? MatchPhase2(p1, *selectors) : nullptr;
  const std::string wanted =
      selectors ? selectors->initiator.ToString() + " / " + selectors->responder.ToString()
                : std::string("(unreadable IDs)");
  const db::IpsecProtection* prot =
      def ? FindIpsecProtection(database_, def->protection()) : nullptr;
  if (!def || !prot) {
    LogLine(LogLevel::kError, p1,
            "phase 2 from " + p1.remote.address.ToString() + " refused: selectors " + wanted +
                " match no phase 2 tunnel of '" + p1.name + "'");
    SendInformational(p1, {informational::Notify(wire::NotifyType::kInvalidIdInformation)});
    return;
  }
  qm->handle = next_handle_++;
  qm->definition = *def;
  qm->protection = *prot;
  qm->spi_in = NewSpi(*deps_.random);
  qm->local_text = selectors->responder.ToString();
  qm->remote_text = selectors->initiator.ToString();
  for (const auto& p : payloads)
    if (p.type == wire::PayloadType::kIdentification) qm->ids.push_back(p);
  QuickModeExchange& ref = *qm;
  qm_by_msgid_[MessageKey{p1.handle, qm->message_id}] = qm->handle;
  qm_parent_[qm->handle] = p1.handle;
  p1.quick_modes.push_back(qm->handle);
  qms_[qm->handle] = std::move(qm);
  ref.tx.last_received_hash = std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(packet.data()), packet.size()));
  ApplyPhase2(p1, ref,
              quick_mode::ResponderRecvHashSaNonceSendHashSaNonce(p1, ref, payloads, tools_));
}

const db::IpsecTunnel* SaManager::MatchPhase2(const IsakmpSa& p1,
                                              const quick_mode::Selectors& s) const {
  auto candidates = phase2_by_phase1_.find(p1.name);
  if (candidates == phase2_by_phase1_.end()) return nullptr;
  for (int index : candidates->second) {
    const auto& t = database_.ipsec_tunnel(index);
    auto local = SelectorRange(t.local());
    auto remote = SelectorRange(t.remote());
    if (!local || !remote) continue;
    if (!local->Contains(s.responder) || !remote->Contains(s.initiator)) continue;
    if (t.local().protocol() && t.local().protocol() != s.protocol) continue;
    if (!PortMatches(t.local().port(), s.responder_port) ||
        !PortMatches(t.remote().port(), s.initiator_port))
      continue;
    return &t;
  }
  return nullptr;
}

void SaManager::ApplyPhase2(IsakmpSa& p1, QuickModeExchange& qm, Outcome outcome) {
  if (outcome.failure) {
    if (outcome.failure->notify)
      SendInformational(p1, {informational::Notify(*outcome.failure->notify)});
    return FailPhase2(p1, qm, *outcome.failure);
  }
  std::string done_transition;
  if (outcome.phase2_state)
    SetPhase2State(p1, qm, *outcome.phase2_state, outcome.done ? &done_transition : nullptr);
  if (outcome.send) {
    Bytes packet = Seal(p1, wire::ExchangeType::kQuickMode, qm.message_id, *outcome.send, &qm.iv);
    qm.tx.message_number = qm.role == Role::kInitiator ? (outcome.done ? 3 : 1) : 2;
    const uint64_t handle = qm.handle;
    Transmit(p1, qm.tx, std::move(packet), !outcome.done,
             [this, handle] { Phase2Timeout(handle); });
  }
  if (outcome.done) Phase2Established(p1, qm, done_transition);
}

void SaManager::SetPhase2State(const IsakmpSa& p1, QuickModeExchange& qm, Phase2State next,
                               std::string* transition) {
  if (qm.state == next) return;
  const char* old_name = Phase2StateName(qm.state);
  qm.state = next;
  std::string text = "phase 2 tunnel " + TunnelText(qm.tunnel) + " message id " +
                     std::to_string(qm.message_id) + ": " + old_name + " -> " +
                     Phase2StateName(next) + " (" + RoleName(qm.role) + ")";
  if (transition != nullptr) {
    *transition = std::move(text);
  } else {
    LogLine(LogLevel::kEvents, p1, text);
  }
  ipc::Envelope e;
  auto* sc = e.mutable_state_change();
  sc->set_phase(2);
  sc->set_tunnel(qm.tunnel);
  sc->set_handle(qm.handle);
  sc->set_old_state(old_name);
  sc->set_new_state(Phase2StateName(next));
  sc->set_icookie(ToHex(p1.icookie));
  sc->set_rcookie(ToHex(p1.rcookie));
  sc->set_peer(p1.remote.address.ToString());
  deps_.events->Emit(std::move(e));
}

namespace {

void FillChildSa(ipc::ChildSa* c, const char* direction, uint32_t spi, const Endpoint& src,
                 const Endpoint& dst, const EspSuite& suite, const SecretBytes& keymat) {
  c->set_direction(direction);
  c->set_spi(spi);
  c->set_source(src.address.ToString());
  c->set_destination(dst.address.ToString());
  c->set_encryption(suite.EncryptionName());
  c->set_encryption_key_bits(suite.enc_key_bytes * 8);
  const auto& k = keymat.bytes();
  c->set_encryption_key(std::string(k.begin(), k.begin() + suite.enc_key_bytes));
  c->set_integrity(suite.IntegrityName());
  c->set_integrity_key(std::string(k.begin() + suite.enc_key_bytes, k.end()));
  if (suite.attrs.encapsulation == 3) {  // UDP-Encapsulated-Tunnel (RFC 3947)
    c->set_source_port(src.port);
    c->set_destination_port(dst.port);
  }
}

}  // namespace

void SaManager::Phase2Established(const IsakmpSa& p1, QuickModeExchange& qm,
                                  const std::string& transition) {
  const auto& s = *qm.suite;
  char spis[64];
  snprintf(spis, sizeof spis, "SPIs %08x (in) %08x (out)", qm.spi_in, qm.spi_out);
  LogLine(LogLevel::kEvents, p1,
          (transition.empty() ? "" : transition + ": ") + "phase 2 tunnel " +
              TunnelText(qm.tunnel) + " established (" + RoleName(qm.role) + ", " + qm.local_text +
              " <-> " + qm.remote_text + ", ESP " + s.EncryptionName() + "/" + s.IntegrityName() +
              ", PFS " + s.PfsName() + ", " + spis + ", lifetime " +
              std::to_string(s.life_seconds) + " s)");
  ipc::Envelope e;
  auto* est = e.mutable_phase2_established();
  est->set_tunnel(qm.tunnel);
  est->set_phase1_tunnel(p1.tunnel);
  est->set_handle(qm.handle);
  est->set_phase1_handle(p1.handle);
  est->set_name(qm.definition.name());
  est->set_role(RoleName(qm.role));
  est->set_local_id(qm.local_text);
  est->set_remote_id(qm.remote_text);
  FillChildSa(est->add_sa(), "inbound", qm.spi_in, p1.remote, p1.local, s, qm.keymat_in);
  FillChildSa(est->add_sa(), "outbound", qm.spi_out, p1.local, p1.remote, s, qm.keymat_out);
  est->set_pfs_group(s.PfsName());
  est->set_lifetime_seconds(s.life_seconds);
  est->set_lifetime_kbytes(s.life_kbytes);
  deps_.events->Emit(std::move(e));
  // tmd holds the keys now; isakmpd keeps only what a Delete needs.
  qm.keymat_in = SecretBytes();
  qm.keymat_out = SecretBytes();
  qm.dh.reset();
  qm.g_qm = SecretBytes();
  Bytes().swap(qm.ni);
  Bytes().swap(qm.nr);
  Bytes().swap(qm.iv);  // a repeated message 2 is matched before decryption
  std::vector<wire::Payload>().swap(qm.ids);
  db::IpsecTunnel().Swap(&qm.definition);
  db::IpsecProtection().Swap(&qm.protection);
  std::string().swap(qm.local_text);  // only failure reasons of INIT use them
  std::string().swap(qm.remote_text);
  // The initiator keeps message 3 to answer a repeated message 2; the
  // responder, done on message 3, never sends message 2 again.
  if (qm.role == Role::kResponder) qm.tx.packet = Bytes();
}

void SaManager::DropPhase1Retransmission(IsakmpSa& p1) {
  if (p1.tx.packet.empty() || !p1.established()) return;
  Bytes().swap(p1.tx.packet);
}

void SaManager::FailPhase2(const IsakmpSa& p1, QuickModeExchange& qm, const Failure& failure) {
  LogLine(LogLevel::kError, p1,
          "phase 2 tunnel " + TunnelText(qm.tunnel) + " failed in state " +
              Phase2StateName(qm.state) + ": " + failure.reason);
  EmitFailure(2, qm.tunnel, qm.handle, failure, Phase2StateName(qm.state));
  RemoveQuickMode(qm.handle);
}

void SaManager::Phase2Timeout(uint64_t handle) {
  auto q = qms_.find(handle);
  if (q == qms_.end()) return;
  QuickModeExchange& qm = *q->second;
  const IsakmpSa& p1 = *sas_.at(qm_parent_.at(handle));
  if (Retransmit(p1, qm.tx, [this, handle] { Phase2Timeout(handle); })) return;
  FailPhase2(p1, qm,
             Failure{ipc::NEGOTIATION_TIMEOUT,
                     "peer " + p1.remote.address.ToString() +
                         " not answering: no reply to Quick Mode message " +
                         std::to_string(qm.tx.message_number) + " after " +
                         std::to_string(qm.tx.tries) + " tries",
                     std::nullopt});
}

void SaManager::RemoveQuickMode(uint64_t handle) {
  auto q = qms_.find(handle);
  if (q == qms_.end()) return;
  QuickModeExchange& qm = *q->second;
  deps_.timers->Cancel(qm.tx.timer);
  if (auto t = p2_by_tunnel_.find(qm.tunnel); t != p2_by_tunnel_.end() && t->second == handle)
    p2_by_tunnel_.erase(t);
  if (auto parent = qm_parent_.find(handle); parent != qm_parent_.end()) {
    qm_by_msgid_.erase(MessageKey{parent->second, qm.message_id});
    if (auto sa = sas_.find(parent->second); sa != sas_.end())
      std::erase(sa->second->quick_modes, handle);
    qm_parent_.erase(parent);
  }
  qms_.erase(q);
}

// ---- informational ----------------------------------------------------------

void SaManager::OnInformational(const wire::Header& h, const Endpoint& local,
                                const Endpoint& remote, ByteView packet) {
  IsakmpSa* sa = nullptr;
  if (auto it = by_cookies_.find(Cookies(h.icookie, h.rcookie)); it != by_cookies_.end())
    sa = sas_.at(it->second).get();
  else if (auto ho = half_open_.find(CookieValue(h.icookie)); ho != half_open_.end())
    sa = sas_.at(ho->second).get();
  if (!sa) {
    LOG_INFO("dropped Informational from %s: unknown cookies", remote.ToString().c_str());
    return;
  }
  const bool encrypted = h.flags & wire::kFlagEncryption;
  Bytes body(packet.begin() + wire::kHeaderLength, packet.end());
  if (encrypted) {
    if (sa->keys.skeyid_a.empty()) return;
    Bytes iv = keymat::Phase2Iv(sa->suite->hash, sa->iv, h.message_id,
                                crypto::CipherBlockSize(sa->suite->cipher));
    Bytes ignored;
    auto plain = Open(*sa, h, packet, iv, &ignored);
    if (!plain) return;
    body = std::move(*plain);
  }
  auto parsed = wire::ParsePayloads(h.next_payload, body, /*allow_unknown=*/true);
  if (auto* e = std::get_if<wire::ParseError>(&parsed)) {
    LogLine(LogLevel::kInformation, *sa, "dropped malformed Informational: " + e->detail);
    return;
  }
  const auto& payloads = std::get<0>(parsed);
  const bool authenticated = encrypted && informational::Verify(*sa, h.message_id, payloads);
  if (encrypted && !authenticated) {
    LogLine(LogLevel::kError, *sa, "dropped Informational: HASH(1) did not verify");
    return;
  }
  if (authenticated) NoteEndpoints(*sa, local, remote);
  const uint64_t handle = sa->handle;
  for (const auto& p : payloads) {
    if (!sas_.count(handle)) return;  // a Delete or failure removed the SA
    if (auto* n = std::get_if<wire::NotifyPayload>(&p.body)) HandleNotify(*sa, *n, authenticated);
    if (auto* d = std::get_if<wire::DeletePayload>(&p.body)) {
      if (authenticated) HandleDelete(*sa, *d);
    }
  }
}

void SaManager::HandleNotify(IsakmpSa& sa, const wire::NotifyPayload& n, bool authenticated) {
  const std::string name = wire::NotifyTypeName(n.type);
  const std::string peer = sa.remote.address.ToString();
  if (n.type == uint16_t(wire::NotifyType::kRUThere) && authenticated) {
    wire::NotifyPayload ack = n;
    ack.type = uint16_t(wire::NotifyType::kRUThereAck);
    SendInformational(sa, {wire::MakePayload(ack)});
    return;
  }
  if (n.type >= 16384) {  // status notifies (INITIAL-CONTACT, ...)
    LogLine(LogLevel::kInformation, sa, "peer sent " + name);
    return;
  }
  if (!sa.established()) {
    // An error during phase 1. It is unauthenticated before message 5, but
    // the peer gave up either way and an administrator wants its reason.
    std::string reason = "peer " + peer + " sent " + name;
    if (n.type == uint16_t(wire::NotifyType::kNoProposalChosen))
      reason += ": none of our phase 1 proposals was accepted";
    else if (n.type == uint16_t(wire::NotifyType::kAuthenticationFailed) ||
             n.type == uint16_t(wire::NotifyType::kPayloadMalformed))
      reason = "authentication failed: " + reason + " (the pre-shared keys probably differ)";
    return FailPhase1(sa, Failure{CodeForNotify(n.type), reason, std::nullopt});
  }
  // An error notify on an established SA concerns our Quick Modes in progress.
  std::vector<uint64_t> pending;
  for (uint64_t qh : sa.quick_modes)
    if (qms_.at(qh)->role == Role::kInitiator && qms_.at(qh)->state == Phase2State::kInit)
      pending.push_back(qh);
  for (uint64_t qh : pending) {
    QuickModeExchange& qm = *qms_.at(qh);
    std::string reason = "peer " + peer + " sent " + name;
    if (n.type == uint16_t(wire::NotifyType::kInvalidIdInformation))
      reason += ": phase 2 selectors " + qm.local_text + " / " + qm.remote_text + " not accepted";
    else if (n.type == uint16_t(wire::NotifyType::kNoProposalChosen))
      reason += ": none of our phase 2 proposals was accepted";
    FailPhase2(sa, qm, Failure{CodeForNotify(n.type), reason, std::nullopt});
  }
  if (pending.empty()) LogLine(LogLevel::kInformation, sa, "peer sent " + name);
}

void SaManager::HandleDelete(IsakmpSa& sa, const wire::DeletePayload& d) {
  if (d.protocol == uint8_t(wire::ProtocolId::kIsakmp)) {
    LogLine(LogLevel::kEvents, sa, "peer deleted the phase 1 SA");
    ipc::Envelope e;
    auto* del = e.mutable_sa_deleted();
    del->set_phase(1);
    del->set_tunnel(sa.tunnel);
    del->set_handle(sa.handle);
    del->set_reason("deleted by peer " + sa.remote.address.ToString());
    del->set_by_peer(true);
    deps_.events->Emit(std::move(e));
    return DeleteSa(sa.handle);
  }
  if (d.protocol != uint8_t(wire::ProtocolId::kIpsecEsp)) return;
  for (const auto& spi_bytes : d.spis) {
    const uint32_t spi = SpiFromBytes(spi_bytes);  // the peer's inbound = our outbound
    uint64_t found = 0;
    for (uint64_t qh : sa.quick_modes)
      if (qms_.at(qh)->spi_out == spi) found = qh;
    if (!found) {
      LogLine(LogLevel::kInformation, sa,
              "peer deleted an unknown ESP SA (SPI " + ToHex(spi_bytes) + "); ignored");
      continue;
    }
    QuickModeExchange& qm = *qms_.at(found);
    if (qm.state != Phase2State::kDone) {
      FailPhase2(sa, qm,
                 Failure{ipc::DELETED,
                         "peer " + sa.remote.address.ToString() +
                             " deleted the ESP SA before Quick Mode completed (it could not "
                             "install it)",
                         std::nullopt});
      continue;
    }
    LogLine(LogLevel::kEvents, sa,
            "peer deleted phase 2 tunnel " + std::to_string(qm.tunnel) + " (SPI " +
                ToHex(spi_bytes) + ")");
    ipc::Envelope e;
    auto* del = e.mutable_sa_deleted();
    del->set_phase(2);
    del->set_tunnel(qm.tunnel);
    del->set_handle(qm.handle);
    del->set_reason("deleted by peer " + sa.remote.address.ToString());
    del->set_by_peer(true);
    deps_.events->Emit(std::move(e));
    RemoveQuickMode(found);
  }
}

void SaManager::SendInformational(IsakmpSa& sa, std::vector<wire::Payload> body) {
  if (sa.keys.skeyid_a.empty()) return;
  const uint32_t message_id = NewMessageId(*deps_.random);
  auto payloads = informational::Protect(sa, message_id, std::move(body));
  Bytes iv = keymat::Phase2Iv(sa.suite->hash, sa.iv, message_id,
                              crypto::CipherBlockSize(sa.suite->cipher));
  Bytes packet = Seal(sa, wire::ExchangeType::kInformational, message_id, payloads, &iv);
  deps_.packets->SendPacket(sa.local, sa.remote, packet);
}

void SaManager::SendPlainNotify(const IsakmpSa& sa, wire::NotifyType type) {
  std::vector<wire::Payload> payloads{informational::Notify(type)};
  Bytes packet = Seal(sa, wire::ExchangeType::kInformational, 0, payloads, nullptr);
  deps_.packets->SendPacket(sa.local, sa.remote, packet);
}

}  // namespace ike::isakmpd
