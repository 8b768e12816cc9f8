#include "isakmpd/exchange/phase1_context.h"

#include <openssl/crypto.h>

namespace ike::isakmpd {

std::string Phase1Context::CookieText() const { return ToHex(icookie) + ":" + ToHex(rcookie); }

Bytes Phase1Context::IvFor(uint32_t message_id) const {
  return keymat::Phase2Iv(suite->hash, iv, message_id, crypto::CipherBlockSize(suite->cipher));
}

bool SameHash(ByteView a, ByteView b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ike::isakmpd
