#include "isakmpd/exchange/lifetime.h"

#include "isakmpd/wire/sa_attributes.h"

namespace ike::isakmpd::lifetime {

std::string MinimumText(uint32_t minimum) {
  return "our minimum " + std::to_string(minimum) + " s (settings.min_lifetime_seconds)";
}

// RFC 2407 4.6.3.1: DOI IPsec, the protocol and SPI of the chosen SA, and an
// attribute list with "the responder's actual SA lifetime(s)".
wire::Payload ResponderLifetimeNotify(wire::ProtocolId protocol, Bytes spi, uint32_t seconds,
                                      uint64_t kbytes) {
  wire::NotifyPayload n;
  n.protocol = static_cast<uint8_t>(protocol);
  n.spi = std::move(spi);
  n.type = static_cast<uint16_t>(wire::NotifyType::kResponderLifetime);
  n.data = wire::EncodeLifeNotifyData(n.protocol, {seconds, kbytes});
  return wire::MakePayload(std::move(n));
}

namespace {

Failure Refuse(std::string reason, wire::NotifyType notify) {
  Failure f{ipc::NO_PROPOSAL_CHOSEN, std::move(reason), notify};
  f.delete_at_peer = true;
  return f;
}

}  // namespace

// The SPI is not compared: one exchange negotiates one SA of |protocol|
// here, and a peer that names it wrongly still means that SA. Honouring a
// shorter lifetime is never less safe than ignoring it (the peer deletes
// the SA at its own expiry anyway); refusing would only break interop.
std::optional<Failure> TakeResponderLifetime(const std::vector<wire::Payload>& payloads,
                                             wire::ProtocolId protocol, uint32_t minimum,
                                             const std::string& peer, uint32_t* seconds,
                                             uint64_t* kbytes) {
  for (const auto& p : payloads) {
    const auto* n = std::get_if<wire::NotifyPayload>(&p.body);
    if (n == nullptr || n->type != uint16_t(wire::NotifyType::kResponderLifetime) ||
        n->protocol != static_cast<uint8_t>(protocol))
      continue;
    auto decoded = wire::DecodeLifeNotifyData(n->protocol, n->data);
    if (const auto* e = std::get_if<wire::ParseError>(&decoded))
      return Refuse("peer " + peer + " sent a RESPONDER-LIFETIME we cannot read: " + e->detail,
                    e->notify);
    const auto& theirs = std::get<wire::LifeDurations>(decoded);
    if (BelowMinimum(theirs.seconds, minimum))
      return Refuse("peer " + peer + " imposed lifetime " + std::to_string(theirs.seconds) +
                        " s (RESPONDER-LIFETIME), below " + MinimumText(minimum),
                    wire::NotifyType::kNoProposalChosen);
    *seconds = wire::ChooseLifeSeconds(theirs.seconds, *seconds);
    *kbytes = wire::ChooseLifeKbytes(theirs.kbytes, *kbytes);
  }
  return std::nullopt;
}

std::string Describe(uint32_t seconds, uint64_t kbytes) {
  std::string out = std::to_string(seconds) + " s";
  if (kbytes) out += ", " + std::to_string(kbytes) + " KB";
  return out;
}

}  // namespace ike::isakmpd::lifetime
