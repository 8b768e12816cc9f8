// Routes for protected networks (issue 8.1). The kernel looks up the XFRM
// policy only for a packet it can route; where the host has no route to a
// remote selector (typical for a gateway with only its connected networks),
// tmd installs one in a routing table of its own, consulted through one ip
// rule, as strongSwan does with table 220: via the next hop to the peer,
// with the local selector's address as the preferred source so that the
// host's own traffic matches the policy. Routes are marked with tmd's
// protocol number and removed with the tunnel, at stop, and at the next
// start if an earlier tmd left them.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>

#include "common/address.h"
#include "common/result.h"
#include "tmd/xfrm/netlink.h"

namespace ike::tmd::xfrm {

inline constexpr uint32_t kRouteTable = 220;     // strongSwan's too; shared is fine
inline constexpr uint32_t kRulePriority = 220;   // "ip rule": from all lookup 220
inline constexpr uint8_t kRouteProtocol = 0x49;  // rtm_protocol: ours (73)

class Routes {
 public:
  static Result<std::unique_ptr<Routes>> Open();
  ~Routes();

  // A route to |destination| through the path to |peer| if the host has no
  // route covering it; |source| (a host selector) as the preferred source
  // where it is one of our addresses. Counted per destination: the route
  // stays while any tunnel needs it. Returns whether tmd now holds one.
  Result<bool> Ensure(const Prefix& destination, const IpAddress& peer,
                      const std::optional<IpAddress>& source);
  // Gives back one use of a route Ensure installed.
  void Release(const Prefix& destination);
  // Removes every route of ours in the table (and the rules we added).
  Result<size_t> RemoveAll();

 private:
  explicit Routes(std::unique_ptr<NetlinkSocket> socket) : socket_(std::move(socket)) {}
  struct Path {
    uint32_t oif = 0;
    std::optional<IpAddress> gateway;
  };
  // The kernel's route to |address| (main lookup), or nullopt if none.
  Result<std::optional<Path>> Lookup(const IpAddress& address);
  Status AddRoute(const Prefix& destination, const Path& path,
                  const std::optional<IpAddress>& source);
  Status EnsureRule(int family);

  std::unique_ptr<NetlinkSocket> socket_;
  std::map<Prefix, int> uses_;  // routes we installed -> tunnels using them
  std::set<int> rules_added_;   // families whose rule we added
};

}  // namespace ike::tmd::xfrm
