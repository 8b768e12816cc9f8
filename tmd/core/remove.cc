// ike cmd=remove (aix-ike.md 1.3): tell isakmpd to delete the SAs (it sends
// the Delete payloads), and remove the tunnel cache entries and dynamic
// filter rules tmd installed. Phase 2 tunnels go first, as they depend on
// the phase 1 tunnel that carries their Delete messages.
//
// Selection: `all`; `ipaddr=src,dst` (tunnels whose phase 1 endpoints match);
// `numlist=` live tunnel numbers. With phase=1 or phase=2 a number names a
// tunnel of that phase. Without phase=, N names phase 2 tunnel N together
// with its phase 1 tunnel when no other phase 2 tunnel uses it; if there is
// no phase 2 tunnel N, phase 1 tunnel N and its phase 2 tunnels.
#include <unordered_map>
#include <vector>

#include "common/ipc_frame.h"
#include "common/log.h"
#include "tmd/core/tunnel_manager.h"

namespace ike::tmd {
namespace {}  // namespace

Status TunnelManager::CollectRemovals(const ipc::RemoveRequest& r, std::set<uint32_t>* p1,
                                      std::set<uint32_t>* p2, ipc::ErrorCode* code) const {
  const uint32_t phase = r.phase();
  // Phase 1 number -> its phase 2 tunnels, built on first use in one pass:
  // `ipaddr=` or a long numlist= would otherwise scan every phase 2 tunnel
  // once per phase 1 tunnel (quadratic with 20,000 tunnels).
  std::unordered_map<uint32_t, std::vector<uint32_t>> children;
  bool indexed = false;
  auto children_of = [&](uint32_t n1, std::set<uint32_t>* out) {
    if (!indexed) {
      phase2_.ForEach(
          [&](uint32_t n, const Phase2Tunnel& t) { children[t.phase1_number].push_back(n); });
      indexed = true;
    }
    if (auto it = children.find(n1); it != children.end())
      out->insert(it->second.begin(), it->second.end());
  };
  // Numbers come in ascending order: hinted inserts at the end are O(1).
  if (r.all()) {
    if (phase != 2)
      phase1_.ForEach([&](uint32_t n, const Phase1Tunnel&) { p1->insert(p1->end(), n); });
    if (phase != 1)
      phase2_.ForEach([&](uint32_t n, const Phase2Tunnel&) { p2->insert(p2->end(), n); });
  }
  for (uint32_t n : r.numlist()) {
    const bool has1 = phase1_.contains(n), has2 = phase2_.contains(n);
    if ((phase == 1 && !has1) || (phase == 2 && !has2) || (phase == 0 && !has1 && !has2)) {
      *code = ipc::UNKNOWN_TUNNEL;
      const std::string which = phase == 0 ? "" : "phase " + std::to_string(phase) + " ";
      return Error{"no " + which + "tunnel " + std::to_string(n) + " in the tunnel list"};
    }
    if (phase == 1) p1->insert(n);
    if (phase == 2) p2->insert(n);
    if (phase != 0) continue;
    if (has2) {
      p2->insert(n);
      const uint32_t n1 = phase2_.Find(n)->phase1_number;
      std::set<uint32_t> siblings;
      children_of(n1, &siblings);
      bool shared = false;
      for (uint32_t s : siblings) shared = shared || !p2->contains(s);
      if (!shared && phase1_.contains(n1)) p1->insert(n1);
    } else {
      p1->insert(n);
      children_of(n, p2);
    }
  }
  if (!r.local_address().empty() || !r.remote_address().empty()) {
    const size_t before = p1->size() + p2->size();
    phase1_.ForEach([&](uint32_t n, const Phase1Tunnel& t) {
      if (t.local_address.str() != r.local_address() ||
          t.remote_address.str() != r.remote_address()) {
        return;
      }
      if (phase != 2) p1->insert(n);
      if (phase != 1) children_of(n, p2);
    });
    if (p1->size() + p2->size() == before) {
      *code = ipc::UNKNOWN_TUNNEL;
      return Error{"no tunnel from " + r.local_address() + " to " + r.remote_address() +
                   " in the tunnel list"};
    }
  }
  return Status::Ok();
}

ipc::Envelope TunnelManager::Remove(const ipc::RemoveRequest& r) {
  if (r.phase() > 2) return ipc::MakeError(0, ipc::BAD_ARGUMENT, "phase must be 1 or 2");
  if (!r.all() && r.numlist_size() == 0 && r.local_address().empty() &&
      r.remote_address().empty()) {
    return ipc::MakeError(0, ipc::BAD_ARGUMENT,
                          "say which tunnels to remove: numlist=, ipaddr= or all");
  }
  std::set<uint32_t> p1, p2;
  ipc::ErrorCode code = ipc::INTERNAL;
  Status selected = CollectRemovals(r, &p1, &p2, &code);
  if (!selected.ok()) return ipc::MakeError(0, code, selected.error().message);
  ipc::Envelope out;
  ipc::RemoveReply* reply = out.mutable_remove_reply();
  auto notify = [&](uint32_t phase, uint32_t n, TunnelStatus status) {
    // A Failed, Clear or Dormant tunnel has no SA in isakmpd.
    if (!InIsakmpd(status) || !isakmpd_.connected()) return;
    ipc::Envelope e;
    e.mutable_remove_tunnel()->set_phase(phase);
    e.mutable_remove_tunnel()->set_tunnel(n);
    SendToIsakmpd(std::move(e), 0, 0, 0);
  };
  for (uint32_t n : p2) {
    Phase2Tunnel& t = *phase2_.Find(n);
    notify(2, n, t.status);
    LOG_EVENT("%s: removed by the operator; tunnel cache entries and filter rules removed",
              Tag(t).c_str());
    ipc::TunnelRef* ref = reply->add_removed();
    ref->set_phase(2);
    ref->set_number(n);
    ref->set_name(t.name);
    // Removing a Dormant tunnel disarms its trap (until a refresh or a
    // restart arms it again); an on-demand tunnel removed while up or
    // failed goes back to Dormant: traffic brings it up again.
    if (t.status == TunnelStatus::kDormant) {
      if (const Trap* trap = TrapOf(t.name)) {
        Disarm(trap->id);  // erases the Dormant row
        continue;
      }
    }
    ErasePhase2(n);
  }
  for (uint32_t n : p1) {
    Phase1Tunnel& t = *phase1_.Find(n);
    notify(1, n, t.status);
    LOG_EVENT("%s: removed by the operator", Tag(t).c_str());
    std::vector<uint32_t> waiting = t.waiting;
    for (uint32_t n2 : waiting) {
      if (Phase2Tunnel* t2 = Phase2ByRef(n2, 0)) {
        FailPhase2(*t2, "phase 1 tunnel " + std::to_string(n) + " was removed", ipc::DELETED);
      }
    }
    ipc::TunnelRef* ref = reply->add_removed();
    ref->set_phase(1);
    ref->set_number(n);
    ref->set_name(t.name);
    ErasePhase1(n);
  }
  return out;
}

}  // namespace ike::tmd
