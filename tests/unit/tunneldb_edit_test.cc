// ikedb put/get/delete (tunneldb/edit.h): merge by kind and name, -F,
// get as text put takes back (round trip), delete refused while referenced,
// and every error naming file, line and field.
#include <catch2/catch.hpp>
#include <string>

#include "tunneldb/database.h"
#include "tunneldb/edit.h"

namespace ike::tunneldb {
namespace {

const char kDb[] = "/etc/ike/tunnels.db";
const char kFragment[] = "new.db";

// A valid database with a comment the edits must keep.
const char kBase[] = R"(# lab host A
settings {
  log_level: EVENTS
}
ike_protection {
  name: "p1"
  proposal { encryption: AES_CBC hash: SHA2_256 dh_group: MODP_2048 }
}
ike_tunnel {
  name: "to-b"
  local_address: "192.0.2.1"
  remote_address: "192.0.2.2"
  protection: "p1"
}
ipsec_protection {
  name: "p2"
  proposal { encryption: ESP_AES_CBC integrity: HMAC_SHA2_256 }
}
ipsec_tunnel {
  name: "to-b-net"
  ike_tunnel: "to-b"
  local { address: "198.51.100.1" }
  remote { address: "203.0.113.1" }
  protection: "p2"
}
)";

// A second peer, using the database's protections.
const char kToC[] = R"(ike_tunnel {
  name: "to-c"
  local_address: "192.0.2.1"
  remote_address: "192.0.2.3"
  protection: "p1"
}
ipsec_tunnel {
  name: "to-c-net"
  ike_tunnel: "to-c"
  local { address: "198.51.100.1" }
  remote { subnet: "203.0.113.64/26" }
  protection: "p2"
}
)";

TextFile Db(std::string text = kBase) { return {kDb, std::move(text)}; }
TextFile Fragment(std::string text) { return {kFragment, std::move(text)}; }

db::TunnelDatabase Parsed(const std::string& text) {
  Result<Database> d = Database::Parse(text, kDb);
  INFO(text);
  REQUIRE(d.ok());
  return d->proto();
}

std::string PutError(const std::string& fragment, const std::string& base = kBase,
                     PutMode mode = PutMode::kAddOnly) {
  Result<std::string> r = Put(Db(base), Fragment(fragment), mode);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

TEST_CASE("kinds are named as their fields in tunnels.db") {
  CHECK(KindFromName("ike_tunnel") == Kind::kIkeTunnel);
  CHECK(KindFromName("settings") == Kind::kSettings);
  CHECK_FALSE(KindFromName("tunnel").has_value());
  CHECK(std::string(KindNames()).find("ipsec_protection") != std::string::npos);
}

TEST_CASE("put adds new objects, keeps the rest of the file, and tmd loads the result") {
  Result<std::string> r = Put(Db(), Fragment(kToC), PutMode::kAddOnly);
  REQUIRE(r.ok());
  CHECK(r->rfind(kBase, 0) == 0);  // the database text, comment included, unchanged
  Result<Database> d = Database::Parse(*r, kDb);
  REQUIRE(d.ok());
  REQUIRE(d->FindIkeTunnel("to-c") != nullptr);
  CHECK(d->FindIkeTunnel("to-c")->remote_address() == "192.0.2.3");
  CHECK(d->FindIpsecTunnel("to-c-net") != nullptr);
  CHECK(d->FindIkeTunnel("to-b") != nullptr);
}

TEST_CASE("put of an object the database has is refused, naming both places") {
  const std::string again = R"(ike_protection {
  name: "p1"
  proposal { encryption: AES_CBC key_length: 256 hash: SHA2_256 dh_group: MODP_2048 }
}
)";
  CHECK(PutError(again) ==
        "new.db:1:1: ike_protection \"p1\": already in /etc/ike/tunnels.db:5:1; put -F replaces "
        "it");
  CHECK(PutError("settings { log_level: DEBUG }\n") ==
        "new.db:1:1: settings: already in /etc/ike/tunnels.db:2:1; put -F replaces it");
}

TEST_CASE("put -F replaces the object where it stands") {
  const std::string fragment = R"(ike_tunnel {
  name: "to-b"
  local_address: "192.0.2.1"
  remote_address: "192.0.2.9"
  protection: "p1"
}
)";
  Result<std::string> r = Put(Db(), Fragment(fragment), PutMode::kReplace);
  REQUIRE(r.ok());
  const db::TunnelDatabase d = Parsed(*r);
  REQUIRE(d.ike_tunnel_size() == 1);
  CHECK(d.ike_tunnel(0).remote_address() == "192.0.2.9");
  CHECK(r->rfind("# lab host A\nsettings {", 0) == 0);
  // Still between the ike_protection and the ipsec_protection.
  CHECK(r->find("192.0.2.9") > r->find("name: \"p1\""));
  CHECK(r->find("192.0.2.9") < r->find("name: \"p2\""));
}

TEST_CASE("put -F of settings replaces the whole block") {
  Result<std::string> r =
      Put(Db(), Fragment("settings { retransmit_tries: 3 }\n"), PutMode::kReplace);
  REQUIRE(r.ok());
  const db::TunnelDatabase d = Parsed(*r);
  CHECK(d.settings().retransmit_tries() == 3);
  CHECK(d.settings().log_level() == db::LOG_LEVEL_UNSPECIFIED);  // not merged field by field
}

TEST_CASE("put of settings into a database without them adds them") {
  std::string base = kBase;
  base.erase(base.find("settings {"), std::string("settings {\n  log_level: EVENTS\n}\n").size());
  Result<std::string> r =
      Put(Db(base), Fragment("settings { log_level: DEBUG }\n"), PutMode::kAddOnly);
  REQUIRE(r.ok());
  CHECK(Parsed(*r).settings().log_level() == db::DEBUG);
}

TEST_CASE("get: all, by kind, by name") {
  Result<std::string> all = Get(Db(), std::nullopt, "");
  REQUIRE(all.ok());
  CHECK(Parsed(*all).SerializeAsString() == Parsed(kBase).SerializeAsString());

  Result<std::string> tunnels =
      Get(Db(*Put(Db(), Fragment(kToC), PutMode::kAddOnly)), Kind::kIkeTunnel, "");
  REQUIRE(tunnels.ok());
  CHECK(tunnels->find("name: \"to-b\"") != std::string::npos);
  CHECK(tunnels->find("name: \"to-c\"") != std::string::npos);
  CHECK(tunnels->find("ipsec_tunnel") == std::string::npos);

  Result<std::string> one = Get(Db(), Kind::kIkeTunnel, "to-b");
  REQUIRE(one.ok());
  CHECK(*one ==
        "ike_tunnel {\n  name: \"to-b\"\n  local_address: \"192.0.2.1\"\n"
        "  remote_address: \"192.0.2.2\"\n  protection: \"p1\"\n}\n");

  Result<std::string> settings = Get(Db(), Kind::kSettings, "");
  REQUIRE(settings.ok());
  CHECK(*settings == "settings {\n  log_level: EVENTS\n}\n");

  Result<std::string> missing = Get(Db(), Kind::kIkeTunnel, "to-z");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message == "/etc/ike/tunnels.db: no ike_tunnel named \"to-z\"");
  CHECK(Get(Db(), Kind::kIpsecTunnel, "to-b").error().message ==
        "/etc/ike/tunnels.db: no ipsec_tunnel named \"to-b\"");
}

TEST_CASE("round trip: what get prints, put rebuilds") {
  const std::string two = *Put(Db(), Fragment(kToC), PutMode::kAddOnly);
  Result<std::string> printed = Get(Db(two), std::nullopt, "");
  REQUIRE(printed.ok());
  // Into an empty database: the same objects, and exactly get's text.
  Result<std::string> rebuilt = Put(Db(""), Fragment(*printed), PutMode::kAddOnly);
  REQUIRE(rebuilt.ok());
  CHECK(*rebuilt == *printed);
  CHECK(Parsed(*rebuilt).SerializeAsString() == Parsed(two).SerializeAsString());
  // Object by object, kind by kind.
  std::string piecewise;
  for (const char* kind :
       {"settings", "ike_protection", "ike_tunnel", "ipsec_protection", "ipsec_tunnel"}) {
    Result<std::string> part = Get(Db(two), KindFromName(kind), "");
    REQUIRE(part.ok());
    piecewise += *part;
  }
  CHECK(piecewise == *printed);
  // Put -F of get's own output over the database: nothing changes.
  Result<std::string> same = Put(Db(two), Fragment(*printed), PutMode::kReplace);
  REQUIRE(same.ok());
  CHECK(Parsed(*same).SerializeAsString() == Parsed(two).SerializeAsString());
  CHECK(Get(Db(*same), std::nullopt, "").value() == *printed);
}

TEST_CASE("delete removes the object's lines and keeps the rest") {
  const std::string two = *Put(Db(), Fragment(kToC), PutMode::kAddOnly);
  Result<std::string> r = Delete(Db(two), Kind::kIpsecTunnel, "to-c-net");
  REQUIRE(r.ok());
  CHECK(r->find("to-c-net") == std::string::npos);
  r = Delete(Db(*r), Kind::kIkeTunnel, "to-c");
  REQUIRE(r.ok());
  CHECK(*r == kBase);  // back to the original text, comment and all

  Result<std::string> no_settings = Delete(Db(), Kind::kSettings, "");
  REQUIRE(no_settings.ok());
  CHECK_FALSE(Parsed(*no_settings).has_settings());
  CHECK(no_settings->rfind("# lab host A\nike_protection {", 0) == 0);
}

TEST_CASE("delete is refused while another object names it") {
  Result<std::string> r = Delete(Db(), Kind::kIkeProtection, "p1");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "/etc/ike/tunnels.db:5:1: ike_protection \"p1\": still used by ike_tunnel \"to-b\" "
        "(/etc/ike/tunnels.db:9:1); delete or change that first");
  r = Delete(Db(), Kind::kIkeTunnel, "to-b");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "/etc/ike/tunnels.db:9:1: ike_tunnel \"to-b\": still used by ipsec_tunnel \"to-b-net\" "
        "(/etc/ike/tunnels.db:19:1); delete or change that first");
  r = Delete(Db(), Kind::kIpsecProtection, "p2");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("ipsec_protection \"p2\": still used by ipsec_tunnel "
                               "\"to-b-net\"") != std::string::npos);
  // Two users: one line each.
  const std::string two = *Put(Db(), Fragment(kToC), PutMode::kAddOnly);
  r = Delete(Db(two), Kind::kIpsecProtection, "p2");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("\"to-b-net\"") != std::string::npos);
  CHECK(r.error().message.find("\n") != std::string::npos);
  CHECK(r.error().message.find("\"to-c-net\" (/etc/ike/tunnels.db:32:1)") != std::string::npos);
}

TEST_CASE("delete of what is not there") {
  CHECK(Delete(Db(), Kind::kIkeTunnel, "to-z").error().message ==
        "/etc/ike/tunnels.db: no ike_tunnel named \"to-z\"");
  CHECK(Delete(Db(""), Kind::kSettings, "").error().message ==
        "/etc/ike/tunnels.db: no settings to delete");
  CHECK_FALSE(Delete(Db(), Kind::kIkeTunnel, "").ok());
  CHECK_FALSE(Delete(Db(), Kind::kSettings, "x").ok());
}

// Every way a put fails: the message names the file the problem is in, the
// line and column, and the field.
TEST_CASE("put errors name file, line and field") {
  struct Case {
    const char* what;
    std::string fragment;
    std::string expected;  // the first error line
  };
  const std::string tunnel_head = "ike_tunnel {\n  name: \"to-c\"\n";
  const Case cases[] = {
      {"syntax", "ike_tunnel {\n  name: \"to-c\"\n  no_such_field: 1\n}\n",
       "new.db:3:16: Message type \"ike.db.IkeTunnel\" has no field named \"no_such_field\""},
      {"not UTF-8", "ike_tunnel {\n  name: \"to-\\377\"\n}\n",
       "new.db:2:3: ike_tunnel[0].name: not valid UTF-8"},
      {"bad address",
       tunnel_head + "  local_address: \"192.0.2.1\"\n  remote_address: \"192.0.2.300\"\n"
                     "  protection: \"p1\"\n}\n",
       "new.db:4:3: ike_tunnel \"to-c\": remote_address: \"192.0.2.300\" is not an IP address"},
      {"reference to nothing",
       tunnel_head + "  local_address: \"192.0.2.1\"\n  remote_address: \"192.0.2.3\"\n"
                     "  protection: \"p9\"\n}\n",
       "new.db:5:3: ike_tunnel \"to-c\": protection: no ike_protection named \"p9\""},
      {"missing field", tunnel_head + "  local_address: \"192.0.2.1\"\n}\n",
       // A missing field is placed at its object.
       "new.db:1:1: ike_tunnel \"to-c\": remote_address: missing"},
      {"same endpoints as a database tunnel",
       tunnel_head + "  local_address: \"192.0.2.1\"\n  remote_address: \"192.0.2.2\"\n"
                     "  protection: \"p1\"\n}\n",
       "new.db:4:3: ike_tunnel \"to-c\": remote_address: local 192.0.2.1 and remote 192.0.2.2 are "
       "already the endpoints of ike_tunnel \"to-b\" (/etc/ike/tunnels.db:9:1)"},
      {"name shared with an ike_tunnel",
       "ipsec_tunnel {\n  name: \"to-b\"\n  ike_tunnel: \"to-b\"\n"
       "  local { address: \"198.51.100.1\" }\n  remote { address: \"203.0.113.2\" }\n"
       "  protection: \"p2\"\n}\n",
       "new.db:2:3: ipsec_tunnel \"to-b\": name: already used by an ike_tunnel"},
      {"twice in the fragment",
       "ipsec_protection {\n  name: \"p3\"\n  proposal { encryption: ESP_3DES integrity: "
       "HMAC_SHA1 }\n}\nipsec_protection {\n  name: \"p3\"\n  proposal { encryption: ESP_3DES "
       "integrity: HMAC_SHA1 }\n}\n",
       "new.db:5:1: ipsec_protection \"p3\": name: defined twice in this file (first at "
       "new.db:1:1)"},
      {"no name",
       "ike_protection {\n  proposal { encryption: AES_CBC hash: SHA1 dh_group: "
       "MODP_2048 }\n}\n",
       "new.db:1:1: ike_protection #2: name: missing"},
      {"weak group",
       "ike_protection {\n  name: \"weak\"\n  proposal {\n    encryption: AES_CBC\n    hash: "
       "SHA1\n    dh_group: MODP_768\n  }\n}\n",
       "new.db:6:5: ike_protection \"weak\" proposal 1: dh_group: MODP_768 (group 1) is refused"},
      {"key length",
       "ipsec_protection {\n  name: \"p3\"\n  proposal { encryption: ESP_AES_CBC key_length: 100 "
       "integrity: HMAC_SHA1 }\n}\n",
       "new.db:3:38: ipsec_protection \"p3\" proposal 1: key_length: 100 is not an AES key length"},
      {"selector",
       "ipsec_tunnel {\n  name: \"x\"\n  ike_tunnel: \"to-b\"\n  local { subnet: \"198.51.100.1\" "
       "}\n  remote { address: \"203.0.113.2\" }\n  protection: \"p2\"\n}\n",
       "new.db:4:11: ipsec_tunnel \"x\": local.subnet: \"198.51.100.1\" is not written as a "
       "subnet"},
      {"settings", "settings {\n  log_level: EVENTS\n  fragment_size: 100\n}\n",
       "new.db:3:3: settings: fragment_size: 100 octets is outside"},
      {"nothing to put", "# only a comment\n",
       "new.db: nothing to put (no settings, ike_protection, ike_tunnel, ipsec_protection, "
       "ipsec_tunnel)"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const bool replace = std::string(c.what) == "settings";
    const std::string message =
        PutError(c.fragment, kBase, replace ? PutMode::kReplace : PutMode::kAddOnly);
    CHECK(message.substr(0, c.expected.size()) == c.expected);
  }
}

TEST_CASE("put: errors in the database itself are placed there") {
  std::string broken = kBase;
  broken.replace(broken.find("\"192.0.2.2\""), 11, "\"192.0.2.x\"");
  CHECK(PutError(kToC, broken) ==
        "/etc/ike/tunnels.db:12:3: ike_tunnel \"to-b\": remote_address: \"192.0.2.x\" is not an "
        "IP address");
  CHECK(PutError(kToC, "ike_tunnel {\n  name: \"x\"\n").rfind("/etc/ike/tunnels.db:3:", 0) == 0);
}

TEST_CASE("a -F replacement that breaks a reference is placed in the fragment") {
  const std::string fragment = R"(ipsec_tunnel {
  name: "to-b-net"
  ike_tunnel: "to-q"
  local { address: "198.51.100.1" }
  remote { address: "203.0.113.1" }
  protection: "p2"
}
)";
  CHECK(PutError(fragment, kBase, PutMode::kReplace) ==
        "new.db:3:3: ipsec_tunnel \"to-b-net\": ike_tunnel: no ike_tunnel named \"to-q\"");
}

TEST_CASE("edits keep a file written with tabs and on one line") {
  const std::string base =
      "settings { log_level: EVENTS }\n"
      "ike_protection {\tname: \"p1\"\tproposal { encryption: AES_CBC hash: SHA1 dh_group: "
      "MODP_2048 } }\n"
      "\tike_tunnel { name: \"to-b\" local_address: \"192.0.2.1\" remote_address: \"192.0.2.2\" "
      "protection: \"p1\" }  # the peer\n";
  const std::string fragment =
      "ike_tunnel { name: \"to-b\" local_address: \"192.0.2.1\" remote_address: \"192.0.2.7\" "
      "protection: \"p1\" }\n";
  Result<std::string> r = Put(Db(base), Fragment(fragment), PutMode::kReplace);
  REQUIRE(r.ok());
  CHECK(r->find("192.0.2.7") != std::string::npos);
  CHECK(r->find("  # the peer\n") != std::string::npos);
  Result<std::string> gone = Delete(Db(*r), Kind::kIkeTunnel, "to-b");
  REQUIRE(gone.ok());
  CHECK(gone->find("to-b") == std::string::npos);
  CHECK(gone->find("# the peer") != std::string::npos);
  CHECK(Parsed(*gone).ike_protection_size() == 1);
}

// Every object of databases written in odd ways (one line, separators,
// comments inside, tabs, CRLF): deleted where nothing names it, and put -F
// back from get. The edit may be refused (still used) but never reaches the
// internal gate (the spliced text not saying what was validated).
TEST_CASE("edits on odd layouts splice exactly") {
  const std::string layouts[] = {
      kBase,
      "settings{log_level:EVENTS};ike_protection{name:\"p1\" proposal{encryption:AES_CBC "
      "hash:SHA1 dh_group:MODP_2048}},ike_tunnel{name:\"to-b\" local_address:\"192.0.2.1\" "
      "remote_address:\"192.0.2.2\" protection:\"p1\"} ipsec_protection <name:\"p2\" "
      "proposal{encryption:ESP_3DES integrity:HMAC_SHA1}> ipsec_tunnel{name:\"n\" "
      "ike_tunnel:\"to-b\" local{address:\"198.51.100.1\"} remote{address:\"203.0.113.1\"} "
      "protection:\"p2\"}",
      "ike_protection {  # p1\r\n\tname: \"p1\"\r\n\tproposal { encryption: AES_CBC hash: "
      "SHA1 dh_group: MODP_2048 }\r\n}\r\n\t\tike_tunnel: { name: \"to-b\" local_address: "
      "\"192.0.2.1\"\n remote_address: \"192.0.2.2\" protection: \"p1\" } ; # end\n"
      "ike_tunnel { name: \"to-c\" local_address: \"192.0.2.1\" remote_address: "
      "\"192.0.2.3\" protection: \"p1\" }",
  };
  for (const std::string& layout : layouts) {
    INFO(layout);
    REQUIRE(Database::CheckText(layout, kDb).empty());
    const db::TunnelDatabase original = Parsed(layout);
    for (const char* kind_name :
         {"settings", "ike_protection", "ike_tunnel", "ipsec_protection", "ipsec_tunnel"}) {
      const Kind kind = *KindFromName(kind_name);
      std::vector<std::string> names;
      if (kind == Kind::kSettings && original.has_settings()) names.push_back("");
      for (const auto& p : original.ike_protection())
        if (kind == Kind::kIkeProtection) names.push_back(p.name());
      for (const auto& t : original.ike_tunnel())
        if (kind == Kind::kIkeTunnel) names.push_back(t.name());
      for (const auto& p : original.ipsec_protection())
        if (kind == Kind::kIpsecProtection) names.push_back(p.name());
      for (const auto& t : original.ipsec_tunnel())
        if (kind == Kind::kIpsecTunnel) names.push_back(t.name());
      for (const std::string& name : names) {
        INFO(kind_name << " " << name);
        Result<std::string> gone = Delete(Db(layout), kind, name);
        if (gone.ok()) {
          CHECK(Get(Db(*gone), kind, name).ok() == (kind == Kind::kSettings));
        } else {
          CHECK(gone.error().message.find("still used by") != std::string::npos);
        }
        Result<std::string> back =
            Put(Db(layout), Fragment(Get(Db(layout), kind, name).value()), PutMode::kReplace);
        REQUIRE(back.ok());
        CHECK(Parsed(*back).SerializeAsString() == original.SerializeAsString());
      }
    }
  }
}

}  // namespace
}  // namespace ike::tunneldb
