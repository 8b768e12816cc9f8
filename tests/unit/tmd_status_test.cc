// lssrc -l -s tmd (issue 11.5): TunnelManager's negotiation and tunnel cache
// counters, and its long status, after flows against a fake isakmpd.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "tests/lib/fakes.h"
#include "tests/lib/tmd_fakes.h"
#include "tmd/core/tunnel_manager.h"

namespace ike::tmd {
namespace {

const char kDb[] = R"(
ike_protection { name: "p1" proposal { encryption: AES_CBC hash: SHA2_256 dh_group: MODP_2048 } }
ipsec_protection { name: "p2" proposal { encryption: ESP_AES_CBC integrity: HMAC_SHA2_256 } }
ike_tunnel { name: "ab" local_address: "192.0.2.1" remote_address: "192.0.2.2" protection: "p1" }
ike_tunnel { name: "ac" local_address: "192.0.2.1" remote_address: "192.0.2.3" protection: "p1" }
ipsec_tunnel { name: "ab-1" ike_tunnel: "ab" protection: "p2"
               local { address: "198.51.100.1" } remote { address: "203.0.113.1" } }
ipsec_tunnel { name: "ac-1" ike_tunnel: "ac" protection: "p2"
               local { address: "198.51.100.1" } remote { address: "203.0.114.1" } }
)";

struct Fixture {
  Fixture() : manager(kernel, isakmpd, clock) {
    Result<Database> d = Database::Parse(kDb, "tunnels.db");
    REQUIRE(d.ok());
    manager.SetDatabase(std::make_shared<const Database>(std::move(d.value())));
  }
  void Activate(uint32_t n) {
    ipc::ActivateRequest r;
    r.add_numlist(n);
    REQUIRE(manager.Activate(r).has_activate_reply());
  }
  void Deliver(ipc::Envelope e) { manager.OnIsakmpdMessage(e); }
  void Phase1Up(uint32_t tunnel, uint64_t handle) {
    ipc::Envelope e;
    auto* p = e.mutable_phase1_established();
    p->set_tunnel(tunnel);
    p->set_handle(handle);
    p->set_role(ipc::INITIATOR);
    p->set_name("ab");
    p->set_local_address("192.0.2.1");
    p->set_remote_address("192.0.2.2");
    p->set_lifetime_seconds(28800);
    Deliver(e);
  }
  void Phase2Up(uint32_t tunnel, uint64_t handle, uint64_t p1_handle) {
    ipc::Envelope e;
    auto* p = e.mutable_phase2_established();
    p->set_tunnel(tunnel);
    p->set_phase1_tunnel(1);
    p->set_handle(handle);
    p->set_phase1_handle(p1_handle);
    p->set_role(ipc::INITIATOR);
    p->set_local_id("198.51.100.1-198.51.100.1");
    p->set_remote_id("203.0.113.1-203.0.113.1");
    p->set_lifetime_seconds(3600);
    uint32_t spi = 0x1000;
    for (auto [dir, src, dst] : {std::tuple{ipc::INBOUND, "192.0.2.2", "192.0.2.1"},
                                 std::tuple{ipc::OUTBOUND, "192.0.2.1", "192.0.2.2"}}) {
      ipc::ChildSa* sa = p->add_sa();
      sa->set_direction(dir);
      sa->set_spi(spi++);
      sa->set_source(src);
      sa->set_destination(dst);
      sa->set_encryption(db::ESP_AES_CBC);
      sa->set_encryption_key_bits(128);
      sa->set_encryption_key(std::string(16, 'K'));
      sa->set_integrity(db::HMAC_SHA2_256);
      sa->set_integrity_key(std::string(32, 'I'));
    }
    Deliver(e);
  }
  void Failed(uint32_t phase, uint32_t tunnel, ipc::ErrorCode code) {
    ipc::Envelope e;
    auto* nf = e.mutable_negotiation_failed();
    nf->set_phase(phase);
    nf->set_tunnel(tunnel);
    nf->set_code(code);
    nf->set_reason("authentication failed");
    Deliver(e);
  }
  testing::FixedClock clock;
  testing::FakeIsakmpdLink isakmpd;
  StateOnlyKernel kernel;
  TunnelManager manager;
};

std::map<ipc::ErrorCode, uint64_t> FailedOf(const ipc::NegotiationCounts& n) {
  std::map<ipc::ErrorCode, uint64_t> out;
  for (const auto& row : n.failed()) out[row.reason()] = row.count();
  return out;
}

std::map<ipc::TunnelStatus, uint64_t> ByStatus(
    const google::protobuf::RepeatedPtrField<ipc::TunnelStatusCount>& rows) {
  std::map<ipc::TunnelStatus, uint64_t> out;
  for (const auto& row : rows) out[row.status()] = row.count();
  return out;
}

TEST_CASE("one tunnel up, one failed: started, succeeded and failed by reason") {
  Fixture f;
  f.Activate(1);  // ab-1 over ab: phase 1 request now
  f.Phase1Up(1, 77);
  f.Phase2Up(1, 78, 77);
  f.Activate(2);  // ac-1 over ac
  f.Failed(1, 2, ipc::AUTHENTICATION_FAILED);

  const TmdCounters& c = f.manager.counters();
  CHECK(c.phase1.started == 2);
  CHECK(c.phase1.succeeded == 1);
  CHECK(c.phase1.failed == std::map<ipc::ErrorCode, uint64_t>{{ipc::AUTHENTICATION_FAILED, 1}});
  // ac-1 never got its phase 2 request: not a negotiation started.
  CHECK(c.phase2.started == 1);
  CHECK(c.phase2.succeeded == 1);
  CHECK(c.phase2.failed.empty());
  CHECK(c.kernel_sas_added == 2);

  const ipc::TmdStatus s = f.manager.LongStatus();
  CHECK(s.phase1().started() == 2);
  CHECK(FailedOf(s.phase1()) ==
        std::map<ipc::ErrorCode, uint64_t>{{ipc::AUTHENTICATION_FAILED, 1}});
  CHECK(ByStatus(s.phase1_tunnels()) ==
        std::map<ipc::TunnelStatus, uint64_t>{{ipc::ACTIVE, 1}, {ipc::FAILED, 1}});
  CHECK(ByStatus(s.phase2_tunnels()) ==
        std::map<ipc::TunnelStatus, uint64_t>{{ipc::ACTIVE, 1}, {ipc::FAILED, 1}});
  CHECK(s.kernel_sas() == 2);
  CHECK(s.kernel_sas_added() == 2);
  CHECK(s.isakmpd_connected());
}

TEST_CASE("a failure counts once; removal and isakmpd's loss count with their reasons") {
  Fixture f;
  f.Activate(1);
  f.Failed(1, 1, ipc::NEGOTIATION_TIMEOUT);
  f.Failed(1, 1, ipc::NEGOTIATION_TIMEOUT);  // a second report for the same tunnel
  CHECK(f.manager.counters().phase1.started == 1);
  CHECK(f.manager.counters().phase1.failed_total() == 1);

  f.Activate(2);  // in progress when isakmpd goes
  f.manager.OnIsakmpdDisconnected();
  CHECK(f.manager.counters().phase1.started == 2);
  CHECK(f.manager.counters().phase1.failed ==
        std::map<ipc::ErrorCode, uint64_t>{{ipc::NEGOTIATION_TIMEOUT, 1}, {ipc::NOT_READY, 1}});
}

TEST_CASE("removing an active tunnel deletes its tunnel cache entries, counted") {
  Fixture f;
  f.Activate(1);
  f.Phase1Up(1, 77);
  f.Phase2Up(1, 78, 77);
  ipc::RemoveRequest r;
  r.set_phase(2);
  r.add_numlist(1);
  REQUIRE(f.manager.Remove(r).has_remove_reply());
  CHECK(f.manager.counters().kernel_sas_deleted == 2);
  CHECK(f.manager.LongStatus().kernel_sas() == 0);
  CHECK(f.manager.counters().phase2.succeeded == 1);  // a success stays one
  CHECK(f.manager.counters().phase2.failed.empty());
}

}  // namespace
}  // namespace ike::tmd
