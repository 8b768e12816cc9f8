// Known-answer tests for the hash, HMAC and CBC wrappers in common/crypto.h.
// Expected values come from the published test vectors named at each case,
// re-checked with the OpenSSL command line (commands quoted).
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto.h"
#include "tests/lib/hex.h"

namespace ike::crypto {
namespace {

using testing::H;

TEST_CASE("hash and cipher tables", "[crypto]") {
  CHECK(HashLength(HashAlg::kSha1) == 20);
  CHECK(HashLength(HashAlg::kSha256) == 32);
  CHECK(HashLength(HashAlg::kSha384) == 48);
  CHECK(HashLength(HashAlg::kSha512) == 64);
  CHECK(std::string(HashName(HashAlg::kSha256)) == "SHA2_256");
  CHECK(CipherKeyLength(CipherAlg::kAes128Cbc) == 16);
  CHECK(CipherKeyLength(CipherAlg::kAes192Cbc) == 24);
  CHECK(CipherKeyLength(CipherAlg::kAes256Cbc) == 32);
  CHECK(CipherKeyLength(CipherAlg::k3desCbc) == 24);
  CHECK(CipherBlockSize(CipherAlg::kAes256Cbc) == 16);
  CHECK(CipherBlockSize(CipherAlg::k3desCbc) == 8);
  CHECK(std::string(CipherName(CipherAlg::kAes128Cbc)) == "AES-CBC-128");
  CHECK(std::string(CipherName(CipherAlg::k3desCbc)) == "3DES-CBC");
}

// FIPS 180-2 "abc"; `echo -n abc | openssl dgst -sha1` (-sha256, -sha384, -sha512).
TEST_CASE("Hash known answers", "[crypto]") {
  const Bytes abc = {'a', 'b', 'c'};
  CHECK(ToHex(Hash(HashAlg::kSha1, abc)) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(ToHex(Hash(HashAlg::kSha256, abc)) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(ToHex(Hash(HashAlg::kSha384, abc)) ==
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca1"
        "34c825a7");
  CHECK(ToHex(Hash(HashAlg::kSha512, abc)) ==
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23"
        "a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

// RFC 2202 / RFC 4231 test case 2; `echo -n "what do ya want for nothing?" |
// openssl dgst -sha256 -mac HMAC -macopt key:Jefe` (likewise -sha1, -sha384, -sha512).
TEST_CASE("Hmac known answers", "[crypto]") {
  const std::string key = "Jefe";
  const std::string data = "what do ya want for nothing?";
  CHECK(ToHex(Hmac(HashAlg::kSha1, View(key), View(data))) ==
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  CHECK(ToHex(Hmac(HashAlg::kSha256, View(key), View(data))) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(ToHex(Hmac(HashAlg::kSha384, View(key), View(data))) ==
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ec"
        "fab21649");
  CHECK(ToHex(Hmac(HashAlg::kSha512, View(key), View(data))) ==
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65"
        "f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}

// RFC 4231 test case 6 (and the same inputs for SHA-1): a key longer than
// the hash's block is hashed first. `openssl dgst -sha256 -mac HMAC -macopt
// hexkey:aa...aa` (131 octets of 0xaa).
TEST_CASE("Hmac with a key longer than a block", "[crypto]") {
  const Bytes key(131, 0xaa);
  const std::string data = "Test Using Larger Than Block-Size Key - Hash Key First";
  CHECK(ToHex(Hmac(HashAlg::kSha1, key, View(data))) == "90d0dace1c1bdc957339307803160335bde6df2b");
  CHECK(ToHex(Hmac(HashAlg::kSha256, key, View(data))) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(ToHex(Hmac(HashAlg::kSha384, key, View(data))) ==
        "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df1"
        "63f44952");
  CHECK(ToHex(Hmac(HashAlg::kSha512, key, View(data))) ==
        "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd221"
        "5d6a1e5295e64f73f63f0aec8b915a985d786598");
}

TEST_CASE("Hmac over parts equals Hmac over the concatenation", "[crypto]") {
  const std::string key = "Jefe";
  const std::string a = "what do ya ";
  const std::string b = "want for nothing?";
  CHECK(ToHex(Hmac(HashAlg::kSha256, View(key), {View(a), ByteView(), View(b)})) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// An empty key is zero-padded like any short key; `echo -n "" | openssl dgst
// -sha256 -mac HMAC -macopt hexkey:00`.
TEST_CASE("Hmac with an empty key and empty data", "[crypto]") {
  CHECK(ToHex(Hmac(HashAlg::kSha256, ByteView(), ByteView())) ==
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("Hmac is safe to call from several threads", "[crypto]") {
  const std::string key = "Jefe";
  const std::string data = "what do ya want for nothing?";
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        failures[t] += ToHex(Hmac(HashAlg::kSha256, View(key), View(data))) !=
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == std::vector<int>(4, 0));
}

// NIST SP 800-38A appendix F.2.1/F.2.2 (CBC-AES128), F.2.3/F.2.4 (CBC-AES192),
// F.2.5/F.2.6 (CBC-AES256). Re-checked with e.g. `echo -n $PT | xxd -r -p |
// openssl enc -aes-128-cbc -K 2b7e151628aed2a6abf7158809cf4f3c
// -iv 000102030405060708090a0b0c0d0e0f -nopad | xxd -p -c 64`.
constexpr std::string_view kNistIv = "000102030405060708090a0b0c0d0e0f";
constexpr std::string_view kNistPlain =
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

void CheckCbc(CipherAlg alg, std::string_view key, std::string_view iv, std::string_view plain,
              std::string_view cipher) {
  Result<Bytes> enc = CbcEncrypt(alg, H(key), H(iv), H(plain));
  REQUIRE(enc.ok());
  CHECK(ToHex(*enc) == cipher);
  Result<Bytes> dec = CbcDecrypt(alg, H(key), H(iv), H(cipher));
  REQUIRE(dec.ok());
  CHECK(ToHex(*dec) == plain);
}

TEST_CASE("AES-CBC known answers (SP 800-38A F.2)", "[crypto]") {
  CheckCbc(CipherAlg::kAes128Cbc, "2b7e151628aed2a6abf7158809cf4f3c", kNistIv, kNistPlain,
           "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
           "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7");
  CheckCbc(CipherAlg::kAes192Cbc, "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b", kNistIv,
           kNistPlain,
           "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a"
           "571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd");
  CheckCbc(CipherAlg::kAes256Cbc,
           "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", kNistIv, kNistPlain,
           "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
           "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b");
}

// Computed with: echo -n $PT | xxd -r -p | openssl enc -des-ede3-cbc
//   -K 0123456789abcdeffedcba987654321089abcdef01234567 -iv 1032547698badcfe
//   -nopad | xxd -p -c 64        (PT = the SP 800-38A plaintext above)
TEST_CASE("3DES-CBC known answer (openssl enc)", "[crypto]") {
  CheckCbc(CipherAlg::k3desCbc, "0123456789abcdeffedcba987654321089abcdef01234567",
           "1032547698badcfe", kNistPlain,
           "510afeecd1919c53c531cc1cafc6ff3a460f900ecd2ae51cd4257b1a27dae638"
           "78bef1bf871296f65bf19ed9cb749a7a9bc70f1ea92b7d0cdea5e6cc9eb693c9");
}

TEST_CASE("CBC rejects wrong sizes", "[crypto]") {
  const Bytes key16(16, 1), key24(24, 1), iv16(16, 2), iv8(8, 2), block16(16, 3);
  CHECK_FALSE(CbcEncrypt(CipherAlg::kAes128Cbc, key24, iv16, block16).ok());  // key
  CHECK_FALSE(CbcEncrypt(CipherAlg::kAes256Cbc, key16, iv16, block16).ok());
  CHECK_FALSE(CbcEncrypt(CipherAlg::k3desCbc, key16, iv8, block16).ok());
  CHECK_FALSE(CbcEncrypt(CipherAlg::kAes128Cbc, key16, iv8, block16).ok());  // iv
  CHECK_FALSE(CbcDecrypt(CipherAlg::k3desCbc, key24, iv16, block16).ok());
  CHECK_FALSE(CbcEncrypt(CipherAlg::kAes128Cbc, key16, iv16, Bytes(15)).ok());  // input
  CHECK_FALSE(CbcDecrypt(CipherAlg::kAes128Cbc, key16, iv16, Bytes(24)).ok());
  CHECK_FALSE(CbcDecrypt(CipherAlg::k3desCbc, key24, iv8, Bytes(12)).ok());
  CHECK(CbcEncrypt(CipherAlg::k3desCbc, key24, iv8, Bytes(24)).ok());
  Result<Bytes> empty = CbcEncrypt(CipherAlg::kAes128Cbc, key16, iv16, Bytes());
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("OpenSslRandom fills buffers", "[crypto]") {
  OpenSslRandom random;
  Bytes a = random.Generate(32);
  Bytes b = random.Generate(32);
  CHECK(a.size() == 32);
  CHECK(a != b);
  CHECK(random.Generate(0).empty());
}

}  // namespace
}  // namespace ike::crypto
