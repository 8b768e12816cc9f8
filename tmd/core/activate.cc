// ike cmd=activate: choosing the definitions (aix-ike.md 1.2) and starting
// steps 2 and 4 of the AIX process flow (aix-ike.md 4.2).
#include <unordered_set>

#include "common/address.h"
#include "common/ipc_frame.h"
#include "common/log.h"
#include "common/selector.h"
#include "tmd/core/tunnel_manager.h"

namespace ike::tmd {
namespace {

// The row a fresh activation shows until isakmpd reports progress.
void FillPhase1(const db::IkeTunnel& def, const db::IkeProtection* prot, uint32_t n,
                Phase1Tunnel* t) {
  t->number = n;
  t->state = ipc::PHASE1_INIT;
  t->ios_state = t->asa_state = 0;
  t->role = ipc::INITIATOR;
  t->local_address.Set(def.local_address());
  t->remote_address.Set(def.remote_address());
  t->local_id.Set(tunneldb::IdentityText(def.local_id()));
  t->remote_id.Set(tunneldb::IdentityText(def.remote_id()));
  if (prot == nullptr) return;
  t->mode = prot->mode() == db::AGGRESSIVE ? ipc::AGGRESSIVE : ipc::MAIN;
  if (prot->proposal_size() > 0) {
    // What we offer first; Phase1Established replaces it with what was chosen.
    const db::IkeProposal& p = prot->proposal(0);
    t->encryption = p.encryption();
    t->key_length = static_cast<uint16_t>(p.key_length());
    t->hash = p.hash();
    t->auth_method = p.auth_method();
    t->dh_group = p.dh_group();
    t->lifetime_seconds = p.lifetime_seconds();
  }
}

void FillPhase2(const db::IpsecTunnel& def, const db::IpsecProtection* prot, uint32_t n,
                uint32_t n1, Phase2Tunnel* t) {
  t->number = n;
  t->phase1_number = n1;
  t->state = ipc::PHASE2_INIT;
  t->ios_state = 0;
  t->role = ipc::INITIATOR;
  t->local_id.Set(SelectorRangeText(def.local()));
  t->remote_id.Set(SelectorRangeText(def.remote()));
  t->activation = def.activation();
  if (prot == nullptr) return;
  t->pfs_group = prot->pfs_group();
  t->lifetime_seconds = prot->lifetime_seconds();
  if (prot->proposal_size() > 0) {
    const db::IpsecProposal& p = prot->proposal(0);
    t->encryption = p.encryption();
    t->key_length = static_cast<uint16_t>(p.key_length());
    t->integrity = p.integrity();
  }
}

}  // namespace

ipc::Envelope TunnelManager::Activate(const ipc::ActivateRequest& r) {
  if (!isakmpd_.connected()) {
    return ipc::MakeError(0, ipc::NOT_READY,
                          "isakmpd is not running (not connected to tmd); start it with "
                          "startsrc -s isakmpd");
  }
  if (!database_) return ipc::MakeError(0, ipc::DATABASE_ERROR, "no tunnel database is loaded");
  if (r.phase() > 2) return ipc::MakeError(0, ipc::BAD_ARGUMENT, "phase must be 1 or 2");
  std::vector<Target> targets;
  Rejection rejection;
  if (!Select(r, &targets, &rejection)) return ipc::MakeError(0, rejection.code, rejection.reason);
  ipc::Envelope out;
  ipc::ActivateReply* reply = out.mutable_activate_reply();
  std::vector<std::string> refusals;
  for (const Target& t : targets) {
    std::string why;
    if (!StartTarget(t, reply, &why)) refusals.push_back(why);
  }
  // AIX: tmd rejects a request for a tunnel that already exists. When some
  // of the selected tunnels could start, the request succeeds for those.
  if (reply->started_size() == 0 && !refusals.empty()) {
    std::string reason = refusals.front();
    if (refusals.size() > 1) reason += " (and " + std::to_string(refusals.size() - 1) + " more)";
    return ipc::MakeError(0, ipc::TUNNEL_ACTIVE, reason);
  }
  return out;
}

bool TunnelManager::Select(const ipc::ActivateRequest& r, std::vector<Target>* out,
                           Rejection* error) const {
  const Database& d = *database_;
  const uint32_t phase = r.phase();
  bool any = false;
  for (uint32_t n : r.numlist()) {
    any = true;
    if (!AddByNumber(n, phase, out, error)) return false;
  }
  for (const std::string& name : r.namelist()) {
    any = true;
    if (const db::IpsecTunnel* t = d.FindIpsecTunnel(name)) {
      AddIpsecTunnel(*t, phase, out);
    } else if (const db::IkeTunnel* k = d.FindIkeTunnel(name)) {
      AddIkeTunnel(*k, phase, true, out);
    } else {
      *error = {ipc::UNKNOWN_TUNNEL, "no tunnel named \"" + name + "\" in the database"};
      return false;
    }
  }
  if (!r.remid().empty()) {
    any = true;
    const size_t before = out->size();
    for (const auto& k : d.proto().ike_tunnel()) {
      if (k.remote_id().value() == r.remid()) AddIkeTunnel(k, phase, true, out);
    }
    if (out->size() == before) {
      *error = {ipc::UNKNOWN_TUNNEL, "no tunnel with remote id " + r.remid() + " in the database"};
      return false;
    }
  }
  if (!r.local_address().empty() || !r.remote_address().empty()) {
    any = true;
    auto local = IpAddress::Parse(r.local_address());
    auto remote = IpAddress::Parse(r.remote_address());
    if (!local || !remote) {
      *error = {ipc::BAD_ARGUMENT, "ipaddr: '" + r.local_address() + "," + r.remote_address() +
                                       "' is not a pair of IP addresses"};
      return false;
    }
    const size_t before = out->size();
    for (const auto& k : d.proto().ike_tunnel()) {
      if (IpAddress::Parse(k.local_address()) == local &&
          IpAddress::Parse(k.remote_address()) == remote) {
        AddIkeTunnel(k, phase, true, out);
      }
    }
    if (out->size() == before) {
      *error = {ipc::INVALID_REMOTE_ADDRESS, "invalid remote address: no tunnel from " +
                                                 r.local_address() + " to " + r.remote_address() +
                                                 " in the database"};
      return false;
    }
  }
  if (r.autostart()) {
    any = true;
    AddAutostart(phase, false, out);
  }
  if (!any) AddAutostart(phase, true, out);
  // The same definition may be selected twice (numlist=1 namelist=a).
  std::unordered_set<std::string> seen;
  std::erase_if(*out, [&](const Target& t) {
    return !seen.insert(t.ike->name() + '\0' + (t.ipsec ? t.ipsec->name() : "")).second;
  });
  return true;
}

bool TunnelManager::AddByNumber(uint32_t n, uint32_t phase, std::vector<Target>* out,
                                Rejection* error) const {
  const Database& d = *database_;
  const std::string not_found =
      "no tunnel " + std::to_string(n) + " in the database or the tunnel list";
  const std::string responder = std::string("phase ") + (phase == 1 ? "1" : "2") + " tunnel " +
                                std::to_string(n) +
                                " has no definition in the database (negotiated as responder)";
  if (phase == 1) {
    if (const Phase1Tunnel* live = FindPhase1(n)) {
      const db::IkeTunnel* def = d.FindIkeTunnel(live->name);
      if (def == nullptr) return *error = {ipc::UNKNOWN_TUNNEL, responder}, false;
      out->push_back({def, nullptr, n, 0});
    } else if (n >= 1 && n <= static_cast<uint32_t>(d.proto().ike_tunnel_size())) {
      out->push_back({&d.proto().ike_tunnel(n - 1), nullptr, 0, 0});
    } else {
      return *error = {ipc::UNKNOWN_TUNNEL, not_found}, false;
    }
    return true;
  }
  if (const Phase2Tunnel* live = FindPhase2(n)) {
    const db::IpsecTunnel* def = d.FindIpsecTunnel(live->name);
    if (def == nullptr) return *error = {ipc::UNKNOWN_TUNNEL, responder}, false;
    out->push_back({d.FindIkeTunnel(def->ike_tunnel()), def, 0, n});
  } else if (n >= 1 && n <= static_cast<uint32_t>(d.proto().ipsec_tunnel_size())) {
    AddIpsecTunnel(d.proto().ipsec_tunnel(n - 1), phase, out);
  } else {
    return *error = {ipc::UNKNOWN_TUNNEL, not_found}, false;
  }
  return true;
}

void TunnelManager::AddIkeTunnel(const db::IkeTunnel& t, uint32_t phase, bool children,
                                 std::vector<Target>* out) const {
  const std::vector<int>& kids = database_->IpsecTunnelsOf(t.name());
  if (phase == 1 || !children || kids.empty()) {
    out->push_back({&t, nullptr, 0, 0});
    return;
  }
  for (int i : kids) AddIpsecTunnel(database_->proto().ipsec_tunnel(i), phase, out);
}

void TunnelManager::AddIpsecTunnel(const db::IpsecTunnel& t, uint32_t phase,
                                   std::vector<Target>* out) const {
  const db::IkeTunnel* ike = database_->FindIkeTunnel(t.ike_tunnel());
  out->push_back({ike, phase == 1 ? nullptr : &t, 0, 0});
}

// autostart: the definitions flagged autostart. A bare activate uses them
// too, or every definition when none is flagged (IBM's Ansible role runs a
// bare `ike cmd=activate` after loading its database: aix-ike.md 1.2).
void TunnelManager::AddAutostart(uint32_t phase, bool all_if_none, std::vector<Target>* out) const {
  const db::TunnelDatabase& d = database_->proto();
  const size_t before = out->size();
  for (const auto& t : d.ipsec_tunnel()) {
    if (t.autostart()) AddIpsecTunnel(t, phase, out);
  }
  for (const auto& k : d.ike_tunnel()) {
    if (k.autostart()) AddIkeTunnel(k, phase, false, out);
  }
  if (out->size() != before || !all_if_none) return;
  if (phase != 1) {
    for (const auto& t : d.ipsec_tunnel()) AddIpsecTunnel(t, phase, out);
  }
  for (const auto& k : d.ike_tunnel()) {
    if (phase == 1 || database_->IpsecTunnelsOf(k.name()).empty()) {
      AddIkeTunnel(k, phase, false, out);
    }
  }
}

bool TunnelManager::StartTarget(const Target& t, ipc::ActivateReply* reply, std::string* refusal) {
  auto busy = [](TunnelStatus status) {
    return status == TunnelStatus::kActive ? "is already active" : "is already being negotiated";
  };
  Phase1Tunnel* p1 = t.reuse1 ? Phase1ByRef(t.reuse1, 0) : LivePhase1(t.ike->name());
  // A dynamic peer's phase 2 can be started over the phase 1 it brought
  // up; nothing can be started towards it.
  const bool p1_up = p1 != nullptr && p1->status == TunnelStatus::kActive;
  if (tunneldb::IsDynamicPeer(*t.ike) && (t.ipsec == nullptr || !p1_up)) {
    *refusal = "phase 1 tunnel " + t.ike->name() + " has remote address " +
               t.ike->remote_address() +
               " (any): it waits for its peer to come in (Aggressive Mode, found by its "
               "identity " +
               tunneldb::IdentityText(t.ike->remote_id()) + ") and cannot be started from here";
    return false;
  }
  if (t.ipsec == nullptr) {
    if (p1 != nullptr && p1->status != TunnelStatus::kFailed) {
      *refusal = "phase 1 tunnel " + std::to_string(p1->number) + " (" + t.ike->name() + ") " +
                 busy(p1->status);
      return false;
    }
    StartPhase1(*t.ike, p1 ? p1->number : 0, reply);
    return true;
  }
  Phase2Tunnel* live2 = t.reuse2 ? Phase2ByRef(t.reuse2, 0) : LivePhase2(t.ipsec->name());
  // Failed, Dormant (a trap waiting for traffic) and Clear (discovery fell
  // back to the clear) tunnels start again under their number.
  if (live2 != nullptr && InIsakmpd(live2->status)) {
    *refusal = "phase 2 tunnel " + std::to_string(live2->number) + " (" + t.ipsec->name() + ") " +
               busy(live2->status);
    return false;
  }
  // AIX: phase 2 needs a phase 1; start it first if there is none.
  uint32_t n1 = p1 ? p1->number : 0;
  if (p1 == nullptr || p1->status == TunnelStatus::kFailed) n1 = StartPhase1(*t.ike, n1, reply);
  p1 = Phase1ByRef(n1, 0);
  uint32_t n2 = 0;
  LastFailure last;
  if (live2 != nullptr) {
    n2 = live2->number;
    last = TakeLastFailure(*live2);
    Uninstall(*live2);
    if (live2->handle != 0) phase2_by_handle_.erase(live2->handle);
    if (Phase1Tunnel* old1 = Phase1ByRef(live2->phase1_number, 0)) std::erase(old1->waiting, n2);
    // Create() below replaces the tunnel: its name must leave the index first.
    SetName(*live2, "");
  } else {
    n2 = phase2_numbers_.Allocate();
  }
  Phase2Tunnel& t2 = phase2_.Create(n2);
  GiveLastFailure(std::move(last), &t2);
  t2.serial = next_serial_++;
  FillPhase2(*t.ipsec, database_->FindIpsecProtection(t.ipsec->protection()), n2, n1, &t2);
  SetName(t2, t.ipsec->name());
  ipc::TunnelRef* ref = reply->add_started();
  ref->set_phase(2);
  ref->set_number(n2);
  ref->set_name(t.ipsec->name());
  if (p1->status == TunnelStatus::kActive) {
    SendPhase2Request(t2);
  } else {
    p1->waiting.push_back(n2);
    LOG_INFO("%s: %s waits for phase 1 tunnel %u", Tag(t2).c_str(), t.ipsec->name().c_str(), n1);
  }
  return true;
}

uint32_t TunnelManager::StartPhase1(const db::IkeTunnel& def, uint32_t reuse,
                                    ipc::ActivateReply* reply) {
  const uint32_t n = reuse ? reuse : phase1_numbers_.Allocate();
  LastFailure last;
  if (Phase1Tunnel* old = phase1_.Find(n)) {
    if (old->handle != 0) phase1_by_handle_.erase(old->handle);
    SetName(*old, "");  // Create() below replaces it
    last = TakeLastFailure(*old);
  }
  Phase1Tunnel& t = phase1_.Create(n);
  GiveLastFailure(std::move(last), &t);
  t.serial = next_serial_++;
  const db::IkeProtection* prot = database_->FindIkeProtection(def.protection());
  FillPhase1(def, prot, n, &t);
  SetName(t, def.name());
  ipc::TunnelRef* ref = reply->add_started();
  ref->set_phase(1);
  ref->set_number(n);
  ref->set_name(def.name());
  AdmitPhase1(t, def);
  return n;
}

// settings.max_negotiations (default 128) and max_negotiations_per_peer
// (default 32; 0 = no cap): conventions.md "Admission control".
void TunnelManager::UpdateAdmissionLimits() {
  const db::Settings& s = database_->proto().settings();
  const uint32_t total =
      s.max_negotiations() ? s.max_negotiations() : tunneldb::kDefaultMaxNegotiations;
  const uint32_t per_peer = s.has_max_negotiations_per_peer()
                                ? s.max_negotiations_per_peer()
                                : tunneldb::kDefaultMaxNegotiationsPerPeer;
  admission_.SetLimits(total, per_peer);
}

// Every Main Mode tmd asks for takes a slot: an activation, and a
// re-establishment (|t.replacing|), so that thousands of ISAKMP SAs made
// together and due together do not all start at once and time out
// (bench/rekey: 20,000 at a 300 s lifetime). The old SA serves meanwhile.
void TunnelManager::AdmitPhase1(Phase1Tunnel& t, const db::IkeTunnel& def) {
  UpdateAdmissionLimits();
  if (admission_.Admit({t.number, t.serial}, def.remote_address())) {
    return SendPhase1Request(t, def);
  }
  LOG_INFO("%s: %s%s queued behind %zu negotiations in progress", Tag(t).c_str(),
           t.replacing ? "re-establishment of " : "", def.name().c_str(), admission_.in_flight());
}

void TunnelManager::SendPhase1Request(Phase1Tunnel& t, const db::IkeTunnel& def) {
  const uint32_t n = t.number;
  ipc::Envelope e;
  ipc::Phase1Request* q = e.mutable_phase1_request();
  q->set_tunnel(n);
  *q->mutable_definition() = def;
  if (const db::IkeProtection* prot = database_->FindIkeProtection(def.protection())) {
    *q->mutable_protection() = *prot;
  }
  q->set_replace(t.replacing);
  if (!t.replacing) CountStarted(t);
  SendToIsakmpd(std::move(e), 1, n, t.serial, /*rekey=*/t.replacing);
  if (t.replacing) {
    LOG_EVENT(
        "%s: the ISAKMP SA nears its lifetime; re-establishing phase 1 (a new Main Mode "
        "takes over, phase 2 tunnels stay)",
        Tag(t).c_str());
  } else {
    LOG_EVENT("%s: activating %s (step 2: phase 1 request sent to isakmpd)", Tag(t).c_str(),
              def.name().c_str());
  }
}

// A queued tunnel's turn. Its definition is looked up now, so a refresh
// while it waited applies; a definition that is gone fails it.
bool TunnelManager::StartQueuedPhase1(const AdmissionQueue::Ticket& ticket) {
  Phase1Tunnel* t = Phase1ByRef(ticket.number, 0);
  if (t == nullptr || t->serial != ticket.serial) return false;
  const db::IkeTunnel* def = database_ ? database_->FindIkeTunnel(t->name) : nullptr;
  if (t->status == TunnelStatus::kActive && t->replacing) {  // a queued re-establishment
    if (def == nullptr || !isakmpd_.connected()) {
      t->replacing = false;
      return false;
    }
    SendPhase1Request(*t, *def);
    return true;
  }
  if (t->status != TunnelStatus::kNegotiating) return false;
  if (def == nullptr) {
    FailPhase1(*t, "the definition of " + t->name + " is no longer in the database",
               ipc::DATABASE_ERROR);
    return false;
  }
  SendPhase1Request(*t, *def);
  return true;
}

// A negotiation ended (established, failed or removed): start the oldest
// queued ones that the limits allow.
void TunnelManager::ReleasePhase1Slot(uint32_t number) {
  if (database_) UpdateAdmissionLimits();
  admission_.Release(number,
                     [this](const AdmissionQueue::Ticket& t) { return StartQueuedPhase1(t); });
}

void TunnelManager::SendPhase2Request(Phase2Tunnel& t, bool rekey) {
  const db::IpsecTunnel* def = database_->FindIpsecTunnel(t.name);
  const db::IkeTunnel* ike = def ? database_->FindIkeTunnel(def->ike_tunnel()) : nullptr;
  if (def == nullptr || ike == nullptr) {
    const std::string reason = "the definition of " + t.name + " is no longer in the database";
    return rekey ? RekeyFailed(t, reason) : FailPhase2(t, reason, ipc::DATABASE_ERROR);
  }
  ipc::Envelope e;
  ipc::Phase2Request* q = e.mutable_phase2_request();
  q->set_tunnel(t.number);
  q->set_phase1_tunnel(t.phase1_number);
  *q->mutable_definition() = *def;
  if (const db::IpsecProtection* p = database_->FindIpsecProtection(def->protection())) {
    *q->mutable_protection() = *p;
  }
  *q->mutable_phase1_definition() = *ike;
  q->set_rekey(rekey);
  if (!rekey) CountStarted(t);
  SendToIsakmpd(std::move(e), 2, t.number, t.serial, rekey);
  if (rekey) {
    LOG_EVENT("%s: rekey request sent to isakmpd (phase 1 tunnel %u)", Tag(t).c_str(),
              t.phase1_number);
    return;
  }
  t.phase2_requested = true;
  LOG_EVENT("%s: activating %s (step 4: phase 2 request sent to isakmpd)", Tag(t).c_str(),
            def->name().c_str());
}

}  // namespace ike::tmd
