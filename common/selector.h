// Phase 2 selectors from the tunnel database (ike.db.Selector), shared by tmd
// (listings, filter rules) and isakmpd (ID payloads, matching).
#pragma once

#include <optional>
#include <string>

#include "common/address.h"
#include "ike.pb.h"
#include "tunneldb.pb.h"

namespace ike {

// The selector as written: "198.51.100.1", "198.51.100.0/24" or "a-b"; "" if unset.
std::string SelectorText(const db::Selector& s);
// The addresses it covers, or nullopt if it does not parse.
std::optional<AddressRange> SelectorAddressRange(const db::Selector& s);
// "first-last", as ike cmd=list prints phase 2 ids; the text as written if
// it does not parse.
std::string SelectorRangeText(const db::Selector& s);
// The IP protocol a phase 2 tunnel's selectors name (an AIX filter rule has
// one): local's or, if that is 0 (any), remote's. The database check
// refuses two different ones.
uint32_t TunnelProtocol(const db::IpsecTunnel& t);
// The ID type a phase 2 selector travels in (RFC 2407 4.6.2): one address
// ID_IPV4_ADDR / ID_IPV6_ADDR, a CIDR block ..._SUBNET, any other span
// ..._RANGE. isakmpd encodes its ID payloads by it and ike cmd=list verbose
// shows it, so the two cannot disagree.
ipc::IdentityType SelectorIdType(const AddressRange& range);
// A phase 1 identity's type as the RFC numbers it (ike.db.IdType has the
// same values; unspecified stays unspecified).
ipc::IdentityType IdentityTypeOf(db::IdType type);

}  // namespace ike
