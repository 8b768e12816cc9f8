// tmd's XFRM backend against the real kernel, in a network namespace of its
// own (the process unshares one before any test, so nothing on the host is
// touched). On a kernel without ESP (this project's CI and development
// machines) the SPI and policy paths are exercised for real and an SA must
// fail with the one clear line; with IKE_EXPECT_ESP=1 (inside user-mode
// Linux, tests/lib/uml.sh) the SA must be installed.
//
// Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN for unshare): exits 77
// (ctest: skipped) without, unless CI=true, where that is a failure.
#define CATCH_CONFIG_RUNNER
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tmd/xfrm/xfrm_kernel.h"

namespace ike::tmd {
namespace {

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }
AddressRange Range(const char* text) { return *AddressRange::Parse(text); }

const IpAddress kUs = Ip("192.0.2.1");
const IpAddress kPeer = Ip("192.0.2.2");

bool ExpectEsp() {
  const char* v = std::getenv("IKE_EXPECT_ESP");
  return v != nullptr && std::string(v) == "1";
}

// What the kernel holds, read with a socket of the test's own.
struct KernelState {
  std::vector<xfrm::SaInfo> sas;
  std::vector<xfrm::PolicyInfo> policies;
  size_t OurPolicies() const {
    size_t n = 0;
    for (const auto& p : policies)
      n += p.has_template && xfrm::IsOurReqid(p.policy.reqid) &&
           xfrm::IsOurPriority(p.policy.priority);
    return n;
  }
  size_t OurSas() const {
    size_t n = 0;
    for (const auto& sa : sas) n += xfrm::IsOurReqid(sa.reqid);
    return n;
  }
};

KernelState Dump() {
  auto socket = xfrm::NetlinkSocket::Open();
  REQUIRE(socket.ok());
  KernelState state;
  for (bool sas : {true, false}) {  // one dump per batch
    xfrm::Batch batch((*socket)->next_seq());
    sas ? batch.AddDumpSas() : batch.AddDumpPolicies();
    auto statuses = (*socket)->Exchange(batch, [&](const nlmsghdr* nlh) {
      if (auto sa = xfrm::ParseSa(nlh)) state.sas.push_back(*sa);
      if (auto p = xfrm::ParsePolicy(nlh)) state.policies.push_back(*p);
    });
    REQUIRE(statuses.ok());
    REQUIRE(statuses->begin()->second.error == 0);
  }
  return state;
}

std::string Shell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  char line[512];
  while (std::fgets(line, sizeof line, p) != nullptr) out += line;
  pclose(p);
  return out;
}

std::unique_ptr<XfrmKernel> OpenKernel() {
  auto kernel = XfrmKernel::Open();
  if (!kernel.ok()) FAIL("XfrmKernel::Open: " << kernel.error().message);
  return std::move(kernel.value());
}

PolicySpec Policy(Direction d, const char* local, const char* remote) {
  PolicySpec p;
  p.tunnel = 5;
  p.direction = d;
  const bool out = d == Direction::kOutbound;
  p.source = Range(out ? local : remote);
  p.destination = Range(out ? remote : local);
  p.outer_source = out ? kUs : kPeer;
  p.outer_destination = out ? kPeer : kUs;
  return p;
}

TEST_CASE("ALLOCSPI reserves distinct SPIs of at least 256 in larval SAs marked as ours") {
  auto kernel = OpenKernel();
  Result<uint32_t> a = kernel->AllocateSpi(kUs, kPeer, ipc::PROTO_ESP);
  Result<uint32_t> b = kernel->AllocateSpi(kUs, kPeer, ipc::PROTO_ESP);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a >= 256);
  CHECK(*a != *b);
  const KernelState state = Dump();
  bool found = false;
  for (const auto& sa : state.sas) {
    if (sa.spi == *a) {
      found = true;
      CHECK(sa.larval);
      CHECK(sa.destination == kUs);
      CHECK(sa.source == kPeer);
      CHECK(xfrm::IsOurReqid(sa.reqid));
    }
  }
  CHECK(found);
  CHECK_FALSE(kernel->AllocateSpi(kUs, IpAddress{}, ipc::PROTO_ESP).ok());  // peer needed
  kernel->Clear();
  CHECK(Dump().OurSas() == 0);  // Clear removes unused reservations too
}

TEST_CASE("a rule becomes out, or in and fwd, policies; deleting the rule removes them") {
  auto kernel = OpenKernel();
  auto out =
      kernel->InstallPolicy(Policy(Direction::kOutbound, "203.0.113.0/24", "198.51.100.0/24"));
  REQUIRE(out.ok());
  auto in = kernel->InstallPolicy(Policy(Direction::kInbound, "203.0.113.0/24", "198.51.100.0/24"));
  REQUIRE(in.ok());
  KernelState state = Dump();
  CHECK(state.OurPolicies() == 3);
  int dirs[3] = {0, 0, 0};
  for (const auto& p : state.policies) {
    dirs[static_cast<int>(p.policy.dir)]++;
    CHECK(p.policy.reqid == xfrm::ReqidOf(5));
    if (p.policy.dir == xfrm::PolicyDir::kOut) {
      CHECK(p.policy.source.ToString() == "203.0.113.0/24");
      CHECK(p.policy.tunnel_destination == kPeer);
    } else {
      CHECK(p.policy.source.ToString() == "198.51.100.0/24");
      CHECK(p.policy.tunnel_destination == kUs);
    }
  }
  CHECK(dirs[0] == 1);                        // in
  CHECK(dirs[1] == 1);                        // out
  CHECK(dirs[2] == 1);                        // fwd
  CHECK(kernel->ListPolicies().size() == 2);  // the filter table: one rule per direction
  REQUIRE(kernel->DeletePolicy(*out).ok());
  CHECK(Dump().OurPolicies() == 2);
  REQUIRE(kernel->DeletePolicy(*in).ok());
  CHECK(Dump().OurPolicies() == 0);
  CHECK(kernel->ListPolicies().empty());
}

TEST_CASE("a range selector becomes CIDR policies; one too fragmented is refused whole") {
  auto kernel = OpenKernel();
  auto r =
      kernel->InstallPolicy(Policy(Direction::kOutbound, "192.0.2.1-192.0.2.9", "198.51.100.0/24"));
  REQUIRE(r.ok());
  CHECK(Dump().OurPolicies() == 4);  // .1/32 .2/31 .4/30 .8/31
  auto wide = kernel->InstallPolicy(
      Policy(Direction::kOutbound, "0.0.0.1-255.255.255.254", "10.0.0.1-10.0.0.2"));
  REQUIRE_FALSE(wide.ok());
  CHECK(wide.error().message.find("0.0.0.1-255.255.255.254") != std::string::npos);
  CHECK(wide.error().message.find("use subnets") != std::string::npos);
  CHECK(Dump().OurPolicies() == 4);  // nothing of the refused rule
  kernel->Clear();
  CHECK(Dump().OurPolicies() == 0);
}

TEST_CASE("an SA is installed where the kernel has ESP, else refused with one clear line") {
  auto kernel = OpenKernel();
  Result<uint32_t> spi = kernel->AllocateSpi(kUs, kPeer, ipc::PROTO_ESP);
  REQUIRE(spi.ok());
  const Bytes enc(16, 0x5a), auth(32, 0xa5);
  SaSpec sa;
  sa.tunnel = 5;
  sa.direction = Direction::kInbound;
  sa.spi = *spi;
  sa.source = kPeer;
  sa.destination = kUs;
  sa.encryption = db::ESP_AES_CBC;
  sa.encryption_key_bits = 128;
  sa.encryption_key = enc;
  sa.integrity = db::HMAC_SHA2_256;
  sa.integrity_key = auth;
  sa.lifetime_seconds = 3600;
  Status s = kernel->InstallSa(sa);
  if (ExpectEsp()) {
    REQUIRE(s.ok());
    const KernelState state = Dump();
    bool installed = false;
    for (const auto& k : state.sas) installed |= k.spi == *spi && !k.larval;
    CHECK(installed);  // UPDSA replaced the larval SA
    auto rows = kernel->ListSas();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].bytes() == 0);
    CHECK_FALSE(kernel->InstallSa(sa).ok());  // the same SPI twice
    REQUIRE(kernel->DeleteSa(kUs, *spi).ok());
    CHECK(Dump().OurSas() == 0);
  } else {
    REQUIRE_FALSE(s.ok());
    INFO(s.error().message);
    CHECK(s.error().message.find("the kernel has no ESP support (esp4/esp6)") != std::string::npos);
    CHECK(s.error().message.find("STATE_ONLY") != std::string::npos);
    CHECK(kernel->ListSas().empty());  // nothing recorded for a failed install
  }
  kernel->Clear();
  CHECK(Dump().OurSas() == 0);
}

TEST_CASE("at start, what an earlier tmd left is removed and nothing else") {
  {
    auto earlier = OpenKernel();
    REQUIRE(earlier->AllocateSpi(kUs, kPeer, ipc::PROTO_ESP).ok());
    REQUIRE(earlier->InstallPolicy(Policy(Direction::kInbound, "203.0.113.0/24", "198.51.100.0/24"))
                .ok());
    // Killed: no Clear.
  }
  // A policy of someone else (ip xfrm, strongSwan): priority and reqid not ours.
  {
    auto socket = xfrm::NetlinkSocket::Open();
    REQUIRE(socket.ok());
    xfrm::Batch batch((*socket)->next_seq());
    xfrm::PolicyMessage foreign;
    foreign.source = {Ip("203.0.113.0"), 24};
    foreign.destination = {Ip("192.0.2.128"), 25};
    foreign.dir = xfrm::PolicyDir::kOut;
    foreign.priority = 100;
    foreign.tunnel_source = kUs;
    foreign.tunnel_destination = kPeer;
    foreign.reqid = 1;
    REQUIRE(batch.AddPolicy(foreign));
    auto statuses = (*socket)->Exchange(batch);
    REQUIRE(statuses.ok());
    REQUIRE(statuses->begin()->second.error == 0);
  }
  KernelState before = Dump();
  CHECK(before.OurPolicies() == 2);
  CHECK(before.OurSas() == 1);
  auto restarted = XfrmKernel::Open();
  REQUIRE(restarted.ok());
  const KernelState after = Dump();
  CHECK(after.OurPolicies() == 0);
  CHECK(after.OurSas() == 0);
  CHECK(after.policies.size() == 1);  // the foreign one stays
  CHECK(after.policies.at(0).policy.priority == 100);
  Shell("ip xfrm policy flush");
}

TEST_CASE("a remote selector the host has no route for gets one in table 220, and loses it") {
  // A link to the peer (192.0.2.2 directly connected) and our selector
  // address on lo; no route to 203.0.113.0/24, one to 10.9.0.0/16.
  REQUIRE(Shell("ip link set lo up && ip link add v0 type veth peer name v1 && "
                "ip addr add 192.0.2.1/24 dev v0 && ip link set v0 up && ip link set v1 up && "
                "ip addr add 198.51.100.1/32 dev lo && "
                "ip route add 10.9.0.0/16 via 192.0.2.2 && echo ok") == "ok\n");
  auto kernel = OpenKernel();
  auto rule = kernel->InstallPolicy(Policy(Direction::kOutbound, "198.51.100.1", "203.0.113.0/24"));
  REQUIRE(rule.ok());
  auto routed = kernel->InstallPolicy(Policy(Direction::kOutbound, "198.51.100.1", "10.9.0.0/16"));
  REQUIRE(routed.ok());
  std::string table = Shell("ip route show table 220");
  INFO(table);
  CHECK(table.find("203.0.113.0/24 via 192.0.2.2 dev v0") != std::string::npos);
  CHECK(table.find("src 198.51.100.1") != std::string::npos);  // the host's own traffic matches
  CHECK(table.find("10.9.0.0") == std::string::npos);          // the host routes that one already
  CHECK(Shell("ip rule").find("lookup 220") != std::string::npos);
  // The kernel now routes the host's traffic there, from the selector address.
  CHECK(Shell("ip route get 203.0.113.7").find("src 198.51.100.1") != std::string::npos);
  REQUIRE(kernel->DeletePolicy(*rule).ok());
  CHECK(Shell("ip route show table 220").empty());
  REQUIRE(kernel->DeletePolicy(*routed).ok());
  // A route left by an earlier tmd goes at the next start; Clear removes the rule.
  REQUIRE(
      kernel->InstallPolicy(Policy(Direction::kOutbound, "198.51.100.1", "203.0.113.0/24")).ok());
  kernel.reset();  // killed: no Clear
  CHECK_FALSE(Shell("ip route show table 220").empty());
  auto restarted = OpenKernel();
  CHECK(Shell("ip route show table 220").empty());
  CHECK(Shell("ip rule").find("lookup 220") == std::string::npos);  // the left rule too
  REQUIRE(restarted->InstallPolicy(Policy(Direction::kOutbound, "198.51.100.1", "203.0.113.0/24"))
              .ok());
  restarted->Clear();
  CHECK(Shell("ip route show table 220").empty());
  CHECK(Shell("ip rule").find("lookup 220") == std::string::npos);
  CHECK(Dump().OurPolicies() == 0);
  Shell("ip link del v0; ip route flush table 220; ip rule del lookup 220 2>/dev/null");
}

// IPv4 selectors between IPv6 gateways (RFC 4301 4.1): the route to the
// remote selector goes via the IPv6 peer, which an IPv4 route can only name
// with RTA_VIA; with RTA_GATEWAY the kernel refuses it ("Nexthop has
// invalid gateway"), and the IPv4 traffic never reaches its policy (seen in
// tests/kernel/uml_ipv6_test.sh, case 4).
TEST_CASE("an IPv4 selector between IPv6 gateways gets a route via the IPv6 peer") {
  REQUIRE(Shell("ip link set lo up && ip link add v0 type veth peer name v1 && "
                "ip addr add 2001:db8::1/64 dev v0 nodad && ip link set v0 up && "
                "ip link set v1 up && ip addr replace 198.51.100.1/32 dev lo && echo ok") ==
          "ok\n");
  auto kernel = OpenKernel();
  PolicySpec p = Policy(Direction::kOutbound, "198.51.100.1", "203.0.113.0/24");
  p.outer_source = Ip("2001:db8::1");
  p.outer_destination = Ip("2001:db8::2");
  auto rule = kernel->InstallPolicy(p);
  REQUIRE(rule.ok());
  std::string table = Shell("ip route show table 220");
  INFO(table);
  CHECK(table.find("203.0.113.0/24 via inet6 2001:db8::2 dev v0") != std::string::npos);
  CHECK(table.find("src 198.51.100.1") != std::string::npos);
  CHECK(Shell("ip route get 203.0.113.7").find("src 198.51.100.1") != std::string::npos);
  REQUIRE(kernel->DeletePolicy(*rule).ok());
  CHECK(Shell("ip route show table 220").empty());
  kernel->Clear();
  Shell(
      "ip link del v0; ip addr del 198.51.100.1/32 dev lo; ip route flush table 220; "
      "ip rule del lookup 220 2>/dev/null");
}

// Sends one UDP datagram from |source| to |destination|:9; the send's errno
// (0 = sent).
int SendUdp(const char* source, const char* destination) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source, &from.sin_addr);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  inet_pton(AF_INET, destination, &to.sin_addr);
  const int rc =
      static_cast<int>(sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to));
  const int error = rc < 0 ? errno : 0;
  close(fd);
  return error;
}

// The kernel's events within |ms| milliseconds.
std::vector<KernelEvent> WaitEvents(XfrmKernel& kernel, int ms) {
  std::vector<KernelEvent> out;
  pollfd p{kernel.event_fd(), POLLIN, 0};
  REQUIRE(p.fd >= 0);
  while (poll(&p, 1, ms) > 0) {
    for (const KernelEvent& e : kernel.ReadEvents()) out.push_back(e);
    ms = 50;  // what else arrives at once
  }
  return out;
}

PolicySpec Trap(uint32_t id, const char* remote, bool clear) {
  PolicySpec p = Policy(Direction::kOutbound, "198.51.100.1", remote);
  p.tunnel = 0;
  p.trap = id;
  p.clear_until_up = clear;
  return p;
}

const xfrm::PolicyInfo* OutPolicyTo(const KernelState& state, const char* destination) {
  for (const auto& p : state.policies) {
    if (p.policy.dir == xfrm::PolicyDir::kOut && p.policy.destination.ToString() == destination)
      return &p;
  }
  return nullptr;
}

TEST_CASE(
    "a trap reports traffic as an acquire; a tunnel's policy takes its place and gives it back") {
  REQUIRE(Shell("ip link set lo up && ip link add v0 type veth peer name v1 && "
                "ip addr add 192.0.2.1/24 dev v0 && ip link set v0 up && ip link set v1 up && "
                "ip addr replace 198.51.100.1/32 dev lo && echo ok") == "ok\n");
  auto kernel = OpenKernel();
  auto held = kernel->InstallPolicy(Trap(7, "203.0.113.0/24", false));
  REQUIRE(held.ok());
  auto clear = kernel->InstallPolicy(Trap(8, "203.0.114.0/24", true));
  INFO((clear.ok() ? std::string() : clear.error().message));
  REQUIRE(clear.ok());
  KernelState state = Dump();
  const xfrm::PolicyInfo* trap = OutPolicyTo(state, "203.0.113.0/24");
  REQUIRE(trap != nullptr);
  CHECK(trap->policy.reqid == xfrm::TrapReqidOf(7));
  CHECK_FALSE(trap->policy.optional);  // level required: held back
  const xfrm::PolicyInfo* use = OutPolicyTo(state, "203.0.114.0/24");
  REQUIRE(use != nullptr);
  CHECK(use->policy.optional);  // level use: in the clear until an SA exists
  // The filter table shows them as traps, not permits.
  auto rules = kernel->ListPolicies();
  REQUIRE(rules.size() == 2);
  CHECK(rules[0].rule_action() == ipc::TRAP);
  CHECK(rules[1].rule_action() == ipc::TRAP_CLEAR);

  // A packet into the on-demand trap: not sent, and the kernel asks for an SA.
  const int held_errno = SendUdp("198.51.100.1", "203.0.113.5");
  INFO("send through the on-demand trap: " << std::strerror(held_errno));
  std::vector<KernelEvent> events = WaitEvents(*kernel, 2000);
  REQUIRE(events.size() >= 1);
  CHECK(events[0].kind == KernelEvent::Kind::kAcquire);
  CHECK(events[0].trap == 7);
  CHECK(events[0].destination == Ip("203.0.113.5"));
  CHECK(events[0].source == Ip("198.51.100.1"));
  // A packet into the discovery trap leaves in the clear (sent) and is
  // reported too.
  CHECK(SendUdp("198.51.100.1", "203.0.114.9") == 0);
  events = WaitEvents(*kernel, 2000);
  REQUIRE(events.size() >= 1);
  CHECK(events[0].trap == 8);

  // The tunnel's own policy over the same selector replaces the trap (the
  // kernel keeps one per selector), and gives the place back when it goes.
  auto tunnel =
      kernel->InstallPolicy(Policy(Direction::kOutbound, "198.51.100.1", "203.0.113.0/24"));
  REQUIRE(tunnel.ok());
  state = Dump();
  REQUIRE(OutPolicyTo(state, "203.0.113.0/24") != nullptr);
  CHECK(OutPolicyTo(state, "203.0.113.0/24")->policy.reqid == xfrm::ReqidOf(5));
  REQUIRE(kernel->DeletePolicy(*tunnel).ok());
  state = Dump();
  REQUIRE(OutPolicyTo(state, "203.0.113.0/24") != nullptr);
  CHECK(OutPolicyTo(state, "203.0.113.0/24")->policy.reqid == xfrm::TrapReqidOf(7));
  // Disarmed while a tunnel holds the selector: the tunnel's policy stays,
  // and nothing comes back after it.
  tunnel = kernel->InstallPolicy(Policy(Direction::kOutbound, "198.51.100.1", "203.0.113.0/24"));
  REQUIRE(tunnel.ok());
  REQUIRE(kernel->DeletePolicy(*held).ok());
  CHECK(OutPolicyTo(Dump(), "203.0.113.0/24")->policy.reqid == xfrm::ReqidOf(5));
  REQUIRE(kernel->DeletePolicy(*tunnel).ok());
  CHECK(OutPolicyTo(Dump(), "203.0.113.0/24") == nullptr);
  // A killed tmd's trap is removed at the next start.
  kernel.reset();
  CHECK(OutPolicyTo(Dump(), "203.0.114.0/24") != nullptr);
  auto restarted = OpenKernel();
  CHECK(OutPolicyTo(Dump(), "203.0.114.0/24") == nullptr);
  restarted->Clear();
  Shell(
      "ip link del v0; ip route flush table 220; ip rule del lookup 220 2>/dev/null; "
      "ip addr del 198.51.100.1/32 dev lo");
}

}  // namespace
}  // namespace ike::tmd

int main(int argc, char** argv) {
  const bool ci = std::getenv("CI") != nullptr && std::string(std::getenv("CI")) == "true";
  if (unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "xfrm_backend_test: cannot unshare a network namespace (%s): %s\n",
                 std::strerror(errno), ci ? "FAILED (CI=true)" : "SKIPPED (needs root)");
    return ci ? 1 : 77;
  }
  std::printf("xfrm_backend_test: in a network namespace of its own; ESP %s\n",
              ike::tmd::ExpectEsp() ? "expected (IKE_EXPECT_ESP=1)" : "not expected");
  return Catch::Session().run(argc, argv);
}
