#include "isakmpd/exchange/nat_traversal.h"

namespace ike::isakmpd::nat_traversal {
namespace {

const Bytes kRfc3947Vid = {0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45,
                           0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f};

Bytes NatHash(const Phase1Context& sa, const Endpoint& e) {
  const uint8_t port[2] = {uint8_t(e.port >> 8), uint8_t(e.port)};
  return crypto::Hash(sa.suite->hash,
                      Concat({sa.icookie, sa.rcookie, e.address.bytes(), ByteView(port, 2)}));
}

wire::Payload NatD(Bytes hash) {
  return wire::MakePayload(
      wire::UnknownPayload{static_cast<uint8_t>(wire::PayloadType::kNatD), std::move(hash)});
}

}  // namespace

const Bytes& Rfc3947VendorId() { return kRfc3947Vid; }

wire::Payload VendorIdPayload() { return wire::MakePayload(wire::VendorIdPayload{kRfc3947Vid}); }

bool HasVendorId(const std::vector<wire::Payload>& payloads) {
  for (const auto& p : payloads)
    if (auto* v = std::get_if<wire::VendorIdPayload>(&p.body))
      if (v->data == kRfc3947Vid) return true;
  return false;
}

std::vector<wire::Payload> NatDPayloads(const Phase1Context& sa) {
  return {NatD(NatHash(sa, sa.remote)), NatD(NatHash(sa, sa.local))};
}

void Detect(Phase1Context& sa, const std::vector<wire::Payload>& payloads) {
  std::vector<const Bytes*> hashes;
  for (const auto& p : payloads)
    if (p.type == wire::PayloadType::kNatD)
      hashes.push_back(&std::get<wire::UnknownPayload>(p.body).data);
  if (hashes.empty()) return;
  // The first names us as the peer sees us; the rest name the peer's sources.
  sa.nat_local = *hashes[0] != NatHash(sa, sa.local);
  const Bytes remote = NatHash(sa, sa.remote);
  sa.nat_remote = true;
  for (size_t i = 1; i < hashes.size(); ++i)
    if (*hashes[i] == remote) sa.nat_remote = false;
}

}  // namespace ike::isakmpd::nat_traversal
