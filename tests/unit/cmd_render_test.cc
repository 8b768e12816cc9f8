// ike output, byte for byte.
#include <catch2/catch.hpp>

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

}  // namespace ike::cmd
