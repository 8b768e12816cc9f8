#include "isakmpd/sa/sa_manager.h"

#include <algorithm>
#include <cstring>

#include "common/ipc_frame.h"
#include "common/log.h"
#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/informational.h"
#include "isakmpd/exchange/main_mode.h"
#include "isakmpd/exchange/nat_traversal.h"

namespace ike::isakmpd {
namespace {

constexpr uint16_t kDefaultPort = 500;
constexpr uint32_t kDefaultMaxHalfOpen = 2048;
// Half-open responder SAs per remote address (settings.max_half_open_per_peer
// unset or 0). High enough for a gateway's legitimate mass reconnect to get
// through in a few retransmission rounds, low enough that one address cannot
// take all of max_half_open.
constexpr uint32_t kDefaultMaxHalfOpenPerPeer = 256;
// Undecryptable Main Mode 5/6 messages before we conclude the keys differ.
constexpr int kUndecryptableLimit = 2;

bool IsZero(const wire::Cookie& c) {
  for (uint8_t b : c)
    if (b) return false;
  return true;
}

std::optional<Endpoint> MakeEndpoint(const std::string& address, uint16_t port) {
  auto ip = IpAddress::Parse(address);
  if (!ip) return std::nullopt;
  return Endpoint{*ip, port};
}

const db::IkeProtection* FindIkeProtection(const db::TunnelDatabase& d, const std::string& n) {
  for (const auto& p : d.ike_protection())
    if (p.name() == n) return &p;
  return nullptr;
}

// Message numbers in Main Mode: the initiator sends 1, 3, 5; the responder
// 2, 4, 6.
int MessageNumber(const IsakmpSa& sa, Phase1State after) {
  const bool init = sa.role == Role::kInitiator;
  switch (after) {
    case Phase1State::kWaitSa:
      return 1;
    case Phase1State::kWaitKe:
      return 2;
    case Phase1State::kInKe:
      return init ? (sa.keys.skeyid_a.empty() ? 3 : 5) : 4;
    case Phase1State::kDone:
      return 6;
    default:
      return init ? 1 : 2;
  }
}

}  // namespace

SaManager::SaManager(SaManagerDeps deps)
    : deps_(deps), tools_{*deps.random, deps.dh ? *deps.dh : fresh_dh_} {}
SaManager::~SaManager() = default;

// Indexes the definitions once, so that neither a Main Mode 1 nor a Quick
// Mode 1 scans the whole database (thousands of tunnels, issue 3).
void SaManager::SetDatabase(const db::TunnelDatabase& database) {
  database_ = database;
  phase1_by_endpoints_.clear();
  phase2_by_phase1_.clear();
  for (int i = 0; i < database_.ike_tunnel_size(); ++i) {
    const auto& t = database_.ike_tunnel(i);
    auto ra = IpAddress::Parse(t.remote_address());
    if (!ra) continue;
    auto la = IpAddress::Parse(t.local_address());
    phase1_by_endpoints_.emplace(EndpointsKey{*ra, la ? *la : IpAddress{}}, i);
  }
  for (int i = 0; i < database_.ipsec_tunnel_size(); ++i)
    phase2_by_phase1_[database_.ipsec_tunnel(i).ike_tunnel()].push_back(i);
}

uint16_t SaManager::ike_port() const {
  return database_.settings().ike_port() ? database_.settings().ike_port() : kDefaultPort;
}

uint64_t SaManager::CookieValue(const wire::Cookie& c) {
  uint64_t v;
  std::memcpy(&v, c.data(), sizeof v);
  return v;
}

SaManager::CookiePair SaManager::Cookies(const wire::Cookie& i, const wire::Cookie& r) {
  return CookiePair{CookieValue(i), CookieValue(r)};
}

namespace {
// Cookies are random (RFC 2408 2.5.3), so mixing them is enough; the
// multiplier spreads sequential handles and addresses.
constexpr uint64_t kMix = 0x9e3779b97f4a7c15ull;
size_t Mix(uint64_t a, uint64_t b) { return static_cast<size_t>((a ^ (b * kMix)) * kMix >> 7); }
uint64_t Fold(const IpAddress& a) {
  uint64_t hi, lo;
  std::memcpy(&hi, a.octets.data(), 8);
  std::memcpy(&lo, a.octets.data() + 8, 8);
  return hi ^ (lo * kMix) ^ uint64_t(a.family);
}
}  // namespace

size_t SaManager::KeyHash::operator()(const CookiePair& k) const { return Mix(k.i, k.r); }
size_t SaManager::KeyHash::operator()(const ResponderKey& k) const {
  return Mix(k.icookie, Fold(k.remote));
}
size_t SaManager::KeyHash::operator()(const MessageKey& k) const { return Mix(k.p1, k.message_id); }
size_t SaManager::KeyHash::operator()(const EndpointsKey& k) const {
  return Mix(Fold(k.remote), Fold(k.local));
}
size_t SaManager::KeyHash::operator()(const IpAddress& a) const { return Mix(Fold(a), 0); }

IsakmpSa* SaManager::NewSa(Role role, const Endpoint& local, const Endpoint& remote) {
  auto sa = std::make_unique<IsakmpSa>();
  sa->handle = next_handle_++;
  sa->role = role;
  sa->local = local;
  sa->remote = remote;
  IsakmpSa* raw = sa.get();
  sas_[raw->handle] = std::move(sa);
  return raw;
}

ipc::Envelope SaManager::StartPhase1(const ipc::Phase1Request& request) {
  const auto& def = request.definition();
  if (p1_by_tunnel_.count(request.tunnel()))
    return ipc::MakeError(0, ipc::TUNNEL_ACTIVE,
                          "phase 1 tunnel " + std::to_string(request.tunnel()) +
                              " is already being negotiated or active");
  auto local = MakeEndpoint(def.local_address(), ike_port());
  auto remote = MakeEndpoint(def.remote_address(), ike_port());
  if (!remote)
    return ipc::MakeError(0, ipc::INVALID_REMOTE_ADDRESS,
                          "invalid remote address '" + def.remote_address() + "'");
  if (!local)
    return ipc::MakeError(0, ipc::BAD_ARGUMENT,
                          "invalid local address '" + def.local_address() + "'");
  if (request.protection().proposal_size() == 0)
    return ipc::MakeError(0, ipc::BAD_ARGUMENT,
                          "IKE protection '" + request.protection().name() + "' has no proposal");
  IsakmpSa* sa = NewSa(Role::kInitiator, *local, *remote);
  sa->tunnel = request.tunnel();
  sa->name = def.name();
  sa->definition = def;
  sa->protection = request.protection();
  sa->local_id = Phase1IdText(def.local_id(), def.local_address());
  sa->remote_id = Phase1IdText(def.remote_id(), def.remote_address());
  deps_.random->Fill(sa->icookie);
  half_open_[CookieValue(sa->icookie)] = sa->handle;
  p1_by_tunnel_[sa->tunnel] = sa->handle;
  LogLine(LogLevel::kEvents, *sa, "initiating Main Mode to " + sa->remote.ToString());
  ApplyPhase1(*sa, main_mode::InitiatorSendSa(*sa));
  return ipc::MakeAck(0);
}

void SaManager::AssignTunnel(const ipc::TunnelAssigned& assigned) {
  if (assigned.phase() == 1) {
    auto it = sas_.find(assigned.handle());
    if (it == sas_.end()) return;
    it->second->tunnel = assigned.tunnel();
    p1_by_tunnel_[assigned.tunnel()] = assigned.handle();
  } else {
    auto it = qms_.find(assigned.handle());
    if (it == qms_.end()) return;
    it->second->tunnel = assigned.tunnel();
    p2_by_tunnel_[assigned.tunnel()] = assigned.handle();
  }
}

void SaManager::OnPacket(const Endpoint& local, const Endpoint& remote, ByteView packet) {
  auto parsed = wire::ParseHeader(packet);
  if (auto* err = std::get_if<wire::ParseError>(&parsed)) {
    LOG_INFO("dropped %zu-octet packet from %s: %s (offset %zu)", packet.size(),
             remote.ToString().c_str(), err->detail.c_str(), err->offset);
    return;
  }
  const auto& h = std::get<wire::Header>(parsed);
  const ByteView message = packet.first(h.length);
  switch (h.exchange) {
    case wire::ExchangeType::kIdentityProtection:
      return OnMainMode(h, local, remote, message);
    case wire::ExchangeType::kQuickMode:
      return OnQuickMode(h, local, remote, message);
    case wire::ExchangeType::kInformational:
      return OnInformational(h, local, remote, message);
    default:
      LOG_EVENT("%s from %s refused: exchange not supported (only Main Mode for phase 1)",
                wire::ExchangeTypeName(h.exchange), remote.ToString().c_str());
      // A new negotiation (no responder cookie) learns why at once instead
      // of retransmitting into silence (RFC 2408 3.14.1).
      if (std::all_of(h.rcookie.begin(), h.rcookie.end(), [](uint8_t b) { return b == 0; })) {
        IsakmpSa reply;  // only the header fields matter for an unprotected notify
        reply.icookie = h.icookie;
        reply.local = local;
        reply.remote = remote;
        SendPlainNotify(reply, wire::NotifyType::kUnsupportedExchangeType);
      }
  }
}

IsakmpSa* SaManager::FindMainModeSa(const wire::Header& h, const Endpoint& local,
                                    const Endpoint& remote, ByteView packet) {
  if (auto it = by_cookies_.find(Cookies(h.icookie, h.rcookie)); it != by_cookies_.end())
    return sas_.at(it->second).get();
  if (!IsZero(h.rcookie)) {
    // Message 2: our half-open SA learns the responder cookie.
    auto it = half_open_.find(CookieValue(h.icookie));
    if (it == half_open_.end()) return nullptr;
    IsakmpSa* sa = sas_.at(it->second).get();
    if (sa->state != Phase1State::kWaitSa) return nullptr;
    half_open_.erase(it);
    sa->rcookie = h.rcookie;
    by_cookies_[Cookies(sa->icookie, sa->rcookie)] = sa->handle;
    return sa;
  }
  // Message 1 (or its retransmission, found through the responder key).
  const ResponderKey key{CookieValue(h.icookie), remote.address};
  if (auto it = responding_.find(key); it != responding_.end()) return sas_.at(it->second).get();
  const db::IkeTunnel* def = nullptr;
  auto found = phase1_by_endpoints_.find(EndpointsKey{remote.address, local.address});
  if (found == phase1_by_endpoints_.end())
    found = phase1_by_endpoints_.find(EndpointsKey{remote.address, IpAddress{}});
  if (found != phase1_by_endpoints_.end()) def = &database_.ike_tunnel(found->second);
  if (!def) {
    LOG_EVENT("Main Mode from %s to %s: no phase 1 tunnel is defined for this peer; dropped",
              remote.ToString().c_str(), local.ToString().c_str());
    return nullptr;
  }
  const auto* protection = FindIkeProtection(database_, def->protection());
  if (!protection) return nullptr;
  if (!AdmitResponder(remote)) return nullptr;
  IsakmpSa* sa = NewSa(Role::kResponder, local, remote);
  sa->counted_half_open = true;
  sa->counted_peer = remote.address;
  ++half_open_responders_;
  ++half_open_by_peer_[remote.address];
  sa->name = def->name();
  sa->definition = *def;
  sa->protection = *protection;
  sa->local_id = Phase1IdText(def->local_id(), def->local_address());
  sa->remote_id = Phase1IdText(def->remote_id(), def->remote_address());
  sa->icookie = h.icookie;
  deps_.random->Fill(sa->rcookie);
  responding_[key] = sa->handle;
  by_cookies_[Cookies(sa->icookie, sa->rcookie)] = sa->handle;
  return sa;
}

uint32_t SaManager::HalfOpenLimit() const {
  const uint32_t v = database_.settings().max_half_open();
  return v ? v : kDefaultMaxHalfOpen;
}

uint32_t SaManager::HalfOpenPerPeerLimit() const {
  const uint32_t v = database_.settings().max_half_open_per_peer();
  return v ? v : kDefaultMaxHalfOpenPerPeer;
}

// A storm is absorbed, not answered at once: a dropped Main Mode 1 comes back
// with the initiator's retransmission (RFC 2408 has no "busy" notify for
// IKEv1). Each cap logs once per 1000 drops.
bool SaManager::AdmitResponder(const Endpoint& remote) {
  const uint32_t limit = HalfOpenLimit();
  if (half_open_responders_ >= limit) {
    if (dropped_for_half_open_++ % 1000 == 0)
      LOG_EVENT("Main Mode from %s dropped: %zu half-open SAs (max_half_open %u); %llu dropped",
                remote.ToString().c_str(), half_open_responders_, limit,
                static_cast<unsigned long long>(dropped_for_half_open_));
    return false;
  }
  const uint32_t per_peer = HalfOpenPerPeerLimit();
  auto it = half_open_by_peer_.find(remote.address);
  if (it != half_open_by_peer_.end() && it->second >= per_peer) {
    if (dropped_for_peer_cap_++ % 1000 == 0)
      LOG_EVENT(
          "Main Mode from %s dropped: %u half-open SAs from this address "
          "(max_half_open_per_peer %u); %llu dropped",
          remote.ToString().c_str(), it->second, per_peer,
          static_cast<unsigned long long>(dropped_for_peer_cap_));
    return false;
  }
  return true;
}

void SaManager::OnMainMode(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                           ByteView packet) {
  IsakmpSa* sa = FindMainModeSa(h, local, remote, packet);
  if (!sa) {
    LOG_INFO("dropped Main Mode message from %s: unknown cookies %s:%s", remote.ToString().c_str(),
             ToHex(h.icookie).c_str(), ToHex(h.rcookie).c_str());
    return;
  }
  if (HandleDuplicate(*sa, sa->tx, packet)) return;
  if ((h.flags & wire::kFlagEncryption) && !sa->established() && sa->skeyid_pending) {
    sa->queued_packet = Bytes(packet.begin(), packet.end());  // decrypt once SKEYID is here
    sa->queued_local = local;
    sa->queued_remote = remote;
    return;
  }
  ProcessMainMode(*sa, h, local, remote, packet);
}

void SaManager::ProcessMainMode(IsakmpSa& sa, const wire::Header& h, const Endpoint& local,
                                const Endpoint& remote, ByteView packet) {
  auto kind = main_mode::ExpectedMessage(sa);
  if (!kind) return;
  const bool encrypted_expected =
      *kind == wire::MessageKind::kMainMode5 || *kind == wire::MessageKind::kMainMode6;
  if (encrypted_expected != bool(h.flags & wire::kFlagEncryption)) {
    LogLine(LogLevel::kInformation, sa,
            std::string("dropped ") + wire::MessageKindName(*kind) + ": wrong encryption flag");
    return;
  }
  Bytes body(packet.begin() + wire::kHeaderLength, packet.end());
  Bytes next_iv;
  if (encrypted_expected) {
    auto plain = Open(sa, h, packet, sa.iv, &next_iv);
    if (!plain) {
      LogLine(LogLevel::kInformation, sa,
              "dropped message: ciphertext is not a whole number of blocks");
      return;
    }
    body = std::move(*plain);
  }
  auto parsed = wire::ParsePayloads(h.next_payload, body);
  std::optional<wire::ParseError> error;
  if (auto* e = std::get_if<wire::ParseError>(&parsed)) error = *e;
  if (!error) error = wire::ValidatePayloads(*kind, std::get<0>(parsed));
  if (error && !encrypted_expected) {
    LogLine(
        LogLevel::kInformation, sa,
        std::string("dropped malformed ") + wire::MessageKindName(*kind) + ": " + error->detail);
    return;
  }
  if (error) {
    Outcome fail = Outcome::Fail(
        ipc::AUTHENTICATION_FAILED,
        "authentication failed: message " + std::string(wire::MessageKindName(*kind)) + " from " +
            sa.remote.address.ToString() + " does not decrypt (the pre-shared keys differ)",
        wire::NotifyType::kAuthenticationFailed);
    return RejectAuthMessage(sa, *kind, std::move(fail));
  }
  Outcome outcome = main_mode::Receive(sa, std::get<0>(parsed), tools_);
  // Messages 5 and 6 that decrypt but do not verify are treated like those
  // that do not decrypt: the IV chain stays where it was.
  if (encrypted_expected && outcome.failure)
    return RejectAuthMessage(sa, *kind, std::move(outcome));
  if (encrypted_expected) sa.iv = next_iv;
  NoteEndpoints(sa, local, remote);
  // The peer answered: our last message needs no more retransmissions, even
  // if nothing follows it (message 6 ends the exchange for the initiator).
  deps_.timers->Cancel(sa.tx.timer);
  sa.tx.timer = 0;
  ApplyPhase1(sa, std::move(outcome));
}

// Message 5 or 6 that does not decrypt or verify. One forged or corrupted
// packet must not end a negotiation, so the first is dropped and the peer's
// retransmission (which must not count as a duplicate) decides; the second
// means the keys differ, i.e. the pre-shared keys do.
void SaManager::RejectAuthMessage(IsakmpSa& sa, wire::MessageKind kind, Outcome failure) {
  if (++sa.undecryptable < kUndecryptableLimit) {
    sa.tx.last_received_hash = sa.tx.response_to_hash;
    LogLine(LogLevel::kInformation, sa,
            std::string(wire::MessageKindName(kind)) + " rejected (" + failure.failure->reason +
                "); waiting for a retransmission before giving up");
    return;
  }
  ApplyPhase1(sa, std::move(failure));
}

void SaManager::ApplyPhase1(IsakmpSa& sa, Outcome outcome) {
  if (outcome.failure) return FailPhase1(sa, *outcome.failure);
  std::string done_transition;
  if (outcome.phase1_state)
    SetPhase1State(sa, *outcome.phase1_state, outcome.done ? &done_transition : nullptr);
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
    const bool final_message = outcome.done;
    Bytes packet = Seal(sa, wire::ExchangeType::kIdentityProtection, 0, *outcome.send,
                        outcome.encrypt ? &sa.iv : nullptr);
    sa.tx.message_number = MessageNumber(sa, sa.state);
    Transmit(sa, sa.tx, std::move(packet), !final_message,
             [this, handle] { Phase1Timeout(handle); });
  }
  if (outcome.need_skeyid) RequestSkeyid(sa);
  if (outcome.done) Phase1Established(sa, done_transition);
}

void SaManager::NoteEndpoints(IsakmpSa& sa, const Endpoint& local, const Endpoint& remote) {
  if (local.port != nat_traversal::kPort || (sa.local == local && sa.remote == remote)) return;
  LogLine(LogLevel::kInformation, sa, "peer now at " + remote.ToString() + " (NAT-T)");
  sa.local = local;
  sa.remote = remote;
}

void SaManager::RequestSkeyid(IsakmpSa& sa) {
  sa.skeyid_pending = true;
  ipc::SkeyidRequest req;
  req.set_prf(static_cast<db::IkeHash>(sa.suite->attrs.hash));
  req.set_remote_id(sa.remote_id);
  req.set_remote_address(sa.remote.address.ToString());
  req.set_ni(ToString(sa.ni));
  req.set_nr(ToString(sa.nr));
  const uint64_t handle = sa.handle;
  deps_.credentials->RequestSkeyid(req, [this, handle](Result<SecretBytes> skeyid) {
    auto it = sas_.find(handle);
    if (it == sas_.end()) return;  // the negotiation is gone; drop the reply
    IsakmpSa& s = *it->second;
    if (!skeyid)
      return FailPhase1(s, Failure{ipc::UNKNOWN_PEER, skeyid.error().message, std::nullopt});
    ApplyPhase1(s, main_mode::OnSkeyid(s, std::move(skeyid.value())));
    if (sas_.count(handle) && s.queued_packet) {
      Bytes queued = std::move(*s.queued_packet);
      s.queued_packet.reset();
      auto h = wire::ParseHeader(queued);
      if (auto* hdr = std::get_if<wire::Header>(&h))
        ProcessMainMode(s, *hdr, s.queued_local, s.queued_remote, queued);
    }
  });
}

void SaManager::SetPhase1State(IsakmpSa& sa, Phase1State next, std::string* transition) {
  if (sa.state == next) return;
  const char* old_name = Phase1StateName(sa.state);
  sa.state = next;
  std::string text = std::string(old_name) + " -> " + Phase1StateName(next) + " (" +
                     RoleName(sa.role) + ", " + Phase1CiscoName(next) + ")";
  if (transition != nullptr) {
    *transition = std::move(text);
  } else {
    LogLine(LogLevel::kEvents, sa, text);
  }
  ipc::Envelope e;
  auto* sc = e.mutable_state_change();
  sc->set_phase(1);
  sc->set_tunnel(sa.tunnel);
  sc->set_handle(sa.handle);
  sc->set_old_state(old_name);
  sc->set_new_state(Phase1StateName(next));
  sc->set_icookie(ToHex(sa.icookie));
  sc->set_rcookie(ToHex(sa.rcookie));
  sc->set_peer(sa.remote.address.ToString());
  deps_.events->Emit(std::move(e));
}

void SaManager::ReleaseHalfOpen(IsakmpSa& sa) {
  if (!sa.counted_half_open) return;
  sa.counted_half_open = false;
  --half_open_responders_;
  if (auto it = half_open_by_peer_.find(sa.counted_peer); it != half_open_by_peer_.end())
    if (--it->second == 0) half_open_by_peer_.erase(it);
}

void SaManager::Phase1Established(IsakmpSa& sa, const std::string& transition) {
  ReleaseHalfOpen(sa);
  responding_.erase(ResponderKey{CookieValue(sa.icookie), sa.counted_peer});
  deps_.timers->Cancel(sa.deadline_timer);
  sa.established_unix = deps_.clock->UnixNow();
  // The responder keeps message 6 to answer a repeated message 5 until the
  // peer's first Quick Mode shows it arrived; the initiator's message 5 is
  // never needed again.
  if (sa.role == Role::kInitiator) sa.tx.packet = Bytes();
  const auto& s = *sa.suite;
  LogLine(LogLevel::kEvents, sa,
          (transition.empty() ? "" : transition + ": ") + "phase 1 established with " +
              sa.remote_id + " (Main Mode, " + RoleName(sa.role) + ", " + s.EncryptionName() + "/" +
              s.HashName() + "/" + s.GroupName() + ", lifetime " + std::to_string(s.life_seconds) +
              " s)");
  ipc::Envelope e;
  auto* est = e.mutable_phase1_established();
  est->set_tunnel(sa.tunnel);
  est->set_handle(sa.handle);
  est->set_name(sa.name);
  est->set_role(RoleName(sa.role));
  est->set_mode("Main");
  est->set_local_address(sa.local.address.ToString());
  est->set_remote_address(sa.remote.address.ToString());
  est->set_local_id(sa.local_id);
  est->set_remote_id(sa.remote_id);
  est->set_icookie(ToHex(sa.icookie));
  est->set_rcookie(ToHex(sa.rcookie));
  est->set_encryption(s.EncryptionName());
  est->set_hash(s.HashName());
  est->set_auth_method(s.AuthName());
  est->set_dh_group(s.GroupName());
  est->set_lifetime_seconds(s.life_seconds);
  deps_.events->Emit(std::move(e));
  ReleaseNegotiation(sa);
  const uint64_t handle = sa.handle;
  sa.deadline_timer =
      deps_.timers->Schedule(Duration(uint64_t(s.life_seconds) * 1000), [this, handle] {
        auto it = sas_.find(handle);
        if (it == sas_.end()) return;
        LogLine(LogLevel::kEvents, *it->second, "phase 1 lifetime expired; deleting");
        SendInformational(*it->second, {informational::DeleteIsakmpSa(*it->second)});
        ipc::Envelope del;
        auto* d = del.mutable_sa_deleted();
        d->set_phase(1);
        d->set_tunnel(it->second->tunnel);
        d->set_handle(handle);
        d->set_reason("lifetime expired");
        deps_.events->Emit(std::move(del));
        DeleteSa(handle);
      });
}

// What phase 2 needs stays (SKEYID_d, SKEYID_a, the encryption key, the last
// CBC block in |iv|); the rest of the negotiation goes, heap included (memory
// per tunnel, issue 3). Swapping with an empty object frees the capacity that
// clear() would keep.
void SaManager::ReleaseNegotiation(IsakmpSa& sa) {
  sa.dh.reset();
  sa.g_xy = SecretBytes();
  sa.skeyid = SecretBytes();
  sa.keys.skeyid_e = SecretBytes();  // the encryption key is derived from it
  Bytes().swap(sa.g_xi);
  Bytes().swap(sa.g_xr);
  Bytes().swap(sa.ni);
  Bytes().swap(sa.nr);
  Bytes().swap(sa.sai_b);
  sa.queued_packet.reset();
  db::IkeTunnel().Swap(&sa.definition);
  db::IkeProtection().Swap(&sa.protection);
  std::string().swap(sa.local_id);
  std::string().swap(sa.remote_id);
}

void SaManager::FailPhase1(IsakmpSa& sa, const Failure& failure) {
  LogLine(
      LogLevel::kError, sa,
      std::string("phase 1 failed in state ") + Phase1StateName(sa.state) + ": " + failure.reason);
  if (failure.notify) SendPlainNotify(sa, *failure.notify);
  EmitFailure(1, sa.tunnel, sa.handle, failure, Phase1StateName(sa.state));
  DeleteSa(sa.handle);
}

void SaManager::EmitFailure(uint32_t phase, uint32_t tunnel, uint64_t handle,
                            const Failure& failure, const char* state) {
  ipc::Envelope e;
  auto* f = e.mutable_negotiation_failed();
  f->set_phase(phase);
  f->set_tunnel(tunnel);
  f->set_handle(handle);
  f->set_code(failure.code);
  f->set_reason(failure.reason);
  f->set_state(state);
  deps_.events->Emit(std::move(e));
}

void SaManager::Phase1Timeout(uint64_t handle) {
  auto it = sas_.find(handle);
  if (it == sas_.end()) return;
  IsakmpSa& sa = *it->second;
  if (Retransmit(sa, sa.tx, [this, handle] { Phase1Timeout(handle); })) return;
  const std::string peer = sa.remote.address.ToString();
  const int n = sa.tx.message_number;
  const std::string tries = std::to_string(sa.tx.tries);
  std::string reason;
  if (n == 1) {
    reason = "peer " + peer + " not answering: no reply to message 1 after " + tries +
             " tries (is IKE running on the peer and UDP " + std::to_string(ike_port()) +
             " reachable?)";
  } else if (n == 5) {
    reason = "peer " + peer + " not answering message 5 after " + tries +
             " tries: authentication failed on the peer (the pre-shared keys probably differ)";
  } else {
    reason = "peer " + peer + " not answering: no reply to message " + std::to_string(n) +
             " after " + tries + " tries";
  }
  FailPhase1(sa, Failure{ipc::NEGOTIATION_TIMEOUT, reason, std::nullopt});
}

void SaManager::DeleteSa(uint64_t handle) {
  auto it = sas_.find(handle);
  if (it == sas_.end()) return;
  IsakmpSa& sa = *it->second;
  ReleaseHalfOpen(sa);
  deps_.timers->Cancel(sa.tx.timer);
  deps_.timers->Cancel(sa.deadline_timer);
  if (auto ho = half_open_.find(CookieValue(sa.icookie));
      ho != half_open_.end() && ho->second == handle)
    half_open_.erase(ho);
  if (auto r = responding_.find(ResponderKey{CookieValue(sa.icookie), sa.counted_peer});
      r != responding_.end() && r->second == handle)
    responding_.erase(r);
  by_cookies_.erase(Cookies(sa.icookie, sa.rcookie));
  if (auto t = p1_by_tunnel_.find(sa.tunnel); t != p1_by_tunnel_.end() && t->second == handle)
    p1_by_tunnel_.erase(t);
  // Quick Modes still negotiating on this SA cannot finish without it.
  std::vector<uint64_t> orphans;
  for (uint64_t qm_handle : sa.quick_modes)
    if (qms_.at(qm_handle)->state != Phase2State::kDone) orphans.push_back(qm_handle);
  for (uint64_t q : orphans) {
    FailPhase2(sa, *qms_.at(q), Failure{ipc::DELETED, "phase 1 SA was deleted", std::nullopt});
  }
  sas_.erase(it);
}

ipc::Envelope SaManager::Remove(const ipc::RemoveTunnel& request) {
  if (request.phase() == 2) {
    auto it = p2_by_tunnel_.find(request.tunnel());
    if (it == p2_by_tunnel_.end())
      return ipc::MakeError(0, ipc::UNKNOWN_TUNNEL,
                            "no phase 2 tunnel " + std::to_string(request.tunnel()));
    const uint64_t handle = it->second;
    auto& qm = *qms_.at(handle);
    auto parent = sas_.find(qm_parent_.at(handle));
    if (parent != sas_.end() && parent->second->established()) {
      LogLine(LogLevel::kEvents, *parent->second,
              "deleting phase 2 tunnel " + std::to_string(qm.tunnel));
      SendInformational(*parent->second, {informational::DeleteEspSa(qm.spi_in)});
    }
    RemoveQuickMode(handle);
    return ipc::MakeAck(0);
  }
  auto it = p1_by_tunnel_.find(request.tunnel());
  if (it == p1_by_tunnel_.end())
    return ipc::MakeError(0, ipc::UNKNOWN_TUNNEL,
                          "no phase 1 tunnel " + std::to_string(request.tunnel()));
  IsakmpSa& sa = *sas_.at(it->second);
  LogLine(LogLevel::kEvents, sa, "deleting phase 1 tunnel");
  if (sa.established()) SendInformational(sa, {informational::DeleteIsakmpSa(sa)});
  DeleteSa(sa.handle);
  return ipc::MakeAck(0);
}

void SaManager::Shutdown() {
  std::vector<uint64_t> handles;
  for (const auto& [h, sa] : sas_) handles.push_back(h);
  for (uint64_t h : handles) {
    IsakmpSa& sa = *sas_.at(h);
    if (sa.established()) {
      for (uint64_t qh : sa.quick_modes)
        if (qms_.at(qh)->state == Phase2State::kDone)
          SendInformational(sa, {informational::DeleteEspSa(qms_.at(qh)->spi_in)});
      SendInformational(sa, {informational::DeleteIsakmpSa(sa)});
    }
    DeleteSa(h);
  }
}

}  // namespace ike::isakmpd
