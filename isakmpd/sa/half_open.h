// Half-open responder SAs (a Main Mode 1 answered, phase 1 not yet
// established), per remote address and in arrival order, and the admission
// decision for each new Main Mode 1 (settings.max_half_open and
// max_half_open_per_peer).
//
// Why: a Main Mode 1 is unauthenticated and its source address is trivially
// spoofed. With a plain cap, 256 spoofed datagrams from a configured peer's
// address fill that peer's slots and its real Main Mode 1 is dropped until
// they time out (~46 s with the full retransmission budget), so a trickle of
// spoofed packets keeps the peer out for ever. Under pressure (a cap
// reached) this table therefore
//   - forgets half-open SAs older than |pressure_lifetime| that have not
//     progressed past Main Mode 2 (the peer never sent message 3), and
//   - if still full, makes room by evicting the oldest such SA (unless it
//     is younger than |eviction_grace|),
// so a new Main Mode 1 gets a slot unless every slot holds an SA whose
// initiator answered message 2 (a spoofer cannot: it never sees our cookie)
// or that arrived within the grace. A legitimate initiator then only has to answer message 2 before
// cap / flood-rate seconds pass (51 ms at 5,000 spoofed datagrams per second
// with the default 256). Spoofed SAs are not worth a log line each: the
// table reports the pressure at most once per |report_interval| with counts.
//
// Pure: no SAs, sockets, timers or logging; the caller passes the time, says
// which SAs progressed, deletes the evicted ones (quietly: no notify, no
// event) and logs the report. Not thread-safe (one event loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/address.h"
#include "common/clock.h"

namespace ike::isakmpd {

class HalfOpenTable {
 public:
  struct Limits {
    uint32_t total = 2048;    // settings.max_half_open
    uint32_t per_peer = 256;  // settings.max_half_open_per_peer
    // Half-open lifetime while a cap is reached (instead of the whole
    // retransmission budget): long enough for a real initiator on a slow
    // path to answer message 2, short against a flood.
    Duration pressure_lifetime = Duration(3000);
    // Never evicted younger than this: a burst of real Main Mode 1s (a
    // gateway's mass reconnect) must not evict itself before its
    // initiators could answer message 2; the excess is dropped and comes
    // back with their retransmissions. Below cap / flood rate (51 ms at
    // 5,000 per second), so a flood still evicts.
    Duration eviction_grace = Duration(20);
    Duration report_interval = Duration(1000);
  };
  struct Admission {
    bool admit = false;
    // Handles the caller deletes quietly; already forgotten here.
    std::vector<uint64_t> evicted;
    // At most once per report_interval while under pressure: one log line.
    std::optional<std::string> report;
  };
  struct Counters {  // since construction
    uint64_t admitted = 0;
    uint64_t evicted = 0;  // oldest not past message 2, to make room
    uint64_t expired = 0;  // older than pressure_lifetime under pressure
    uint64_t dropped = 0;  // every slot past message 2 or within the grace
  };
  // True once the SA |handle| is past Main Mode 2 (message 3 arrived).
  using Progressed = std::function<bool(uint64_t handle)>;

  void SetLimits(const Limits& limits) { limits_ = limits; }
  const Limits& limits() const { return limits_; }

  // Decides on a new Main Mode 1 from |peer| at |now|. If |admit|, the
  // caller creates the SA and calls Add with its handle.
  Admission Admit(const IpAddress& peer, TimePoint now, const Progressed& progressed);
  void Add(const IpAddress& peer, uint64_t handle, TimePoint now);
  // The SA was established or deleted. Unknown handles are ignored.
  void Remove(uint64_t handle);

  size_t total() const { return order_.size(); }
  uint32_t count(const IpAddress& peer) const;
  const Counters& counters() const { return counters_; }

 private:
  struct Entry {
    uint64_t handle;
    IpAddress peer;
    TimePoint arrived;
  };
  using Order = std::list<Entry>;
  using PeerQueue = std::list<Order::iterator>;
  struct Where {
    Order::iterator in_order;
    PeerQueue::iterator in_peer;
  };
  struct AddressHash {
    size_t operator()(const IpAddress& a) const;
  };

  // Makes room in |queue| (one peer's, or every SA when |global|): expires
  // the old, then evicts the oldest unprogressed. Appends to |out|.
  void MakeRoom(const IpAddress& peer, bool global, TimePoint now, const Progressed& progressed,
                std::vector<uint64_t>* out);
  bool Full(const IpAddress& peer, bool global) const;
  void Forget(uint64_t handle);
  std::optional<std::string> Report(const IpAddress& peer, bool global, TimePoint now);

  Limits limits_;
  Order order_;  // every half-open SA, oldest first
  std::unordered_map<IpAddress, PeerQueue, AddressHash> by_peer_;
  std::unordered_map<uint64_t, Where> by_handle_;
  Counters counters_;
  // Counts since the last report, and when it was.
  Counters window_;
  std::optional<TimePoint> last_report_;
  std::optional<TimePoint> window_start_;
};

}  // namespace ike::isakmpd
