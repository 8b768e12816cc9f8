// crypto_bound: measures, on this machine, the crypto lower bound of one side
// of a Main Mode + Quick Mode with PFS (performance.md): two Diffie-Hellman
// key generations and two derivations in the suite's group, through the same
// ike_crypto calls isakmpd makes (short exponents, our own peer-value check).
// bench/run divides our CPU per tunnel by this number; the target is
// a ratio of 1.25 or less.
//
//   crypto_bound [--ms 400]    prints one key=value line per suite
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "common/crypto.h"

namespace {

using ike::crypto::DhGroup;
using ike::crypto::DhKeyPair;

double CpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

std::unique_ptr<DhKeyPair> MustGenerate(DhGroup group) {
  auto key = DhKeyPair::Generate(group);
  if (!key) {
    std::fprintf(stderr, "crypto_bound: %s: %s\n", ike::crypto::DhGroupName(group),
                 key.error().message.c_str());
    std::exit(1);
  }
  return std::move(*key);
}

// Microseconds of thread CPU per call of |op|, repeated for about |budget_s|;
// the best of three rounds, so a preempted round does not count.
template <typename Op>
double MicrosPerOp(double budget_s, Op op) {
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    int n = 0;
    const double start = CpuSeconds();
    double now = start;
    while (now - start < budget_s / 3) {
      op();
      ++n;
      now = CpuSeconds();
    }
    best = std::min(best, (now - start) / n * 1e6);
  }
  return best;
}

void Measure(const char* suite, DhGroup group, double budget_s) {
  auto peer = MustGenerate(group);
  auto ours = MustGenerate(group);
  const double keygen_us = MicrosPerOp(budget_s, [&] { MustGenerate(group); });
  const double derive_us = MicrosPerOp(budget_s, [&] {
    auto secret = ours->ComputeShared(peer->PublicValue());
    if (!secret) std::exit(1);
  });
  // Main Mode and Quick Mode PFS: one key pair and one derivation each.
  const double bound_ms = 2 * (keygen_us + derive_us) / 1000;
  std::printf("suite=%s group=%s keygen_us=%.1f derive_us=%.1f bound_ms=%.3f\n", suite,
              ike::crypto::DhGroupName(group), keygen_us, derive_us, bound_ms);
}

}  // namespace

int main(int argc, char** argv) {
  double budget_ms = 400;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--ms") == 0 && i + 1 < argc) {
      budget_ms = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: crypto_bound [--ms MILLISECONDS_PER_OPERATION]\n");
      return 2;
    }
  }
  Measure("modp2048", DhGroup::kModp2048, budget_ms / 1000);
  Measure("ecp256", DhGroup::kEcp256, budget_ms / 1000);
  return 0;
}
