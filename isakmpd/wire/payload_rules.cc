// Which payloads each exchange message must and may carry (RFC 2409 section
// 5), as one table and one validator that runs before any handler.
//
// Error mapping:
//   - a payload type the message may not carry      -> INVALID-PAYLOAD-TYPE
//   - a required payload missing, or too many of one -> PAYLOAD-MALFORMED
//   - HASH present but not the first payload         -> INVALID-HASH-INFORMATION
//     (RFC 2409 5.5/5.7: HASH must immediately follow the header; a missing
//     HASH is PAYLOAD-MALFORMED like any other missing payload)
//   - quick mode with one or more than two IDs       -> INVALID-ID-INFORMATION
//   - quick mode SA not right after HASH             -> PAYLOAD-MALFORMED
// Offsets are those of the offending payload within the payload chain (sum of
// the |raw| sizes before it; 0 for payloads without raw bytes).
#include <array>
#include <string>

#include "isakmpd/wire/wire.h"

namespace ike::wire {
namespace {

constexpr uint8_t kMany = 255;
constexpr size_t kMaxRules = 12;  // payload types one message may carry

struct Rule {
  PayloadType type = PayloadType::kNone;  // kNone ends the list
  uint8_t min = 0;
  uint8_t max = 0;
};

struct MessageRules {
  MessageKind kind;
  const char* name;
  bool hash_first;        // RFC 2409 5.5, 5.7: HASH right after the header
  bool sa_second;         // RFC 2409 5.5: SA right after HASH
  bool id_pair;           // RFC 2409 5.5: IDci and IDcr both or neither
  bool hash_or_sig;       // RFC 2409 5.1: exactly one of HASH or SIG
  bool notify_or_delete;  // RFC 2409 5.7: at least one N or D
  std::array<Rule, kMaxRules> rules;
};

using P = PayloadType;

// Main mode message 1/2 (RFC 2409 5): HDR, SA [, VID...].
constexpr std::array<Rule, kMaxRules> kMainModeSa = {{{P::kSa, 1, 1}, {P::kVendorId, 0, kMany}}};
// Main mode message 3/4: HDR, KE, Ni/Nr [, NAT-D...] [, VID...] (NAT-D as
// RFC 3947 or the drafts number it: payload 20 or 130); CR allowed
// for signature authentication (sent by strongSwan in messages 3 and 4).
constexpr std::array<Rule, kMaxRules> kMainModeKe = {{{P::kKeyExchange, 1, 1},
                                                      {P::kNonce, 1, 1},
                                                      {P::kNatD, 0, kMany},
                                                      {P::kNatDDraft, 0, kMany},
                                                      {P::kVendorId, 0, kMany},
                                                      {P::kCertificateRequest, 0, kMany}}};
// Main mode message 5/6: HDR*, ID, HASH or SIG [, CERT...] [, CR...] [, N...]
// (INITIAL-CONTACT) [, VID...].
constexpr std::array<Rule, kMaxRules> kMainModeAuth = {{{P::kIdentification, 1, 1},
                                                        {P::kHash, 0, 1},
                                                        {P::kSignature, 0, 1},
                                                        {P::kCertificate, 0, kMany},
                                                        {P::kCertificateRequest, 0, kMany},
                                                        {P::kNotification, 0, kMany},
                                                        {P::kVendorId, 0, kMany}}};
// Aggressive Mode message 1 (RFC 2409 5): HDR, SA, KE, Ni, IDii [, VID...]
// [, CR...] (signature authentication).
constexpr std::array<Rule, kMaxRules> kAggressiveInit = {{{P::kSa, 1, 1},
                                                          {P::kKeyExchange, 1, 1},
                                                          {P::kNonce, 1, 1},
                                                          {P::kIdentification, 1, 1},
                                                          {P::kVendorId, 0, kMany},
                                                          {P::kCertificateRequest, 0, kMany}}};
// Aggressive Mode message 2: HDR, SA, KE, Nr, IDir, HASH_R or SIG_R
// [, CERT...] [, NAT-D...] (RFC 3947 5) [, N...] (RESPONDER-LIFETIME)
// [, VID...].
constexpr std::array<Rule, kMaxRules> kAggressiveAnswer = {{{P::kSa, 1, 1},
                                                            {P::kKeyExchange, 1, 1},
                                                            {P::kNonce, 1, 1},
                                                            {P::kIdentification, 1, 1},
                                                            {P::kHash, 0, 1},
                                                            {P::kSignature, 0, 1},
                                                            {P::kCertificate, 0, kMany},
                                                            {P::kNatD, 0, kMany},
                                                            {P::kNatDDraft, 0, kMany},
                                                            {P::kNotification, 0, kMany},
                                                            {P::kVendorId, 0, kMany}}};
// Aggressive Mode message 3: HDR[*], HASH_I or SIG_I [, NAT-D...]
// [, N...] (INITIAL-CONTACT) [, VID...]. Encrypted by strongSwan and Cisco,
// not by the letter of RFC 2409; both are read.
constexpr std::array<Rule, kMaxRules> kAggressiveAuth = {{{P::kHash, 0, 1},
                                                          {P::kSignature, 0, 1},
                                                          {P::kCertificate, 0, kMany},
                                                          {P::kNatD, 0, kMany},
                                                          {P::kNatDDraft, 0, kMany},
                                                          {P::kNotification, 0, kMany},
                                                          {P::kVendorId, 0, kMany}}};
// Quick mode message 1/2: HDR*, HASH, SA, Ni/Nr [, KE] [, IDci, IDcr]
// [, NAT-OA...(RFC 3947 5.2)] [, N...].
constexpr std::array<Rule, kMaxRules> kQuickMode12 = {{{P::kHash, 1, 1},
                                                       {P::kSa, 1, 1},
                                                       {P::kNonce, 1, 1},
                                                       {P::kKeyExchange, 0, 1},
                                                       {P::kIdentification, 0, 2},
                                                       {P::kNatOa, 0, 2},
                                                       {P::kNatOaDraft, 0, 2},
                                                       {P::kNotification, 0, kMany}}};
// Quick mode message 3: HDR*, HASH(3).
constexpr std::array<Rule, kMaxRules> kQuickMode3 = {{{P::kHash, 1, 1}}};
// Informational: HDR*, HASH(1), N/D [, N/D...].
constexpr std::array<Rule, kMaxRules> kInformational = {
    {{P::kHash, 1, 1}, {P::kNotification, 0, kMany}, {P::kDelete, 0, kMany}}};

// clang-format off
constexpr MessageRules kTable[] = {
  // kind                      name                   hash1  sa2    idpair hashsig n/d
  {MessageKind::kMainMode1,    "Main Mode message 1",  false, false, false, false, false, kMainModeSa},
  {MessageKind::kMainMode2,    "Main Mode message 2",  false, false, false, false, false, kMainModeSa},
  {MessageKind::kMainMode3,    "Main Mode message 3",  false, false, false, false, false, kMainModeKe},
  {MessageKind::kMainMode4,    "Main Mode message 4",  false, false, false, false, false, kMainModeKe},
  {MessageKind::kMainMode5,    "Main Mode message 5",  false, false, false, true,  false, kMainModeAuth},
  {MessageKind::kMainMode6,    "Main Mode message 6",  false, false, false, true,  false, kMainModeAuth},
  {MessageKind::kAggressive1,  "Aggressive Mode message 1", false, false, false, false, false, kAggressiveInit},
  {MessageKind::kAggressive2,  "Aggressive Mode message 2", false, false, false, true,  false, kAggressiveAnswer},
  {MessageKind::kAggressive3,  "Aggressive Mode message 3", false, false, false, true,  false, kAggressiveAuth},
  {MessageKind::kQuickMode1,   "Quick Mode message 1", true,  true,  true,  false, false, kQuickMode12},
  {MessageKind::kQuickMode2,   "Quick Mode message 2", true,  true,  true,  false, false, kQuickMode12},
  {MessageKind::kQuickMode3,   "Quick Mode message 3", true,  false, false, false, false, kQuickMode3},
  {MessageKind::kInformational, "Informational",       true,  false, false, false, true,  kInformational},
};
// clang-format on

const MessageRules* Lookup(MessageKind kind) {
  for (const auto& m : kTable)
    if (m.kind == kind) return &m;
  return nullptr;
}

const Rule* FindRule(const MessageRules& m, PayloadType type) {
  for (const auto& r : m.rules) {
    if (r.type == PayloadType::kNone) break;
    if (r.type == type) return &r;
  }
  return nullptr;
}

std::string Where(const MessageRules& m) { return std::string(" in ") + m.name; }

// Byte offsets of each payload in the chain, from their raw sizes.
std::vector<size_t> Offsets(const std::vector<Payload>& payloads) {
  std::vector<size_t> out;
  size_t at = 0;
  for (const auto& p : payloads) {
    out.push_back(at);
    at += p.raw.size();
  }
  return out;
}

size_t Count(const std::vector<Payload>& payloads, PayloadType type) {
  size_t n = 0;
  for (const auto& p : payloads) n += p.type == type;
  return n;
}

std::optional<ParseError> CheckOrder(const MessageRules& m, const std::vector<Payload>& payloads,
                                     const std::vector<size_t>& offsets) {
  if (m.hash_first && (payloads.empty() || payloads[0].type != PayloadType::kHash)) {
    for (size_t i = 0; i < payloads.size(); ++i)
      if (payloads[i].type == PayloadType::kHash)
        return ParseError{NotifyType::kInvalidHashInformation,
                          "HASH is not the first payload" + Where(m), offsets[i]};
    return ParseError{NotifyType::kPayloadMalformed, "missing HASH" + Where(m), 0};
  }
  if (m.sa_second && (payloads.size() < 2 || payloads[1].type != PayloadType::kSa))
    return ParseError{NotifyType::kPayloadMalformed, "SA does not follow HASH" + Where(m),
                      payloads.size() < 2 ? 0 : offsets[1]};
  return std::nullopt;
}

std::optional<ParseError> CheckCounts(const MessageRules& m, const std::vector<Payload>& payloads) {
  for (const auto& r : m.rules) {
    if (r.type == PayloadType::kNone) break;
    const size_t n = Count(payloads, r.type);
    if (n < r.min)
      return ParseError{NotifyType::kPayloadMalformed,
                        std::string("missing ") + PayloadTypeName(r.type) + Where(m), 0};
    if (n > r.max && !(m.id_pair && r.type == PayloadType::kIdentification))
      return ParseError{NotifyType::kPayloadMalformed,
                        std::string("too many ") + PayloadTypeName(r.type) + Where(m), 0};
  }
  const size_t ids = Count(payloads, PayloadType::kIdentification);
  if (m.id_pair && ids != 0 && ids != 2)
    return ParseError{NotifyType::kInvalidIdInformation,
                      std::to_string(ids) + " ID payloads (want IDci and IDcr, or none)" + Where(m),
                      0};
  const size_t auth =
      Count(payloads, PayloadType::kHash) + Count(payloads, PayloadType::kSignature);
  if (m.hash_or_sig && auth != 1)
    return ParseError{NotifyType::kPayloadMalformed,
                      (auth == 0 ? "missing HASH or SIG" : "both HASH and SIG") + Where(m), 0};
  if (m.notify_or_delete && Count(payloads, PayloadType::kNotification) == 0 &&
      Count(payloads, PayloadType::kDelete) == 0)
    return ParseError{NotifyType::kPayloadMalformed, "no N or D payload" + Where(m), 0};
  return std::nullopt;
}

}  // namespace

const char* MessageKindName(MessageKind kind) {
  const MessageRules* m = Lookup(kind);
  return m ? m->name : "unknown message";
}

std::optional<ParseError> ValidatePayloads(MessageKind kind, const std::vector<Payload>& payloads) {
  const MessageRules* m = Lookup(kind);
  if (m == nullptr) return ParseError{NotifyType::kInvalidExchangeType, "unknown message kind", 0};
  const std::vector<size_t> offsets = Offsets(payloads);
  if (auto e = CheckOrder(*m, payloads, offsets)) return e;
  for (size_t i = 0; i < payloads.size(); ++i)
    if (FindRule(*m, payloads[i].type) == nullptr)
      return ParseError{
          NotifyType::kInvalidPayloadType,
          std::string("unexpected ") + PayloadTypeName(payloads[i].type) + " payload" + Where(*m),
          offsets[i]};
  return CheckCounts(*m, payloads);
}

}  // namespace ike::wire
