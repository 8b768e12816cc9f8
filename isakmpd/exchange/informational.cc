#include "isakmpd/exchange/informational.h"

namespace ike::isakmpd::informational {

std::vector<wire::Payload> Protect(const IsakmpSa& p1, uint32_t message_id,
                                   std::vector<wire::Payload> body) {
  const Bytes encoded = wire::EncodePayloads(body);
  Bytes hash =
      keymat::InformationalHash(p1.suite->hash, p1.keys.skeyid_a.view(), message_id, encoded);
  std::vector<wire::Payload> out;
  out.push_back(wire::MakePayload(wire::HashPayload{std::move(hash)}));
  for (auto& p : body) out.push_back(std::move(p));
  return out;
}

bool Verify(const IsakmpSa& p1, uint32_t message_id, const std::vector<wire::Payload>& payloads) {
  if (payloads.empty() || payloads[0].type != wire::PayloadType::kHash) return false;
  Bytes rest;
  for (size_t i = 1; i < payloads.size(); ++i) Append(rest, payloads[i].raw);
  const Bytes expect =
      keymat::InformationalHash(p1.suite->hash, p1.keys.skeyid_a.view(), message_id, rest);
  return std::get<wire::HashPayload>(payloads[0].body).data == expect;
}

wire::Payload DeleteIsakmpSa(const IsakmpSa& p1) {
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

}  // namespace ike::isakmpd::informational
