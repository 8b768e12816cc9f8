#include "tmd/xfrm/xfrm_kernel.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <sys/socket.h>

#include <cstring>

#include "common/log.h"
#include "tunneldb/names.h"

namespace ike::tmd {
namespace {

using xfrm::Batch;
using xfrm::PolicyDir;
using xfrm::PolicyMessage;

// SPIs the kernel may hand out: never 0 nor 1-255 (RFC 4303 2.1).
constexpr uint32_t kMinSpi = 0x100;
constexpr uint32_t kMaxSpi = 0xffffffff;
constexpr uint8_t kReplayWindow = 32;  // packets (RFC 4303 3.4.3)

// The soft limit is where the kernel tells us to rekey (issue 9): tmd's
// jittered choice (SaSpec::soft_*), else 90 %.
uint64_t SoftOf(uint64_t hard) { return hard - hard / 10; }

}  // namespace

std::string XfrmErrorText(int error, const std::string& kernel_message) {
  std::string text;
  switch (error) {
    case EPROTONOSUPPORT:
      text =
          "the kernel has no ESP support (esp4/esp6): load the modules (modprobe esp4 esp6) or "
          "use a kernel built with CONFIG_INET_ESP/CONFIG_INET6_ESP; settings { kernel_backend: "
          "STATE_ONLY } in tunnels.db negotiates without protecting traffic";
      break;
    case ENOSYS:
    case ENOENT:
      text = "the kernel lacks a negotiated algorithm (load its crypto module)";
      break;
    case EPERM:
      text = "not permitted (tmd needs CAP_NET_ADMIN)";
      break;
    case EEXIST:
      text = "already in the kernel";
      break;
    default:
      text = std::strerror(error);
  }
  if (!kernel_message.empty()) text += " (kernel: " + kernel_message + ")";
  return text;
}

Result<std::unique_ptr<XfrmKernel>> XfrmKernel::Open() {
  auto socket = xfrm::NetlinkSocket::Open();
  if (!socket.ok()) return socket.error();
  std::unique_ptr<XfrmKernel> kernel(new XfrmKernel(std::move(socket.value())));
  Result<size_t> left = kernel->RemoveLeftovers();
  if (!left.ok()) return left.error();
  if (*left > 0) {
    LOG_EVENT("removed %zu SAs and policies an earlier tmd left in the kernel", *left);
  }
  // Expire events: a separate socket, so that they never interleave with
  // the answers to our requests.
  if (mnl_socket* s = mnl_socket_open(NETLINK_XFRM); s != nullptr) {
    if (mnl_socket_bind(s, XFRMGRP_EXPIRE | XFRMGRP_ACQUIRE, MNL_SOCKET_AUTOPID) == 0) {
      kernel->events_ = s;
    } else {
      LOG_ERROR("cannot subscribe to the kernel's SA expire and acquire events: %s",
                std::strerror(errno));
      mnl_socket_close(s);
    }
  }
  auto routes = xfrm::Routes::Open();
  if (routes.ok()) {
    kernel->routes_ = std::move(routes.value());
  } else {
    LOG_ERROR("no routes for remote selectors (%s): the host's routes must cover them",
              routes.error().message.c_str());
  }
  return kernel;
}

Status XfrmKernel::Run(const Batch& batch, const std::string& what,
                       std::initializer_list<int> ignored,
                       const std::function<void(const nlmsghdr*)>& on_message) {
  auto statuses = socket_->Exchange(batch, on_message);
  if (!statuses.ok()) return statuses.error();
  for (const auto& [seq, status] : *statuses) {
    if (status.error == 0) continue;
    if (std::find(ignored.begin(), ignored.end(), status.error) != ignored.end()) continue;
    return Error{what + ": " + XfrmErrorText(status.error, status.message)};
  }
  return Status::Ok();
}

XfrmKernel::~XfrmKernel() {
  if (events_ != nullptr) mnl_socket_close(events_);
}

int XfrmKernel::event_fd() const { return events_ ? mnl_socket_get_fd(events_) : -1; }

std::vector<KernelEvent> XfrmKernel::ReadEvents() {
  std::vector<KernelEvent> out;
  if (events_ == nullptr) return out;
  std::vector<uint8_t> buffer(1 << 16);
  while (true) {
    const ssize_t n = recv(mnl_socket_get_fd(events_), buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      // ENOBUFS: the kernel dropped events (a burst of expiries); the SAs
      // are gone or will be, and Counters/ListSas show it.
      if (errno == ENOBUFS) LOG_ERROR("kernel SA events were lost (receive buffer full)");
      break;
    }
    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      if (auto a = xfrm::ParseAcquire(nlh); a && xfrm::IsTrapReqid(a->reqid)) {
        KernelEvent& k = out.emplace_back();
        k.kind = KernelEvent::Kind::kAcquire;
        k.trap = a->reqid & ~xfrm::kReqidMask;
        k.source = a->source;
        k.destination = a->destination;
        continue;
      }
      auto e = xfrm::ParseExpire(nlh);
      if (!e || !xfrm::IsOurReqid(e->sa.reqid)) continue;  // not one of tmd's SAs
      const uint32_t tunnel = e->sa.reqid & ~xfrm::kReqidMask;
      if (tunnel == 0) continue;  // an ALLOCSPI reservation that lapsed
      KernelEvent& k = out.emplace_back();
      k.tunnel = tunnel;
      k.spi = e->sa.spi;
      k.destination = e->sa.destination;
      k.hard = e->hard;
      k.by_volume = e->by_volume;
    }
  }
  return out;
}

Result<xfrm::NetlinkStatus> XfrmKernel::SendSa(const xfrm::SaMessage& m, bool update) {
  Batch batch(socket_->next_seq());
  const std::optional<uint32_t> seq = batch.AddSa(m, update);
  if (!seq) return Error{"algorithms the kernel backend cannot express"};
  auto statuses = socket_->Exchange(batch);
  if (!statuses.ok()) return statuses.error();
  return (*statuses)[*seq];
}

Result<uint32_t> XfrmKernel::AllocateSpi(const IpAddress& destination, const IpAddress& source,
                                         ipc::IpsecProtocol protocol) {
  if (protocol != ipc::PROTO_ESP) {
    return Error{"only ESP SPIs are allocated (not " + tunneldb::IpsecProtocolName(protocol) + ")"};
  }
  if (source.family != destination.family) {
    return Error{"ALLOCSPI needs the peer's address, of the family of " + destination.ToString()};
  }
  Batch batch(socket_->next_seq());
  // The larval SA lives until the kernel's acquire expiry (net.core.
  // xfrm_acq_expires, 30 s) unless InstallSa replaces it (UPDSA).
  const auto seq = batch.AddAllocSpi(source, destination, xfrm::kReqidBand, kMinSpi, kMaxSpi);
  if (!seq) return Error{"cannot build ALLOCSPI for " + destination.ToString()};
  std::optional<uint32_t> spi;
  auto statuses = socket_->Exchange(batch, [&spi](const nlmsghdr* nlh) {
    if (auto sa = xfrm::ParseSa(nlh)) spi = sa->spi;
  });
  if (!statuses.ok()) return statuses.error();
  const xfrm::NetlinkStatus& status = (*statuses)[*seq];
  if (status.error != 0) {
    return Error{"ALLOCSPI " + source.ToString() + " -> " + destination.ToString() + ": " +
                 XfrmErrorText(status.error, status.message)};
  }
  if (!spi) return Error{"ALLOCSPI answered without an SA"};
  return *spi;
}

Status XfrmKernel::InstallSa(const SaSpec& sa) {
  // The mirror refuses a (destination, SPI) already installed: UPDSA would
  // otherwise quietly update the existing SA.
  Status recorded = mirror_.InstallSa(sa);
  if (!recorded.ok()) return recorded;
  xfrm::SaMessage m;
  m.source = sa.source;
  m.destination = sa.destination;
  m.spi = sa.spi;
  m.reqid = xfrm::ReqidOf(sa.tunnel);
  m.encryption = sa.encryption;
  m.encryption_key = sa.encryption_key;
  m.integrity = sa.integrity;
  m.integrity_key = sa.integrity_key;
  m.replay_window = sa.direction == Direction::kInbound ? kReplayWindow : 0;
  m.hard_seconds = sa.lifetime_seconds;
  m.soft_seconds = sa.soft_seconds != 0 && sa.soft_seconds < sa.lifetime_seconds
                       ? sa.soft_seconds
                       : static_cast<uint32_t>(SoftOf(sa.lifetime_seconds));
  m.hard_bytes = sa.lifetime_kbytes * 1024;
  m.soft_bytes = sa.soft_kbytes != 0 && sa.soft_kbytes < sa.lifetime_kbytes ? sa.soft_kbytes * 1024
                                                                            : SoftOf(m.hard_bytes);
  m.encap_source_port = sa.source_port;
  m.encap_destination_port = sa.destination_port;
  m.transport = sa.transport;
  char spi_text[16];
  std::snprintf(spi_text, sizeof spi_text, "0x%08x", sa.spi);
  const std::string what = "SA " + std::string(spi_text) + " " + sa.source.ToString() + " -> " +
                           sa.destination.ToString();
  // Inbound SPIs came from ALLOCSPI: UPDSA replaces the larval SA. If it
  // lapsed (or the SPI came from elsewhere), there is none: NEWSA.
  const bool update = sa.direction == Direction::kInbound;
  Result<xfrm::NetlinkStatus> sent = SendSa(m, update);
  if (sent.ok() && update && sent->error == ESRCH) sent = SendSa(m, false);
  Status s = Status::Ok();
  if (!sent.ok()) {
    s = Error{what + ": " + sent.error().message};
  } else if (sent->error != 0) {
    s = Error{what + ": " + XfrmErrorText(sent->error, sent->message)};
  }
  if (!s.ok()) (void)mirror_.DeleteSa(sa.destination, sa.spi);  // never fails
  return s;
}

Status XfrmKernel::DeleteSa(const IpAddress& destination, uint32_t spi) {
  (void)mirror_.DeleteSa(destination, spi);  // never fails
  Batch batch(socket_->next_seq());
  batch.AddDeleteSa(destination, spi);
  // Gone already (expired, or removed by hand) is not an error.
  return Run(batch, "delete SA", {ESRCH, ENOENT});
}

Result<std::vector<PolicyMessage>> XfrmKernel::PoliciesFor(const PolicySpec& spec) const {
  const std::vector<Prefix> sources = PrefixesOf(spec.source);
  const std::vector<Prefix> destinations = PrefixesOf(spec.destination);
  if (sources.empty() || destinations.empty()) {
    return Error{"selector " + spec.source.ToString() + " -> " + spec.destination.ToString() +
                 " is not a valid address range"};
  }
  if (sources.size() * destinations.size() > kMaxPoliciesPerRule) {
    return Error{"selector " + spec.source.ToString() + " -> " + spec.destination.ToString() +
                 " needs " + std::to_string(sources.size() * destinations.size()) +
                 " kernel policies (ranges become CIDR blocks); at most " +
                 std::to_string(kMaxPoliciesPerRule) + ": use subnets"};
  }
  if (spec.outer_source.family == 0 || spec.outer_destination.family == 0) {
    return Error{"a policy needs the SA's outer addresses"};
  }
  std::vector<PolicyMessage> out;
  // Outbound traffic is sent through the tunnel (dir out); inbound traffic
  // must have come through it, whether it is for this host (dir in) or
  // forwarded to the protected network behind it (dir fwd).
  // A trap is an out policy only: inbound traffic starts nothing.
  if (spec.trap != 0 && spec.direction != Direction::kOutbound) {
    return Error{"a trap is an outbound policy"};
  }
  const std::vector<PolicyDir> dirs = spec.direction == Direction::kOutbound
                                          ? std::vector<PolicyDir>{PolicyDir::kOut}
                                          : std::vector<PolicyDir>{PolicyDir::kIn, PolicyDir::kFwd};
  for (PolicyDir dir : dirs) {
    for (const Prefix& s : sources) {
      for (const Prefix& d : destinations) {
        PolicyMessage& p = out.emplace_back();
        p.source = s;
        p.destination = d;
        p.protocol = static_cast<uint8_t>(spec.protocol);
        p.source_port = spec.source_port;
        p.destination_port = spec.destination_port;
        p.dir = dir;
        p.priority =
            xfrm::PolicyPriority(s, d, p.protocol, spec.source_port || spec.destination_port);
        p.tunnel_source = spec.outer_source;
        p.tunnel_destination = spec.outer_destination;
        p.reqid = spec.trap != 0 ? xfrm::TrapReqidOf(spec.trap) : xfrm::ReqidOf(spec.tunnel);
        p.optional = spec.trap != 0 && spec.clear_until_up;
        p.transport = spec.transport;
      }
    }
  }
  return out;
}

// The kernel keeps one policy per selector and direction, so a tunnel's
// policy and the trap of its definition take turns: the tunnel's replaces
// the trap (UPDPOLICY, no moment without either), and when it goes the trap
// is put back the same way.
std::string XfrmKernel::SelectorKey(const PolicyMessage& p) {
  return p.source.ToString() + '>' + p.destination.ToString() + ':' + std::to_string(p.protocol) +
         ':' + std::to_string(p.source_port) + '>' + std::to_string(p.destination_port) + ':' +
         xfrm::PolicyDirName(p.dir);
}

Result<uint32_t> XfrmKernel::InstallPolicy(const PolicySpec& spec) {
  auto policies = PoliciesFor(spec);
  if (!policies.ok()) return policies.error();
  const bool trap = spec.trap != 0;
  Batch batch(socket_->next_seq());
  std::map<uint32_t, const PolicyMessage*> by_seq;
  std::vector<PolicyMessage> installed;  // what the kernel holds of the rule
  for (const PolicyMessage& p : *policies) {
    const std::string key = SelectorKey(p);
    // A trap under a live tunnel's policy waits for it to go.
    if (trap && occupied_.contains(key)) {
      installed.push_back(p);
      continue;
    }
    auto seq = batch.AddPolicy(p, !trap && traps_.contains(key));
    if (!seq)
      return Error{"cannot express policy " + p.source.ToString() + " -> " +
                   p.destination.ToString() + " for the kernel"};
    by_seq[*seq] = &p;
  }
  auto statuses = socket_->Exchange(batch);
  if (!statuses.ok()) return statuses.error();
  std::optional<Error> failure;
  for (const auto& [seq, status] : *statuses) {
    const PolicyMessage& p = *by_seq.at(seq);
    if (status.error == 0) {
      installed.push_back(p);
    } else if (!failure) {
      failure =
          Error{"policy " + p.source.ToString() + " -> " + p.destination.ToString() + " " +
                xfrm::PolicyDirName(p.dir) + ": " + XfrmErrorText(status.error, status.message)};
    }
  }
  for (const PolicyMessage& p : installed) {
    if (trap) {
      traps_[SelectorKey(p)] = p;
    } else {
      occupied_.insert(SelectorKey(p));
    }
  }
  if (failure) {
    DeletePolicies(installed);  // all of the rule or none of it
    return *failure;
  }
  Result<uint32_t> id = mirror_.InstallPolicy(spec);
  if (!id.ok()) {
    DeletePolicies(installed);
    return id.error();
  }
  policies_[*id] = std::move(installed);
  if (spec.direction == Direction::kOutbound) AddRoutes(*id, spec);
  return *id;
}

void XfrmKernel::AddRoutes(uint32_t rule_id, const PolicySpec& spec) {
  if (!routes_) return;
  // The host's own traffic to the remote selector must leave from an
  // address the local selector covers, or it misses the policy.
  std::optional<IpAddress> source;
  if (spec.source.first == spec.source.last) source = spec.source.first;
  for (const Prefix& destination : PrefixesOf(spec.destination)) {
    Result<bool> held = routes_->Ensure(destination, spec.outer_destination, source);
    if (!held.ok()) {
      // Traffic may still reach the policy by the administrator's routes.
      LOG_ERROR("tunnel %u: %s", spec.tunnel, held.error().message.c_str());
    } else if (*held) {
      routes_by_rule_[rule_id].push_back(destination);
    }
  }
}

void XfrmKernel::DeletePolicies(const std::vector<PolicyMessage>& policies) {
  if (policies.empty()) return;
  Batch batch(socket_->next_seq());
  for (const PolicyMessage& p : policies) {
    const std::string key = SelectorKey(p);
    if (xfrm::IsTrapReqid(p.reqid)) {
      traps_.erase(key);
      if (occupied_.contains(key)) continue;  // a tunnel's policy holds the place
      batch.AddDeletePolicy(p);
      continue;
    }
    occupied_.erase(key);
    if (auto trap = traps_.find(key); trap != traps_.end()) {
      batch.AddPolicy(trap->second, true);  // the trap takes its place again
    } else {
      batch.AddDeletePolicy(p);
    }
  }
  if (batch.empty()) return;
  Status s = Run(batch, "delete policy", {ENOENT, ESRCH});
  if (!s.ok()) LOG_ERROR("%s", s.error().message.c_str());
}

Status XfrmKernel::DeletePolicy(uint32_t rule_id) {
  auto it = policies_.find(rule_id);
  if (it != policies_.end()) {
    DeletePolicies(it->second);
    policies_.erase(it);
  }
  if (auto r = routes_by_rule_.find(rule_id); r != routes_by_rule_.end()) {
    for (const Prefix& destination : r->second) routes_->Release(destination);
    routes_by_rule_.erase(r);
  }
  return mirror_.DeletePolicy(rule_id);
}

std::vector<ipc::TunnelCacheEntry> XfrmKernel::ListSas() const {
  std::vector<ipc::TunnelCacheEntry> rows = mirror_.ListSas();
  // The kernel's byte and packet counters for each (one batch of GETSA).
  Batch batch(socket_->next_seq());
  std::map<std::pair<IpAddress, uint32_t>, ipc::TunnelCacheEntry*> by_key;
  for (ipc::TunnelCacheEntry& row : rows) {
    const auto destination = IpAddress::Parse(row.destination());
    if (!destination) continue;
    batch.AddGetSa(*destination, row.spi());
    by_key[{*destination, row.spi()}] = &row;
  }
  auto statuses = socket_->Exchange(batch, [&by_key](const nlmsghdr* nlh) {
    auto sa = xfrm::ParseSa(nlh);
    if (!sa) return;
    auto it = by_key.find({sa->destination, sa->spi});
    if (it == by_key.end()) return;
    it->second->set_bytes(sa->bytes);
    it->second->set_packets(sa->packets);
  });
  if (!statuses.ok()) LOG_ERROR("reading SA counters: %s", statuses.error().message.c_str());
  return rows;
}

std::optional<SaCounters> XfrmKernel::Counters(const IpAddress& destination, uint32_t spi) const {
  Batch batch(socket_->next_seq());
  batch.AddGetSa(destination, spi);
  std::optional<SaCounters> out;
  auto statuses = socket_->Exchange(batch, [&out](const nlmsghdr* nlh) {
    if (auto sa = xfrm::ParseSa(nlh)) out = SaCounters{sa->bytes, sa->packets};
  });
  if (!statuses.ok()) return std::nullopt;
  return out;
}

std::vector<ipc::FilterRule> XfrmKernel::ListPolicies() const { return mirror_.ListPolicies(); }

Result<size_t> XfrmKernel::RemoveLeftovers() {
  std::vector<xfrm::SaInfo> sas;
  std::vector<PolicyMessage> policies;
  // One dump at a time: a socket runs one dump, a second one is refused
  // (EBUSY) until the first is done.
  Batch dump_sas(socket_->next_seq());
  dump_sas.AddDumpSas();
  Status s = Run(dump_sas, "listing the kernel's SAs", {}, [&](const nlmsghdr* nlh) {
    if (auto sa = xfrm::ParseSa(nlh); sa && xfrm::IsOurReqid(sa->reqid)) sas.push_back(*sa);
  });
  if (!s.ok()) return s.error();
  Batch dump_policies(socket_->next_seq());
  dump_policies.AddDumpPolicies();
  s = Run(dump_policies, "listing the kernel's policies", {}, [&](const nlmsghdr* nlh) {
    if (auto p = xfrm::ParsePolicy(nlh);
        p && p->has_template &&
        (xfrm::IsOurReqid(p->policy.reqid) || xfrm::IsTrapReqid(p->policy.reqid)) &&
        xfrm::IsOurPriority(p->policy.priority)) {
      policies.push_back(p->policy);
    }
  });
  if (!s.ok()) return s.error();
  Batch remove(socket_->next_seq());
  for (const xfrm::SaInfo& sa : sas) remove.AddDeleteSa(sa.destination, sa.spi);
  for (const PolicyMessage& p : policies) remove.AddDeletePolicy(p);
  s = Run(remove, "removing an earlier tmd's kernel state", {ENOENT, ESRCH});
  if (!s.ok()) return s.error();
  return sas.size() + policies.size();
}

void XfrmKernel::Clear() {
  Batch batch(socket_->next_seq());
  for (const auto& [id, policies] : policies_) {
    for (const PolicyMessage& p : policies) batch.AddDeletePolicy(p);
  }
  for (const ipc::TunnelCacheEntry& row : mirror_.ListSas()) {
    if (auto destination = IpAddress::Parse(row.destination())) {
      batch.AddDeleteSa(*destination, row.spi());
    }
  }
  Status s = Run(batch, "removing tmd's kernel state", {ENOENT, ESRCH});
  if (!s.ok()) LOG_ERROR("%s", s.error().message.c_str());
  policies_.clear();
  traps_.clear();
  occupied_.clear();
  mirror_.Clear();
  routes_by_rule_.clear();
  if (routes_) {
    Result<size_t> routes = routes_->RemoveAll();
    if (!routes.ok()) LOG_ERROR("%s", routes.error().message.c_str());
  }
  // And what no table here knows: unused ALLOCSPI reservations.
  Result<size_t> left = RemoveLeftovers();
  if (!left.ok()) LOG_ERROR("%s", left.error().message.c_str());
}

}  // namespace ike::tmd
