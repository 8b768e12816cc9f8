// Vendor ID payloads (RFC 2408 3.16) that change what we do, besides NAT-T's
// (nat_traversal.h): Dead Peer Detection (RFC 3706 2.1) and our own, which
// tells a peer running this suite that we apply the same rekey collision
// rule (tmd/core/rekey.cc), so the redundant pair can go at once.
#pragma once

#include <vector>

#include "isakmpd/wire/wire.h"

namespace ike::isakmpd::vendor_ids {

// What the peer's Main Mode 1 or 2 announced.
struct Announced {
  bool dpd = false;
  bool aixike = false;
};

// The vendor IDs a Main Mode 1 or 2 of ours carries.
std::vector<wire::Payload> Ours();
Announced Read(const std::vector<wire::Payload>& payloads);

}  // namespace ike::isakmpd::vendor_ids
