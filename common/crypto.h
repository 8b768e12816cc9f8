// OpenSSL 3 EVP wrappers: the only place that includes OpenSSL headers apart
// from tests. Algorithms and contexts are fetched once and reused.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "common/bytes.h"
#include "common/result.h"

namespace ike::crypto {

enum class HashAlg { kSha1, kSha256, kSha384, kSha512 };
size_t HashLength(HashAlg alg);
const char* HashName(HashAlg alg);  // "SHA1", "SHA2_256", ...

Bytes Hash(HashAlg alg, ByteView data);
// HMAC, the IKEv1 PRF for every hash we negotiate (RFC 2409 section 4).
Bytes Hmac(HashAlg alg, ByteView key, ByteView data);
Bytes Hmac(HashAlg alg, ByteView key, std::initializer_list<ByteView> parts);

enum class CipherAlg { kAes128Cbc, kAes192Cbc, kAes256Cbc, k3desCbc };
size_t CipherKeyLength(CipherAlg alg);  // bytes
size_t CipherBlockSize(CipherAlg alg);  // bytes
const char* CipherName(CipherAlg alg);  // "AES-CBC-128", "3DES-CBC", ...

// CBC without padding: |input| must be a multiple of the block size, |iv| one
// block. Errors on wrong sizes or OpenSSL failure.
Result<Bytes> CbcEncrypt(CipherAlg alg, ByteView key, ByteView iv, ByteView input);
Result<Bytes> CbcDecrypt(CipherAlg alg, ByteView key, ByteView iv, ByteView input);

// Diffie-Hellman groups by their IKE group numbers.
enum class DhGroup : uint16_t {
  kModp1024 = 2,
  kModp1536 = 5,
  kModp2048 = 14,
  kModp3072 = 15,
  kModp4096 = 16,
  kEcp256 = 19,
  kEcp384 = 20,
  kEcp521 = 21,
  kModp2048s256 = 24,  // RFC 5114 2.3: 2048-bit prime, 256-bit prime-order subgroup
};
bool IsSupportedDhGroup(uint16_t number);
const char* DhGroupName(DhGroup group);  // "MODP_2048", "ECP_256", ...
// Length of the KE payload data: the prime length for MODP, 2 x coordinate
// length for ECP (RFC 4753/5903: x | y, no point-format octet).
size_t DhPublicLength(DhGroup group);

class DhKeyPair {
 public:
  virtual ~DhKeyPair() = default;
  // Generates a fresh key pair (short exponents for MODP, as OpenSSL picks).
  static Result<std::unique_ptr<DhKeyPair>> Generate(DhGroup group);
  virtual DhGroup group() const = 0;
  // The public value encoded for the KE payload (DhPublicLength bytes).
  virtual const Bytes& PublicValue() const = 0;
  // g^xy, left-padded to the prime length (MODP) or the x coordinate (ECP).
  // Validates the peer value: 1 < y < p-1 for MODP, and y^q = 1 for group 24
  // (RFC 6989 2.2: its prime is not safe); on-curve for ECP. Skips OpenSSL's
  // full-exponentiation check for the safe-prime groups (performance.md).
  virtual Result<SecretBytes> ComputeShared(ByteView peer_public) const = 0;
};

// Cryptographically secure random bytes (RAND_bytes) behind an interface so
// tests can seed it.
class Random {
 public:
  virtual ~Random() = default;
  virtual void Fill(std::span<uint8_t> out) = 0;
  Bytes Generate(size_t n) {
    Bytes b(n);
    Fill(b);
    return b;
  }
  uint32_t NextU32() {
    uint32_t v;
    Fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), sizeof v));
    return v;
  }
};

class OpenSslRandom : public Random {
 public:
  void Fill(std::span<uint8_t> out) override;
};

}  // namespace ike::crypto
