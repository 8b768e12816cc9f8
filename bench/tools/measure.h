// The crypto lower bound of one side of a Main Mode + Quick Mode with PFS
// (performance.md): two Diffie-Hellman key generations and two derivations in
// the suite's group, through the same ike_crypto calls isakmpd makes. Shared
// by crypto_bound (bench/run) and engine_bench.
#pragma once

#include "common/crypto.h"

namespace ike::bench {

double ThreadCpuSeconds();

struct CryptoBound {
  double keygen_us = 0;
  double derive_us = 0;
  double bound_ms() const { return 2 * (keygen_us + derive_us) / 1000; }
};

// Each operation timed in thread CPU, best of three rounds of about
// |budget_s| / 3, so a preempted round does not count. Exits with a message
// if the group cannot be used.
CryptoBound MeasureCryptoBound(crypto::DhGroup group, double budget_s);

}  // namespace ike::bench
