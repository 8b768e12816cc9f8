// Admission control for phase 1 negotiations (conventions.md "Admission
// control"): at most max_total run at once, and at most max_per_peer towards
// one remote address, so one peer with thousands of tunnels cannot take every
// slot. The rest wait in arrival order; a waiting tunnel starts as soon as
// both limits allow, ahead of every later arrival that the same limits allow.
// Nothing is dropped. Pure bookkeeping: the caller sends the requests.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ike::tmd {

class AdmissionQueue {
 public:
  struct Ticket {
    uint32_t number = 0;  // phase 1 tunnel number
    uint64_t serial = 0;  // tells a reused number's new tunnel from the old
  };
  // Returns false when the ticket is stale (tunnel removed, failed or
  // renumbered meanwhile): it then takes no slot.
  using Starter = std::function<bool(const Ticket&)>;

  // 0 = no limit.
  void SetLimits(size_t max_total, size_t max_per_peer);
  // True: |ticket| may start now and holds a slot until Release. False: it
  // waits; a later Release hands it to the starter.
  bool Admit(const Ticket& ticket, std::string_view peer);
  // Tunnel |number| no longer negotiates (established, failed, removed):
  // frees its slot, if it held one, and starts waiting tickets that fit.
  void Release(uint32_t number, const Starter& start);
  // Starts waiting tickets that fit (after raised limits).
  void Drain(const Starter& start);

  size_t in_flight() const { return running_.size(); }
  size_t queued() const { return queued_; }

 private:
  struct Waiting {
    uint64_t seq;
    Ticket ticket;
  };
  struct Peer {
    std::string address;
    size_t running = 0;
    std::deque<Waiting> waiting;
    uint64_t listed_seq = 0;  // its key in |ready_|; 0 = not listed
  };
  bool Fits(const Peer& p) const;
  // Keeps |ready_| in step with |p|: its oldest waiting ticket is listed
  // while both limits allow it to start.
  void Update(Peer& p);
  void Forget(Peer& p);

  size_t max_total_ = 0;
  size_t max_per_peer_ = 0;
  uint64_t next_seq_ = 1;
  size_t queued_ = 0;
  std::unordered_map<std::string, Peer> peers_;
  std::unordered_map<uint32_t, Peer*> running_;  // number -> its peer
  // (sequence of the peer's oldest waiting ticket, peer): the peers whose
  // next ticket could start if a global slot were free, oldest first.
  std::set<std::pair<uint64_t, Peer*>> ready_;
};

}  // namespace ike::tmd
