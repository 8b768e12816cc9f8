// lssrc -l -s NAME (issue 11.5): AIX's long status. AIX prints the
// subsystem's short line, then whatever the subsystem answers for itself;
// ours answer with typed counters (proto/ike.proto DaemonStatusReply) and
// this renders them as "label: value" lines in groups, as AIX's ipsecstat
// prints its statistics. Pure, so the exact text is unit-tested.
#pragma once

#include <cstdint>
#include <string>

#include "ike.pb.h"

namespace ike::src {

// "12 seconds", "01:02:03" (from a minute on), "2 days 03:04:05".
std::string FormatUptime(uint64_t seconds);
// An ErrorCode or PacketDrop as words: AUTHENTICATION_FAILED ->
// "authentication failed", DROP_UNKNOWN_SA -> "unknown SA".
std::string ReasonName(ipc::ErrorCode code);
std::string DropName(ipc::PacketDrop drop);

// The short table (header and |row|), a blank line, then the daemon's block;
// every line ends in '\n'.
std::string FormatLongStatus(const ipc::SubsystemStatus& row, const ipc::DaemonStatusReply& reply);

}  // namespace ike::src
