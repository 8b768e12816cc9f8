#include "bench/tools/measure.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace ike::bench {
namespace {

std::unique_ptr<crypto::DhKeyPair> MustGenerate(crypto::DhGroup group) {
  auto key = crypto::DhKeyPair::Generate(group);
  if (!key) {
    std::fprintf(stderr, "%s: %s\n", crypto::DhGroupName(group), key.error().message.c_str());
    std::exit(1);
  }
  return std::move(*key);
}

template <typename Op>
double MicrosPerOp(double budget_s, Op op) {
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    int calls = 0;
    const double start = ThreadCpuSeconds();
    double now = start;
    while (now - start < budget_s / 3) {
      op();
      ++calls;
      now = ThreadCpuSeconds();
    }
    best = std::min(best, (now - start) / calls * 1e6);
  }
  return best;
}

}  // namespace

double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

CryptoBound MeasureCryptoBound(crypto::DhGroup group, double budget_s) {
  auto peer = MustGenerate(group);
  auto ours = MustGenerate(group);
  CryptoBound b;
  b.keygen_us = MicrosPerOp(budget_s, [&] { MustGenerate(group); });
  b.derive_us = MicrosPerOp(budget_s, [&] {
    if (!ours->ComputeShared(peer->PublicValue())) std::exit(1);
  });
  return b;
}

}  // namespace ike::bench
