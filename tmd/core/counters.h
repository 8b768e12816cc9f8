// What tmd counts for `lssrc -l -s tmd` (issue 11.5): negotiations by phase
// as tmd sees them (its requests to isakmpd, the peers' negotiations
// isakmpd reports, their outcomes by reason) and the tunnel cache entries it
// installs and removes (AIX ipsecstat's "Tunnel cache entries added /
// expired / deleted"). Counted by TunnelManager; never reset.
#pragma once

#include <cstdint>
#include <map>

#include "ike.pb.h"

namespace ike::tmd {

struct NegotiationCounters {
  // A negotiation counts as started when tmd sends its request (phase 1 or 2
  // request, not a re-establishment or rekey) or when isakmpd first reports
  // a peer's; it then ends once, as a success or a failure, so started =
  // succeeded + failed + in progress.
  uint64_t started = 0;
  uint64_t succeeded = 0;
  std::map<ipc::ErrorCode, uint64_t> failed;  // by reason
  uint64_t rekeys = 0;                        // SAs renewed (re-establishments, rekeyed pairs)
  uint64_t failed_total() const {
    uint64_t n = 0;
    for (const auto& [code, count] : failed) n += count;
    return n;
  }
};

struct TmdCounters {
  NegotiationCounters phase1, phase2;
  uint64_t rekeys_failed = 0;  // re-establishments and rekeys that failed
  uint64_t kernel_sas_added = 0;
  uint64_t kernel_sas_expired = 0;  // the kernel's hard limit
  uint64_t kernel_sas_deleted = 0;  // removed by tmd
};

// The protobuf form for DaemonStatusReply.
void ToProto(const NegotiationCounters& in, ipc::NegotiationCounts* out);

}  // namespace ike::tmd
