// OpenSSL 3 EVP wrappers (common/crypto.h). Algorithms (EVP_MD,
// EVP_CIPHER) and DH/EC domain parameters are fetched or built once, on first
// use (thread-safe static initialisation), and kept for the life of the
// process: they are never freed, so that no exit-time ordering with OpenSSL's
// own cleanup or with worker threads can bite. Contexts that are re-initialised
// per call (HMAC, CBC, DH key generation, the peer key of a derivation) are
// per thread (thread_local), freed when the thread exits; C++ runs those
// destructors before atexit handlers such as OpenSSL's cleanup.
#include "common/crypto.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/log.h"

namespace ike::crypto {
namespace {

// unique_ptr deleters for OpenSSL objects.
template <auto kFree>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using SecretBnPtr = std::unique_ptr<BIGNUM, Deleter<BN_clear_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;

// A broken invariant (an algorithm every OpenSSL 3 build has is missing, the
// RNG fails): no caller can recover, so stop (style.md rule 9).
[[noreturn]] void Fatal(const char* what) {
  LOG_ERROR("crypto: fatal: %s", what);
  std::abort();
}

// Turns the thread's OpenSSL error queue into an Error and clears the queue so
// that it does not grow across failed peer inputs. OpenSSL reasons never
// contain key material.
Error OsslError(const std::string& what) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return Error{what};
  char reason[256];
  ERR_error_string_n(code, reason, sizeof reason);
  return Error{what + " (" + reason + ")"};
}

// ---------------------------------------------------------------- hashes

struct HashInfo {
  const char* ike_name;
  const char* ossl_name;
  size_t length;
};
constexpr std::array<HashInfo, 4> kHashes = {{
    {"SHA1", "SHA1", 20},
    {"SHA2_256", "SHA2-256", 32},
    {"SHA2_384", "SHA2-384", 48},
    {"SHA2_512", "SHA2-512", 64},
}};

size_t HashIndex(HashAlg alg) {
  auto i = static_cast<size_t>(alg);
  if (i >= kHashes.size()) Fatal("unknown HashAlg");
  return i;
}

const EVP_MD* Md(HashAlg alg) {
  static const std::array<EVP_MD*, kHashes.size()> mds = [] {
    std::array<EVP_MD*, kHashes.size()> a{};
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = EVP_MD_fetch(nullptr, kHashes[i].ossl_name, nullptr);
      if (a[i] == nullptr) Fatal("EVP_MD_fetch failed");
    }
    return a;
  }();
  return mds[HashIndex(alg)];
}

// HMAC (RFC 2104) on two reused digest contexts per thread and hash: OpenSSL
// 3.0's EVP_MAC re-keying walks its provider machinery on every call (about
// 1 us for a short SHA-256 HMAC, some 26 calls per tunnel and side); the
// digest contexts re-initialise in place for less than half of that. The
// padded keys live on the stack and are wiped; the contexts only ever hold
// intermediate hash state, reset by the next call.
struct HmacContexts {
  std::array<MdCtxPtr, kHashes.size()> inner;
  std::array<MdCtxPtr, kHashes.size()> outer;
};

EVP_MD_CTX* ThreadMdCtx(std::array<MdCtxPtr, kHashes.size()>& set, HashAlg alg) {
  MdCtxPtr& ctx = set[HashIndex(alg)];
  if (!ctx) {
    ctx.reset(EVP_MD_CTX_new());
    if (!ctx) Fatal("digest context allocation failed");
  }
  return ctx.get();
}

// ---------------------------------------------------------------- ciphers

struct CipherInfo {
  const char* ike_name;
  const char* ossl_name;
  size_t key_length;
  size_t block_size;
};
constexpr std::array<CipherInfo, 4> kCiphers = {{
    {"AES-CBC-128", "AES-128-CBC", 16, 16},
    {"AES-CBC-192", "AES-192-CBC", 24, 16},
    {"AES-CBC-256", "AES-256-CBC", 32, 16},
    {"3DES-CBC", "DES-EDE3-CBC", 24, 8},
}};

const CipherInfo& Cipher(CipherAlg alg) {
  auto i = static_cast<size_t>(alg);
  if (i >= kCiphers.size()) Fatal("unknown CipherAlg");
  return kCiphers[i];
}

const EVP_CIPHER* EvpCipher(CipherAlg alg) {
  static const std::array<EVP_CIPHER*, kCiphers.size()> ciphers = [] {
    std::array<EVP_CIPHER*, kCiphers.size()> a{};
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = EVP_CIPHER_fetch(nullptr, kCiphers[i].ossl_name, nullptr);
      if (a[i] == nullptr) Fatal("EVP_CIPHER_fetch failed");
    }
    return a;
  }();
  return ciphers[static_cast<size_t>(alg)];
}

Result<Bytes> CbcCrypt(CipherAlg alg, ByteView key, ByteView iv, ByteView input, bool encrypt) {
  const CipherInfo& info = Cipher(alg);
  if (key.size() != info.key_length)
    return Error{std::string(info.ike_name) + ": wrong key length"};
  if (iv.size() != info.block_size) return Error{std::string(info.ike_name) + ": wrong IV length"};
  if (input.size() % info.block_size != 0 || input.size() > INT_MAX) {
    return Error{std::string(info.ike_name) + ": input is not a whole number of blocks"};
  }
  Bytes out(input.size());
  if (input.empty()) return out;
  // One context per thread, re-initialised for every message: a fresh
  // context per call costs an allocation and a cipher set-up each time.
  thread_local CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int final_len = 0;
  if (!ctx ||
      EVP_CipherInit_ex2(ctx.get(), EvpCipher(alg), key.data(), iv.data(), encrypt ? 1 : 0,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), out.data(), &len, input.data(), static_cast<int>(input.size())) !=
          1 ||
      EVP_CipherFinal_ex(ctx.get(), out.data() + len, &final_len) != 1 ||
      static_cast<size_t>(len + final_len) != out.size()) {
    return OsslError(std::string(info.ike_name) + (encrypt ? " encryption" : " decryption") +
                     " failed");
  }
  return out;
}

// ---------------------------------------------------------------- DH groups

struct GroupInfo {
  DhGroup group;
  const char* ike_name;
  const char* ossl_group;  // OpenSSL group name; null: built from the RFC prime
  bool ecp;
  size_t public_length;  // KE payload data length
  int private_bits;      // exponent length we set ourselves (0: OpenSSL's choice)
  // Not a safe prime: the peer's value must be checked to lie in the
  // order-q subgroup (RFC 6989 section 2.2), or a small-subgroup value
  // would leak bits of our exponent.
  bool subgroup_check = false;
};

// MODP groups: RFC 2409 section 6.2 (group 2) and RFC 3526 sections 2 and 3
// (OpenSSL's "modp_*" names; the "ffdhe*" groups are different primes).
// OpenSSL picks 200/225-bit exponents for the named groups (2 x their
// security strength); OpenSSL 3.0 has no name for group 2, so we build it from
// the prime and ask for 160 bits, 2 x its 80-bit strength. ECP groups: RFC 5903
// (P-521's coordinates are 66 octets: 521 bits rounded up). Group 24: RFC
// 5114 section 2.3 (OpenSSL's "dh_2048_256", with q; IKE number: RFC 5114
// section 4), exponents below q.
constexpr std::array<GroupInfo, 9> kGroups = {{
    {DhGroup::kModp1024, "MODP_1024", nullptr, false, 128, 160},
    {DhGroup::kModp1536, "MODP_1536", "modp_1536", false, 192, 0},
    {DhGroup::kModp2048, "MODP_2048", "modp_2048", false, 256, 0},
    {DhGroup::kModp3072, "MODP_3072", "modp_3072", false, 384, 0},
    {DhGroup::kModp4096, "MODP_4096", "modp_4096", false, 512, 0},
    {DhGroup::kEcp256, "ECP_256", "prime256v1", true, 64, 0},
    {DhGroup::kEcp384, "ECP_384", "secp384r1", true, 96, 0},
    {DhGroup::kEcp521, "ECP_521", "secp521r1", true, 132, 0},
    {DhGroup::kModp2048s256, "MODP_2048_256", "dh_2048_256", false, 256, 0, true},
}};

const GroupInfo* FindGroup(uint16_t number) {
  for (const GroupInfo& g : kGroups) {
    if (static_cast<uint16_t>(g.group) == number) return &g;
  }
  return nullptr;
}

// Domain parameters from a group name ("DH" or "EC" key type).
EVP_PKEY* NamedParams(const char* key_type, const char* group) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, key_type, nullptr));
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEY_PARAMETERS,
                        const_cast<OSSL_PARAM*>(params)) != 1) {
    return nullptr;
  }
  return pkey;
}

// Oakley group 2 (RFC 2409 section 6.2): p = 2^1024 - 2^960 - 1 + 2^64 *
// ([2^894 pi] + 129093), g = 2.
EVP_PKEY* Group2Params() {
  BnPtr p(BN_get_rfc2409_prime_1024(nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!p || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_P, p.get()) != 1 ||
      OSSL_PARAM_BLD_push_uint(bld.get(), OSSL_PKEY_PARAM_FFC_G, 2) != 1) {
    return nullptr;
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEY_PARAMETERS, params.get()) != 1) {
    return nullptr;
  }
  return pkey;
}

// p - 1 as big-endian bytes of the prime length, for the peer range check.
Bytes PrimeMinusOne(EVP_PKEY* params, size_t length) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_P, &raw) != 1) return {};
  BnPtr p(raw);
  Bytes out(length);
  if (BN_sub_word(p.get(), 1) != 1 ||
      BN_bn2binpad(p.get(), out.data(), static_cast<int>(length)) != static_cast<int>(length)) {
    return {};
  }
  return out;
}

struct GroupParams {
  EVP_PKEY* params = nullptr;  // domain parameters only, shared read-only
  Bytes p_minus_1;             // MODP only
  BIGNUM* p = nullptr;         // with subgroup_check: p and q, shared read-only
  BIGNUM* q = nullptr;
};

// p and q of a group with a prime-order subgroup; false if it has none.
bool SubgroupParams(EVP_PKEY* params, GroupParams* gp) {
  return EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_P, &gp->p) == 1 &&
         EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_Q, &gp->q) == 1;
}

// Built once for all groups; an entry with null params failed to build.
const GroupParams& Params(const GroupInfo& info) {
  static const std::array<GroupParams, kGroups.size()>* const all = [] {
    auto* a = new std::array<GroupParams, kGroups.size()>();
    for (size_t i = 0; i < a->size(); ++i) {
      const GroupInfo& g = kGroups[i];
      GroupParams& gp = (*a)[i];
      if (g.ecp) {
        gp.params = NamedParams("EC", g.ossl_group);
      } else {
        gp.params = g.ossl_group != nullptr ? NamedParams("DH", g.ossl_group) : Group2Params();
        if (gp.params != nullptr) gp.p_minus_1 = PrimeMinusOne(gp.params, g.public_length);
        if (gp.p_minus_1.empty()) gp.params = nullptr;
        if (g.subgroup_check && gp.params != nullptr && !SubgroupParams(gp.params, &gp))
          gp.params = nullptr;
      }
    }
    ERR_clear_error();
    return a;
  }();
  return (*all)[static_cast<size_t>(&info - kGroups.data())];
}

// RFC 2409 section 5: the KE data is g^x padded with zeros to the prime length.
Result<Bytes> ModpPublicValue(EVP_PKEY* key, size_t length) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &raw) != 1) {
    return OsslError("cannot read DH public value");
  }
  BnPtr y(raw);
  Bytes out(length);
  if (BN_bn2binpad(y.get(), out.data(), static_cast<int>(length)) != static_cast<int>(length)) {
    return Error{"DH public value longer than the prime"};
  }
  return out;
}

// RFC 5903 section 7: the KE data is x | y, without SEC1's 0x04 prefix.
Result<Bytes> EcpPublicValue(EVP_PKEY* key, size_t length) {
  uint8_t point[1 + 2 * 66];
  size_t point_len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                      &point_len) != 1) {
    return OsslError("cannot read EC public point");
  }
  if (point_len != 1 + length || point[0] != 0x04) return Error{"EC public point not uncompressed"};
  return Bytes(point + 1, point + point_len);
}

// Checks that OpenSSL used the short exponent we asked for: a full-length one
// would be correct but several times slower (performance.md, point 2).
bool PrivateExponentIsShort(EVP_PKEY* key, int max_bits) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) return false;
  SecretBnPtr x(raw);
  return BN_num_bits(x.get()) <= max_bits;
}

// MODP peer check (RFC 2409 section 5; NIST SP 800-56A 5.6.2.3.1 partial
// check): 1 < y < p - 1, on big-endian octets of the prime length. The
// expensive full check (y^q mod p) is left out, see performance.md point 1.
bool ModpPeerInRange(ByteView y, const Bytes& p_minus_1) {
  bool above_one = false;
  for (size_t i = 0; i + 1 < y.size(); ++i) above_one |= y[i] != 0;
  above_one |= y.back() > 1;
  return above_one && std::memcmp(y.data(), p_minus_1.data(), y.size()) < 0;
}

// The calling thread's peer key for |info|: a copy of the group's domain
// parameters made once, whose public value each import overwrites. A fresh
// EVP_PKEY_dup per peer costs a key-management lookup by name (OpenSSL 3.0
// walks its whole name map for it); EVP_PKEY_set1_encoded_public_key on the
// same object does not. Only used between import and derive on this thread,
// and the derive context holding a reference is freed before the next import.
EVP_PKEY* ThreadPeerKey(const GroupInfo& info) {
  thread_local std::array<PkeyPtr, kGroups.size()> keys;
  PkeyPtr& key = keys[static_cast<size_t>(&info - kGroups.data())];
  if (!key) key.reset(EVP_PKEY_dup(Params(info).params));
  return key.get();
}

// y^q mod p == 1: y lies in the order-q subgroup (SP 800-56A 5.6.2.3.1 full
// check). With a 256-bit q this costs about a tenth of the key agreement.
bool InSubgroup(ByteView y, const GroupParams& gp) {
  thread_local std::unique_ptr<BN_CTX, Deleter<BN_CTX_free>> ctx(BN_CTX_new());
  BnPtr value(BN_bin2bn(y.data(), static_cast<int>(y.size()), nullptr));
  BnPtr result(BN_new());
  return ctx && value && result &&
         BN_mod_exp(result.get(), value.get(), gp.q, gp.p, ctx.get()) == 1 &&
         BN_is_one(result.get());
}

Result<EVP_PKEY*> ImportModpPeer(const GroupInfo& info, ByteView y) {
  const GroupParams& gp = Params(info);
  if (!ModpPeerInRange(y, gp.p_minus_1)) {
    return Error{std::string(info.ike_name) + ": peer public value out of range"};
  }
  if (info.subgroup_check && !InSubgroup(y, gp)) {
    return Error{std::string(info.ike_name) +
                 ": peer public value is not in the prime-order subgroup (RFC 6989)"};
  }
  // Same domain parameters as our own key, so derive's parameter match holds.
  EVP_PKEY* peer = ThreadPeerKey(info);
  if (peer == nullptr || EVP_PKEY_set1_encoded_public_key(peer, y.data(), y.size()) != 1) {
    return OsslError(std::string(info.ike_name) + ": cannot import peer public value");
  }
  return peer;
}

// RFC 5903 section 7: prefix 0x04 (SEC1 uncompressed) and import into a copy
// of the group's parameters: three times cheaper than EVP_PKEY_fromdata with
// the group name, which rebuilds the curve each time. Decoding the point
// checks that it lies on the curve (EC_POINT_oct2point) and in the field; the
// curves have cofactor 1, so that is the full public-key validation of
// SP 800-56A 5.6.2.3.3 (the point at infinity has no x | y encoding).
Result<EVP_PKEY*> ImportEcpPeer(const GroupInfo& info, ByteView xy) {
  uint8_t point[1 + 2 * 66];
  if (xy.size() + 1 > sizeof point) return Error{std::string(info.ike_name) + ": point too long"};
  point[0] = 0x04;
  std::memcpy(point + 1, xy.data(), xy.size());
  EVP_PKEY* peer = ThreadPeerKey(info);
  if (peer == nullptr || EVP_PKEY_set1_encoded_public_key(peer, point, xy.size() + 1) != 1) {
    return OsslError(std::string(info.ike_name) +
                     ": peer public value is not a point on the curve");
  }
  return peer;
}

// g^xy. MODP: padded to the prime length (RFC 2409 section 5); ECP: the x
// coordinate, padded to the field length (RFC 5903 section 7).
Result<SecretBytes> Derive(const GroupInfo& info, EVP_PKEY* key, EVP_PKEY* peer) {
  unsigned int pad = 1;
  const OSSL_PARAM modp_params[] = {OSSL_PARAM_construct_uint(OSSL_EXCHANGE_PARAM_PAD, &pad),
                                    OSSL_PARAM_construct_end()};
  const size_t expected = info.ecp ? info.public_length / 2 : info.public_length;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  Bytes secret(expected);
  size_t len = secret.size();
  // validate_peer = 0: the peer was checked on import (see above).
  if (!ctx || EVP_PKEY_derive_init_ex(ctx.get(), info.ecp ? nullptr : modp_params) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, 0) != 1 ||
      EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1) {
    return OsslError(std::string(info.ike_name) + ": key agreement failed");
  }
  if (len != expected) {
    SecureWipe(&secret);
    return Error{std::string(info.ike_name) + ": shared secret has the wrong length"};
  }
  return SecretBytes(std::move(secret));
}

class EvpDhKeyPair final : public DhKeyPair {
 public:
  EvpDhKeyPair(const GroupInfo& info, PkeyPtr key, Bytes public_value)
      : info_(info), key_(std::move(key)), public_value_(std::move(public_value)) {}

  DhGroup group() const override { return info_.group; }
  const Bytes& PublicValue() const override { return public_value_; }

  Result<SecretBytes> ComputeShared(ByteView peer_public) const override {
    if (peer_public.size() != info_.public_length) {
      return Error{std::string(info_.ike_name) + ": peer public value has length " +
                   std::to_string(peer_public.size()) + ", expected " +
                   std::to_string(info_.public_length)};
    }
    Result<EVP_PKEY*> peer =
        info_.ecp ? ImportEcpPeer(info_, peer_public) : ImportModpPeer(info_, peer_public);
    if (!peer) return peer.error();
    return Derive(info_, key_.get(), *peer);
  }

 private:
  const GroupInfo& info_;
  PkeyPtr key_;
  Bytes public_value_;
};

// The calling thread's key generation context for |info|, set up once
// (domain parameters, short exponent) and reused for every key: creating one
// per key costs a key-management lookup by name and a keygen set-up. OpenSSL
// 3.0 cannot duplicate a generation context, but may generate many keys
// from one. Null if the group is unavailable.
EVP_PKEY_CTX* ThreadKeygen(const GroupInfo& info) {
  thread_local std::array<PkeyCtxPtr, kGroups.size()> contexts;
  PkeyCtxPtr& ctx = contexts[static_cast<size_t>(&info - kGroups.data())];
  if (ctx) return ctx.get();
  EVP_PKEY* params = Params(info).params;
  if (params == nullptr) return nullptr;
  PkeyCtxPtr fresh(EVP_PKEY_CTX_new_from_pkey(nullptr, params, nullptr));
  int priv_len = info.private_bits;
  const OSSL_PARAM gen_params[] = {OSSL_PARAM_construct_int(OSSL_PKEY_PARAM_DH_PRIV_LEN, &priv_len),
                                   OSSL_PARAM_construct_end()};
  // The exponent length must be set on the keygen context: OpenSSL 3.0
  // ignores a priv_len stored in the domain parameters.
  if (!fresh || EVP_PKEY_keygen_init(fresh.get()) != 1 ||
      (priv_len > 0 && EVP_PKEY_CTX_set_params(fresh.get(), gen_params) != 1)) {
    ERR_clear_error();
    return nullptr;
  }
  ctx = std::move(fresh);
  return ctx.get();
}

Result<PkeyPtr> GenerateKey(const GroupInfo& info) {
  EVP_PKEY_CTX* ctx = ThreadKeygen(info);
  if (ctx == nullptr) return Error{std::string(info.ike_name) + ": group unavailable"};
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx, &raw) != 1) {
    return OsslError(std::string(info.ike_name) + ": key generation failed");
  }
  PkeyPtr key(raw);
  if (info.private_bits > 0 && !PrivateExponentIsShort(key.get(), info.private_bits)) {
    return Error{std::string(info.ike_name) + ": OpenSSL ignored the private exponent length"};
  }
  return key;
}

}  // namespace

size_t HashLength(HashAlg alg) { return kHashes[HashIndex(alg)].length; }
const char* HashName(HashAlg alg) { return kHashes[HashIndex(alg)].ike_name; }

Bytes Hash(HashAlg alg, ByteView data) {
  Bytes out(HashLength(alg));
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, Md(alg), nullptr) != 1 ||
      len != out.size()) {
    Fatal("EVP_Digest failed");
  }
  return out;
}

Bytes Hmac(HashAlg alg, ByteView key, ByteView data) { return Hmac(alg, key, {data}); }

Bytes Hmac(HashAlg alg, ByteView key, std::initializer_list<ByteView> parts) {
  thread_local HmacContexts contexts;
  const EVP_MD* md = Md(alg);
  const size_t block = static_cast<size_t>(EVP_MD_get_block_size(md));
  const size_t length = HashLength(alg);
  // K0: the key, hashed first if longer than a block, zero-padded to a block.
  uint8_t pad[128] = {};
  if (key.size() > block) {
    unsigned int hashed = 0;
    if (EVP_Digest(key.data(), key.size(), pad, &hashed, md, nullptr) != 1) Fatal("HMAC key hash");
  } else if (!key.empty()) {
    std::memcpy(pad, key.data(), key.size());
  }
  for (size_t i = 0; i < block; ++i) pad[i] ^= 0x36;
  EVP_MD_CTX* inner = ThreadMdCtx(contexts.inner, alg);
  uint8_t inner_hash[64];
  unsigned int inner_len = 0;
  bool ok = EVP_DigestInit_ex2(inner, md, nullptr) == 1 && EVP_DigestUpdate(inner, pad, block) == 1;
  for (ByteView part : parts) ok = ok && EVP_DigestUpdate(inner, part.data(), part.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(inner, inner_hash, &inner_len) == 1 && inner_len == length;
  for (size_t i = 0; i < block; ++i) pad[i] ^= 0x36 ^ 0x5c;
  EVP_MD_CTX* outer = ThreadMdCtx(contexts.outer, alg);
  Bytes out(length);
  unsigned int out_len = 0;
  ok = ok && EVP_DigestInit_ex2(outer, md, nullptr) == 1 &&
       EVP_DigestUpdate(outer, pad, block) == 1 &&
       EVP_DigestUpdate(outer, inner_hash, inner_len) == 1 &&
       EVP_DigestFinal_ex(outer, out.data(), &out_len) == 1 && out_len == length;
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(inner_hash, sizeof inner_hash);
  if (!ok) Fatal("HMAC failed");
  return out;
}

size_t CipherKeyLength(CipherAlg alg) { return Cipher(alg).key_length; }
size_t CipherBlockSize(CipherAlg alg) { return Cipher(alg).block_size; }
const char* CipherName(CipherAlg alg) { return Cipher(alg).ike_name; }

Result<Bytes> CbcEncrypt(CipherAlg alg, ByteView key, ByteView iv, ByteView input) {
  return CbcCrypt(alg, key, iv, input, true);
}

Result<Bytes> CbcDecrypt(CipherAlg alg, ByteView key, ByteView iv, ByteView input) {
  return CbcCrypt(alg, key, iv, input, false);
}

bool IsSupportedDhGroup(uint16_t number) { return FindGroup(number) != nullptr; }

const char* DhGroupName(DhGroup group) {
  const GroupInfo* info = FindGroup(static_cast<uint16_t>(group));
  return info != nullptr ? info->ike_name : "UNKNOWN";
}

size_t DhPublicLength(DhGroup group) {
  const GroupInfo* info = FindGroup(static_cast<uint16_t>(group));
  return info != nullptr ? info->public_length : 0;
}

Result<std::unique_ptr<DhKeyPair>> DhKeyPair::Generate(DhGroup group) {
  const GroupInfo* info = FindGroup(static_cast<uint16_t>(group));
  if (info == nullptr) {
    return Error{"unsupported DH group " + std::to_string(static_cast<uint16_t>(group))};
  }
  Result<PkeyPtr> key = GenerateKey(*info);
  if (!key) return key.error();
  Result<Bytes> public_value = info->ecp ? EcpPublicValue(key->get(), info->public_length)
                                         : ModpPublicValue(key->get(), info->public_length);
  if (!public_value) return public_value.error();
  return std::unique_ptr<DhKeyPair>(
      new EvpDhKeyPair(*info, std::move(*key), std::move(*public_value)));
}

void OpenSslRandom::Fill(std::span<uint8_t> out) {
  while (!out.empty()) {
    size_t n = std::min<size_t>(out.size(), INT_MAX);
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) Fatal("RAND_bytes failed");
    out = out.subspan(n);
  }
}

}  // namespace ike::crypto
