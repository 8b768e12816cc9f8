// Phase 2 selectors from the tunnel database (ike.db.Selector), shared by tmd
// (listings, filter rules) and isakmpd (ID payloads, matching).
#pragma once

#include <optional>
#include <string>

#include "common/address.h"
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

}  // namespace ike
