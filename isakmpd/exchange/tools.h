// What exchanges need from outside to compute: randomness and DH key pairs.
// Injected, so tests can seed them and the daemon can pre-generate keys on
// another core.
#pragma once

#include <memory>

#include "common/crypto.h"
#include "common/result.h"

namespace ike::isakmpd {

class DhKeySource {
 public:
  virtual ~DhKeySource() = default;
  // A fresh, never used key pair of |group|.
  virtual Result<std::unique_ptr<crypto::DhKeyPair>> Take(crypto::DhGroup group) = 0;
};

// Generates each key pair when asked (tests, and the default).
class FreshDhKeys : public DhKeySource {
 public:
  Result<std::unique_ptr<crypto::DhKeyPair>> Take(crypto::DhGroup group) override {
    return crypto::DhKeyPair::Generate(group);
  }
};

struct ExchangeTools {
  crypto::Random& random;
  DhKeySource& dh;
};

}  // namespace ike::isakmpd
