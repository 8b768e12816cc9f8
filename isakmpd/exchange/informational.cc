#include "isakmpd/exchange/informational.h"

#include "common/byte_reader.h"

namespace ike::isakmpd::informational {
namespace {

// RFC 2408 3.14.1: types below 16384 are errors, the rest status.
constexpr uint16_t kFirstStatusNotify = 16384;

// The parser admits only 4-octet SPIs in an ESP/AH Delete (RFC 2408 3.15).
uint32_t SpiFromBytes(const Bytes& b) {
  uint32_t v = 0;
  ReadBigEndian32(b, &v);
  return v;
}

Bytes HashedRest(const std::vector<wire::Payload>& payloads) {
  Bytes rest;
  for (size_t i = 1; i < payloads.size(); ++i) Append(rest, payloads[i].raw);
  return rest;
}

Bytes CookiePair(const Phase1Context& p1) {
  Bytes cookies(p1.icookie.begin(), p1.icookie.end());
  cookies.insert(cookies.end(), p1.rcookie.begin(), p1.rcookie.end());
  return cookies;
}

Failure Phase1Failure(const Phase1Context& p1, uint16_t type) {
  std::string reason =
      "peer " + p1.remote.address.ToString() + " sent " + wire::NotifyTypeName(type);
  if (type == uint16_t(wire::NotifyType::kNoProposalChosen))
    reason += ": none of our phase 1 proposals was accepted";
  else if (p1.mode == Phase1Mode::kAggressive &&
           (type == uint16_t(wire::NotifyType::kInvalidExchangeType) ||
            type == uint16_t(wire::NotifyType::kUnsupportedExchangeType)))
    reason += ": the peer does not accept Aggressive Mode from us (use MAIN, or allow it there)";
  else if (p1.mode == Phase1Mode::kAggressive &&
           type == uint16_t(wire::NotifyType::kInvalidIdInformation))
    reason += ": the peer has no tunnel for our identity";
  return Failure{CodeForNotify(type), std::move(reason), std::nullopt};
}

void EvaluateNotify(const Phase1Context& p1, bool authenticated, const wire::NotifyPayload& n,
                    Actions& out) {
  // RFC 3706 5.2-5.3: R-U-THERE and its ACK travel protected, protocol
  // ISAKMP, SPI the cookie pair of this SA, data a 32-bit sequence number.
  if (n.type == uint16_t(wire::NotifyType::kRUThere) ||
      n.type == uint16_t(wire::NotifyType::kRUThereAck)) {
    if (!authenticated) return;  // anyone who saw the cookies could send it
    uint32_t seq = 0;
    if (n.protocol != 1 || n.spi != CookiePair(p1) || n.data.size() != 4 ||
        !ReadBigEndian32(n.data, &seq)) {
      out.dpd_malformed = wire::NotifyTypeName(n.type) +
                          " without this SA's cookie pair as SPI and a 32-bit sequence number";
      return;
    }
    if (n.type == uint16_t(wire::NotifyType::kRUThere)) {
      out.answer_r_u_there = n;
      out.r_u_there_seq = seq;
    } else {
      out.r_u_there_ack_seq = seq;
    }
    return;
  }
  if (n.type >= kFirstStatusNotify) {
    out.status_notifies.push_back(n.type);
    return;
  }
  if (authenticated) {
    if (!p1.established())
      out.fail_phase1 = Phase1Failure(p1, n.type);
    else
      out.fail_quick_modes = n.type;
    return;
  }
  // RFC 2409 5 and RFC 2408 5.1: before message 2 no key exists, so a plain
  // notify is the only answer the responder can give and its reason is
  // worth reporting at once. From message 3 on it proves nothing.
  if (p1.role == Role::kInitiator && p1.step == Phase1Step::kSaSent)
    out.fail_phase1 = Phase1Failure(p1, n.type);
  else
    out.ignored_notify = n.type;
}

}  // namespace

wire::Payload DpdNotify(const Phase1Context& p1, wire::NotifyType type, uint32_t sequence) {
  wire::NotifyPayload n;
  n.protocol = 1;
  n.type = static_cast<uint16_t>(type);
  n.spi = CookiePair(p1);
  n.data = {uint8_t(sequence >> 24), uint8_t(sequence >> 16), uint8_t(sequence >> 8),
            uint8_t(sequence)};
  return wire::MakePayload(std::move(n));
}

std::vector<wire::Payload> Protect(const Phase1Context& p1, uint32_t message_id,
                                   std::vector<wire::Payload> body) {
  const Bytes encoded = wire::EncodePayloads(body);
  Bytes hash =
      keymat::InformationalHash(p1.suite->hash, p1.keys.skeyid_a.view(), message_id, encoded);
  std::vector<wire::Payload> out;
  out.push_back(wire::MakePayload(wire::HashPayload{std::move(hash)}));
  for (auto& p : body) out.push_back(std::move(p));
  return out;
}

bool Verify(const Phase1Context& p1, uint32_t message_id,
            const std::vector<wire::Payload>& payloads) {
  if (payloads.empty() || payloads[0].type != wire::PayloadType::kHash) return false;
  const Bytes expect = keymat::InformationalHash(p1.suite->hash, p1.keys.skeyid_a.view(),
                                                 message_id, HashedRest(payloads));
  return SameHash(std::get<wire::HashPayload>(payloads[0].body).data, expect);
}

std::optional<std::string> CheckUnprotected(const std::vector<wire::Payload>& payloads) {
  size_t n_or_d = 0;
  for (const auto& p : payloads) {
    if (p.type == wire::PayloadType::kNotification || p.type == wire::PayloadType::kDelete) {
      ++n_or_d;
    } else if (p.type != wire::PayloadType::kVendorId) {
      return std::string(wire::PayloadTypeName(p.type)) +
             " payload in an unprotected Informational";
    }
  }
  if (n_or_d == 0) return std::string("unprotected Informational without N or D");
  return std::nullopt;
}

wire::Payload DeleteIsakmpSa(const Phase1Context& p1) {
  wire::DeletePayload d;
  d.protocol = static_cast<uint8_t>(wire::ProtocolId::kIsakmp);
  d.spi_size = 16;
  Bytes spi(p1.icookie.begin(), p1.icookie.end());
  spi.insert(spi.end(), p1.rcookie.begin(), p1.rcookie.end());
  d.spis.push_back(std::move(spi));
  return wire::MakePayload(std::move(d));
}

wire::Payload DeleteEspSa(uint32_t spi) {
  wire::DeletePayload d;
  d.protocol = static_cast<uint8_t>(wire::ProtocolId::kIpsecEsp);
  d.spi_size = 4;
  d.spis.push_back({uint8_t(spi >> 24), uint8_t(spi >> 16), uint8_t(spi >> 8), uint8_t(spi)});
  return wire::MakePayload(std::move(d));
}

wire::Payload Notify(wire::NotifyType type, uint8_t protocol, Bytes spi) {
  wire::NotifyPayload n;
  n.protocol = protocol;
  n.spi = std::move(spi);
  n.type = static_cast<uint16_t>(type);
  return wire::MakePayload(std::move(n));
}

Actions Evaluate(const Phase1Context& p1, bool authenticated,
                 const std::vector<wire::Payload>& payloads) {
  Actions out;
  for (const auto& p : payloads) {
    if (auto* n = std::get_if<wire::NotifyPayload>(&p.body))
      EvaluateNotify(p1, authenticated, *n, out);
    auto* d = std::get_if<wire::DeletePayload>(&p.body);
    if (!d) continue;
    if (!authenticated) {
      out.ignored_unprotected_deletes += d->spis.size() ? d->spis.size() : 1;
    } else if (d->protocol == uint8_t(wire::ProtocolId::kIsakmp)) {
      // RFC 2408 3.15: the SPI of an ISAKMP SA is its cookie pair. A Delete
      // naming another SA's cookies must not delete the one it came on.
      Bytes ours(p1.icookie.begin(), p1.icookie.end());
      ours.insert(ours.end(), p1.rcookie.begin(), p1.rcookie.end());
      for (const auto& spi : d->spis) {
        if (spi == ours)
          out.delete_phase1 = true;
        else
          ++out.foreign_isakmp_deletes;
      }
    } else if (d->protocol == uint8_t(wire::ProtocolId::kIpsecEsp)) {
      for (const auto& spi : d->spis) out.delete_esp_spis.push_back(SpiFromBytes(spi));
    }
  }
  return out;
}

ipc::ErrorCode CodeForNotify(uint16_t type) {
  switch (static_cast<wire::NotifyType>(type)) {
    case wire::NotifyType::kNoProposalChosen:
      return ipc::NO_PROPOSAL_CHOSEN;
    case wire::NotifyType::kAuthenticationFailed:
    case wire::NotifyType::kInvalidHashInformation:
    case wire::NotifyType::kPayloadMalformed:
      return ipc::AUTHENTICATION_FAILED;
    case wire::NotifyType::kInvalidIdInformation:
      return ipc::INVALID_ID;
    default:
      return ipc::PEER_NOTIFY;
  }
}

}  // namespace ike::isakmpd::informational
