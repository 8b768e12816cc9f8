// Quick Mode on established ISAKMP SAs: the IPsec SAs, their inbound SPIs
// (SpiAllocator), the one receive path for messages 1-3, establishment,
// failure and removal.
#include "common/ipc_frame.h"
#include "common/selector.h"
#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/informational.h"
#include "isakmpd/exchange/nat_traversal.h"
#include "isakmpd/exchange/state_names.h"
#include "isakmpd/sa/bug.h"
#include "isakmpd/sa/ipc_enums.h"
#include "isakmpd/sa/sa_manager.h"

namespace ike::isakmpd {
namespace {

constexpr uint8_t kProtoEsp = 3;     // RFC 2407 4.4.1
constexpr uint32_t kFirstSpi = 256;  // 1-255 are reserved (RFC 4303 2.1)

const db::IpsecProtection* FindIpsecProtection(const db::TunnelDatabase& d,
                                               const std::string& name) {
  for (const auto& p : d.ipsec_protection())
    if (p.name() == name) return &p;
  return nullptr;
}

std::string TunnelText(uint32_t tunnel) {
  return tunnel ? std::to_string(tunnel) : std::string("-");
}

bool PortMatches(uint32_t ours, uint16_t theirs) { return ours == 0 || ours == theirs; }

void FillChildSa(ipc::ChildSa* c, ipc::Direction direction, uint32_t spi, const Endpoint& src,
                 const Endpoint& dst, const EspSuite& suite, const SecretBytes& keymat) {
  c->set_direction(direction);
  c->set_spi(spi);
  c->set_source(src.address.ToString());
  c->set_destination(dst.address.ToString());
  SetSuite(suite, c);
  const auto& k = keymat.bytes();
  c->set_encryption_key(std::string(k.begin(), k.begin() + suite.enc_key_bytes));
  c->set_integrity_key(std::string(k.begin() + suite.enc_key_bytes, k.end()));
  const uint16_t encapsulation = suite.attrs.encapsulation;
  if (nat_traversal::IsUdpEncapsulation(encapsulation)) {  // RFC 3947 5.1
    c->set_source_port(src.port);
    c->set_destination_port(dst.port);
  }
  c->set_transport(nat_traversal::IsTransport(encapsulation));
}

}  // namespace

IpsecSa* SaManager::NewChild(IsakmpSa& p1, Role role, uint32_t message_id) {
  auto child = std::make_unique<IpsecSa>();
  child->handle = next_handle_++;
  child->parent = p1.handle;
  child->role = role;
  child->message_id = message_id;
  child->exchange = std::make_unique<QuickModeExchange>();
  child->exchange->role = role;
  child->exchange->message_id = message_id;
  IpsecSa* raw = child.get();
  child_by_msgid_[MessageKey{p1.handle, message_id}] = raw->handle;
  p1.children.push_back(raw->handle);
  children_[raw->handle] = std::move(child);
  ++counters_.ipsec.started;
  ++counters_.ipsec.entered[static_cast<size_t>(QuickModeStep::kAwaitSpi)];
  return raw;
}

IpsecSa::HeldOutbound::~HeldOutbound() {
  if (!event.has_phase2_established()) return;
  for (ipc::ChildSa& sa : *event.mutable_phase2_established()->mutable_sa()) {
    SecureWipe(sa.mutable_encryption_key());
    SecureWipe(sa.mutable_integrity_key());
  }
}

ipc::Envelope SaManager::StartPhase2(const ipc::Phase2Request& request) {
  auto p1_it = p1_by_tunnel_.find(request.phase1_tunnel());
  IsakmpSa* p1 = p1_it == p1_by_tunnel_.end() ? nullptr : FindSa(p1_it->second);
  if (!p1 || !p1->established())
    return ipc::MakeError(
        0, ipc::NOT_READY,
        "phase 1 tunnel " + std::to_string(request.phase1_tunnel()) + " is not active");
  // A rekey (issue 9.2) negotiates a new pair beside the established one;
  // only one Quick Mode per tunnel at a time.
  uint64_t replaces = 0;
  if (auto it = p2_by_tunnel_.find(request.tunnel()); it != p2_by_tunnel_.end()) {
    const IpsecSa* current = FindChild(it->second);
    if (!request.rekey() || !current || !current->established())
      return ipc::MakeError(
          0, ipc::TUNNEL_ACTIVE,
          "phase 2 tunnel " + std::to_string(request.tunnel()) +
              (request.rekey() ? " is already negotiating" : " is already active"));
    replaces = current->handle;
  }
  auto local = SelectorRange(request.definition().local());
  auto remote = SelectorRange(request.definition().remote());
  if (!local || !remote)
    return ipc::MakeError(0, ipc::BAD_ARGUMENT, "phase 2 selectors do not parse");
  IpsecSa* child = NewChild(*p1, Role::kInitiator, p1->message_ids.Allocate(*deps_.random));
  child->tunnel = request.tunnel();
  child->rekey = request.rekey();
  child->replaces = replaces;
  p2_by_tunnel_[child->tunnel] = child->handle;
  QuickModeExchange& qm = *child->exchange;
  qm.definition = request.definition();
  qm.protection = request.protection();
  qm.min_life_seconds = MinLifeSeconds();
  qm.local_text = local->ToString();
  qm.remote_text = remote->ToString();
  qm.iv = p1->IvFor(qm.message_id);
  LogLine(LogLevel::kEvents, *p1,
          std::string(child->rekey ? "rekeying" : "initiating Quick Mode for") +
              " phase 2 tunnel " + std::to_string(child->tunnel) + " (" + qm.local_text + " <-> " +
              qm.remote_text + ")");
  RequestSpi(*p1, *child);  // may answer at once; |child| may be gone after it
  return ipc::MakeAck(0);
}

uint32_t SaManager::InProcessSpi() {
  uint32_t spi = 0;
  while (spi < kFirstSpi || live_spis_.count(spi)) spi = deps_.random->NextU32();
  return spi;
}

// RFC 2409 5.5: each side picks the SPI the other sends to. The child waits
// in kAwaitSpi, bounded by kSpiTimeoutMs.
void SaManager::RequestSpi(IsakmpSa& p1, IpsecSa& child) {
  const uint64_t handle = child.handle;
  child.spi_timer = deps_.timers->Schedule(Duration(kSpiTimeoutMs), [this, handle] {
    IpsecSa* c = FindChild(handle);
    if (!c || c->step != QuickModeStep::kAwaitSpi) return;
    c->spi_timer = 0;
    IsakmpSa* parent = FindSa(c->parent);
    if (IKE_BUG_IF(!parent, handle, "IPsec SA without its ISAKMP SA")) return;
    FailPhase2(*parent, *c,
               Failure{ipc::INTERNAL,
                       "no inbound SPI within " + std::to_string(kSpiTimeoutMs / 1000) + " s",
                       std::nullopt});
  });
  if (!deps_.spis) return OnSpi(handle, InProcessSpi());
  deps_.spis->Allocate(p1.local.address, p1.remote.address, kProtoEsp,
                       [this, handle](std::optional<uint32_t> spi) { OnSpi(handle, spi); });
}

// The SPI arrived. Dropped if the IPsec SA is gone or no longer waits (a
// second answer, or one after the time-out).
void SaManager::OnSpi(uint64_t handle, std::optional<uint32_t> spi) {
  IpsecSa* child = FindChild(handle);
  if (!child || child->step != QuickModeStep::kAwaitSpi || !child->exchange) return;
  deps_.timers->Cancel(child->spi_timer);
  child->spi_timer = 0;
  IsakmpSa* p1 = FindSa(child->parent);
  if (IKE_BUG_IF(!p1, handle, "IPsec SA without its ISAKMP SA")) return;
  if (!spi || *spi < kFirstSpi)
    return FailPhase2(*p1, *child,
                      Failure{ipc::INTERNAL, "no inbound SPI could be allocated", std::nullopt});
  child->spi_in = *spi;
  live_spis_.insert(*spi);
  QuickModeExchange& qm = *child->exchange;
  qm.spi_in = *spi;
  if (child->role == Role::kInitiator)
    return ApplyPhase2(*p1, *child, quick_mode::InitiatorSendHashSaNonce(*p1, qm, tools_));
  const std::vector<wire::Payload> message1 = std::move(qm.message1);
  qm.message1.clear();
  ApplyPhase2(*p1, *child,
              quick_mode::ResponderRecvHashSaNonceSendHashSaNonce(*p1, qm, message1, tools_));
}

void SaManager::OnQuickMode(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                            ByteView packet) {
  auto it = by_cookies_.find(Cookies(h.icookie, h.rcookie));
  IsakmpSa* p1 = it == by_cookies_.end() ? nullptr : FindSa(it->second);
  if (!p1) {
    LOG_INFO("dropped Quick Mode message: unknown cookies %s:%s", ToHex(h.icookie).c_str(),
             ToHex(h.rcookie).c_str());
    Dropped(ipc::DROP_UNKNOWN_SA);
    return;
  }
  if (h.message_id == 0) {
    // RFC 2409 5.5: a Quick Mode has a non-zero message id of its own.
    LogLine(LogLevel::kInformation, *p1, "dropped Quick Mode message with message id 0");
    Dropped(ipc::DROP_MALFORMED);
    return;
  }
  if (!p1->established() || !(h.flags & wire::kFlagEncryption)) {
    // strongSwan may send QM1 right behind the last phase 1 message; the
    // initiator retransmits, so dropping it here is safe.
    LogLine(LogLevel::kInformation, *p1, "dropped Quick Mode message: phase 1 not complete");
    Dropped(ipc::DROP_UNKNOWN_SA);
    return;
  }
  auto q = child_by_msgid_.find(MessageKey{p1->handle, h.message_id});
  if (q == child_by_msgid_.end()) {
    if (p1->message_ids.IsRecent(h.message_id)) {
      ++counters_.replays_dropped;
      Dropped(ipc::DROP_REPLAY);
      LogRepeated(replay_lines_, LogLevel::kInformation, *p1,
                  "dropped Quick Mode message for finished message id " +
                      std::to_string(h.message_id) + " (a replay)");
      return;
    }
    return StartResponderQuickMode(*p1, h, local, remote, packet);
  }
  IpsecSa* child = FindChild(q->second);
  if (IKE_BUG_IF(!child, q->second, "message id without its IPsec SA")) return;
  if (IsDuplicate(*p1, child->tx, packet)) return;
  auto kind = quick_mode::ExpectedMessage(child->role, child->step);
  if (!kind || !child->exchange) {
    if (child->established()) {
      ++counters_.replays_dropped;
      Dropped(ipc::DROP_REPLAY);
      LogRepeated(replay_lines_, LogLevel::kInformation, *p1,
                  "dropped Quick Mode message for finished message id " +
                      std::to_string(h.message_id) + " (a replay)");
    }
    return;
  }
  QuickModeExchange& qm = *child->exchange;
  auto opened = OpenAndParse(*p1, h, packet, qm.iv, *kind);
  if (auto* error = std::get_if<std::string>(&opened)) {
    LogLine(LogLevel::kInformation, *p1,
            std::string("dropped malformed ") + wire::MessageKindName(*kind) + ": " + *error);
    Dropped(ipc::DROP_MALFORMED);
    return;
  }
  auto& msg = std::get<Opened>(opened);
  Phase2Outcome outcome = quick_mode::Receive(*p1, qm, child->step, msg.payloads);
  if (!outcome.failure) {
    qm.iv = msg.next_iv;
    NoteAccepted(child->tx, packet);
    NoteEndpoints(*p1, local, remote);  // hole i: only after HASH(2)/HASH(3) verified
    CountReceived(*p1, h, packet);
  }
  deps_.timers->Cancel(child->tx.timer);  // answered; message 3 ends it for the responder
  child->tx.timer = 0;
  ApplyPhase2(*p1, *child, std::move(outcome));
}

void SaManager::StartResponderQuickMode(IsakmpSa& p1, const wire::Header& h, const Endpoint& local,
                                        const Endpoint& remote, ByteView packet) {
  const Bytes iv = p1.IvFor(h.message_id);
  auto opened = OpenAndParse(p1, h, packet, iv, wire::MessageKind::kQuickMode1);
  if (auto* error = std::get_if<std::string>(&opened)) {
    LogLine(LogLevel::kInformation, p1, "dropped malformed Quick Mode message 1: " + *error);
    Dropped(ipc::DROP_MALFORMED);
    return;
  }
  auto& msg = std::get<Opened>(opened);
  if (!quick_mode::VerifyHash1(p1, h.message_id, msg.payloads)) {
    LogRepeated(bad_hash_lines_, LogLevel::kError, p1,
                "dropped Quick Mode message 1: HASH(1) did not verify");
    Dropped(ipc::DROP_BAD_HASH);
    return;
  }
  if (!p1.message_ids.Register(h.message_id)) return;  // live or recent: checked before
  NoteEndpoints(p1, local, remote);
  CountReceived(p1, h, packet);
  // The initiator sends Quick Mode only after Main Mode 6 reached it, so our
  // message 6 will never be asked for again (RFC 2409 5: phase 2 runs under
  // an established ISAKMP SA).
  DropPhase1Retransmission(p1);
  auto selectors = quick_mode::ReadSelectors(p1, msg.payloads);
  const db::IpsecTunnel* def = selectors ? MatchPhase2(p1, *selectors) : nullptr;
  const db::IpsecProtection* prot =
      def ? FindIpsecProtection(database_, def->protection()) : nullptr;
  if (!def || !prot) {
    const std::string wanted =
        selectors ? quick_mode::SelectorsText(*selectors) : std::string("(unreadable IDs)");
    LogLine(LogLevel::kError, p1,
            "phase 2 from " + p1.remote.address.ToString() + " refused: selectors " + wanted +
                " match no phase 2 tunnel of '" + p1.name + "'");
    p1.message_ids.Finish(h.message_id);  // a replay of it is dropped, not refused again
    SendInformational(p1, {informational::Notify(wire::NotifyType::kInvalidIdInformation)});
    return;
  }
  IpsecSa* child = NewChild(p1, Role::kResponder, h.message_id);
  QuickModeExchange& qm = *child->exchange;
  qm.definition = *def;
  qm.protection = *prot;
  qm.min_life_seconds = MinLifeSeconds();
  qm.local_text = selectors->responder.ToString();
  qm.remote_text = selectors->initiator.ToString();
  qm.protocol = selectors->protocol;
  qm.local_port = selectors->responder_port;
  qm.remote_port = selectors->initiator_port;
  for (const auto& p : msg.payloads)
    if (p.type == wire::PayloadType::kIdentification) qm.ids.push_back(p);
  qm.iv = std::move(msg.next_iv);
  qm.message1 = std::move(msg.payloads);
  NoteAccepted(child->tx, packet);
  RequestSpi(p1, *child);
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
    if (const uint32_t protocol = TunnelProtocol(t); protocol && protocol != s.protocol) continue;
    if (!PortMatches(t.local().port(), s.responder_port) ||
        !PortMatches(t.remote().port(), s.initiator_port))
      continue;
    return &t;
  }
  return nullptr;
}

void SaManager::ApplyPhase2(IsakmpSa& p1, IpsecSa& child, Phase2Outcome outcome) {
  if (outcome.failure) {
    std::vector<wire::Payload> body;
    if (outcome.failure->notify) body.push_back(informational::Notify(*outcome.failure->notify));
    // The responder derived its keys with message 2: our inbound SPI names
    // the SA it would install on message 3 (RFC 2408 3.15).
    if (outcome.failure->delete_at_peer && child.spi_in)
      body.push_back(informational::DeleteEspSa(child.spi_in));
    if (!body.empty()) SendInformational(p1, std::move(body));
    return FailPhase2(p1, child, *outcome.failure);
  }
  std::string done_transition;  // KEP and DONE, if both come now, share one line
  if (outcome.next && !Transition(child, *outcome.next, outcome.done ? &done_transition : nullptr))
    return;
  Bytes packet;
  if (outcome.send) {
    packet = Seal(p1, wire::ExchangeType::kQuickMode, child.message_id, *outcome.send,
                  &child.exchange->iv);
    child.tx.message_number = child.role == Role::kInitiator ? (outcome.done ? 3 : 1) : 2;
  }
  // The message that lets the peer send on the new pair waits until tmd has
  // our inbound SA in the kernel (a report is asynchronous: the peer's answer
  // on the new SA can otherwise beat tmd to it, and the kernel drops it):
  //   - the responder's message 2: the initiator installs its pair on message
  //     2 (strongSwan does) and may send on it before message 3 reaches us;
  //   - the initiator's message 3 of a rekey: the peer installs its pair on
  //     message 3 and sends on it at once, while traffic is flowing.
  // The first Quick Mode of a tunnel carries no traffic yet: its message 3
  // leaves before the report, which also installs the policies.
  const bool responder_message2 = child.role == Role::kResponder && outcome.send && !outcome.done;
  const bool rekey_message3 = outcome.done && child.rekey && child.role == Role::kInitiator;
  if (outcome.send && (responder_message2 || rekey_message3)) {
    child.withheld = std::make_unique<IpsecSa::Withheld>();
    child.withheld->packet = std::move(packet);
    child.withheld->retransmit = !outcome.done;
  } else if (outcome.send) {
    const uint64_t handle = child.handle;
    Transmit(p1, child.tx, std::move(packet), !outcome.done,
             [this, handle] { Phase2Timeout(handle); });
  }
  if (responder_message2) ReportInboundBeforeMessage3(p1, child);
  if (!outcome.done) return;
  // The initiator passes KEP while building message 3; DONE once it is sent
  // (a rekey's: before it leaves, since it waits for tmd).
  if (child.established() || Transition(child, QuickModeStep::kDone, &done_transition))
    return Phase2Established(p1, child, done_transition);
  SendWithheld(child.handle);  // a refused transition (logged) reports nothing
}

void SaManager::SendWithheld(uint64_t handle) {
  IpsecSa* child = FindChild(handle);
  if (child == nullptr || !child->withheld) return;  // removed meanwhile
  std::unique_ptr<IpsecSa::Withheld> withheld = std::move(child->withheld);
  IsakmpSa* p1 = FindSa(child->parent);
  if (p1 == nullptr) return;  // its ISAKMP SA went: the Quick Mode times out
  Transmit(*p1, child->tx, std::move(withheld->packet), withheld->retransmit,
           [this, handle] { Phase2Timeout(handle); });
  // The initiator's new outbound SA follows when the peer has had message 3.
  if (child->held_outbound && child->switch_timer == 0) {
    child->switch_timer = deps_.timers->Schedule(Duration(kOutboundSwitchMs),
                                                 [this, handle] { SwitchOutbound(handle); });
  }
}

void SaManager::Phase2Established(IsakmpSa& p1, IpsecSa& child, const std::string& transition) {
  const QuickModeExchange& qm = *child.exchange;
  const auto& s = *qm.suite;
  char spis[64];
  snprintf(spis, sizeof spis, "SPIs %08x (in) %08x (out)", qm.spi_in, qm.spi_out);
  LogLine(LogLevel::kEvents, p1,
          (transition.empty() ? "" : transition + ": ") + "phase 2 tunnel " +
              TunnelText(child.tunnel) + " established (" + RoleName(child.role) + ", " +
              qm.local_text + " <-> " + qm.remote_text + ", ESP " + s.EncryptionName() +
              (s.integ_key_bytes != 0 ? "/" + s.IntegrityName() : std::string()) + ", PFS " +
              s.PfsName() + ", " + spis + ", lifetime " + std::to_string(s.life_seconds) + " s)" +
              (child.rekey
                   ? "; rekey " + std::string(child.role == Role::kInitiator ? "we started"
                                                                             : "the peer started")
                   : std::string()));
  if (!qm.peer_nat_oa.empty()) {
    std::string oa;
    for (const auto& a : qm.peer_nat_oa) oa += (oa.empty() ? "" : ", ") + a;
    LogLine(LogLevel::kInformation, p1,
            "phase 2 tunnel " + TunnelText(child.tunnel) +
                ": the peer's NAT-OA (original addresses, RFC 3947 5.2): " + oa);
  }
  ipc::Envelope e = Phase2Report(p1, child);
  auto* est = e.mutable_phase2_established();
  FillChildSa(est->add_sa(), ipc::INBOUND, qm.spi_in, p1.remote, p1.local, s, qm.keymat_in);
  if (child.rekey && child.role == Role::kInitiator) {
    // The peer installs its new inbound SA when message 3 reaches it; the
    // kernel sends on the newest outbound SA as soon as it is installed. So
    // the outbound one waits (RFC 2409 5.5's commit bit has the same aim,
    // and no implementation sets it).
    est->set_outbound_follows(true);
    est->set_outbound_spi(qm.spi_out);
    child.held_outbound = std::make_unique<IpsecSa::HeldOutbound>();
    child.held_outbound->event = e;
    auto* later = child.held_outbound->event.mutable_phase2_established();
    later->clear_sa();
    later->set_outbound_follows(false);
    FillChildSa(later->add_sa(), ipc::OUTBOUND, qm.spi_out, p1.local, p1.remote, s, qm.keymat_out);
  } else {
    FillChildSa(est->add_sa(), ipc::OUTBOUND, qm.spi_out, p1.local, p1.remote, s, qm.keymat_out);
  }
  // tmd holds the keys now (the report goes last, below); the IPsec SA keeps
  // only what a Delete and a repeated message need, and the exchange goes in
  // one step.
  child.spi_out = qm.spi_out;
  child.peer = p1.remote.address;
  child_by_peer_spi_[PeerSpiKey{child.peer, child.spi_out}] = child.handle;
  child.life_seconds = s.life_seconds;
  child.exchange.reset();
  p1.message_ids.Finish(child.message_id);
  // The initiator keeps message 3 to answer a repeated message 2; the
  // responder, done on message 3, never sends message 2 again.
  if (child.role == Role::kResponder) Bytes().swap(child.tx.packet);
  if (!child.withheld) return deps_.events->Emit(std::move(e));
  const uint64_t handle = child.handle;
  deps_.events->EmitAndWait(std::move(e), [this, handle] { SendWithheld(handle); });
}

// What both reports of a pair say, its SAs aside.
ipc::Envelope SaManager::Phase2Report(const IsakmpSa& p1, const IpsecSa& child) const {
  const QuickModeExchange& qm = *child.exchange;
  const auto& s = *qm.suite;
  ipc::Envelope e;
  auto* est = e.mutable_phase2_established();
  est->set_tunnel(child.tunnel);
  est->set_phase1_tunnel(p1.tunnel);
  est->set_handle(child.handle);
  est->set_phase1_handle(p1.handle);
  est->set_name(qm.definition.name());
  est->set_role(ToIpc(child.role));
  est->set_local_id(qm.local_text);
  est->set_remote_id(qm.remote_text);
  est->set_protocol(qm.protocol);
  est->set_local_port(qm.local_port);
  est->set_remote_port(qm.remote_port);
  est->set_pfs_group(PfsGroup(s));
  est->set_lifetime_seconds(s.life_seconds);
  est->set_lifetime_kbytes(s.life_kbytes);
  return e;
}

// The responder derived both keys with message 2; only the inbound SA is
// safe to install before message 3 proves the initiator holds them too
// (RFC 2409 5.5): it only takes what the peer encrypted with them.
void SaManager::ReportInboundBeforeMessage3(const IsakmpSa& p1, const IpsecSa& child) {
  const QuickModeExchange& qm = *child.exchange;
  ipc::Envelope e = Phase2Report(p1, child);
  auto* est = e.mutable_phase2_established();
  est->set_before_message3(true);
  FillChildSa(est->add_sa(), ipc::INBOUND, qm.spi_in, p1.remote, p1.local, *qm.suite, qm.keymat_in);
  const uint64_t handle = child.handle;
  deps_.events->EmitAndWait(std::move(e), [this, handle] { SendWithheld(handle); });
}

IsakmpSa* SaManager::DeleteCarrier(const IpsecSa& child) {
  if (IsakmpSa* parent = FindSa(child.parent); parent && parent->established()) return parent;
  auto newest = p2_by_tunnel_.find(child.tunnel);
  const IpsecSa* current = newest == p2_by_tunnel_.end() ? nullptr : FindChild(newest->second);
  IsakmpSa* sa = current ? FindSa(current->parent) : nullptr;
  return sa && sa->established() ? sa : nullptr;
}

// tmd removes one pair of a tunnel: the peer is told (RFC 2408 3.15, a
// Delete naming our inbound SPI), the pair forgotten.
void SaManager::DeletePair(IpsecSa& child) {
  if (IsakmpSa* carrier = DeleteCarrier(child); carrier && child.spi_in) {
    char spi[16];
    snprintf(spi, sizeof spi, "%08x", child.spi_in);
    LogLine(LogLevel::kEvents, *carrier,
            "deleting phase 2 tunnel " + std::to_string(child.tunnel) + " SA pair (SPI in " + spi +
                ")");
    SendInformational(*carrier, {informational::DeleteEspSa(child.spi_in)});
  }
  RemoveChild(child.handle);
}

// The held outbound SA of a rekey goes to tmd: from now on the kernel
// sends on the new pair.
void SaManager::SwitchOutbound(uint64_t handle) {
  IpsecSa* child = FindChild(handle);
  if (!child || !child->held_outbound) return;
  child->switch_timer = 0;
  std::unique_ptr<IpsecSa::HeldOutbound> held = std::move(child->held_outbound);
  deps_.events->Emit(held->event);
}

void SaManager::DropPhase1Retransmission(IsakmpSa& p1) {
  if (p1.tx.packet.empty() || !p1.established()) return;
  Bytes().swap(p1.tx.packet);
}

void SaManager::FailPhase2(IsakmpSa& p1, IpsecSa& child, const Failure& failure) {
  const char* state = QuickModeNames(child.step, child.role).ibm;
  LogLine(LogLevel::kError, p1,
          "phase 2 tunnel " + TunnelText(child.tunnel) + " failed in state " + state + ": " +
              failure.reason);
  EmitFailure(child, failure);
  ++counters_.ipsec.failed[failure.code];
  RemoveChild(child.handle, /*deleted=*/false);
}

void SaManager::Phase2Timeout(uint64_t handle) {
  IpsecSa* child = FindChild(handle);
  if (!child) return;
  IsakmpSa* p1 = FindSa(child->parent);
  if (IKE_BUG_IF(!p1, handle, "IPsec SA without its ISAKMP SA")) return;
  if (Retransmit(*p1, child->tx, [this, handle] { Phase2Timeout(handle); })) return;
  std::string reason = "peer " + p1->remote.address.ToString() +
                       " not answering: no reply to Quick Mode message " +
                       std::to_string(child->tx.message_number) + " after " +
                       std::to_string(child->tx.tries) + " tries";
  ipc::ErrorCode code = ipc::NEGOTIATION_TIMEOUT;
  if (p1->unprotected_notify) {
    reason += "; it sent an unprotected " + wire::NotifyTypeName(*p1->unprotected_notify) +
              " notify, the likely reason";
    code = informational::CodeForNotify(*p1->unprotected_notify);
  }
  reason += HeardInstead(p1->remote, p1->created);
  FailPhase2(*p1, *child, Failure{code, reason, std::nullopt});
}

void SaManager::RemoveChild(uint64_t handle, bool deleted) {
  IpsecSa* child = FindChild(handle);
  if (!child) return;
  Transition(*child, deleted ? QuickModeStep::kDeleted : QuickModeStep::kFailed);
  deps_.timers->Cancel(child->tx.timer);
  deps_.timers->Cancel(child->spi_timer);
  deps_.timers->Cancel(child->switch_timer);
  child->held_outbound.reset();
  if (auto t = p2_by_tunnel_.find(child->tunnel); t != p2_by_tunnel_.end() && t->second == handle) {
    // A failed or deleted rekey leaves the tunnel its previous pair.
    const IpsecSa* previous = FindChild(child->replaces);
    if (previous && previous->established() && previous->tunnel == child->tunnel)
      t->second = previous->handle;
    else
      p2_by_tunnel_.erase(t);
  }
  if (child->spi_in) live_spis_.erase(child->spi_in);
  if (child->spi_out != 0) {  // set once established
    auto it = child_by_peer_spi_.find(PeerSpiKey{child->peer, child->spi_out});
    if (it != child_by_peer_spi_.end() && it->second == handle) child_by_peer_spi_.erase(it);
  }
  if (auto m = child_by_msgid_.find(MessageKey{child->parent, child->message_id});
      m != child_by_msgid_.end() && m->second == handle)
    child_by_msgid_.erase(m);
  if (IsakmpSa* p1 = FindSa(child->parent)) {
    std::erase(p1->children, handle);
    p1->message_ids.Finish(child->message_id);
  }
  children_.erase(handle);
}

}  // namespace ike::isakmpd
