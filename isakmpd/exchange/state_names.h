// The names operators see for each exchange step, by role and mode, in one
// pure table (no other code names states):
//   - IBM/AIX (ike cmd=list, syslog): INIT, WAIT SA, WAIT KE, IN KE, DONE;
//     phase 2 INIT, KEP, DONE.
//   - Cisco IOS (show crypto isakmp sa): MM_NO_STATE, MM_SA_SETUP,
//     MM_KEY_EXCH, MM_KEY_AUTH, QM_IDLE; AG_NO_STATE, AG_INIT_EXCH, AG_AUTH.
//   - Cisco ASA (show crypto isakmp sa): MM_WAIT_MSG2 .. MM_WAIT_MSG6,
//     MM_ACTIVE; AM_WAIT_MSG2, AM_WAIT_MSG3, AM_ACTIVE.
// Failed and deleted SAs have names too ("FAILED", "DELETED") so a log line
// can name every transition; tmd learns of them through NegotiationFailed
// and SaDeleted, not StateChange.
#pragma once

#include "isakmpd/exchange/steps.h"

namespace ike::isakmpd {

struct StateNames {
  const char* ibm;    // "WAIT SA"
  const char* cisco;  // "MM_SA_SETUP"
  const char* asa;    // "MM_WAIT_MSG3"
};

StateNames Phase1Names(Phase1Mode mode, Phase1Step step, Role role);
StateNames MainModeNames(Phase1Step step, Role role);
StateNames AggressiveModeNames(Phase1Step step, Role role);
StateNames QuickModeNames(QuickModeStep step, Role role);

}  // namespace ike::isakmpd
