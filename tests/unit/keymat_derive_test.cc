// Known-answer tests for ikev1/keymat (RFC 2409 sections 5, 5.5, 5.7 and
// Appendix B).
//
// Every expected value below was produced by an independent implementation:
//   python3 tests/unit/vectors/keymat_kat.py
// which computes the RFC formulas with Python's hmac/hashlib only (no code
// shared with the C++). A few were re-checked with the OpenSSL command line;
// those commands are quoted at the case. The inputs are fixed patterns
// (Seq below mirrors seq() in the script), so nothing is random.
#include <catch2/catch.hpp>
#include <string>

#include "ikev1/keymat.h"
#include "tests/lib/hex.h"

namespace ike::keymat {
namespace {

using crypto::CipherAlg;
using crypto::HashAlg;

using testing::H;

// start, start+1, ... (mod 256).
Bytes Seq(uint8_t start, size_t n) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(start + i);
  return out;
}

// The inputs of keymat_kat.py.
struct Inputs {
  std::string psk = "ike-unit-test-pre-shared-key";
  Bytes ni_b = Seq(0x00, 16);
  Bytes nr_b = Seq(0x80, 20);
  Bytes g_xy = Seq(0x40, 128);
  Bytes g_xi = Seq(0x11, 128);
  Bytes g_xr = Seq(0x22, 128);
  Bytes cky_i = H("0011223344556677");
  Bytes cky_r = H("8899aabbccddeeff");
  Bytes sai_b = Seq(0xa0, 40);
  Bytes idii_b = H("01000000c0000201");  // ID_IPV4_ADDR 192.0.2.1
  Bytes idir_b = H("01000000c0000202");  // ID_IPV4_ADDR 192.0.2.2
  uint32_t m_id = 0x1a2b3c4d;
  Bytes last_block = Seq(0xf0, 16);
  Bytes qm_rest = Seq(0x30, 60);
  Bytes info_rest = Seq(0x60, 28);
  uint32_t spi = 0xc0ffee01;
  uint8_t protocol = 3;  // PROTO_IPSEC_ESP
  Bytes g_qm = Seq(0x55, 256);
};

// Expected values for one prf, as printed by keymat_kat.py.
struct Expected {
  HashAlg prf;
  std::string_view skeyid, skeyid_d, skeyid_a, skeyid_e;
  std::string_view enc_aes128, enc_aes256, enc_3des;
  std::string_view hash_i, hash_r, phase1_iv16, phase1_iv8, phase2_iv16;
  std::string_view qm_hash1, qm_hash2, qm_hash3, info_hash;
  std::string_view keymat_no_pfs, keymat_pfs;
};

// "# prf HMAC-SHA1": SKEYID_e is 20 octets, so AES-256 (32) and 3DES (24)
// keys go through the Appendix B expansion; AES-128 takes its first 16.
const Expected kSha1 = {
    HashAlg::kSha1,
    // `echo -n 000102030405060708090a0b0c0d0e0f808182838485868788898a8b8c8d8e8f90919293
    //  | xxd -r -p | openssl dgst -sha1 -mac HMAC
    //  -macopt hexkey:$(echo -n ike-unit-test-pre-shared-key | xxd -p -c 256)`
    "ffe4b609fce45f0c473cf5e65166089873361ecd",
    // `echo -n ${g_xy}00112233445566778899aabbccddeeff00 | xxd -r -p | openssl dgst
    //  -sha1 -mac HMAC -macopt hexkey:ffe4b609fce45f0c473cf5e65166089873361ecd`
    "ddebf59f9e0926a5925e85d2f37388dd58ff34cf",
    "fe92e1a1dce11c6256d401448b4a1e278c60aad7",
    "d913d29001e2b9d88ce9de4575356dc5110682d6",
    "d913d29001e2b9d88ce9de4575356dc5",
    // K1 = `echo -n 00 | xxd -r -p | openssl dgst -sha1 -mac HMAC
    //  -macopt hexkey:d913d29001e2b9d88ce9de4575356dc5110682d6` = 4d21b448...c595
    "4d21b4485dc7f107e72d4d215485c6d55d45c5956300e0e37f76db7048ba3145",
    "4d21b4485dc7f107e72d4d215485c6d55d45c5956300e0e3",
    "42fb941144bcf93482eb7c8ac876ec3465fff709",
    "4579e2baf8d2931647c290de04bad7aec031f268",
    "20f335029c5da900b3f8fdb7b7eabe13",
    "20f335029c5da900",
    "aae36f72c5a3ae95be198ce203acd3a7",
    "db76475ca9b53d901b5fd57d9bfb00f6acefd0ac",
    "9148e672f2a9850937a74663fcb6b75e8a753356",
    "497637de0e020897838b894da8872c93dbbb5230",
    "69eb5577579b214b15c5189f6d0551c73da5e472",
    "fbe27d4e591bb4dfe9d6b3a0bdb61a802dab2840c5c7316b8227cae3b465e413"
    "4bfb8b84a810c3ecf8775f5f8f5f1868",
    "efbdefe591eda8500ed57cb193fc3363cffa2a4bec16da140d5c95d8f5b5ac09"
    "78c96b003e9ef5d4c236009a55630d09",
};

// "# prf HMAC-SHA256": SKEYID_e is 32 octets, long enough for every cipher.
const Expected kSha256 = {
    HashAlg::kSha256,
    // `echo -n 000102030405060708090a0b0c0d0e0f808182838485868788898a8b8c8d8e8f90919293
    //  | xxd -r -p | openssl dgst -sha256 -mac HMAC
    //  -macopt hexkey:$(echo -n ike-unit-test-pre-shared-key | xxd -p -c 256)`
    "d333e5ee28d217719fac945da14b2a966213eb1539f2cf171e961e13b6e874e2",
    "d674916e7b45b3bba26cda4bd0e3ee26cc76d6019ea3d64ae6a15bcbf7088c3f",
    "58ee980f6365faa1b53d5ab91a05e1860f6882b1a4977e2c3d4c42d305f8c80c",
    "6b45976c4a144d998d4b214fd4c8db3a53cac88f63cb0a2a71e16149d821d4f3",
    "6b45976c4a144d998d4b214fd4c8db3a",
    "6b45976c4a144d998d4b214fd4c8db3a53cac88f63cb0a2a71e16149d821d4f3",
    "6b45976c4a144d998d4b214fd4c8db3a53cac88f63cb0a2a",
    "a0f5f27131d3d6aa6325cae30b6c8839fed08bbe73f615bccf3357f7553d73eb",
    "1c886125b65c4dc2d58f175bd0af7230c3406db916159a3d3070e6c715751661",
    "d2210e4597fbdc3cd876afd224f60488",
    "d2210e4597fbdc3c",
    "b1c8d1cb05e137a743d5cf2ce780f118",
    "4e077f91ba3be7afd3ee02985cfb20be4d623650d8cf77a79ef1de7670f0f243",
    "000ee48a1a61b64a5554cfd2e243d867793ab888825a543a7e6def13e35d8062",
    "0dbb73a780f888751bf69f323ac80e3ea7ba3b06c5ccade5c89586cb65f2769f",
    "0292422723fa4ffe10669d39bbb7012c8144316340a92dd55beea76d5180c62d",
    "b50842d7e39616ea7eeeb229a2f7b6e2a8639c9f5b9d9e45370210194c531c51"
    "a56cb882821e4ba1149f35d398fa0ca6",
    "b3594c7098ae4569a7c8a78d2d4592aa8e2e4df9d2cc84aecdbba893afd06cc2"
    "b17c1247ad515b7a6db1391eb8837c8f",
};

const Expected* const kAll[] = {&kSha1, &kSha256};

std::string Hex(const SecretBytes& s) { return ToHex(s.view()); }

TEST_CASE("SkeyidPsk known answers", "[keymat]") {
  const Inputs in;
  for (const Expected* e : kAll) {
    INFO(crypto::HashName(e->prf));
    CHECK(Hex(SkeyidPsk(e->prf, View(in.psk), in.ni_b, in.nr_b)) == e->skeyid);
  }
}

TEST_CASE("SKEYID_d/a/e and the encryption key (Appendix B)", "[keymat]") {
  const Inputs in;
  struct CipherCase {
    CipherAlg cipher;
    std::string_view Expected::*key;
  };
  const CipherCase ciphers[] = {{CipherAlg::kAes128Cbc, &Expected::enc_aes128},
                                {CipherAlg::kAes256Cbc, &Expected::enc_aes256},
                                {CipherAlg::k3desCbc, &Expected::enc_3des}};
  for (const Expected* e : kAll) {
    for (const CipherCase& c : ciphers) {
      INFO(crypto::HashName(e->prf) << " " << crypto::CipherName(c.cipher));
      const Phase1Keys keys =
          DerivePhase1(e->prf, c.cipher, H(e->skeyid), in.g_xy, in.cky_i, in.cky_r);
      CHECK(Hex(keys.skeyid_d) == e->skeyid_d);
      CHECK(Hex(keys.skeyid_a) == e->skeyid_a);
      CHECK(Hex(keys.skeyid_e) == e->skeyid_e);
      CHECK(keys.enc_key.size() == crypto::CipherKeyLength(c.cipher));
      CHECK(Hex(keys.enc_key) == e->*c.key);
    }
  }
}

TEST_CASE("HASH_I and HASH_R known answers", "[keymat]") {
  const Inputs in;
  for (const Expected* e : kAll) {
    INFO(crypto::HashName(e->prf));
    const Bytes skeyid = H(e->skeyid);
    CHECK(ToHex(HashI(e->prf, skeyid, in.g_xi, in.g_xr, in.cky_i, in.cky_r, in.sai_b, in.idii_b)) ==
          e->hash_i);
    CHECK(ToHex(HashR(e->prf, skeyid, in.g_xi, in.g_xr, in.cky_i, in.cky_r, in.sai_b, in.idir_b)) ==
          e->hash_r);
  }
}

TEST_CASE("phase 1 and phase 2 IVs known answers", "[keymat]") {
  const Inputs in;
  for (const Expected* e : kAll) {
    INFO(crypto::HashName(e->prf));
    CHECK(ToHex(Phase1Iv(e->prf, in.g_xi, in.g_xr, 16)) == e->phase1_iv16);
    CHECK(ToHex(Phase1Iv(e->prf, in.g_xi, in.g_xr, 8)) == e->phase1_iv8);
    CHECK(ToHex(Phase2Iv(e->prf, in.last_block, in.m_id, 16)) == e->phase2_iv16);
  }
}

TEST_CASE("quick mode and informational HASHes known answers", "[keymat]") {
  const Inputs in;
  for (const Expected* e : kAll) {
    INFO(crypto::HashName(e->prf));
    const Bytes skeyid_a = H(e->skeyid_a);
    CHECK(ToHex(QuickModeHash1(e->prf, skeyid_a, in.m_id, in.qm_rest)) == e->qm_hash1);
    CHECK(ToHex(QuickModeHash2(e->prf, skeyid_a, in.m_id, in.ni_b, in.qm_rest)) == e->qm_hash2);
    CHECK(ToHex(QuickModeHash3(e->prf, skeyid_a, in.m_id, in.ni_b, in.nr_b)) == e->qm_hash3);
    CHECK(ToHex(InformationalHash(e->prf, skeyid_a, in.m_id, in.info_rest)) == e->info_hash);
  }
}

// 48 octets = AES-128 key (16) + HMAC-SHA-256 key (32): three SHA1 blocks,
// two SHA-256 blocks.
TEST_CASE("KEYMAT known answers, with and without PFS", "[keymat]") {
  const Inputs in;
  for (const Expected* e : kAll) {
    INFO(crypto::HashName(e->prf));
    const Bytes skeyid_d = H(e->skeyid_d);
    CHECK(Hex(QuickModeKeymat(e->prf, skeyid_d, ByteView(), in.protocol, in.spi, in.ni_b, in.nr_b,
                              48)) == e->keymat_no_pfs);
    CHECK(Hex(QuickModeKeymat(e->prf, skeyid_d, in.g_qm, in.protocol, in.spi, in.ni_b, in.nr_b,
                              48)) == e->keymat_pfs);
  }
}

TEST_CASE("KEYMAT lengths are prefixes of one stream", "[keymat]") {
  const Inputs in;
  const Bytes skeyid_d = H(kSha1.skeyid_d);
  const std::string full(kSha1.keymat_no_pfs);
  for (size_t length : {0, 1, 16, 20, 21, 40, 48}) {
    INFO(length);
    CHECK(Hex(QuickModeKeymat(HashAlg::kSha1, skeyid_d, ByteView(), in.protocol, in.spi, in.ni_b,
                              in.nr_b, length)) == full.substr(0, 2 * length));
  }
}

}  // namespace
}  // namespace ike::keymat
