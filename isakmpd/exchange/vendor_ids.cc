#include "isakmpd/exchange/vendor_ids.h"

namespace ike::isakmpd::vendor_ids {
namespace {

// RFC 3706 section 2.1: the DPD vendor ID, version 1.0.
const Bytes kDpd = {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9,
                    0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00};
// Ours: the first 16 octets of SHA-256("aixike").
const Bytes kAixike = {0x7d, 0xf1, 0x25, 0x1d, 0xe0, 0xce, 0xc2, 0xdf,
                       0x7a, 0xa2, 0x83, 0xb7, 0x3b, 0xc0, 0x35, 0x5d};

}  // namespace

std::vector<wire::Payload> Ours() {
  return {wire::MakePayload(wire::VendorIdPayload{kDpd}),
          wire::MakePayload(wire::VendorIdPayload{kAixike})};
}

Announced Read(const std::vector<wire::Payload>& payloads) {
  Announced a;
  for (const auto& p : payloads) {
    const auto* v = std::get_if<wire::VendorIdPayload>(&p.body);
    if (v == nullptr) continue;
    a.dpd |= v->data == kDpd;
    a.aixike |= v->data == kAixike;
  }
  return a;
}

}  // namespace ike::isakmpd::vendor_ids
