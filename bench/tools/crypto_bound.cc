// crypto_bound: measures, on this machine, the crypto lower bound of one side
// of a Main Mode + Quick Mode with PFS (performance.md): two Diffie-Hellman
// key generations and two derivations in the suite's group, through the same
// ike_crypto calls isakmpd makes (short exponents, our own peer-value check).
// bench/run divides our CPU per tunnel by this number; the target is
// a ratio of 1.25 or less.
//
//   crypto_bound [--ms 400]    prints one key=value line per suite
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench/tools/measure.h"

namespace {

void Measure(const char* suite, ike::crypto::DhGroup group, double budget_s) {
  const ike::bench::CryptoBound b = ike::bench::MeasureCryptoBound(group, budget_s);
  std::printf("suite=%s group=%s keygen_us=%.1f derive_us=%.1f bound_ms=%.3f\n", suite,
              ike::crypto::DhGroupName(group), b.keygen_us, b.derive_us, b.bound_ms());
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
  // Every group isakmpd offers (bench_suite in bench/lib.sh names them the
  // same way); the older, weaker ones too, for comparison.
  using G = ike::crypto::DhGroup;
  const struct {
    const char* suite;
    G group;
  } kSuites[] = {
      {"modp1024", G::kModp1024}, {"modp1536", G::kModp1536}, {"modp2048", G::kModp2048},
      {"modp3072", G::kModp3072}, {"modp4096", G::kModp4096}, {"ecp256", G::kEcp256},
      {"ecp384", G::kEcp384},     {"ecp521", G::kEcp521},     {"modp2048s256", G::kModp2048s256}};
  for (const auto& s : kSuites) Measure(s.suite, s.group, budget_ms / 1000);
  return 0;
}
