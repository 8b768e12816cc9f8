// The legal transitions of each SA kind, as tables, and the counters the
// transition functions keep (SaManager::Transition; iked's sa_stateok()).
// Failure and deletion are states too: kFailed is reachable from every
// negotiating step, kDeleted from every live one; neither is left again.
#pragma once

#include <array>
#include <cstdint>
#include <map>

#include "ike.pb.h"
#include "isakmpd/exchange/steps.h"

namespace ike::isakmpd {

// Pure: true if |from| -> |to| is legal for |role| (a step the role never
// takes is illegal to enter).
bool LegalTransition(Phase1Mode mode, Phase1Step from, Phase1Step to, Role role);
bool LegalTransition(QuickModeStep from, QuickModeStep to, Role role);

// Counters of one SA kind, for introspection (lssrc -l, issue 11.5).
struct KindCounters {
  std::array<uint64_t, 16> entered{};  // per step (index: the enum value)
  uint64_t started = 0;
  uint64_t established = 0;
  uint64_t deleted = 0;
  uint64_t rekeyed = 0;  // established SAs that replaced one (also in |established|)
  uint64_t illegal_transitions = 0;
  std::map<ipc::ErrorCode, uint64_t> failed;  // by reason (tmd's error code)
  uint64_t failed_total() const;
};

// IKE datagrams (lssrc -l): every one OnPacket got, every one sent (each
// fragment, retransmission and plain notify; not NAT keepalives), and those
// dropped without effect, by reason.
struct PacketCounters {
  uint64_t received = 0;
  uint64_t sent = 0;
  std::map<ipc::PacketDrop, uint64_t> dropped;
  uint64_t dropped_total() const;
};

struct SaCounters {
  PacketCounters packets;
  KindCounters isakmp;
  KindCounters ipsec;
  uint64_t bugs = 0;                 // IKE_BUG_IF hits
  uint64_t replays_dropped = 0;      // messages for recently finished message ids
  uint64_t unprotected_ignored = 0;  // unprotected notifies and deletes ignored
  uint64_t dpd_dropped = 0;          // R-U-THERE(-ACK) malformed or replayed
  uint64_t dpd_probes_sent = 0;      // our R-U-THEREs (RFC 3706)
  uint64_t nat_keepalives = 0;       // NAT keepalives sent (RFC 3948 4)
  uint64_t icmp_errors = 0;          // ICMP unreachables for our datagrams
  // IKE fragmentation (issue 10.8): fragments in, dropped (malformed, over a
  // bound, or fragmentation off), messages rebuilt; messages we cut and the
  // fragments they made.
  uint64_t fragments_received = 0;
  uint64_t fragments_dropped = 0;
  uint64_t messages_reassembled = 0;
  uint64_t messages_fragmented = 0;
  uint64_t fragments_sent = 0;
  uint64_t log_lines = 0;  // per-SA lines written (log volume checks)
};

}  // namespace ike::isakmpd
