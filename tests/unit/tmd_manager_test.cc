// TunnelManager: numbering, the seven-step flow against a fake isakmpd, the
// responder path, failures, removal and list ordering.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "tests/lib/fake_syslogd.h"
#include "tests/lib/fakes.h"
#include "tests/lib/tmd_fakes.h"
#include "tmd/core/tunnel_manager.h"
#include "tunneldb/names.h"

namespace ike::tmd {
namespace {

// What ike prints for a row's status and state (the one name table).
template <typename Row>
std::string Status(const Row& r) {
  return tunneldb::TunnelStatusName(r.tunnel_status());
}
std::string State(const ipc::Phase1Status& r) {
  return tunneldb::Phase1StateName(r.phase1_state());
}

using testing::FixedClock;

// Records what tmd sends to isakmpd; Take() pops the oldest.
class FakeIsakmpd : public testing::FakeIsakmpdLink {
 public:
  ipc::Envelope Take() {
    REQUIRE_FALSE(sent.empty());
    ipc::Envelope e = sent.front();
    sent.erase(sent.begin());
    return e;
  }
};

// Three definitions: two ipsec tunnels over phase 1 "ab", one over "ac".
const char kDb[] = R"(
ike_protection { name: "p1" proposal { encryption: AES_CBC hash: SHA2_256 dh_group: MODP_2048 } }
ipsec_protection { name: "p2" proposal { encryption: ESP_AES_CBC integrity: HMAC_SHA2_256 } }
ike_tunnel { name: "ab" local_address: "192.0.2.1" remote_address: "192.0.2.2" protection: "p1" }
ike_tunnel { name: "ac" local_address: "192.0.2.1" remote_address: "192.0.2.3" protection: "p1"
             remote_id { type: FQDN value: "c.example.com" } }
ipsec_tunnel { name: "ab-1" ike_tunnel: "ab" protection: "p2"
               local { address: "198.51.100.1" } remote { address: "203.0.113.1" } }
ipsec_tunnel { name: "ab-2" ike_tunnel: "ab" protection: "p2"
               local { subnet: "198.51.100.0/24" } remote { range: "203.0.113.5-203.0.113.9" } }
ipsec_tunnel { name: "ac-1" ike_tunnel: "ac" protection: "p2" autostart: true
               local { address: "198.51.100.1" } remote { address: "203.0.114.1" } }
)";

struct Fixture {
  Fixture() : manager(kernel, isakmpd, clock) {
    Result<Database> d = Database::Parse(kDb, "tunnels.db");
    INFO((d.ok() ? std::string() : d.error().message));
    REQUIRE(d.ok());
    manager.SetDatabase(std::make_shared<const Database>(std::move(d.value())));
  }
  ipc::Envelope Activate(std::vector<uint32_t> numlist, uint32_t phase = 0) {
    ipc::ActivateRequest r;
    r.set_phase(phase);
    for (uint32_t n : numlist) r.add_numlist(n);
    return manager.Activate(r);
  }
  void Deliver(ipc::Envelope e) { manager.OnIsakmpdMessage(e); }
  void Ack(const ipc::Envelope& request) {
    ipc::Envelope a;
    a.set_request_id(request.request_id());
    a.mutable_ack();
    Deliver(a);
  }
  void Phase1Up(uint32_t tunnel, uint64_t handle, const std::string& peer = "192.0.2.2") {
    ipc::Envelope e;
    auto* p = e.mutable_phase1_established();
    p->set_tunnel(tunnel);
    p->set_handle(handle);
    p->set_role(tunnel ? ipc::INITIATOR : ipc::RESPONDER);
    p->set_mode(ipc::MAIN);
    p->set_name(peer == "192.0.2.2" ? "ab" : "");
    p->set_local_address("192.0.2.1");
    p->set_remote_address(peer);
    p->set_local_id("192.0.2.1");
    p->set_remote_id(peer);
    p->set_icookie("0123456789abcdef");
    p->set_rcookie("fedcba9876543210");
    // What isakmpd reports for the suite of kDb's p1 (suite.cc, ipc_enums.cc).
    p->set_encryption(db::AES_CBC);
    p->set_key_length(128);
    p->set_hash(db::SHA2_256);
    p->set_auth_method(db::PRESHARED_KEY);
    p->set_dh_group(db::MODP_2048);
    p->set_lifetime_seconds(28800);
    Deliver(e);
  }
  ipc::Envelope Phase2Up(uint32_t tunnel, uint32_t p1, uint64_t handle, uint64_t p1_handle,
                         uint32_t spi_in, uint32_t spi_out, uint32_t protocol = 0,
                         uint32_t local_port = 0, uint32_t remote_port = 0) {
    ipc::Envelope e;
    auto* p = e.mutable_phase2_established();
    p->set_protocol(protocol);
    p->set_local_port(local_port);
    p->set_remote_port(remote_port);
    p->set_tunnel(tunnel);
    p->set_phase1_tunnel(p1);
    p->set_handle(handle);
    p->set_phase1_handle(p1_handle);
    p->set_name(tunnel ? "" : "ab-1");
    p->set_role(tunnel ? ipc::INITIATOR : ipc::RESPONDER);
    p->set_local_id("198.51.100.1-198.51.100.1");
    p->set_remote_id("203.0.113.1-203.0.113.1");
    p->set_lifetime_seconds(3600);
    for (auto [dir, spi, src, dst] :
         {std::tuple{ipc::INBOUND, spi_in, "192.0.2.2", "192.0.2.1"},
          std::tuple{ipc::OUTBOUND, spi_out, "192.0.2.1", "192.0.2.2"}}) {
      ipc::ChildSa* sa = p->add_sa();
      sa->set_direction(dir);
      sa->set_spi(spi);
      sa->set_source(src);
      sa->set_destination(dst);
      sa->set_encryption(db::ESP_AES_CBC);
      sa->set_encryption_key_bits(128);
      sa->set_encryption_key(std::string(16, 'K'));
      sa->set_integrity(db::HMAC_SHA2_256);
      sa->set_integrity_key(std::string(32, 'I'));
    }
    manager.OnIsakmpdMessage(e);
    return e;
  }
  FixedClock clock;
  FakeIsakmpd isakmpd;
  StateOnlyKernel kernel;
  TunnelManager manager;
};

TEST_CASE("activate numlist=1 on a fresh system runs the seven steps") {
  Fixture f;
  // Steps 1-2: ike -> tmd -> isakmpd Phase1Request.
  ipc::Envelope reply = f.Activate({1});
  REQUIRE(reply.has_activate_reply());
  REQUIRE(reply.activate_reply().started_size() == 2);
  CHECK(reply.activate_reply().started(0).phase() == 1);
  CHECK(reply.activate_reply().started(1).phase() == 2);
  ipc::Envelope p1 = f.isakmpd.Take();
  REQUIRE(p1.has_phase1_request());
  CHECK(p1.phase1_request().tunnel() == 1);
  CHECK(p1.phase1_request().definition().name() == "ab");
  CHECK(p1.phase1_request().protection().name() == "p1");
  CHECK(f.isakmpd.sent.empty());  // phase 2 waits for phase 1
  f.Ack(p1);
  CHECK(Status(Phase1Row(*f.manager.FindPhase1(1))) == "Negotiating");

  ipc::Envelope sc;
  auto* s = sc.mutable_state_change();
  s->set_phase(1);
  s->set_tunnel(1);
  s->set_handle(77);
  s->set_old_phase1(ipc::PHASE1_INIT);
  s->set_new_phase1(ipc::PHASE1_WAIT_SA);
  s->set_ios_phase1(ipc::MM_NO_STATE);
  s->set_asa_phase1(ipc::MM_WAIT_MSG2);
  s->set_icookie("0123456789abcdef");
  f.Deliver(sc);
  CHECK(State(Phase1Row(*f.manager.FindPhase1(1))) == "WAIT SA");
  // The same state in Cisco's words travels to the listing (issue 11.2).
  CHECK(Phase1Row(*f.manager.FindPhase1(1), true).ios_state() == ipc::MM_NO_STATE);
  CHECK(Phase1Row(*f.manager.FindPhase1(1), true).asa_state() == ipc::MM_WAIT_MSG2);

  // Step 3 -> step 4.
  f.Phase1Up(1, 77);
  CHECK(Status(Phase1Row(*f.manager.FindPhase1(1))) == "Active");
  ipc::Envelope p2 = f.isakmpd.Take();
  REQUIRE(p2.has_phase2_request());
  CHECK(p2.phase2_request().tunnel() == 1);
  CHECK(p2.phase2_request().phase1_tunnel() == 1);
  CHECK(p2.phase2_request().definition().name() == "ab-1");
  CHECK(p2.phase2_request().phase1_definition().name() == "ab");

  // Step 5 -> steps 6 and 7; keys wiped from the message after install.
  ipc::Envelope est = f.Phase2Up(1, 1, 78, 77, 0x1000, 0x2000);
  CHECK(est.phase2_established().sa(0).encryption_key().empty());
  const Phase2Tunnel* t2 = f.manager.FindPhase2(1);
  CHECK(Status(Phase2Row(*t2)) == "Active");
  CHECK(Phase2Row(*t2).spi_in() == 0x1000);
  CHECK(f.kernel.sa_count() == 2);
  auto rules = f.kernel.ListPolicies();
  REQUIRE(rules.size() == 2);
  CHECK(rules[0].rule_direction() == ipc::OUTBOUND);
  CHECK(rules[0].source() == "198.51.100.1-198.51.100.1");
  CHECK(rules[0].destination() == "203.0.113.1-203.0.113.1");
  CHECK(rules[0].spi() == 0x2000);
  CHECK(rules[1].rule_direction() == ipc::INBOUND);
  CHECK(rules[1].spi() == 0x1000);
  auto cache = f.kernel.ListSas();
  REQUIRE(cache.size() == 2);
  CHECK(cache[0].sa_direction() == ipc::INBOUND);
  CHECK(cache[0].encryption_key_bits() == 128);
}

TEST_CASE("second phase 2 over an active phase 1 goes straight to phase 2") {
  Fixture f;
  (void)f.Activate({1});
  f.isakmpd.Take();
  f.Phase1Up(1, 77);
  f.isakmpd.Take();
  ipc::Envelope reply = f.Activate({2});
  REQUIRE(reply.activate_reply().started_size() == 1);
  CHECK(reply.activate_reply().started(0).number() == 2);
  ipc::Envelope q = f.isakmpd.Take();
  REQUIRE(q.has_phase2_request());
  CHECK(q.phase2_request().phase1_tunnel() == 1);
  CHECK(Phase2Row(*f.manager.FindPhase2(2)).local_id() == "198.51.100.0-198.51.100.255");
  CHECK(Phase2Row(*f.manager.FindPhase2(2)).remote_id() == "203.0.113.5-203.0.113.9");
}

TEST_CASE("activation errors") {
  Fixture f;
  ipc::Envelope e = f.Activate({7});
  REQUIRE(e.has_error());
  CHECK(e.error().code() == ipc::UNKNOWN_TUNNEL);
  CHECK(e.error().reason() == "no tunnel 7 in the database or the tunnel list");

  (void)f.Activate({1});
  e = f.Activate({1});
  CHECK(e.error().code() == ipc::TUNNEL_ACTIVE);
  CHECK(e.error().reason() == "phase 2 tunnel 1 (ab-1) is already being negotiated");

  ipc::ActivateRequest r;
  r.set_local_address("192.0.2.1");
  r.set_remote_address("192.0.2.9");
  e = f.manager.Activate(r);
  CHECK(e.error().code() == ipc::INVALID_REMOTE_ADDRESS);
  CHECK(e.error().reason() ==
        "invalid remote address: no tunnel from 192.0.2.1 to 192.0.2.9 in the database");

  ipc::ActivateRequest n;
  n.add_namelist("nope");
  CHECK(f.manager.Activate(n).error().code() == ipc::UNKNOWN_TUNNEL);

  f.isakmpd.up = false;
  CHECK(f.Activate({3}).error().code() == ipc::NOT_READY);
}

TEST_CASE("selectors: namelist, remid, ipaddr, bare activate and phase=1") {
  Fixture f;
  ipc::ActivateRequest r;
  r.set_remid("c.example.com");
  ipc::Envelope e = f.manager.Activate(r);
  REQUIRE(e.activate_reply().started_size() == 2);
  CHECK(e.activate_reply().started(1).name() == "ac-1");

  ipc::ActivateRequest name;
  name.add_namelist("ab");
  name.set_phase(1);
  e = f.manager.Activate(name);
  REQUIRE(e.activate_reply().started_size() == 1);
  CHECK(e.activate_reply().started(0).phase() == 1);
  CHECK(e.activate_reply().started(0).number() == 2);

  // ipaddr selects the phase 2 tunnels of "ab"; phase 1 "ab" already runs.
  ipc::ActivateRequest ip;
  ip.set_local_address("192.0.2.1");
  ip.set_remote_address("192.0.2.2");
  e = f.manager.Activate(ip);
  REQUIRE(e.activate_reply().started_size() == 2);
  CHECK(e.activate_reply().started(0).name() == "ab-1");
  CHECK(e.activate_reply().started(1).name() == "ab-2");

  // Bare activate = the autostart definitions (ac-1), already running.
  e = f.manager.Activate(ipc::ActivateRequest());
  CHECK(e.error().code() == ipc::TUNNEL_ACTIVE);
}

TEST_CASE("failure keeps the tunnel listed with its reason; re-activation keeps the number") {
  Fixture f;
  (void)f.Activate({1});
  ipc::Envelope p1 = f.isakmpd.Take();
  ipc::Envelope fail;
  auto* nf = fail.mutable_negotiation_failed();
  nf->set_phase(1);
  nf->set_tunnel(1);
  nf->set_code(ipc::NEGOTIATION_TIMEOUT);
  nf->set_state1(ipc::PHASE1_WAIT_SA);
  nf->set_reason("peer 192.0.2.2 not answering: no reply to message 1 after 5 tries");
  f.Deliver(fail);
  CHECK(Status(Phase1Row(*f.manager.FindPhase1(1))) == "Failed");
  CHECK(State(Phase1Row(*f.manager.FindPhase1(1))) == "WAIT SA");
  CHECK(Status(Phase2Row(*f.manager.FindPhase2(1))) == "Failed");
  CHECK(Phase2Row(*f.manager.FindPhase2(1)).reason() ==
        "phase 1 tunnel 1 failed: peer 192.0.2.2 not answering: no reply to message 1 after 5 "
        "tries");
  ipc::Envelope again = f.Activate({1});
  REQUIRE(again.has_activate_reply());
  CHECK(again.activate_reply().started(0).number() == 1);
  CHECK(again.activate_reply().started(1).number() == 1);
  CHECK(Status(Phase2Row(*f.manager.FindPhase2(1))) == "Negotiating");
  CHECK(f.isakmpd.Take().phase1_request().tunnel() == 1);

  // isakmpd refusing the request outright (Error reply) fails it too.
  ipc::Envelope req = f.isakmpd.sent.empty() ? ipc::Envelope() : f.isakmpd.Take();
  (void)req;
  ipc::Envelope err;
  err.set_request_id(2);
  err.mutable_error()->set_code(ipc::BAD_ARGUMENT);
  err.mutable_error()->set_reason("no local address 192.0.2.1 bound");
  f.Deliver(err);
  CHECK(Phase1Row(*f.manager.FindPhase1(1)).reason() == "no local address 192.0.2.1 bound");
  (void)p1;
}

TEST_CASE("a tcp/22 phase 2: both filter rules name the protocol and the ports") {
  Fixture f;
  f.Phase1Up(0, 500);
  (void)f.isakmpd.Take();
  // We answer ssh: our port 22, the peer's any.
  (void)f.Phase2Up(0, 0, 501, 500, 0x10, 0x20, 6, 22, 0);
  auto rules = f.kernel.ListPolicies();
  REQUIRE(rules.size() == 2);
  CHECK(rules[0].rule_direction() == ipc::OUTBOUND);
  CHECK(rules[0].protocol() == 6);
  CHECK(rules[0].source_port() == 22);  // our answers leave from port 22
  CHECK(rules[0].destination_port() == 0);
  CHECK(rules[1].rule_direction() == ipc::INBOUND);
  CHECK(rules[1].protocol() == 6);
  CHECK(rules[1].source_port() == 0);
  CHECK(rules[1].destination_port() == 22);
}

TEST_CASE("responder: tmd numbers the tunnels and answers TunnelAssigned") {
  Fixture f;
  f.Phase1Up(0, 500);
  ipc::Envelope a = f.isakmpd.Take();
  REQUIRE(a.has_tunnel_assigned());
  CHECK(a.tunnel_assigned().handle() == 500);
  CHECK(a.tunnel_assigned().phase() == 1);
  CHECK(a.tunnel_assigned().tunnel() == 1);
  CHECK(Phase1Row(*f.manager.FindPhase1(1)).tunnel_role() == ipc::RESPONDER);
  (void)f.Phase2Up(0, 0, 501, 500, 0x10, 0x20);
  a = f.isakmpd.Take();
  CHECK(a.tunnel_assigned().phase() == 2);
  CHECK(a.tunnel_assigned().tunnel() == 1);
  CHECK(Phase2Row(*f.manager.FindPhase2(1)).phase1_number() == 1);
  CHECK(f.kernel.sa_count() == 2);
  // The peer deletes the phase 2 SA: cache entries and filters go.
  ipc::Envelope del;
  del.mutable_sa_deleted()->set_phase(2);
  del.mutable_sa_deleted()->set_handle(501);
  del.mutable_sa_deleted()->set_by_peer(true);
  f.Deliver(del);
  CHECK(f.manager.FindPhase2(1) == nullptr);
  CHECK(f.kernel.sa_count() == 0);
  CHECK(f.kernel.policy_count() == 0);
}

TEST_CASE("responder: a negotiation in progress is listed, a failure keeps its reason") {
  Fixture f;
  auto state_change = [&](uint64_t handle, ipc::Phase1State from, ipc::Phase1State to) {
    ipc::Envelope e;
    auto* s = e.mutable_state_change();
    s->set_phase(1);
    s->set_handle(handle);
    s->set_old_phase1(from);
    s->set_new_phase1(to);
    s->set_peer("192.0.2.2");
    f.Deliver(e);
  };
  state_change(700, ipc::PHASE1_INIT, ipc::PHASE1_WAIT_KE);
  ipc::Envelope a = f.isakmpd.Take();
  REQUIRE(a.has_tunnel_assigned());
  CHECK(a.tunnel_assigned().handle() == 700);
  CHECK(a.tunnel_assigned().tunnel() == 1);
  const Phase1Tunnel* t = f.manager.FindPhase1(1);
  REQUIRE(t != nullptr);
  CHECK(Status(Phase1Row(*t)) == "Negotiating");
  CHECK(Phase1Row(*t).tunnel_role() == ipc::RESPONDER);
  CHECK(State(Phase1Row(*t)) == "WAIT KE");

  ipc::Envelope failed;
  failed.mutable_negotiation_failed()->set_phase(1);
  failed.mutable_negotiation_failed()->set_handle(700);
  failed.mutable_negotiation_failed()->set_reason("authentication failed: keys differ");
  f.Deliver(failed);
  CHECK(Status(Phase1Row(*f.manager.FindPhase1(1))) == "Failed");
  CHECK(Phase1Row(*f.manager.FindPhase1(1)).reason() == "authentication failed: keys differ");

  // The peer tries again: the same number, no pile of Failed entries.
  state_change(701, ipc::PHASE1_INIT, ipc::PHASE1_WAIT_KE);
  CHECK(f.isakmpd.Take().tunnel_assigned().tunnel() == 1);
  f.Phase1Up(1, 701);
  CHECK(Status(Phase1Row(*f.manager.FindPhase1(1))) == "Active");
  CHECK(f.manager.FindPhase1(2) == nullptr);
  CHECK(f.isakmpd.sent.empty());  // no second TunnelAssigned
}

TEST_CASE("admission control: activations beyond max_negotiations wait their turn") {
  Fixture f;
  Result<Database> d =
      Database::Parse(std::string(kDb) + "settings { max_negotiations: 1 }", "tunnels.db");
  REQUIRE(d.ok());
  f.manager.SetDatabase(std::make_shared<const Database>(std::move(d.value())));
  REQUIRE(f.Activate({1, 3}).has_activate_reply());
  // Only the first phase 1 request goes out; the second tunnel is queued.
  ipc::Envelope first = f.isakmpd.Take();
  REQUIRE(first.has_phase1_request());
  CHECK(f.isakmpd.sent.empty());
  CHECK(f.manager.phase1_queued() == 1);
  CHECK(Status(Phase1Row(*f.manager.FindPhase1(2))) == "Negotiating");
  f.Ack(first);
  f.Phase1Up(first.phase1_request().tunnel(), 900);
  // Its slot frees: the queued one starts (and phase 2 of the first goes on).
  bool second_started = false;
  for (const auto& e : f.isakmpd.sent)
    if (e.has_phase1_request() && e.phase1_request().tunnel() == 2) second_started = true;
  CHECK(second_started);
  CHECK(f.manager.phase1_queued() == 0);
  CHECK(f.manager.phase1_in_flight() == 1);
}

TEST_CASE("remove: phase 2 first, RemoveTunnel to isakmpd, kernel state gone") {
  Fixture f;
  (void)f.Activate({1});
  f.isakmpd.Take();
  f.Phase1Up(1, 77);
  f.isakmpd.Take();
  (void)f.Phase2Up(1, 1, 78, 77, 0x1000, 0x2000);
  ipc::RemoveRequest r;
  r.add_numlist(1);
  ipc::Envelope reply = f.manager.Remove(r);
  REQUIRE(reply.has_remove_reply());
  REQUIRE(reply.remove_reply().removed_size() == 2);
  CHECK(reply.remove_reply().removed(0).phase() == 2);
  CHECK(reply.remove_reply().removed(1).phase() == 1);
  ipc::Envelope m = f.isakmpd.Take();
  CHECK(m.remove_tunnel().phase() == 2);
  CHECK(f.isakmpd.Take().remove_tunnel().phase() == 1);
  CHECK(f.kernel.sa_count() == 0);
  CHECK(f.kernel.policy_count() == 0);
  CHECK(f.manager.phase1_count() == 0);
  // Numbers are reused from 1 after removal.
  reply = f.Activate({3});
  CHECK(reply.activate_reply().started(0).number() == 1);

  ipc::RemoveRequest bad;
  bad.add_numlist(9);
  CHECK(f.manager.Remove(bad).error().reason() == "no tunnel 9 in the tunnel list");
  CHECK(f.manager.Remove(ipc::RemoveRequest()).error().code() == ipc::BAD_ARGUMENT);
  ipc::RemoveRequest all;
  all.set_all(true);
  CHECK(f.manager.Remove(all).remove_reply().removed_size() == 2);
}

TEST_CASE("list: phase 1 rows then phase 2 rows, sorted by number") {
  Fixture f;
  (void)f.Activate({3});  // p1 #1 (ac), p2 #1 (ac-1)
  // numlist=1 would now name live phase 2 tunnel 1, so select by name.
  ipc::ActivateRequest ab;
  ab.add_namelist("ab-1");
  ab.add_namelist("ab-2");
  (void)f.manager.Activate(ab);  // p1 #2 (ab), p2 #2 and #3 wait on it
  ipc::Envelope l = f.manager.List(ipc::ListRequest());
  const auto& reply = l.list_reply();
  REQUIRE(reply.phase1_size() == 2);
  REQUIRE(reply.phase2_size() == 3);
  CHECK(reply.phase1(0).number() == 1);
  CHECK(reply.phase1(1).number() == 2);
  CHECK(reply.phase1(0).remote_id() == "c.example.com");
  CHECK(reply.phase2(2).number() == 3);
  CHECK(reply.phase2(2).phase1_number() == 2);

  ipc::ListRequest plus;
  plus.set_phase(3);
  plus.add_numlist(2);
  l = f.manager.List(plus);
  CHECK(l.list_reply().phase1_size() == 1);
  CHECK(l.list_reply().phase2_size() == 2);

  ipc::ListRequest db;
  db.set_db(true);
  CHECK(f.manager.List(db).list_reply().database().ipsec_tunnel_size() == 3);

  // namelist= by each phase's own names; remid= by the phase 1 remote id,
  // a phase 2 tunnel by its phase 1's (issue 11.1).
  auto numbers = [&](const ipc::ListRequest& r) {
    const ipc::ListReply got = f.manager.List(r).list_reply();
    std::string out;
    for (const auto& t : got.phase1()) out += "1:" + std::to_string(t.number()) + " ";
    for (const auto& t : got.phase2()) out += "2:" + std::to_string(t.number()) + " ";
    return out;
  };
  ipc::ListRequest names;
  names.add_namelist("ab");
  names.add_namelist("ac-1");
  CHECK(numbers(names) == "1:2 2:1 ");
  ipc::ListRequest remid;
  remid.set_remid("c.example.com");
  CHECK(numbers(remid) == "1:1 2:1 ");
  ipc::ListRequest nobody;
  nobody.set_remid("nobody.example");
  CHECK(numbers(nobody).empty());
  ipc::ListRequest either;  // any selector selects
  either.add_numlist(3);
  either.set_remid("c.example.com");
  CHECK(numbers(either) == "1:1 2:1 2:3 ");
}

TEST_CASE("isakmpd going away fails negotiations in progress") {
  Fixture f;
  (void)f.Activate({1});
  f.manager.OnIsakmpdDisconnected();
  CHECK(Status(Phase1Row(*f.manager.FindPhase1(1))) == "Failed");
  CHECK(Phase1Row(*f.manager.FindPhase1(1)).reason() == "isakmpd stopped during the negotiation");
}

TEST_CASE("scales to 20,000 responder tunnels") {
  Fixture f;
  SetLogLevel(LogLevel::kError);  // 40,000 syslog lines would dominate the timing
  for (uint64_t h = 1; h <= 20000; ++h) f.Phase1Up(0, h, "192.0.2.9");
  CHECK(f.manager.phase1_count() == 20000);
  ipc::RemoveRequest all;
  all.set_all(true);
  CHECK(f.manager.Remove(all).remove_reply().removed_size() == 20000);
  SetLogLevel(LogLevel::kEvents);
}

TEST_CASE("admission control: one peer gets at most max_negotiations_per_peer slots") {
  Fixture f;
  // ab and ac go to different peers; with a per-peer cap of 1, ab-1 and ab-2
  // share phase 1 "ab", so two definitions to 192.0.2.2 are needed: add one
  // (from another local address: the same pair of endpoints twice is refused).
  Result<Database> d =
      Database::Parse(std::string(kDb) +
                          "ike_tunnel { name: \"ab2\" local_address: \"192.0.2.5\" remote_address: "
                          "\"192.0.2.2\" protection: \"p1\" }\n"
                          "settings { max_negotiations: 4 max_negotiations_per_peer: 1 }",
                      "tunnels.db");
  INFO((d.ok() ? std::string() : d.error().message));
  REQUIRE(d.ok());
  f.manager.SetDatabase(std::make_shared<const Database>(std::move(d.value())));
  ipc::ActivateRequest r;
  r.set_phase(1);
  for (const char* name : {"ab", "ab2", "ac"}) r.add_namelist(name);
  REQUIRE(f.manager.Activate(r).has_activate_reply());
  // ab (peer .2) and ac (peer .3) start; ab2 waits for ab's slot at .2.
  std::vector<uint32_t> sent;
  for (const auto& e : f.isakmpd.sent) sent.push_back(e.phase1_request().tunnel());
  CHECK(sent == std::vector<uint32_t>{1, 3});
  CHECK(f.manager.phase1_queued() == 1);
  f.isakmpd.sent.clear();
  f.Phase1Up(1, 900);
  REQUIRE(f.isakmpd.sent.size() == 1);
  CHECK(f.isakmpd.sent[0].phase1_request().tunnel() == 2);
}

TEST_CASE("settings.max_negotiations_per_peer above max_negotiations is refused") {
  Result<Database> d = Database::Parse(
      std::string(kDb) + "settings { max_negotiations: 10 max_negotiations_per_peer: 11 }",
      "tunnels.db");
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message.find("max_negotiations_per_peer") != std::string::npos);
  CHECK(d.error().message.find("11 is more than max_negotiations (10)") != std::string::npos);
  CHECK(
      Database::Parse(std::string(kDb) + "settings { max_negotiations_per_peer: 0 }", "t.db").ok());
}

TEST_CASE("list in chunks: same rows as one listing, none twice, tunnels may come and go") {
  Fixture f;
  SetLogLevel(LogLevel::kError);
  for (uint64_t h = 1; h <= 25; ++h) f.Phase1Up(0, h, "192.0.2.9");
  const ipc::ListReply whole = f.manager.List(ipc::ListRequest()).list_reply();
  ListCursor cursor;
  ipc::ListReply joined;
  int chunks = 0;
  for (bool more = true; more; ++chunks) {
    ipc::ListReply part;
    more = f.manager.ListChunk(ipc::ListRequest(), &cursor, 10, &part);
    CHECK(part.phase1_size() + part.phase2_size() <= 10);
    joined.MergeFrom(part);
  }
  CHECK(chunks == 3);
  CHECK(joined.SerializeAsString() == whole.SerializeAsString());
  // A tunnel removed before its chunk is not listed; one added after the
  // cursor is; nothing is listed twice.
  ListCursor c2;
  ipc::ListReply first, rest;
  CHECK(f.manager.ListChunk(ipc::ListRequest(), &c2, 10, &first));
  ipc::RemoveRequest rm;
  rm.set_phase(1);
  rm.add_numlist(15);
  rm.add_numlist(3);
  REQUIRE(f.manager.Remove(rm).has_remove_reply());
  f.Phase1Up(0, 100, "192.0.2.9");  // takes the lowest free number, 3
  while (f.manager.ListChunk(ipc::ListRequest(), &c2, 10, &rest)) {
  }
  std::vector<uint32_t> numbers;
  for (const auto& p : first.phase1()) numbers.push_back(p.number());
  for (const auto& p : rest.phase1()) numbers.push_back(p.number());
  CHECK(numbers.size() == 24);  // 1-10 (3 listed before it went), 11-25 without 15
  CHECK(std::find(numbers.begin(), numbers.end(), 15) == numbers.end());
  SetLogLevel(LogLevel::kEvents);
}

TEST_CASE("table listings carry only the table's fields; verbose carries all") {
  Fixture f;
  (void)f.Activate({1});
  ipc::ListRequest table;
  const ipc::Phase1Status row = f.manager.List(table).list_reply().phase1(0);
  CHECK(Status(row) == "Negotiating");
  CHECK(row.local_id() == "192.0.2.1");
  CHECK(row.name().empty());
  CHECK(row.encryption_alg() == db::IKE_ENCRYPTION_UNSPECIFIED);
  ipc::ListRequest verbose;
  verbose.set_verbose(true);
  const ipc::Phase1Status full = f.manager.List(verbose).list_reply().phase1(0);
  CHECK(full.name() == "ab");
  CHECK(tunneldb::IkeEncryptionName(full.encryption_alg(), full.key_length()) == "AES-CBC-128");
  CHECK(State(full) == "INIT");
}

}  // namespace
}  // namespace ike::tmd

namespace ike::tmd {
namespace {

// The algorithm names a verbose listing prints (ike renders the row's enums
// through tunneldb/names.h).
std::vector<std::string> SuiteNames(const ipc::Phase1Status& r) {
  return {tunneldb::IkeEncryptionName(r.encryption_alg(), r.key_length()),
          tunneldb::IkeHashName(r.hash_alg()), tunneldb::AuthMethodName(r.auth()),
          tunneldb::DhGroupName(r.group()), tunneldb::ExchangeModeName(r.exchange_mode())};
}
std::vector<std::string> SuiteNames(const ipc::Phase2Status& r) {
  return {tunneldb::EspEncryptionName(r.encryption_alg(), r.key_length()),
          tunneldb::EspIntegrityName(r.integrity_alg()), tunneldb::DhGroupName(r.pfs())};
}

TEST_CASE("a tunnel names its suite alike while negotiating and once Active") {
  Fixture f;
  (void)f.Activate({1});
  f.isakmpd.Take();
  ipc::ListRequest verbose;
  verbose.set_verbose(true);
  const ipc::ListReply offer = f.manager.List(verbose).list_reply();
  REQUIRE(offer.phase1_size() == 1);
  REQUIRE(offer.phase2_size() == 1);
  CHECK(Status(offer.phase1(0)) == "Negotiating");
  CHECK(SuiteNames(offer.phase1(0)) == std::vector<std::string>{"AES-CBC-128", "SHA2-256",
                                                                "Preshared Key", "MODP2048 (14)",
                                                                "Main"});
  CHECK(SuiteNames(offer.phase2(0)) ==
        std::vector<std::string>{"AES-CBC-128", "HMAC-SHA2-256", "none"});

  // The fake isakmpd reports the chosen suite as isakmpd does: enums.
  f.Phase1Up(1, 77);
  f.isakmpd.Take();
  f.Phase2Up(1, 1, 78, 77, 0x1000, 0x2000);
  const ipc::ListReply active = f.manager.List(verbose).list_reply();
  CHECK(Status(active.phase1(0)) == "Active");
  CHECK(Status(active.phase2(0)) == "Active");
  CHECK(SuiteNames(active.phase1(0)) == SuiteNames(offer.phase1(0)));
  CHECK(SuiteNames(active.phase2(0)) == SuiteNames(offer.phase2(0)));
}

TEST_CASE("the status moves only along the transition table") {
  using S = TunnelStatus;
  CHECK(LegalMove(S::kNegotiating, S::kActive));
  CHECK(LegalMove(S::kNegotiating, S::kFailed));
  CHECK(LegalMove(S::kActive, S::kFailed));
  CHECK(LegalMove(S::kFailed, S::kNegotiating));
  CHECK_FALSE(LegalMove(S::kActive, S::kNegotiating));
  CHECK_FALSE(LegalMove(S::kFailed, S::kActive));
  for (S s : {S::kNegotiating, S::kActive, S::kFailed}) CHECK(LegalMove(s, s));
}

TEST_CASE("a late success for a failed tunnel is refused and counted; nothing is installed") {
  Fixture f;
  (void)f.Activate({1});
  f.isakmpd.Take();
  ipc::Envelope fail;
  auto* nf = fail.mutable_negotiation_failed();
  nf->set_phase(1);
  nf->set_tunnel(1);
  nf->set_state1(ipc::PHASE1_IN_KE);
  nf->set_reason("authentication failed");
  f.Deliver(fail);
  REQUIRE(f.manager.FindPhase1(1)->status == TunnelStatus::kFailed);
  REQUIRE(f.manager.FindPhase2(1)->status == TunnelStatus::kFailed);
  CHECK(f.manager.transitions().refused_total() == 0);

  f.Phase1Up(1, 77);
  CHECK(f.manager.FindPhase1(1)->status == TunnelStatus::kFailed);
  CHECK(f.manager.transitions().refused(TunnelStatus::kFailed, TunnelStatus::kActive) == 1);
  CHECK(f.isakmpd.sent.empty());  // no phase 2 request over a refused phase 1

  ipc::Envelope est = f.Phase2Up(1, 1, 78, 77, 0x1000, 0x2000);
  CHECK(f.manager.FindPhase2(1)->status == TunnelStatus::kFailed);
  CHECK(f.manager.transitions().refused(TunnelStatus::kFailed, TunnelStatus::kActive) == 2);
  CHECK(f.kernel.sa_count() == 0);
  CHECK(f.kernel.policy_count() == 0);
  CHECK(est.phase2_established().sa(0).encryption_key().empty());  // wiped all the same
}

using ike::testing::FakeSyslogd;

TEST_CASE("an Active tunnel does not go back to negotiating") {
  FakeSyslogd syslogd("tmd_manager_test");
  Fixture f;
  (void)f.Activate({1});
  f.isakmpd.Take();
  f.Phase1Up(1, 77);
  ipc::Envelope sc;
  auto* s = sc.mutable_state_change();
  s->set_phase(1);
  s->set_tunnel(1);
  s->set_handle(77);
  s->set_old_phase1(ipc::PHASE1_DONE);
  s->set_new_phase1(ipc::PHASE1_WAIT_SA);
  f.Deliver(sc);
  CHECK(f.manager.FindPhase1(1)->status == TunnelStatus::kActive);
  CHECK(f.manager.FindPhase1(1)->state == ipc::PHASE1_DONE);
  CHECK(f.manager.transitions().refused(TunnelStatus::kActive, TunnelStatus::kNegotiating) == 1);
  CHECK(f.manager.transitions().done(TunnelStatus::kNegotiating, TunnelStatus::kActive) == 1);
  const std::string log = syslogd.Drain();
  INFO(log);
  CHECK(log.find("tunnel 1 phase 1 peer 192.0.2.2 cookies 0123456789abcdef:fedcba9876543210: "
                 "cannot switch Active -> Negotiating (state change DONE -> WAIT SA)") !=
        std::string::npos);
}

TEST_CASE("isakmpd's AllocateSpi is answered through the kernel interface (hole 4.f)") {
  Fixture f;
  ipc::AllocateSpi r;
  r.set_local_address("192.0.2.1");
  r.set_protocol(ipc::PROTO_ESP);
  ipc::Envelope a = f.manager.AllocateSpi(r);
  REQUIRE(a.has_allocate_spi_reply());
  CHECK(a.allocate_spi_reply().spi() >= 256);
  CHECK(f.kernel.reservation_count() == 1);
  ipc::Envelope b = f.manager.AllocateSpi(r);
  REQUIRE(b.has_allocate_spi_reply());
  CHECK(b.allocate_spi_reply().spi() != a.allocate_spi_reply().spi());
  // The SA isakmpd then reports with that SPI is installed, consuming it.
  f.Phase2Up(0, 0, 90, 0, a.allocate_spi_reply().spi(), 0x2000);
  CHECK(f.kernel.reservation_count() == 1);
  CHECK(f.kernel.sa_count() == 2);

  r.set_local_address("not-an-address");
  CHECK(f.manager.AllocateSpi(r).error().code() == ipc::BAD_ARGUMENT);
  r.set_local_address("192.0.2.1");
  r.set_protocol(ipc::IPSEC_PROTOCOL_UNSPECIFIED);
  CHECK(f.manager.AllocateSpi(r).error().code() == ipc::BAD_ARGUMENT);
  r.set_protocol(ipc::PROTO_ESP);
  r.set_remote_address("198.51.100.999");
  CHECK(f.manager.AllocateSpi(r).error().code() == ipc::BAD_ARGUMENT);
  r.set_remote_address("198.51.100.9");
  CHECK(f.manager.AllocateSpi(r).has_allocate_spi_reply());
}

KernelEvent Expire(uint32_t tunnel, uint32_t spi, const IpAddress& destination, bool hard,
                   bool by_volume) {
  KernelEvent e;
  e.tunnel = tunnel;
  e.spi = spi;
  e.destination = destination;
  e.hard = hard;
  e.by_volume = by_volume;
  return e;
}

TEST_CASE("kernel expire events: soft starts a rekey, hard removes the tunnel and tells the peer") {
  Fixture f;
  (void)f.Activate({1});
  (void)f.isakmpd.Take();
  f.Phase1Up(1, 77);
  (void)f.isakmpd.Take();
  (void)f.Phase2Up(1, 1, 78, 77, 0x1000, 0x2000);
  f.isakmpd.sent.clear();
  const IpAddress us = *IpAddress::Parse("192.0.2.1");
  // An SA the tunnel does not have (replaced, or another run's): nothing.
  f.manager.OnKernelEvent(Expire(1, 0x9999, us, true, false));
  REQUIRE(f.manager.FindPhase2(1) != nullptr);
  // Soft: the tunnel stays and is rekeyed (tmd_rekey_test has the rest);
  // the other SA's soft limit while that is under way starts nothing more.
  f.manager.OnKernelEvent(Expire(1, 0x1000, us, false, true));
  REQUIRE(f.manager.FindPhase2(1) != nullptr);
  REQUIRE(f.isakmpd.sent.size() == 1);
  CHECK(f.isakmpd.sent[0].phase2_request().rekey());
  f.manager.OnKernelEvent(Expire(1, 0x2000, *IpAddress::Parse("192.0.2.2"), false, false));
  CHECK(f.isakmpd.sent.size() == 1);
  f.isakmpd.sent.clear();
  CHECK(f.kernel.sa_count() == 2);
  // Hard: the kernel deleted that SA; tmd removes the rest and has isakmpd
  // send the Delete.
  f.manager.OnKernelEvent(Expire(1, 0x1000, us, true, true));
  CHECK(f.manager.FindPhase2(1) == nullptr);
  CHECK(f.kernel.sa_count() == 0);
  CHECK(f.kernel.ListPolicies().empty());
  REQUIRE(f.isakmpd.sent.size() == 1);
  CHECK(f.isakmpd.sent[0].remove_tunnel().phase() == 2);
  CHECK(f.isakmpd.sent[0].remove_tunnel().tunnel() == 1);
  REQUIRE(f.manager.FindPhase1(1) != nullptr);  // the ISAKMP SA lives on
}

}  // namespace
}  // namespace ike::tmd
