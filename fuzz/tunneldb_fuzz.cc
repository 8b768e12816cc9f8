// libFuzzer target for the tunnel database (/etc/ike/tunnels.db): the
// protobuf text-format parse, the semantic validator and the defaults, as
// tmd, ikedb and isakmpd's ConfigPush see them (the ike_tunneldb library).
//
// Input: the file's text. Checks beyond "no crash": Parse succeeds exactly
// when CheckText reports no problem, and a parsed database's lookups find
// every object it holds by name, the defaults are idempotent, and a valid
// database survives the trip to isakmpd (serialize, parse).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tunneldb/database.h"

using ike::tunneldb::Database;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto problems = Database::CheckText(text, "tunnels.db");
  auto parsed = Database::Parse(text, "tunnels.db");
  if (parsed.ok() != problems.empty()) abort();
  if (!parsed.ok()) return 0;
  const Database& db = *parsed;
  // tmd sends it to isakmpd (ConfigPush): it must parse there.
  ike::db::TunnelDatabase pushed;
  if (!pushed.ParseFromString(db.proto().SerializeAsString())) abort();
  ike::db::TunnelDatabase again = db.proto();
  ike::tunneldb::ApplyDefaults(&again);
  if (again.SerializeAsString() != db.proto().SerializeAsString()) abort();
  for (const auto& t : db.proto().ike_tunnel()) {
    if (db.FindIkeTunnel(t.name()) == nullptr) abort();
    (void)db.IpsecTunnelsOf(t.name());
  }
  for (const auto& t : db.proto().ipsec_tunnel())
    if (db.FindIpsecTunnel(t.name()) == nullptr) abort();
  for (const auto& p : db.proto().ike_protection())
    if (db.FindIkeProtection(p.name()) == nullptr) abort();
  for (const auto& p : db.proto().ipsec_protection())
    if (db.FindIpsecProtection(p.name()) == nullptr) abort();
  return 0;
}
