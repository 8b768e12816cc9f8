// The Linux XFRM backend (issue 8): the tunnel cache is the kernel's SA
// database and the dynamic filter table its security policy database, so
// traffic is really protected. Everything is installed with tmd's marks
// (xfrm_messages.h) and removed with the tunnel, at stopsrc, and at the next
// start if an earlier tmd left it behind.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tmd/core/kernel.h"
#include "tmd/xfrm/netlink.h"
#include "tmd/xfrm/routes.h"

struct mnl_socket;

namespace ike::tmd {

class XfrmKernel : public KernelBackend {
 public:
  // Opens the netlink socket and removes what an earlier tmd left (by its
  // marks): without isakmpd's keys those SAs cannot be re-adopted, and a
  // stale policy would swallow traffic. Fails if XFRM is not available.
  static Result<std::unique_ptr<XfrmKernel>> Open();
  ~XfrmKernel() override;

  Result<uint32_t> AllocateSpi(const IpAddress& destination, const IpAddress& source,
                               ipc::IpsecProtocol protocol) override;
  Status InstallSa(const SaSpec& sa) override;
  Status DeleteSa(const IpAddress& destination, uint32_t spi) override;
  Result<uint32_t> InstallPolicy(const PolicySpec& policy) override;
  Status DeletePolicy(uint32_t rule_id) override;
  std::vector<ipc::TunnelCacheEntry> ListSas() const override;
  std::vector<ipc::FilterRule> ListPolicies() const override;
  std::optional<SaCounters> Counters(const IpAddress& destination, uint32_t spi) const override;
  int event_fd() const override;
  std::vector<KernelEvent> ReadEvents() override;
  void Clear() override;

  // Removes every SA and policy in the kernel that carries tmd's marks and
  // returns how many (Open does this; tests call it to check).
  Result<size_t> RemoveLeftovers();

  // Most policies one rule may expand to (ranges become prefixes, and each
  // source prefix pairs with each destination prefix): beyond this a range
  // is refused as too fragmented for the kernel, naming it.
  static constexpr size_t kMaxPoliciesPerRule = 64;

 private:
  explicit XfrmKernel(std::unique_ptr<xfrm::NetlinkSocket> socket) : socket_(std::move(socket)) {}

  // Sends |batch|: the first failed request's error, in words, naming
  // |what|; requests that fail with one of |ignored| (errno) do not count.
  // Replies and dump entries go to |on_message| (one dump per batch: the
  // kernel runs one dump per socket at a time).
  Status Run(const xfrm::Batch& batch, const std::string& what,
             std::initializer_list<int> ignored = {},
             const std::function<void(const nlmsghdr*)>& on_message = {});
  // One NEWSA (or UPDSA) and the kernel's answer to it.
  Result<xfrm::NetlinkStatus> SendSa(const xfrm::SaMessage& m, bool update);
  // The kernel policies for one rule of the dynamic filter table.
  Result<std::vector<xfrm::PolicyMessage>> PoliciesFor(const PolicySpec& spec) const;
  // Removes a rule's kernel policies; where a trap shares a tunnel policy's
  // selector, the trap is put back instead.
  void DeletePolicies(const std::vector<xfrm::PolicyMessage>& policies);
  static std::string SelectorKey(const xfrm::PolicyMessage& p);
  // Routes to an outbound rule's destination where the host has none.
  void AddRoutes(uint32_t rule_id, const PolicySpec& spec);

  std::unique_ptr<xfrm::NetlinkSocket> socket_;
  // What tmd installed, as the state-only backend records it (rule ids,
  // the rows of ike cmd=list cache/filter); the kernel holds the real thing.
  StateOnlyKernel mirror_;
  std::map<uint32_t, std::vector<xfrm::PolicyMessage>> policies_;  // rule id -> kernel
  // Armed traps by selector (SelectorKey), and the selectors a tunnel's
  // policy holds (replacing a trap there, if any).
  std::map<std::string, xfrm::PolicyMessage> traps_;
  std::set<std::string> occupied_;
  // Routes to remote selectors the host had no route for (routes.h); null
  // if the routing socket could not be opened (then the administrator's
  // routes must cover the remote networks).
  std::unique_ptr<xfrm::Routes> routes_;
  std::map<uint32_t, std::vector<Prefix>> routes_by_rule_;
  // Subscribed to the kernel's expire messages (XFRMGRP_EXPIRE); null if
  // the subscription failed (then SAs still expire, tmd just is not told).
  mnl_socket* events_ = nullptr;
};

// An errno from the kernel's XFRM answer, in the words an administrator
// needs: ESP missing from the kernel names the modules and the setting.
std::string XfrmErrorText(int error, const std::string& kernel_message);

}  // namespace ike::tmd
