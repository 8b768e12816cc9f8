// Engine values to IPC enums (ipc_enums.h).
#include "isakmpd/sa/ipc_enums.h"

#include "isakmpd/exchange/main_mode.h"

namespace ike::isakmpd {

ipc::Role ToIpc(Role role) { return role == Role::kInitiator ? ipc::INITIATOR : ipc::RESPONDER; }

ipc::Phase1State ToIpc(MainModeStep step) {
  switch (step) {
    case MainModeStep::kInit:
      return ipc::PHASE1_INIT;
    case MainModeStep::kSaSent:
      return ipc::PHASE1_WAIT_SA;
    case MainModeStep::kSaAnswered:
      return ipc::PHASE1_WAIT_KE;
    case MainModeStep::kKeSent:
    case MainModeStep::kAwaitSkeyid:
    case MainModeStep::kKeAnswered:
    case MainModeStep::kAuthSent:
      return ipc::PHASE1_IN_KE;
    case MainModeStep::kDone:
      return ipc::PHASE1_DONE;
    case MainModeStep::kFailed:
    case MainModeStep::kDeleted:
      break;
  }
  return ipc::PHASE1_STATE_UNSPECIFIED;
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

uint32_t MessageNumber(MainModeStep step) {
  // The responder reaches kKeAnswered after sending message 4; every other
  // step is named after the message sent on entering it (main_mode.h).
  if (step == MainModeStep::kKeAnswered) return 4;
  return static_cast<uint32_t>(main_mode::MessageSentIn(step));
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
  out->set_encryption_key_bits(static_cast<uint32_t>(suite.enc_key_bytes * 8));
  out->set_integrity(static_cast<db::EspIntegrity>(suite.attrs.auth_algorithm));
}

db::DhGroup PfsGroup(const EspSuite& suite) {
  return suite.pfs_group ? static_cast<db::DhGroup>(*suite.pfs_group) : db::DH_GROUP_NONE;
}

}  // namespace ike::isakmpd
