// Dead Peer Detection in tmd (issue 9.4, tmd/core/dpd.cc) on the fake
// clock: when probes go out, what proves the peer alive, when it is declared
// dead, and what each action leaves (clear, hold, restart).
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "tests/lib/fakes.h"
#include "tests/lib/tmd_fakes.h"
#include "tmd/core/tunnel_manager.h"
#include "tunneldb/database.h"

namespace ike::tmd {
namespace {

using ike::testing::FakeClock;
using ike::testing::SeededRandom;

std::string Db(const std::string& dpd) {
  return R"(
ike_protection { name: "p1" proposal { encryption: AES_CBC hash: SHA2_256 dh_group: MODP_2048 } }
ipsec_protection { name: "p2" proposal { encryption: ESP_AES_CBC integrity: HMAC_SHA2_256 } }
ike_tunnel { name: "ab" local_address: "192.0.2.1" remote_address: "192.0.2.2" protection: "p1"
             dpd { )" +
         dpd + R"( } }
ipsec_tunnel { name: "ab-1" ike_tunnel: "ab" protection: "p2"
               local { address: "198.51.100.1" } remote { address: "203.0.113.1" } }
)";
}

// The state-only kernel with inbound counters the test sets (the real one
// has none): what the XFRM backend reads from the kernel.
class CountingKernel : public StateOnlyKernel {
 public:
  using StateOnlyKernel::StateOnlyKernel;
  std::optional<SaCounters> Counters(const IpAddress& destination, uint32_t spi) const override {
    auto it = packets.find(spi);
    if (it == packets.end() || destination.ToString() != "192.0.2.1") return SaCounters{};
    return SaCounters{it->second * 100, it->second};
  }
  std::map<uint32_t, uint64_t> packets;  // by SPI
};

struct Fixture {
  explicit Fixture(const std::string& dpd)
      : random(3), kernel(&random, &clock), manager(kernel, isakmpd, clock, &clock, &random) {
    kernel.Attach(clock, [this](const KernelEvent& e) { manager.OnKernelEvent(e); });
    Result<Database> d = Database::Parse(Db(dpd), "tunnels.db");
    REQUIRE(d.ok());
    manager.SetDatabase(std::make_shared<const Database>(std::move(d.value())));
  }
  ~Fixture() { manager.Shutdown(); }

  void Send(ipc::Envelope e) { manager.OnIsakmpdMessage(e); }
  // Everything tmd sent to isakmpd since the last call.
  std::vector<ipc::Envelope> Sent() {
    std::vector<ipc::Envelope> out;
    out.swap(isakmpd.sent);
    return out;
  }
  // Activate ab-1: phase 1 (handle 77, the peer announced DPD), then the
  // pair in 0x1001 / out 0x2001 (handle 200), at t = 0.
  void BringUp(uint64_t handle = 77) {
    ipc::ActivateRequest r;
    r.add_numlist(1);
    REQUIRE(manager.Activate(r).has_activate_reply());
    Phase1Up(handle);
    Pair(handle);
    REQUIRE(manager.FindPhase2(1)->status == TunnelStatus::kActive);
    Sent();
  }
  void Phase1Up(uint64_t handle) {
    ipc::Envelope e;
    auto* p = e.mutable_phase1_established();
    p->set_tunnel(1);
    p->set_handle(handle);
    p->set_role(ipc::INITIATOR);
    p->set_mode(ipc::MAIN);
    p->set_local_address("192.0.2.1");
    p->set_remote_address("192.0.2.2");
    p->set_icookie("0123456789abcdef");
    p->set_rcookie("fedcba9876543210");
    p->set_lifetime_seconds(28800);
    Send(e);
  }
  void Pair(uint64_t phase1_handle) {
    ipc::Envelope e;
    auto* p = e.mutable_phase2_established();
    p->set_tunnel(1);
    p->set_phase1_tunnel(1);
    p->set_phase1_handle(phase1_handle);
    p->set_handle(200);
    p->set_role(ipc::INITIATOR);
    p->set_local_id("198.51.100.1-198.51.100.1");
    p->set_remote_id("203.0.113.1-203.0.113.1");
    p->set_lifetime_seconds(3600);
    for (auto [direction, spi] : {std::pair{ipc::INBOUND, 0x1001u}, {ipc::OUTBOUND, 0x2001u}}) {
      ipc::ChildSa* sa = p->add_sa();
      sa->set_direction(direction);
      sa->set_spi(spi);
      const bool in = direction == ipc::INBOUND;
      sa->set_source(in ? "192.0.2.2" : "192.0.2.1");
      sa->set_destination(in ? "192.0.2.1" : "192.0.2.2");
      sa->set_encryption(db::ESP_AES_CBC);
      sa->set_encryption_key_bits(128);
      sa->set_encryption_key(std::string(16, 'K'));
      sa->set_integrity(db::HMAC_SHA2_256);
      sa->set_integrity_key(std::string(32, 'I'));
    }
    Send(e);
  }
  void Report(ipc::DpdOutcome outcome, uint32_t sequence = 0, uint64_t handle = 77) {
    ipc::Envelope e;
    e.mutable_dpd_report()->set_tunnel(1);
    e.mutable_dpd_report()->set_handle(handle);
    e.mutable_dpd_report()->set_outcome(outcome);
    e.mutable_dpd_report()->set_sequence(sequence);
    Send(e);
  }
  // Advances |seconds|; the DpdProbes tmd sent meanwhile, each answered
  // "sent" (isakmpd sent R-U-THERE) unless |answer| says otherwise.
  std::vector<ipc::DpdProbe> Run(int seconds, ipc::DpdOutcome answer = ipc::DPD_PROBE_SENT) {
    std::vector<ipc::DpdProbe> probes;
    for (int i = 0; i < seconds * 10; ++i) {
      clock.Advance(100);
      for (const ipc::Envelope& e : Sent()) {
        if (!e.has_dpd_probe()) {
          other.push_back(e);
          continue;
        }
        probes.push_back(e.dpd_probe());
        if (answer != ipc::DPD_OUTCOME_UNSPECIFIED) Report(answer, ++sequence);
      }
    }
    return probes;
  }
  const Phase1Tunnel& P1() const { return *manager.FindPhase1(1); }
  const Phase2Tunnel& P2() const { return *manager.FindPhase2(1); }
  bool Removed(uint32_t phase) const {
    for (const ipc::Envelope& e : other) {
      if (e.has_remove_tunnel() && e.remove_tunnel().phase() == phase &&
          e.remove_tunnel().tunnel() == 1) {
        return true;
      }
    }
    return false;
  }
  size_t Traps() const {
    size_t n = 0;
    for (const ipc::FilterRule& r : kernel.ListPolicies()) n += r.tunnel() == 0;
    return n;
  }

  FakeClock clock;
  SeededRandom random;
  testing::FakeIsakmpdLink isakmpd;
  CountingKernel kernel;
  TunnelManager manager;
  std::vector<ipc::Envelope> other;  // what Run saw besides probes
  uint32_t sequence = 1000;
};

TEST_CASE("DPD idle: a silent peer is probed every interval and dead after interval x retries") {
  Fixture f("interval_seconds: 10 retries: 3 action: DPD_CLEAR");
  f.BringUp();
  // Nothing before the first interval.
  CHECK(f.Run(9).empty());
  auto probes = f.Run(1);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].tunnel() == 1);
  CHECK(probes[0].handle() == 77);
  CHECK(probes[0].quiet_ms() == 10000);  // isakmpd skips it if the peer spoke
  // Unanswered: one more every interval, three in all...
  CHECK(f.Run(20).size() == 2);
  CHECK(f.P1().status == TunnelStatus::kActive);
  CHECK(f.P2().status == TunnelStatus::kActive);
  // ...and an interval after the third, 30 s after the first, dead.
  CHECK(f.Run(9).empty());
  CHECK(f.P1().status == TunnelStatus::kActive);
  CHECK(f.Run(1).empty());
  CHECK(f.P1().status == TunnelStatus::kFailed);
  CHECK(f.P1().reason.str() ==
        "peer 192.0.2.2 dead: no answer to 3 DPD probes (R-U-THERE) in 30 s");
  // Action clear: phase 2 Failed with the reason, its SAs gone from the
  // kernel and from isakmpd, the ISAKMP SA too; no trap.
  CHECK(f.P2().status == TunnelStatus::kFailed);
  CHECK(f.P2().reason.str().find("dead: no answer to 3 DPD probes") != std::string::npos);
  CHECK(f.kernel.ListSas().empty());
  CHECK(f.Removed(2));
  CHECK(f.Removed(1));
  CHECK(f.Traps() == 0);
  // Nothing more: no probe of a dead peer, no second report.
  f.other.clear();
  CHECK(f.Run(60).empty());
  CHECK(f.other.empty());
}

TEST_CASE("DPD idle: an answer or traffic from the peer clears the count") {
  Fixture f("interval_seconds: 10 retries: 3 action: DPD_CLEAR");
  f.BringUp();
  CHECK(f.Run(20).size() == 2);
  f.Report(ipc::DPD_ACKNOWLEDGED, f.sequence);
  CHECK(f.P1().dpd_unanswered == 0);
  // Three more unanswered are needed: 2 (of 3) before did not count.
  CHECK(f.Run(30).size() == 3);
  CHECK(f.P1().status == TunnelStatus::kActive);
  // Inbound packets on the tunnel's SA: alive, no probe, the count cleared.
  f.kernel.packets[0x1001] = 5;
  CHECK(f.Run(10).empty());
  CHECK(f.P1().dpd_unanswered == 0);
  CHECK(f.P1().status == TunnelStatus::kActive);
  // Still flowing: no probe.
  f.kernel.packets[0x1001] = 9;
  CHECK(f.Run(10).empty());
  // The peer's IKE message within the interval (isakmpd says so): no
  // probe was sent, nothing counted.
  auto probes = f.Run(10, ipc::DPD_HEARD_RECENTLY);
  CHECK(probes.size() == 1);
  CHECK(f.P1().dpd_unanswered == 0);
  CHECK(f.P1().status == TunnelStatus::kActive);
}

TEST_CASE("DPD: a peer without the DPD vendor ID is not probed again") {
  Fixture f("interval_seconds: 10 retries: 2");
  f.BringUp();
  CHECK(f.Run(10, ipc::DPD_NOT_SUPPORTED).size() == 1);
  CHECK(f.Run(100).empty());
  CHECK(f.P1().status == TunnelStatus::kActive);
}

TEST_CASE("DPD periodic: probes whatever the traffic; mode off: none") {
  {
    Fixture f("mode: DPD_PERIODIC interval_seconds: 5 retries: 2");
    f.BringUp();
    f.kernel.packets[0x1001] = 1;
    auto probes = f.Run(5, ipc::DPD_ACKNOWLEDGED);
    REQUIRE(probes.size() == 1);
    CHECK(probes[0].quiet_ms() == 0);
    f.kernel.packets[0x1001] = 2;
    CHECK(f.Run(5, ipc::DPD_ACKNOWLEDGED).size() == 1);
    CHECK(f.P1().status == TunnelStatus::kActive);
  }
  {
    Fixture f("mode: DPD_OFF interval_seconds: 5");
    f.BringUp();
    CHECK(f.Run(100).empty());
  }
}

TEST_CASE("DPD hold: the tunnel waits Dormant behind a trap, traffic brings it back") {
  Fixture f("interval_seconds: 5 retries: 2");  // action: the default, hold
  f.BringUp();
  CHECK(f.Run(15).size() == 2);
  REQUIRE(f.P1().status == TunnelStatus::kFailed);
  // The phase 2 row: Dormant (a trap for the manual definition), with the
  // reason; nothing of it in the kernel but the trap.
  const Phase2Tunnel* t2 = f.manager.FindPhase2(1);
  REQUIRE(t2 != nullptr);
  CHECK(t2->status == TunnelStatus::kDormant);
  CHECK(t2->reason.str().find("dead: no answer to 2 DPD probes") != std::string::npos);
  CHECK(t2->reason.str().find("traffic negotiates it again") != std::string::npos);
  CHECK(f.kernel.ListSas().empty());
  CHECK(f.Traps() == 1);
  CHECK(f.Removed(2));
  CHECK(f.Removed(1));
  // Traffic hits the trap: phase 1 then phase 2 are negotiated again.
  f.other.clear();
  KernelEvent acquire;
  acquire.kind = KernelEvent::Kind::kAcquire;
  acquire.trap = 1;
  acquire.source = *IpAddress::Parse("198.51.100.1");
  acquire.destination = *IpAddress::Parse("203.0.113.1");
  f.manager.OnKernelEvent(acquire);
  std::vector<ipc::Envelope> sent = f.Sent();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].has_phase1_request());
  f.Phase1Up(78);
  f.Pair(78);
  t2 = f.manager.FindPhase2(1);
  REQUIRE(t2 != nullptr);
  CHECK(t2->status == TunnelStatus::kActive);
  // Up again: the trap held for it is gone (a manual tunnel has none).
  CHECK(f.Traps() == 0);
  // And DPD watches the new ISAKMP SA.
  auto probes = f.Run(5);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].handle() == 78);
}

TEST_CASE("DPD restart: negotiated again at once, then after a back-off while it fails") {
  Fixture f("interval_seconds: 5 retries: 1 action: DPD_RESTART");
  f.BringUp();
  CHECK(f.Run(10).size() == 1);
  REQUIRE(f.P1().status != TunnelStatus::kActive);
  // At once: a new phase 1 (the same number) for the phase 2 tunnel.
  auto requests = [&] {
    size_t n = 0;
    for (const ipc::Envelope& e : f.other) n += e.has_phase1_request();
    return n;
  };
  CHECK(requests() == 1);
  CHECK(f.P1().status == TunnelStatus::kNegotiating);
  CHECK(f.P2().status == TunnelStatus::kNegotiating);
  // The peer is still away: the negotiation fails...
  ipc::Envelope failed;
  failed.mutable_negotiation_failed()->set_phase(1);
  failed.mutable_negotiation_failed()->set_tunnel(1);
  failed.mutable_negotiation_failed()->set_reason("no answer from 192.0.2.2");
  f.Send(failed);
  CHECK(f.P1().status == TunnelStatus::kFailed);
  // The listing says why it failed and what comes next.
  CHECK(f.P1().reason.str() ==
        "no answer from 192.0.2.2; the peer was declared dead (DPD), negotiating again in 30 s");
  // ...and is tried again 30 s later (settings.trap_retry_seconds), not before.
  f.Run(29);
  CHECK(requests() == 1);
  f.Run(1);
  CHECK(requests() == 2);
  // Up: no more tries.
  f.Phase1Up(90);
  f.Pair(90);
  CHECK(f.P2().status == TunnelStatus::kActive);
  f.Send(failed);  // a stale failure report changes nothing
  f.Run(120, ipc::DPD_ACKNOWLEDGED);
  CHECK(requests() == 2);
}

}  // namespace
}  // namespace ike::tmd
