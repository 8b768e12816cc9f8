// libFuzzer target for the tunnel database (/etc/ike/tunnels.db): the
// protobuf text-format parse, the semantic validator and the defaults, as
// tmd, ikedb and isakmpd's ConfigPush see them (the ike_tunneldb library).
//
// Input: the file's text. Checks beyond "no crash": Parse succeeds exactly
// when CheckText reports no problem, and a parsed database's lookups find
// every object it holds by name, the defaults are idempotent, and a valid
// database survives the trip to isakmpd (serialize, parse). ikedb's edits
// (tunneldb/edit.h) never reach their internal gate (a spliced text that
// does not say what was validated): the input put into a valid database,
// and, for a valid input, get of everything put into an empty database
// gives back the same text, and each object deleted and put -F back from
// get gives back the same database.
#include <google/protobuf/text_format.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tunneldb/database.h"
#include "tunneldb/edit.h"

using ike::tunneldb::Database;

namespace {

namespace t = ike::tunneldb;

constexpr char kBase[] = R"(settings { log_level: EVENTS }
ike_protection { name: "p1" proposal { encryption: AES_CBC hash: SHA1 dh_group: MODP_2048 } }
ike_tunnel { name: "t1" local_address: "192.0.2.1" remote_address: "192.0.2.2" protection: "p1" }
)";

bool Internal(const ike::Result<std::string>& r) {
  return !r.ok() && r.error().message.rfind("ikedb: internal error", 0) == 0;
}

// Up to 8 objects: delete each (refused only while referenced), and put -F
// of its get output must leave |text|'s database as it was.
void EditEach(const t::TextFile& file, const ike::db::TunnelDatabase& d) {
  int budget = 8;
  auto each = [&](t::Kind kind, const std::string& name) {
    if (budget-- <= 0) return;
    if (Internal(t::Delete(file, kind, name))) abort();
    ike::Result<std::string> got = t::Get(file, kind, name);
    if (!got.ok()) abort();
    ike::Result<std::string> back = t::Put(file, {"get", *got}, t::PutMode::kReplace);
    if (!back.ok()) abort();
    ike::Result<Database> reread = Database::Parse(*back, "tunnels.db");
    if (!reread.ok()) abort();
    ike::db::TunnelDatabase expected = d;
    t::ApplyDefaults(&expected);
    if (reread->proto().SerializeAsString() != expected.SerializeAsString()) abort();
  };
  if (d.has_settings()) each(t::Kind::kSettings, "");
  for (const auto& o : d.ike_protection()) each(t::Kind::kIkeProtection, o.name());
  for (const auto& o : d.ike_tunnel()) each(t::Kind::kIkeTunnel, o.name());
  for (const auto& o : d.ipsec_protection()) each(t::Kind::kIpsecProtection, o.name());
  for (const auto& o : d.ipsec_tunnel()) each(t::Kind::kIpsecTunnel, o.name());
}

// ikedb on the input: as a fragment, and (valid) as the database.
void Edits(std::string_view text, bool valid) {
  const t::TextFile input{"tunnels.db", std::string(text)};
  for (t::PutMode mode : {t::PutMode::kAddOnly, t::PutMode::kReplace})
    if (Internal(t::Put({"base.db", kBase}, input, mode))) abort();
  if (!valid) return;
  ike::Result<std::string> all = t::Get(input, std::nullopt, "");
  if (!all.ok()) abort();
  ike::Result<std::string> rebuilt = t::Put({"empty.db", ""}, {"get", *all}, t::PutMode::kAddOnly);
  if (!rebuilt.ok() && rebuilt.error().message.find("nothing to put") == std::string::npos) abort();
  if (rebuilt.ok() && *rebuilt != *all) abort();
  ike::db::TunnelDatabase as_written;
  if (!google::protobuf::TextFormat::ParseFromString(std::string(text), &as_written)) abort();
  EditEach(input, as_written);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto problems = Database::CheckText(text, "tunnels.db");
  auto parsed = Database::Parse(text, "tunnels.db");
  if (parsed.ok() != problems.empty()) abort();
  Edits(text, parsed.ok());
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
