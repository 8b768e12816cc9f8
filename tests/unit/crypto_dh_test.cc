// Tests for the Diffie-Hellman groups in common/crypto.h: agreement between
// two key pairs, encodings (RFC 2409 section 5, RFC 5903 section 7), peer
// value validation, and a timing print for the performance budget.
#include <time.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "tests/lib/hex.h"

namespace ike::crypto {
namespace {

using testing::H;

// Big-endian |value| + |delta| (delta may be negative), same length.
Bytes AddSmall(Bytes value, int delta) {
  int carry = delta;
  for (size_t i = value.size(); i-- > 0 && carry != 0;) {
    int v = value[i] + carry;
    value[i] = static_cast<uint8_t>(v & 0xff);
    carry = v >> 8;  // arithmetic shift: -1 for a borrow
  }
  return value;
}

Bytes LeftPad(ByteView v, size_t length) {
  Bytes out(length - v.size(), 0);
  Append(out, v);
  return out;
}

// The primes, as printed in RFC 2409 section 6.2 and RFC 3526 sections 2-3.
// Checked against the RFCs' formulas p = 2^n - 2^(n-64) - 1 + 2^64 *
// ([2^(n-130) pi] + c) with python3 + mpmath, and against OpenSSL's
// `openssl genpkey -genparam -algorithm DH -pkeyopt group:modp_2048 | openssl asn1parse`.
constexpr std::string_view kPrime1024 =
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74"
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437"
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed"
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece65381ffffffffffffffff";
constexpr std::string_view kPrime1536 =
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74"
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437"
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed"
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05"
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb"
    "9ed529077096966d670c354e4abc9804f1746c08ca237327ffffffffffffffff";
constexpr std::string_view kPrime2048 =
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74"
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437"
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed"
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05"
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb"
    "9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b"
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718"
    "3995497cea956ae515d2261898fa051015728e5a8aacaa68ffffffffffffffff";

// RFC 3526 sections 4 and 5, computed by the same formula (c = 1690314 and
// 240904) and compared with OpenSSL's modp_3072 / modp_4096 (asn1parse).
constexpr std::string_view kPrime3072 =
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74"
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437"
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed"
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05"
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb"
    "9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b"
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718"
    "3995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33"
    "a85521abdf1cba64ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7"
    "abf5ae8cdb0933d71e8c94e04a25619dcee3d2261ad2ee6bf12ffa06d98a0864"
    "d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e2"
    "08e24fa074e5ab3143db5bfce0fd108e4b82d120a93ad2caffffffffffffffff";
constexpr std::string_view kPrime4096 =
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74"
    "020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437"
    "4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed"
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05"
    "98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb"
    "9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b"
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718"
    "3995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33"
    "a85521abdf1cba64ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7"
    "abf5ae8cdb0933d71e8c94e04a25619dcee3d2261ad2ee6bf12ffa06d98a0864"
    "d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e2"
    "08e24fa074e5ab3143db5bfce0fd108e4b82d120a92108011a723c12a787e6d7"
    "88719a10bdba5b2699c327186af4e23c1a946834b6150bda2583e9ca2ad44ce8"
    "dbbbc2db04de8ef92e8efc141fbecaa6287c59474e6bc05d99b2964fa090c3a2"
    "233ba186515be7ed1f612970cee2d7afb81bdd762170481cd0069127d5b05aa9"
    "93b4ea988d8fddc186ffb7dc90a6c08f4df435c934063199ffffffffffffffff";

// Base points and field primes (SEC 2 / FIPS 186-4 D.1.2.3 and D.1.2.4).
constexpr std::string_view kP256Gx =
    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";
constexpr std::string_view kP256Gy =
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";
constexpr std::string_view kP256P =
    "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
constexpr std::string_view kP384Gx =
    "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a38"
    "5502f25dbf55296c3a545e3872760ab7";
constexpr std::string_view kP384Gy =
    "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c0"
    "0a60b1ce1d7e819d7a431d7c90ea0e5f";

// P-521 (FIPS 186-4 D.1.2.5; as `openssl ecparam -name secp521r1
// -param_enc explicit` prints it): 66-octet coordinates.
constexpr std::string_view kP521Gx =
    "00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d"
    "3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5"
    "bd66";
constexpr std::string_view kP521Gy =
    "011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e"
    "662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd1"
    "6650";

struct ModpCase {
  DhGroup group;
  std::string_view prime;
};
const ModpCase kModpCases[] = {
    {DhGroup::kModp1024, kPrime1024}, {DhGroup::kModp1536, kPrime1536},
    {DhGroup::kModp2048, kPrime2048}, {DhGroup::kModp3072, kPrime3072},
    {DhGroup::kModp4096, kPrime4096},
};

const DhGroup kAllGroups[] = {DhGroup::kModp1024, DhGroup::kModp1536, DhGroup::kModp2048,
                              DhGroup::kModp3072, DhGroup::kModp4096, DhGroup::kEcp256,
                              DhGroup::kEcp384,   DhGroup::kEcp521,   DhGroup::kModp2048s256};

bool IsEcp(DhGroup g) {
  return g == DhGroup::kEcp256 || g == DhGroup::kEcp384 || g == DhGroup::kEcp521;
}

std::unique_ptr<DhKeyPair> MustGenerate(DhGroup group) {
  Result<std::unique_ptr<DhKeyPair>> pair = DhKeyPair::Generate(group);
  INFO(DhGroupName(group) << ": " << (pair.ok() ? "" : pair.error().message));
  REQUIRE(pair.ok());
  return std::move(*pair);
}

TEST_CASE("DH group table", "[dh]") {
  for (uint16_t n : {2, 5, 14, 15, 16, 19, 20, 21, 24}) CHECK(IsSupportedDhGroup(n));
  // Group 1 is broken (RFC 4109); 18 (MODP8192), 22 and 23 (RFC 5114's
  // smaller subgroups) are not offered.
  for (uint16_t n : {0, 1, 18, 22, 23}) {
    CHECK_FALSE(IsSupportedDhGroup(n));
    CHECK_FALSE(DhKeyPair::Generate(static_cast<DhGroup>(n)).ok());
  }
  CHECK(std::string(DhGroupName(DhGroup::kModp1024)) == "MODP_1024");
  CHECK(std::string(DhGroupName(DhGroup::kModp2048)) == "MODP_2048");
  CHECK(std::string(DhGroupName(DhGroup::kModp4096)) == "MODP_4096");
  CHECK(std::string(DhGroupName(DhGroup::kEcp256)) == "ECP_256");
  CHECK(std::string(DhGroupName(DhGroup::kEcp521)) == "ECP_521");
  CHECK(DhPublicLength(DhGroup::kModp1024) == 128);
  CHECK(DhPublicLength(DhGroup::kModp1536) == 192);
  CHECK(DhPublicLength(DhGroup::kModp2048) == 256);
  CHECK(DhPublicLength(DhGroup::kModp3072) == 384);
  CHECK(DhPublicLength(DhGroup::kModp4096) == 512);
  CHECK(DhPublicLength(DhGroup::kEcp256) == 64);
  CHECK(DhPublicLength(DhGroup::kEcp384) == 96);
  CHECK(DhPublicLength(DhGroup::kEcp521) == 132);
  CHECK(std::string(DhGroupName(DhGroup::kModp2048s256)) == "MODP_2048_256");
  CHECK(DhPublicLength(DhGroup::kModp2048s256) == 256);
}

// RFC 5114 2.3's prime is not safe: p - 1 has small factors, so a value in
// range may lie in a small subgroup and leak our exponent (RFC 6989 2.2).
// 2 is in range but not in the order-q subgroup (the generator is not 2);
// the peer's real public value is.
TEST_CASE("group 24: peer values outside the prime-order subgroup are rejected", "[dh]") {
  auto a = MustGenerate(DhGroup::kModp2048s256);
  auto b = MustGenerate(DhGroup::kModp2048s256);
  const size_t len = DhPublicLength(DhGroup::kModp2048s256);
  Result<SecretBytes> bad = a->ComputeShared(LeftPad(Bytes{2}, len));
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("not in the prime-order subgroup"));
  CHECK(a->ComputeShared(b->PublicValue()).ok());
  // MODP_2048's safe prime takes 2 (its range check is the whole check).
  CHECK(MustGenerate(DhGroup::kModp2048)->ComputeShared(LeftPad(Bytes{2}, 256)).ok());
}

TEST_CASE("two key pairs agree on the shared secret", "[dh]") {
  for (DhGroup group : kAllGroups) {
    INFO(DhGroupName(group));
    auto a = MustGenerate(group);
    auto b = MustGenerate(group);
    CHECK(a->group() == group);
    CHECK(a->PublicValue().size() == DhPublicLength(group));
    CHECK(b->PublicValue().size() == DhPublicLength(group));
    CHECK(a->PublicValue() != b->PublicValue());
    Result<SecretBytes> ab = a->ComputeShared(b->PublicValue());
    Result<SecretBytes> ba = b->ComputeShared(a->PublicValue());
    REQUIRE(ab.ok());
    REQUIRE(ba.ok());
    const bool ecp = IsEcp(group);
    // MODP: the prime length; ECP: the x coordinate only (RFC 5903 section 7).
    CHECK(ab->size() == (ecp ? DhPublicLength(group) / 2 : DhPublicLength(group)));
    CHECK(ab->bytes() == ba->bytes());
    CHECK(ab->bytes() != Bytes(ab->size(), 0));
  }
}

// With the peer value g = 2, g^xy = 2^x is our own public value: this pins the
// padding of both the public value and the secret to the prime length.
TEST_CASE("MODP: shared secret with the generator is our public value", "[dh]") {
  for (const ModpCase& c : kModpCases) {
    INFO(DhGroupName(c.group));
    auto pair = MustGenerate(c.group);
    Result<SecretBytes> s = pair->ComputeShared(LeftPad(Bytes{2}, c.prime.size() / 2));
    REQUIRE(s.ok());
    CHECK(s->bytes() == pair->PublicValue());
  }
}

// With the base point G as the peer, d * G is our own public point: the secret
// must be its x coordinate, the first half of our KE data.
TEST_CASE("ECP: shared secret with the base point is our x coordinate", "[dh]") {
  struct Case {
    DhGroup group;
    std::string_view gx, gy;
  };
  for (const Case& c :
       {Case{DhGroup::kEcp256, kP256Gx, kP256Gy}, Case{DhGroup::kEcp384, kP384Gx, kP384Gy},
        Case{DhGroup::kEcp521, kP521Gx, kP521Gy}}) {
    INFO(DhGroupName(c.group));
    auto pair = MustGenerate(c.group);
    Result<SecretBytes> s = pair->ComputeShared(Concat({H(c.gx), H(c.gy)}));
    REQUIRE(s.ok());
    const Bytes& pub = pair->PublicValue();
    CHECK(s->bytes() == Bytes(pub.begin(), pub.begin() + pub.size() / 2));
  }
}

TEST_CASE("MODP: peer values outside 1 < y < p-1 are rejected", "[dh]") {
  for (const ModpCase& c : kModpCases) {
    INFO(DhGroupName(c.group));
    auto pair = MustGenerate(c.group);
    const Bytes p = H(c.prime);
    const size_t len = p.size();
    CHECK_FALSE(pair->ComputeShared(Bytes(len, 0)).ok());            // 0, all zero
    CHECK_FALSE(pair->ComputeShared(LeftPad(Bytes{1}, len)).ok());   // 1
    CHECK_FALSE(pair->ComputeShared(AddSmall(p, -1)).ok());          // p - 1
    CHECK_FALSE(pair->ComputeShared(p).ok());                        // p
    CHECK_FALSE(pair->ComputeShared(AddSmall(p, -1 + 0x100)).ok());  // > p
    CHECK_FALSE(pair->ComputeShared(Bytes(len, 0xff)).ok());         // 2^n - 1
    CHECK_FALSE(pair->ComputeShared(Bytes(len - 1, 0x55)).ok());     // too short
    CHECK_FALSE(pair->ComputeShared(Concat({Bytes{0}, p})).ok());    // too long
    CHECK_FALSE(pair->ComputeShared(Bytes()).ok());                  // empty
    // The edges that are allowed; p - 2 accepted and p - 1 refused pins the prime.
    CHECK(pair->ComputeShared(AddSmall(p, -2)).ok());
    CHECK(pair->ComputeShared(LeftPad(Bytes{2}, len)).ok());
  }
}

TEST_CASE("ECP: points not on the curve are rejected", "[dh]") {
  struct Case {
    DhGroup group;
    std::string_view gx, gy;
  };
  for (const Case& c :
       {Case{DhGroup::kEcp256, kP256Gx, kP256Gy}, Case{DhGroup::kEcp384, kP384Gx, kP384Gy},
        Case{DhGroup::kEcp521, kP521Gx, kP521Gy}}) {
    INFO(DhGroupName(c.group));
    auto pair = MustGenerate(c.group);
    const size_t len = DhPublicLength(c.group);
    CHECK_FALSE(pair->ComputeShared(Bytes(len, 0)).ok());  // (0, 0)
    Bytes off_curve = Concat({H(c.gx), H(c.gy)});
    off_curve.back() ^= 1;  // (Gx, Gy +- 1)
    CHECK_FALSE(pair->ComputeShared(off_curve).ok());
    Bytes swapped = Concat({H(c.gy), H(c.gx)});
    CHECK_FALSE(pair->ComputeShared(swapped).ok());
    Bytes peer = pair->PublicValue();
    CHECK_FALSE(pair->ComputeShared(Bytes(peer.begin(), peer.end() - 1)).ok());  // short
    CHECK_FALSE(pair->ComputeShared(Concat({Bytes{0x04}, peer})).ok());          // with SEC1 prefix
    CHECK_FALSE(pair->ComputeShared(Bytes()).ok());
  }
  // x = p, outside the field (y = Gy).
  auto pair = MustGenerate(DhGroup::kEcp256);
  CHECK_FALSE(pair->ComputeShared(Concat({H(kP256P), H(kP256Gy)})).ok());
}

TEST_CASE("a failed peer value does not poison the key pair", "[dh]") {
  auto a = MustGenerate(DhGroup::kModp2048);
  auto b = MustGenerate(DhGroup::kModp2048);
  CHECK_FALSE(a->ComputeShared(Bytes(256, 0)).ok());
  Result<SecretBytes> ab = a->ComputeShared(b->PublicValue());
  Result<SecretBytes> ba = b->ComputeShared(a->PublicValue());
  REQUIRE(ab.ok());
  REQUIRE(ba.ok());
  CHECK(ab->bytes() == ba->bytes());
}

double ThreadCpuMicros() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// Not an assertion: one side's DH cost, to compare with performance.md
// (MODP2048 keygen + derive ~0.53 ms with 225-bit exponents, P-256 ~0.1 ms).
// CPU time is printed too: wall time is meaningless when tests share the CPUs.
TEST_CASE("DH timing (printed)", "[dh][.timing]") {
  for (DhGroup group : kAllGroups) {
    auto peer = MustGenerate(group);
    constexpr int kRounds = 20;
    const auto wall_start = std::chrono::steady_clock::now();
    const double cpu_start = ThreadCpuMicros();
    bool ok = true;
    for (int i = 0; i < kRounds; ++i) {
      auto pair = MustGenerate(group);
      ok &= pair->ComputeShared(peer->PublicValue()).ok();
    }
    const double cpu_us = (ThreadCpuMicros() - cpu_start) / kRounds;
    const double wall_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - wall_start)
            .count() /
        kRounds;
    CHECK(ok);
    std::printf("timing: %-9s keygen+derive %7.1f us cpu, %7.1f us wall\n", DhGroupName(group),
                cpu_us, wall_us);
  }
}

}  // namespace
}  // namespace ike::crypto
