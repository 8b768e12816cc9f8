// Engine values to IPC enums (ipc_enums.h).
#include "isakmpd/sa/ipc_enums.h"

#include <string_view>

#include "isakmpd/exchange/phase1_exchange.h"
#include "isakmpd/exchange/state_names.h"

namespace ike::isakmpd {

ipc::Role ToIpc(Role role) { return role == Role::kInitiator ? ipc::INITIATOR : ipc::RESPONDER; }

ipc::ExchangeMode ToIpc(Phase1Mode mode) {
  return mode == Phase1Mode::kAggressive ? ipc::AGGRESSIVE : ipc::MAIN;
}

// From the one name table, so the state tmd lists is the one syslog named.
ipc::Phase1State ToIpc(Phase1Mode mode, Phase1Step step, Role role) {
  if (step == Phase1Step::kFailed || step == Phase1Step::kDeleted)
    return ipc::PHASE1_STATE_UNSPECIFIED;
  const std::string_view ibm = Phase1Names(mode, step, role).ibm;
  if (ibm == "INIT") return ipc::PHASE1_INIT;
  if (ibm == "WAIT SA") return ipc::PHASE1_WAIT_SA;
  if (ibm == "WAIT KE") return ipc::PHASE1_WAIT_KE;
  if (ibm == "IN KE") return ipc::PHASE1_IN_KE;
  if (ibm == "DONE") return ipc::PHASE1_DONE;
  return ipc::PHASE1_STATE_UNSPECIFIED;
}

// The value names of these enums are Cisco's names, so the table's text
// parses straight into them ("-" and FAILED/DELETED stay unspecified).
ipc::IosPhase1State IosState(Phase1Mode mode, Phase1Step step, Role role) {
  ipc::IosPhase1State s = ipc::IOS_PHASE1_STATE_UNSPECIFIED;
  ipc::IosPhase1State_Parse(Phase1Names(mode, step, role).cisco, &s);
  return s;
}

ipc::AsaPhase1State AsaState(Phase1Mode mode, Phase1Step step, Role role) {
  ipc::AsaPhase1State s = ipc::ASA_PHASE1_STATE_UNSPECIFIED;
  ipc::AsaPhase1State_Parse(Phase1Names(mode, step, role).asa, &s);
  return s;
}

ipc::IosPhase2State IosState(QuickModeStep step, Role role) {
  ipc::IosPhase2State s = ipc::IOS_PHASE2_STATE_UNSPECIFIED;
  ipc::IosPhase2State_Parse(QuickModeNames(step, role).cisco, &s);
  return s;
}

ipc::Phase2State ToIpc(QuickModeStep step) {
  switch (step) {
    case QuickModeStep::kAwaitSpi:
    case QuickModeStep::kHashSaNonceSent:
      return ipc::PHASE2_INIT;
    case QuickModeStep::kKeyed:
    case QuickModeStep::kHashSaNonceAnswered:
      return ipc::PHASE2_KEP;
    case QuickModeStep::kDone:
      return ipc::PHASE2_DONE;
    case QuickModeStep::kFailed:
    case QuickModeStep::kDeleted:
      break;
  }
  return ipc::PHASE2_STATE_UNSPECIFIED;
}

uint32_t MessageNumber(Phase1Mode mode, Phase1Step step, Role role) {
  return static_cast<uint32_t>(phase1::MessageReached(mode, step, role));
}

uint32_t MessageNumber(QuickModeStep step) {
  switch (step) {
    case QuickModeStep::kAwaitSpi:
      return 0;
    case QuickModeStep::kHashSaNonceSent:
      return 1;
    case QuickModeStep::kKeyed:
    case QuickModeStep::kHashSaNonceAnswered:
      return 2;
    case QuickModeStep::kDone:
      return 3;
    case QuickModeStep::kFailed:
    case QuickModeStep::kDeleted:
      break;
  }
  return 0;
}

void SetSuite(const IkeSuite& suite, ipc::Phase1Established* out) {
  out->set_encryption(static_cast<db::IkeEncryption>(suite.attrs.encryption));
  out->set_key_length(suite.attrs.key_length);
  out->set_hash(static_cast<db::IkeHash>(suite.attrs.hash));
  out->set_auth_method(static_cast<db::AuthMethod>(suite.attrs.auth_method));
  out->set_dh_group(static_cast<db::DhGroup>(suite.group));
}

void SetSuite(const EspSuite& suite, ipc::ChildSa* out) {
  out->set_encryption(static_cast<db::EspEncryption>(suite.attrs.transform_id));
  out->set_encryption_key_bits(suite.KeyBits());
  out->set_integrity(static_cast<db::EspIntegrity>(suite.attrs.auth_algorithm));
}

db::DhGroup PfsGroup(const EspSuite& suite) {
  return suite.pfs_group ? static_cast<db::DhGroup>(*suite.pfs_group) : db::DH_GROUP_NONE;
}

}  // namespace ike::isakmpd
