// Phase 1 on the SA manager: finding or admitting the ISAKMP SA for a Main
// Mode or Aggressive Mode message, running it through the one receive path, applying what the
// exchange asks for, SKEYID from cpsd, establishment, failure and deletion.
#include <algorithm>

#include "isakmpd/exchange/aggressive_mode.h"
#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/informational.h"
#include "isakmpd/exchange/lifetime.h"
#include "isakmpd/exchange/nat_traversal.h"
#include "isakmpd/exchange/state_names.h"
#include "isakmpd/exchange/vendor_ids.h"
#include "isakmpd/sa/bug.h"
#include "isakmpd/sa/ipc_enums.h"
#include "isakmpd/sa/sa_manager.h"

namespace ike::isakmpd {
namespace {

constexpr uint32_t kDefaultMaxHalfOpen = 2048;
// Half-open responder SAs per remote address (settings.max_half_open_per_peer
// unset or 0). High enough for a gateway's legitimate mass reconnect to get
// through in a few retransmission rounds, low enough that one address cannot
// take all of max_half_open.
constexpr uint32_t kDefaultMaxHalfOpenPerPeer = 256;
// Undecryptable Main Mode 5/6 messages before we conclude the keys differ.
constexpr int kUndecryptableLimit = 2;

bool IsZero(const wire::Cookie& c) {
  return std::all_of(c.begin(), c.end(), [](uint8_t b) { return b == 0; });
}

const db::IkeProtection* FindIkeProtection(const db::TunnelDatabase& d, const std::string& n) {
  for (const auto& p : d.ike_protection())
    if (p.name() == n) return &p;
  return nullptr;
}

// Which limit ended an SA, for the log: "volume limit 1 KB (lifetime_kbytes)
// reached after 1100 octets of IKE traffic" or "time limit 3600 s
// (lifetime_seconds) reached".
std::string ExpiryText(const IsakmpSa& sa, bool by_volume) {
  if (!by_volume)
    return "time limit " + std::to_string(sa.suite->life_seconds) + " s (lifetime_seconds) reached";
  return "volume limit " + std::to_string(sa.suite->life_kbytes) +
         " KB (lifetime_kbytes) reached after " + std::to_string(sa.protected_octets) +
         " octets of IKE traffic";
}

// The messages that carry HASH_I or HASH_R the receiver checks on arrival:
// one that does not decrypt or verify may be a forgery, so the peer's
// retransmission decides (RejectAuthMessage).
bool IsAuthMessage(wire::MessageKind kind) {
  using K = wire::MessageKind;
  return kind == K::kMainMode5 || kind == K::kMainMode6 || kind == K::kAggressive3;
}

// Whether |kind| may come with the encryption flag as |encrypted|: Main
// Mode 5 and 6 must be encrypted, Aggressive Mode 3 may be either (see
// aggressive_mode.h), the rest must not.
bool EncryptionAsExpected(wire::MessageKind kind, bool encrypted) {
  using K = wire::MessageKind;
  if (kind == K::kAggressive3) return true;
  return encrypted == (kind == K::kMainMode5 || kind == K::kMainMode6);
}

Phase1Mode ModeOf(const wire::Header& h) {
  return h.exchange == wire::ExchangeType::kAggressive ? Phase1Mode::kAggressive
                                                       : Phase1Mode::kMain;
}

}  // namespace

IsakmpSa* SaManager::NewSa(Role role, const Endpoint& local, const Endpoint& remote) {
  auto sa = std::make_unique<IsakmpSa>();
  sa->handle = next_handle_++;
  sa->role = role;
  sa->local = local;
  sa->remote = remote;
  sa->created = deps_.clock->Now();
  sa->exchange = std::make_unique<Phase1Exchange>();
  IsakmpSa* raw = sa.get();
  sas_[raw->handle] = std::move(sa);
  ++counters_.isakmp.started;
  ++counters_.isakmp.entered[static_cast<size_t>(Phase1Step::kInit)];
  return raw;
}

IsakmpSa* SaManager::FindPhase1Sa(const wire::Header& h, const Endpoint& local,
                                  const Endpoint& remote, ByteView packet) {
  if (auto it = by_cookies_.find(Cookies(h.icookie, h.rcookie)); it != by_cookies_.end())
    return FindSa(it->second);
  if (!IsZero(h.rcookie)) {
    // Message 2: our half-open SA learns the responder cookie.
    auto it = half_open_.find(CookieValue(h.icookie));
    if (it == half_open_.end()) return nullptr;
    IsakmpSa* sa = FindSa(it->second);
    if (IKE_BUG_IF(!sa, it->second, "half-open entry without its SA")) {
      half_open_.erase(it);
      return nullptr;
    }
    if (sa->step != Phase1Step::kSaSent || sa->mode != ModeOf(h)) return nullptr;
    half_open_.erase(it);
    sa->rcookie = h.rcookie;
    by_cookies_[Cookies(sa->icookie, sa->rcookie)] = sa->handle;
    return sa;
  }
  // Message 1 (or its retransmission, found through the responder key).
  const ResponderKey key{CookieValue(h.icookie), remote.address};
  if (auto it = responding_.find(key); it != responding_.end()) return FindSa(it->second);
  return NewResponderSa(h, local, remote, packet);
}

// A new negotiation the peer should hear about at once instead of
// retransmitting into silence (RFC 2408 3.14.1): an unprotected notify.
void SaManager::RefuseMessage1(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                               wire::NotifyType notify) {
  Phase1Context reply;  // only the header fields matter for an unprotected notify
  reply.icookie = h.icookie;
  reply.local = local;
  reply.remote = remote;
  SendPlainNotify(reply, notify);
}

// An IKE peer sends from port 500 (RFC 2408 2.5.1) until NAT-T moves it to
// 4500 (RFC 3947 4): any other source port was changed on the way, by a NAT
// that then changed its address too (issue 11.3, the unannounced NAT).
std::string SaManager::NatHint(const Endpoint& remote) {
  if (remote.port == 500 || remote.port == nat_traversal::kPort) return "";
  return " (it comes from port " + std::to_string(remote.port) +
         ", not 500: a NAT on the way changed it, and its address too; a phase 1 tunnel for a "
         "peer behind a NAT names the NAT's outside address, here " +
         remote.address.ToString() + ", or 0.0.0.0 as its remote_address)";
}

const db::IkeTunnel* SaManager::ResponderDefinition(const wire::Header& h, const Endpoint& local,
                                                    const Endpoint& remote, ByteView packet) {
  if (ModeOf(h) == Phase1Mode::kAggressive) return AggressiveDefinition(h, local, remote, packet);
  auto found = phase1_by_endpoints_.find(EndpointsKey{remote.address, local.address});
  if (found == phase1_by_endpoints_.end())
    found = phase1_by_endpoints_.find(EndpointsKey{remote.address, IpAddress{}});
  if (found != phase1_by_endpoints_.end()) return &database_.ike_tunnel(found->second);
  Dropped(ipc::DROP_NO_TUNNEL);
  uint64_t folded = 0;
  if (!AllowRepeat(no_tunnel_lines_, 1, &folded)) return nullptr;  // spoofed floods
  LOG_EVENT("Main Mode from %s to %s: no phase 1 tunnel is defined for this peer; dropped%s%s",
            remote.ToString().c_str(), local.ToString().c_str(), NatHint(remote).c_str(),
            FoldedText(folded).c_str());
  return nullptr;
}

// Aggressive Mode 1 names the initiator (IDii): the definition expecting
// that identity from this address, whose protection allows Aggressive
// Mode. A definition for the address that does not allow it, or expects
// another identity, is named in the refusal.
const db::IkeTunnel* SaManager::AggressiveDefinition(const wire::Header& h, const Endpoint& local,
                                                     const Endpoint& remote, ByteView packet) {
  const std::string from = remote.ToString();
  auto parsed = wire::ParsePayloads(h.next_payload, packet.subspan(wire::kHeaderLength),
                                    /*allow_unknown=*/true);
  std::string id;
  if (auto* payloads = std::get_if<0>(&parsed)) id = aggressive_mode::InitiatorIdentity(*payloads);
  if (id.empty()) {
    LOG_INFO("dropped Aggressive Mode message 1 from %s: no readable identity", from.c_str());
    Dropped(ipc::DROP_MALFORMED);
    return nullptr;
  }
  // A definition for this address, or for any address of its family (a
  // dynamic peer, tunneldb::IsDynamicPeer); the fixed one first.
  auto serves = [&](const db::IkeTunnel& t, bool dynamic) {
    auto ra = IpAddress::Parse(t.remote_address());
    auto la = IpAddress::Parse(t.local_address());
    if (!ra || (la && *la != local.address)) return false;
    return dynamic ? ra->family == remote.address.family && tunneldb::IsDynamicPeer(t)
                   : *ra == remote.address;
  };
  const db::IkeTunnel* main_only = nullptr;
  if (auto it = phase1_by_remote_id_.find(IdentityKey(id)); it != phase1_by_remote_id_.end()) {
    for (const bool dynamic : {false, true}) {
      for (int i : it->second) {
        const db::IkeTunnel& t = database_.ike_tunnel(i);
        if (!serves(t, dynamic)) continue;
        const auto* protection = FindIkeProtection(database_, t.protection());
        if (protection && protection->mode() == db::AGGRESSIVE) return &t;
        main_only = &t;
      }
    }
  }
  if (main_only != nullptr) {
    LOG_EVENT(
        "Aggressive Mode from %s (id %s) refused: phase 1 tunnel '%s' (ike_protection '%s') "
        "allows Main Mode only; set its mode to AGGRESSIVE to accept it (the identities then "
        "travel in the clear and the pre-shared key can be attacked offline)",
        from.c_str(), id.c_str(), main_only->name().c_str(), main_only->protection().c_str());
    RefuseMessage1(h, local, remote, wire::NotifyType::kInvalidExchangeType);
    return nullptr;
  }
  if (auto by_address = phase1_by_endpoints_.find(EndpointsKey{remote.address, local.address});
      by_address != phase1_by_endpoints_.end() ||
      (by_address = phase1_by_endpoints_.find(EndpointsKey{remote.address, IpAddress{}})) !=
          phase1_by_endpoints_.end()) {
    const db::IkeTunnel& t = database_.ike_tunnel(by_address->second);
    LOG_EVENT(
        "Aggressive Mode from %s refused: it identified itself as '%s', phase 1 tunnel '%s' "
        "expects '%s'",
        from.c_str(), id.c_str(), t.name().c_str(),
        Phase1IdText(t.remote_id(), t.remote_address()).c_str());
    RefuseMessage1(h, local, remote, wire::NotifyType::kInvalidIdInformation);
    return nullptr;
  }
  Dropped(ipc::DROP_NO_TUNNEL);
  uint64_t folded = 0;
  if (!AllowRepeat(no_tunnel_lines_, 1, &folded)) return nullptr;  // spoofed floods
  LOG_EVENT(
      "Aggressive Mode from %s (id %s) to %s: no phase 1 tunnel is defined for this peer; "
      "dropped%s%s",
      from.c_str(), id.c_str(), local.ToString().c_str(), NatHint(remote).c_str(),
      FoldedText(folded).c_str());
  return nullptr;
}

IsakmpSa* SaManager::NewResponderSa(const wire::Header& h, const Endpoint& local,
                                    const Endpoint& remote, ByteView packet) {
  const db::IkeTunnel* def = ResponderDefinition(h, local, remote, packet);
  if (!def) return nullptr;
  const auto* protection = FindIkeProtection(database_, def->protection());
  if (!protection) return nullptr;
  if (!AdmitResponder(remote)) {
    Dropped(ipc::DROP_HALF_OPEN_LIMIT);
    return nullptr;
  }
  IsakmpSa* sa = NewSa(Role::kResponder, local, remote);
  sa->mode = ModeOf(h);
  sa->counted_half_open = true;
  sa->counted_peer = remote.address;
  half_open_table_.Add(remote.address, sa->handle, deps_.clock->Now());  // half_open.h
  sa->name = def->name();
  Phase1Exchange& mm = *sa->exchange;
  mm.definition = *def;
  mm.protection = *protection;
  mm.min_life_seconds = MinLifeSeconds();
  mm.nat_traversal = NatTraversalOn();
  mm.fragmentation = FragmentationSetting() != db::FRAGMENTATION_OFF;
  mm.local_id = Phase1IdText(def->local_id(), def->local_address());
  mm.remote_id = Phase1IdText(def->remote_id(), def->remote_address());
  sa->icookie = h.icookie;
  deps_.random->Fill(sa->rcookie);
  responding_[ResponderKey{CookieValue(h.icookie), remote.address}] = sa->handle;
  by_cookies_[Cookies(sa->icookie, sa->rcookie)] = sa->handle;
  return sa;
}

uint32_t SaManager::HalfOpenLimit() const {
  const uint32_t v = database_.settings().max_half_open();
  return v ? v : kDefaultMaxHalfOpen;
}

uint32_t SaManager::MinLifeSeconds() const {
  return tunneldb::MinLifetimeSeconds(database_.settings());
}

uint32_t SaManager::HalfOpenPerPeerLimit() const {
  const uint32_t v = database_.settings().max_half_open_per_peer();
  return v ? v : kDefaultMaxHalfOpenPerPeer;
}

// Under pressure the table evicts the oldest half-open SAs that did not get
// past message 2 (see half_open.h: a spoofed Main Mode 1 flood must not lock
// a peer out); they are deleted quietly (no notify, no event: tmd never saw
// them as tunnels). A dropped Main Mode 1 comes back with the initiator's
// retransmission (RFC 2408 has no "busy" notify for IKEv1). The pressure is
// logged once per second with counts.
bool SaManager::AdmitResponder(const Endpoint& remote) {
  HalfOpenTable::Limits limits = half_open_table_.limits();
  limits.total = HalfOpenLimit();
  limits.per_peer = HalfOpenPerPeerLimit();
  half_open_table_.SetLimits(limits);
  auto admission =
      half_open_table_.Admit(remote.address, deps_.clock->Now(), [this](uint64_t handle) {
        const IsakmpSa* sa = FindSa(handle);  // past message 2: the peer's message 3 arrived
        return sa != nullptr && phase1::PeerWentOn(*sa);
      });
  for (uint64_t handle : admission.evicted) DeleteSa(handle);
  if (admission.report) LOG_EVENT("%s", admission.report->c_str());
  return admission.admit;
}

void SaManager::ReleaseHalfOpen(IsakmpSa& sa) {
  if (!sa.counted_half_open) return;
  sa.counted_half_open = false;
  half_open_table_.Remove(sa.handle);
}

void SaManager::OnPhase1(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                         ByteView packet) {
  IsakmpSa* sa = FindPhase1Sa(h, local, remote, packet);
  if (!sa) {
    // A message 1 (no responder cookie) that got no SA was logged with its
    // own reason (no tunnel defined, half-open caps); only later messages
    // can have unknown cookies.
    if (!IsZero(h.rcookie)) {
      LOG_INFO("dropped %s message from %s: unknown cookies %s:%s",
               wire::ExchangeTypeName(h.exchange), remote.ToString().c_str(),
               ToHex(h.icookie).c_str(), ToHex(h.rcookie).c_str());
      Dropped(ipc::DROP_UNKNOWN_SA);
    }
    return;
  }
  if (sa->mode != ModeOf(h)) {
    LogLine(LogLevel::kInformation, *sa,
            std::string("dropped a ") + wire::ExchangeTypeName(h.exchange) +
                " message: this SA runs " + Phase1ModeName(sa->mode));
    Dropped(ipc::DROP_MALFORMED);
    return;
  }
  if (IsDuplicate(*sa, sa->tx, packet)) return;
  if (sa->step == Phase1Step::kAwaitSkeyid && sa->role == Role::kResponder &&
      (h.flags & wire::kFlagEncryption)) {
    // Main Mode 5 before cpsd answered: read it once SKEYID is here.
    Phase1Exchange& mm = *sa->exchange;
    mm.queued_packet = Bytes(packet.begin(), packet.end());
    mm.queued_local = local;
    mm.queued_remote = remote;
    return;
  }
  ProcessPhase1(*sa, h, local, remote, packet);
}

void SaManager::ProcessPhase1(IsakmpSa& sa, const wire::Header& h, const Endpoint& local,
                              const Endpoint& remote, ByteView packet) {
  auto kind = phase1::ExpectedMessage(sa);
  if (!kind || !sa.exchange) return;
  const bool encrypted = h.flags & wire::kFlagEncryption;
  if (!EncryptionAsExpected(*kind, encrypted)) {
    LogLine(LogLevel::kInformation, sa,
            std::string("dropped ") + wire::MessageKindName(*kind) + ": wrong encryption flag");
    Dropped(ipc::DROP_MALFORMED);
    return;
  }
  const bool auth_message = IsAuthMessage(*kind);
  auto opened = OpenAndParse(sa, h, packet, sa.iv, *kind);
  if (auto* error = std::get_if<std::string>(&opened)) {
    if (!encrypted) {
      LogLine(LogLevel::kInformation, sa,
              std::string("dropped malformed ") + wire::MessageKindName(*kind) + ": " + *error);
      Dropped(ipc::DROP_MALFORMED);
      return;
    }
    return RejectAuthMessage(
        sa, *kind,
        Phase1Outcome::Fail(ipc::AUTHENTICATION_FAILED,
                            "authentication failed: " + std::string(wire::MessageKindName(*kind)) +
                                " from " + sa.remote.address.ToString() + " does not decrypt (" +
                                *error + "; the pre-shared keys differ)",
                            wire::NotifyType::kAuthenticationFailed));
  }
  auto& msg = std::get<Opened>(opened);
  Phase1Outcome outcome = phase1::Receive(sa, *sa.exchange, msg.payloads, tools_);
  // HASH_I/HASH_R messages that decrypt but do not verify are treated like
  // those that do not decrypt: the IV chain stays where it was. A refusal
  // of what a verified message says is final (delete_at_peer, outcome.h).
  if (auth_message && outcome.failure && !outcome.failure->delete_at_peer)
    return RejectAuthMessage(sa, *kind, std::move(outcome));
  if (encrypted) sa.iv = msg.next_iv;
  NoteAccepted(sa.tx, packet);
  NoteEndpoints(sa, local, remote);  // 4500 only once HASH_I/R verified
  CountReceived(sa, h, packet);
  // The peer answered: our last message needs no more retransmissions, even
  // if nothing follows it (message 6 ends the exchange for the initiator).
  deps_.timers->Cancel(sa.tx.timer);
  sa.tx.timer = 0;
  ApplyPhase1(sa, std::move(outcome));
}

// A HASH_I/HASH_R message (Main Mode 5 or 6, Aggressive Mode 3) that does
// not decrypt or verify. One forged or corrupted
// packet must not end a negotiation, so the first is dropped and the peer's
// retransmission (never taken for a duplicate: only accepted messages are
// remembered) decides; the second means the keys differ, i.e. the
// pre-shared keys do.
void SaManager::RejectAuthMessage(IsakmpSa& sa, wire::MessageKind kind, Phase1Outcome failure) {
  if (++sa.exchange->rejected_auth < kUndecryptableLimit) {
    LogLine(LogLevel::kInformation, sa,
            std::string(wire::MessageKindName(kind)) + " rejected (" + failure.failure->reason +
                "); waiting for a retransmission before giving up");
    return;
  }
  ApplyPhase1(sa, std::move(failure));
}

// One line per ISAKMP SA: which NAT traversal was agreed and what NAT-D
// showed (both roles; the initiator also logs its move to port 4500).
void SaManager::LogNatTraversal(const IsakmpSa& sa, const Phase1Exchange& ex) {
  if (!sa.uses_nat_t()) {
    // Off is the operator's choice and worth seeing (a peer behind a NAT,
    // or one that needs UDP encapsulation, then fails in Quick Mode).
    LogLine(ex.nat_traversal ? LogLevel::kInformation : LogLevel::kEvents, sa,
            ex.nat_traversal ? "NAT traversal: the peer announced none"
                             : "NAT traversal: off (settings.nat_traversal)");
    return;
  }
  std::string where = sa.nat_local && sa.nat_remote ? "in front of us and of the peer"
                      : sa.nat_local                ? "in front of us"
                      : sa.nat_remote               ? "in front of the peer"
                                                    : "";
  // A NAT is worth an events line (it changes ports and encapsulation);
  // its absence only an information one (events: a line per tunnel costs).
  LogLine(
      where.empty() ? LogLevel::kInformation : LogLevel::kEvents, sa,
      std::string("NAT traversal ") + nat_traversal::VersionName(sa.nat_t) + ": " +
          (where.empty() ? "no NAT detected"
                         : "NAT detected " + where + ", IKE and ESP on " + sa.local.ToString()));
}

void SaManager::ApplyPhase1(IsakmpSa& sa, Phase1Outcome outcome) {
  if (outcome.failure) return FailPhase1(sa, *outcome.failure);
  std::string done_transition;
  if (outcome.next && !Transition(sa, *outcome.next, outcome.done ? &done_transition : nullptr))
    return;
  if (outcome.send && outcome.encrypt && sa.role == Role::kInitiator && sa.behind_nat() &&
      sa.local.port != nat_traversal::kPort) {
    // RFC 3947 section 4: with a NAT in the path the initiator moves to
    // port 4500 for message 5 and everything after it.
    sa.local.port = nat_traversal::kPort;
    sa.remote.port = nat_traversal::kPort;
    LogLine(LogLevel::kEvents, sa,
            std::string("NAT detected (") +
                (sa.nat_local ? "in front of us" : "in front of the peer") +
                "); moving to port 4500");
  }
  if (outcome.send) {
    const uint64_t handle = sa.handle;
    Bytes packet = Seal(sa, phase1::ExchangeTypeOf(sa.mode), 0, *outcome.send,
                        outcome.encrypt ? &sa.iv : nullptr);
    sa.tx.message_number = phase1::MessageSentIn(sa.mode, sa.step, sa.role);
    Transmit(sa, sa.tx, std::move(packet), !outcome.done,
             [this, handle] { Phase1Timeout(handle); });
  }
  if (outcome.need_skeyid) RequestSkeyid(sa);
  if (outcome.done) Phase1Established(sa, done_transition);
}

void SaManager::RequestSkeyid(IsakmpSa& sa) {
  const Phase1Exchange& mm = *sa.exchange;
  ipc::SkeyidRequest req;
  req.set_prf(static_cast<db::IkeHash>(sa.suite->attrs.hash));
  req.set_remote_id(mm.remote_id);
  req.set_remote_address(sa.remote.address.ToString());
  req.set_ni(ToString(mm.ni));
  req.set_nr(ToString(mm.nr));
  const uint64_t handle = sa.handle;
  deps_.credentials->RequestSkeyid(
      req, [this, handle](Result<SecretBytes> skeyid) { OnSkeyid(handle, std::move(skeyid)); });
}

// cpsd's answer. Dropped if the SA is gone or no longer waits (a second
// answer); a Main Mode 5 that arrived meanwhile is read now.
void SaManager::OnSkeyid(uint64_t handle, Result<SecretBytes> skeyid) {
  IsakmpSa* sa = FindSa(handle);
  if (!sa || sa->step != Phase1Step::kAwaitSkeyid || !sa->exchange) return;
  if (!skeyid)
    return FailPhase1(*sa, Failure{ipc::UNKNOWN_PEER, skeyid.error().message, std::nullopt});
  Phase1Outcome outcome = phase1::OnSkeyid(*sa, *sa->exchange, std::move(skeyid.value()));
  WriteKeyLog(*sa);
  ApplyPhase1(*sa, std::move(outcome));
  sa = FindSa(handle);
  if (!sa || !sa->exchange || !sa->exchange->queued_packet) return;
  Phase1Exchange& mm = *sa->exchange;
  Bytes queued = std::move(*mm.queued_packet);
  mm.queued_packet.reset();
  auto h = wire::ParseHeader(queued);
  if (auto* hdr = std::get_if<wire::Header>(&h))
    ProcessPhase1(*sa, *hdr, mm.queued_local, mm.queued_remote, queued);
}

// RFC 2407 4.6.3.3: the peer restarted and says so (INITIAL-CONTACT, in a
// message whose HASH verified). Every other ISAKMP SA of this definition
// and every IPsec SA under them is stale: dropped without Deletes (the
// peer has forgotten them), each reported to tmd, which removes the kernel
// state.
void SaManager::DropStaleSas(IsakmpSa& sa) {
  auto it = established_by_name_.find(sa.name);
  if (it == established_by_name_.end()) return;
  const std::vector<uint64_t> stale = it->second;
  const std::string why =
      "peer " + sa.remote.address.ToString() + " restarted (INITIAL-CONTACT); SA dropped";
  size_t pairs = 0, isakmp = 0;
  for (uint64_t h : stale) {
    IsakmpSa* old = FindSa(h);
    if (old == nullptr || old == &sa) continue;
    const std::vector<uint64_t> children = old->children;
    for (uint64_t ch : children) {
      IpsecSa* child = FindChild(ch);
      if (child == nullptr || !child->established()) continue;
      EmitSaDeleted(2, child->tunnel, child->handle, why, true);
      RemoveChild(ch);
      ++pairs;
    }
    EmitSaDeleted(1, old->tunnel, h, why, true);
    DeleteSa(h);
    ++isakmp;
  }
  if (isakmp != 0)
    LogLine(LogLevel::kEvents, sa,
            "INITIAL-CONTACT from " + sa.remote.address.ToString() + ": dropped " +
                std::to_string(isakmp) + " older ISAKMP SA(s) and " + std::to_string(pairs) +
                " phase 2 SA pair(s) the peer no longer holds");
}

void SaManager::Phase1Established(IsakmpSa& sa, const std::string& transition) {
  // |responding_| keeps the SA until it is deleted, so a replayed Main Mode
  // 1 finds it (and is ignored) instead of starting a new negotiation.
  ReleaseHalfOpen(sa);
  if (sa.peer_initial_contact) DropStaleSas(sa);
  if (!sa.name.empty()) established_by_name_[sa.name].push_back(sa.handle);
  deps_.timers->Cancel(sa.deadline_timer);
  sa.established_unix = deps_.clock->UnixNow();
  // Who sent the last message (Main Mode: the responder's 6, Aggressive
  // Mode: the initiator's 3) keeps it to answer a repeat of the message
  // before it, until the peer's first Quick Mode shows it arrived; the
  // other end's last message is never needed again.
  const bool sent_last = (sa.mode == Phase1Mode::kMain) == (sa.role == Role::kResponder);
  if (!sent_last) sa.tx.packet = Bytes();
  const auto& s = *sa.suite;
  const Phase1Exchange& mm = *sa.exchange;
  LogLine(LogLevel::kEvents, sa,
          (transition.empty() ? "" : transition + ": ") + "phase 1 established with " +
              mm.remote_id + " (" + Phase1ModeName(sa.mode) + ", " + RoleName(sa.role) + ", " +
              s.EncryptionName() + "/" + s.HashName() + "/" + s.GroupName() + ", lifetime " +
              lifetime::Describe(s.life_seconds, s.life_kbytes) + ")");
  // Named once per SA; unknown ones are accepted (issue 10.7).
  if (sa.peer_vendor_ids != 0 || sa.peer_unknown_vendor_ids != 0)
    LogLine(LogLevel::kInformation, sa,
            "peer's vendor IDs: " +
                vendor_ids::Describe(sa.peer_vendor_ids, sa.peer_unknown_vendor_ids));
  LogNatTraversal(sa, mm);
  StartNatKeepalives(sa);
  EmitPhase1Established(sa, /*collision_survivor=*/false);
  // What phase 2 needs stays (SKEYID_d, SKEYID_a, the encryption key, the
  // last CBC block in |iv|); the negotiation goes in one step, heap included
  // (memory per tunnel, issue 3). The encryption key is derived from
  // SKEYID_e, which is no longer needed.
  sa.exchange.reset();
  sa.keys.skeyid_e = SecretBytes();
  const uint64_t handle = sa.handle;
  sa.deadline_timer = deps_.timers->Schedule(Duration(uint64_t(s.life_seconds) * 1000),
                                             [this, handle] { Phase1Expired(handle); });
  if (sa.replaces != 0) {
    if (IsakmpSa* old = FindSa(sa.replaces); old != nullptr && old->established()) {
      // Our re-establishment is done: the old SA goes after an overlap
      // (Quick Modes and Informationals still on it finish; the peer learns
      // of the new SA from its own DONE).
      old->replacement = 0;
      AdoptChildren(*old, sa);
      sa.took_over = deps_.clock->Now();
      if (old->retire_timer == 0) Retire(*old);
    }
    ServeTunnel(sa);
  }
  CheckVolume(sa);  // Main Mode 5 and 6 count already
}

void SaManager::EmitPhase1Established(const IsakmpSa& sa, bool collision_survivor) {
  ipc::Envelope e;
  auto* est = e.mutable_phase1_established();
  est->set_tunnel(sa.tunnel);
  est->set_handle(sa.handle);
  est->set_name(sa.name);
  est->set_role(ToIpc(sa.role));
  est->set_mode(ToIpc(sa.mode));
  est->set_local_address(sa.local.address.ToString());
  est->set_remote_address(sa.remote.address.ToString());
  if (sa.exchange) {  // freed after DONE; tmd keeps the identities it has
    est->set_local_id(sa.exchange->local_id);
    est->set_remote_id(sa.exchange->remote_id);
  }
  est->set_icookie(ToHex(sa.icookie));
  est->set_rcookie(ToHex(sa.rcookie));
  SetSuite(*sa.suite, est);
  est->set_lifetime_seconds(sa.suite->life_seconds);
  est->set_peer_aixike(sa.peer_aixike);
  est->set_collision_survivor(collision_survivor);
  est->set_nat_t(ToIpc(sa.nat_t));
  est->set_nat_local(sa.nat_local);
  est->set_nat_remote(sa.nat_remote);
  est->set_peer_dpd(sa.peer_dpd);
  deps_.events->Emit(std::move(e));
}

void SaManager::Retire(IsakmpSa& sa) {
  const uint64_t retired = sa.handle;
  sa.retiring_since = deps_.clock->Now();
  sa.retire_timer = deps_.timers->Schedule(Duration(kReplacedOverlapMs),
                                           [this, retired] { RetireReplaced(retired); });
}

// |sa|, established, now belongs to its tunnel (our re-establishment at
// DONE, or the peer's once tmd has numbered it): it takes over the SA that
// served the tunnel and its phase 2 SAs. If that SA is itself a fresh
// replacement (it took over from an SA still in its overlap), both ends
// re-established at once (issue 9.3): two new ISAKMP SAs, each end
// holding both.
void SaManager::ServeTunnel(IsakmpSa& sa) {
  uint64_t& indexed = p1_by_tunnel_[sa.tunnel];
  IsakmpSa* prev = FindSa(indexed);
  if (prev == &sa) return;
  if (prev == nullptr || !prev->established()) {
    indexed = sa.handle;
    return;
  }
  const bool prev_is_fresh =
      prev->replaces != 0 && (FindSa(prev->replaces) != nullptr ||
                              deps_.clock->Now() - prev->took_over < Duration(kCollisionWindowMs));
  if (!prev_is_fresh || prev->retire_timer != 0) {
    AdoptChildren(*prev, sa);
    if (sa.replaces == 0) sa.replaces = prev->handle;
    sa.took_over = deps_.clock->Now();
    indexed = sa.handle;
    return;
  }
  ResolvePhase1Collision(*prev, sa);
}

// Both ends keep the SA with the higher cookie pair (initiator cookie, then
// responder cookie: the same octets at both ends) and move the phase 2 SAs
// to it. With a peer running this suite (its vendor ID) the other SA is
// deleted after the overlap, by both ends alike; another peer may keep
// using it, so it is left to expire. tmd heard of |latest| last: if the
// survivor is the other one, tmd is told again.
void SaManager::ResolvePhase1Collision(IsakmpSa& earlier, IsakmpSa& latest) {
  auto pair_of = [](const IsakmpSa& s) {
    return std::make_pair(CookieValue(s.icookie), CookieValue(s.rcookie));
  };
  const bool keep_latest = pair_of(latest) > pair_of(earlier);
  IsakmpSa& keep = keep_latest ? latest : earlier;
  IsakmpSa& drop = keep_latest ? earlier : latest;
  AdoptChildren(drop, keep);
  p1_by_tunnel_[keep.tunnel] = keep.handle;
  const bool delete_now = drop.peer_aixike && drop.retire_timer == 0;
  LogLine(LogLevel::kEvents, keep,
          "both ends re-established phase 1 at once: this ISAKMP SA (the higher cookie pair) "
          "serves the tunnel; " +
              drop.CookieText() +
              (delete_now ? " is deleted after the overlap"
                          : " is left to expire (the peer may not apply this rule)"));
  if (delete_now) Retire(drop);
  if (&keep != &latest) EmitPhase1Established(keep, /*collision_survivor=*/true);
}

// IKEv1 cannot rekey an ISAKMP SA (RFC 2409 has no such exchange): a new
// Main Mode takes over, and the established IPsec SAs of the old one are
// the new one's from now on (RFC 2408 5.15 leaves them to their own
// lifetime), so Deletes, rekeys and the next re-establishment find them.
void SaManager::AdoptChildren(IsakmpSa& from, IsakmpSa& to) {
  std::vector<uint64_t> stay;
  for (uint64_t ch : from.children) {
    IpsecSa* child = FindChild(ch);
    if (child == nullptr) continue;
    if (!child->established()) {  // its Quick Mode needs the old SA's keys
      stay.push_back(ch);
      continue;
    }
    child->parent = to.handle;
    to.children.push_back(ch);
  }
  const size_t moved = from.children.size() - stay.size();
  from.children.swap(stay);
  if (moved != 0)
    LogLine(LogLevel::kEvents, to,
            "takes over " + std::to_string(moved) + " phase 2 SA pair(s) from ISAKMP SA " +
                from.CookieText());
}

void SaManager::RetireReplaced(uint64_t handle) {
  IsakmpSa* sa = FindSa(handle);
  if (!sa) return;
  sa->retire_timer = 0;
  // Its own Quick Modes and Informationals (the phase 2 SAs still
  // negotiating stayed with it) finish first, within their retransmissions.
  bool busy = sa->message_ids.live_count() != 0;
  for (uint64_t ch : sa->children) {
    const IpsecSa* child = FindChild(ch);
    busy |= child != nullptr && !child->established();
  }
  if (busy && deps_.clock->Now() - sa->retiring_since < Duration(kReplacedOverlapMaxMs)) {
    sa->retire_timer =
        deps_.timers->Schedule(Duration(1000), [this, handle] { RetireReplaced(handle); });
    return;
  }
  LogLine(LogLevel::kEvents, *sa, "replaced by a new ISAKMP SA; deleting");
  SendInformational(*sa, {informational::DeleteIsakmpSa(*sa)});
  EmitSaDeleted(1, sa->tunnel, handle, "replaced by a new ISAKMP SA", false);
  DeleteSa(handle);
}

// Both limits take this one path (RFC 2407 4.5: whichever comes first).
void SaManager::Phase1Expired(uint64_t handle, bool by_volume) {
  IsakmpSa* sa = FindSa(handle);
  if (!sa) return;
  sa->deadline_timer = 0;
  LogLine(LogLevel::kEvents, *sa,
          "phase 1 lifetime expired (" + ExpiryText(*sa, by_volume) + "); deleting");
  SendInformational(*sa, {informational::DeleteIsakmpSa(*sa)});
  EmitSaDeleted(1, sa->tunnel, handle, by_volume ? "lifetime expired (volume)" : "lifetime expired",
                false);
  DeleteSa(handle);
}

void SaManager::FailPhase1(IsakmpSa& sa, const Failure& failure) {
  const char* state = Phase1Names(sa.mode, sa.step, sa.role).ibm;
  LogLine(LogLevel::kError, sa,
          std::string("phase 1 failed in state ") + state + ": " + failure.reason);
  if (failure.delete_at_peer && sa.keyed()) {
    // The peer holds the SA as established (it sent message 6): a protected
    // notify says why, the Delete ends its copy (RFC 2408 3.15).
    std::vector<wire::Payload> body{informational::DeleteIsakmpSa(sa)};
    if (failure.notify) body.insert(body.begin(), informational::Notify(*failure.notify));
    SendInformational(sa, std::move(body));
  } else if (failure.notify) {
    SendPlainNotify(sa, *failure.notify);
  }
  EmitFailure(sa, failure);
  ++counters_.isakmp.failed[failure.code];
  DeleteSa(sa.handle, /*failed=*/true);
}

void SaManager::Phase1Timeout(uint64_t handle) {
  IsakmpSa* sa = FindSa(handle);
  if (!sa) return;
  if (Retransmit(*sa, sa->tx, [this, handle] { Phase1Timeout(handle); })) return;
  if (sa->role == Role::kResponder && sa->step == Phase1Step::kSaAnswered) {
    // Never reported to tmd (see Transition): a message 1 whose sender did
    // not go on, typically a spoofed one. One line, no event, no tunnel.
    // An Aggressive Mode initiator that got HASH_R wrong stops here too.
    LogLine(LogLevel::kInformation, *sa,
            "no message 3 after " + std::to_string(sa->tx.tries) +
                " tries of message 2; half-open SA dropped" +
                (sa->mode == Phase1Mode::kAggressive
                     ? " (if the peer is genuine, it may have failed to verify HASH_R: the "
                       "pre-shared keys may differ)"
                     : ""));
    return DeleteSa(handle);
  }
  const std::string peer = sa->remote.address.ToString();
  const int n = sa->tx.message_number;
  const std::string tries = std::to_string(sa->tx.tries);
  std::string reason;
  ipc::ErrorCode code = ipc::NEGOTIATION_TIMEOUT;
  if (n == 1) {
    reason = "peer " + peer + " not answering: no reply to message 1 after " + tries +
             " tries (is IKE running on the peer and UDP " + std::to_string(ike_port()) +
             " reachable?)";
  } else if (sa->unprotected_notify) {
    // Hole b: the notify could not end the exchange, but it is the likely
    // reason the peer stopped answering.
    const uint16_t type = *sa->unprotected_notify;
    reason = "peer " + peer + " not answering message " + std::to_string(n) + " after " + tries +
             " tries; it sent an unprotected " + wire::NotifyTypeName(type) +
             " notify, the likely reason";
    if (n == 5)
      reason += " (authentication failed on the peer: the pre-shared keys probably differ)";
    code = informational::CodeForNotify(type);
  } else if (n == 5) {
    reason = "peer " + peer + " not answering message 5 after " + tries +
             " tries: authentication failed on the peer (the pre-shared keys probably differ)";
  } else {
    reason = "peer " + peer + " not answering: no reply to message " + std::to_string(n) +
             " after " + tries + " tries";
  }
  reason += HeardInstead(sa->remote, sa->created);
  FailPhase1(*sa, Failure{code, reason, std::nullopt});
}

void SaManager::DeleteSa(uint64_t handle, bool failed) {
  IsakmpSa* sa = FindSa(handle);
  if (!sa) return;
  Transition(*sa, failed ? Phase1Step::kFailed : Phase1Step::kDeleted);
  ReleaseHalfOpen(*sa);
  deps_.timers->Cancel(sa->tx.timer);
  deps_.timers->Cancel(sa->deadline_timer);
  deps_.timers->Cancel(sa->retire_timer);
  deps_.timers->Cancel(sa->keepalive_timer);
  if (auto byname = established_by_name_.find(sa->name); byname != established_by_name_.end()) {
    std::erase(byname->second, handle);
    if (byname->second.empty()) established_by_name_.erase(byname);
  }
  if (IsakmpSa* old = FindSa(sa->replaces); old && old->replacement == handle)
    old->replacement = 0;  // a failed re-establishment: the old SA may try again
  if (auto ho = half_open_.find(CookieValue(sa->icookie));
      ho != half_open_.end() && ho->second == handle)
    half_open_.erase(ho);
  if (auto r = responding_.find(ResponderKey{CookieValue(sa->icookie), sa->counted_peer});
      r != responding_.end() && r->second == handle)
    responding_.erase(r);
  if (auto c = by_cookies_.find(Cookies(sa->icookie, sa->rcookie));
      c != by_cookies_.end() && c->second == handle)
    by_cookies_.erase(c);
  if (auto t = p1_by_tunnel_.find(sa->tunnel); t != p1_by_tunnel_.end() && t->second == handle)
    p1_by_tunnel_.erase(t);
  // Quick Modes still negotiating on this SA cannot finish without it;
  // established IPsec SAs outlive it (RFC 2409 leaves them to their own
  // lifetime and Deletes).
  const std::vector<uint64_t> children = sa->children;
  for (uint64_t ch : children) {
    IpsecSa* child = FindChild(ch);
    if (child && !child->established())
      FailPhase2(*sa, *child, Failure{ipc::DELETED, "phase 1 SA was deleted", std::nullopt});
  }
  sas_.erase(handle);
}

}  // namespace ike::isakmpd
