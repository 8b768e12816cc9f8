// ike output, byte for byte.
#include <catch2/catch.hpp>
#include <ctime>

#include "ikecmd/render.h"

namespace ike::cmd {
namespace {

ipc::ListReply TwoTunnels() {
  ipc::ListReply r;
  ipc::Phase1Status* p1 = r.add_phase1();
  p1->set_number(1);
  p1->set_status("Active");
  p1->set_local_id("192.0.2.1");
  p1->set_remote_id("192.0.2.2");
  ipc::Phase2Status* p2 = r.add_phase2();
  p2->set_number(1);
  p2->set_phase1_number(1);
  p2->set_status("Active");
  p2->set_local_id("198.51.100.1-198.51.100.1");
  p2->set_remote_id("203.0.113.1-203.0.113.1");
  p2->set_spi_in(0x1000);
  return r;
}

TEST_CASE("list table matches the AIX layout") {
  // Columns at 0, 7, 15, 27, 59 as in the AIX 7.x capture (aix-ike.md 1.4).
  CHECK(RenderTable(TwoTunnels()) ==
        "Phase  Tun Id  Status      Local Id                        Remote Id\n"
        "1      1       Active      192.0.2.1                       192.0.2.2\n"
        "2      1       Active      198.51.100.1-198.51.100.1       203.0.113.1-203.0.113.1\n");
}

TEST_CASE("failed tunnels get a reason line after the table") {
  ipc::ListReply r = TwoTunnels();
  r.mutable_phase1(0)->set_status("Failed");
  r.mutable_phase1(0)->set_reason(
      "peer 192.0.2.2 not answering: no reply to message 1 after 5 tries");
  CHECK(RenderTable(r) ==
        "Phase  Tun Id  Status      Local Id                        Remote Id\n"
        "1      1       Failed      192.0.2.1                       192.0.2.2\n"
        "2      1       Active      198.51.100.1-198.51.100.1       203.0.113.1-203.0.113.1\n"
        "Phase 1 tunnel 1 failed: peer 192.0.2.2 not answering: no reply to message 1 after 5 "
        "tries\n");
}

TEST_CASE("empty list prints nothing; long ids keep a separating space") {
  CHECK(RenderTable(ipc::ListReply()).empty());
  ipc::ListReply r;
  ipc::Phase2Status* p2 = r.add_phase2();
  p2->set_number(12);
  p2->set_status("Negotiating");
  p2->set_local_id("2001:db8::1-2001:db8::ffff:ffff");
  p2->set_remote_id("2001:db8:1::1-2001:db8:1::1");
  CHECK(RenderTable(r) ==
        "Phase  Tun Id  Status      Local Id                        Remote Id\n"
        "2      12      Negotiating 2001:db8::1-2001:db8::ffff:ffff 2001:db8:1::1-2001:db8:1::1\n");
}

TEST_CASE("verbose block") {
  ipc::ListReply r;
  ipc::Phase2Status* p2 = r.add_phase2();
  p2->set_number(1);
  p2->set_phase1_number(1);
  p2->set_status("Active");
  p2->set_state("DONE");
  p2->set_spi_in(0x1000);
  p2->set_spi_out(0xabcdef01);
  p2->set_lifetime_seconds(3600);
  const std::string out = RenderVerbose(r);
  CHECK(out.find("Phase 1 Tunnel:     1\n") != std::string::npos);
  CHECK(out.find("SPI In:             0x00001000\n") != std::string::npos);
  CHECK(out.find("SPI Out:            0xabcdef01\n") != std::string::npos);
  CHECK(out.find("Lifetime:           3600 s\n") != std::string::npos);
  CHECK(out.find("Reason") == std::string::npos);
}

TEST_CASE("verbose State in the AIX, IOS or ASA vocabulary (issue 11.2)") {
  ipc::ListReply r;
  ipc::Phase1Status* p1 = r.add_phase1();
  p1->set_number(1);
  p1->set_tunnel_status(ipc::NEGOTIATING);
  p1->set_phase1_state(ipc::PHASE1_WAIT_KE);
  p1->set_ios_state(ipc::MM_SA_SETUP);
  p1->set_asa_state(ipc::MM_WAIT_MSG3);
  ipc::Phase2Status* p2 = r.add_phase2();
  p2->set_number(1);
  p2->set_tunnel_status(ipc::NEGOTIATING);
  p2->set_phase2_state(ipc::PHASE2_KEP);
  p2->set_ios_state(ipc::IKE_QM_R_QM2);
  auto states = [&](db::StateNames names) {
    std::string out = RenderVerbose(r, 1, names), found;
    for (size_t at = out.find("State:"); at != std::string::npos; at = out.find("State:", at + 1))
      found += out.substr(at, out.find('\n', at) - at) + "|";
    return found;
  };
  CHECK(states(db::STATE_NAMES_UNSPECIFIED) ==
        "State:              WAIT KE|State:              KEP|");
  CHECK(states(db::STATE_NAMES_IOS) ==
        "State:              MM_SA_SETUP|State:              IKE_QM_R_QM2|");
  CHECK(states(db::STATE_NAMES_ASA) == "State:              MM_WAIT_MSG3|State:              -|");
  // Not on the command line: settings.state_names, sent by tmd with the rows.
  r.set_state_names(db::STATE_NAMES_IOS);
  CHECK(states(db::STATE_NAMES_UNSPECIFIED) ==
        "State:              MM_SA_SETUP|State:              IKE_QM_R_QM2|");
  CHECK(states(db::STATE_NAMES_AIX) == "State:              WAIT KE|State:              KEP|");
}

TEST_CASE("json: every verbose field under a stable key, null when absent (issue 11.1)") {
  ipc::ListReply r;
  ipc::Phase1Status* p1 = r.add_phase1();
  p1->set_number(1);
  p1->set_name("t\"1");  // quoted as JSON
  p1->set_tunnel_status(ipc::ACTIVE);
  p1->set_phase1_state(ipc::PHASE1_DONE);
  p1->set_ios_state(ipc::QM_IDLE);
  p1->set_asa_state(ipc::MM_ACTIVE);
  p1->set_lifetime_seconds(28800);
  p1->set_established_unix(1000);
  p1->set_group(db::MODP_2048);
  ipc::Phase2Status* p2 = r.add_phase2();
  p2->set_number(2);
  p2->set_phase1_number(1);
  p2->set_tunnel_status(ipc::ACTIVE);
  p2->set_spi_in(0x1000);
  p2->set_bytes_in(0);  // present and zero: 0, not null
  const std::string out = RenderJson(r, 1800);
  CHECK(out.rfind("{\"phase1\":[\n{\"tunnel\":1,\"name\":\"t\\\"1\",\"status\":\"Active\",", 0) ==
        0);
  CHECK(out.find("\"state\":{\"aix\":\"DONE\",\"ios\":\"QM_IDLE\",\"asa\":\"MM_ACTIVE\"}") !=
        std::string::npos);
  CHECK(out.find("\"dh_group\":\"MODP2048 (14)\"") != std::string::npos);
  CHECK(out.find("\"seconds_left\":28000") != std::string::npos);
  CHECK(out.find("\"spi_in\":\"0x00001000\",\"spi_out\":null") != std::string::npos);
  CHECK(out.find("\"bytes_in\":0,\"packets_in\":null") != std::string::npos);
  CHECK(out.find("\"state\":{\"aix\":null,\"ios\":null,\"asa\":null}") != std::string::npos);
  CHECK(RenderJson(ipc::ListReply(), 1) == "{\"phase1\":[],\"phase2\":[]}\n");
}

TEST_CASE("verbose NAT-T and DPD, once established (issue 11.1)") {
  ipc::ListReply r;
  ipc::Phase1Status* p1 = r.add_phase1();
  p1->set_number(1);
  p1->set_tunnel_status(ipc::ACTIVE);
  p1->set_established_unix(100);
  p1->set_nat_t(ipc::NAT_T_DRAFT_03);
  p1->set_nat_local(true);
  p1->set_peer_dpd(true);
  p1->set_dpd_interval_seconds(30);
  std::string out = RenderVerbose(r, 200);
  CHECK(out.find("NAT-T:              draft-03, NAT in front of us\n") != std::string::npos);
  CHECK(out.find("DPD:                every 30 s when idle; the peer supports it\n") !=
        std::string::npos);
  CHECK(RenderJson(r, 200).find("\"nat_traversal\":{\"version\":\"draft-03\",\"nat_local\":true,"
                                "\"nat_remote\":false},\"dpd\":{\"interval_seconds\":30,\"mode\":"
                                "\"idle\",\"peer_supports\":true}") != std::string::npos);
  p1->set_established_unix(0);  // negotiating: nothing agreed yet
  out = RenderVerbose(r, 200);
  CHECK(out.find("NAT-T") == std::string::npos);
  CHECK(RenderJson(r, 200).find("\"nat_traversal\":null,\"dpd\":null") != std::string::npos);
}

TEST_CASE("cache and filter tables") {
  ipc::ListReply r;
  ipc::TunnelCacheEntry* c = r.add_cache();
  c->set_tunnel(1);
  c->set_spi(0x1000);
  c->set_direction("inbound");
  c->set_source("192.0.2.2");
  c->set_destination("192.0.2.1");
  c->set_protocol("ESP");
  c->set_mode("tunnel");
  c->set_encryption("AES-CBC");
  c->set_encryption_key_bits(128);
  c->set_integrity("HMAC-SHA2-256");
  c->set_lifetime_seconds(3600);
  CHECK(RenderCache(r) ==
        "Tun Id  SPI         Direction  Source     Destination  Protocol/Mode  Encryption   "
        "Integrity      Lifetime  Bytes  Packets\n"
        "1       0x00001000  inbound    192.0.2.2  192.0.2.1    ESP/tunnel     AES-CBC-128  "
        "HMAC-SHA2-256  3600 s    0      0\n");
  ipc::FilterRule* f = r.add_filter();
  f->set_id(3);
  f->set_tunnel(1);
  f->set_action("permit");
  f->set_direction("outbound");
  f->set_source("198.51.100.1-198.51.100.1");
  f->set_destination("203.0.113.1-203.0.113.1");
  f->set_spi(0x2000);
  CHECK(RenderFilters(r) ==
        "Rule  Tun Id  Action  Direction  Source                     Destination              "
        "Protocol  Src Port  Dst Port  SPI\n"
        "3     1       permit  outbound   198.51.100.1-198.51.100.1  203.0.113.1-203.0.113.1  "
        "all       any       any       0x00002000\n");
  // A tcp/22 tunnel's rule (AIX filter rules name protocol and ports).
  f->set_protocol(6);
  f->set_destination_port(22);
  CHECK(RenderFilters(r) ==
        "Rule  Tun Id  Action  Direction  Source                     Destination              "
        "Protocol  Src Port  Dst Port  SPI\n"
        "3     1       permit  outbound   198.51.100.1-198.51.100.1  203.0.113.1-203.0.113.1  "
        "6         any       22        0x00002000\n");
}

// The AIX 7.x capture of aix-ike.md 1.4, with lab addresses:
//   Phase  Tun Id  Status      Local Id                        Remote Id
//   1      1       Active      <LOCAL_IP_A>                    <REMOTE_IP_B>
//   2      1       Active      <LOCAL_IP_A>-<LOCAL_IP_A>       <REMOTE_IP_B>-<REMOTE_IP_B>
// Built as tmd sends a plain listing (enums, only the table's fields); every
// line ends with its last cell (the capture has no trailing blanks).
TEST_CASE("the plain table is the AIX 7.x capture byte for byte") {
  ipc::ListReply r;
  ipc::Phase2Status* p2 = r.add_phase2();  // rows are printed phase 1 first
  p2->set_number(1);
  p2->set_phase1_number(1);
  p2->set_tunnel_status(ipc::ACTIVE);
  p2->set_local_id("192.0.2.1-192.0.2.1");
  p2->set_remote_id("192.0.2.2-192.0.2.2");
  ipc::Phase1Status* p1 = r.add_phase1();
  p1->set_number(1);
  p1->set_tunnel_status(ipc::ACTIVE);
  p1->set_local_id("192.0.2.1");
  p1->set_remote_id("192.0.2.2");
  const std::string golden =
      "Phase  Tun Id  Status      Local Id                        Remote Id\n"
      "1      1       Active      192.0.2.1                       192.0.2.2\n"
      "2      1       Active      192.0.2.1-192.0.2.1             192.0.2.2-192.0.2.2\n";
  CHECK(RenderTable(r) == golden);
  // Columns start at 0, 7, 15, 27 and 59 on every line.
  for (size_t at = 0; at < golden.size(); at = golden.find('\n', at) + 1) {
    const std::string line = golden.substr(at, golden.find('\n', at) - at);
    for (size_t col : {7, 15, 27, 59}) {
      CHECK(line[col - 1] == ' ');
      CHECK(line[col] != ' ');
    }
  }
  // What list prints without options is that table.
  Arguments plain;
  plain.cmd = Subcommand::kList;
  CHECK(RenderList(r, plain) == golden);
}

// Local time as LocalTime() prints it, whatever TZ the test runs in.
std::string Clock(uint64_t at) {
  const time_t when = static_cast<time_t>(at);
  struct tm local {};
  localtime_r(&when, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

TEST_CASE("verbose and json: identity types beside the ids (issue 11.1)") {
  ipc::ListReply r;
  ipc::Phase1Status* p1 = r.add_phase1();
  p1->set_number(1);
  p1->set_tunnel_status(ipc::ACTIVE);
  p1->set_local_id("gw-a.example.com");
  p1->set_local_id_type(ipc::ID_FQDN);
  p1->set_remote_id("192.0.2.2");
  p1->set_remote_id_type(ipc::ID_IPV4_ADDR);
  ipc::Phase2Status* p2 = r.add_phase2();
  p2->set_number(1);
  p2->set_tunnel_status(ipc::ACTIVE);
  p2->set_local_id("198.51.100.0-198.51.100.255");
  p2->set_local_id_type(ipc::ID_IPV4_ADDR_SUBNET);
  p2->set_remote_id("2001:db8::1-2001:db8::9");
  p2->set_remote_id_type(ipc::ID_IPV6_ADDR_RANGE);
  const std::string out = RenderVerbose(r, 1);
  CHECK(out.find("Local Id:           gw-a.example.com\n"
                 "Local Id Type:      FQDN\n"
                 "Remote Id:          192.0.2.2\n"
                 "Remote Id Type:     IPV4_ADDR\n") != std::string::npos);
  CHECK(out.find("Local Id:           198.51.100.0-198.51.100.255\n"
                 "Local Id Type:      IPV4_ADDR_SUBNET\n"
                 "Remote Id:          2001:db8::1-2001:db8::9\n"
                 "Remote Id Type:     IPV6_ADDR_RANGE\n") != std::string::npos);
  const std::string json = RenderJson(r, 1);
  CHECK(json.find("\"local_id\":\"gw-a.example.com\",\"local_id_type\":\"FQDN\","
                  "\"remote_id\":\"192.0.2.2\",\"remote_id_type\":\"IPV4_ADDR\"") !=
        std::string::npos);
  CHECK(json.find("\"local_id_type\":\"IPV4_ADDR_SUBNET\"") != std::string::npos);
  CHECK(json.find("\"remote_id_type\":\"IPV6_ADDR_RANGE\"") != std::string::npos);
  // Unknown (an older tmd): "-" and null.
  p1->clear_local_id_type();
  CHECK(RenderVerbose(r, 1).find("Local Id Type:      -\n") != std::string::npos);
  CHECK(RenderJson(r, 1).find("\"local_id_type\":null") != std::string::npos);
}

TEST_CASE("Last Error: a tunnel up again after a failure says what failed and when") {
  ipc::ListReply r;
  ipc::Phase1Status* p1 = r.add_phase1();
  p1->set_number(1);
  p1->set_tunnel_status(ipc::ACTIVE);
  p1->set_last_error("peer 192.0.2.2 not answering: no reply to message 1 after 5 tries");
  p1->set_last_error_unix(1796392681);
  ipc::Phase2Status* p2 = r.add_phase2();
  p2->set_number(1);
  p2->set_tunnel_status(ipc::NEGOTIATING);
  p2->set_last_error("phase 1 tunnel 1 failed: peer 192.0.2.2 not answering");
  p2->set_last_error_unix(1796392681);
  std::string out = RenderVerbose(r, 1796392700);
  CHECK(out.find("Last Error:         peer 192.0.2.2 not answering: no reply to message 1 after "
                 "5 tries (" +
                 Clock(1796392681) + ")\n") != std::string::npos);
  CHECK(out.find("Last Error:         phase 1 tunnel 1 failed: peer 192.0.2.2 not answering (" +
                 Clock(1796392681) + ")\n") != std::string::npos);
  CHECK(out.find("Reason") == std::string::npos);
  std::string json = RenderJson(r, 1796392700);
  CHECK(json.find("\"last_error\":\"peer 192.0.2.2 not answering: no reply to message 1 "
                  "after 5 tries\",\"last_error_unix\":1796392681}") != std::string::npos);
  // Failed again: its Reason is the news, not an older error.
  p1->set_tunnel_status(ipc::FAILED);
  p1->set_reason("authentication failed");
  out = RenderVerbose(r, 1796392700);
  CHECK(out.find("Reason:             authentication failed\n") != std::string::npos);
  CHECK(out.find("Last Error:         peer") == std::string::npos);
  json = RenderJson(r, 1796392700);
  CHECK(json.find("\"reason\":\"authentication failed\",\"last_error\":null,"
                  "\"last_error_unix\":null}") != std::string::npos);
  // Never failed: no line, null in JSON.
  r.mutable_phase2(0)->clear_last_error();
  CHECK(RenderVerbose(r, 1796392700).find("Last Error:         phase") == std::string::npos);
}

ipc::ListReply Definitions() {
  ipc::ListReply r;
  db::TunnelDatabase* d = r.mutable_database();
  db::IkeTunnel* k = d->add_ike_tunnel();
  k->set_name("t1");
  k->mutable_local_id()->set_value("192.0.2.1");
  k->mutable_remote_id()->set_value("192.0.2.2");
  db::IkeTunnel* k2 = d->add_ike_tunnel();
  k2->set_name("t2");
  k2->mutable_local_id()->set_value("192.0.2.1");
  k2->mutable_remote_id()->set_value("gw-c.example.com");
  k2->set_autostart(true);
  db::IpsecTunnel* t = d->add_ipsec_tunnel();
  t->set_name("t1-net");
  t->set_ike_tunnel("t1");
  t->mutable_local()->set_subnet("198.51.100.0/24");
  t->mutable_remote()->set_address("203.0.113.1");
  db::IpsecTunnel* t2 = d->add_ipsec_tunnel();
  t2->set_name("t2-net");
  t2->set_ike_tunnel("t2");
  t2->mutable_local()->set_range("198.51.100.1-198.51.100.9");
  t2->mutable_remote()->set_subnet("203.0.113.0/24");
  return r;
}

TEST_CASE("list db: each definition Active, Negotiating, ... or Inactive, byte for byte") {
  ipc::ListReply r = Definitions();
  auto status = [&](uint32_t phase, const char* name, ipc::TunnelStatus s, uint32_t n) {
    ipc::DefinitionStatus* d = r.add_definition_status();
    d->set_phase(phase);
    d->set_name(name);
    d->set_status(s);
    d->set_tunnel(n);
  };
  status(1, "t1", ipc::ACTIVE, 1);
  status(1, "t2", ipc::TUNNEL_STATUS_UNSPECIFIED, 0);
  status(2, "t1-net", ipc::NEGOTIATING, 1);
  status(2, "t2-net", ipc::TUNNEL_STATUS_UNSPECIFIED, 0);
  CHECK(
      RenderDatabase(r) ==
      "Phase  Def Id  Name    Local Id                   Remote Id         Autostart  Status\n"
      "1      1       t1      192.0.2.1                  192.0.2.2         no         Active\n"
      "1      2       t2      192.0.2.1                  gw-c.example.com  yes        Inactive\n"
      "2      1       t1-net  198.51.100.0/24            203.0.113.1       no         "
      "Negotiating\n"
      "2      2       t2-net  198.51.100.1-198.51.100.9  203.0.113.0/24    no         Inactive\n");
  Arguments db;
  db.cmd = Subcommand::kList;
  db.db = true;
  CHECK(RenderList(r, db) == RenderDatabase(r));
  // An older tmd says nothing about tunnels: no Status column at all.
  CHECK(RenderDatabase(Definitions()) ==
        "Phase  Def Id  Name    Local Id                   Remote Id         Autostart\n"
        "1      1       t1      192.0.2.1                  192.0.2.2         no\n"
        "1      2       t2      192.0.2.1                  gw-c.example.com  yes\n"
        "2      1       t1-net  198.51.100.0/24            203.0.113.1       no\n"
        "2      2       t2-net  198.51.100.1-198.51.100.9  203.0.113.0/24    no\n");
  CHECK(RenderDatabase(ipc::ListReply()).empty());
}

TEST_CASE("activate and remove messages") {
  ipc::ActivateReply a;
  auto add = [&](uint32_t phase, uint32_t n) {
    ipc::TunnelRef* t = a.add_started();
    t->set_phase(phase);
    t->set_number(n);
  };
  add(1, 1);
  add(2, 1);
  add(2, 2);
  add(1, 2);
  CHECK(RenderActivate(a) ==
        "Phase 1 tunnel 1 and phase 2 tunnel 1 are being activated.\n"
        "Phase 2 tunnel 2 is being activated.\n"
        "Phase 1 tunnel 2 is being activated.\n");
  ipc::RemoveReply r;
  ipc::TunnelRef* t = r.add_removed();
  t->set_phase(2);
  t->set_number(4);
  CHECK(RenderRemove(r) == "Phase 2 tunnel 4 has been removed.\n");
}

}  // namespace
TEST_CASE("a listing in chunks renders exactly as one reply") {
  ipc::ListReply whole;
  for (uint32_t n = 1; n <= 5; ++n) {
    auto* p = whole.add_phase1();
    p->set_number(n);
    p->set_status(n == 4 ? "Failed" : "Active");
    p->set_local_id("192.0.2.1");
    p->set_remote_id("192.0.2." + std::to_string(n + 1));
    if (n == 4) p->set_reason("peer 192.0.2.5 not answering");
    auto* q = whole.add_phase2();
    q->set_number(n);
    q->set_status("Active");
    q->set_local_id("198.51.100.1-198.51.100.1");
    q->set_remote_id("203.0.113.1-203.0.113.1");
  }
  // Chunks of 3 rows: phase 1 rows 1-3; 4-5 and phase 2 row 1; 2-4; 5.
  std::vector<ipc::ListReply> chunks(4);
  int row = 0;
  for (const auto& p : whole.phase1()) *chunks[row++ / 3].add_phase1() = p;
  for (const auto& q : whole.phase2()) *chunks[row++ / 3].add_phase2() = q;
  ipc::Envelope joined;
  for (size_t i = 0; i < chunks.size(); ++i) {
    chunks[i].set_more(i + 1 < chunks.size());
    AppendListChunk(&chunks[i], &joined);
  }
  CHECK_FALSE(joined.list_reply().more());
  CHECK(RenderTable(joined.list_reply()) == RenderTable(whole));
  CHECK(RenderVerbose(joined.list_reply()) == RenderVerbose(whole));
}

TEST_CASE("a joined reply keeps the state names and list db's statuses") {
  // settings.state_names rides on every chunk of a listing.
  ipc::ListReply chunk;
  chunk.set_state_names(db::STATE_NAMES_IOS);
  ipc::Phase1Status* p1 = chunk.add_phase1();
  p1->set_number(1);
  p1->set_tunnel_status(ipc::ACTIVE);
  p1->set_ios_state(ipc::QM_IDLE);
  const ipc::ListReply whole = chunk;
  ipc::Envelope joined;
  AppendListChunk(&chunk, &joined);
  CHECK(joined.list_reply().state_names() == db::STATE_NAMES_IOS);
  CHECK(RenderVerbose(joined.list_reply(), 1) == RenderVerbose(whole, 1));
  CHECK(RenderVerbose(joined.list_reply(), 1).find("State:              QM_IDLE\n") !=
        std::string::npos);
  // ike cmd=list db: one reply, the definitions and their statuses.
  ipc::ListReply db_reply;
  db_reply.mutable_database()->add_ike_tunnel()->set_name("t1");
  ipc::DefinitionStatus* d = db_reply.add_definition_status();
  d->set_phase(1);
  d->set_name("t1");
  d->set_status(ipc::ACTIVE);
  const ipc::ListReply db_whole = db_reply;
  ipc::Envelope db_joined;
  AppendListChunk(&db_reply, &db_joined);
  CHECK(RenderDatabase(db_joined.list_reply()) == RenderDatabase(db_whole));
  CHECK(RenderDatabase(db_joined.list_reply()).find("Active") != std::string::npos);
}

}  // namespace ike::cmd
