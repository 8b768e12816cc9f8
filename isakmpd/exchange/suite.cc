#include "isakmpd/exchange/suite.h"

#include <cstring>

#include "common/byte_reader.h"
#include "isakmpd/exchange/lifetime.h"
#include "tunneldb/names.h"

namespace ike::isakmpd {
namespace {

using wire::IkeTransformAttrs;
using wire::IpsecTransformAttrs;

constexpr uint16_t kEncAes = 7;
constexpr uint16_t kEnc3des = 5;
constexpr uint8_t kEspAes = 12;
constexpr uint8_t kEsp3des = 3;
constexpr uint8_t kEspAesGcm16 = 20;  // RFC 4106
// RFC 4106 8.1: KEYMAT for AES-GCM is the key followed by a 4-octet salt.
constexpr size_t kGcmSaltBytes = 4;

bool EspIsAes(uint8_t transform_id) {
  return transform_id == kEspAes || transform_id == kEspAesGcm16;
}

uint16_t AesBits(uint32_t key_length) { return key_length == 0 ? 128 : key_length; }

std::optional<crypto::CipherAlg> CipherFor(uint16_t enc, uint16_t key_bits) {
  if (enc == kEnc3des) return crypto::CipherAlg::k3desCbc;
  if (enc != kEncAes) return std::nullopt;
  switch (AesBits(key_bits)) {
    case 128:
      return crypto::CipherAlg::kAes128Cbc;
    case 192:
      return crypto::CipherAlg::kAes192Cbc;
    case 256:
      return crypto::CipherAlg::kAes256Cbc;
  }
  return std::nullopt;
}

std::optional<crypto::HashAlg> HashFor(uint16_t hash) {
  switch (hash) {
    case 2:
      return crypto::HashAlg::kSha1;
    case 4:
      return crypto::HashAlg::kSha256;
    case 5:
      return crypto::HashAlg::kSha384;
    case 6:
      return crypto::HashAlg::kSha512;
  }
  return std::nullopt;
}

// Integrity key length for an RFC 2407 authentication algorithm (RFC 2404,
// RFC 4868: the key is as long as the hash output).
std::optional<size_t> IntegKeyBytes(uint16_t auth) {
  switch (auth) {
    case 2:
      return 20;
    case 5:
      return 32;
    case 6:
      return 48;
    case 7:
      return 64;
  }
  return std::nullopt;
}

IkeTransformAttrs AttrsFromDb(const db::IkeProposal& p, uint32_t default_life) {
  IkeTransformAttrs a;
  a.encryption = static_cast<uint16_t>(p.encryption());
  if (a.encryption == kEncAes) a.key_length = AesBits(p.key_length());
  a.hash = static_cast<uint16_t>(p.hash());
  a.auth_method = static_cast<uint16_t>(p.auth_method());
  a.group = static_cast<uint16_t>(p.dh_group());
  a.life_seconds = p.lifetime_seconds() ? p.lifetime_seconds() : default_life;
  a.life_kbytes = p.lifetime_kbytes();
  return a;
}

// Fills the derived fields of a suite from agreed attributes and the
// database proposal they matched.
std::optional<IkeSuite> MakeIkeSuite(const IkeTransformAttrs& a, const db::IkeProposal& mine) {
  auto cipher = CipherFor(a.encryption, a.key_length);
  auto hash = HashFor(a.hash);
  if (!cipher || !hash || !crypto::IsSupportedDhGroup(a.group)) return std::nullopt;
  IkeSuite s;
  s.attrs = a;
  s.cipher = *cipher;
  s.hash = *hash;
  s.group = static_cast<crypto::DhGroup>(a.group);
  // The shorter of theirs and ours; a zero duration (strongSwan with
  // rekey_time = 0) means ours (interop-strongswan.md 3.7a).
  const uint32_t ours = mine.lifetime_seconds() ? mine.lifetime_seconds() : kDefaultIkeLifetime;
  s.life_seconds = wire::ChooseLifeSeconds(a.life_seconds, ours);
  s.life_kbytes = wire::ChooseLifeKbytes(a.life_kbytes, mine.lifetime_kbytes());
  s.life_shortened = s.life_seconds != a.life_seconds || s.life_kbytes != a.life_kbytes;
  return s;
}

bool SameIkeChoice(const IkeTransformAttrs& a, const IkeTransformAttrs& b) {
  return a.encryption == b.encryption && a.hash == b.hash && a.auth_method == b.auth_method &&
         a.group == b.group &&
         (a.encryption != kEncAes || AesBits(a.key_length) == AesBits(b.key_length));
}

// An operator name, or "<what> <number>" for a value we have no name for
// (what a peer offers may be anything).
std::string NameOr(const std::string& name, const char* what, unsigned value) {
  if (name != tunneldb::kUnknownName) return name;
  return std::string(what) + " " + std::to_string(value);
}

// "AES-CBC-256, SHA2-256, Preshared Key, MODP2048 (14)": how logs and
// reasons name an offered or chosen phase 1 transform.
std::string Describe(const IkeTransformAttrs& a) {
  return NameOr(tunneldb::IkeEncryptionName(static_cast<db::IkeEncryption>(a.encryption),
                                            a.key_length),
                "encryption", a.encryption) +
         ", " + NameOr(tunneldb::IkeHashName(static_cast<db::IkeHash>(a.hash)), "hash", a.hash) +
         ", " +
         NameOr(tunneldb::AuthMethodName(static_cast<db::AuthMethod>(a.auth_method)),
                "authentication", a.auth_method) +
         ", " + NameOr(tunneldb::DhGroupName(static_cast<db::DhGroup>(a.group)), "group", a.group);
}

// "peer offered lifetime 3 s, below our minimum 60 s (...)"; |verb| says
// whose choice it was.
std::string LifeRefusal(const char* verb, uint64_t seconds, uint32_t minimum) {
  return std::string("peer ") + verb + " lifetime " + std::to_string(seconds) + " s, below " +
         lifetime::MinimumText(minimum);
}

void AddReason(std::string* reasons, const std::string& reason) {
  if (reasons->find(reason) != std::string::npos) return;
  if (!reasons->empty()) *reasons += "; ";
  *reasons += reason;
}

// Responder: the suite for one offered phase 1 transform, from the first of
// our proposals with the same algorithms. A lifetime below the minimum
// refuses the transform (|*refused| says why).
std::optional<IkeSuite> MatchIkeTransform(const IkeTransformAttrs& attrs,
                                          const db::IkeProtection& acceptable, uint32_t min_life,
                                          std::string* refused) {
  for (const auto& mine : acceptable.proposal()) {
    if (!SameIkeChoice(attrs, AttrsFromDb(mine, 0))) continue;
    if (lifetime::BelowMinimum(attrs.life_seconds, min_life)) {
      AddReason(refused, LifeRefusal("offered", attrs.life_seconds, min_life));
      return std::nullopt;
    }
    if (auto suite = MakeIkeSuite(attrs, mine)) return suite;
  }
  return std::nullopt;
}

std::string NoMatch(const char* what, const std::string& seen, const std::string& protection,
                    const std::string& refused) {
  std::string why = std::string("none of the offered ") + what + " (" + seen +
                    ") matches protection '" + protection + "'";
  if (!refused.empty()) why += ": " + refused;
  return why;
}

}  // namespace

// Names come from the one table (tunneldb/names.h), so a suite reads the
// same in isakmpd's log, in tmd and in ike cmd=list as the offer did. The
// attribute values are the RFC numbers the tunneldb.proto enums carry.
std::string IkeSuite::EncryptionName() const {
  return tunneldb::IkeEncryptionName(static_cast<db::IkeEncryption>(attrs.encryption),
                                     attrs.key_length);
}
std::string IkeSuite::HashName() const {
  return tunneldb::IkeHashName(static_cast<db::IkeHash>(attrs.hash));
}
std::string IkeSuite::AuthName() const {
  return tunneldb::AuthMethodName(static_cast<db::AuthMethod>(attrs.auth_method));
}
std::string IkeSuite::GroupName() const {
  return tunneldb::DhGroupName(static_cast<db::DhGroup>(group));
}

std::string EspSuite::EncryptionName() const {
  return tunneldb::EspEncryptionName(static_cast<db::EspEncryption>(attrs.transform_id), KeyBits());
}
std::string EspSuite::IntegrityName() const {
  return tunneldb::EspIntegrityName(static_cast<db::EspIntegrity>(attrs.auth_algorithm));
}
std::string EspSuite::PfsName() const {
  return tunneldb::DhGroupName(pfs_group ? static_cast<db::DhGroup>(*pfs_group)
                                         : db::DH_GROUP_NONE);
}

wire::SaPayload BuildIkeSa(const db::IkeProtection& protection) {
  wire::Proposal proposal;
  proposal.number = 1;
  proposal.protocol = static_cast<uint8_t>(wire::ProtocolId::kIsakmp);
  uint8_t n = 1;
  for (const auto& p : protection.proposal())
    proposal.transforms.push_back(
        wire::EncodeIkeTransform(n++, AttrsFromDb(p, kDefaultIkeLifetime)));
  wire::SaPayload sa;
  sa.proposals.push_back(std::move(proposal));
  return sa;
}

std::optional<IkeSuite> SelectIkeSuite(const wire::SaPayload& offered,
                                       const db::IkeProtection& acceptable,
                                       uint32_t min_life_seconds, wire::SaPayload* reply,
                                       std::string* why) {
  std::string seen, refused;
  for (const auto& proposal : offered.proposals) {
    if (proposal.protocol != static_cast<uint8_t>(wire::ProtocolId::kIsakmp)) continue;
    for (const auto& t : proposal.transforms) {
      auto decoded = wire::DecodeIkeTransform(t);
      if (!std::holds_alternative<IkeTransformAttrs>(decoded)) continue;
      const auto& attrs = std::get<IkeTransformAttrs>(decoded);
      if (!seen.empty()) seen += "; ";
      seen += Describe(attrs);
      if (t.id != wire::kKeyIke || !attrs.unsupported.empty()) continue;
      if (attrs.group == static_cast<uint16_t>(db::MODP_768)) {
        AddReason(&refused,
                  "MODP768 (group 1) is never accepted: 768-bit Diffie-Hellman is broken");
        continue;
      }
      auto suite = MatchIkeTransform(attrs, acceptable, min_life_seconds, &refused);
      if (!suite) continue;
      wire::Proposal chosen = proposal;  // RFC 2409 5: returned as offered
      chosen.transforms = {t};
      reply->proposals = {chosen};
      reply->doi = offered.doi;
      reply->situation = offered.situation;
      return suite;
    }
  }
  *why = NoMatch("transforms", seen, acceptable.name(), refused);
  return std::nullopt;
}

std::optional<IkeSuite> AcceptIkeReply(const wire::SaPayload& reply,
                                       const db::IkeProtection& offered, uint32_t min_life_seconds,
                                       std::string* why) {
  if (reply.proposals.size() != 1 || reply.proposals[0].transforms.size() != 1) {
    *why = "the responder must choose exactly one proposal and one transform";
    return std::nullopt;
  }
  auto decoded = wire::DecodeIkeTransform(reply.proposals[0].transforms[0]);
  if (!std::holds_alternative<IkeTransformAttrs>(decoded)) {
    *why = "the chosen transform does not parse";
    return std::nullopt;
  }
  const auto& attrs = std::get<IkeTransformAttrs>(decoded);
  if (lifetime::BelowMinimum(attrs.life_seconds, min_life_seconds)) {
    *why = LifeRefusal("chose", attrs.life_seconds, min_life_seconds);
    return std::nullopt;
  }
  for (const auto& mine : offered.proposal())
    if (SameIkeChoice(attrs, AttrsFromDb(mine, 0))) return MakeIkeSuite(attrs, mine);
  *why = "the responder chose a transform we did not offer (" + Describe(attrs) + ")";
  return std::nullopt;
}

namespace {

IpsecTransformAttrs EspAttrsFromDb(const db::IpsecProposal& p, const db::IpsecProtection& prot,
                                   uint16_t encapsulation) {
  IpsecTransformAttrs a;
  a.transform_id = static_cast<uint8_t>(p.encryption());
  if (EspIsAes(a.transform_id)) a.key_length = AesBits(p.key_length());
  a.auth_algorithm = static_cast<uint16_t>(p.integrity());
  a.encapsulation = encapsulation;
  a.group = static_cast<uint16_t>(prot.pfs_group());
  a.life_seconds = prot.lifetime_seconds() ? prot.lifetime_seconds() : kDefaultIpsecLifetime;
  a.life_kbytes = prot.lifetime_kbytes();
  return a;
}

bool SameEspChoice(const IpsecTransformAttrs& a, const IpsecTransformAttrs& b) {
  return a.transform_id == b.transform_id && a.auth_algorithm == b.auth_algorithm &&
         a.group == b.group && a.encapsulation == b.encapsulation &&
         (!EspIsAes(a.transform_id) || AesBits(a.key_length) == AesBits(b.key_length));
}

std::optional<EspSuite> MakeEspSuite(const IpsecTransformAttrs& a,
                                     const db::IpsecProtection& prot) {
  EspSuite s;
  s.attrs = a;
  if (a.transform_id == kEspAesGcm16) {
    // Combined mode: no integrity algorithm may come with it (RFC 4106 8.4).
    if (a.auth_algorithm != 0) return std::nullopt;
    const uint16_t bits = AesBits(a.key_length);
    if (bits != 128 && bits != 256) return std::nullopt;
    s.integ_key_bytes = 0;
    s.salt_bytes = kGcmSaltBytes;
    s.enc_key_bytes = bits / 8 + kGcmSaltBytes;
  } else {
    auto integ = IntegKeyBytes(a.auth_algorithm);
    if (!integ) return std::nullopt;
    s.integ_key_bytes = *integ;
    if (a.transform_id == kEsp3des) {
      s.enc_key_bytes = 24;
    } else if (a.transform_id == kEspAes) {
      s.enc_key_bytes = AesBits(a.key_length) / 8;
    } else {
      return std::nullopt;
    }
  }
  if (a.group) s.pfs_group = static_cast<crypto::DhGroup>(a.group);
  const uint32_t ours = prot.lifetime_seconds() ? prot.lifetime_seconds() : kDefaultIpsecLifetime;
  s.life_seconds = wire::ChooseLifeSeconds(a.life_seconds, ours);  // shorter wins
  s.life_kbytes = wire::ChooseLifeKbytes(a.life_kbytes, prot.lifetime_kbytes());
  s.life_shortened = s.life_seconds != a.life_seconds || s.life_kbytes != a.life_kbytes;
  return s;
}

// Responder: the suite for one offered ESP transform, as MatchIkeTransform.
std::optional<EspSuite> MatchEspTransform(const IpsecTransformAttrs& attrs,
                                          const db::IpsecProtection& acceptable,
                                          uint16_t encapsulation, uint32_t min_life,
                                          std::string* refused) {
  for (const auto& mine : acceptable.proposal()) {
    if (!SameEspChoice(attrs, EspAttrsFromDb(mine, acceptable, encapsulation))) continue;
    if (lifetime::BelowMinimum(attrs.life_seconds, min_life)) {
      AddReason(refused, LifeRefusal("offered", attrs.life_seconds, min_life));
      return std::nullopt;
    }
    if (auto suite = MakeEspSuite(attrs, acceptable)) return suite;
  }
  return std::nullopt;
}

// The parser admits only 4-octet SPIs for AH and ESP (RFC 2407 4.4.1).
uint32_t SpiOf(const wire::Proposal& p) {
  uint32_t v = 0;
  ReadBigEndian32(p.spi, &v);
  return v;
}

Bytes SpiBytes(uint32_t spi) {
  const auto b = BigEndian32(spi);
  return Bytes(b.begin(), b.end());
}

// "ESP AES-CBC-128/HMAC-SHA2-256, PFS MODP2048 (14), tunnel".
std::string DescribeEsp(const IpsecTransformAttrs& a) {
  const char* encapsulation = a.encapsulation == 1       ? "tunnel"
                              : a.encapsulation == 2     ? "transport"
                              : a.encapsulation == 3     ? "UDP tunnel"
                              : a.encapsulation == 4     ? "UDP transport"
                              : a.encapsulation == 61443 ? "UDP tunnel (draft)"
                              : a.encapsulation == 61444 ? "UDP transport (draft)"
                                                         : "encapsulation ?";
  const std::string integrity =
      a.auth_algorithm == 0
          ? std::string()
          : "/" +
                NameOr(tunneldb::EspIntegrityName(static_cast<db::EspIntegrity>(a.auth_algorithm)),
                       "integrity", a.auth_algorithm);
  return "ESP " +
         NameOr(tunneldb::EspEncryptionName(static_cast<db::EspEncryption>(a.transform_id),
                                            a.key_length),
                "transform", a.transform_id) +
         integrity + ", PFS " +
         (a.group
              ? NameOr(tunneldb::DhGroupName(static_cast<db::DhGroup>(a.group)), "group", a.group)
              : std::string("none")) +
         ", " + encapsulation;
}

}  // namespace

wire::SaPayload BuildEspSa(const db::IpsecProtection& protection, uint32_t spi,
                           uint16_t encapsulation) {
  wire::Proposal proposal;
  proposal.number = 1;
  proposal.protocol = static_cast<uint8_t>(wire::ProtocolId::kIpsecEsp);
  proposal.spi = SpiBytes(spi);
  uint8_t n = 1;
  for (const auto& p : protection.proposal())
    proposal.transforms.push_back(
        wire::EncodeIpsecTransform(n++, EspAttrsFromDb(p, protection, encapsulation)));
  wire::SaPayload sa;
  sa.proposals.push_back(std::move(proposal));
  return sa;
}

std::optional<EspSuite> SelectEspSuite(const wire::SaPayload& offered,
                                       const db::IpsecProtection& acceptable,
                                       uint16_t encapsulation, uint32_t our_spi,
                                       uint32_t min_life_seconds, wire::SaPayload* reply,
                                       uint32_t* peer_spi, std::string* why) {
  std::string seen, refused;
  for (const auto& proposal : offered.proposals) {
    if (proposal.protocol != static_cast<uint8_t>(wire::ProtocolId::kIpsecEsp) ||
        proposal.spi.size() != 4)
      continue;
    for (const auto& t : proposal.transforms) {
      auto decoded = wire::DecodeIpsecTransform(t);
      if (!std::holds_alternative<IpsecTransformAttrs>(decoded)) continue;
      auto attrs = std::get<IpsecTransformAttrs>(decoded);
      attrs.transform_id = t.id;
      if (!seen.empty()) seen += "; ";
      seen += DescribeEsp(attrs);
      if (!attrs.unsupported.empty()) continue;
      auto suite = MatchEspTransform(attrs, acceptable, encapsulation, min_life_seconds, &refused);
      if (!suite) continue;
      wire::Proposal chosen = proposal;  // RFC 2409 5: returned as offered
      chosen.spi = SpiBytes(our_spi);
      chosen.transforms = {t};
      reply->proposals = {chosen};
      *peer_spi = SpiOf(proposal);
      return suite;
    }
  }
  *why = NoMatch("ESP transforms", seen, acceptable.name(), refused);
  return std::nullopt;
}

std::optional<EspSuite> AcceptEspReply(const wire::SaPayload& reply,
                                       const db::IpsecProtection& offered, uint16_t encapsulation,
                                       uint32_t min_life_seconds, uint32_t* peer_spi,
                                       std::string* why) {
  if (reply.proposals.size() != 1 || reply.proposals[0].transforms.size() != 1 ||
      reply.proposals[0].spi.size() != 4) {
    *why = "the responder must choose exactly one ESP proposal and transform with a 4-octet SPI";
    return std::nullopt;
  }
  const auto& t = reply.proposals[0].transforms[0];
  auto decoded = wire::DecodeIpsecTransform(t);
  if (!std::holds_alternative<IpsecTransformAttrs>(decoded)) {
    *why = "the chosen ESP transform does not parse";
    return std::nullopt;
  }
  auto attrs = std::get<IpsecTransformAttrs>(decoded);
  attrs.transform_id = t.id;
  if (lifetime::BelowMinimum(attrs.life_seconds, min_life_seconds)) {
    *why = LifeRefusal("chose", attrs.life_seconds, min_life_seconds);
    return std::nullopt;
  }
  for (const auto& mine : offered.proposal()) {
    if (!SameEspChoice(attrs, EspAttrsFromDb(mine, offered, encapsulation))) continue;
    *peer_spi = SpiOf(reply.proposals[0]);
    return MakeEspSuite(attrs, offered);
  }
  *why = "the responder chose an ESP transform we did not offer (" + DescribeEsp(attrs) + ")";
  return std::nullopt;
}

}  // namespace ike::isakmpd
