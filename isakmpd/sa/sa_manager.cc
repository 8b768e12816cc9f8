// The SA manager's set-up, the requests from tmd and shutdown. Phase 1 is in
// sa_phase1.cc, Quick Mode in sa_phase2.cc, Informational in
// sa_informational.cc, transitions and events in sa_events.cc, transport in
// sa_transport.cc.
#include "isakmpd/sa/sa_manager.h"

#include <cstring>

#include "common/ipc_frame.h"
#include "common/log.h"
#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/informational.h"
#include "isakmpd/sa/bug.h"
#include "isakmpd/wire/fragment.h"

namespace ike::isakmpd {
namespace {

constexpr uint16_t kDefaultPort = 500;

std::optional<Endpoint> MakeEndpoint(const std::string& address, uint16_t port) {
  auto ip = IpAddress::Parse(address);
  if (!ip) return std::nullopt;
  return Endpoint{*ip, port};
}

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

SaManager::SaManager(SaManagerDeps deps)
    : deps_(deps), tools_{*deps.random, deps.dh ? *deps.dh : fresh_dh_} {}
SaManager::~SaManager() = default;

// Indexes the definitions once, so that neither a Main Mode 1 nor a Quick
// Mode 1 scans the whole database (thousands of tunnels, issue 3).
void SaManager::SetDatabase(const db::TunnelDatabase& database) {
  const std::string key_log = database_.settings().ike_key_log();
  database_ = database;
  AnnounceKeyLog(key_log);
  phase1_by_endpoints_.clear();
  phase1_by_remote_id_.clear();
  phase2_by_phase1_.clear();
  for (int i = 0; i < database_.ike_tunnel_size(); ++i) {
    const auto& t = database_.ike_tunnel(i);
    phase1_by_remote_id_[IdentityKey(Phase1IdText(t.remote_id(), t.remote_address()))].push_back(i);
    auto ra = IpAddress::Parse(t.remote_address());
    if (!ra) continue;
    auto la = IpAddress::Parse(t.local_address());
    phase1_by_endpoints_.emplace(EndpointsKey{*ra, la ? *la : IpAddress{}}, i);
  }
  for (int i = 0; i < database_.ipsec_tunnel_size(); ++i)
    phase2_by_phase1_[database_.ipsec_tunnel(i).ike_tunnel()].push_back(i);
}

bool SaManager::NatTraversalOn() const {
  return database_.settings().nat_traversal() != db::NAT_TRAVERSAL_OFF;
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

size_t SaManager::KeyHash::operator()(const CookiePair& k) const { return Mix(k.i, k.r); }
size_t SaManager::KeyHash::operator()(const ResponderKey& k) const {
  return Mix(k.icookie, Fold(k.remote));
}
size_t SaManager::KeyHash::operator()(const MessageKey& k) const { return Mix(k.p1, k.message_id); }
size_t SaManager::KeyHash::operator()(const EndpointsKey& k) const {
  return Mix(Fold(k.remote), Fold(k.local));
}
size_t SaManager::KeyHash::operator()(const IpAddress& a) const { return Mix(Fold(a), 0); }
size_t SaManager::KeyHash::operator()(const PeerSpiKey& k) const {
  return Mix(Fold(k.remote), k.spi);
}

ipc::Envelope SaManager::StartPhase1(const ipc::Phase1Request& request) {
  const auto& def = request.definition();
  // A replacement (issue 9.3) is negotiated beside the established SA,
  // which keeps serving the tunnel until the new one is done.
  IsakmpSa* current = nullptr;
  if (auto it = p1_by_tunnel_.find(request.tunnel()); it != p1_by_tunnel_.end()) {
    current = FindSa(it->second);
    const bool replaceable =
        request.replace() && current && current->established() && !FindSa(current->replacement);
    if (!replaceable)
      return ipc::MakeError(0, ipc::TUNNEL_ACTIVE,
                            "phase 1 tunnel " + std::to_string(request.tunnel()) +
                                (request.replace() ? " is already being re-established"
                                                   : " is already being negotiated or active"));
  }
  if (tunneldb::IsDynamicPeer(def))
    return ipc::MakeError(0, ipc::INVALID_REMOTE_ADDRESS,
                          "phase 1 tunnel '" + def.name() + "' has remote address " +
                              def.remote_address() + " (any): it only answers its peer");
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
  sa->mode =
      request.protection().mode() == db::AGGRESSIVE ? Phase1Mode::kAggressive : Phase1Mode::kMain;
  Phase1Exchange& mm = *sa->exchange;
  mm.definition = def;
  mm.protection = request.protection();
  mm.min_life_seconds = MinLifeSeconds();
  mm.nat_traversal = NatTraversalOn();
  mm.fragmentation = FragmentationSetting() != db::FRAGMENTATION_OFF;
  mm.local_id = Phase1IdText(def.local_id(), def.local_address());
  mm.remote_id = Phase1IdText(def.remote_id(), def.remote_address());
  // The first ISAKMP SA with this peer since we started (or since the last
  // one went): the peer drops what it still holds with us. Never on a
  // re-establishment: the phase 2 SAs it would drop are in use.
  auto live = established_by_name_.find(def.name());
  mm.initial_contact =
      current == nullptr && (live == established_by_name_.end() || live->second.empty());
  deps_.random->Fill(sa->icookie);
  half_open_[CookieValue(sa->icookie)] = sa->handle;
  if (current != nullptr) {
    sa->replaces = current->handle;
    current->replacement = sa->handle;
  } else {
    p1_by_tunnel_[sa->tunnel] = sa->handle;
  }
  LogLine(LogLevel::kEvents, *sa,
          std::string(current ? "re-establishing phase 1: " : "initiating ") +
              Phase1ModeName(sa->mode) + " to " + sa->remote.ToString());
  ApplyPhase1(*sa, phase1::Start(*sa, mm, tools_));
  return ipc::MakeAck(0);
}

void SaManager::AssignTunnel(const ipc::TunnelAssigned& assigned) {
  if (assigned.phase() == 1) {
    IsakmpSa* sa = FindSa(assigned.handle());
    if (!sa) return;
    if (auto old = p1_by_tunnel_.find(sa->tunnel);
        sa->tunnel != 0 && old != p1_by_tunnel_.end() && old->second == sa->handle)
      p1_by_tunnel_.erase(old);  // tmd moved it to the tunnel it re-establishes
    sa->tunnel = assigned.tunnel();
    // The peer re-established the tunnel's ISAKMP SA: the new one takes
    // over its phase 2 SAs (or both ends did so at once).
    if (sa->established()) {
      ServeTunnel(*sa);
    } else {
      p1_by_tunnel_[assigned.tunnel()] = assigned.handle();
    }
  } else {
    IpsecSa* child = FindChild(assigned.handle());
    if (!child) return;
    child->tunnel = assigned.tunnel();
    // tmd gives the peer's rekey the number of the tunnel it renews.
    uint64_t& indexed = p2_by_tunnel_[assigned.tunnel()];
    if (indexed != 0 && indexed != child->handle) {
      child->rekey = true;
      child->replaces = indexed;
    }
    indexed = assigned.handle();
  }
}

void SaManager::OnPacket(const Endpoint& local, const Endpoint& remote, ByteView packet) {
  ++counters_.packets.received;
  DispatchMessage(local, remote, packet);
}

void SaManager::DispatchMessage(const Endpoint& local, const Endpoint& remote, ByteView packet) {
  auto parsed = wire::ParseHeader(packet);
  if (auto* err = std::get_if<wire::ParseError>(&parsed)) {
    LOG_INFO("dropped %zu-octet packet from %s: %s (offset %zu)", packet.size(),
             remote.ToString().c_str(), err->detail.c_str(), err->offset);
    Dropped(ipc::DROP_MALFORMED);
    return;
  }
  const auto& h = std::get<wire::Header>(parsed);
  const ByteView message = packet.first(h.length);
  if (static_cast<uint8_t>(h.next_payload) == wire::kFragmentPayloadType)
    return OnFragment(local, remote, h, message);
  switch (h.exchange) {
    case wire::ExchangeType::kIdentityProtection:
    case wire::ExchangeType::kAggressive:
      return OnPhase1(h, local, remote, message);
    case wire::ExchangeType::kQuickMode:
      return OnQuickMode(h, local, remote, message);
    case wire::ExchangeType::kInformational:
      return OnInformational(h, local, remote, message);
    default:
      LOG_EVENT(
          "%s from %s refused: exchange not supported (phase 1 is Main Mode or Aggressive Mode)",
          wire::ExchangeTypeName(h.exchange), remote.ToString().c_str());
      Dropped(ipc::DROP_UNSUPPORTED_EXCHANGE);
      // A new negotiation (no responder cookie) learns why at once instead
      // of retransmitting into silence (RFC 2408 3.14.1).
      if (std::all_of(h.rcookie.begin(), h.rcookie.end(), [](uint8_t b) { return b == 0; })) {
        Phase1Context reply;  // only the header fields matter for an unprotected notify
        reply.icookie = h.icookie;
        reply.local = local;
        reply.remote = remote;
        SendPlainNotify(reply, wire::NotifyType::kUnsupportedExchangeType);
      }
  }
}

ipc::Envelope SaManager::Remove(const ipc::RemoveTunnel& request) {
  if (request.phase() == 2) {
    const std::string name = "phase 2 tunnel " + std::to_string(request.tunnel());
    if (request.handle() != 0) {  // one pair: rekeyed, or the redundant one of a collision
      // Gone already: the peer's Delete for the same pair (both ends reach
      // its hard limit together) got here first. Nothing left to do.
      IpsecSa* child = FindChild(request.handle());
      if (!child || child->tunnel != request.tunnel()) return ipc::MakeAck(0);
      DeletePair(*child);
      return ipc::MakeAck(0);
    }
    auto it = p2_by_tunnel_.find(request.tunnel());
    if (it == p2_by_tunnel_.end()) return ipc::MakeError(0, ipc::UNKNOWN_TUNNEL, "no " + name);
    const uint64_t handle = it->second;
    IpsecSa* child = FindChild(handle);
    if (IKE_BUG_IF(!child, handle, "phase 2 tunnel without its IPsec SA")) {
      p2_by_tunnel_.erase(it);
      return ipc::MakeAck(0);
    }
    // Every pair of the tunnel: the newest and those it replaced.
    std::vector<uint64_t> pairs;
    if (IsakmpSa* parent = FindSa(child->parent)) {
      for (uint64_t h : parent->children)
        if (const IpsecSa* c = FindChild(h); c && c->tunnel == request.tunnel() && h != handle)
          pairs.push_back(h);
    }
    for (uint64_t h = child->replaces; h != 0;) {  // older pairs under other ISAKMP SAs
      const IpsecSa* c = FindChild(h);
      if (!c || c->tunnel != request.tunnel() || c->replaces >= h) break;
      if (std::find(pairs.begin(), pairs.end(), h) == pairs.end()) pairs.push_back(h);
      h = c->replaces;
    }
    pairs.push_back(handle);
    for (uint64_t h : pairs)
      if (IpsecSa* c = FindChild(h)) DeletePair(*c);
    return ipc::MakeAck(0);
  }
  auto it = p1_by_tunnel_.find(request.tunnel());
  if (it == p1_by_tunnel_.end())
    return ipc::MakeError(0, ipc::UNKNOWN_TUNNEL,
                          "no phase 1 tunnel " + std::to_string(request.tunnel()));
  IsakmpSa* sa = FindSa(it->second);
  if (IKE_BUG_IF(!sa, it->second, "phase 1 tunnel without its ISAKMP SA")) {
    p1_by_tunnel_.erase(it);
    return ipc::MakeAck(0);
  }
  LogLine(LogLevel::kEvents, *sa, "deleting phase 1 tunnel");
  if (sa->established()) SendInformational(*sa, {informational::DeleteIsakmpSa(*sa)});
  DeleteSa(sa->handle);
  return ipc::MakeAck(0);
}

void SaManager::Shutdown() {
  std::vector<uint64_t> handles;
  for (const auto& [h, sa] : sas_) handles.push_back(h);
  for (uint64_t h : handles) {
    IsakmpSa* sa = FindSa(h);
    if (!sa) continue;
    if (sa->established()) {
      for (uint64_t ch : sa->children)
        if (IpsecSa* child = FindChild(ch); child && child->established())
          SendInformational(*sa, {informational::DeleteEspSa(child->spi_in)});
      SendInformational(*sa, {informational::DeleteIsakmpSa(*sa)});
    }
    // Their IPsec SAs go too: the peer was told, and a phase 2 tunnel number
    // left behind would refuse the next activation as "already active".
    const std::vector<uint64_t> children = sa->children;
    for (uint64_t ch : children) RemoveChild(ch, /*deleted=*/true);
    DeleteSa(h);
  }
  // And those whose ISAKMP SA was gone already (they outlive it, RFC 2409).
  std::vector<uint64_t> orphans;
  for (const auto& [h, child] : children_) orphans.push_back(h);
  for (uint64_t h : orphans) RemoveChild(h, /*deleted=*/true);
}

}  // namespace ike::isakmpd
