// TunnelManager's traps (issue 8.3, 8.4): on-demand activation and
// negotiation discovery against the state-only kernel and a fake isakmpd.
// The kernel's acquires are KernelEvents delivered by hand; the real
// kernel's side is tests/kernel/uml_ondemand_test.sh.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "tests/lib/tmd_fakes.h"
#include "tmd/core/tunnel_manager.h"
#include "tunneldb/names.h"

namespace ike::tmd {
namespace {

class SteppingClock : public Clock {
 public:
  TimePoint Now() const override { return TimePoint{} + std::chrono::seconds(seconds); }
  uint64_t UnixNow() const override { return 1700000000 + seconds; }
  uint64_t seconds = 0;
};

class FakeIsakmpd : public testing::FakeIsakmpdLink {
 public:
  ipc::Envelope Take() {
    REQUIRE_FALSE(sent.empty());
    ipc::Envelope e = sent.front();
    sent.erase(sent.begin());
    return e;
  }
};

// "od": on demand; "disc": negotiation discovery (trap_retry_seconds 30);
// "man": an ordinary tunnel, no trap.
const char kDb[] = R"(
settings { trap_retry_seconds: 30 }
ike_protection { name: "p1" proposal { encryption: AES_CBC hash: SHA2_256 dh_group: MODP_2048 } }
ipsec_protection { name: "p2" proposal { encryption: ESP_AES_CBC integrity: HMAC_SHA2_256 } }
ike_tunnel { name: "ab" local_address: "192.0.2.1" remote_address: "192.0.2.2" protection: "p1" }
ike_tunnel { name: "ac" local_address: "192.0.2.1" remote_address: "192.0.2.3" protection: "p1" }
ipsec_tunnel { name: "od" ike_tunnel: "ab" protection: "p2" activation: ON_DEMAND
               local { address: "198.51.100.1" } remote { address: "203.0.113.1" } }
ipsec_tunnel { name: "disc" ike_tunnel: "ac" protection: "p2" activation: DISCOVERY
               local { address: "198.51.100.1" } remote { subnet: "203.0.114.0/24" } }
ipsec_tunnel { name: "man" ike_tunnel: "ab" protection: "p2"
               local { address: "198.51.100.1" } remote { address: "203.0.113.9" } }
)";

DatabasePtr Load(const std::string& text) {
  Result<Database> d = Database::Parse(text, "tunnels.db");
  INFO((d.ok() ? std::string() : d.error().message));
  REQUIRE(d.ok());
  return std::make_shared<const Database>(std::move(d.value()));
}

struct Fixture {
  Fixture() : manager(kernel, isakmpd, clock) { manager.SetDatabase(Load(kDb)); }
  // The Dormant, Negotiating, ... row of definition |name|; null if none.
  const Phase2Tunnel* Row(const std::string& name) const {
    for (uint32_t n = 1; n <= 8; ++n) {
      const Phase2Tunnel* t = manager.FindPhase2(n);
      if (t != nullptr && t->name == name) return t;
    }
    return nullptr;
  }
  std::string StatusOf(const std::string& name) const {
    const Phase2Tunnel* t = Row(name);
    return t ? tunneldb::TunnelStatusName(ToIpc(t->status)) : "(none)";
  }
  size_t Rules(ipc::FilterAction action) const {
    size_t n = 0;
    for (const auto& r : kernel.ListPolicies()) n += r.rule_action() == action;
    return n;
  }
  // Traffic 198.51.100.1 -> |destination| hit trap |trap|.
  void Acquire(uint32_t trap, const char* destination) {
    KernelEvent e;
    e.kind = KernelEvent::Kind::kAcquire;
    e.trap = trap;
    e.source = *IpAddress::Parse("198.51.100.1");
    e.destination = *IpAddress::Parse(destination);
    manager.OnKernelEvent(e);
  }
  void Deliver(ipc::Envelope e) { manager.OnIsakmpdMessage(e); }
  void FailPhase1(uint32_t tunnel, const std::string& reason) {
    ipc::Envelope e;
    auto* f = e.mutable_negotiation_failed();
    f->set_phase(1);
    f->set_tunnel(tunnel);
    f->set_code(ipc::NEGOTIATION_TIMEOUT);
    f->set_state1(ipc::PHASE1_WAIT_SA);
    f->set_reason(reason);
    Deliver(e);
  }
  void Phase1Up(uint32_t tunnel, uint64_t handle) {
    ipc::Envelope e;
    auto* p = e.mutable_phase1_established();
    p->set_tunnel(tunnel);
    p->set_handle(handle);
    p->set_role(ipc::INITIATOR);
    p->set_mode(ipc::MAIN);
    p->set_local_address("192.0.2.1");
    p->set_remote_address("192.0.2.2");
    p->set_local_id("192.0.2.1");
    p->set_remote_id("192.0.2.2");
    p->set_icookie("0123456789abcdef");
    p->set_rcookie("fedcba9876543210");
    Deliver(e);
  }
  // |tunnel| 0: as responder, for definition |name|.
  void Phase2Up(uint32_t tunnel, uint32_t p1, uint64_t handle, uint64_t p1_handle,
                const std::string& name = "", uint32_t spi_in = 0x1000, uint32_t spi_out = 0x2000) {
    ipc::Envelope e;
    auto* p = e.mutable_phase2_established();
    p->set_tunnel(tunnel);
    p->set_phase1_tunnel(p1);
    p->set_handle(handle);
    p->set_phase1_handle(p1_handle);
    p->set_name(name);
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
    Deliver(e);
  }

  SteppingClock clock;
  FakeIsakmpd isakmpd;
  StateOnlyKernel kernel;
  TunnelManager manager;
};

TEST_CASE("traps: armed at load, listed Dormant, nothing negotiated until traffic") {
  Fixture f;
  CHECK(f.Rules(ipc::TRAP) == 1);
  CHECK(f.Rules(ipc::TRAP_CLEAR) == 1);
  CHECK(f.Rules(ipc::PERMIT) == 0);
  CHECK(f.StatusOf("od") == "Dormant");
  CHECK(f.StatusOf("disc") == "Dormant");
  CHECK(f.StatusOf("man") == "(none)");
  CHECK(f.isakmpd.sent.empty());
  const ipc::Phase2Status row = Phase2Row(*f.Row("od"));
  CHECK(row.activation() == db::ON_DEMAND);
  CHECK(row.local_id() == "198.51.100.1-198.51.100.1");
  CHECK(row.remote_id() == "203.0.113.1-203.0.113.1");
  CHECK(Phase2Row(*f.Row("disc")).remote_id() == "203.0.114.0-203.0.114.255");
}

TEST_CASE("traps: an acquire activates the tunnel once; up, it replaces the trap in the list") {
  Fixture f;
  const uint32_t n = f.Row("od")->number;
  f.Acquire(1, "203.0.113.1");
  CHECK(f.StatusOf("od") == "Negotiating");
  CHECK(f.Row("od")->number == n);  // the Dormant row's number
  ipc::Envelope p1 = f.isakmpd.Take();
  REQUIRE(p1.has_phase1_request());
  CHECK(p1.phase1_request().definition().name() == "ab");
  // More packets while it negotiates: no second activation.
  for (int i = 0; i < 5; ++i) f.Acquire(1, "203.0.113.1");
  CHECK(f.isakmpd.sent.empty());
  f.Phase1Up(p1.phase1_request().tunnel(), 77);
  ipc::Envelope p2 = f.isakmpd.Take();
  REQUIRE(p2.has_phase2_request());
  CHECK(p2.phase2_request().definition().name() == "od");
  f.Phase2Up(n, p1.phase1_request().tunnel(), 78, 77);
  CHECK(f.StatusOf("od") == "Active");
  CHECK(f.Rules(ipc::PERMIT) == 2);
  CHECK(f.Rules(ipc::TRAP) == 1);  // still armed, behind the tunnel's policy
  f.Acquire(1, "203.0.113.1");
  CHECK(f.isakmpd.sent.empty());
}

TEST_CASE("traps: a removed or expired on-demand tunnel is Dormant again; removing it disarms") {
  Fixture f;
  f.Acquire(1, "203.0.113.1");
  ipc::Envelope p1 = f.isakmpd.Take();
  f.Phase1Up(p1.phase1_request().tunnel(), 77);
  (void)f.isakmpd.Take();
  const uint32_t n = f.Row("od")->number;
  f.Phase2Up(n, p1.phase1_request().tunnel(), 78, 77);
  REQUIRE(f.StatusOf("od") == "Active");
  // The kernel's hard expiry: the tunnel goes, the trap stays on call.
  KernelEvent hard;
  hard.tunnel = n;
  hard.spi = 0x2000;
  hard.destination = *IpAddress::Parse("192.0.2.2");
  hard.hard = true;
  f.manager.OnKernelEvent(hard);
  CHECK(f.StatusOf("od") == "Dormant");
  CHECK(f.kernel.sa_count() == 0);
  CHECK(f.Rules(ipc::PERMIT) == 0);
  CHECK(f.Rules(ipc::TRAP) == 1);
  // ike cmd=remove of the Dormant tunnel disarms the trap.
  ipc::RemoveRequest r;
  r.add_numlist(f.Row("od")->number);
  r.set_phase(2);
  ipc::Envelope removed = f.manager.Remove(r);
  REQUIRE(removed.has_remove_reply());
  CHECK(f.StatusOf("od") == "(none)");
  CHECK(f.Rules(ipc::TRAP) == 0);
  f.isakmpd.sent.clear();
  f.Acquire(1, "203.0.113.1");  // a late acquire for the disarmed trap
  CHECK(f.isakmpd.sent.empty());
  // A refresh arms it again.
  f.manager.SetDatabase(Load(kDb));
  CHECK(f.StatusOf("od") == "Dormant");
  CHECK(f.Rules(ipc::TRAP) == 1);
}

TEST_CASE("traps: a peer that brings the tunnel up first takes the Dormant row, no second row") {
  Fixture f;
  const uint32_t n = f.Row("od")->number;
  f.Phase2Up(0, 0, 90, 0, "od");
  CHECK(f.StatusOf("od") == "Active");
  CHECK(f.Row("od")->number == n);
  CHECK(f.manager.phase2_count() == 2);  // od (Active) and disc (Dormant)
  CHECK(f.Rules(ipc::PERMIT) == 2);
  // Deleted by the peer: Dormant again, still one row.
  ipc::Envelope d;
  d.mutable_sa_deleted()->set_phase(2);
  d.mutable_sa_deleted()->set_tunnel(n);
  d.mutable_sa_deleted()->set_handle(90);
  d.mutable_sa_deleted()->set_by_peer(true);
  f.Deliver(d);
  CHECK(f.StatusOf("od") == "Dormant");
  CHECK(f.manager.phase2_count() == 2);
}

TEST_CASE(
    "traps: an installed tunnel whose rekeyed pair cannot be installed stays up, no back-off") {
  Fixture f;
  // disc up (as responder, SPIs 0x3000/0x4000), od up (0x1000/0x2000).
  f.Phase2Up(0, 0, 91, 0, "disc", 0x3000, 0x4000);
  f.Phase2Up(0, 0, 90, 0, "od");
  REQUIRE(f.StatusOf("disc") == "Active");
  REQUIRE(f.StatusOf("od") == "Active");
  f.isakmpd.sent.clear();
  // A repeated report of disc's pair changes nothing.
  f.Phase2Up(f.Row("disc")->number, 0, 91, 0, "disc", 0x3000, 0x4000);
  CHECK(f.StatusOf("disc") == "Active");
  CHECK(f.isakmpd.sent.empty());
  // A rekeyed pair for disc with od's SPIs: the kernel refuses the SAs. The
  // tunnel carries on with its pair (issue 9.2: a failed rekey is retried),
  // not discovery's Clear with a back-off: that is for a tunnel not up.
  f.Phase2Up(f.Row("disc")->number, 0, 92, 0, "disc");
  CHECK(f.StatusOf("disc") == "Active");
  CHECK(f.Row("disc")->spi_in == 0x3000);
  CHECK(f.Row("disc")->handle == 91);
  CHECK(f.Row("disc")->retry_unix == 0);
  CHECK(f.manager.transitions().refused_total() == 0);
  // isakmpd drops the pair that could not be installed.
  ipc::Envelope rm = f.isakmpd.Take();
  REQUIRE(rm.has_remove_tunnel());
  CHECK(rm.remove_tunnel().handle() == 92);
}

TEST_CASE("discovery: a peer that does not answer leaves the tunnel Clear, retried with back-off") {
  Fixture f;
  f.Acquire(2, "203.0.114.7");
  ipc::Envelope p1 = f.isakmpd.Take();
  REQUIRE(p1.has_phase1_request());
  CHECK(p1.phase1_request().definition().name() == "ac");
  f.FailPhase1(p1.phase1_request().tunnel(),
               "peer 192.0.2.3 not answering: no reply to message 1 after 5 tries");
  CHECK(f.StatusOf("disc") == "Clear");
  const std::string reason = Phase2Row(*f.Row("disc")).reason();
  CHECK(reason.find("in the clear: phase 1 tunnel") == 0);
  CHECK(reason.find("not answering") != std::string::npos);
  CHECK(reason.find("(30 s) starts the next attempt") != std::string::npos);
  CHECK(Phase2Row(*f.Row("disc")).retry_unix() == 1700000000 + 30);
  // Traffic within the back-off: nothing.
  f.clock.seconds = 29;
  f.Acquire(2, "203.0.114.7");
  CHECK(f.isakmpd.sent.empty());
  // After it: the next attempt; its failure doubles the wait.
  f.clock.seconds = 30;
  f.Acquire(2, "203.0.114.7");
  CHECK(f.StatusOf("disc") == "Negotiating");
  p1 = f.isakmpd.Take();
  f.FailPhase1(p1.phase1_request().tunnel(), "peer 192.0.2.3 not answering");
  CHECK(f.StatusOf("disc") == "Clear");
  CHECK(Phase2Row(*f.Row("disc")).retry_unix() == 1700000000 + 30 + 60);
  // ike cmd=activate still starts it at once (the operator's choice).
  ipc::ActivateRequest a;
  a.add_namelist("disc");
  ipc::Envelope started = f.manager.Activate(a);
  REQUIRE(started.has_activate_reply());
  CHECK(f.StatusOf("disc") == "Negotiating");
}

TEST_CASE("traps: a refresh disarms a definition that is gone or no longer trapped") {
  Fixture f;
  std::string text = kDb;
  text.replace(text.find("activation: ON_DEMAND"), 21, "");
  f.manager.SetDatabase(Load(text));
  CHECK(f.StatusOf("od") == "(none)");
  CHECK(f.Rules(ipc::TRAP) == 0);
  CHECK(f.Rules(ipc::TRAP_CLEAR) == 1);
  // A changed selector re-arms: still one trap for the definition.
  std::string wider = kDb;
  wider.replace(wider.find("subnet: \"203.0.114.0/24\""), 24, "subnet: \"203.0.114.0/23\"");
  f.manager.SetDatabase(Load(wider));
  CHECK(f.Rules(ipc::TRAP_CLEAR) == 1);
  CHECK(Phase2Row(*f.Row("disc")).remote_id() == "203.0.114.0-203.0.115.255");
  CHECK(f.Rules(ipc::TRAP) == 1);
}

}  // namespace
}  // namespace ike::tmd
