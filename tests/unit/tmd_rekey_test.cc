// tmd's side of phase 2 rekeying (issue 9.2, tmd/core/rekey.cc) on the fake
// clock: the state-only kernel reports soft and hard expiry as the kernel
// does; isakmpd is a fake that records what tmd asks of it.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "tests/lib/fakes.h"
#include "tests/lib/tmd_fakes.h"
#include "tmd/core/tunnel_manager.h"
#include "tunneldb/names.h"

namespace ike::tmd {
namespace {

using ike::testing::FakeClock;
using ike::testing::SeededRandom;

const char kDb[] = R"(
ike_protection { name: "p1" proposal { encryption: AES_CBC hash: SHA2_256 dh_group: MODP_2048 } }
ipsec_protection { name: "p2" lifetime_seconds: 100
                   proposal { encryption: ESP_AES_CBC integrity: HMAC_SHA2_256 } }
ike_tunnel { name: "ab" local_address: "192.0.2.1" remote_address: "192.0.2.2" protection: "p1"
            dpd { mode: DPD_OFF } }  # dpd_test.cc tests DPD
ipsec_tunnel { name: "ab-1" ike_tunnel: "ab" protection: "p2"
               local { address: "198.51.100.1" } remote { address: "203.0.113.1" } }
)";

struct Sa {
  ipc::Direction direction;
  uint32_t spi;
};

struct Fixture {
  explicit Fixture(uint64_t seed = 7)
      : random(seed), kernel(&random, &clock), manager(kernel, isakmpd, clock, &clock, &random) {
    kernel.Attach(clock, [this](const KernelEvent& e) { manager.OnKernelEvent(e); });
    Result<Database> d = Database::Parse(kDb, "tunnels.db");
    REQUIRE(d.ok());
    manager.SetDatabase(std::make_shared<const Database>(std::move(d.value())));
  }
  ~Fixture() { manager.Shutdown(); }

  ipc::Envelope Take() {
    REQUIRE_FALSE(isakmpd.sent.empty());
    ipc::Envelope e = isakmpd.sent.front();
    isakmpd.sent.erase(isakmpd.sent.begin());
    return e;
  }
  void Reply(const ipc::Envelope& request, bool ok = true, const std::string& reason = "") {
    ipc::Envelope r;
    r.set_request_id(request.request_id());
    if (ok) {
      r.mutable_ack();
    } else {
      r.mutable_error()->set_code(ipc::NOT_READY);
      r.mutable_error()->set_reason(reason);
    }
    manager.OnIsakmpdMessage(r);
  }
  void Phase1Up(uint32_t tunnel, uint64_t handle, bool aixike) {
    ipc::Envelope e;
    auto* p = e.mutable_phase1_established();
    p->set_tunnel(tunnel);
    p->set_handle(handle);
    p->set_role(ipc::INITIATOR);
    p->set_mode(ipc::MAIN);
    p->set_local_address("192.0.2.1");
    p->set_remote_address("192.0.2.2");
    p->set_icookie("0123456789abcdef");
    p->set_rcookie("fedcba9876543210");
    p->set_peer_aixike(aixike);
    manager.OnIsakmpdMessage(e);
  }
  static void FillSa(ipc::ChildSa* sa, const Sa& s) {
    sa->set_direction(s.direction);
    sa->set_spi(s.spi);
    const bool in = s.direction == ipc::INBOUND;
    sa->set_source(in ? "192.0.2.2" : "192.0.2.1");
    sa->set_destination(in ? "192.0.2.1" : "192.0.2.2");
    sa->set_encryption(db::ESP_AES_CBC);
    sa->set_encryption_key_bits(128);
    sa->set_encryption_key(std::string(16, 'K'));
    sa->set_integrity(db::HMAC_SHA2_256);
    sa->set_integrity_key(std::string(32, 'I'));
  }
  // A pair for tunnel |tunnel| (0: the peer's, for the definition by name).
  void Pair(uint32_t tunnel, uint64_t handle, std::vector<Sa> sas, uint32_t follows = 0) {
    ipc::Envelope e;
    auto* p = e.mutable_phase2_established();
    p->set_tunnel(tunnel);
    p->set_phase1_tunnel(tunnel ? 1 : 0);
    p->set_phase1_handle(77);
    p->set_handle(handle);
    p->set_name(tunnel ? "" : "ab-1");
    p->set_role(tunnel ? ipc::INITIATOR : ipc::RESPONDER);
    p->set_local_id("198.51.100.1-198.51.100.1");
    p->set_remote_id("203.0.113.1-203.0.113.1");
    p->set_lifetime_seconds(100);
    if (follows != 0) {
      p->set_outbound_follows(true);
      p->set_outbound_spi(follows);
    }
    for (const Sa& s : sas) FillSa(p->add_sa(), s);
    manager.OnIsakmpdMessage(e);
  }
  // The peer's rekey, Quick Mode message 2 leaving: our new inbound SA.
  void Early(uint64_t handle, uint32_t spi, uint32_t lifetime = 100) {
    ipc::Envelope e;
    auto* p = e.mutable_phase2_established();
    p->set_phase1_handle(77);
    p->set_handle(handle);
    p->set_name("ab-1");
    p->set_role(ipc::RESPONDER);
    p->set_lifetime_seconds(lifetime);
    p->set_before_message3(true);
    FillSa(p->add_sa(), {ipc::INBOUND, spi});
    manager.OnIsakmpdMessage(e);
  }
  // Activate ab-1, phase 1 (handle 77), then the pair in 0x1001 / out 0x2001
  // (handle 200) at t = 0.
  void BringUp(bool aixike = true) {
    ipc::ActivateRequest r;
    r.add_numlist(1);
    REQUIRE(manager.Activate(r).has_activate_reply());
    ipc::Envelope p1 = Take();
    REQUIRE(p1.has_phase1_request());
    Reply(p1);
    Phase1Up(1, 77, aixike);
    ipc::Envelope p2 = Take();
    REQUIRE(p2.has_phase2_request());
    CHECK_FALSE(p2.phase2_request().rekey());
    Reply(p2);
    Pair(1, 200, {{ipc::INBOUND, 0x1001}, {ipc::OUTBOUND, 0x2001}});
    REQUIRE(Row().status == TunnelStatus::kActive);
  }
  const Phase2Tunnel& Row() const {
    const Phase2Tunnel* t = manager.FindPhase2(1);
    REQUIRE(t != nullptr);
    return *t;
  }
  // SPIs in the kernel, sorted.
  std::vector<uint32_t> KernelSpis() const {
    std::vector<uint32_t> out;
    for (const auto& e : kernel.ListSas()) out.push_back(e.spi());
    std::sort(out.begin(), out.end());
    return out;
  }
  // Advances to |second| after BringUp.
  void At(int64_t second) {
    clock.Advance(second * 1000 - elapsed_ms);
    elapsed_ms = second * 1000;
  }
  // Runs the clock until tmd asks isakmpd for something (at most |limit| s).
  int64_t UntilSent(int64_t limit) {
    while (isakmpd.sent.empty() && elapsed_ms < limit * 1000) {
      clock.Advance(100);
      elapsed_ms += 100;
    }
    return elapsed_ms / 1000;
  }

  FakeClock clock;
  SeededRandom random;
  testing::FakeIsakmpdLink isakmpd;
  StateOnlyKernel kernel;
  TunnelManager manager;
  int64_t elapsed_ms = 0;
};

std::vector<uint32_t> Spis(std::initializer_list<uint32_t> l) { return l; }

TEST_CASE(
    "rekey at the soft limit: same tunnel, new inbound SA first, the old pair until its "
    "hard limit") {
  Fixture f;
  f.BringUp();
  // Initiator's soft limit: 80-88 % of 100 s.
  const uint64_t start = f.clock.UnixNow();
  CHECK(f.Row().rekey_unix >= start + 80);
  CHECK(f.Row().rekey_unix <= start + 88);
  CHECK(Phase2Row(f.Row()).next_rekey_unix() == f.Row().rekey_unix);
  f.At(79);
  CHECK(f.isakmpd.sent.empty());
  const int64_t soft = f.UntilSent(91);
  CHECK(soft >= 80);
  CHECK(soft <= 90);
  ipc::Envelope rekey = f.Take();
  REQUIRE(rekey.has_phase2_request());
  CHECK(rekey.phase2_request().rekey());
  CHECK(rekey.phase2_request().tunnel() == 1);
  CHECK(rekey.phase2_request().phase1_tunnel() == 1);
  CHECK(rekey.phase2_request().definition().name() == "ab-1");
  f.Reply(rekey);
  CHECK(f.Row().status == TunnelStatus::kActive);    // still, on the old pair
  CHECK(Phase2Row(f.Row()).next_rekey_unix() == 0);  // under way

  // isakmpd: the new inbound SA now, the outbound one a second later.
  f.Pair(1, 201, {{ipc::INBOUND, 0x1002}}, 0x2002);
  CHECK(f.KernelSpis() == Spis({0x1001, 0x1002, 0x2001}));
  CHECK(f.Row().number == 1);
  CHECK(f.Row().rekey_count == 1);
  CHECK(f.Row().spi_in == 0x1002);
  CHECK(f.manager.phase2_count() == 1);
  f.Pair(1, 201, {{ipc::OUTBOUND, 0x2002}});
  CHECK(f.KernelSpis() == Spis({0x1001, 0x1002, 0x2001, 0x2002}));
  CHECK(f.Row().spi_out == 0x2002);
  CHECK(f.kernel.policy_count() == 2);  // the policies stay as they are

  // The old pair's hard limit (100 s after its installation): the kernel
  // deletes it, tmd has isakmpd tell the peer, once.
  f.At(100);
  CHECK(f.KernelSpis() == Spis({0x1002, 0x2002}));
  ipc::Envelope rm = f.Take();
  REQUIRE(rm.has_remove_tunnel());
  CHECK(rm.remove_tunnel().phase() == 2);
  CHECK(rm.remove_tunnel().tunnel() == 1);
  CHECK(rm.remove_tunnel().handle() == 200);
  CHECK(f.isakmpd.sent.empty());
  CHECK(f.Row().old_pairs.empty());

  // And again at the new pair's soft limit.
  const int64_t second = f.UntilSent(soft + 91);
  CHECK(second >= soft + 80);
  ipc::Envelope again = f.Take();
  REQUIRE(again.has_phase2_request());
  CHECK(again.phase2_request().rekey());
}

TEST_CASE("the peer rekeys: its pair takes the tunnel's number; the old pair is not renewed") {
  Fixture f;
  f.BringUp();
  f.At(10);
  f.Pair(0, 300, {{ipc::INBOUND, 0x1003}, {ipc::OUTBOUND, 0x2003}});
  ipc::Envelope assigned = f.Take();
  REQUIRE(assigned.has_tunnel_assigned());
  CHECK(assigned.tunnel_assigned().handle() == 300);
  CHECK(assigned.tunnel_assigned().phase() == 2);
  CHECK(assigned.tunnel_assigned().tunnel() == 1);
  CHECK(f.manager.phase2_count() == 1);
  CHECK(f.Row().rekey_count == 1);
  CHECK(f.Row().spi_in == 0x1003);
  CHECK(f.Row().role == ipc::RESPONDER);
  // Our responder soft limit: 92-97 % of 100 s after the peer's pair.
  CHECK(f.Row().rekey_unix >= f.clock.UnixNow() + 92);
  CHECK(f.Row().rekey_unix <= f.clock.UnixNow() + 97);
  // The old pair's soft limit passes without a rekey; its hard limit
  // removes it.
  f.At(99);
  CHECK(f.isakmpd.sent.empty());
  f.At(100);
  ipc::Envelope rm = f.Take();
  REQUIRE(rm.has_remove_tunnel());
  CHECK(rm.remove_tunnel().handle() == 200);
  CHECK(f.KernelSpis() == Spis({0x1003, 0x2003}));
}

TEST_CASE(
    "a failed rekey keeps the tunnel up on its pair and is tried again, until the hard "
    "limit") {
  Fixture f;
  f.BringUp();
  const int64_t soft = f.UntilSent(91);
  ipc::Envelope rekey = f.Take();
  f.Reply(rekey, false, "phase 1 tunnel 1 is not active");
  CHECK(f.Row().status == TunnelStatus::kActive);
  CHECK(f.Row().rekey_failures == 1);
  // 5 s later, again; this time the Quick Mode fails.
  CHECK(f.UntilSent(soft + 6) == soft + 5);
  ipc::Envelope second = f.Take();
  REQUIRE(second.phase2_request().rekey());
  f.Reply(second);
  ipc::Envelope failed;
  failed.mutable_negotiation_failed()->set_phase(2);
  failed.mutable_negotiation_failed()->set_tunnel(1);
  failed.mutable_negotiation_failed()->set_handle(999);
  failed.mutable_negotiation_failed()->set_reason("peer 192.0.2.2 not answering");
  f.manager.OnIsakmpdMessage(failed);
  CHECK(f.Row().status == TunnelStatus::kActive);
  CHECK(f.Row().spi_in == 0x1001);
  // Then 10 s later, unless that is past the hard limit (100 s).
  const int64_t third = f.UntilSent(std::min<int64_t>(soft + 16, 99));
  if (soft + 15 < 100) {
    CHECK(third == soft + 15);
    f.Reply(f.Take(), false, "still not");
  } else {
    CHECK(f.isakmpd.sent.empty());
  }
  // Nothing starts after the hard limit: the tunnel ends there.
  f.At(100);
  CHECK(f.manager.FindPhase2(1) == nullptr);
  ipc::Envelope rm = f.Take();
  REQUIRE(rm.has_remove_tunnel());
  CHECK(rm.remove_tunnel().handle() == 0);
  f.At(200);
  CHECK(f.isakmpd.sent.empty());
  CHECK(f.kernel.sa_count() == 0);
}

TEST_CASE("no ISAKMP SA any more: the rekey negotiates phase 1 first") {
  Fixture f;
  f.BringUp();
  ipc::Envelope gone;
  gone.mutable_sa_deleted()->set_phase(1);
  gone.mutable_sa_deleted()->set_tunnel(1);
  gone.mutable_sa_deleted()->set_handle(77);
  gone.mutable_sa_deleted()->set_reason("expired");
  f.manager.OnIsakmpdMessage(gone);
  CHECK(f.manager.FindPhase1(1) == nullptr);
  CHECK(f.Row().status == TunnelStatus::kActive);
  f.UntilSent(91);
  ipc::Envelope p1 = f.Take();
  REQUIRE(p1.has_phase1_request());
  CHECK(p1.phase1_request().definition().name() == "ab");
  CHECK(f.isakmpd.sent.empty());
  f.Reply(p1);
  f.Phase1Up(p1.phase1_request().tunnel(), 78, true);
  ipc::Envelope rekey = f.Take();
  REQUIRE(rekey.has_phase2_request());
  CHECK(rekey.phase2_request().rekey());
  CHECK(rekey.phase2_request().phase1_tunnel() == p1.phase1_request().tunnel());
}

// Both ends rekey pair 200 at once. Ours: in 0x1002 out 0x2002; the peer's:
// in 0x3003 out 0x4003. The rule keeps the pair whose larger SPI is larger,
// whatever the order the two pairs arrive in; the other end, which sees the
// same SPIs the other way round, keeps the same pair.
TEST_CASE("rekey collision with our own daemon: the same survivor in either order") {
  struct Ours {
    uint32_t in, out;
    bool wins;
  };
  // The third: only the outbound SPI (held back by isakmpd for a second,
  // known by its number) makes ours the survivor.
  for (bool ours_first : {true, false}) {
    for (Ours o :
         {Ours{0x5005, 0x6006, true}, Ours{0x1002, 0x2002, false}, Ours{0x1002, 0x9009, true}}) {
      const bool ours_wins = o.wins;
      INFO("ours first " << ours_first << ", ours " << std::hex << o.in << "/" << o.out);
      Fixture f;
      f.BringUp(/*aixike=*/true);
      f.UntilSent(91);
      f.Reply(f.Take());
      const uint32_t ours_in = o.in, ours_out = o.out;
      auto ours = [&] { f.Pair(1, 201, {{ipc::INBOUND, ours_in}}, ours_out); };
      auto peers = [&] {
        f.Pair(0, 300, {{ipc::INBOUND, 0x3003}, {ipc::OUTBOUND, 0x4003}});
        REQUIRE(f.Take().has_tunnel_assigned());
      };
      if (ours_first) {
        ours();
        peers();
      } else {
        peers();
        ours();
      }
      f.Pair(1, 201, {{ipc::OUTBOUND, ours_out}});  // our held outbound SA arrives
      const Phase2Tunnel& t = f.Row();
      CHECK(t.handle == (ours_wins ? 201u : 300u));
      CHECK(t.spi_in == (ours_wins ? ours_in : 0x3003u));
      CHECK(t.rekey_count == 2);
      // The loser has no outbound SA any more: the kernel sends on the
      // survivor. Its inbound SA stays for a grace period.
      const std::vector<uint32_t> spis = f.KernelSpis();
      const uint32_t loser_out = ours_wins ? 0x4003 : ours_out;
      const uint32_t loser_in = ours_wins ? 0x3003 : ours_in;
      CHECK(std::count(spis.begin(), spis.end(), loser_out) == 0);
      CHECK(std::count(spis.begin(), spis.end(), loser_in) == 1);
      CHECK(f.isakmpd.sent.empty());
      f.clock.Advance(5000);
      ipc::Envelope rm = f.Take();
      REQUIRE(rm.has_remove_tunnel());
      CHECK(rm.remove_tunnel().handle() == (ours_wins ? 300u : 201u));
      const std::vector<uint32_t> after = f.KernelSpis();
      CHECK(std::count(after.begin(), after.end(), loser_in) == 0);
      // The pair both renewed stays until its hard limit.
      CHECK(std::count(after.begin(), after.end(), 0x1001u) == 1);
    }
  }
}

// The rule must give both ends the same survivor whatever the order, though
// each end's own new pair has its outbound SA held back for a second: the
// held SPI counts. Here it decides: of the four new SPIs 0x6006 is the
// largest, the outbound SPI of this end's own pair (held), the inbound SPI
// of the peer's pair as the other end sees it (mirrored).
TEST_CASE("rekey collision with our own daemon: a held outbound SPI counts in the rule") {
  for (bool own_first : {true, false}) {
    for (bool mirrored : {false, true}) {
      INFO("own pair first " << own_first << ", the other end's view " << mirrored);
      const uint32_t own_in = mirrored ? 0x4003 : 0x1002, own_out = mirrored ? 0x3003 : 0x6006;
      const uint32_t peer_in = mirrored ? 0x6006 : 0x3003, peer_out = mirrored ? 0x1002 : 0x4003;
      Fixture f;
      f.BringUp(/*aixike=*/true);
      f.UntilSent(91);
      f.Reply(f.Take());
      auto own = [&] { f.Pair(1, 201, {{ipc::INBOUND, own_in}}, own_out); };
      auto peers = [&] {
        f.Pair(0, 300, {{ipc::INBOUND, peer_in}, {ipc::OUTBOUND, peer_out}});
        REQUIRE(f.Take().has_tunnel_assigned());
      };
      if (own_first) {
        own();
        peers();
      } else {
        peers();
        own();
      }
      f.Pair(1, 201, {{ipc::OUTBOUND, own_out}});  // the held outbound SA arrives
      const Phase2Tunnel& t = f.Row();
      // Both ends keep the pair {0x1002, 0x6006}: this end its own, the other the peer's.
      CHECK(t.handle == (mirrored ? 300u : 201u));
      CHECK(std::min(t.spi_in, t.spi_out) == 0x1002u);
      CHECK(std::max(t.spi_in, t.spi_out) == 0x6006u);
    }
  }
}

TEST_CASE("rekey collision with a foreign peer: both pairs kept, none deleted early") {
  Fixture f;
  f.BringUp(/*aixike=*/false);
  f.UntilSent(91);
  f.Reply(f.Take());
  f.Pair(0, 300, {{ipc::INBOUND, 0x3003}, {ipc::OUTBOUND, 0x4003}});
  REQUIRE(f.Take().has_tunnel_assigned());
  f.Pair(1, 201, {{ipc::INBOUND, 0x1002}}, 0x2002);
  f.Pair(1, 201, {{ipc::OUTBOUND, 0x2002}});
  CHECK(f.Row().handle == 201);  // the newest
  CHECK(f.KernelSpis() == Spis({0x1001, 0x1002, 0x2001, 0x2002, 0x3003, 0x4003}));
  f.clock.Advance(30000);
  // Only the pair both renewed has gone (its hard limit), nothing else.
  CHECK(f.KernelSpis() == Spis({0x1002, 0x2002, 0x3003, 0x4003}));
  ipc::Envelope rm = f.Take();
  CHECK(rm.remove_tunnel().handle() == 200);
  CHECK(f.isakmpd.sent.empty());
}

// Our own daemon as the initiator installs its new inbound SA after it sent
// Quick Mode 3 (isakmpd sends, tmd installs): our new outbound SA waits a
// second after our inbound one, and the kernel sends on the previous pair
// meanwhile. With another peer (it installs before it sends message 3) both
// go in at once.
// strongSwan installs its new pair when Quick Mode message 2 reaches it and
// sends on it at once: our new inbound SA is in the kernel before message 3.
TEST_CASE("the peer's rekey: our new inbound SA goes in as message 2 leaves; message 3 keeps it") {
  for (bool aixike : {false, true}) {
    INFO("the peer is our own daemon: " << aixike);
    Fixture f;
    f.BringUp(aixike);
    f.At(10);
    f.Early(300, 0x1003);
    CHECK(f.KernelSpis() == Spis({0x1001, 0x1003, 0x2001}));
    CHECK(f.Row().handle == 200);  // the tunnel is unchanged until message 3
    CHECK(f.Row().rekey_count == 0);
    CHECK(f.isakmpd.sent.empty());
    f.Pair(0, 300, {{ipc::INBOUND, 0x1003}, {ipc::OUTBOUND, 0x2003}});
    REQUIRE(f.Take().has_tunnel_assigned());
    CHECK(f.Row().handle == 300);
    CHECK(f.Row().rekey_count == 1);
    f.clock.Advance(1000);  // our daemon: the outbound SA a second later
    f.elapsed_ms += 1000;
    CHECK(f.KernelSpis() == Spis({0x1001, 0x1003, 0x2001, 0x2003}));
    // The early SA is the pair's own: the old pair goes at its hard limit,
    // the new pair's soft limit (92-97 % of 100 s, as a responder) renews it.
    f.At(100);
    ipc::Envelope rm = f.Take();
    REQUIRE(rm.has_remove_tunnel());
    CHECK(rm.remove_tunnel().handle() == 200);
    CHECK(f.KernelSpis() == Spis({0x1003, 0x2003}));
    const int64_t rekey = f.UntilSent(120);
    CHECK(rekey >= 10 + 92);
    CHECK(rekey <= 10 + 97);
    REQUIRE(f.Take().phase2_request().rekey());
  }
}

TEST_CASE("an inbound SA installed before message 3 is withdrawn when message 3 never comes") {
  SECTION("isakmpd reports the Quick Mode failed") {
    Fixture f;
    f.BringUp(false);
    f.At(10);
    f.Early(300, 0x1003);
    ipc::Envelope failed;
    failed.mutable_negotiation_failed()->set_phase(2);
    failed.mutable_negotiation_failed()->set_handle(300);
    failed.mutable_negotiation_failed()->set_reason("no reply to Quick Mode message 2");
    f.manager.OnIsakmpdMessage(failed);
    CHECK(f.KernelSpis() == Spis({0x1001, 0x2001}));
    CHECK(f.Row().status == TunnelStatus::kActive);
    CHECK(f.Row().rekey_count == 0);
  }
  SECTION("the tunnel ends (its pair's hard limit)") {
    Fixture f;
    f.BringUp(false);
    f.At(10);
    f.Early(300, 0x1003);
    f.UntilSent(91);  // our own rekey: refused, and so on until the end
    f.Reply(f.Take(), false, "phase 1 tunnel 1 is not active");
    f.At(99);
    CHECK(f.KernelSpis() == Spis({0x1001, 0x1003, 0x2001}));
    f.At(100);
    CHECK(f.KernelSpis().empty());
  }
  SECTION("isakmpd says nothing for 120 s") {
    Fixture f;
    f.BringUp(false);
    f.At(10);
    f.Early(300, 0x1003, /*lifetime=*/1000);  // not gone at its hard limit first
    // Our own rekey (at 80-88 s) keeps the tunnel up past 120 s.
    f.UntilSent(91);
    ipc::Envelope rekey = f.Take();
    REQUIRE(rekey.phase2_request().rekey());
    f.Reply(rekey);
    f.Pair(1, 400, {{ipc::INBOUND, 0x1004}, {ipc::OUTBOUND, 0x2004}});
    f.At(129);
    CHECK(f.KernelSpis() == Spis({0x1003, 0x1004, 0x2004}));
    f.At(130);
    CHECK(f.KernelSpis() == Spis({0x1004, 0x2004}));
  }
  SECTION("the kernel removed it at its hard limit") {
    Fixture f;
    f.BringUp(false);
    f.At(10);
    f.Early(300, 0x1003, /*lifetime=*/20);
    f.At(30);
    CHECK(f.KernelSpis() == Spis({0x1001, 0x2001}));
    // A late message 3 installs the pair afresh.
    f.Pair(0, 300, {{ipc::INBOUND, 0x1003}, {ipc::OUTBOUND, 0x2003}});
    REQUIRE(f.Take().has_tunnel_assigned());
    CHECK(f.KernelSpis() == Spis({0x1001, 0x1003, 0x2001, 0x2003}));
  }
  SECTION("isakmpd stops") {
    Fixture f;
    f.BringUp(false);
    f.Early(300, 0x1003);
    f.manager.OnIsakmpdDisconnected();
    CHECK(f.KernelSpis() == Spis({0x1001, 0x2001}));
  }
  SECTION("a first Quick Mode (no tunnel up) installs nothing before message 3") {
    Fixture f;
    f.Early(300, 0x1003);
    CHECK(f.KernelSpis().empty());
    f.Pair(0, 300, {{ipc::INBOUND, 0x1003}, {ipc::OUTBOUND, 0x2003}});
    CHECK(f.KernelSpis() == Spis({0x1003, 0x2003}));
  }
}

TEST_CASE("the peer's rekey: our new outbound SA a second after the inbound one (our daemon)") {
  for (bool aixike : {true, false}) {
    INFO("the peer is our own daemon: " << aixike);
    Fixture f;
    f.BringUp(aixike);
    f.At(10);
    f.Pair(0, 300, {{ipc::INBOUND, 0x1003}, {ipc::OUTBOUND, 0x2003}});
    REQUIRE(f.Take().has_tunnel_assigned());
    CHECK(f.Row().handle == 300);
    CHECK(f.Row().spi_out == 0x2003);  // listed at once
    if (aixike) {
      CHECK(f.KernelSpis() == Spis({0x1001, 0x1003, 0x2001}));
      f.clock.Advance(999);
      CHECK(f.KernelSpis() == Spis({0x1001, 0x1003, 0x2001}));
      f.clock.Advance(1);
    }
    CHECK(f.KernelSpis() == Spis({0x1001, 0x1003, 0x2001, 0x2003}));
    CHECK(f.isakmpd.sent.empty());
  }
}

TEST_CASE(
    "a Delete from the peer: of an old pair removes that pair; of the current pair hands "
    "the tunnel back to the old one") {
  Fixture f;
  f.BringUp();
  f.At(10);
  f.Pair(0, 300, {{ipc::INBOUND, 0x1003}, {ipc::OUTBOUND, 0x2003}});
  f.Take();
  ipc::Envelope del;
  auto* d = del.mutable_sa_deleted();
  d->set_phase(2);
  d->set_tunnel(1);
  d->set_by_peer(true);
  d->set_reason("deleted by peer 192.0.2.2");
  d->set_handle(300);  // the current pair
  f.manager.OnIsakmpdMessage(del);
  CHECK(f.Row().status == TunnelStatus::kActive);
  CHECK(f.Row().handle == 200);
  CHECK(f.Row().spi_in == 0x1001);
  CHECK(f.Row().spi_out == 0x2001);
  CHECK(f.KernelSpis() == Spis({0x1001, 0x2001}));
  // And now the only pair: the tunnel ends.
  d->set_handle(200);
  f.manager.OnIsakmpdMessage(del);
  CHECK(f.manager.FindPhase2(1) == nullptr);
  CHECK(f.kernel.sa_count() == 0);
  CHECK(f.kernel.policy_count() == 0);

  Fixture g;
  g.BringUp();
  g.At(10);
  g.Pair(0, 300, {{ipc::INBOUND, 0x1003}, {ipc::OUTBOUND, 0x2003}});
  g.Take();
  d->set_handle(200);  // the replaced pair
  g.manager.OnIsakmpdMessage(del);
  CHECK(g.Row().handle == 300);
  g.clock.Advance(1000);  // the new outbound SA, a second after the inbound one
  CHECK(g.KernelSpis() == Spis({0x1003, 0x2003}));
  CHECK(g.isakmpd.sent.empty());  // the peer knows
}

TEST_CASE("soft limits: 80-88 % of the lifetime where we initiated, 92-97 % where we responded") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Fixture f(seed);
    f.BringUp();
    const uint64_t now = f.clock.UnixNow();
    CHECK(f.Row().rekey_unix >= now + 80);
    CHECK(f.Row().rekey_unix <= now + 88);
    f.Pair(0, 300, {{ipc::INBOUND, 0x1003}, {ipc::OUTBOUND, 0x2003}});
    CHECK(f.Row().rekey_unix >= now + 92);
    CHECK(f.Row().rekey_unix <= now + 97);
  }
  // Whole seconds, and the two ranges never meet even for a 15 s lifetime.
  SeededRandom r(3);
  for (int i = 0; i < 200; ++i) {
    CHECK(RekeySoftLimit(15, ipc::INITIATOR, r) >= 12);
    CHECK(RekeySoftLimit(15, ipc::INITIATOR, r) <= 13);
    CHECK(RekeySoftLimit(15, ipc::RESPONDER, r) == 14);
    CHECK(RekeySoftLimit(2, ipc::RESPONDER, r) == 1);  // never at the hard limit itself
  }
}

}  // namespace
}  // namespace ike::tmd

namespace ike::tmd {
namespace {

// Phase 1 lifetime in these tests: Phase1Up reports none, so set it.
void Phase1Lifetime(Fixture& f, uint32_t tunnel, uint64_t handle, uint32_t seconds,
                    ipc::Role role = ipc::INITIATOR) {
  ipc::Envelope e;
  auto* p = e.mutable_phase1_established();
  p->set_tunnel(tunnel);
  p->set_handle(handle);
  p->set_name(tunnel ? "" : "ab");
  p->set_role(role);
  p->set_mode(ipc::MAIN);
  p->set_local_address("192.0.2.1");
  p->set_remote_address("192.0.2.2");
  p->set_icookie("1111111111111111");
  p->set_rcookie("2222222222222222");
  p->set_lifetime_seconds(seconds);
  f.manager.OnIsakmpdMessage(e);
}

TEST_CASE(
    "phase 1 re-established before it expires: same number, a new handle, phase 2 untouched") {
  Fixture f;
  f.BringUp();
  // The ISAKMP SA (handle 77) had no lifetime in BringUp; a 200 s one now
  // arrives with a second report of the same SA.
  Phase1Lifetime(f, 1, 77, 200);
  REQUIRE(f.manager.FindPhase1(1)->status == TunnelStatus::kActive);
  const uint64_t soft = f.manager.FindPhase1(1)->rekey_unix - f.clock.UnixNow();
  CHECK(soft >= 160);
  CHECK(soft <= 180);
  CHECK(Phase1Row(*f.manager.FindPhase1(1)).next_rekey_unix() ==
        f.manager.FindPhase1(1)->rekey_unix);
  // Phase 2 (lifetime 100 s) rekeys meanwhile; answer and move on.
  for (int s = 0; s < static_cast<int>(soft) + 1; ++s) {
    f.clock.Advance(1000);
    while (!f.isakmpd.sent.empty() && f.isakmpd.sent.front().has_phase2_request()) {
      f.Reply(f.Take());
      f.Pair(1, 300 + s, {{ipc::INBOUND, 0x5000u + s}, {ipc::OUTBOUND, 0x6000u + s}});
    }
    while (!f.isakmpd.sent.empty() && f.isakmpd.sent.front().has_remove_tunnel()) f.Take();
    if (!f.isakmpd.sent.empty()) break;
  }
  ipc::Envelope replace = f.Take();
  REQUIRE(replace.has_phase1_request());
  CHECK(replace.phase1_request().replace());
  CHECK(replace.phase1_request().tunnel() == 1);
  f.Reply(replace);
  // The new Main Mode's state changes leave the tunnel Active.
  ipc::Envelope sc;
  sc.mutable_state_change()->set_phase(1);
  sc.mutable_state_change()->set_tunnel(1);
  sc.mutable_state_change()->set_handle(78);
  sc.mutable_state_change()->set_old_phase1(ipc::PHASE1_INIT);
  sc.mutable_state_change()->set_new_phase1(ipc::PHASE1_WAIT_SA);
  f.manager.OnIsakmpdMessage(sc);
  CHECK(f.manager.FindPhase1(1)->status == TunnelStatus::kActive);
  CHECK(f.manager.FindPhase1(1)->handle == 77);
  Phase1Lifetime(f, 1, 78, 200);
  const Phase1Tunnel* p1 = f.manager.FindPhase1(1);
  CHECK(p1->handle == 78);
  CHECK(p1->rekey_count == 1);
  CHECK(f.manager.phase1_count() == 1);
  CHECK(f.manager.transitions().refused_total() == 0);
  // The old SA's deletion (isakmpd retires it) changes nothing.
  ipc::Envelope del;
  del.mutable_sa_deleted()->set_phase(1);
  del.mutable_sa_deleted()->set_tunnel(1);
  del.mutable_sa_deleted()->set_handle(77);
  del.mutable_sa_deleted()->set_reason("replaced by a new ISAKMP SA");
  f.manager.OnIsakmpdMessage(del);
  CHECK(f.manager.FindPhase1(1) != nullptr);
  CHECK(f.Row().status == TunnelStatus::kActive);
}

TEST_CASE("the peer re-establishes phase 1: its Main Mode's row merges into the tunnel") {
  Fixture f;
  f.BringUp();
  // The peer's Main Mode begins: tmd numbers the responder negotiation...
  ipc::Envelope sc;
  sc.mutable_state_change()->set_phase(1);
  sc.mutable_state_change()->set_handle(90);
  sc.mutable_state_change()->set_peer("192.0.2.2");
  sc.mutable_state_change()->set_new_phase1(ipc::PHASE1_WAIT_KE);
  f.manager.OnIsakmpdMessage(sc);
  CHECK(f.manager.phase1_count() == 2);
  ipc::Envelope first = f.Take();
  REQUIRE(first.has_tunnel_assigned());
  CHECK(first.tunnel_assigned().tunnel() == 2);
  // ...and at DONE (reported under that number, which isakmpd was told) it
  // is the definition's tunnel 1 again, renewed.
  {
    ipc::Envelope e;
    auto* p = e.mutable_phase1_established();
    p->set_tunnel(2);
    p->set_handle(90);
    p->set_name("ab");
    p->set_role(ipc::RESPONDER);
    p->set_lifetime_seconds(200);
    f.manager.OnIsakmpdMessage(e);
  }
  CHECK(f.manager.phase1_count() == 1);
  const Phase1Tunnel* p1 = f.manager.FindPhase1(1);
  REQUIRE(p1 != nullptr);
  CHECK(p1->handle == 90);
  CHECK(p1->rekey_count == 1);
  ipc::Envelope assigned = f.Take();
  REQUIRE(assigned.has_tunnel_assigned());
  CHECK(assigned.tunnel_assigned().handle() == 90);
  CHECK(assigned.tunnel_assigned().tunnel() == 1);
  CHECK(f.Row().phase1_number == 1);
}

// Issue 9.3, collisions: both ends re-established at once. isakmpd keeps
// one of the two new ISAKMP SAs (isakmpd_rekey_test: "both ends
// re-establish phase 1 at once") and, when tmd heard of the other one
// last, reports the survivor again with collision_survivor.
TEST_CASE("both ends re-established phase 1 at once: tmd follows the survivor isakmpd keeps") {
  Fixture f;
  f.BringUp();
  Phase1Lifetime(f, 1, 78, 200);  // ours (handle 78)
  REQUIRE(f.manager.FindPhase1(1)->rekey_count == 1);
  ipc::Envelope sc;  // the peer's, beside it
  sc.mutable_state_change()->set_phase(1);
  sc.mutable_state_change()->set_handle(90);
  sc.mutable_state_change()->set_peer("192.0.2.2");
  sc.mutable_state_change()->set_new_phase1(ipc::PHASE1_WAIT_KE);
  f.manager.OnIsakmpdMessage(sc);
  REQUIRE(f.Take().has_tunnel_assigned());
  ipc::Envelope e;
  auto* p = e.mutable_phase1_established();
  p->set_tunnel(2);
  p->set_handle(90);
  p->set_name("ab");
  p->set_role(ipc::RESPONDER);
  p->set_lifetime_seconds(200);
  f.manager.OnIsakmpdMessage(e);
  REQUIRE(f.Take().has_tunnel_assigned());
  REQUIRE(f.manager.FindPhase1(1)->handle == 90);
  // isakmpd keeps 78 (the higher cookie pair) and says so.
  p->set_tunnel(1);
  p->set_handle(78);
  p->set_role(ipc::INITIATOR);
  p->set_icookie("00000000000000ff");
  p->set_rcookie("0000000000000001");
  p->set_collision_survivor(true);
  f.manager.OnIsakmpdMessage(e);
  const Phase1Tunnel* p1 = f.manager.FindPhase1(1);
  REQUIRE(p1 != nullptr);
  CHECK(p1->handle == 78);
  CHECK(p1->role == ipc::INITIATOR);
  CHECK(p1->rekey_count == 2);  // the two Main Modes; the report is not a third
  CHECK(f.manager.phase1_count() == 1);
  CHECK(f.isakmpd.sent.empty());  // nothing to assign
  // The loser's and the old SA's deletions change nothing.
  for (uint64_t handle : {90u, 77u}) {
    ipc::Envelope del;
    del.mutable_sa_deleted()->set_phase(1);
    del.mutable_sa_deleted()->set_tunnel(1);
    del.mutable_sa_deleted()->set_handle(handle);
    del.mutable_sa_deleted()->set_reason("replaced by a new ISAKMP SA");
    f.manager.OnIsakmpdMessage(del);
  }
  CHECK(f.manager.FindPhase1(1) != nullptr);
  CHECK(f.manager.FindPhase1(1)->handle == 78);
  CHECK(f.Row().status == TunnelStatus::kActive);
  CHECK(f.manager.transitions().refused_total() == 0);
}

// bench/rekey: 20,000 ISAKMP SAs made together came due together, and their
// Main Modes all started at once and timed out by the thousand. A
// re-establishment now takes an admission slot like any Main Mode.
TEST_CASE("a re-establishment waits for an admission slot (settings.max_negotiations)") {
  Fixture f;
  const std::string db = std::string(kDb) + R"(
settings { max_negotiations: 1 }
ike_tunnel { name: "cd" local_address: "192.0.2.1" remote_address: "192.0.2.3" protection: "p1"
             dpd { mode: DPD_OFF } }
)";
  Result<Database> d = Database::Parse(db, "tunnels.db");
  REQUIRE(d.ok());
  f.manager.SetDatabase(std::make_shared<const Database>(std::move(d.value())));
  f.BringUp();
  Phase1Lifetime(f, 1, 77, 60);  // due before the pair's own rekey (100 s)
  const uint64_t soft = f.manager.FindPhase1(1)->rekey_unix - f.clock.UnixNow();
  REQUIRE(soft < 80);
  // "cd" negotiates and holds the only slot.
  ipc::ActivateRequest r;
  r.add_namelist("cd");
  r.set_phase(1);
  REQUIRE(f.manager.Activate(r).has_activate_reply());
  ipc::Envelope cd = f.Take();
  REQUIRE(cd.has_phase1_request());
  CHECK(cd.phase1_request().definition().name() == "cd");
  f.Reply(cd);
  const uint32_t cd_number = cd.phase1_request().tunnel();
  // ab's soft limit passes: nothing goes to isakmpd while cd holds the slot.
  f.clock.Advance((soft + 1) * 1000);
  while (!f.isakmpd.sent.empty() && !f.isakmpd.sent.front().has_phase1_request()) f.Take();
  CHECK(f.isakmpd.sent.empty());
  CHECK(f.manager.FindPhase1(1)->replacing);
  CHECK(f.manager.FindPhase1(1)->status == TunnelStatus::kActive);
  // cd is up: the slot goes to ab's re-establishment.
  ipc::Envelope up;
  auto* p = up.mutable_phase1_established();
  p->set_tunnel(cd_number);
  p->set_handle(90);
  p->set_name("cd");
  p->set_role(ipc::INITIATOR);
  p->set_remote_address("192.0.2.3");
  p->set_lifetime_seconds(200);
  f.manager.OnIsakmpdMessage(up);
  ipc::Envelope replace = f.Take();
  REQUIRE(replace.has_phase1_request());
  CHECK(replace.phase1_request().replace());
  CHECK(replace.phase1_request().tunnel() == 1);
  f.Reply(replace);
  // Done: the slot is free again for the next one.
  Phase1Lifetime(f, 1, 78, 200);
  CHECK(f.manager.FindPhase1(1)->rekey_count == 1);
  CHECK_FALSE(f.manager.FindPhase1(1)->replacing);
}

TEST_CASE("phase 1 not needed is left to expire; a failed re-establishment is retried") {
  Fixture f;
  f.BringUp();
  // Remove the phase 2 tunnel: nothing needs the ISAKMP SA any more.
  ipc::RemoveRequest rm;
  rm.set_phase(2);
  rm.add_numlist(1);
  (void)f.manager.Remove(rm);
  f.isakmpd.sent.clear();
  Phase1Lifetime(f, 1, 77, 100);
  f.clock.Advance(100 * 1000);
  CHECK(f.isakmpd.sent.empty());

  Fixture g;
  g.BringUp();
  Phase1Lifetime(g, 1, 77, 100);  // soft at 80-88 s, while phase 2 is still up
  auto find = [&g]() -> const ipc::Envelope* {
    for (const auto& e : g.isakmpd.sent)
      if (e.has_phase1_request()) return &e;
    return nullptr;
  };
  for (int s = 0; s < 95 && find() == nullptr; ++s) g.clock.Advance(1000);
  REQUIRE(find() != nullptr);
  ipc::Envelope replace = *find();
  g.isakmpd.sent.clear();
  g.Reply(replace, false, "phase 1 tunnel 1 is already being re-established");
  CHECK(g.manager.FindPhase1(1)->status == TunnelStatus::kActive);
  CHECK_FALSE(g.manager.FindPhase1(1)->replacing);
  g.clock.Advance(30 * 1000);  // past the SA's lifetime: no retry then
  CHECK(find() == nullptr);

  Fixture h;
  h.BringUp();
  Phase1Lifetime(h, 1, 77, 1000);  // soft at 800-900 s, retry 30 s later
  auto found = [&h]() {
    for (const auto& e : h.isakmpd.sent)
      if (e.has_phase1_request()) return true;
    return false;
  };
  // Phase 2 (100 s) is rekeyed by hand meanwhile, so the tunnel needs phase 1.
  for (int s = 0; s < 950 && !found(); ++s) {
    h.clock.Advance(1000);
    while (!h.isakmpd.sent.empty() && !found()) {
      ipc::Envelope next = h.Take();
      if (!next.has_phase2_request()) continue;
      h.Reply(next);
      h.Pair(1, 1000 + s, {{ipc::INBOUND, 0x5000u + s}, {ipc::OUTBOUND, 0x6000u + s}});
    }
  }
  REQUIRE(found());
  ipc::Envelope r2;
  for (const auto& e : h.isakmpd.sent)
    if (e.has_phase1_request()) r2 = e;
  h.isakmpd.sent.clear();
  h.Reply(r2, false, "busy");
  CHECK_FALSE(h.manager.FindPhase1(1)->replacing);
  h.clock.Advance(30 * 1000);
  bool again = false;
  auto& g2 = h;
  for (const auto& e : g2.isakmpd.sent)
    again |= e.has_phase1_request() && e.phase1_request().replace();
  CHECK(again);
}

}  // namespace
}  // namespace ike::tmd

namespace ike::tmd {
namespace {

TEST_CASE(
    "isakmpd dies: phase 1 is not listed Active any more; back, it renews the tunnel at once") {
  Fixture f;
  f.BringUp();
  f.At(10);
  f.manager.OnIsakmpdDisconnected();
  const Phase1Tunnel* p1 = f.manager.FindPhase1(1);
  REQUIRE(p1 != nullptr);
  CHECK(p1->status == TunnelStatus::kFailed);
  CHECK(p1->reason.str().find("isakmpd stopped; its ISAKMP SAs are gone") != std::string::npos);
  CHECK(f.Row().status == TunnelStatus::kActive);  // the kernel SAs carry on
  CHECK(f.kernel.sa_count() == 2);
  CHECK(f.isakmpd.sent.empty());
  // The new isakmpd connects: phase 1 again under its number, then a new pair.
  f.manager.OnIsakmpdConnected();
  ipc::Envelope p1req = f.Take();
  REQUIRE(p1req.has_phase1_request());
  CHECK(p1req.phase1_request().tunnel() == 1);
  CHECK_FALSE(p1req.phase1_request().replace());
  f.Reply(p1req);
  f.Phase1Up(1, 88, true);
  ipc::Envelope rekey = f.Take();
  REQUIRE(rekey.has_phase2_request());
  CHECK(rekey.phase2_request().rekey());
  CHECK(rekey.phase2_request().phase1_tunnel() == 1);
  f.Reply(rekey);
  f.Pair(1, 500, {{ipc::INBOUND, 0x7007}}, 0x8008);
  CHECK(f.Row().spi_in == 0x7007);
  CHECK(f.Row().number == 1);
  CHECK(f.manager.FindPhase1(1)->status == TunnelStatus::kActive);
  CHECK(f.manager.phase1_count() == 1);
}

}  // namespace
}  // namespace ike::tmd
