// Tunnel database: parse errors with line numbers, semantic errors naming the
// object and field, defaults, and the shipped example.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "tunneldb/database.h"

namespace ike::tunneldb {
namespace {

const char kFile[] = "/etc/ike/tunnels.db";

// A valid two-host database; tests break one thing at a time.
std::string Valid() {
  return R"(ike_protection {
  name: "p1"
  proposal { encryption: AES_CBC hash: SHA2_256 auth_method: PRESHARED_KEY dh_group: MODP_2048 }
}
ike_tunnel {
  name: "a-to-b"
  local_address: "192.0.2.1"
  remote_address: "192.0.2.2"
  protection: "p1"
}
ipsec_protection {
  name: "p2"
  proposal { encryption: ESP_AES_CBC integrity: HMAC_SHA2_256 }
  pfs_group: MODP_2048
}
ipsec_tunnel {
  name: "nets"
  ike_tunnel: "a-to-b"
  local { address: "198.51.100.1" }
  remote { subnet: "203.0.113.0/24" }
  protection: "p2"
}
)";
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::string FirstError(const std::string& text) {
  Result<Database> d = Database::Parse(text, kFile);
  REQUIRE_FALSE(d.ok());
  return d.error().message;
}

TEST_CASE("valid database parses and gets its defaults") {
  Result<Database> d = Database::Parse(Valid(), kFile);
  REQUIRE(d.ok());
  const db::IkeTunnel* t = d->FindIkeTunnel("a-to-b");
  REQUIRE(t != nullptr);
  CHECK(t->local_id().type() == db::IPV4_ADDR);
  CHECK(t->local_id().value() == "192.0.2.1");
  CHECK(t->remote_id().value() == "192.0.2.2");
  const db::IkeProposal& p1 = d->FindIkeProtection("p1")->proposal(0);
  CHECK(p1.lifetime_seconds() == 28800);
  CHECK(p1.key_length() == 128);
  CHECK(d->FindIkeProtection("p1")->mode() == db::MAIN);
  const db::IpsecProtection* p2 = d->FindIpsecProtection("p2");
  CHECK(p2->lifetime_seconds() == 3600);
  CHECK(p2->proposal(0).key_length() == 128);
  CHECK(d->IpsecTunnelsOf("a-to-b").size() == 1);
  CHECK(d->FindIpsecTunnel("nope") == nullptr);
}

TEST_CASE("syntax errors carry file, line and column") {
  std::string text = Replace(Valid(), "  protection: \"p1\"\n", "  protection \"p1\"\n");
  const std::string e = FirstError(text);
  CHECK(e.rfind("/etc/ike/tunnels.db:9:14: ", 0) == 0);
  CHECK(Database::CheckText("ike_tunnel { nme: \"x\" }", kFile).front() ==
        "/etc/ike/tunnels.db:1:17: Message type \"ike.db.IkeTunnel\" has no field named \"nme\".");
}

TEST_CASE("dangling references name object, field and line") {
  CHECK(FirstError(Replace(Valid(), "protection: \"p1\"", "protection: \"p9\"")) ==
        "/etc/ike/tunnels.db:9:3: ike_tunnel \"a-to-b\": protection: "
        "no ike_protection named \"p9\"");
  CHECK(FirstError(Replace(Valid(), "ike_tunnel: \"a-to-b\"", "ike_tunnel: \"zz\"")) ==
        "/etc/ike/tunnels.db:18:3: ipsec_tunnel \"nets\": ike_tunnel: no ike_tunnel named \"zz\"");
  CHECK(FirstError(Replace(Valid(), "protection: \"p2\"", "protection: \"q\"")) ==
        "/etc/ike/tunnels.db:21:3: ipsec_tunnel \"nets\": protection: "
        "no ipsec_protection named \"q\"");
}

TEST_CASE("duplicate names are rejected") {
  std::string text = Valid() +
                     "ike_protection { name: \"p1\" proposal { encryption: AES_CBC "
                     "hash: SHA1 dh_group: MODP_1024 } }\n";
  CHECK(FirstError(text) ==
        "/etc/ike/tunnels.db:23:18: ike_protection \"p1\": name: defined twice");
  // ike and ipsec tunnels share the namelist= name space.
  text = Replace(Valid(), "name: \"nets\"", "name: \"a-to-b\"");
  CHECK(FirstError(text).find("ipsec_tunnel \"a-to-b\": name: already used by an ike_tunnel") !=
        std::string::npos);
}

TEST_CASE("addresses and selectors must parse") {
  CHECK(FirstError(Replace(Valid(), "\"192.0.2.2\"", "\"192.0.2.300\"")) ==
        "/etc/ike/tunnels.db:8:3: ike_tunnel \"a-to-b\": remote_address: "
        "\"192.0.2.300\" is not an IP address");
  const std::string e = FirstError(Replace(Valid(), "203.0.113.0/24", "203.0.113.0/33"));
  INFO(e);
  CHECK(e.rfind("/etc/ike/tunnels.db:20:12: ipsec_tunnel \"nets\": remote.subnet: "
                "\"203.0.113.0/33\": ",
                0) == 0);
  CHECK(FirstError(Replace(Valid(), "remote { subnet: \"203.0.113.0/24\" }", "remote { }")) ==
        "/etc/ike/tunnels.db:20:3: ipsec_tunnel \"nets\": remote: "
        "exactly one of address, subnet or range is needed");
  CHECK(FirstError(Replace(Valid(), "\"192.0.2.2\"", "\"2001:db8::2\"")) ==
        "/etc/ike/tunnels.db:8:3: ike_tunnel \"a-to-b\": remote_address: "
        "address family differs from local_address");
}

TEST_CASE("protocol and ports: one protocol per tunnel, ports only with TCP, UDP or SCTP") {
  // protoport: ssh to one host of the remote subnet is valid.
  const std::string ssh = Replace(Valid(), "remote { subnet: \"203.0.113.0/24\" }",
                                  "remote { subnet: \"203.0.113.0/24\" protocol: 6 port: 22 }");
  CHECK(Database::Parse(ssh, kFile).ok());
  CHECK(FirstError(Replace(ssh, "local { address: \"198.51.100.1\" }",
                           "local { address: \"198.51.100.1\" protocol: 17 }")) ==
        "/etc/ike/tunnels.db:20:37: ipsec_tunnel \"nets\": remote.protocol: 6 differs from "
        "local.protocol 17 (a tunnel's selectors name one protocol)");
  CHECK(FirstError(Replace(Valid(), "remote { subnet: \"203.0.113.0/24\" }",
                           "remote { subnet: \"203.0.113.0/24\" port: 22 }")) ==
        "/etc/ike/tunnels.db:20:37: ipsec_tunnel \"nets\": remote.port: a port needs protocol 6 "
        "(TCP), 17 (UDP) or 132 (SCTP), not any protocol");
  CHECK(FirstError(Replace(Valid(), "remote { subnet: \"203.0.113.0/24\" }",
                           "remote { subnet: \"203.0.113.0/24\" protocol: 1 port: 8 }"))
            .find("remote.port: a port needs protocol 6 (TCP), 17 (UDP) or 132 (SCTP), not 1") !=
        std::string::npos);
}

TEST_CASE("unsupported algorithms and short lifetimes are rejected") {
  CHECK(FirstError(Replace(Valid(), "auth_method: PRESHARED_KEY", "auth_method: RSA_SIGNATURE")) ==
        "/etc/ike/tunnels.db:3:49: ike_protection \"p1\" proposal 1: auth_method: "
        "RSA_SIGNATURE is not supported yet");
  CHECK(FirstError(Replace(Valid(), "encryption: AES_CBC", "encryption: AES_CBC key_length: 64"))
            .find("key_length: 64 is not an AES key length (128, 192 or 256)") !=
        std::string::npos);
  CHECK(FirstError(Replace(Valid(), "dh_group: MODP_2048", "")).find("dh_group: must be") !=
        std::string::npos);
  CHECK(FirstError(Replace(Valid(), "  pfs_group: MODP_2048\n",
                           "  pfs_group: MODP_2048\n  lifetime_seconds: 30\n")) ==
        "/etc/ike/tunnels.db:15:3: ipsec_protection \"p2\": lifetime_seconds: "
        "30 s is too short (minimum 60 s, settings.min_lifetime_seconds; 0 = default)");
  CHECK(FirstError(Replace(Valid(),
                           "  proposal { encryption: ESP_AES_CBC integrity: "
                           "HMAC_SHA2_256 }\n",
                           "")) ==
        "/etc/ike/tunnels.db:11:1: ipsec_protection \"p2\": proposal: "
        "at least one proposal is needed");
}

TEST_CASE("settings.nat_traversal and nat_keepalive_seconds: defaults, range, names") {
  Result<Database> plain = Database::Parse(Valid(), kFile);
  REQUIRE(plain.ok());
  CHECK(plain->proto().settings().nat_traversal() == db::NAT_TRAVERSAL_UNSPECIFIED);  // = ON
  CHECK(NatKeepaliveSeconds(plain->proto().settings()) == 20);
  Result<Database> off = Database::Parse(
      "settings { nat_traversal: NAT_TRAVERSAL_OFF nat_keepalive_seconds: 0 }\n" + Valid(), kFile);
  REQUIRE(off.ok());
  CHECK(off->proto().settings().nat_traversal() == db::NAT_TRAVERSAL_OFF);
  CHECK(NatKeepaliveSeconds(off->proto().settings()) == 0);  // set: none
  CHECK(FirstError("settings { nat_keepalive_seconds: 3601 }\n" + Valid()) ==
        "/etc/ike/tunnels.db:1:12: settings: nat_keepalive_seconds: 3601 s is too long (at most "
        "3600 s; 0 = none)");
  CHECK(FirstError("settings { nat_traversal: 7 }\n" + Valid()) ==
        "/etc/ike/tunnels.db:1:12: settings: nat_traversal: 7 is not NAT_TRAVERSAL_ON or "
        "NAT_TRAVERSAL_OFF");
  CHECK_FALSE(FirstError("settings { nat_traversal: MAYBE }\n" + Valid()).empty());
}

TEST_CASE("settings.state_names: AIX by default, IOS or ASA on request") {
  Result<Database> ios =
      Database::Parse("settings { state_names: STATE_NAMES_IOS }\n" + Valid(), kFile);
  REQUIRE(ios.ok());
  CHECK(ios->proto().settings().state_names() == db::STATE_NAMES_IOS);
  CHECK(FirstError("settings { state_names: 9 }\n" + Valid()) ==
        "/etc/ike/tunnels.db:1:12: settings: state_names: 9 is not STATE_NAMES_AIX, "
        "STATE_NAMES_IOS or STATE_NAMES_ASA");
}

TEST_CASE("settings.fragmentation and fragment_size: defaults, range, names") {
  Result<Database> plain = Database::Parse(Valid(), kFile);
  REQUIRE(plain.ok());
  CHECK(plain->proto().settings().fragmentation() == db::FRAGMENTATION_UNSPECIFIED);  // = ON
  CHECK(FragmentSize(plain->proto().settings()) == 1280);
  Result<Database> forced = Database::Parse(
      "settings { fragmentation: FRAGMENTATION_FORCE fragment_size: 576 }\n" + Valid(), kFile);
  REQUIRE(forced.ok());
  CHECK(forced->proto().settings().fragmentation() == db::FRAGMENTATION_FORCE);
  CHECK(FragmentSize(forced->proto().settings()) == 576);
  CHECK(FirstError("settings { fragment_size: 575 }\n" + Valid()) ==
        "/etc/ike/tunnels.db:1:12: settings: fragment_size: 575 octets is outside 576..65535 (an "
        "IP datagram, headers included; 0 = default 1280)");
  CHECK_FALSE(FirstError("settings { fragment_size: 65536 }\n" + Valid()).empty());
  CHECK(FirstError("settings { fragmentation: 9 }\n" + Valid()) ==
        "/etc/ike/tunnels.db:1:12: settings: fragmentation: 9 is not FRAGMENTATION_ON, "
        "FRAGMENTATION_OFF or FRAGMENTATION_FORCE");
  CHECK_FALSE(FirstError("settings { fragmentation: SOMETIMES }\n" + Valid()).empty());
}

TEST_CASE("settings.ike_key_log: off by default, an absolute file path when set") {
  Result<Database> plain = Database::Parse(Valid(), kFile);
  REQUIRE(plain.ok());
  CHECK(plain->proto().settings().ike_key_log().empty());
  Result<Database> on =
      Database::Parse("settings { ike_key_log: \"/var/tmp/ike-keys.txt\" }\n" + Valid(), kFile);
  REQUIRE(on.ok());
  CHECK(on->proto().settings().ike_key_log() == "/var/tmp/ike-keys.txt");
  CHECK(FirstError("settings { ike_key_log: \"keys.txt\" }\n" + Valid()) ==
        "/etc/ike/tunnels.db:1:12: settings: ike_key_log: \"keys.txt\" is not an absolute file "
        "path (e.g. /var/tmp/ike-keys.txt; empty = off)");
  CHECK_FALSE(FirstError("settings { ike_key_log: \"/var/tmp/\" }\n" + Valid()).empty());
}

TEST_CASE("settings.min_lifetime_seconds lowers the lifetime floor for tests, never below 5 s") {
  const std::string short_p2 = Replace(Valid(), "  pfs_group: MODP_2048\n",
                                       "  pfs_group: MODP_2048\n  lifetime_seconds: 10\n");
  CHECK(FirstError(short_p2).find("10 s is too short (minimum 60 s") != std::string::npos);
  Result<Database> lowered =
      Database::Parse("settings { min_lifetime_seconds: 10 }\n" + short_p2, kFile);
  REQUIRE(lowered.ok());
  CHECK(MinLifetimeSeconds(lowered->proto().settings()) == 10);
  CHECK(FirstError("settings { min_lifetime_seconds: 11 }\n" + short_p2)
            .find("10 s is too short (minimum 11 s") != std::string::npos);
  CHECK(FirstError("settings { min_lifetime_seconds: 4 }\n" + Valid()) ==
        "/etc/ike/tunnels.db:1:12: settings: min_lifetime_seconds: 4 s is too short (at least "
        "5 s, 0 = default 60 s)");
  CHECK(MinLifetimeSeconds(db::Settings()) == 60);
  db::Settings odd;
  odd.set_min_lifetime_seconds(2);  // refused by the validator; clamped if it got through
  CHECK(MinLifetimeSeconds(odd) == 5);
  // IKE proposals carry a volume lifetime too (RFC 2407 4.5, kilobytes).
  Result<Database> kb = Database::Parse(
      Replace(Valid(), "dh_group: MODP_2048 }", "dh_group: MODP_2048 lifetime_kbytes: 4608000 }"),
      kFile);
  REQUIRE(kb.ok());
  CHECK(kb->proto().ike_protection(0).proposal(0).lifetime_kbytes() == 4608000);
}

TEST_CASE("configuration that would not be honoured is an error (hole 4.l)") {
  // Aggressive Mode cannot negotiate the DH group: one for all proposals.
  CHECK(Database::Parse(
            Replace(Valid(), "  name: \"p1\"\n", "  name: \"p1\"\n  mode: AGGRESSIVE\n"), kFile)
            .ok());
  const std::string two_groups = Replace(
      Replace(Valid(), "  name: \"p1\"\n", "  name: \"p1\"\n  mode: AGGRESSIVE\n"),
      "dh_group: MODP_2048 }",
      "dh_group: MODP_2048 }\n  proposal { encryption: AES_CBC key_length: 128 hash: SHA2_256 "
      "auth_method: PRESHARED_KEY dh_group: ECP_256 }");
  CHECK(FirstError(two_groups)
            .find("ike_protection \"p1\": proposal[1].dh_group: differs from proposal[0].dh_group: "
                  "Aggressive Mode cannot negotiate the group") != std::string::npos);
  CHECK(
      Database::Parse(Replace(Valid(), "  name: \"p1\"\n", "  name: \"p1\"\n  mode: MAIN\n"), kFile)
          .ok());
  // Two ike_tunnels between the same endpoints: the second is unreachable as
  // responder. Both are named; the same addresses written differently count.
  const std::string twin =
      "ike_tunnel {\n"
      "  name: \"a-to-b-again\"\n"
      "  local_address: \"192.0.2.1\"\n"
      "  remote_address: \"192.0.2.2\"\n"
      "  protection: \"p1\"\n"
      "}\n";
  CHECK(FirstError(Valid() + twin) ==
        "/etc/ike/tunnels.db:26:3: ike_tunnel \"a-to-b-again\": remote_address: local 192.0.2.1 "
        "and remote 192.0.2.2 are already the endpoints of ike_tunnel \"a-to-b\" "
        "(/etc/ike/tunnels.db:5:1); as responder isakmpd could never choose this one");
  const std::string v6 =
      Replace(Replace(Replace(Valid(), "192.0.2.1", "2001:db8::1"), "192.0.2.2", "2001:db8::2"),
              "address: \"198.51.100.1\"", "address: \"2001:db8:1::1\"");
  const std::string v6_twin =
      Replace(Replace(twin, "192.0.2.1", "2001:DB8:0::1"), "192.0.2.2", "2001:db8::0:2");
  CHECK(
      FirstError(Replace(v6, "subnet: \"203.0.113.0/24\"", "subnet: \"2001:db8:2::/64\"") + v6_twin)
          .find("are already the endpoints of ike_tunnel \"a-to-b\"") != std::string::npos);
  // The same remote from another local address is a different tunnel.
  CHECK(Database::Parse(Valid() + Replace(twin, "192.0.2.1", "192.0.2.5"), kFile).ok());
}

TEST_CASE("all errors are listed by CheckText, the first by Parse") {
  std::string text = Replace(Valid(), "protection: \"p1\"", "protection: \"p9\"");
  text = Replace(text, "protection: \"p2\"", "protection: \"q\"");
  CHECK(Database::CheckText(text, kFile).size() == 2);
  CHECK(FirstError(text).find("(and 1 more)") != std::string::npos);
  CHECK(Database::CheckText(Valid(), kFile).empty());
}

// The text format takes "\377", but proto3 refuses such a string on parse,
// so isakmpd would refuse the ConfigPush (found by fuzz/tunneldb_fuzz.cc).
TEST_CASE("a string that is not UTF-8 is an error naming the line and field") {
  const std::string text = Replace(Valid(), "name: \"p1\"", "name: \"p\\377\"");
  const auto problems = Database::CheckText(text, kFile);
  CHECK(std::count(problems.begin(), problems.end(),
                   std::string(kFile) + ":2:3: ike_protection[0].name: not valid UTF-8") == 1);
  const std::string utf8 = Replace(Valid(), "name: \"nets\"", "name: \"n\303\251ts\"");
  CHECK(Database::Parse(utf8, kFile).ok());
}

TEST_CASE("missing file names the path") {
  Result<Database> d = Database::Load("/nonexistent/tunnels.db");
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message == "/nonexistent/tunnels.db: cannot open: No such file or directory");
}

TEST_CASE("the shipped example database is valid") {
  const auto path = std::filesystem::path(__FILE__).parent_path() / "../../tmd/examples/tunnels.db";
  Result<Database> d = Database::Load(path.string());
  INFO((d.ok() ? std::string() : d.error().message));
  REQUIRE(d.ok());
  CHECK(d->proto().ipsec_tunnel_size() == 1);
  CHECK(d->FindIpsecProtection("p2-esp-aes128-sha256-pfs2048")->pfs_group() == db::MODP_2048);
}

}  // namespace
}  // namespace ike::tunneldb

namespace ike::tunneldb {
namespace {

// A definition for a peer without a fixed address (issue 10.1): remote
// 0.0.0.0, found by its identity in Aggressive Mode.
std::string Dynamic() {
  std::string text = Replace(Valid(), "  name: \"p1\"\n", "  name: \"p1\"\n  mode: AGGRESSIVE\n");
  return Replace(text, "  remote_address: \"192.0.2.2\"\n",
                 "  remote_address: \"0.0.0.0\"\n"
                 "  remote_id { type: FQDN value: \"branch.example\" }\n");
}

TEST_CASE("a peer without a fixed address: Aggressive Mode, named, never started") {
  Result<Database> d = Database::Parse(Dynamic(), kFile);
  REQUIRE(d.ok());
  const db::IkeTunnel* t = d->FindIkeTunnel("a-to-b");
  REQUIRE(t != nullptr);
  CHECK(IsDynamicPeer(*t));
  CHECK(t->dpd().action() == db::DPD_CLEAR);  // HOLD would negotiate towards it
  CHECK_FALSE(IsDynamicPeer(Database::Parse(Valid(), kFile)->proto().ike_tunnel(0)));
  // Two such peers on one local address are told apart by identity.
  const std::string second =
      "ike_tunnel { name: \"other\" local_address: \"192.0.2.1\" remote_address: \"0.0.0.0\" "
      "remote_id { type: KEY_ID value: \"branch-2\" } protection: \"p1\" }\n";
  CHECK(Database::Parse(Dynamic() + second, kFile).ok());
  // The same identity twice (whatever the case) is ambiguous: refused.
  const std::string twin =
      "ike_tunnel { name: \"twin\" local_address: \"192.0.2.1\" remote_address: \"0.0.0.0\" "
      "remote_id { type: FQDN value: \"Branch.Example\" } protection: \"p1\" }\n";
  CHECK_THAT(FirstError(Dynamic() + twin),
             Catch::Contains("ike_tunnel \"twin\": remote_id: \"Branch.Example\" already names the "
                             "peer of ike_tunnel \"a-to-b\", also without a fixed address"));

  CHECK_THAT(FirstError(Replace(Dynamic(), "  mode: AGGRESSIVE\n", "")),
             Catch::Contains("ike_tunnel \"a-to-b\": protection: remote_address 0.0.0.0 (any) "
                             "needs an ike_protection with mode AGGRESSIVE"));
  CHECK_THAT(FirstError(Replace(Dynamic(), "type: FQDN value: \"branch.example\"",
                                "type: IPV4_ADDR value: \"192.0.2.9\"")),
             Catch::Contains("remote_id: remote_address 0.0.0.0 (any) needs a remote_id of type "
                             "FQDN, USER_FQDN or KEY_ID"));
  CHECK_THAT(FirstError(Replace(Dynamic(), "  protection: \"p1\"\n}",
                                "  protection: \"p1\"\n  autostart: true\n}")),
             Catch::Contains("autostart: remote_address 0.0.0.0 (any): there is no address"));
  CHECK_THAT(FirstError(Replace(Dynamic(), "  protection: \"p1\"\n}",
                                "  protection: \"p1\"\n  dpd { action: DPD_RESTART }\n}")),
             Catch::Contains("dpd.action: remote_address 0.0.0.0 (any): HOLD and RESTART"));
  CHECK_THAT(FirstError(Replace(Dynamic(), "  protection: \"p2\"\n}",
                                "  protection: \"p2\"\n  activation: ON_DEMAND\n}")),
             Catch::Contains("ipsec_tunnel \"nets\": activation: its ike_tunnel \"a-to-b\" has "
                             "remote_address 0.0.0.0 (any)"));
}

}  // namespace
}  // namespace ike::tunneldb

namespace ike::tunneldb {
namespace {

TEST_CASE("DH groups: 2 to 21 accepted, group 1 refused with the reason") {
  for (const char* g : {"MODP_1024", "MODP_1536", "MODP_3072", "MODP_4096", "ECP_256", "ECP_384",
                        "ECP_521", "MODP_2048_256"}) {
    INFO(g);
    CHECK(
        Database::Parse(
            Replace(Valid(), "dh_group: MODP_2048 }", std::string("dh_group: ") + g + " }"), kFile)
            .ok());
    CHECK(Database::Parse(Replace(Valid(), "pfs_group: MODP_2048", std::string("pfs_group: ") + g),
                          kFile)
              .ok());
  }
  CHECK_THAT(FirstError(Replace(Valid(), "dh_group: MODP_2048 }", "dh_group: MODP_768 }")),
             Catch::Contains("dh_group: MODP_768 (group 1) is refused: 768-bit Diffie-Hellman is "
                             "broken"));
  CHECK_THAT(FirstError(Replace(Valid(), "pfs_group: MODP_2048", "pfs_group: MODP_768")),
             Catch::Contains("MODP_768 (group 1) is refused"));
}

}  // namespace
}  // namespace ike::tunneldb

namespace ike::tunneldb {
namespace {

TEST_CASE("ESP_AES_GCM_16: 128 or 256 bits, no integrity") {
  const std::string gcm = Replace(Valid(), "encryption: ESP_AES_CBC integrity: HMAC_SHA2_256",
                                  "encryption: ESP_AES_GCM_16 key_length: 256");
  Result<Database> d = Database::Parse(gcm, kFile);
  REQUIRE(d.ok());
  CHECK(d->proto().ipsec_protection(0).proposal(0).key_length() == 256);
  CHECK(Database::Parse(Replace(gcm, "key_length: 256", ""), kFile)
            ->proto()
            .ipsec_protection(0)
            .proposal(0)
            .key_length() == 128);
  CHECK_THAT(FirstError(Replace(gcm, "key_length: 256", "key_length: 192")),
             Catch::Contains("key_length: 192 is not an AES-GCM key length (128 or 256)"));
  CHECK_THAT(FirstError(Replace(gcm, "key_length: 256", "key_length: 256 integrity: HMAC_SHA1")),
             Catch::Contains("integrity: ESP_AES_GCM_16 authenticates by itself"));
}

}  // namespace
}  // namespace ike::tunneldb

namespace ike::tunneldb {
namespace {

TEST_CASE("ESP_TRANSPORT: the selectors are the phase 1 endpoints") {
  const std::string hosts = Replace(
      Replace(Valid(), "local { address: \"198.51.100.1\" }", "local { address: \"192.0.2.1\" }"),
      "remote { subnet: \"203.0.113.0/24\" }", "remote { address: \"192.0.2.2\" }");
  const std::string transport =
      Replace(hosts, "  protection: \"p2\"\n}", "  protection: \"p2\"\n  mode: ESP_TRANSPORT\n}");
  CHECK(Database::Parse(transport, kFile).ok());
  CHECK_THAT(
      FirstError(Replace(transport, "remote { address: \"192.0.2.2\" }",
                         "remote { subnet: \"203.0.113.0/24\" }")),
      Catch::Contains("remote: ESP_TRANSPORT protects the endpoints' own traffic: remote must "
                      "be the address 192.0.2.2"));
}

}  // namespace
}  // namespace ike::tunneldb
