// Phase 2 rekeying (issue 9.2). A tunnel keeps its number; what changes is
// its SA pair. The kernel sends on the newest outbound SA of the tunnel's
// reqid (net/xfrm/xfrm_state.c: a valid SA that is not dying wins, then the
// latest added), so the order of installation is the switch:
//   1. both ends install the new inbound SA (the initiator on Quick Mode 2,
//      the responder before its message 2: early_inbound.cc); the message
//      that lets the peer send on it (message 3, message 2) leaves when tmd
//      answered the report, so the peer's first packet finds it;
//   2. the responder's new outbound SA goes in with its inbound one; with
//      our own daemon as the initiator, a second later (tmd holds it:
//      kResponderSwitch): that initiator's isakmpd sends message 3 and tmd
//      installs the inbound SA, two processes, and message 3 can be faster;
//   3. the initiator's new outbound SA goes in a second later (isakmpd
//      holds it: Phase2Established.outbound_follows), when the responder
//      has had message 3.
// The replaced pair stays in the kernel until its hard expiry or the peer's
// Delete: what the peer sent on it before switching still arrives.
//
// Collisions (both ends rekey the same pair at once) give two new pairs
// that both ends hold. Between our own daemons (the peer sent our vendor ID)
// both apply one rule: the pair whose larger SPI is smaller is redundant.
// Its outbound SA goes at once (the kernel falls back to the survivor, which
// both ends have), its inbound SA after kRedundantGrace, with a Delete.
// With other peers the older of the two is simply left to expire, as
// strongSwan and OpenBSD isakmpd do: deleting a pair the peer may be
// sending on would lose its traffic.
#include <algorithm>
#include <cinttypes>
#include <memory>

#include "common/log.h"
#include "tmd/core/ipc_helpers.h"
#include "tmd/core/tunnel_manager.h"
#include "tunneldb/names.h"

namespace ike::tmd {
namespace {

// A failed rekey is tried again after 5 s, doubling, at most every 5 min,
// and never when the attempt would start after the hard limit.
constexpr uint64_t kRetryFirstSeconds = 5;
constexpr uint64_t kRetryMaxSeconds = 300;
// How long the redundant pair of a collision keeps its inbound SA: what the
// peer sent on it before it stopped.
constexpr Duration kRedundantGrace = std::chrono::seconds(5);
// A new pair from the peer within this time of our own rekey (at most half
// the lifetime) renews the same pair ours did: a collision.
constexpr uint64_t kCollisionWindowSeconds = 30;
// How long the new outbound SA of the peer's rekey waits (step 2 above), as
// long as isakmpd holds the initiator's (kOutboundSwitchMs).
constexpr Duration kResponderSwitch = std::chrono::seconds(1);

// Keeps the SAs of |e| in |direction| (the others' keys wiped, then removed).
void KeepDirection(ipc::Phase2Established& e, ipc::Direction direction) {
  auto* sas = e.mutable_sa();
  for (int i = sas->size() - 1; i >= 0; --i) {
    if (sas->Get(i).direction() == direction) continue;
    SecureWipe(sas->Mutable(i)->mutable_encryption_key());
    SecureWipe(sas->Mutable(i)->mutable_integrity_key());
    sas->DeleteSubrange(i, 1);
  }
}

// The collision rule both ends apply alike: an SA pair is known to both by
// its two SPIs (one end's inbound is the other's outbound), so a function of
// the unordered pair gives both the same answer.
uint64_t PairRank(uint32_t a, uint32_t b) {
  return (uint64_t{std::max(a, b)} << 32) | std::min(a, b);
}

}  // namespace

uint64_t TunnelManager::SoftLimit(uint64_t hard, ipc::Role role) {
  return RekeySoftLimit(hard, role, *random_);
}

uint64_t RekeySoftLimit(uint64_t hard, ipc::Role role, crypto::Random& random) {
  if (hard == 0) return 0;
  // Per mille of the hard limit: initiator 800-880 rounded down, responder
  // 920-970 rounded up, so the two never meet, whatever the lifetime (the
  // kernel counts whole seconds: with a 15 s lifetime both would otherwise
  // often land on second 13 and collide).
  const bool initiator = role == ipc::INITIATOR;
  const uint64_t low = initiator ? 800 : 920;
  const uint64_t span = initiator ? 80 : 50;
  const uint64_t permille = low + random.NextU32() % (span + 1);
  const uint64_t soft = initiator ? hard * permille / 1000 : (hard * permille + 999) / 1000;
  return std::clamp<uint64_t>(soft, 1, hard > 1 ? hard - 1 : 1);
}

bool TunnelManager::PeerIsAixike(const Phase2Tunnel& t) const {
  const Phase1Tunnel* p1 = phase1_.Find(t.phase1_number);
  return p1 != nullptr && p1->peer_aixike;
}

void TunnelManager::StartRekey(Phase2Tunnel& t, std::string_view why) {
  if (t.status != TunnelStatus::kActive || t.rekeying) return;
  const db::IpsecTunnel* def = database_ ? database_->FindIpsecTunnel(t.name) : nullptr;
  const db::IkeTunnel* ike = def ? database_->FindIkeTunnel(def->ike_tunnel()) : nullptr;
  if (def == nullptr || ike == nullptr) {
    LOG_EVENT(
        "%s: %s; not rekeyed: %s is no longer in the database, the tunnel ends at its hard "
        "limit",
        Tag(t).c_str(), std::string(why).c_str(),
        t.name.empty() ? "its definition" : t.name.c_str());
    return;
  }
  if (timers_ != nullptr) timers_->Cancel(t.retry_timer);
  t.retry_timer = 0;
  t.rekeying = true;
  t.rekey_base = t.handle;
  LOG_EVENT("%s: %s; rekeying (SPIs %s)", Tag(t).c_str(), std::string(why).c_str(),
            SpiPair(t.spi_in, t.spi_out).c_str());
  if (!isakmpd_.connected()) return RekeyFailed(t, "isakmpd is not running");
  // The phase 1 tunnel it was negotiated under, else any live one of its
  // definition, else a new one (IKEv1 has no ISAKMP SA rekey: an expired
  // one is simply negotiated again).
  Phase1Tunnel* p1 = phase1_.Find(t.phase1_number);
  if (p1 == nullptr || p1->name != ike->name() || p1->status == TunnelStatus::kFailed) {
    p1 = LivePhase1(ike->name());
  }
  uint32_t reuse = 0;
  if (p1 != nullptr && p1->status == TunnelStatus::kFailed) {
    reuse = p1->name == ike->name() ? p1->number : 0;  // the Failed row of its definition
    p1 = nullptr;
  }
  if (p1 == nullptr) {
    ipc::ActivateReply ignored;
    const uint32_t n1 = StartPhase1(*ike, reuse, &ignored);
    p1 = phase1_.Find(n1);
    LOG_EVENT("%s: phase 1 tunnel %u negotiated first (no ISAKMP SA with the peer)", Tag(t).c_str(),
              n1);
  }
  t.phase1_number = p1->number;
  if (p1->status == TunnelStatus::kActive && p1->handle != 0) return SendPhase2Request(t, true);
  if (std::find(p1->waiting.begin(), p1->waiting.end(), t.number) == p1->waiting.end()) {
    p1->waiting.push_back(t.number);
  }
}

void TunnelManager::RekeyFailed(Phase2Tunnel& t, const std::string& reason) {
  t.rekeying = false;
  ++t.rekey_failures;
  ++counters_.rekeys_failed;
  const uint64_t now = clock_.UnixNow();
  const uint64_t hard = t.established_unix + t.lifetime_seconds;
  const uint64_t wait = std::min(
      kRetryMaxSeconds, kRetryFirstSeconds << std::min<uint16_t>(t.rekey_failures - 1, 16));
  std::string next;
  if (timers_ != nullptr && now + wait < hard) {
    const uint32_t number = t.number;
    const uint64_t serial = t.serial;
    timers_->Cancel(t.retry_timer);
    t.retry_timer = timers_->Schedule(std::chrono::seconds(wait), [this, number, serial] {
      Phase2Tunnel* again = phase2_.Find(number);
      if (again == nullptr || again->serial != serial) return;
      again->retry_timer = 0;
      StartRekey(*again, "rekey retry");
    });
    t.rekey_unix = now + wait;
    next = "next attempt in " + std::to_string(wait) + " s";
  } else {
    t.rekey_unix = 0;
    next = "no further attempt";
  }
  LOG_ERROR("%s: rekey failed: %s; the current SAs carry on until their hard limit (%" PRIu64
            " s), %s",
            Tag(t).c_str(), reason.c_str(), hard > now ? hard - now : 0, next.c_str());
}

Phase2Tunnel::OldPair* TunnelManager::FindOldPair(Phase2Tunnel& t, uint64_t handle, size_t* index) {
  for (size_t i = 0; i < t.old_pairs.size(); ++i) {
    if (t.old_pairs[i].handle == handle) {
      if (index) *index = i;
      return &t.old_pairs[i];
    }
  }
  return nullptr;
}

Phase2Tunnel::OldPair TunnelManager::CurrentPair(const Phase2Tunnel& t) {
  Phase2Tunnel::OldPair pair;
  pair.handle = t.handle;
  pair.spi_in = t.spi_in;
  pair.spi_out = t.spi_out;
  pair.sas = t.sas;
  pair.sa_count = t.sa_count;
  return pair;
}

void TunnelManager::MakeCurrent(Phase2Tunnel& t, const Phase2Tunnel::OldPair& pair) {
  phase2_by_handle_.erase(t.handle);
  t.handle = pair.handle;
  t.spi_in = pair.spi_in;
  t.spi_out = pair.spi_out;
  t.sas = pair.sas;
  t.sa_count = pair.sa_count;
  phase2_by_handle_[t.handle] = t.number;
}

void TunnelManager::DeleteSas(const Phase2Tunnel& t,
                              const std::array<Phase2Tunnel::InstalledSa, 2>& sas, uint8_t count) {
  for (uint8_t i = 0; i < count; ++i) {
    Status s = DeleteKernelSa(sas[i].destination, sas[i].spi);
    if (!s.ok()) LOG_ERROR("%s: %s", Tag(t).c_str(), s.error().message.c_str());
  }
}

void TunnelManager::RemoveOldPair(Phase2Tunnel& t, size_t index, bool tell_peer) {
  const Phase2Tunnel::OldPair old = t.old_pairs[index];
  t.old_pairs.erase(t.old_pairs.begin() + static_cast<std::ptrdiff_t>(index));
  DeleteSas(t, old.sas, old.sa_count);
  if (!tell_peer || !isakmpd_.connected()) return;
  ipc::Envelope rm;
  rm.mutable_remove_tunnel()->set_phase(2);
  rm.mutable_remove_tunnel()->set_tunnel(t.number);
  rm.mutable_remove_tunnel()->set_handle(old.handle);
  SendToIsakmpd(std::move(rm), 0, 0, 0);
}

void TunnelManager::InstallRekeyedPair(Phase2Tunnel& t, ipc::Phase2Established& e, bool assigned) {
  const bool ours = e.role() == ipc::INITIATOR;
  const uint64_t now = clock_.UnixNow();
  // Which pair the new one renews: ours says so; the peer's renews the one
  // our own rekey renewed if that is in flight or just done, else the
  // current one.
  const uint64_t window = std::min<uint64_t>(kCollisionWindowSeconds, t.lifetime_seconds / 2);
  uint64_t renews = t.handle;
  if (ours || t.rekeying) {
    renews = t.rekey_base;
  } else if (t.current_ours && now < t.established_unix + window) {
    renews = t.predecessor;
  }
  const bool collision = renews != 0 && renews == t.predecessor && renews != t.handle;
  const uint64_t sibling = t.handle;

  // The current pair becomes an old one; the new pair is current.
  const Phase2Tunnel::OldPair old = t.old_pairs.emplace_back(CurrentPair(t));
  Phase2Tunnel::OldPair fresh;
  fresh.handle = e.handle();
  MakeCurrent(t, fresh);
  if (ours) t.rekeying = false;
  if (assigned) {
    const Phase1Tunnel* p1 =
        Phase1ByRef(e.phase1_tunnel(), e.phase1_tunnel() ? 0 : e.phase1_handle());
    if (p1 != nullptr) t.phase1_number = p1->number;
  }
  Keep(&t.role, e.role());
  if (e.lifetime_seconds() != 0) t.lifetime_seconds = e.lifetime_seconds();
  t.lifetime_kbytes = e.lifetime_kbytes();
  // An inbound SA installed before message 3 set the pair's soft limit.
  const uint32_t early_soft = EarlySoftSeconds(e.handle());
  t.soft_seconds =
      early_soft ? early_soft : static_cast<uint32_t>(SoftLimit(t.lifetime_seconds, t.role));
  t.spi_out = e.outbound_follows() ? e.outbound_spi() : 0;
  for (const ipc::ChildSa& sa : e.sa()) {
    (sa.direction() == ipc::INBOUND ? t.spi_in : t.spi_out) = sa.spi();
  }
  if (assigned) SendAssigned(isakmpd_, e.handle(), 2, t.number);
  // The rekey of a peer that is our own daemon: our new outbound SA waits
  // (step 2 above); meanwhile the kernel sends on the previous pair, which the
  // peer still has.
  std::shared_ptr<ipc::Phase2Established> held;
  if (!ours && timers_ != nullptr && e.sa_size() == 2 && PeerIsAixike(t)) {
    held = std::shared_ptr<ipc::Phase2Established>(new ipc::Phase2Established(e),
                                                   [](ipc::Phase2Established* p) {
                                                     WipeKeys(*p);
                                                     delete p;
                                                   });
    KeepDirection(*held, ipc::OUTBOUND);
    KeepDirection(e, ipc::INBOUND);
    if (held->sa_size() != 1) held.reset();  // not one of each: all at once, as before
  }
  Status installed = InstallSas(t, e);
  WipeKeys(e);
  if (!installed.ok()) {
    // The new pair is dropped; the old one carries on as the current pair.
    DeleteSas(t, t.sas, t.sa_count);
    const uint64_t failed = t.handle;
    MakeCurrent(t, old);
    t.old_pairs.pop_back();
    ipc::Envelope rm;
    rm.mutable_remove_tunnel()->set_phase(2);
    rm.mutable_remove_tunnel()->set_tunnel(t.number);
    rm.mutable_remove_tunnel()->set_handle(failed);
    SendToIsakmpd(std::move(rm), 0, 0, 0);
    t.rekeying = true;  // RekeyFailed counts it
    return RekeyFailed(t, "cannot install the new SAs in the kernel: " + installed.error().message);
  }
  t.predecessor = renews;
  t.current_ours = ours;
  ++t.rekey_count;
  ++counters_.phase2.rekeys;
  t.rekey_failures = 0;
  if (timers_ != nullptr) timers_->Cancel(t.retry_timer);
  t.retry_timer = 0;
  t.established_unix = now;
  t.rekey_unix = now + t.soft_seconds;
  t.pfs_group = e.pfs_group();
  LOG_EVENT(
      "%s: rekeyed (%u) as %s: new SPIs %s%s; the previous pair (%s) stays until it "
      "expires or the peer deletes it",
      Tag(t).c_str(), t.rekey_count, tunneldb::RoleName(t.role).c_str(),
      SpiPair(t.spi_in, t.spi_out).c_str(),
      e.outbound_follows() || held ? " (outbound in 1 s)" : "",
      SpiPair(old.spi_in, old.spi_out).c_str());
  if (held) {
    const uint32_t number = t.number;
    const uint64_t serial = t.serial, handle = t.handle;
    timers_->Schedule(kResponderSwitch, [this, number, serial, handle, held] {
      // Not if the pair is no longer current (it lost a collision, or went).
      Phase2Tunnel* tunnel = phase2_.Find(number);
      if (tunnel == nullptr || tunnel->serial != serial || tunnel->handle != handle) return;
      InstallHeldOutbound(*tunnel, *held);
    });
  }
  if (collision) ResolveCollision(t, sibling);
}

void TunnelManager::InstallHeldOutbound(Phase2Tunnel& t, ipc::Phase2Established& e) {
  bool has_out = false;
  for (uint8_t i = 0; i < t.sa_count; ++i) has_out |= !t.sas[i].inbound;
  if (has_out || e.sa_size() != 1 || e.sa(0).direction() != ipc::OUTBOUND) {
    WipeKeys(e);
    return;
  }
  Status installed = InstallSas(t, e);
  WipeKeys(e);
  if (!installed.ok()) {
    // The old outbound SA keeps carrying the traffic until it expires.
    LOG_ERROR("%s: cannot install the new outbound SA: %s", Tag(t).c_str(),
              installed.error().message.c_str());
    return;
  }
  t.spi_out = e.sa(0).spi();
  LOG_EVENT("%s: now sending on the new outbound SA 0x%08x", Tag(t).c_str(), t.spi_out);
}

void TunnelManager::ResolveCollision(Phase2Tunnel& t, uint64_t sibling) {
  size_t index = 0;
  Phase2Tunnel::OldPair* other = FindOldPair(t, sibling, &index);
  if (other == nullptr) return;
  // Its SPIs as both ends know them: its outbound SA may still be held back
  // (our own rekey's, a second after Quick Mode 2), so not from |sas|.
  uint32_t other_in = other->spi_in, other_out = other->spi_out;
  if (!PeerIsAixike(t)) {
    LOG_EVENT(
        "%s: both ends rekeyed at once; the pair %s is kept until it expires (the peer "
        "may still send on it)",
        Tag(t).c_str(), SpiPair(other_in, other_out).c_str());
    return;
  }
  const bool current_loses = PairRank(t.spi_in, t.spi_out) < PairRank(other_in, other_out);
  if (current_loses) {
    // The sibling becomes current again; the new pair is the redundant one.
    const Phase2Tunnel::OldPair loser = CurrentPair(t);
    MakeCurrent(t, *other);
    t.old_pairs[index] = loser;
    other_in = loser.spi_in;
    other_out = loser.spi_out;
  }
  Phase2Tunnel::OldPair& redundant = t.old_pairs[index];
  redundant.redundant = true;
  // Its outbound SA goes now: the kernel then sends on the survivor.
  for (uint8_t i = 0; i < redundant.sa_count;) {
    if (redundant.sas[i].inbound) {
      ++i;
      continue;
    }
    (void)DeleteKernelSa(redundant.sas[i].destination, redundant.sas[i].spi);
    redundant.sas[i] = redundant.sas[--redundant.sa_count];
  }
  LOG_EVENT(
      "%s: both ends rekeyed at once; the pair %s is redundant (the lower SPIs, a rule "
      "both ends apply), the pair %s carries the traffic",
      Tag(t).c_str(), SpiPair(other_in, other_out).c_str(), SpiPair(t.spi_in, t.spi_out).c_str());
  if (timers_ == nullptr) return;
  const uint32_t number = t.number;
  const uint64_t serial = t.serial;
  const uint64_t handle = redundant.handle;
  timers_->Schedule(kRedundantGrace, [this, number, serial, handle] {
    Phase2Tunnel* tunnel = phase2_.Find(number);
    size_t i = 0;
    if (tunnel == nullptr || tunnel->serial != serial || !FindOldPair(*tunnel, handle, &i)) return;
    LOG_EVENT("%s: redundant pair removed, the peer told", Tag(*tunnel).c_str());
    RemoveOldPair(*tunnel, i, true);
  });
}

}  // namespace ike::tmd

namespace ike::tmd {

// ---- phase 1 re-establishment (issue 9.3) ---------------------------------
// IKEv1 has no ISAKMP SA rekey: before the SA expires, a new Main Mode on
// the same tunnel number takes over (isakmpd moves the phase 2 SAs to it and
// deletes the old SA shortly after). Only where something needs it: an
// Active phase 2 tunnel on it, or an autostart definition. The side that
// negotiated the SA starts at 80-88 % of its lifetime, the other at 92-97 %.

bool TunnelManager::NeedsPhase1(const Phase1Tunnel& t) const {
  bool needed = false;
  phase2_.ForEach([&](uint32_t, const Phase2Tunnel& t2) {
    needed |= t2.phase1_number == t.number && t2.status == TunnelStatus::kActive;
  });
  if (needed) return true;
  const db::IkeTunnel* def = database_ ? database_->FindIkeTunnel(t.name) : nullptr;
  return def != nullptr && def->autostart();
}

void TunnelManager::ArmPhase1Soft(Phase1Tunnel& t) {
  if (timers_ == nullptr || t.lifetime_seconds == 0) return;
  timers_->Cancel(t.soft_timer);
  const uint64_t soft = SoftLimit(t.lifetime_seconds, t.role);
  t.rekey_unix = clock_.UnixNow() + soft;
  const uint32_t number = t.number;
  const uint64_t serial = t.serial;
  t.soft_timer = timers_->Schedule(std::chrono::seconds(soft),
                                   [this, number, serial] { ReplacePhase1(number, serial); });
}

void TunnelManager::ReplacePhase1(uint32_t number, uint64_t serial) {
  Phase1Tunnel* t = phase1_.Find(number);
  if (t == nullptr || t->serial != serial) return;
  t->soft_timer = 0;
  if (t->status != TunnelStatus::kActive || t->replacing) return;
  const db::IkeTunnel* def = database_ ? database_->FindIkeTunnel(t->name) : nullptr;
  if (def == nullptr || !NeedsPhase1(*t) || tunneldb::IsDynamicPeer(*def)) {
    t->rekey_unix = 0;
    LOG_EVENT("%s: the ISAKMP SA nears its lifetime; not re-established (%s)", Tag(*t).c_str(),
              def == nullptr ? "its definition is no longer in the database"
              : tunneldb::IsDynamicPeer(*def)
                  ? "the peer has no fixed address: it re-establishes"
                  : "no phase 2 tunnel uses it and it is not autostart");
    return;
  }
  if (!isakmpd_.connected()) return ReplacementFailed(*t, "isakmpd is not running");
  t->replacing = true;
  t->rekey_unix = 0;
  AdmitPhase1(*t, *def);  // a slot, like any Main Mode
}

void TunnelManager::ReplacementFailed(Phase1Tunnel& t, const std::string& reason) {
  t.replacing = false;
  ++counters_.rekeys_failed;
  ReleasePhase1Slot(t.number);
  const uint64_t now = clock_.UnixNow();
  const uint64_t expiry = t.established_unix + t.lifetime_seconds;
  std::string next = "it expires at its lifetime; a phase 2 rekey then negotiates a new one";
  if (timers_ != nullptr && now + kRetryFirstSeconds * 6 < expiry) {
    timers_->Cancel(t.soft_timer);
    const uint32_t number = t.number;
    const uint64_t serial = t.serial;
    t.rekey_unix = now + kRetryFirstSeconds * 6;
    t.soft_timer = timers_->Schedule(std::chrono::seconds(kRetryFirstSeconds * 6),
                                     [this, number, serial] { ReplacePhase1(number, serial); });
    next = "next attempt in " + std::to_string(kRetryFirstSeconds * 6) + " s";
  }
  LOG_ERROR("%s: phase 1 re-establishment failed: %s; the current ISAKMP SA carries on, %s",
            Tag(t).c_str(), reason.c_str(), next.c_str());
}

}  // namespace ike::tmd
