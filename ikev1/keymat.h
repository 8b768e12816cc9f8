// IKEv1 key derivation (RFC 2409 sections 5, 5.5 and Appendix B): SKEYID_d/a/e,
// the encryption key, the phase 1 HASHes, the quick mode and informational
// HASHes, KEYMAT and the IV chain. Pure functions over byte strings.
#pragma once

#include <cstdint>

#include "common/bytes.h"
#include "common/crypto.h"

namespace ike::keymat {

using crypto::CipherAlg;
using crypto::HashAlg;

// SKEYID for pre-shared keys: prf(pre-shared-key, Ni_b | Nr_b). Computed in
// cpsd only.
SecretBytes SkeyidPsk(HashAlg prf, ByteView psk, ByteView ni_b, ByteView nr_b);

struct Phase1Keys {
  SecretBytes skeyid_d;  // prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
  SecretBytes skeyid_a;  // prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
  SecretBytes skeyid_e;  // prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
  SecretBytes enc_key;   // SKEYID_e, expanded per Appendix B when too short
};

Phase1Keys DerivePhase1(HashAlg prf, CipherAlg cipher, ByteView skeyid, ByteView g_xy,
                        ByteView cky_i, ByteView cky_r);

// HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
// HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
// SAi_b is the initiator's SA payload body; ID_b the ID payload body.
Bytes HashI(HashAlg prf, ByteView skeyid, ByteView g_xi, ByteView g_xr, ByteView cky_i,
            ByteView cky_r, ByteView sai_b, ByteView idii_b);
Bytes HashR(HashAlg prf, ByteView skeyid, ByteView g_xi, ByteView g_xr, ByteView cky_i,
            ByteView cky_r, ByteView sai_b, ByteView idir_b);

// Phase 1 IV = hash(g^xi | g^xr) truncated to the block size (hash, not prf).
Bytes Phase1Iv(HashAlg hash, ByteView g_xi, ByteView g_xr, size_t block_size);
// Phase 2 / informational IV = hash(last phase 1 CBC block | M-ID), truncated.
Bytes Phase2Iv(HashAlg hash, ByteView last_phase1_block, uint32_t message_id, size_t block_size);

// Quick mode (RFC 2409 5.5):
// HASH(1) = prf(SKEYID_a, M-ID | rest); rest = the payloads after HASH(1)
// HASH(2) = prf(SKEYID_a, M-ID | Ni_b | rest)
// HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
Bytes QuickModeHash1(HashAlg prf, ByteView skeyid_a, uint32_t message_id, ByteView rest);
Bytes QuickModeHash2(HashAlg prf, ByteView skeyid_a, uint32_t message_id, ByteView ni_b,
                     ByteView rest);
Bytes QuickModeHash3(HashAlg prf, ByteView skeyid_a, uint32_t message_id, ByteView ni_b,
                     ByteView nr_b);
// Informational (RFC 2409 5.7): HASH(1) = prf(SKEYID_a, M-ID | N/D).
Bytes InformationalHash(HashAlg prf, ByteView skeyid_a, uint32_t message_id, ByteView rest);

// KEYMAT = K1 | K2 | ... with K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI |
// Ni_b | Nr_b) and Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI |
// Ni_b | Nr_b), truncated to |length| octets. |g_qm| empty without PFS.
SecretBytes QuickModeKeymat(HashAlg prf, ByteView skeyid_d, ByteView g_qm, uint8_t protocol,
                            uint32_t spi, ByteView ni_b, ByteView nr_b, size_t length);

}  // namespace ike::keymat
