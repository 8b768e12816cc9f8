// The key log for Wireshark (settings.ike_key_log, issue 11.6), two engines
// over the fake network: one "icookie,key" line per phase 1 SA through the
// KeyLogSink, in both roles and both modes, none when off, and the syslog
// warnings that name the file without ever showing the key.
// The lines hold keys: the checks compare them, they are never printed.
#include <catch2/catch.hpp>

#include "tests/lib/fake_syslogd.h"
#include "tests/lib/isakmpd_pair.h"

namespace ike::isakmpd {
namespace {

using testing::Database;
using testing::Host;
using testing::kEsp;
using testing::kHostA;
using testing::kHostB;
using testing::kIke;
using testing::Pair;

const char kPathA[] = "/var/tmp/keys-a.txt";
const char kPathB[] = "/var/tmp/keys-b.txt";

// Wireshark's ikev1_decryption_table line for the SA |host| holds.
std::string ExpectedLine(Host& host) {
  SaManagerTestPeer peer(host.manager);
  const Phase1Context& sa = peer.Context(peer.FirstSa());
  REQUIRE(!sa.keys.enc_key.empty());
  return ToHex(sa.icookie) + "," + ToHex(sa.keys.enc_key.view()) + "\n";
}

db::TunnelDatabase Definitions(bool a_side, db::IkeMode mode, const std::string& key_log) {
  db::TunnelDatabase d =
      a_side ? Database(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", kIke, kEsp)
             : Database(kHostB, kHostA, "203.0.113.0/24", "198.51.100.0/24", kIke, kEsp);
  d.mutable_ike_protection(0)->set_mode(mode);
  if (mode == db::AGGRESSIVE) {  // Aggressive Mode finds the definition by identity
    auto* t = d.mutable_ike_tunnel(0);
    t->mutable_local_id()->set_type(db::FQDN);
    t->mutable_local_id()->set_value(a_side ? "a.example" : "b.example");
    t->mutable_remote_id()->set_type(db::FQDN);
    t->mutable_remote_id()->set_value(a_side ? "b.example" : "a.example");
  }
  d.mutable_settings()->set_ike_key_log(key_log);
  return d;
}

struct KeyLogPair : Pair {
  KeyLogPair(db::IkeMode mode, const std::string& log_a, const std::string& log_b) {
    db_a = Definitions(true, mode, log_a);
    a.manager.SetDatabase(db_a);
    b.manager.SetDatabase(Definitions(false, mode, log_b));
  }
  void Establish() {
    ipc::Phase1Request r;
    r.set_tunnel(1);
    *r.mutable_definition() = db_a.ike_tunnel(0);
    *r.mutable_protection() = db_a.ike_protection(0);
    REQUIRE(a.manager.StartPhase1(r).has_ack());
    Run();
    REQUIRE(a.Established(1));
    REQUIRE(b.Established(1));
    REQUIRE(a.manager.StartPhase2(Phase2(db_a)).has_ack());
    Run();
    REQUIRE(a.Established(2));
    REQUIRE(b.Established(2));
  }
  db::TunnelDatabase db_a;
};

TEST_CASE("key log on: one icookie,key line per phase 1 SA, both roles, both modes") {
  for (const db::IkeMode mode : {db::MAIN, db::AGGRESSIVE}) {
    INFO("mode " << db::IkeMode_Name(mode));
    KeyLogPair net(mode, kPathA, kPathB);
    net.Establish();  // Quick Mode adds no line: the phase 1 key protects it
    REQUIRE(net.a.key_log.size() == 1);
    REQUIRE(net.b.key_log.size() == 1);
    CHECK(net.a.key_log[0].path == kPathA);
    CHECK(net.b.key_log[0].path == kPathB);
    // Initiator and responder know the same SA by the same line.
    const std::string line = net.a.key_log[0].line;
    CHECK((line == ExpectedLine(net.a)));
    CHECK((net.b.key_log[0].line == line));
    // 8 octets of cookie, 16 of AES-128 key, lower-case hex.
    CHECK(line.size() == 16 + 1 + 32 + 1);
    CHECK(line.find_first_not_of("0123456789abcdef,\n") == std::string::npos);
  }
}

TEST_CASE("key log off (the default): nothing goes to the sink") {
  KeyLogPair net(db::MAIN, "", "");
  net.Establish();
  CHECK(net.a.key_log.empty());
  CHECK(net.b.key_log.empty());
  // On for one end only: only that end writes.
  KeyLogPair half(db::MAIN, "", kPathB);
  half.Establish();
  CHECK(half.a.key_log.empty());
  CHECK(half.b.key_log.size() == 1);
}

TEST_CASE("key log: the warning names the file at start, refresh and per SA, never the key") {
  ike::testing::FakeSyslogd syslogd("isakmpd_key_log_test");
  SetLogLevel(LogLevel::kEvents);
  KeyLogPair net(db::MAIN, kPathA, "");
  net.Establish();
  net.a.manager.SetDatabase(net.db_a);  // a refresh that keeps it on
  db::TunnelDatabase off = net.db_a;
  off.mutable_settings()->clear_ike_key_log();
  net.a.manager.SetDatabase(off);
  const std::string log = syslogd.Drain();
  REQUIRE(net.a.key_log.size() == 1);
  const std::string& line = net.a.key_log[0].line;
  const std::string key = line.substr(line.find(',') + 1, 32);
  // No INFO(log) here: on failure Catch would print the key with it.
  CHECK(log.find(key) == std::string::npos);
  size_t warnings = 0;
  const std::string warning =
      "WARNING: key log on (settings.ike_key_log): the IKE encryption "
      "key of every new phase 1 SA is appended to " +
      std::string(kPathA);
  for (size_t at = log.find(warning); at != std::string::npos; at = log.find(warning, at + 1))
    ++warnings;
  CHECK(warnings == 2);  // start and refresh
  CHECK(log.find("WARNING: key log on: this SA's encryption key went to " + std::string(kPathA)) !=
        std::string::npos);
  CHECK(log.find("key log off (settings.ike_key_log is empty): no more keys go to " +
                 std::string(kPathA)) != std::string::npos);
}

}  // namespace
}  // namespace ike::isakmpd
