// The state-only kernel backend: tunnel cache and dynamic filter table kept
// in tmd's memory. Keys are accepted and dropped: nothing here stores them.
#include "tmd/core/kernel.h"

#include <algorithm>
#include <tuple>

#include "tunneldb/names.h"

namespace ike::tmd {
namespace {

class SteadyClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  uint64_t UnixNow() const override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }
};

// RFC 4303 2.1: SPIs 1-255 are reserved by IANA, 0 is for local use.
constexpr uint32_t kFirstSpi = 256;
// Draws before AllocateSpi gives up: with 2^32 - 256 values even millions of
// live SAs leave a draw almost always free; the bound only stops a broken
// random source from hanging tmd.
constexpr int kSpiDraws = 1000;

}  // namespace

ipc::Direction ToIpc(Direction d) {
  return d == Direction::kInbound ? ipc::INBOUND : ipc::OUTBOUND;
}

std::string DirectionName(Direction d) { return tunneldb::DirectionName(ToIpc(d)); }

StateOnlyKernel::StateOnlyKernel(crypto::Random* random, const Clock* clock)
    : own_random_(random ? nullptr : std::make_unique<crypto::OpenSslRandom>()),
      own_clock_(clock ? nullptr : std::make_unique<SteadyClock>()),
      random_(random ? random : own_random_.get()),
      clock_(clock ? clock : own_clock_.get()) {}

StateOnlyKernel::~StateOnlyKernel() = default;

void StateOnlyKernel::ExpireReservations() {
  const TimePoint now = clock_->Now();
  while (!expiry_order_.empty() && expiry_order_.front().first <= now) {
    auto it = reserved_.find(expiry_order_.front().second);
    // A consumed or re-reserved SPI has another (or no) entry by now.
    if (it != reserved_.end() && it->second == expiry_order_.front().first) reserved_.erase(it);
    expiry_order_.pop_front();
  }
}

// The protocol does not widen the check: an SPI is unique per destination
// whatever the protocol, as the kernel's SA lookup keys on (daddr, spi,
// proto) but tmd's tables key on (destination, spi) alone.
Result<uint32_t> StateOnlyKernel::AllocateSpi(const IpAddress& destination, const IpAddress&,
                                              ipc::IpsecProtocol protocol) {
  ExpireReservations();
  for (int i = 0; i < kSpiDraws; ++i) {
    const uint32_t spi = random_->NextU32();
    if (spi < kFirstSpi) continue;
    const SaKey key{destination, spi};
    if (sas_.contains(key) || reserved_.contains(key)) continue;
    const TimePoint until = clock_->Now() + kSpiReservationLifetime;
    reserved_.emplace(key, until);
    expiry_order_.emplace_back(until, key);
    return spi;
  }
  return Error{"no free " + tunneldb::IpsecProtocolName(protocol) + " SPI for " +
               destination.ToString() + " after " + std::to_string(kSpiDraws) + " draws"};
}

size_t StateOnlyKernel::SaKeyHash::operator()(const SaKey& k) const {
  // FNV-1a over the octets and the SPI: cheap, and SPIs are random anyway.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  for (uint8_t b : k.destination.octets) mix(b);
  for (int i = 0; i < 4; ++i) mix(static_cast<uint8_t>(k.spi >> (8 * i)));
  return static_cast<size_t>(h);
}

Status StateOnlyKernel::InstallSa(const SaSpec& sa) {
  const SaKey key{sa.destination, sa.spi};
  if (sas_.contains(key)) {
    return Error{"tunnel cache already holds SPI " + std::to_string(sa.spi) + " to " +
                 sa.destination.ToString()};
  }
  // The SA that a reservation was for: the SPI is taken for good now.
  reserved_.erase(key);
  CachedSa e;
  e.tunnel = sa.tunnel;
  e.direction = sa.direction;
  e.source_port = sa.source_port;
  e.destination_port = sa.destination_port;
  e.transport = sa.transport;
  e.source = sa.source;
  e.encryption = sa.encryption;
  e.integrity = sa.integrity;
  e.encryption_key_bits = sa.encryption_key_bits;
  e.lifetime_seconds = sa.lifetime_seconds;
  e.lifetime_kbytes = sa.lifetime_kbytes;
  e.added_unix = sa.added_unix;
  e.generation = next_generation_++;
  auto [it, inserted] = sas_.emplace(key, e);
  ScheduleExpiry(key, it->second, sa);
  return Status::Ok();
}

void StateOnlyKernel::Attach(Timers& timers, KernelEventHandler handler) {
  timers_ = &timers;
  on_event_ = std::move(handler);
}

// The kernel's semantics (XFRM add_expires_seconds): soft and hard counted
// from the installation. Volume limits are not counted here: no traffic.
void StateOnlyKernel::ScheduleExpiry(const SaKey& key, const CachedSa& sa, const SaSpec& spec) {
  if (timers_ == nullptr || spec.lifetime_seconds == 0) return;
  const uint32_t soft = spec.soft_seconds != 0 && spec.soft_seconds < spec.lifetime_seconds
                            ? spec.soft_seconds
                            : spec.lifetime_seconds - spec.lifetime_seconds / 10;
  const TimePoint now = clock_->Now();
  expiries_.push({now + std::chrono::seconds(soft), key, sa.generation, false});
  expiries_.push({now + std::chrono::seconds(spec.lifetime_seconds), key, sa.generation, true});
  ArmExpiryTimer();
}

void StateOnlyKernel::ArmExpiryTimer() {
  if (expiries_.empty()) return;
  const TimePoint due = expiries_.top().when;
  if (expiry_timer_ != 0 && expiry_timer_at_ <= due) return;
  if (expiry_timer_ != 0) timers_->Cancel(expiry_timer_);
  // Rounded up: a timer that fires before |due| finds nothing, and one of
  // 0 ms each turn of the loop until then was a busy wait.
  const auto delay = std::chrono::ceil<Duration>(due - clock_->Now());
  expiry_timer_at_ = due;
  expiry_timer_ = timers_->Schedule(std::max(delay, Duration(0)), [this] { OnExpiryTimer(); });
}

void StateOnlyKernel::OnExpiryTimer() {
  expiry_timer_ = 0;
  const TimePoint now = clock_->Now();
  std::vector<KernelEvent> events;
  while (!expiries_.empty() && expiries_.top().when <= now) {
    const Expiry x = expiries_.top();
    expiries_.pop();
    auto it = sas_.find(x.key);
    if (it == sas_.end() || it->second.generation != x.generation) continue;  // deleted meanwhile
    KernelEvent& e = events.emplace_back();
    e.kind = KernelEvent::Kind::kExpire;
    e.tunnel = it->second.tunnel;
    e.spi = x.key.spi;
    e.destination = x.key.destination;
    e.hard = x.hard;
    if (x.hard) sas_.erase(it);  // as the kernel does at the hard limit
  }
  ArmExpiryTimer();
  // Reported last: the handler changes the tables.
  for (const KernelEvent& e : events)
    if (on_event_) on_event_(e);
}

Status StateOnlyKernel::DeleteSa(const IpAddress& destination, uint32_t spi) {
  sas_.erase(SaKey{destination, spi});
  return Status::Ok();
}

Result<uint32_t> StateOnlyKernel::InstallPolicy(const PolicySpec& p) {
  const uint32_t id = next_rule_id_++;
  // Ids only grow: the new rule goes at the end of the ordered map.
  const ipc::FilterAction action =
      p.trap == 0 ? ipc::PERMIT : (p.clear_until_up ? ipc::TRAP_CLEAR : ipc::TRAP);
  policies_.emplace_hint(policies_.end(), id,
                         Rule{p.tunnel, p.direction, p.protocol, p.source_port, p.destination_port,
                              p.spi, p.source, p.destination, action});
  return id;
}

Status StateOnlyKernel::DeletePolicy(uint32_t rule_id) {
  policies_.erase(rule_id);
  return Status::Ok();
}

std::vector<ipc::TunnelCacheEntry> StateOnlyKernel::ListSas() const {
  std::vector<std::pair<const SaKey*, const CachedSa*>> order;
  order.reserve(sas_.size());
  for (const auto& [key, e] : sas_) order.emplace_back(&key, &e);
  // Inbound before outbound within a tunnel, like the filter rules.
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(a.second->tunnel, a.second->direction, a.first->spi) <
           std::make_tuple(b.second->tunnel, b.second->direction, b.first->spi);
  });
  std::vector<ipc::TunnelCacheEntry> out;
  out.reserve(order.size());
  for (const auto& [key, sa] : order) {
    ipc::TunnelCacheEntry& e = out.emplace_back();
    e.set_tunnel(sa->tunnel);
    e.set_spi(key->spi);
    e.set_sa_direction(ToIpc(sa->direction));
    e.set_source(sa->source.ToString());
    e.set_destination(key->destination.ToString());
    e.set_ipsec_protocol(ipc::PROTO_ESP);
    e.set_encapsulation(sa->transport ? (sa->source_port ? ipc::UDP_TRANSPORT : ipc::TRANSPORT)
                                      : (sa->source_port ? ipc::UDP_TUNNEL : ipc::TUNNEL));
    e.set_source_port(sa->source_port);
    e.set_destination_port(sa->destination_port);
    e.set_encryption_alg(sa->encryption);
    e.set_encryption_key_bits(sa->encryption_key_bits);
    e.set_integrity_alg(sa->integrity);
    e.set_lifetime_seconds(sa->lifetime_seconds);
    e.set_lifetime_kbytes(sa->lifetime_kbytes);
    e.set_added_unix(sa->added_unix);
  }
  return out;
}

std::vector<ipc::FilterRule> StateOnlyKernel::ListPolicies() const {
  std::vector<ipc::FilterRule> out;
  out.reserve(policies_.size());
  for (const auto& [id, rule] : policies_) {
    ipc::FilterRule& r = out.emplace_back();
    r.set_id(id);
    r.set_tunnel(rule.tunnel);
    r.set_rule_action(rule.action);
    r.set_rule_direction(ToIpc(rule.direction));
    r.set_source(rule.source.ToString());
    r.set_destination(rule.destination.ToString());
    r.set_protocol(rule.protocol);
    r.set_source_port(rule.source_port);
    r.set_destination_port(rule.destination_port);
    r.set_spi(rule.spi);
  }
  return out;
}

void StateOnlyKernel::Clear() {
  sas_.clear();
  expiries_ = {};
  policies_.clear();
  reserved_.clear();
  expiry_order_.clear();
}

}  // namespace ike::tmd
