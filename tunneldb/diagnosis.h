// Why a tunnel is not up, in the administrator's terms (issue 11.3): where
// the negotiation stopped and the likely causes, each with what to check,
// derived from what the daemons saw (the failure kind, the state and message
// reached, the role, the reason). The knowledge of seed 003 (what each
// MM_WAIT_MSG<n> usually means) is here. Pure: ike prints it (cmd=diagnose,
// list verbose) and tmd logs its first cause once per failure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ike.pb.h"

namespace ike::tunneldb {

struct Cause {
  std::string cause;  // "the pre-shared keys differ"
  std::string check;  // "psk.db on both hosts: the key for 192.0.2.2"
};

struct Diagnosis {
  std::string where;  // "WAIT SA (MM_WAIT_MSG2): message 1 sent, no answer"
  std::vector<Cause> causes;
};

// For a tunnel that is not Active (Failed, Dormant, Clear, or still
// Negotiating: then the causes are what to suspect if it stays there).
// Empty |where| for an Active tunnel or a row without a status.
Diagnosis Diagnose(const ipc::Phase1Status& t);
Diagnosis Diagnose(const ipc::Phase2Status& t);

}  // namespace ike::tunneldb
