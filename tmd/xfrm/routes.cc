#include "tmd/xfrm/routes.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

#include "common/log.h"
#include "tmd/xfrm/xfrm_kernel.h"

namespace ike::tmd::xfrm {
namespace {

void PutAddress(nlmsghdr* nlh, uint16_t type, const IpAddress& a) {
  mnl_attr_put(nlh, type, a.size(), a.octets.data());
}

// RTA_VIA: a next hop of either family (struct rtvia: family, address).
void PutVia(nlmsghdr* nlh, const IpAddress& a) {
  uint8_t via[sizeof(rtvia) + 16] = {};
  auto* v = reinterpret_cast<rtvia*>(via);
  v->rtvia_family = static_cast<__kernel_sa_family_t>(a.family);
  std::memcpy(via + sizeof(rtvia), a.octets.data(), a.size());
  mnl_attr_put(nlh, RTA_VIA, sizeof(rtvia) + a.size(), via);
}

std::optional<IpAddress> AddressAttribute(const nlattr* attr) {
  return IpAddress::FromBytes(ByteView(static_cast<const uint8_t*>(mnl_attr_get_payload(attr)),
                                       mnl_attr_get_payload_len(attr)));
}

// What a route message says (RTM_NEWROUTE in a reply or a dump).
struct RouteMessage {
  int family = 0;
  uint8_t protocol = 0;
  uint32_t table = 0;
  uint8_t dst_len = 0;
  std::optional<IpAddress> dst, gateway;
  uint32_t oif = 0;
};

std::optional<RouteMessage> ParseRoute(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(rtmsg)) {
    return std::nullopt;
  }
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  RouteMessage out;
  out.family = rtm->rtm_family;
  out.protocol = rtm->rtm_protocol;
  out.table = rtm->rtm_table;
  out.dst_len = rtm->rtm_dst_len;
  mnl_attr_parse(
      nlh, sizeof(rtmsg),
      [](const nlattr* attr, void* data) {
        auto* r = static_cast<RouteMessage*>(data);
        switch (mnl_attr_get_type(attr)) {
          case RTA_TABLE:
            if (mnl_attr_get_payload_len(attr) >= 4) r->table = mnl_attr_get_u32(attr);
            break;
          case RTA_OIF:
            if (mnl_attr_get_payload_len(attr) >= 4) r->oif = mnl_attr_get_u32(attr);
            break;
          case RTA_GATEWAY:
            r->gateway = AddressAttribute(attr);
            break;
          case RTA_DST:
            r->dst = AddressAttribute(attr);
            break;
        }
        return MNL_CB_OK;
      },
      &out);
  return out;
}

// tmd's rule: from all lookup kRouteTable, at kRulePriority.
void PutRule(nlmsghdr* nlh, int family) {
  auto* rule = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
  rule->family = static_cast<uint8_t>(family);
  rule->action = FR_ACT_TO_TBL;
  rule->table = static_cast<uint8_t>(kRouteTable);
  mnl_attr_put_u32(nlh, FRA_PRIORITY, kRulePriority);
  mnl_attr_put_u32(nlh, FRA_TABLE, kRouteTable);
  // Marks the rule as tmd's (Linux 4.17+), so a restarted tmd can tell a rule
  // a killed one left from someone else's (strongSwan uses table 220 too).
  mnl_attr_put_u8(nlh, FRA_PROTOCOL, kRouteProtocol);
}

// A rule in a dump: tmd's if it carries its protocol and points at its table.
bool IsOurRule(const nlmsghdr* nlh, int* family) {
  if (nlh->nlmsg_type != RTM_NEWRULE || nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(fib_rule_hdr))
    return false;
  const auto* rule = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(nlh));
  struct Seen {
    uint8_t protocol = 0;
    uint32_t table = 0;
  } seen;
  seen.table = rule->table;
  mnl_attr_parse(
      nlh, sizeof(fib_rule_hdr),
      [](const nlattr* attr, void* data) {
        auto* s = static_cast<Seen*>(data);
        if (mnl_attr_get_type(attr) == FRA_PROTOCOL && mnl_attr_get_payload_len(attr) >= 1)
          s->protocol = mnl_attr_get_u8(attr);
        if (mnl_attr_get_type(attr) == FRA_TABLE && mnl_attr_get_payload_len(attr) >= 4)
          s->table = mnl_attr_get_u32(attr);
        return MNL_CB_OK;
      },
      &seen);
  *family = rule->family;
  return seen.protocol == kRouteProtocol && seen.table == kRouteTable;
}

rtmsg* PutRtmsg(nlmsghdr* nlh, int family) {
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = static_cast<uint8_t>(family);
  return rtm;
}

// Deletes tmd's route to |destination| from its table.
void AddDeleteRoute(Batch& batch, const Prefix& destination) {
  nlmsghdr* nlh = batch.Begin(RTM_DELROUTE, NLM_F_ACK, 64);
  rtmsg* rtm = PutRtmsg(nlh, destination.network.family);
  rtm->rtm_dst_len = static_cast<uint8_t>(destination.length);
  rtm->rtm_protocol = kRouteProtocol;
  mnl_attr_put_u32(nlh, RTA_TABLE, kRouteTable);
  PutAddress(nlh, RTA_DST, destination.network);
  batch.Finish(nlh);
}

}  // namespace

Result<std::unique_ptr<Routes>> Routes::Open() {
  auto socket = NetlinkSocket::Open(NETLINK_ROUTE);
  if (!socket.ok()) return socket.error();
  std::unique_ptr<Routes> routes(new Routes(std::move(socket.value())));
  Result<size_t> left = routes->RemoveAll();
  if (!left.ok()) return left.error();
  if (*left > 0)
    LOG_EVENT("removed %zu routes an earlier tmd left in table %u", *left, kRouteTable);
  return routes;
}

Routes::~Routes() = default;

Result<std::optional<Routes::Path>> Routes::Lookup(const IpAddress& address) {
  Batch batch(socket_->next_seq());
  nlmsghdr* nlh = batch.Begin(RTM_GETROUTE, NLM_F_ACK, 64);
  rtmsg* rtm = PutRtmsg(nlh, address.family);
  rtm->rtm_dst_len = static_cast<uint8_t>(address.size() * 8);
  PutAddress(nlh, RTA_DST, address);
  const uint32_t seq = batch.Finish(nlh);
  std::optional<Path> path;
  auto statuses = socket_->Exchange(batch, [&path](const nlmsghdr* reply) {
    if (auto r = ParseRoute(reply)) path = Path{r->oif, r->gateway};
  });
  if (!statuses.ok()) return statuses.error();
  const int error = (*statuses)[seq].error;
  if (error == ENETUNREACH || error == EHOSTUNREACH) return std::optional<Path>();
  if (error != 0)
    return Error{"route lookup for " + address.ToString() + ": " + std::strerror(error)};
  return path;
}

Status Routes::EnsureRule(int family) {
  if (rules_added_.contains(family)) return Status::Ok();
  Batch batch(socket_->next_seq());
  nlmsghdr* nlh = batch.Begin(RTM_NEWRULE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 64);
  PutRule(nlh, family);
  const uint32_t seq = batch.Finish(nlh);
  auto statuses = socket_->Exchange(batch);
  if (!statuses.ok()) return statuses.error();
  const int error = (*statuses)[seq].error;
  if (error == EEXIST) return Status::Ok();  // someone's (strongSwan's) rule: not ours to remove
  if (error != 0) return Error{"ip rule for table 220: " + std::string(std::strerror(error))};
  rules_added_.insert(family);
  return Status::Ok();
}

Status Routes::AddRoute(const Prefix& destination, const Path& path,
                        const std::optional<IpAddress>& source) {
  Batch batch(socket_->next_seq());
  nlmsghdr* nlh = batch.Begin(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 128);
  rtmsg* rtm = PutRtmsg(nlh, destination.network.family);
  rtm->rtm_dst_len = static_cast<uint8_t>(destination.length);
  rtm->rtm_table = RT_TABLE_UNSPEC;
  rtm->rtm_protocol = kRouteProtocol;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(nlh, RTA_TABLE, kRouteTable);
  PutAddress(nlh, RTA_DST, destination.network);
  mnl_attr_put_u32(nlh, RTA_OIF, path.oif);
  if (path.gateway && path.gateway->family == destination.network.family) {
    PutAddress(nlh, RTA_GATEWAY, *path.gateway);
  } else if (path.gateway) {
    // IPv4 selectors between IPv6 gateways (or the reverse): the next hop
    // is of the other family, which RTA_GATEWAY cannot say ("Nexthop has
    // invalid gateway"); RTA_VIA names its family (Linux 5.2, RFC 5549's
    // IPv4 routes with IPv6 next hops). Without a route the kernel never
    // looks up the IPv4 policy, and nothing enters the tunnel.
    PutVia(nlh, *path.gateway);
  }
  if (source) PutAddress(nlh, RTA_PREFSRC, *source);
  const uint32_t seq = batch.Finish(nlh);
  auto statuses = socket_->Exchange(batch);
  if (!statuses.ok()) return statuses.error();
  const NetlinkStatus& st = (*statuses)[seq];
  if (st.error == 0 || st.error == EEXIST) return Status::Ok();
  return Error{"route " + destination.ToString() + ": " + std::strerror(st.error) +
               (st.message.empty() ? "" : " (kernel: " + st.message + ")")};
}

Result<bool> Routes::Ensure(const Prefix& destination, const IpAddress& peer,
                            const std::optional<IpAddress>& source) {
  if (auto it = uses_.find(destination); it != uses_.end()) {
    ++it->second;
    return true;
  }
  auto existing = Lookup(destination.network);
  if (!existing.ok()) return existing.error();
  if (*existing) return false;  // the host routes it already: the policy sees the traffic
  auto to_peer = Lookup(peer);
  if (!to_peer.ok()) return to_peer.error();
  if (!*to_peer) return Error{"no route to the peer " + peer.ToString()};
  Path path = **to_peer;
  if (!path.gateway) path.gateway = peer;  // directly connected: the peer is the next hop
  if (Status s = EnsureRule(destination.network.family); !s.ok()) return s.error();
  Status added = AddRoute(destination, path, source);
  // The preferred source must be one of our addresses; a selector that is
  // not (a protected network behind us) gets a route without one.
  if (!added.ok() && source) added = AddRoute(destination, path, std::nullopt);
  if (!added.ok()) return added.error();
  uses_[destination] = 1;
  return true;
}

void Routes::Release(const Prefix& destination) {
  auto it = uses_.find(destination);
  if (it == uses_.end() || --it->second > 0) return;
  uses_.erase(it);
  Batch batch(socket_->next_seq());
  AddDeleteRoute(batch, destination);
  auto statuses = socket_->Exchange(batch);
  if (!statuses.ok())
    LOG_ERROR("removing route %s: %s", destination.ToString().c_str(),
              statuses.error().message.c_str());
}

Result<size_t> Routes::RemoveAll() {
  std::vector<RouteMessage> ours;
  Batch dump(socket_->next_seq());
  nlmsghdr* nlh = dump.Begin(RTM_GETROUTE, NLM_F_DUMP, 16);
  PutRtmsg(nlh, AF_UNSPEC);
  dump.Finish(nlh);
  auto statuses = socket_->Exchange(dump, [&ours](const nlmsghdr* m) {
    auto r = ParseRoute(m);
    if (r && r->table == kRouteTable && r->protocol == kRouteProtocol && r->dst) {
      ours.push_back(*r);
    }
  });
  if (!statuses.ok()) return statuses.error();
  // Our rules: the ones this run added and any a killed tmd left (marked).
  Batch rules(socket_->next_seq());
  nlmsghdr* get = rules.Begin(RTM_GETRULE, NLM_F_DUMP, 16);
  PutRtmsg(get, AF_UNSPEC);
  rules.Finish(get);
  auto rule_statuses = socket_->Exchange(rules, [this](const nlmsghdr* m) {
    if (int family = 0; IsOurRule(m, &family)) rules_added_.insert(family);
  });
  if (!rule_statuses.ok()) return rule_statuses.error();
  Batch remove(socket_->next_seq());
  for (const RouteMessage& r : ours) {
    AddDeleteRoute(remove, Prefix{*r.dst, r.dst_len});
  }
  for (int family : rules_added_) {
    nlmsghdr* del = remove.Begin(RTM_DELRULE, NLM_F_ACK, 64);
    PutRule(del, family);
    remove.Finish(del);
  }
  rules_added_.clear();
  uses_.clear();
  auto removed = socket_->Exchange(remove);
  if (!removed.ok()) return removed.error();
  return ours.size();
}

}  // namespace ike::tmd::xfrm
