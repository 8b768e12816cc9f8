// xfrm_install: what tmd's XFRM backend costs per tunnel (issue 8.1): for N
// tunnels, the calls tmd makes when a phase 2 comes up (ALLOCSPI, the
// inbound SA over its reservation, the outbound SA, the out and in/fwd
// policies) and when it goes (two policies, two SAs), against the real
// kernel, in a network namespace the tool makes for itself. Reports the
// process's CPU time (user + system: the kernel's work happens in our system
// calls) and wall time per tunnel, for install and for removal.
//
//   xfrm_install [--n 2000,20000]
//
// On a kernel without ESP only ALLOCSPI and the policies can be measured
// (the SAs fail): the tool says so and reports that part. Inside user-mode
// Linux (bench/xfrm_install_uml) the whole path runs, but UML intercepts
// every system call, so its figures are an upper bound for a real kernel.
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tmd/xfrm/xfrm_kernel.h"

namespace ike::tmd {
namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec * 1e-6;
}

double WallSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

IpAddress Remote(uint32_t i) {  // 10.x.y.z, one protected host per tunnel
  IpAddress a = *IpAddress::Parse("10.0.0.0");
  a.octets[1] = static_cast<uint8_t>(i >> 16);
  a.octets[2] = static_cast<uint8_t>(i >> 8);
  a.octets[3] = static_cast<uint8_t>(i);
  return a;
}

int Run(uint32_t n) {
  const IpAddress us = *IpAddress::Parse("192.0.2.1");
  const IpAddress peer = *IpAddress::Parse("192.0.2.2");
  auto opened = XfrmKernel::Open();
  if (!opened.ok()) {
    std::fprintf(stderr, "xfrm_install: %s\n", opened.error().message.c_str());
    return 1;
  }
  XfrmKernel& kernel = **opened;
  const Bytes enc(16, 0x11), auth(32, 0x22);
  struct Installed {
    uint32_t spi_in = 0, spi_out = 0, rule_out = 0, rule_in = 0;
    bool sas = false;
  };
  std::vector<Installed> tunnels(n);
  bool esp = true;
  std::string sa_error;
  const double c0 = CpuSeconds(), w0 = WallSeconds();
  for (uint32_t i = 0; i < n; ++i) {
    Installed& t = tunnels[i];
    const uint32_t number = i + 1;
    auto spi = kernel.AllocateSpi(us, peer, ipc::PROTO_ESP);
    if (!spi.ok()) {
      std::fprintf(stderr, "xfrm_install: %s\n", spi.error().message.c_str());
      return 1;
    }
    t.spi_in = *spi;
    t.spi_out = 0x40000000 + number;  // the peer's choice, unique here
    if (esp) {
      SaSpec sa;
      sa.tunnel = number;
      sa.encryption = db::ESP_AES_CBC;
      sa.encryption_key_bits = 128;
      sa.encryption_key = enc;
      sa.integrity = db::HMAC_SHA2_256;
      sa.integrity_key = auth;
      sa.lifetime_seconds = 3600;
      sa.direction = Direction::kInbound;
      sa.spi = t.spi_in;
      sa.source = peer;
      sa.destination = us;
      Status in = kernel.InstallSa(sa);
      if (!in.ok()) {
        esp = false;
        sa_error = in.error().message;
      } else {
        sa.direction = Direction::kOutbound;
        sa.spi = t.spi_out;
        sa.source = us;
        sa.destination = peer;
        Status out = kernel.InstallSa(sa);
        if (!out.ok()) {
          std::fprintf(stderr, "xfrm_install: %s\n", out.error().message.c_str());
          return 1;
        }
        t.sas = true;
      }
    }
    PolicySpec p;
    p.tunnel = number;
    p.direction = Direction::kOutbound;
    p.source = AddressRange::Host(*IpAddress::Parse("172.16.0.1"));
    p.destination = AddressRange::Host(Remote(i));
    p.outer_source = us;
    p.outer_destination = peer;
    auto out = kernel.InstallPolicy(p);
    std::swap(p.source, p.destination);
    std::swap(p.outer_source, p.outer_destination);
    p.direction = Direction::kInbound;
    auto in = kernel.InstallPolicy(p);
    if (!out.ok() || !in.ok()) {
      std::fprintf(stderr, "xfrm_install: policy: %s\n",
                   (!out.ok() ? out.error() : in.error()).message.c_str());
      return 1;
    }
    t.rule_out = *out;
    t.rule_in = *in;
  }
  const double c1 = CpuSeconds(), w1 = WallSeconds();
  for (const Installed& t : tunnels) {
    (void)kernel.DeletePolicy(t.rule_out);
    (void)kernel.DeletePolicy(t.rule_in);
    if (t.sas) {
      (void)kernel.DeleteSa(us, t.spi_in);
      (void)kernel.DeleteSa(peer, t.spi_out);
    }
  }
  const double c2 = CpuSeconds(), w2 = WallSeconds();
  kernel.Clear();  // the unused ALLOCSPI reservations (no ESP)
  std::printf(
      "n=%u esp=%s install_cpu_us/tunnel=%.1f install_wall_us/tunnel=%.1f "
      "remove_cpu_us/tunnel=%.1f remove_wall_us/tunnel=%.1f install_s=%.2f\n",
      n, esp ? "yes" : "no", (c1 - c0) * 1e6 / n, (w1 - w0) * 1e6 / n, (c2 - c1) * 1e6 / n,
      (w2 - w1) * 1e6 / n, w1 - w0);
  if (!esp) {
    std::printf("  (no ESP in this kernel: ALLOCSPI and policies only; the SA said: %s)\n",
                sa_error.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace ike::tmd

int main(int argc, char** argv) {
  std::vector<uint32_t> counts = {2000, 20000};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--n") == 0 && i + 1 < argc) {
      counts.clear();
      std::string list = argv[++i];
      for (size_t pos = 0; pos < list.size();) {
        size_t comma = list.find(',', pos);
        counts.push_back(static_cast<uint32_t>(std::stoul(list.substr(pos, comma - pos))));
        pos = comma == std::string::npos ? list.size() : comma + 1;
      }
    } else {
      std::fprintf(stderr, "usage: xfrm_install [--n 2000,20000]\n");
      return 2;
    }
  }
  if (unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "xfrm_install: unshare(CLONE_NEWNET): %s (needs root)\n",
                 std::strerror(errno));
    return 1;
  }
  // A link to the peer and a default route through it: the common gateway,
  // where tmd adds no routes (routes.h).
  if (std::system("ip link set lo up && ip link add v0 type veth peer name v1 && "
                  "ip addr add 192.0.2.1/24 dev v0 && ip link set v0 up && ip link set v1 up && "
                  "ip route add default via 192.0.2.2") != 0) {
    std::fprintf(stderr, "xfrm_install: cannot set up the namespace\n");
    return 1;
  }
  for (uint32_t n : counts) {
    if (int rc = ike::tmd::Run(n); rc != 0) return rc;
  }
  return 0;
}
