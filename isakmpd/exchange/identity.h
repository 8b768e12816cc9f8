// Identification payloads (RFC 2407 4.6.2): phase 1 identities and phase 2
// client identities (traffic selectors).
#pragma once

#include <optional>
#include <string>

#include "common/address.h"
#include "isakmpd/wire/wire.h"
#include "tunneldb.pb.h"

namespace ike::isakmpd {

// Our phase 1 ID: |id| if set, else the endpoint |address| (ID_IPV4_ADDR /
// ID_IPV6_ADDR). Protocol and port are 0 (RFC 2407 4.6.2 allows 0/0 or 17/500).
wire::IdPayload Phase1IdPayload(const db::Identity& id, const std::string& address);
// The text an administrator sees and cpsd looks keys up by: "192.0.2.2",
// "host.example", "user@example".
std::string Phase1IdText(const db::Identity& id, const std::string& address);
std::string IdPayloadText(const wire::IdPayload& id);
// The form identities are compared in (lower case: DNS names are not case
// sensitive, and cpsd looks keys up the same way).
std::string IdentityKey(std::string_view id_text);

// A selector as an address range ("198.51.100.0/24" -> first..last).
std::optional<AddressRange> SelectorRange(const db::Selector& s);
// The phase 2 ID for a selector: ID_IPV4_ADDR for a host, _SUBNET for a CIDR
// block, _RANGE otherwise (and the IPv6 variants).
wire::IdPayload SelectorIdPayload(const db::Selector& s);
// The same, naming |protocol| (the tunnel's: both IDs of a Quick Mode
// carry the one protocol, RFC 2407 4.6.2).
wire::IdPayload SelectorIdPayload(const db::Selector& s, uint32_t protocol);
// The range an ID payload names, or nullopt for non-address types.
std::optional<AddressRange> IdPayloadRange(const wire::IdPayload& id);

}  // namespace ike::isakmpd
