// ike cmd=list: the rows are built from the compact tunnels only when asked,
// in chunks so a listing of 20,000 tunnels never holds tmd's loop for long
// (the service sends one ListReply per chunk; conventions.md).
#include <sys/socket.h>

#include <limits>

#include "common/selector.h"
#include "tmd/core/tunnel_manager.h"

namespace ike::tmd {
namespace {

// An identity that is an address has that address's type; any other is
// named by its definition (TunnelManager::AddIdTypes).
ipc::IdentityType AddressIdType(const AddressText& id) {
  if (!id.value()) return ipc::IDENTITY_TYPE_UNSPECIFIED;
  return id.value()->family == AF_INET6 ? ipc::ID_IPV6_ADDR : ipc::ID_IPV4_ADDR;
}

// A phase 2 id ("first-last") in the type isakmpd sends it as.
ipc::IdentityType RangeIdType(const RangeText& id) {
  return id.value() ? SelectorIdType(*id.value()) : ipc::IDENTITY_TYPE_UNSPECIFIED;
}

// Failed (Clear, Dormant): the failure's kind and time, for the diagnosis.
// Negotiating or Active again: the last failure, if any, as "Last Error".
template <typename Tunnel, typename Row>
void FailureFields(const Tunnel& t, Row* s) {
  if (t.status != TunnelStatus::kNegotiating && t.status != TunnelStatus::kActive) {
    s->set_failure(static_cast<ipc::ErrorCode>(t.failure));
    s->set_failed_unix(t.failed_unix);
  } else if (!t.last_error.empty()) {
    s->set_last_error(t.last_error.str());
    s->set_last_error_unix(t.failed_unix);
  }
  if (t.status == TunnelStatus::kNegotiating) s->set_state_unix(t.state_unix);
}

}  // namespace

ipc::Phase1Status Phase1Row(const Phase1Tunnel& t, bool verbose) {
  ipc::Phase1Status s;
  FillPhase1Row(t, verbose, &s);
  return s;
}

ipc::Phase2Status Phase2Row(const Phase2Tunnel& t, bool verbose) {
  ipc::Phase2Status s;
  FillPhase2Row(t, verbose, &s);
  return s;
}

void FillPhase1Row(const Phase1Tunnel& t, bool verbose, ipc::Phase1Status* row) {
  ipc::Phase1Status& s = *row;
  s.set_number(t.number);
  s.set_tunnel_status(ToIpc(t.status));
  s.set_local_id(t.local_id.str());
  s.set_remote_id(t.remote_id.str());
  s.set_reason(t.reason.str());
  if (!verbose) return;
  s.set_name(t.name);
  s.set_phase1_state(t.state);
  s.set_ios_state(static_cast<ipc::IosPhase1State>(t.ios_state));
  s.set_asa_state(static_cast<ipc::AsaPhase1State>(t.asa_state));
  s.set_message(t.message);
  s.set_tunnel_role(t.role);
  s.set_exchange_mode(t.mode);
  s.set_local_address(t.local_address.str());
  s.set_remote_address(t.remote_address.str());
  s.set_icookie(t.icookie.Hex());
  s.set_rcookie(t.rcookie.Hex());
  s.set_encryption_alg(t.encryption);
  s.set_key_length(t.key_length);
  s.set_hash_alg(t.hash);
  s.set_auth(t.auth_method);
  s.set_group(t.dh_group);
  s.set_lifetime_seconds(t.lifetime_seconds);
  s.set_established_unix(t.established_unix);
  s.set_rekey_count(t.rekey_count);
  if (t.status == TunnelStatus::kActive && !t.replacing) s.set_next_rekey_unix(t.rekey_unix);
  FailureFields(t, &s);
  s.set_local_id_type(AddressIdType(t.local_id));
  s.set_remote_id_type(AddressIdType(t.remote_id));
  s.set_nat_t(static_cast<ipc::NatTraversalVersion>(t.nat_t));
  s.set_nat_local(t.nat_local);
  s.set_nat_remote(t.nat_remote);
  s.set_peer_dpd(t.peer_dpd);
}

void FillPhase2Row(const Phase2Tunnel& t, bool verbose, ipc::Phase2Status* row) {
  ipc::Phase2Status& s = *row;
  s.set_number(t.number);
  s.set_phase1_number(t.phase1_number);
  s.set_tunnel_status(ToIpc(t.status));
  s.set_local_id(t.local_id.str());
  s.set_remote_id(t.remote_id.str());
  s.set_reason(t.reason.str());
  if (!verbose) return;
  s.set_name(t.name);
  s.set_phase2_state(t.state);
  s.set_ios_state(static_cast<ipc::IosPhase2State>(t.ios_state));
  FailureFields(t, &s);
  s.set_local_id_type(RangeIdType(t.local_id));
  s.set_remote_id_type(RangeIdType(t.remote_id));
  s.set_message(t.message);
  s.set_tunnel_role(t.role);
  s.set_spi_in(t.spi_in);
  s.set_spi_out(t.spi_out);
  s.set_encryption_alg(t.encryption);
  s.set_key_length(t.key_length);
  s.set_integrity_alg(t.integrity);
  s.set_pfs(t.pfs_group);
  s.set_lifetime_seconds(t.lifetime_seconds);
  s.set_established_unix(t.established_unix);
  s.set_activation(t.activation);
  s.set_retry_unix(t.retry_unix);
  s.set_rekey_count(t.rekey_count);
  if (t.status == TunnelStatus::kActive && !t.rekeying) s.set_next_rekey_unix(t.rekey_unix);
  s.set_lifetime_kbytes(t.lifetime_kbytes);
}

// The tunnel's DPD setting (its definition), beside what the peer announced.
void TunnelManager::AddDpd(const Phase1Tunnel& t, ipc::Phase1Status* row) const {
  const db::DeadPeerDetection* dpd = DpdOf(t);
  if (dpd == nullptr) return;  // off
  row->set_dpd_mode(dpd->mode() ? dpd->mode() : db::DPD_IDLE);
  row->set_dpd_interval_seconds(dpd->interval_seconds());
}

// The types of identities that are not addresses (FQDN, USER_FQDN,
// KEY_ID) come from the definition, when the tunnel still shows its ids.
void TunnelManager::AddIdTypes(const Phase1Tunnel& t, ipc::Phase1Status* row) const {
  const db::IkeTunnel* def = database_ ? database_->FindIkeTunnel(t.name) : nullptr;
  if (def == nullptr) return;
  auto from_definition = [](const db::Identity& id, const std::string& shown) {
    return id.type() != db::ID_TYPE_UNSPECIFIED && tunneldb::IdentityText(id) == shown;
  };
  if (from_definition(def->local_id(), row->local_id()))
    row->set_local_id_type(IdentityTypeOf(def->local_id().type()));
  if (from_definition(def->remote_id(), row->remote_id()))
    row->set_remote_id_type(IdentityTypeOf(def->remote_id().type()));
}

void TunnelManager::AddCounters(const Phase2Tunnel& t, ipc::Phase2Status* row) const {
  for (uint8_t i = 0; i < t.sa_count; ++i) {
    const auto& sa = t.sas[i];
    const std::optional<SaCounters> c = kernel_.Counters(sa.destination, sa.spi);
    if (!c) continue;
    if (sa.spi == t.spi_in) {
      row->set_bytes_in(c->bytes);
      row->set_packets_in(c->packets);
    } else {
      row->set_bytes_out(c->bytes);
      row->set_packets_out(c->packets);
    }
  }
}

// ike cmd=list db: which definitions have a tunnel now (issue 11.1), in
// the database's order, so ike can mark the others Inactive.
void TunnelManager::AddDefinitionStatus(ipc::ListReply* reply) const {
  auto add = [&](uint32_t phase, const std::string& name, const auto& index, const auto& table) {
    ipc::DefinitionStatus* d = reply->add_definition_status();
    d->set_phase(phase);
    d->set_name(name);
    auto it = index.find(name);
    const auto* t = it == index.end() ? nullptr : table.Find(it->second);
    if (t == nullptr) return;
    d->set_status(ToIpc(t->status));
    d->set_tunnel(t->number);
  };
  for (const auto& k : database_->proto().ike_tunnel()) add(1, k.name(), phase1_by_name_, phase1_);
  for (const auto& t : database_->proto().ipsec_tunnel())
    add(2, t.name(), phase2_by_name_, phase2_);
}

ipc::Envelope TunnelManager::List(const ipc::ListRequest& r) const {
  ipc::Envelope out;
  ipc::ListReply* reply = out.mutable_list_reply();
  const std::unordered_set<uint32_t> wanted(r.numlist().begin(), r.numlist().end());
  auto selected = [&](uint32_t n) { return wanted.empty() || wanted.contains(n); };
  if (r.db()) {
    if (database_) {
      *reply->mutable_database() = database_->proto();
      AddDefinitionStatus(reply);
    }
    return out;
  }
  if (r.cache() || r.filters()) {
    // numlist= narrows the kernel tables to those phase 2 tunnels.
    if (r.cache()) {
      for (auto& e : kernel_.ListSas()) {
        if (selected(e.tunnel())) *reply->add_cache() = std::move(e);
      }
    }
    if (r.filters()) {
      for (auto& f : kernel_.ListPolicies()) {
        if (selected(f.tunnel())) *reply->add_filter() = std::move(f);
      }
    }
    return out;
  }
  ListCursor cursor;
  ListChunk(r, &cursor, std::numeric_limits<size_t>::max(), reply);
  return out;
}

// Phase 1 rows before phase 2 rows, each in number order (AIX layout). The
// cursor remembers the last number visited, so a chunk resumes after it even
// if tunnels were added or removed in between.
bool TunnelManager::ListChunk(const ipc::ListRequest& r, ListCursor* cursor, size_t max_rows,
                              ipc::ListReply* out) const {
  // numlist=, namelist= and remid= (issue 11.1): none selects every tunnel;
  // otherwise a tunnel is listed if any one of them selects it.
  const std::unordered_set<uint32_t> wanted(r.numlist().begin(), r.numlist().end());
  const std::unordered_set<std::string> names(r.namelist().begin(), r.namelist().end());
  const bool everything = wanted.empty() && names.empty() && r.remid().empty();
  auto by_remid = [&](const Phase1Tunnel* t) {
    return t != nullptr && !r.remid().empty() && t->remote_id.str() == r.remid();
  };
  auto selected1 = [&](const Phase1Tunnel& t) {
    return everything || wanted.contains(t.number) || names.contains(t.name) || by_remid(&t);
  };
  auto selected2 = [&](const Phase2Tunnel& t) {
    return everything || wanted.contains(t.number) || names.contains(t.name) ||
           by_remid(phase1_.Find(t.phase1_number));
  };
  if (database_) out->set_state_names(database_->proto().settings().state_names());
  size_t rows = 0;
  if (cursor->phase == 1 && r.phase() != 2) {
    for (uint32_t n = phase1_.NextAfter(cursor->after); n != 0; n = phase1_.NextAfter(n)) {
      if (rows == max_rows) return true;
      cursor->after = n;
      const Phase1Tunnel& t = *phase1_.Find(n);
      if (!selected1(t)) continue;
      ipc::Phase1Status* row = out->add_phase1();
      FillPhase1Row(t, r.verbose(), row);
      if (r.verbose()) {
        AddDpd(t, row);
        AddIdTypes(t, row);
      }
      if (r.phase() == 3) cursor->listed1.insert(n);
      ++rows;
    }
  }
  if (cursor->phase == 1) {
    cursor->phase = 2;
    cursor->after = 0;
  }
  if (cursor->phase == 2 && r.phase() != 1) {
    for (uint32_t n = phase2_.NextAfter(cursor->after); n != 0; n = phase2_.NextAfter(n)) {
      if (rows == max_rows) return true;
      cursor->after = n;
      const Phase2Tunnel& t = *phase2_.Find(n);
      // phase=1+: the phase 2 tunnels of the listed phase 1 tunnels.
      const bool keep = r.phase() == 3 ? cursor->listed1.contains(t.phase1_number) : selected2(t);
      if (!keep) continue;
      ipc::Phase2Status* row = out->add_phase2();
      FillPhase2Row(t, r.verbose(), row);
      if (r.verbose()) AddCounters(t, row);
      ++rows;
    }
  }
  cursor->phase = 3;
  return false;
}

}  // namespace ike::tmd
