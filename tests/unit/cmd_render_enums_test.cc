// ike output from rows that carry enums (what tmd sends since issue 7), byte
// for byte: the same text as cmd_render_test.cc's rows that carry names
// (what an older tmd sent), through the one name table (tunneldb/names.h).
#include <catch2/catch.hpp>

#include "ikecmd/render.h"

namespace ike::cmd {
namespace {

TEST_CASE("enum rows render the AIX table byte for byte") {
  ipc::ListReply r;
  ipc::Phase1Status* p1 = r.add_phase1();
  p1->set_number(1);
  p1->set_tunnel_status(ipc::FAILED);
  p1->set_local_id("192.0.2.1");
  p1->set_remote_id("192.0.2.2");
  p1->set_reason("peer 192.0.2.2 not answering: no reply to message 1 after 5 tries");
  ipc::Phase2Status* p2 = r.add_phase2();
  p2->set_number(1);
  p2->set_phase1_number(1);
  p2->set_tunnel_status(ipc::ACTIVE);
  p2->set_local_id("198.51.100.1-198.51.100.1");
  p2->set_remote_id("203.0.113.1-203.0.113.1");
  CHECK(RenderTable(r) ==
        "Phase  Tun Id  Status      Local Id                        Remote Id\n"
        "1      1       Failed      192.0.2.1                       192.0.2.2\n"
        "2      1       Active      198.51.100.1-198.51.100.1       203.0.113.1-203.0.113.1\n"
        "Phase 1 tunnel 1 failed: peer 192.0.2.2 not answering: no reply to message 1 after 5 "
        "tries\n");
}

TEST_CASE("Dormant and Clear rows: discovery says it runs in the clear, and why") {
  ipc::ListReply r;
  ipc::Phase2Status* dormant = r.add_phase2();
  dormant->set_number(1);
  dormant->set_tunnel_status(ipc::DORMANT);
  dormant->set_activation(db::ON_DEMAND);
  dormant->set_local_id("198.51.100.1-198.51.100.1");
  dormant->set_remote_id("203.0.113.1-203.0.113.1");
  ipc::Phase2Status* clear = r.add_phase2();
  clear->set_number(2);
  clear->set_tunnel_status(ipc::CLEAR);
  clear->set_activation(db::DISCOVERY);
  clear->set_local_id("198.51.100.1-198.51.100.1");
  clear->set_remote_id("203.0.113.200-203.0.113.200");
  clear->set_reason(
      "in the clear: peer 198.51.100.10 not answering; traffic after 12:00:30 (30 s) "
      "starts the next attempt");
  CHECK(RenderTable(r) ==
        "Phase  Tun Id  Status      Local Id                        Remote Id\n"
        "2      1       Dormant     198.51.100.1-198.51.100.1       203.0.113.1-203.0.113.1\n"
        "2      2       Clear       198.51.100.1-198.51.100.1       203.0.113.200-203.0.113.200\n"
        "Phase 2 tunnel 2 runs in the clear: peer 198.51.100.10 not answering; traffic after "
        "12:00:30 (30 s) starts the next attempt\n");
  const std::string verbose = RenderVerbose(r);
  CHECK(verbose.find("Activation:         on-demand\n") != std::string::npos);
  CHECK(verbose.find("Activation:         discovery\n") != std::string::npos);
  CHECK(verbose.find("Reason:             in the clear: peer 198.51.100.10") != std::string::npos);
  CHECK(verbose.find("Phase 1 Tunnel:     -\n") != std::string::npos);  // none yet
}

ipc::Phase1Status Phase1Enums() {
  ipc::Phase1Status p;
  p.set_number(3);
  p.set_name("a-to-b");
  p.set_tunnel_status(ipc::NEGOTIATING);
  p.set_phase1_state(ipc::PHASE1_WAIT_KE);
  p.set_tunnel_role(ipc::RESPONDER);
  p.set_exchange_mode(ipc::MAIN);
  p.set_local_address("192.0.2.1");
  p.set_remote_address("192.0.2.2");
  p.set_local_id("192.0.2.1");
  p.set_local_id_type(ipc::ID_IPV4_ADDR);
  p.set_remote_id("192.0.2.2");
  p.set_remote_id_type(ipc::ID_IPV4_ADDR);
  p.set_icookie("0123456789abcdef");
  p.set_encryption_alg(db::AES_CBC);
  p.set_key_length(256);
  p.set_hash_alg(db::SHA2_256);
  p.set_auth(db::PRESHARED_KEY);
  p.set_group(db::MODP_2048);
  p.set_lifetime_seconds(28800);
  return p;
}

// The same row as an older tmd sent it.
ipc::Phase1Status Phase1Text() {
  ipc::Phase1Status p;
  p.set_number(3);
  p.set_name("a-to-b");
  p.set_status("Negotiating");
  p.set_state("WAIT KE");
  p.set_role("Responder");
  p.set_mode("Main");
  p.set_local_address("192.0.2.1");
  p.set_remote_address("192.0.2.2");
  p.set_local_id("192.0.2.1");
  p.set_local_id_type(ipc::ID_IPV4_ADDR);  // new with the enums: no text twin
  p.set_remote_id("192.0.2.2");
  p.set_remote_id_type(ipc::ID_IPV4_ADDR);
  p.set_icookie("0123456789abcdef");
  p.set_encryption("AES-CBC-256");
  p.set_hash("SHA2-256");
  p.set_auth_method("Preshared Key");
  p.set_dh_group("MODP2048 (14)");
  p.set_lifetime_seconds(28800);
  return p;
}

TEST_CASE("enum rows render the verbose block byte for byte") {
  ipc::ListReply r;
  *r.add_phase1() = Phase1Enums();
  ipc::Phase2Status* p2 = r.add_phase2();
  p2->set_number(1);
  p2->set_phase1_number(3);
  p2->set_tunnel_status(ipc::ACTIVE);
  p2->set_phase2_state(ipc::PHASE2_DONE);
  p2->set_tunnel_role(ipc::INITIATOR);
  p2->set_spi_in(0x1000);
  p2->set_encryption_alg(db::ESP_3DES);
  p2->set_integrity_alg(db::HMAC_SHA1);
  p2->set_pfs(db::DH_GROUP_NONE);
  p2->set_lifetime_seconds(3600);
  CHECK(RenderVerbose(r) ==
        "Phase:              1\n"
        "Tunnel Id:          3\n"
        "Name:               a-to-b\n"
        "Status:             Negotiating\n"
        "State:              WAIT KE\n"
        "Role:               Responder\n"
        "Mode:               Main\n"
        "Local Address:      192.0.2.1\n"
        "Remote Address:     192.0.2.2\n"
        "Local Id:           192.0.2.1\n"
        "Local Id Type:      IPV4_ADDR\n"
        "Remote Id:          192.0.2.2\n"
        "Remote Id Type:     IPV4_ADDR\n"
        "Initiator Cookie:   0123456789abcdef\n"
        "Responder Cookie:   -\n"
        "Encryption:         AES-CBC-256\n"
        "Hash:               SHA2-256\n"
        "Auth Method:        Preshared Key\n"
        "DH Group:           MODP2048 (14)\n"
        "Lifetime:           28800 s\n"
        "\n"
        "Phase:              2\n"
        "Tunnel Id:          1\n"
        "Name:               -\n"
        "Phase 1 Tunnel:     3\n"
        "Status:             Active\n"
        "State:              DONE\n"
        "Role:               Initiator\n"
        "Local Id:           -\n"
        "Local Id Type:      -\n"
        "Remote Id:          -\n"
        "Remote Id Type:     -\n"
        "SPI In:             0x00001000\n"
        "SPI Out:            -\n"
        "Encryption:         3DES-CBC\n"
        "Integrity:          HMAC-SHA1\n"
        "PFS Group:          none\n"
        "Lifetime:           3600 s\n");
  // An older tmd's text rows print the same.
  ipc::ListReply text;
  *text.add_phase1() = Phase1Text();
  ipc::ListReply enums;
  *enums.add_phase1() = Phase1Enums();
  CHECK(RenderVerbose(text) == RenderVerbose(enums));
}

TEST_CASE("a phase 2 row with the kernel's counters shows bytes and packets each way") {
  ipc::ListReply r;
  ipc::Phase2Status* t = r.add_phase2();
  t->set_number(1);
  t->set_tunnel_status(ipc::ACTIVE);
  CHECK(RenderVerbose(r).find("Bytes") == std::string::npos);  // state-only: none
  t->set_bytes_in(252);
  t->set_packets_in(3);
  t->set_bytes_out(504);
  t->set_packets_out(6);
  const std::string out = RenderVerbose(r);
  CHECK(out.find("Bytes In/Out:       252 / 504\n") != std::string::npos);
  CHECK(out.find("Packets In/Out:     3 / 6\n") != std::string::npos);
}

TEST_CASE("a rekeyed phase 2 row shows its rekeys and the time to the next one") {
  ipc::ListReply r;
  ipc::Phase2Status* t = r.add_phase2();
  t->set_number(1);
  t->set_tunnel_status(ipc::ACTIVE);
  t->set_lifetime_seconds(3600);
  CHECK(RenderVerbose(r, 1700000000).find("Rekey") == std::string::npos);  // an older tmd
  t->set_rekey_count(2);
  t->set_next_rekey_unix(1700000100);
  t->set_lifetime_kbytes(4608000);
  const std::string out = RenderVerbose(r, 1700000000);
  CHECK(out.find("Lifetime:           3600 s\nLifetime KB:        4608000\n") != std::string::npos);
  CHECK(out.find("Rekeys:             2\n") != std::string::npos);
  CHECK(out.find("Next Rekey:         in 100 s (at ") != std::string::npos);
  CHECK(RenderVerbose(r, 1700000200).find("Next Rekey:         due now\n") != std::string::npos);
  ipc::Phase1Status* p1 = r.add_phase1();
  p1->set_number(1);
  p1->set_tunnel_status(ipc::ACTIVE);
  p1->set_rekey_count(1);
  p1->set_next_rekey_unix(1700000050);
  CHECK(RenderVerbose(r, 1700000000).find("Rekeys:             1\nNext Rekey:         in 50 s") !=
        std::string::npos);
  r.clear_phase1();
  t->set_next_rekey_unix(0);  // a rekey under way
  CHECK(RenderVerbose(r, 1700000000).find("Next Rekey:         under way\n") != std::string::npos);
}

TEST_CASE("enum cache and filter rows render byte for byte") {
  ipc::ListReply r;
  ipc::TunnelCacheEntry* c = r.add_cache();
  c->set_tunnel(1);
  c->set_spi(0x1000);
  c->set_sa_direction(ipc::INBOUND);
  c->set_source("192.0.2.2");
  c->set_destination("192.0.2.1");
  c->set_ipsec_protocol(ipc::PROTO_ESP);
  c->set_encapsulation(ipc::TUNNEL);
  c->set_encryption_alg(db::ESP_AES_CBC);
  c->set_encryption_key_bits(128);
  c->set_integrity_alg(db::HMAC_SHA2_256);
  c->set_lifetime_seconds(3600);
  ipc::TunnelCacheEntry* n = r.add_cache();
  n->set_tunnel(2);
  n->set_spi(0x2000);
  n->set_sa_direction(ipc::OUTBOUND);
  n->set_source("192.0.2.1");
  n->set_destination("192.0.2.3");
  n->set_ipsec_protocol(ipc::PROTO_ESP);
  n->set_encapsulation(ipc::UDP_TUNNEL);
  n->set_source_port(4500);
  n->set_destination_port(4500);
  n->set_encryption_alg(db::ESP_3DES);
  n->set_encryption_key_bits(192);
  n->set_integrity_alg(db::HMAC_SHA1);
  n->set_lifetime_seconds(3600);
  n->set_bytes(252);  // the kernel's counters (XFRM backend)
  n->set_packets(3);
  CHECK(RenderCache(r) ==
        "Tun Id  SPI         Direction  Source     Destination  Protocol/Mode                "
        "Encryption    Integrity      Lifetime  Bytes  Packets\n"
        "1       0x00001000  inbound    192.0.2.2  192.0.2.1    ESP/tunnel                   "
        "AES-CBC-128   HMAC-SHA2-256  3600 s    0      0\n"
        "2       0x00002000  outbound   192.0.2.1  192.0.2.3    ESP/tunnel-in-UDP 4500>4500  "
        "3DES-CBC-192  HMAC-SHA1      3600 s    252    3\n");
  ipc::FilterRule* f = r.add_filter();
  f->set_id(3);
  f->set_tunnel(1);
  f->set_rule_action(ipc::PERMIT);
  f->set_rule_direction(ipc::OUTBOUND);
  f->set_source("198.51.100.1-198.51.100.1");
  f->set_destination("203.0.113.1-203.0.113.1");
  f->set_spi(0x2000);
  CHECK(RenderFilters(r) ==
        "Rule  Tun Id  Action  Direction  Source                     Destination              "
        "Protocol  Src Port  Dst Port  SPI\n"
        "3     1       permit  outbound   198.51.100.1-198.51.100.1  203.0.113.1-203.0.113.1  "
        "all       any       any       0x00002000\n");
  // A trap (on-demand, discovery): no tunnel number, no SPI.
  ipc::FilterRule* trap = r.add_filter();
  trap->set_id(4);
  trap->set_rule_action(ipc::TRAP_CLEAR);
  trap->set_rule_direction(ipc::OUTBOUND);
  trap->set_source("198.51.100.1-198.51.100.1");
  trap->set_destination("203.0.114.0-203.0.114.255");
  CHECK(RenderFilters(r) ==
        "Rule  Tun Id  Action      Direction  Source                     Destination            "
        "    Protocol  Src Port  Dst Port  SPI\n"
        "3     1       permit      outbound   198.51.100.1-198.51.100.1  203.0.113.1-203.0.113.1"
        "    all       any       any       0x00002000\n"
        "4     -       trap-clear  outbound   198.51.100.1-198.51.100.1  "
        "203.0.114.0-203.0.114.255  all       any       any       -\n");
}

}  // namespace
}  // namespace ike::cmd
