// Engine values to IPC enums (ipc_enums.h).
#include "isakmpd/sa/ipc_enums.h"

namespace ike::isakmpd {

ipc::Role ToIpc(Role role) { return role == Role::kInitiator ? ipc::INITIATOR : ipc::RESPONDER; }

ipc::Phase1State ToIpc(Phase1State state) {
  switch (state) {
    case Phase1State::kInit:
      return ipc::PHASE1_INIT;
    case Phase1State::kWaitSa:
      return ipc::PHASE1_WAIT_SA;
    case Phase1State::kWaitKe:
      return ipc::PHASE1_WAIT_KE;
    case Phase1State::kInKe:
      return ipc::PHASE1_IN_KE;
    case Phase1State::kDone:
      return ipc::PHASE1_DONE;
  }
  return ipc::PHASE1_STATE_UNSPECIFIED;
}

ipc::Phase2State ToIpc(Phase2State state) {
  switch (state) {
    case Phase2State::kInit:
      return ipc::PHASE2_INIT;
    case Phase2State::kKep:
      return ipc::PHASE2_KEP;
    case Phase2State::kDone:
      return ipc::PHASE2_DONE;
  }
  return ipc::PHASE2_STATE_UNSPECIFIED;
}

uint32_t Phase2MessageNumber(Phase2State state) {
  switch (state) {
    case Phase2State::kInit:
      return 1;
    case Phase2State::kKep:
      return 2;
    case Phase2State::kDone:
      return 3;
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
