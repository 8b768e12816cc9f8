// The text of one field of a list row, shared by the verbose blocks and the
// JSON document (render.cc, render_json.cc): enums through the one name
// table (tunneldb/names.h), or the text an older tmd sent.
#pragma once

#include <cstdint>
#include <string>

#include "ike.pb.h"

namespace ike::cmd {

// A row field: the enum through the one name table, or, from an older tmd
// that sent text, the text.
template <typename E>
std::string Text(E value, std::string (*name)(E), const std::string& text) {
  return value ? name(value) : text;
}

std::string Hex(uint32_t v);  // "0x0000abcd"
// AES-GCM carries no integrity algorithm: "none" rather than a blank.
std::string IntegrityText(db::EspEncryption encryption, db::EspIntegrity integrity,
                          const std::string& text);
// The state in the vocabulary asked for (issue 11.2): the IBM name, or
// Cisco's as isakmpd's table gave it; "-" where that vocabulary has none.
std::string StateText(const ipc::Phase1Status& t, db::StateNames names);
std::string StateText(const ipc::Phase2Status& t, db::StateNames names);
std::string Status(const ipc::Phase1Status& t);  // "Active", "Negotiating", ...
std::string Status(const ipc::Phase2Status& t);

}  // namespace ike::cmd
