// What tmd puts in ike cmd=list's rows beyond the table (issue 11.1): the
// identity types, the last error of a tunnel that is up again after a
// failure, and which definitions have a tunnel (list db).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/lib/fakes.h"
#include "tests/lib/tmd_fakes.h"
#include "tmd/core/tunnel_manager.h"

namespace ike::tmd {
namespace {

// ab: addresses as ids; ac: the peer known by its FQDN. ab-1 is one host to
// one host, ab-2 a subnet to a range.
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
ipsec_tunnel { name: "ac-1" ike_tunnel: "ac" protection: "p2"
               local { address: "2001:db8::1" } remote { subnet: "2001:db8:1::/48" } }
)";

constexpr char kTimeout[] = "peer 192.0.2.2 not answering: no reply to message 1 after 5 tries";

struct Fixture {
  Fixture() : manager(kernel, isakmpd, clock, &clock) {
    Result<Database> d = Database::Parse(kDb, "tunnels.db");
    INFO((d.ok() ? std::string() : d.error().message));
    REQUIRE(d.ok());
    manager.SetDatabase(std::make_shared<const Database>(std::move(d.value())));
  }
  ipc::ActivateReply Activate(const std::string& name) {
    ipc::ActivateRequest r;
    r.add_namelist(name);
    ipc::Envelope e = manager.Activate(r);
    REQUIRE(e.has_activate_reply());
    return e.activate_reply();
  }
  void Deliver(ipc::Envelope e) { manager.OnIsakmpdMessage(e); }
  void Fail1(uint32_t tunnel, uint64_t handle, const std::string& reason) {
    ipc::Envelope e;
    auto* nf = e.mutable_negotiation_failed();
    nf->set_phase(1);
    nf->set_tunnel(tunnel);
    nf->set_handle(handle);
    nf->set_code(ipc::NEGOTIATION_TIMEOUT);
    nf->set_state1(ipc::PHASE1_WAIT_SA);
    nf->set_reason(reason);
    Deliver(e);
  }
  void Phase1Up(uint32_t tunnel, uint64_t handle, ipc::ExchangeMode mode = ipc::MAIN) {
    ipc::Envelope e;
    auto* p = e.mutable_phase1_established();
    p->set_mode(mode);
    p->set_tunnel(tunnel);
    p->set_handle(handle);
    p->set_role(tunnel ? ipc::INITIATOR : ipc::RESPONDER);
    p->set_name("ab");
    p->set_local_address("192.0.2.1");
    p->set_remote_address("192.0.2.2");
    p->set_local_id("192.0.2.1");
    p->set_remote_id("192.0.2.2");
    Deliver(e);
  }
  ipc::ListReply List(bool db = false) {
    ipc::ListRequest r;
    r.set_verbose(true);
    r.set_db(db);
    ipc::Envelope e = manager.List(r);
    REQUIRE(e.has_list_reply());
    return e.list_reply();
  }
  testing::FakeClock clock;
  testing::FakeIsakmpdLink isakmpd;
  StateOnlyKernel kernel;
  TunnelManager manager;
};

TEST_CASE("verbose rows carry the id types: addresses, the definition's, the selectors'") {
  Fixture f;
  (void)f.Activate("ab-2");
  (void)f.Activate("ac-1");
  const ipc::ListReply r = f.List();
  REQUIRE(r.phase1_size() == 2);
  REQUIRE(r.phase2_size() == 2);
  // Phase 1: an address is IPV4_ADDR; c.example.com is what "ac" says.
  CHECK(r.phase1(0).local_id_type() == ipc::ID_IPV4_ADDR);
  CHECK(r.phase1(0).remote_id_type() == ipc::ID_IPV4_ADDR);
  CHECK(r.phase1(1).remote_id() == "c.example.com");
  CHECK(r.phase1(1).remote_id_type() == ipc::ID_FQDN);
  // Phase 2: as isakmpd encodes the ranges in its ID payloads.
  CHECK(r.phase2(0).local_id() == "198.51.100.0-198.51.100.255");
  CHECK(r.phase2(0).local_id_type() == ipc::ID_IPV4_ADDR_SUBNET);
  CHECK(r.phase2(0).remote_id_type() == ipc::ID_IPV4_ADDR_RANGE);
  CHECK(r.phase2(1).local_id_type() == ipc::ID_IPV6_ADDR);
  CHECK(r.phase2(1).remote_id_type() == ipc::ID_IPV6_ADDR_SUBNET);
  // The plain table does not carry them.
  ipc::ListRequest plain;
  const ipc::ListReply table = f.manager.List(plain).list_reply();
  CHECK(table.phase1(0).local_id_type() == ipc::IDENTITY_TYPE_UNSPECIFIED);
}

// The message count an established phase 1 reached: Main Mode has six,
// Aggressive Mode three (RFC 2409 5).
TEST_CASE("an established phase 1 reached message 6 in Main Mode, 3 in Aggressive Mode") {
  Fixture f;
  (void)f.Activate("ab-1");
  f.Phase1Up(1, 7, ipc::AGGRESSIVE);
  ipc::ListReply r = f.List();
  REQUIRE(r.phase1_size() == 1);
  CHECK(r.phase1(0).exchange_mode() == ipc::AGGRESSIVE);
  CHECK(r.phase1(0).message() == 3);
  f.Phase1Up(1, 8, ipc::MAIN);  // re-established in Main Mode
  r = f.List();
  CHECK(r.phase1(0).message() == 6);
}

TEST_CASE("a negotiating row says when it entered its state; a repeated state keeps the time") {
  Fixture f;
  (void)f.Activate("ab");
  auto change = [&](ipc::Phase1State to, uint32_t message) {
    ipc::Envelope e;
    auto* c = e.mutable_state_change();
    c->set_phase(1);
    c->set_tunnel(1);
    c->set_handle(900);
    c->set_new_phase1(to);
    c->set_message(message);
    f.Deliver(e);
  };
  f.clock.Advance(5'000);
  change(ipc::PHASE1_WAIT_SA, 1);
  const uint64_t entered = f.clock.UnixNow();
  f.clock.Advance(7'000);
  change(ipc::PHASE1_WAIT_SA, 1);  // only Cisco's name moved
  ipc::ListReply r = f.List();
  CHECK(r.phase1(0).tunnel_status() == ipc::NEGOTIATING);
  CHECK(r.phase1(0).state_unix() == entered);
  f.clock.Advance(3'000);
  change(ipc::PHASE1_IN_KE, 3);
  r = f.List();
  CHECK(r.phase1(0).state_unix() == f.clock.UnixNow());
  f.Phase1Up(1, 900);
  CHECK(f.List().phase1(0).state_unix() == 0);  // only while negotiating
}

TEST_CASE("Last Error: a failed tunnel activated again keeps that failure, with its time") {
  Fixture f;
  (void)f.Activate("ab-1");
  f.Fail1(1, 0, kTimeout);
  const uint64_t failed_at = f.clock.UnixNow();
  ipc::ListReply r = f.List();
  // Failed: reason, kind and time as before; no last error.
  CHECK(r.phase1(0).tunnel_status() == ipc::FAILED);
  CHECK(r.phase1(0).reason() == kTimeout);
  CHECK(r.phase1(0).failed_unix() == failed_at);
  CHECK(r.phase1(0).failure() == ipc::NEGOTIATION_TIMEOUT);
  CHECK(r.phase1(0).last_error().empty());
  CHECK(r.phase2(0).failed_unix() == failed_at);

  f.clock.Advance(60'000);
  (void)f.Activate("ab-1");  // same numbers, fresh tunnels
  r = f.List();
  CHECK(r.phase1(0).tunnel_status() == ipc::NEGOTIATING);
  CHECK(r.phase1(0).reason().empty());
  CHECK(r.phase1(0).last_error() == kTimeout);
  CHECK(r.phase1(0).last_error_unix() == failed_at);
  // The diagnosis of a negotiation is not dated by the old failure.
  CHECK(r.phase1(0).failed_unix() == 0);
  CHECK(r.phase2(0).last_error() == std::string("phase 1 tunnel 1 failed: ") + kTimeout);
  CHECK(r.phase2(0).last_error_unix() == failed_at);

  f.Phase1Up(1, 900);
  r = f.List();
  CHECK(r.phase1(0).tunnel_status() == ipc::ACTIVE);
  CHECK(r.phase1(0).last_error() == kTimeout);
  CHECK(r.phase1(0).last_error_unix() == failed_at);

  // Failing again: the new failure is the Reason, dated now; no last error.
  f.clock.Advance(60'000);
  f.isakmpd.up = false;
  f.manager.OnIsakmpdDisconnected();
  r = f.List();
  CHECK(r.phase1(0).tunnel_status() == ipc::FAILED);
  CHECK(r.phase1(0).failed_unix() == f.clock.UnixNow());
  CHECK(r.phase1(0).last_error().empty());
  CHECK(r.phase1(0).last_error_unix() == 0);
}

TEST_CASE("Last Error: a peer negotiating again over its Failed responder row") {
  Fixture f;
  auto state_change = [&](uint64_t handle) {
    ipc::Envelope e;
    auto* s = e.mutable_state_change();
    s->set_phase(1);
    s->set_handle(handle);
    s->set_old_phase1(ipc::PHASE1_INIT);
    s->set_new_phase1(ipc::PHASE1_WAIT_KE);
    s->set_peer("192.0.2.2");
    f.Deliver(e);
  };
  state_change(700);
  f.Fail1(0, 700, "authentication failed: keys differ");
  const uint64_t failed_at = f.clock.UnixNow();
  CHECK(f.List().phase1(0).reason() == "authentication failed: keys differ");
  f.clock.Advance(5'000);
  state_change(701);  // the same row, Negotiating again
  ipc::ListReply r = f.List();
  REQUIRE(r.phase1_size() == 1);
  CHECK(r.phase1(0).tunnel_status() == ipc::NEGOTIATING);
  CHECK(r.phase1(0).reason().empty());
  CHECK(r.phase1(0).last_error() == "authentication failed: keys differ");
  CHECK(r.phase1(0).last_error_unix() == failed_at);
  f.Phase1Up(1, 701);
  r = f.List();
  CHECK(r.phase1(0).tunnel_status() == ipc::ACTIVE);
  CHECK(r.phase1(0).last_error() == "authentication failed: keys differ");
}

TEST_CASE("list db: each definition with its tunnel's status, or none (Inactive)") {
  Fixture f;
  auto statuses = [&] {
    std::vector<std::string> out;
    const ipc::ListReply reply = f.List(/*db=*/true);
    for (const auto& d : reply.definition_status()) {
      out.push_back(std::to_string(d.phase()) + " " + d.name() + " " +
                    ipc::TunnelStatus_Name(d.status()) + " " + std::to_string(d.tunnel()));
    }
    return out;
  };
  CHECK(statuses() == std::vector<std::string>{"1 ab TUNNEL_STATUS_UNSPECIFIED 0",
                                               "1 ac TUNNEL_STATUS_UNSPECIFIED 0",
                                               "2 ab-1 TUNNEL_STATUS_UNSPECIFIED 0",
                                               "2 ab-2 TUNNEL_STATUS_UNSPECIFIED 0",
                                               "2 ac-1 TUNNEL_STATUS_UNSPECIFIED 0"});
  (void)f.Activate("ab-2");
  f.Phase1Up(1, 900);
  CHECK(statuses() == std::vector<std::string>{"1 ab ACTIVE 1", "1 ac TUNNEL_STATUS_UNSPECIFIED 0",
                                               "2 ab-1 TUNNEL_STATUS_UNSPECIFIED 0",
                                               "2 ab-2 NEGOTIATING 1",
                                               "2 ac-1 TUNNEL_STATUS_UNSPECIFIED 0"});
  CHECK(f.List(true).database().ike_tunnel_size() == 2);  // the definitions, as before
}

}  // namespace
}  // namespace ike::tmd
