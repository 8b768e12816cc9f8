// IKEv1 key derivation (ikev1/keymat.h). Every value is an HMAC (the
// negotiated prf, RFC 2409 section 4) or a plain hash over concatenated
// octet strings; intermediate copies of secrets are wiped.
#include "ikev1/keymat.h"

#include <algorithm>

#include "common/byte_reader.h"

namespace ike::keymat {
namespace {

using crypto::Hmac;

// The single octets 0, 1 and 2 appended to SKEYID_d/a/e and prefixed to
// HASH(3) (RFC 2409 sections 5 and 5.5).
constexpr std::array<uint8_t, 3> kOctets = {0, 1, 2};
ByteView Octet(size_t value) { return ByteView(&kOctets[value], 1); }

// Message ids and SPIs go on the wire, and into the prf, in network order.
// Takes the first |length| octets of |b| (all of it when shorter).
Bytes Truncate(Bytes b, size_t length) {
  b.resize(std::min(b.size(), length));
  return b;
}

// The feedback expansion shared by RFC 2409 Appendix B and section 5.5:
//   K1 = prf(key, first), Kn = prf(key, K(n-1) | rest), output K1 | K2 | ...
// truncated to |length| octets.
SecretBytes Expand(HashAlg prf, ByteView key, ByteView first, ByteView rest, size_t length) {
  Bytes out;
  out.reserve(length + crypto::HashLength(prf));
  if (length == 0) return SecretBytes(std::move(out));
  Bytes k = Hmac(prf, key, first);
  Append(out, k);
  while (out.size() < length) {
    Bytes next = Hmac(prf, key, {k, rest});
    SecureWipe(&k);
    k = std::move(next);
    Append(out, k);
  }
  SecureWipe(&k);
  // Zero the tail we drop before shrinking (the capacity is reserved, so the
  // buffer is not reallocated and no copy of the secret is left behind).
  std::fill(out.begin() + static_cast<ptrdiff_t>(length), out.end(), 0);
  out.resize(length);
  return SecretBytes(std::move(out));
}

// RFC 2409 Appendix B: the cipher key is the start of SKEYID_e, or of
// Ka = K1 | K2 | ..., K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, K(n-1)) when
// SKEYID_e is too short (e.g. SHA1's 20 octets for AES-256 or 3DES).
SecretBytes EncryptionKey(HashAlg prf, ByteView skeyid_e, size_t key_length) {
  if (skeyid_e.size() >= key_length) {
    return SecretBytes(Bytes(skeyid_e.begin(), skeyid_e.begin() + key_length));
  }
  return Expand(prf, skeyid_e, Octet(0), ByteView(), key_length);
}

}  // namespace

// RFC 2409 section 5.4.
SecretBytes SkeyidPsk(HashAlg prf, ByteView psk, ByteView ni_b, ByteView nr_b) {
  return SecretBytes(Hmac(prf, psk, {ni_b, nr_b}));
}

// RFC 2409 section 5: SKEYID_d, SKEYID_a, SKEYID_e, each feeding the next.
Phase1Keys DerivePhase1(HashAlg prf, CipherAlg cipher, ByteView skeyid, ByteView g_xy,
                        ByteView cky_i, ByteView cky_r) {
  Phase1Keys keys;
  keys.skeyid_d = SecretBytes(Hmac(prf, skeyid, {g_xy, cky_i, cky_r, Octet(0)}));
  keys.skeyid_a =
      SecretBytes(Hmac(prf, skeyid, {keys.skeyid_d.view(), g_xy, cky_i, cky_r, Octet(1)}));
  keys.skeyid_e =
      SecretBytes(Hmac(prf, skeyid, {keys.skeyid_a.view(), g_xy, cky_i, cky_r, Octet(2)}));
  keys.enc_key = EncryptionKey(prf, keys.skeyid_e.view(), crypto::CipherKeyLength(cipher));
  return keys;
}

// RFC 2409 section 5.
Bytes HashI(HashAlg prf, ByteView skeyid, ByteView g_xi, ByteView g_xr, ByteView cky_i,
            ByteView cky_r, ByteView sai_b, ByteView idii_b) {
  return Hmac(prf, skeyid, {g_xi, g_xr, cky_i, cky_r, sai_b, idii_b});
}

Bytes HashR(HashAlg prf, ByteView skeyid, ByteView g_xi, ByteView g_xr, ByteView cky_i,
            ByteView cky_r, ByteView sai_b, ByteView idir_b) {
  return Hmac(prf, skeyid, {g_xr, g_xi, cky_r, cky_i, sai_b, idir_b});
}

// RFC 2409 Appendix B: the phase 1 IV is hash(g^xi | g^xr), not a prf.
Bytes Phase1Iv(HashAlg hash, ByteView g_xi, ByteView g_xr, size_t block_size) {
  return Truncate(crypto::Hash(hash, Concat({g_xi, g_xr})), block_size);
}

// RFC 2409 Appendix B: hash(last phase 1 CBC block | M-ID).
Bytes Phase2Iv(HashAlg hash, ByteView last_phase1_block, uint32_t message_id, size_t block_size) {
  const auto m_id = BigEndian32(message_id);
  return Truncate(crypto::Hash(hash, Concat({last_phase1_block, m_id})), block_size);
}

// RFC 2409 section 5.5.
Bytes QuickModeHash1(HashAlg prf, ByteView skeyid_a, uint32_t message_id, ByteView rest) {
  const auto m_id = BigEndian32(message_id);
  return Hmac(prf, skeyid_a, {m_id, rest});
}

Bytes QuickModeHash2(HashAlg prf, ByteView skeyid_a, uint32_t message_id, ByteView ni_b,
                     ByteView rest) {
  const auto m_id = BigEndian32(message_id);
  return Hmac(prf, skeyid_a, {m_id, ni_b, rest});
}

Bytes QuickModeHash3(HashAlg prf, ByteView skeyid_a, uint32_t message_id, ByteView ni_b,
                     ByteView nr_b) {
  const auto m_id = BigEndian32(message_id);
  return Hmac(prf, skeyid_a, {Octet(0), m_id, ni_b, nr_b});
}

// RFC 2409 section 5.7.
Bytes InformationalHash(HashAlg prf, ByteView skeyid_a, uint32_t message_id, ByteView rest) {
  const auto m_id = BigEndian32(message_id);
  return Hmac(prf, skeyid_a, {m_id, rest});
}

// RFC 2409 section 5.5: KEYMAT, with g(qm)^xy only when PFS was used.
SecretBytes QuickModeKeymat(HashAlg prf, ByteView skeyid_d, ByteView g_qm, uint8_t protocol,
                            uint32_t spi, ByteView ni_b, ByteView nr_b, size_t length) {
  const auto spi_be = BigEndian32(spi);
  Bytes seed = Concat({g_qm, ByteView(&protocol, 1), spi_be, ni_b, nr_b});
  SecretBytes keymat = Expand(prf, skeyid_d, seed, seed, length);
  SecureWipe(&seed);  // holds g(qm)^xy
  return keymat;
}

}  // namespace ike::keymat
