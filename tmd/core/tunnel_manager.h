// The tunnel manager: tmd's core. It numbers tunnels (phase 1 and phase 2
// independently, from 1, as AIX does: aix-ike.md 1.4), drives the AIX process
// flow (aix-ike.md 4.2; conventions.md "tmd <-> isakmpd flow"), installs the
// kernel state and answers the ike command. Pure: it talks to isakmpd through
// IsakmpdLink and to the kernel through KernelBackend; no sockets. Time comes
// from the injected Clock and Timers (rekey retries, collision clean-up).
//
// numlist= semantics (a design decision; AIX only says tunnel numbers are made
// on activation): for activate, N is first a live tunnel shown by ike
// cmd=list (re-activation of a Failed tunnel keeps its number); when no live
// tunnel N exists, N is the N-th definition in file order (ipsec_tunnel, or
// ike_tunnel with phase=1), 1-based, so `ike cmd=activate numlist=1` works on
// a fresh system. For remove and list, N is always a live tunnel number.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "ike.pb.h"
#include "tmd/core/admission.h"
#include "tmd/core/compact.h"
#include "tmd/core/counters.h"
#include "tmd/core/kernel.h"
#include "tmd/core/transition.h"
#include "tunneldb/database.h"
#include "tunneldb/diagnosis.h"

namespace ike::tmd {

// The tunnel database is its own library (tunneldb/), shared with isakmpd
// and ikedb.
using tunneldb::Database;
using tunneldb::DatabasePtr;

// tmd's side of the isakmpd connection.
class IsakmpdLink {
 public:
  virtual ~IsakmpdLink() = default;
  virtual bool connected() const = 0;
  // Queues |envelope| (request_id already set by the manager).
  virtual void Send(const ipc::Envelope& envelope) = 0;
};

// Hands out the lowest free number (1, 2, ...), so a fresh start and a
// remove-all both begin again at 1.
class NumberPool {
 public:
  uint32_t Allocate();
  void Release(uint32_t n);

 private:
  std::set<uint32_t> free_;
  uint32_t next_ = 1;
};

// What tmd keeps per tunnel: compact values (compact.h); the protobuf rows
// of ike cmd=list are built from them only when a listing asks.
// States, roles, modes and algorithms are the IPC enums (proto/ike.proto,
// tunneldb.proto); names come from tunneldb/names.h when printed. |status|
// changes only through TunnelManager::Transition.
struct Phase1Tunnel {
  uint32_t number = 0;
  TunnelStatus status = TunnelStatus::kNegotiating;
  uint8_t message = 0;  // Main Mode message number reached, 0 unknown
  // |state| in Cisco's words (ipc::IosPhase1State, AsaPhase1State), as
  // isakmpd's state table gave them (issue 11.2); one octet each.
  uint8_t ios_state = 0, asa_state = 0;
  uint8_t nat_t = 0;  // ipc::NatTraversalVersion, from Phase1Established
  bool nat_local = false, nat_remote = false, peer_dpd = false;
  uint16_t key_length = 0;  // bits
  std::string name;         // the definition's (empty for an unmatched responder)
  ipc::Phase1State state = ipc::PHASE1_INIT;
  ipc::Role role = ipc::ROLE_UNSPECIFIED;
  ipc::ExchangeMode mode = ipc::EXCHANGE_MODE_UNSPECIFIED;
  db::IkeEncryption encryption = db::IKE_ENCRYPTION_UNSPECIFIED;
  db::IkeHash hash = db::IKE_HASH_UNSPECIFIED;
  db::AuthMethod auth_method = db::AUTH_METHOD_UNSPECIFIED;
  db::DhGroup dh_group = db::DH_GROUP_NONE;
  AddressText local_address, remote_address, local_id, remote_id;
  Cookie icookie, rcookie;
  uint32_t lifetime_seconds = 0;
  uint64_t established_unix = 0;
  OptionalText reason;            // why it failed
  uint64_t failed_unix = 0;       // when (issue 11.3: "since when")
  uint64_t state_unix = 0;        // when |state| was entered (negotiating: "since when")
  uint8_t failure = 0;            // ipc::ErrorCode of the failure, for the diagnosis
  OptionalText last_error;        // |reason| once it negotiates again (issue 11.1)
  uint64_t handle = 0;            // isakmpd's id; 0 until known
  uint64_t serial = 0;            // tells a reused number's new tunnel from the old
  std::vector<uint32_t> waiting;  // phase 2 tunnels waiting for this one
  bool peer_aixike = false;       // Phase1Established.peer_aixike
  // Re-establishment (issue 9.3, rekey.cc): before the ISAKMP SA expires a
  // new one takes over, same number.
  bool replacing = false;
  uint32_t rekey_count = 0;
  uint64_t rekey_unix = 0;  // when the next one starts
  TimerId soft_timer = 0;
  // Dead Peer Detection (issue 9.4, dpd.cc): the check every interval, the
  // inbound packets of its phase 2 SAs at the last one, and the probes
  // unanswered since the peer last showed life.
  TimerId dpd_timer = 0;
  uint64_t dpd_inbound = 0;
  uint16_t dpd_unanswered = 0;
  bool dpd_unsupported = false;  // no DPD vendor ID from the peer
  bool counted = false;          // started, outcome not yet counted (counters.h)
};

struct Phase2Tunnel {
  uint32_t number = 0;
  uint32_t phase1_number = 0;
  TunnelStatus status = TunnelStatus::kNegotiating;
  bool phase2_requested = false;
  uint8_t message = 0;      // Quick Mode message number reached, 0 unknown
  uint8_t ios_state = 0;    // |state| in IOS's words (ipc::IosPhase2State)
  uint16_t key_length = 0;  // bits
  std::string name;
  ipc::Phase2State state = ipc::PHASE2_INIT;
  ipc::Role role = ipc::ROLE_UNSPECIFIED;
  db::EspEncryption encryption = db::ESP_ENCRYPTION_UNSPECIFIED;
  db::EspIntegrity integrity = db::ESP_INTEGRITY_UNSPECIFIED;
  db::DhGroup pfs_group = db::DH_GROUP_NONE;
  RangeText local_id, remote_id;  // "first-last"
  uint32_t spi_in = 0;
  uint32_t spi_out = 0;
  uint32_t lifetime_seconds = 0;
  uint64_t established_unix = 0;
  OptionalText reason;
  uint64_t failed_unix = 0;  // when it failed (issue 11.3)
  uint64_t state_unix = 0;   // when |state| was entered
  uint8_t failure = 0;       // ipc::ErrorCode of the failure
  OptionalText last_error;   // as in Phase1Tunnel
  uint64_t handle = 0;
  uint64_t serial = 0;
  // tunnels.db activation; for an on-demand or discovery tunnel that failed,
  // when traffic may start the next attempt (unix seconds).
  db::Activation activation = db::ACTIVATION_UNSPECIFIED;
  uint64_t retry_unix = 0;
  // Installed kernel state, removed with the tunnel: one SA and one filter
  // rule per direction.
  struct InstalledSa {
    IpAddress destination;
    uint32_t spi = 0;
    bool inbound = false;
  };
  std::array<InstalledSa, 2> sas;
  std::array<uint32_t, 2> rules{};
  uint8_t sa_count = 0;
  uint8_t rule_count = 0;

  // Rekeying (issue 9.2; tmd/core/rekey.cc). |handle| and |sas| above are
  // the current pair: the one the kernel sends on. A rekey installs a new
  // pair and keeps the one it replaced in |old_pairs| until that pair's hard
  // expiry or the peer's Delete: its inbound SA still takes what the peer
  // sent before it switched. The policies stay: they name the tunnel's
  // reqid, not an SPI.
  struct OldPair {
    uint64_t handle = 0;
    // Its SPIs, as the pair had them when current: spi_out may be that of an
    // outbound SA still held back (a rekey we started), not yet in |sas|.
    uint32_t spi_in = 0, spi_out = 0;
    std::array<InstalledSa, 2> sas;
    uint8_t sa_count = 0;
    bool redundant = false;  // lost a rekey collision: removed soon
  };
  std::vector<OldPair> old_pairs;
  uint32_t rekey_count = 0;
  uint16_t rekey_failures = 0;  // in a row; spaces out the retries
  bool rekeying = false;        // our rekey is being negotiated
  bool current_ours = false;    // we started the current pair's Quick Mode
  uint64_t rekey_base = 0;      // the pair our rekey replaces
  uint64_t predecessor = 0;     // the pair the current one replaced
  uint64_t rekey_unix = 0;      // the current pair's soft limit
  uint32_t soft_seconds = 0;    // the current pair's, from its installation
  uint64_t lifetime_kbytes = 0;
  TimerId retry_timer = 0;
  bool counted = false;  // started, outcome not yet counted (counters.h)
};

// A tunnel's last failure: what "Last Error" shows once the tunnel
// negotiates again (issue 11.1). An activation replaces a Failed (Dormant,
// Clear) tunnel with a fresh one under the same number; this carries the
// failure over.
struct LastFailure {
  OptionalText text;
  uint64_t unix_time = 0;
  uint8_t failure = 0;
};

// Leaving Failed or Clear: the reason becomes the last error.
template <typename T>
void KeepLastError(T& t) {
  if (!t.reason.empty()) t.last_error = std::move(t.reason);
}
template <typename T>
LastFailure TakeLastFailure(T& t) {
  const bool failed = t.status == TunnelStatus::kFailed || t.status == TunnelStatus::kClear;
  LastFailure f;
  f.text = failed && !t.reason.empty() ? std::move(t.reason) : std::move(t.last_error);
  f.unix_time = t.failed_unix;
  f.failure = t.failure;
  return f;
}
template <typename T>
void GiveLastFailure(LastFailure f, T* t) {
  t->last_error = std::move(f.text);
  t->failed_unix = f.unix_time;
  t->failure = f.failure;
}

// The ike cmd=list rows. |verbose| false: only what the table shows (number,
// status, ids, reason; phase 2 also its phase 1 number).
ipc::Phase1Status Phase1Row(const Phase1Tunnel& t, bool verbose = true);
ipc::Phase2Status Phase2Row(const Phase2Tunnel& t, bool verbose = true);
// The same, filled in place (rows of an arena-allocated reply).
void FillPhase1Row(const Phase1Tunnel& t, bool verbose, ipc::Phase1Status* row);
void FillPhase2Row(const Phase2Tunnel& t, bool verbose, ipc::Phase2Status* row);

// The soft limit (rekey point) of an SA negotiated in |role| with lifetime
// |hard| (seconds or kilobytes): tmd/core/rekey.cc.
uint64_t RekeySoftLimit(uint64_t hard, ipc::Role role, crypto::Random& random);

// Live tunnels by number. Numbers are dense (NumberPool hands out the lowest
// free one), so a vector indexed by number beats a hash map; entries are
// heap nodes, so references stay valid while other tunnels come and go.
template <typename T>
class TunnelTable {
 public:
  T* Find(uint32_t n) { return n >= 1 && n <= slots_.size() ? slots_[n - 1].get() : nullptr; }
  const T* Find(uint32_t n) const {
    return n >= 1 && n <= slots_.size() ? slots_[n - 1].get() : nullptr;
  }
  bool contains(uint32_t n) const { return Find(n) != nullptr; }
  // A fresh T for number |n| (>= 1), replacing any old one.
  T& Create(uint32_t n) {
    if (n > slots_.size()) slots_.resize(n);
    if (!slots_[n - 1]) ++count_;
    slots_[n - 1] = std::make_unique<T>();
    return *slots_[n - 1];
  }
  void Erase(uint32_t n) {
    if (!contains(n)) return;
    slots_[n - 1].reset();
    --count_;
    while (!slots_.empty() && !slots_.back()) slots_.pop_back();
  }
  void Clear() {
    slots_.clear();
    count_ = 0;
  }
  size_t size() const { return count_; }
  // The smallest live number above |n|; 0 when there is none.
  uint32_t NextAfter(uint32_t n) const {
    for (size_t i = n; i < slots_.size(); ++i) {
      if (slots_[i]) return static_cast<uint32_t>(i + 1);
    }
    return 0;
  }
  // Calls fn(number, T&) in ascending order; fn must not add or erase.
  template <typename Fn>
  void ForEach(Fn fn) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i]) fn(static_cast<uint32_t>(i + 1), *slots_[i]);
    }
  }
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i]) fn(static_cast<uint32_t>(i + 1), *slots_[i]);
    }
  }

 private:
  std::vector<std::unique_ptr<T>> slots_;
  size_t count_ = 0;
};

// Where a listing in chunks has got to (TunnelManager::ListChunk).
struct ListCursor {
  uint32_t phase = 1;                    // rows of this phase come next; 3 = done
  uint32_t after = 0;                    // the last number listed in that phase
  std::unordered_set<uint32_t> listed1;  // phase=1+: the phase 1 rows listed
};

class TunnelManager {
 public:
  // |timers| (rekey retries, collision clean-up) and |random| (the rekey
  // jitter) may be null: no retries, OpenSSL's RAND_bytes.
  TunnelManager(KernelBackend& kernel, IsakmpdLink& isakmpd, const Clock& clock,
                Timers* timers = nullptr, crypto::Random* random = nullptr);
  ~TunnelManager();

  // The database in force; a refresh swaps it. Live tunnels keep running.
  void SetDatabase(DatabasePtr database);
  const DatabasePtr& database() const { return database_; }

  // ike command requests. Each returns the reply body (ActivateReply,
  // RemoveReply, ListReply or Error); the caller sets request_id.
  ipc::Envelope Activate(const ipc::ActivateRequest& request);
  ipc::Envelope Remove(const ipc::RemoveRequest& request);
  ipc::Envelope List(const ipc::ListRequest& request) const;
  // isakmpd's AllocateSpi (hole 4.f): an inbound SPI reserved through the
  // kernel interface, as AllocateSpiReply, or Error (BAD_ARGUMENT for an
  // unparsable address or a protocol other than ESP/AH; INTERNAL when no SPI
  // is free).
  ipc::Envelope AllocateSpi(const ipc::AllocateSpi& request);
  // The phase 1 and phase 2 rows of a listing, at most |max_rows| at a time:
  // appends the rows after |cursor| to |out| and advances it. Returns true
  // while more rows follow. Tunnels that come or go between chunks are
  // listed or not, as they are when their turn comes; none twice.
  bool ListChunk(const ipc::ListRequest& request, ListCursor* cursor, size_t max_rows,
                 ipc::ListReply* out) const;
  // A verbose phase 2 row's byte and packet counters, from the kernel.
  void AddCounters(const Phase2Tunnel& t, ipc::Phase2Status* row) const;
  // A verbose phase 1 row's identity types that are not addresses (its definition's).
  void AddIdTypes(const Phase1Tunnel& t, ipc::Phase1Status* row) const;
  // ike cmd=list db: each definition's live tunnel and status, if any.
  void AddDefinitionStatus(ipc::ListReply* reply) const;

  // Everything isakmpd sends on its connection: Ack/Error replies to our
  // requests and the events. Key bytes in Phase2Established are handed to
  // the kernel backend, then overwritten in |envelope|.
  void OnIsakmpdMessage(ipc::Envelope& envelope);
  // An SA's soft or hard expiry reported by the kernel backend.
  void OnKernelEvent(const KernelEvent& e);
  // The same for every message but Phase2Established (whose keys it wipes).
  void OnIsakmpdMessage(const ipc::Envelope& envelope);
  // Negotiations in progress cannot finish: they become Failed, and so do
  // the phase 1 tunnels (their ISAKMP SAs died with isakmpd); the phase 2
  // tunnels stay Active on their kernel SAs.
  void OnIsakmpdDisconnected();
  // isakmpd is back (after the ConfigPush): phase 2 tunnels whose phase 1
  // went are renewed at once (a new phase 1, then a rekey).
  void OnIsakmpdConnected();
  // tmd stop: removes all kernel state tmd installed and forgets the tunnels.
  void Shutdown();

  const Phase1Tunnel* FindPhase1(uint32_t number) const { return phase1_.Find(number); }
  const Phase2Tunnel* FindPhase2(uint32_t number) const { return phase2_.Find(number); }
  size_t phase1_count() const { return phase1_.size(); }
  size_t phase2_count() const { return phase2_.size(); }
  // Status moves done and refused (transition.h).
  const TransitionCounts& transitions() const { return transitions_; }
  // Negotiations and tunnel cache entries counted since start (counters.h).
  const TmdCounters& counters() const { return counters_; }
  // lssrc -l: tunnels by status, the counters, the kernel's SAs (status.cc).
  ipc::TmdStatus LongStatus() const;

 private:
  // One unit of activation: a phase 1 definition and, unless phase=1, one
  // phase 2 definition it carries. reuse_* are live tunnel numbers to
  // re-activate (0 = allocate or find by name).
  struct Target {
    const db::IkeTunnel* ike = nullptr;
    const db::IpsecTunnel* ipsec = nullptr;
    uint32_t reuse1 = 0;
    uint32_t reuse2 = 0;
  };
  struct Rejection {
    ipc::ErrorCode code;
    std::string reason;
  };

  // activate.cc
  bool Select(const ipc::ActivateRequest& request, std::vector<Target>* out,
              Rejection* error) const;
  bool AddByNumber(uint32_t n, uint32_t phase, std::vector<Target>* out, Rejection* error) const;
  void AddIkeTunnel(const db::IkeTunnel& t, uint32_t phase, bool children,
                    std::vector<Target>* out) const;
  void AddIpsecTunnel(const db::IpsecTunnel& t, uint32_t phase, std::vector<Target>* out) const;
  void AddAutostart(uint32_t phase, bool all_if_none, std::vector<Target>* out) const;
  bool StartTarget(const Target& t, ipc::ActivateReply* reply, std::string* refusal);
  uint32_t StartPhase1(const db::IkeTunnel& def, uint32_t reuse, ipc::ActivateReply* reply);
  // |rekey|: a new pair for an Active tunnel (Phase2Request.rekey).
  void SendPhase2Request(Phase2Tunnel& t, bool rekey = false);

  // events.cc
  void OnReply(const ipc::Envelope& envelope);
  void OnStateChange(const ipc::StateChange& e);
  void OnPhase1Established(const ipc::Phase1Established& e);
  void Phase1Replaced(Phase1Tunnel& t, const ipc::Phase1Established& e, bool assign);
  void UpdatePhase1(Phase1Tunnel& t, const ipc::Phase1Established& e);
  void OnPhase2Established(ipc::Phase2Established& e);
  void OnNegotiationFailed(const ipc::NegotiationFailed& e);
  void OnSaDeleted(const ipc::SaDeleted& e);
  Status Install(Phase2Tunnel& t, const ipc::Phase2Established& e);
  Status InstallSas(Phase2Tunnel& t, const ipc::Phase2Established& e);
  Status InstallPolicies(Phase2Tunnel& t, const ipc::Phase2Established& e);
  struct SaLimits {
    uint32_t hard_seconds = 0, soft_seconds = 0;
    uint64_t hard_kbytes = 0, soft_kbytes = 0;
  };
  // One SA into the kernel for tunnel |number| (its reqid).
  Result<Phase2Tunnel::InstalledSa> InstallChildSa(uint32_t number, const ipc::ChildSa& sa,
                                                   const SaLimits& limits);

  // early_inbound.cc: the responder's new inbound SA, installed as Quick
  // Mode message 2 leaves (Phase2Established.before_message3), when it
  // renews a tunnel that is up.
  struct EarlyInbound {
    uint32_t number = 0;
    uint64_t serial = 0;
    Phase2Tunnel::InstalledSa sa;
    uint32_t soft_seconds = 0;  // the soft limit it was installed with
    TimerId timer = 0;
  };
  void InstallEarlyInbound(ipc::Phase2Established& e);
  // True when the early inbound SA of |handle| is |spi| of |t|: it joins
  // |t|'s current pair as installed. Otherwise an early SA of |handle| is
  // deleted, and false.
  bool ClaimEarlyInbound(Phase2Tunnel& t, uint64_t handle, uint32_t spi);
  // The soft limit the early SA of |handle| has, 0 if none: the pair's
  // other SA gets the same.
  uint32_t EarlySoftSeconds(uint64_t handle) const;
  void DropEarlyInbound(uint64_t handle, std::string_view why);
  // Those of tunnel |number| (0: all; tunnel numbers start at 1).
  void DropEarlyInboundOf(uint32_t number, std::string_view why);
  // True for an expiry of an early SA: the kernel deleted it at its hard
  // limit (forgotten); its soft limit changes nothing.
  bool ForgetEarlyInbound(const KernelEvent& e);
  std::unordered_map<uint64_t, EarlyInbound> early_inbound_;

  // rekey.cc (issue 9.2)
  // The soft limit for a pair we negotiated in |role|: the initiator's side
  // falls at 80-88 % of the lifetime, the responder's at 92-97 %, so the
  // side that set the pair up normally renews it and the other waits
  // (OpenBSD isakmpd and strongSwan jitter alike, RFC 2409 leaves it open).
  uint64_t SoftLimit(uint64_t hard, ipc::Role role);
  void StartRekey(Phase2Tunnel& t, std::string_view why);
  void RekeyFailed(Phase2Tunnel& t, const std::string& reason);
  // A Phase2Established for |t| with a new handle: the new pair is the
  // current one from now on.
  void InstallRekeyedPair(Phase2Tunnel& t, ipc::Phase2Established& e, bool assigned);
  void InstallHeldOutbound(Phase2Tunnel& t, ipc::Phase2Established& e);
  // Two pairs renewing the same one: both ends keep the same survivor.
  void ResolveCollision(Phase2Tunnel& t, uint64_t sibling);
  // Removes an old pair from the kernel; |tell_peer|: isakmpd sends the
  // Delete (RemoveTunnel with its handle).
  void RemoveOldPair(Phase2Tunnel& t, size_t index, bool tell_peer);
  Phase2Tunnel::OldPair* FindOldPair(Phase2Tunnel& t, uint64_t handle, size_t* index);
  // The current pair as an OldPair, and the reverse: |pair| becomes the
  // current one (handle index included). Nothing is installed or deleted.
  static Phase2Tunnel::OldPair CurrentPair(const Phase2Tunnel& t);
  void MakeCurrent(Phase2Tunnel& t, const Phase2Tunnel::OldPair& pair);
  // Deletes |count| installed SAs from the kernel (errors logged).
  void DeleteSas(const Phase2Tunnel& t, const std::array<Phase2Tunnel::InstalledSa, 2>& sas,
                 uint8_t count);
  bool PeerIsAixike(const Phase2Tunnel& t) const;
  // Phase 1: the soft limit's timer, the new Main Mode, its outcome.
  void ArmPhase1Soft(Phase1Tunnel& t);
  void ReplacePhase1(uint32_t number, uint64_t serial);
  void ReplacementFailed(Phase1Tunnel& t, const std::string& reason);
  bool NeedsPhase1(const Phase1Tunnel& t) const;
  void OnPairExpired(Phase2Tunnel& t, const KernelEvent& e);
  // |code|: the reason counted (counters.h).
  void FailPhase1(Phase1Tunnel& t, const std::string& reason, ipc::ErrorCode code = ipc::INTERNAL);
  static void LogLikelyCause(const std::string& tag, const tunneldb::Diagnosis& d);
  void FailPhase2(Phase2Tunnel& t, const std::string& reason, ipc::ErrorCode code = ipc::INTERNAL);

  // tunnel_manager.cc
  // The one way a tunnel's status changes: false (logged "cannot switch A
  // -> B" with |why|, and counted) when transition.h does not allow it.
  bool Transition(Phase1Tunnel& t, TunnelStatus next, std::string_view why);
  bool Transition(Phase2Tunnel& t, TunnelStatus next, std::string_view why);
  template <typename T>
  bool Move(T& t, TunnelStatus next, std::string_view why);
  Phase1Tunnel* Phase1ByRef(uint32_t number, uint64_t handle);
  Phase2Tunnel* Phase2ByRef(uint32_t number, uint64_t handle);
  Phase1Tunnel* LivePhase1(std::string_view name);
  Phase2Tunnel* LivePhase2(std::string_view name);
  // The name indexes point into the tunnels' own |name|: set names only here.
  void SetName(Phase1Tunnel& t, std::string_view name);
  void SetName(Phase2Tunnel& t, std::string_view name);
  // "tunnel N phase P peer X cookies I:R", the prefix of every log line.
  std::string Tag(const Phase1Tunnel& t) const;
  Phase1Tunnel* AdoptResponderPhase1(const ipc::StateChange& e);
  std::string Tag(const Phase2Tunnel& t) const;
  void Uninstall(Phase2Tunnel& t);
  void ErasePhase1(uint32_t number);
  void ErasePhase2(uint32_t number);
  // Sends a request; its Ack/Error reply is matched to (phase, number,
  // serial). phase 0: nothing to update on the reply.
  uint64_t SendToIsakmpd(ipc::Envelope envelope, uint32_t phase, uint32_t number, uint64_t serial,
                         bool rekey = false);

  // traps.cc: on-demand activation and negotiation discovery (issue 8.3,
  // 8.4). A definition with activation ON_DEMAND or DISCOVERY has a trap in
  // the kernel while it is in the database; its tunnel is listed Dormant
  // until traffic hits the trap.
  struct Trap {
    uint32_t id = 0;
    std::string name;       // the ipsec_tunnel definition
    std::string signature;  // what the trap was built from (a refresh that changes it re-arms)
    bool clear = false;     // DISCOVERY: traffic passes in the clear without the tunnel
    uint32_t rule = 0;      // the kernel's filter rule
    uint32_t failures = 0;  // negotiations failed in a row
    uint64_t retry_unix = 0;
    // Armed for a manual definition when DPD declared its peer dead (action
    // hold, dpd.cc): disarmed once the tunnel is up again; kept by refresh.
    bool held = false;
  };
  // Arms the traps the database asks for, re-arms changed ones, disarms
  // the rest (SetDatabase).
  void ArmTraps();
  void Arm(const db::IpsecTunnel& def, const db::IkeTunnel& ike, std::string signature);
  void Disarm(uint32_t id);
  Trap* TrapOf(std::string_view name);
  // The Dormant row of an armed trap that has no live tunnel.
  void MakeDormant(const Trap& trap);
  void OnAcquire(const KernelEvent& e);
  // A trap tunnel's negotiation failed: back-off, and for discovery the
  // Clear status. False when |t| has no armed trap.
  bool FailTrapTunnel(Phase2Tunnel& t, const std::string& reason);
  std::map<uint32_t, Trap> traps_;
  std::unordered_map<std::string, uint32_t> trap_by_name_;
  uint32_t next_trap_id_ = 1;

  // dpd.cc: Dead Peer Detection (issue 9.4)
  const db::DeadPeerDetection* DpdOf(const Phase1Tunnel& t) const;
  void AddDpd(const Phase1Tunnel& t, ipc::Phase1Status* row) const;
  std::vector<uint32_t> ChildrenOf(const Phase1Tunnel& t);
  uint64_t InboundPackets(const Phase1Tunnel& t);
  void StartDpd(Phase1Tunnel& t);
  void StopDpd(Phase1Tunnel& t);
  void DpdTick(uint32_t number, uint64_t serial);
  void PeerAlive(Phase1Tunnel& t, const char* how);
  void OnDpdReport(const ipc::DpdReport& report);
  void PeerDead(Phase1Tunnel& t, const db::DeadPeerDetection& dpd);
  void HoldWithTrap(const std::string& name, const db::IkeTunnel& ike, const std::string& reason);
  void ReleaseHeldTrap(const std::string& name);
  void RestartAfterDpd(const std::string& name);
  // Schedules the next try; the text says when ("" if none is scheduled).
  std::string DpdRestartFailed(const std::string& name, const std::string& reason);
  struct DpdRestart {
    uint32_t failures = 0;
    TimerId timer = 0;
  };
  // Phase 1 definitions whose peer DPD declared dead, action restart.
  std::unordered_map<std::string, DpdRestart> dpd_restarts_;

  // remove.cc
  Status CollectRemovals(const ipc::RemoveRequest& r, std::set<uint32_t>* p1,
                         std::set<uint32_t>* p2, ipc::ErrorCode* code) const;

  KernelBackend& kernel_;
  IsakmpdLink& isakmpd_;
  TransitionCounts transitions_;
  TmdCounters counters_;
  // status.cc: the one place a negotiation's start and end are counted
  // (each tunnel's |counted| makes the end count once).
  // |failure| OK: it succeeded.
  void CountStarted(Phase1Tunnel& t);
  void CountStarted(Phase2Tunnel& t);
  void CountEnded(Phase1Tunnel& t, ipc::ErrorCode failure);
  void CountEnded(Phase2Tunnel& t, ipc::ErrorCode failure);
  // kernel_.DeleteSa, counted.
  Status DeleteKernelSa(const IpAddress& destination, uint32_t spi);
  const Clock& clock_;
  Timers* timers_;
  std::unique_ptr<crypto::Random> own_random_;
  crypto::Random* random_;
  DatabasePtr database_;

  TunnelTable<Phase1Tunnel> phase1_;
  TunnelTable<Phase2Tunnel> phase2_;
  std::unordered_map<uint64_t, uint32_t> phase1_by_handle_;
  std::unordered_map<uint64_t, uint32_t> phase2_by_handle_;
  // Definition name -> the live tunnel started for it (latest). The key
  // views that tunnel's own name (SetName), so no second copy is kept.
  std::unordered_map<std::string_view, uint32_t> phase1_by_name_;
  std::unordered_map<std::string_view, uint32_t> phase2_by_name_;
  NumberPool phase1_numbers_;
  NumberPool phase2_numbers_;
  struct Pending {
    uint32_t phase;
    uint32_t number;
    uint64_t serial;
    bool rekey = false;
  };
  // request_id of an outstanding request to isakmpd.
  std::unordered_map<uint64_t, Pending> pending_;
  uint64_t next_request_id_ = 1;
  uint64_t next_serial_ = 1;

  // Admission control (settings.max_negotiations, max_negotiations_per_peer):
  // a burst of activations is queued, oldest first, instead of flooding
  // isakmpd and the peers.
  void AdmitPhase1(Phase1Tunnel& t, const db::IkeTunnel& def);
  void SendPhase1Request(Phase1Tunnel& t, const db::IkeTunnel& def);
  // A queued ticket's turn: false when it is stale.
  bool StartQueuedPhase1(const AdmissionQueue::Ticket& ticket);
  void ReleasePhase1Slot(uint32_t number);
  void UpdateAdmissionLimits();
  AdmissionQueue admission_;

 public:
  size_t phase1_in_flight() const { return admission_.in_flight(); }
  size_t phase1_queued() const { return admission_.queued(); }
};

}  // namespace ike::tmd
