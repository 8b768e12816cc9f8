// Negotiated algorithm suites and the proposal logic of both phases:
// building our SA payload from the database and choosing from a peer's offer
// (RFC 2408 4.2, RFC 2409 5 and 5.5, RFC 2407 4.5).
#pragma once

#include <optional>
#include <string>

#include "common/crypto.h"
#include "isakmpd/wire/sa_attributes.h"
#include "isakmpd/wire/wire.h"
#include "tunneldb.pb.h"

namespace ike::isakmpd {

// The phase 1 transform both sides agreed on.
struct IkeSuite {
  wire::IkeTransformAttrs attrs;  // as chosen (encryption, hash, auth, group, ...)
  crypto::CipherAlg cipher = crypto::CipherAlg::kAes128Cbc;
  crypto::HashAlg hash = crypto::HashAlg::kSha1;
  crypto::DhGroup group = crypto::DhGroup::kModp2048;
  uint32_t life_seconds = 28800;
  uint64_t life_kbytes = 0;  // IKE traffic under the SA; 0 = no volume limit
  // The chosen transform's lifetime is longer than the SA's, or it gave
  // none: the responder announces the SA's (RFC 2407 4.5.4).
  bool life_shortened = false;

  // Operator names from tunneldb/names.h.
  std::string EncryptionName() const;  // "AES-CBC-128"
  std::string HashName() const;        // "SHA2-256"
  std::string AuthName() const;        // "Preshared Key"
  std::string GroupName() const;       // "MODP2048 (14)"
};

// The ESP transform both sides agreed on.
struct EspSuite {
  wire::IpsecTransformAttrs attrs;
  size_t enc_key_bytes = 16;  // KEYMAT for the cipher, the salt included
  size_t integ_key_bytes = 32;
  size_t salt_bytes = 0;  // AES-GCM: 4 (RFC 4106 8.1), the last of enc_key_bytes
  std::optional<crypto::DhGroup> pfs_group;
  uint32_t life_seconds = 3600;
  uint64_t life_kbytes = 0;
  bool life_shortened = false;  // as in IkeSuite

  std::string EncryptionName() const;  // "AES-CBC-128"
  std::string IntegrityName() const;   // "HMAC-SHA2-256", "none" (AES-GCM)
  uint32_t KeyBits() const { return static_cast<uint32_t>((enc_key_bytes - salt_bytes) * 8); }
  std::string PfsName() const;  // "MODP2048 (14)" or "none"
};

constexpr uint32_t kDefaultIkeLifetime = 28800;
constexpr uint32_t kDefaultIpsecLifetime = 3600;

// Lifetimes (both phases): the SA gets the shorter of the transform's and
// the matching database proposal's (or protection's), per type; 0 or none
// in the transform means ours. |min_life_seconds| is
// settings.min_lifetime_seconds: a transform with fewer seconds is refused
// like one with other algorithms, and |*why| then names both values.

// Phase 1: one ISAKMP proposal carrying one KEY_IKE transform per database
// proposal, in preference order, with its lifetimes (seconds, kilobytes).
wire::SaPayload BuildIkeSa(const db::IkeProtection& protection);

// Responder: the first offered transform we accept. On success |*reply| is the
// SA payload to send back (the chosen proposal with only that transform,
// copied as offered). On failure |*why| says what did not match, for the log.
std::optional<IkeSuite> SelectIkeSuite(const wire::SaPayload& offered,
                                       const db::IkeProtection& acceptable,
                                       uint32_t min_life_seconds, wire::SaPayload* reply,
                                       std::string* why);

// Initiator: the responder must return exactly one of our transforms.
std::optional<IkeSuite> AcceptIkeReply(const wire::SaPayload& reply,
                                       const db::IkeProtection& offered, uint32_t min_life_seconds,
                                       std::string* why);

// Phase 2: one ESP proposal (SPI |spi|) with one transform per database
// proposal; PFS group and lifetime from the protection.
// |encapsulation|: tunnel (1), or UDP-encapsulated tunnel (3, RFC 3947) when
// NAT-T is in use.
wire::SaPayload BuildEspSa(const db::IpsecProtection& protection, uint32_t spi,
                           uint16_t encapsulation);

std::optional<EspSuite> SelectEspSuite(const wire::SaPayload& offered,
                                       const db::IpsecProtection& acceptable,
                                       uint16_t encapsulation, uint32_t our_spi,
                                       uint32_t min_life_seconds, wire::SaPayload* reply,
                                       uint32_t* peer_spi, std::string* why);

std::optional<EspSuite> AcceptEspReply(const wire::SaPayload& reply,
                                       const db::IpsecProtection& offered, uint16_t encapsulation,
                                       uint32_t min_life_seconds, uint32_t* peer_spi,
                                       std::string* why);

}  // namespace ike::isakmpd
