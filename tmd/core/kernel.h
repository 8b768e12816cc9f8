// tmd's view of the kernel: the tunnel cache (IPsec SAs) and the dynamic
// filter table (policies), AIX steps 6 and 7 (aix-ike.md 4.2). Backends: the
// state-only one below (kept in tmd; the default and the one tests use) and,
// later, Linux XFRM over netlink.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/address.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/result.h"
#include "ike.pb.h"
#include "tmd/core/compact.h"
#include "tunneldb.pb.h"

namespace ike::tmd {

enum class Direction { kInbound, kOutbound };
ipc::Direction ToIpc(Direction d);
std::string DirectionName(Direction d);  // "inbound", "outbound" (tunneldb/names.h)

// One ESP SA to install. The keys are borrowed for the duration of the call;
// a backend copies them into the kernel and keeps no copy of its own.
struct SaSpec {
  uint32_t tunnel = 0;  // phase 2 tunnel number
  Direction direction = Direction::kInbound;
  uint32_t spi = 0;
  IpAddress source;
  IpAddress destination;
  db::EspEncryption encryption = db::ESP_ENCRYPTION_UNSPECIFIED;
  uint32_t encryption_key_bits = 0;
  ByteView encryption_key;
  db::EspIntegrity integrity = db::ESP_INTEGRITY_UNSPECIFIED;
  ByteView integrity_key;
  uint32_t lifetime_seconds = 0;
  uint64_t lifetime_kbytes = 0;
  // The soft limits: where the kernel reports the SA as due for a rekey
  // (tmd's choice, with jitter: tmd/core/rekey.cc). 0 = 90 % of the hard one.
  uint32_t soft_seconds = 0;
  uint64_t soft_kbytes = 0;
  uint64_t added_unix = 0;
  uint16_t source_port = 0;  // UDP encapsulation (RFC 3948); 0 = plain ESP
  uint16_t destination_port = 0;
  bool transport = false;  // transport mode (ESP between the endpoints' own IP header and payload)
};

// One permit rule of the dynamic filter table for a phase 2 tunnel.
struct PolicySpec {
  uint32_t tunnel = 0;
  Direction direction = Direction::kOutbound;
  AddressRange source;
  AddressRange destination;
  uint32_t protocol = 0;     // 0 = all
  uint16_t source_port = 0;  // 0 = any (meaningful with TCP, UDP, SCTP)
  uint16_t destination_port = 0;
  uint32_t spi = 0;
  // The SA's outer addresses in this direction (the XFRM template).
  IpAddress outer_source;
  IpAddress outer_destination;
  // A trap (issue 8.3, 8.4; outbound only): no SA is bound to it; a packet
  // that matches it while no tunnel's policy does makes the kernel report
  // an acquire carrying |trap|. The tunnel's own policies, once installed,
  // take precedence over it. |clear_until_up| (negotiation discovery): the
  // packet goes in the clear instead of being dropped.
  uint32_t trap = 0;
  bool clear_until_up = false;
  bool transport = false;  // the SA is in transport mode
};

// What the kernel counted on one SA.
struct SaCounters {
  uint64_t bytes = 0;
  uint64_t packets = 0;
};

// Something the kernel reports on its own (issue 8.3): an SA reached its
// soft lifetime (time to rekey) or its hard one (the kernel deleted it), or
// traffic hit a trap (acquire).
struct KernelEvent {
  enum class Kind : uint8_t { kExpire, kAcquire };
  Kind kind = Kind::kExpire;
  uint32_t tunnel = 0;  // expire: phase 2 tunnel number (from the SA's reqid)
  uint32_t spi = 0;
  IpAddress destination;  // expire: the SA's; acquire: the packet's
  bool hard = false;
  bool by_volume = false;  // the byte limit, not the time limit
  uint32_t trap = 0;       // acquire: PolicySpec::trap of the policy hit
  IpAddress source;        // acquire: the packet's source
};

using KernelEventHandler = std::function<void(const KernelEvent&)>;

// A reserved SPI that no InstallSa used within this time is free again
// (isakmpd gave up on the negotiation it was for).
inline constexpr Duration kSpiReservationLifetime = std::chrono::seconds(60);

class KernelBackend {
 public:
  virtual ~KernelBackend() = default;
  // Reserves an SPI for an inbound SA to |destination| (one of our
  // addresses), issue 7 hole 4.f: never 0 nor 1-255 (reserved by IANA, RFC
  // 4303 2.1), unique among the installed SAs and the other live
  // reservations for |destination|. InstallSa with it consumes the
  // reservation; unused, it lapses after kSpiReservationLifetime. Fails only
  // when no free SPI is found. XFRM: XFRM_MSG_ALLOCSPI, whose larval SA is
  // keyed by |source| (the peer) too; a family-0 |source| means unknown.
  virtual Result<uint32_t> AllocateSpi(const IpAddress& destination, const IpAddress& source,
                                       ipc::IpsecProtocol protocol) = 0;
  // Installs one SA (a tunnel cache entry). Fails if (destination, spi) exists.
  virtual Status InstallSa(const SaSpec& sa) = 0;
  // Deleting an absent SA is not an error (it may have expired).
  virtual Status DeleteSa(const IpAddress& destination, uint32_t spi) = 0;
  // Adds a rule; returns its rule id (unique for the backend's lifetime).
  virtual Result<uint32_t> InstallPolicy(const PolicySpec& policy) = 0;
  virtual Status DeletePolicy(uint32_t rule_id) = 0;
  // Tunnel cache entries sorted by tunnel then direction. Never keys.
  virtual std::vector<ipc::TunnelCacheEntry> ListSas() const = 0;
  // Dynamic filter rules sorted by rule id.
  virtual std::vector<ipc::FilterRule> ListPolicies() const = 0;
  // The kernel's counters of one installed SA; nullopt where the backend
  // has none (state-only) or the SA is gone.
  virtual std::optional<SaCounters> Counters(const IpAddress& destination, uint32_t spi) const {
    (void)destination;
    (void)spi;
    return std::nullopt;
  }
  // Removes everything this backend installed (tmd shutdown).
  virtual void Clear() = 0;
  // A descriptor that becomes readable when the kernel has events, or -1;
  // ReadEvents returns what arrived (never blocks).
  virtual int event_fd() const { return -1; }
  virtual std::vector<KernelEvent> ReadEvents() { return {}; }
  // A backend that keeps its own timers (state-only: the SA lifetimes)
  // reports through |handler| on |timers|' loop; the others ignore it.
  virtual void Attach(Timers& timers, KernelEventHandler handler) {
    (void)timers;
    (void)handler;
  }
};

// Keeps the tunnel cache and the dynamic filter table in memory only (hosts
// where the suite may not change the kernel, and tests).
class StateOnlyKernel : public KernelBackend {
 public:
  // |random| and |clock| are borrowed and must outlive the backend; null
  // means OpenSSL's RAND_bytes and the steady clock.
  explicit StateOnlyKernel(crypto::Random* random = nullptr, const Clock* clock = nullptr);
  ~StateOnlyKernel() override;

  Result<uint32_t> AllocateSpi(const IpAddress& destination, const IpAddress& source,
                               ipc::IpsecProtocol protocol) override;
  Status InstallSa(const SaSpec& sa) override;
  Status DeleteSa(const IpAddress& destination, uint32_t spi) override;
  Result<uint32_t> InstallPolicy(const PolicySpec& policy) override;
  Status DeletePolicy(uint32_t rule_id) override;
  std::vector<ipc::TunnelCacheEntry> ListSas() const override;
  std::vector<ipc::FilterRule> ListPolicies() const override;
  void Clear() override;
  // Soft and hard expiry as the kernel does them: at the soft limit an
  // expire event, at the hard limit the SA is deleted and reported. Without
  // Attach, SAs live until deleted.
  void Attach(Timers& timers, KernelEventHandler handler) override;

  size_t sa_count() const { return sas_.size(); }
  // Reservations not yet installed nor lapsed (as of the last call).
  size_t reservation_count() const { return reserved_.size(); }
  size_t policy_count() const { return policies_.size(); }

 private:
  // An SA is identified by its destination and SPI (RFC 4301 4.1).
  struct SaKey {
    IpAddress destination;
    uint32_t spi = 0;
    bool operator==(const SaKey& o) const = default;
  };
  struct SaKeyHash {
    size_t operator()(const SaKey& k) const;
  };
  // What a tunnel cache entry shows, without the keys: addresses as octets,
  // algorithm names shared (ListSas builds the protobuf rows).
  struct CachedSa {
    uint32_t tunnel = 0;
    Direction direction = Direction::kInbound;
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
    bool transport = false;
    IpAddress source;
    db::EspEncryption encryption = db::ESP_ENCRYPTION_UNSPECIFIED;
    db::EspIntegrity integrity = db::ESP_INTEGRITY_UNSPECIFIED;
    uint32_t encryption_key_bits = 0;
    uint32_t lifetime_seconds = 0;
    uint64_t lifetime_kbytes = 0;
    uint64_t added_unix = 0;
    uint64_t generation = 0;  // tells this SA's expiries from an earlier one's
  };
  // A pending soft or hard expiry; stale once its SA is gone or replaced.
  struct Expiry {
    TimePoint when;
    SaKey key;
    uint64_t generation = 0;
    bool hard = false;
    bool operator>(const Expiry& o) const { return when > o.when; }
  };
  struct Rule {
    uint32_t tunnel = 0;
    Direction direction = Direction::kOutbound;
    uint32_t protocol = 0;
    uint16_t source_port = 0, destination_port = 0;
    uint32_t spi = 0;
    AddressRange source;
    AddressRange destination;
    ipc::FilterAction action = ipc::PERMIT;
  };

  // Drops reservations whose time is up.
  void ExpireReservations();
  void ScheduleExpiry(const SaKey& key, const CachedSa& sa, const SaSpec& spec);
  void ArmExpiryTimer();
  void OnExpiryTimer();

  std::unique_ptr<crypto::Random> own_random_;
  std::unique_ptr<Clock> own_clock_;
  crypto::Random* random_;
  const Clock* clock_;
  std::unordered_map<SaKey, CachedSa, SaKeyHash> sas_;
  // Reserved SPIs -> when they lapse; |expiry_order_| holds the same keys in
  // the order they lapse (one lifetime for all, so FIFO).
  std::unordered_map<SaKey, TimePoint, SaKeyHash> reserved_;
  std::deque<std::pair<TimePoint, SaKey>> expiry_order_;
  std::map<uint32_t, Rule> policies_;
  uint32_t next_rule_id_ = 1;
  Timers* timers_ = nullptr;
  KernelEventHandler on_event_;
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<Expiry>> expiries_;
  TimerId expiry_timer_ = 0;
  TimePoint expiry_timer_at_{};
  uint64_t next_generation_ = 1;
};

}  // namespace ike::tmd
