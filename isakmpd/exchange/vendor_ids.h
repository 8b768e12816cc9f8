// Vendor ID payloads (RFC 2408 3.16) that change what we do, besides NAT-T's
// (nat_traversal.h): Dead Peer Detection (RFC 3706 2.1) and our own, which
// tells a peer running this suite that we apply the same rekey collision
// rule (tmd/core/rekey.cc), so the redundant pair can go at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "isakmpd/wire/wire.h"

namespace ike::isakmpd::vendor_ids {

// What the peer's Main Mode 1 or 2 announced. |known|: one bit per entry of
// the table in vendor_ids.cc (Describe names them); any other vendor ID is
// accepted and only counted (issue 10.7: vendor tolerance).
struct Announced {
  bool dpd = false;
  bool aixike = false;
  bool fragmentation = false;  // IKEv1 fragmentation, whatever flags follow
  uint32_t known = 0;
  uint8_t unknown = 0;  // saturates at 255
};

// The vendor IDs a Main Mode or Aggressive Mode 1 or 2 of ours carries;
// |fragmentation|: with FRAGMENTATION (settings.fragmentation, and for a
// responder only if the initiator announced it).
std::vector<wire::Payload> Ours(bool fragmentation);
Announced Read(const std::vector<wire::Payload>& payloads);
// The peer is Windows (it sent MS NT5 ISAKMPOAKLEY): it takes IKEv1
// fragments only of messages that carry certificates (as strongSwan found).
bool IsWindows(uint32_t known);
// "DPD, NAT-T (RFC 3947), Cisco Unity, 1 unknown", in the table's order; ""
// for none.
std::string Describe(uint32_t known, uint8_t unknown);

}  // namespace ike::isakmpd::vendor_ids
