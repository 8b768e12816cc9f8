#include "ikecmd/render_fields.h"

#include <cstdio>

#include "tunneldb/names.h"

namespace ike::cmd {

std::string Hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// AES-GCM carries no integrity algorithm: "none" rather than a blank.
std::string IntegrityText(db::EspEncryption encryption, db::EspIntegrity integrity,
                          const std::string& text) {
  if (encryption == db::ESP_AES_GCM_16 && integrity == db::ESP_INTEGRITY_UNSPECIFIED)
    return tunneldb::EspIntegrityName(integrity);
  return Text(integrity, tunneldb::EspIntegrityName, text);
}

// The State field in the vocabulary asked for (issue 11.2): the IBM name,
// or Cisco's as isakmpd's table gave it; "-" where that vocabulary has no
// name for the state (before message 1 for ASA; ASA names no Quick Mode).
std::string StateText(const ipc::Phase1Status& t, db::StateNames names) {
  switch (names) {
    case db::STATE_NAMES_IOS:
      return t.ios_state() ? ipc::IosPhase1State_Name(t.ios_state()) : "-";
    case db::STATE_NAMES_ASA:
      return t.asa_state() ? ipc::AsaPhase1State_Name(t.asa_state()) : "-";
    default:
      return Text(t.phase1_state(), tunneldb::Phase1StateName, t.state());
  }
}
std::string StateText(const ipc::Phase2Status& t, db::StateNames names) {
  switch (names) {
    case db::STATE_NAMES_IOS:
      return t.ios_state() ? ipc::IosPhase2State_Name(t.ios_state()) : "-";
    case db::STATE_NAMES_ASA:
      return "-";
    default:
      return Text(t.phase2_state(), tunneldb::Phase2StateName, t.state());
  }
}

std::string Status(const ipc::Phase1Status& t) {
  return Text(t.tunnel_status(), tunneldb::TunnelStatusName, t.status());
}
std::string Status(const ipc::Phase2Status& t) {
  return Text(t.tunnel_status(), tunneldb::TunnelStatusName, t.status());
}

}  // namespace ike::cmd
