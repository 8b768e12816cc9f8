// Semantic validation of the tunnel database. Every message names the object
// (kind and name), the field and the reason, so an administrator can fix the
// file from the one line tmd prints at start-up (conventions.md "Daemons").
#include "tunneldb/validate.h"

#include <cctype>
#include <initializer_list>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "common/address.h"
#include "tunneldb/database.h"

namespace ike::tunneldb {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

// One step of a path into the database: a field and, for repeated fields,
// the element index (-1 for singular fields).
struct Step {
  const char* field;
  int index;
};
using Path = std::vector<Step>;

class Validator {
 public:
  Validator(const db::TunnelDatabase& d, const SourceMap& sources) : d_(d), sources_(sources) {}

  std::vector<std::string> Run() {
    // Hash sets keep the reference checks linear for 20,000-tunnel databases.
    for (const auto& x : d_.ike_tunnel()) ike_tunnel_names_.insert(x.name());
    for (const auto& x : d_.ike_protection()) ike_protection_names_.insert(x.name());
    for (const auto& x : d_.ipsec_protection()) ipsec_protection_names_.insert(x.name());
    CheckSettings();
    CheckNames();
    for (int i = 0; i < d_.ike_protection_size(); ++i) CheckIkeProtection(i);
    for (int i = 0; i < d_.ipsec_protection_size(); ++i) CheckIpsecProtection(i);
    for (int i = 0; i < d_.ike_tunnel_size(); ++i) CheckIkeTunnel(i);
    CheckEndpointsUnique();
    for (int i = 0; i < d_.ipsec_tunnel_size(); ++i) CheckIpsecTunnel(i);
    return std::move(errors_);
  }

 private:
  // "file:line:col" of the deepest element of |path| the parser saw; the
  // first step (a top-level object) picks the file through the source map.
  std::string Where(const Path& path) const {
    const SourceMap::Place place =
        sources_.Locate(path.empty() ? "" : path.front().field, path.empty() ? -1 : path[0].index);
    const std::string& file = *place.file;
    const TextFormat::ParseInfoTree* tree = place.tree;
    const Descriptor* desc = db::TunnelDatabase::descriptor();
    TextFormat::ParseLocation best;
    for (size_t k = 0; k < path.size(); ++k) {
      const Step& step = path[k];
      if (tree == nullptr || desc == nullptr) break;
      const FieldDescriptor* fd = desc->FindFieldByName(step.field);
      if (fd == nullptr) break;
      const int index = k == 0 ? place.index : step.index;
      TextFormat::ParseLocation loc = tree->GetLocation(fd, fd->is_repeated() ? index : -1);
      if (loc.line < 0) break;
      best = loc;
      if (fd->type() != FieldDescriptor::TYPE_MESSAGE) break;
      tree = tree->GetTreeForNested(fd, fd->is_repeated() ? index : -1);
      desc = fd->message_type();
    }
    if (best.line < 0) return file;
    return file + ":" + std::to_string(best.line + 1) + ":" + std::to_string(best.column + 1);
  }

  void Fail(const Path& path, const std::string& object, const std::string& field,
            const std::string& reason) {
    std::string line = Where(path) + ": " + object;
    if (!field.empty()) line += ": " + field;
    errors_.push_back(line + ": " + reason);
  }

  static std::string Object(const char* kind, const std::string& name) {
    return std::string(kind) + " \"" + name + "\"";
  }

  void CheckSettings();
  void CheckNames();
  void CheckUnique(const char* kind, const std::vector<std::string>& names,
                   std::unordered_set<std::string>* seen, const char* seen_kind);
  void CheckIkeProtection(int i);
  void CheckIkeProposal(int i, int p);
  void CheckIpsecProtection(int i);
  void CheckIpsecProposal(int i, int p);
  void CheckIkeTunnel(int i);
  void CheckEndpointsUnique();
  void CheckIdentity(int i, const char* field, const db::Identity& id);
  void CheckIpsecTunnel(int i);
  void CheckDynamicPeer(int i);
  void CheckProtocolAndPorts(int i, const db::IpsecTunnel& t);
  void CheckTransport(int i, const std::optional<AddressRange>& local,
                      const std::optional<AddressRange>& remote);
  std::optional<AddressRange> CheckSelector(int i, const char* field, const db::Selector& s);
  void CheckLifetime(const Path& path, const std::string& object, uint32_t seconds);
  // AES (128/192/256, 0 = default) or 3DES (192 or 0); |names| lists both.
  void CheckCipher(const Path& base, const std::string& object, bool aes, bool des3,
                   uint32_t key_length, const char* names);
  // |allow_none|: DH_GROUP_NONE is valid (PFS off).
  void CheckDhGroup(const Path& path, const std::string& object, const char* field,
                    db::DhGroup group, bool allow_none);

  const db::TunnelDatabase& d_;
  const SourceMap& sources_;
  std::vector<std::string> errors_;
  std::unordered_set<std::string> ike_tunnel_names_;
  std::unordered_set<std::string> ike_protection_names_;
  std::unordered_set<std::string> ipsec_protection_names_;
};

void Validator::CheckSettings() {
  const db::Settings& s = d_.settings();
  for (int i = 0; i < s.listen_address_size(); ++i) {
    if (!IpAddress::Parse(s.listen_address(i))) {
      Fail({{"settings", -1}, {"listen_address", i}}, "settings", "listen_address",
           "\"" + s.listen_address(i) + "\" is not an IP address");
    }
  }
  if (s.ike_port() > 65535) {
    Fail({{"settings", -1}, {"ike_port", -1}}, "settings", "ike_port",
         std::to_string(s.ike_port()) + " is not a UDP port");
  }
  if (s.min_lifetime_seconds() != 0 && s.min_lifetime_seconds() < kMinLifetimeFloor) {
    Fail({{"settings", -1}, {"min_lifetime_seconds", -1}}, "settings", "min_lifetime_seconds",
         std::to_string(s.min_lifetime_seconds()) + " s is too short (at least " +
             std::to_string(kMinLifetimeFloor) + " s, 0 = default " +
             std::to_string(kMinLifetimeSeconds) + " s)");
  }
  if (!db::NatTraversal_IsValid(s.nat_traversal())) {
    Fail({{"settings", -1}, {"nat_traversal", -1}}, "settings", "nat_traversal",
         std::to_string(s.nat_traversal()) + " is not NAT_TRAVERSAL_ON or NAT_TRAVERSAL_OFF");
  }
  if (s.nat_keepalive_seconds() > kMaxNatKeepaliveSeconds) {
    Fail({{"settings", -1}, {"nat_keepalive_seconds", -1}}, "settings", "nat_keepalive_seconds",
         std::to_string(s.nat_keepalive_seconds()) + " s is too long (at most " +
             std::to_string(kMaxNatKeepaliveSeconds) + " s; 0 = none)");
  }
  if (!db::StateNames_IsValid(s.state_names())) {
    Fail({{"settings", -1}, {"state_names", -1}}, "settings", "state_names",
         std::to_string(s.state_names()) +
             " is not STATE_NAMES_AIX, STATE_NAMES_IOS or STATE_NAMES_ASA");
  }
  if (!db::Fragmentation_IsValid(s.fragmentation())) {
    Fail({{"settings", -1}, {"fragmentation", -1}}, "settings", "fragmentation",
         std::to_string(s.fragmentation()) +
             " is not FRAGMENTATION_ON, FRAGMENTATION_OFF or FRAGMENTATION_FORCE");
  }
  if (s.fragment_size() != 0 &&
      (s.fragment_size() < kMinFragmentSize || s.fragment_size() > kMaxFragmentSize)) {
    Fail({{"settings", -1}, {"fragment_size", -1}}, "settings", "fragment_size",
         std::to_string(s.fragment_size()) + " octets is outside " +
             std::to_string(kMinFragmentSize) + ".." + std::to_string(kMaxFragmentSize) +
             " (an IP datagram, headers included; 0 = default " +
             std::to_string(kDefaultFragmentSize) + ")");
  }
  // isakmpd runs with / as its working directory: a relative path would
  // put the keys somewhere nobody looks.
  if (!s.ike_key_log().empty() && (s.ike_key_log()[0] != '/' || s.ike_key_log().back() == '/')) {
    Fail({{"settings", -1}, {"ike_key_log", -1}}, "settings", "ike_key_log",
         "\"" + s.ike_key_log() +
             "\" is not an absolute file path (e.g. /var/tmp/ike-keys.txt; empty = off)");
  }
  // A per-peer cap above the total cap would never apply: most likely the
  // two numbers were swapped or max_negotiations was forgotten.
  const uint32_t total = s.max_negotiations() ? s.max_negotiations() : kDefaultMaxNegotiations;
  if (s.has_max_negotiations_per_peer() && s.max_negotiations_per_peer() > total) {
    Fail({{"settings", -1}, {"max_negotiations_per_peer", -1}}, "settings",
         "max_negotiations_per_peer",
         std::to_string(s.max_negotiations_per_peer()) + " is more than max_negotiations (" +
             std::to_string(total) + "); use at most " + std::to_string(total) +
             ", or 0 for no per-peer cap");
  }
}

void Validator::CheckUnique(const char* kind, const std::vector<std::string>& names,
                            std::unordered_set<std::string>* seen, const char* seen_kind) {
  std::unordered_set<std::string> own;
  for (size_t i = 0; i < names.size(); ++i) {
    const int idx = static_cast<int>(i);
    if (names[i].empty()) {
      Fail({{kind, idx}}, std::string(kind) + " #" + std::to_string(i + 1), "name", "missing");
    } else if (!own.insert(names[i]).second) {
      Fail({{kind, idx}, {"name", -1}}, Object(kind, names[i]), "name", "defined twice");
    } else if (seen != nullptr && !seen->insert(names[i]).second) {
      // namelist= selects ike and ipsec tunnels by name, so the two share one
      // name space.
      Fail({{kind, idx}, {"name", -1}}, Object(kind, names[i]), "name",
           std::string("already used by an ") + seen_kind);
    }
  }
}

void Validator::CheckNames() {
  auto names = [](const auto& repeated) {
    std::vector<std::string> out;
    for (const auto& o : repeated) out.push_back(o.name());
    return out;
  };
  std::unordered_set<std::string> tunnels;
  CheckUnique("ike_protection", names(d_.ike_protection()), nullptr, "");
  CheckUnique("ipsec_protection", names(d_.ipsec_protection()), nullptr, "");
  CheckUnique("ike_tunnel", names(d_.ike_tunnel()), &tunnels, "");
  CheckUnique("ipsec_tunnel", names(d_.ipsec_tunnel()), &tunnels, "ike_tunnel");
}

void Validator::CheckLifetime(const Path& path, const std::string& object, uint32_t seconds) {
  // A lifetime under a minute would have the daemons rekeying constantly;
  // settings.min_lifetime_seconds lowers the floor for tests.
  const uint32_t minimum = MinLifetimeSeconds(d_.settings());
  if (seconds != 0 && seconds < minimum) {
    Fail(path, object, "lifetime_seconds",
         std::to_string(seconds) + " s is too short (minimum " + std::to_string(minimum) +
             " s, settings.min_lifetime_seconds; 0 = default)");
  }
}

void Validator::CheckCipher(const Path& base, const std::string& object, bool aes, bool des3,
                            uint32_t key_length, const char* names) {
  auto at = [&](const char* f) {
    Path p = base;
    p.push_back({f, -1});
    return p;
  };
  if (aes) {
    if (key_length != 0 && key_length != 128 && key_length != 192 && key_length != 256) {
      Fail(at("key_length"), object, "key_length",
           std::to_string(key_length) + " is not an AES key length (128, 192 or 256)");
    }
  } else if (des3) {
    if (key_length != 0 && key_length != 192) {
      Fail(at("key_length"), object, "key_length", "3DES has a fixed 192-bit key");
    }
  } else {
    Fail(at("encryption"), object, "encryption", std::string("must be ") + names);
  }
}

void Validator::CheckDhGroup(const Path& path, const std::string& object, const char* field,
                             db::DhGroup group, bool allow_none) {
  switch (group) {
    case db::MODP_1024:
    case db::MODP_1536:
    case db::MODP_2048:
    case db::MODP_3072:
    case db::MODP_4096:
    case db::ECP_256:
    case db::ECP_384:
    case db::ECP_521:
    case db::MODP_2048_256:
      return;
    case db::MODP_768:
      Fail(path, object, field,
           "MODP_768 (group 1) is refused: 768-bit Diffie-Hellman is broken (RFC 4109 "
           "dropped it); use MODP_2048 or stronger");
      return;
    case db::DH_GROUP_NONE:
      if (allow_none) return;
      break;
    default:
      break;
  }
  Fail(path, object, field,
       std::string("must be ") + (allow_none ? "DH_GROUP_NONE, " : "") +
           "MODP_1024, MODP_1536, MODP_2048, MODP_3072, MODP_4096, ECP_256, ECP_384, ECP_521 or "
           "MODP_2048_256");
}

void Validator::CheckIkeProtection(int i) {
  const db::IkeProtection& p = d_.ike_protection(i);
  if (p.proposal_size() == 0) {
    Fail({{"ike_protection", i}}, Object("ike_protection", p.name()), "proposal",
         "at least one proposal is needed");
  }
  for (int j = 0; j < p.proposal_size(); ++j) CheckIkeProposal(i, j);
  // Aggressive Mode sends KE with the offer (RFC 2409 5): one group for all.
  if (p.mode() == db::AGGRESSIVE) {
    for (int j = 1; j < p.proposal_size(); ++j) {
      if (p.proposal(j).dh_group() == p.proposal(0).dh_group()) continue;
      Fail({{"ike_protection", i}, {"proposal", j}, {"dh_group", -1}},
           Object("ike_protection", p.name()), "proposal[" + std::to_string(j) + "].dh_group",
           "differs from proposal[0].dh_group: Aggressive Mode cannot negotiate the group "
           "(its key exchange travels with the offer)");
    }
  }
}

void Validator::CheckIkeProposal(int i, int j) {
  const db::IkeProposal& p = d_.ike_protection(i).proposal(j);
  const std::string object =
      Object("ike_protection", d_.ike_protection(i).name()) + " proposal " + std::to_string(j + 1);
  auto at = [&](const char* f) { return Path{{"ike_protection", i}, {"proposal", j}, {f, -1}}; };
  CheckCipher({{"ike_protection", i}, {"proposal", j}}, object, p.encryption() == db::AES_CBC,
              p.encryption() == db::DES3_CBC, p.key_length(), "AES_CBC or DES3_CBC");
  switch (p.hash()) {
    case db::SHA1:
    case db::SHA2_256:
    case db::SHA2_384:
    case db::SHA2_512:
      break;
    default:
      Fail(at("hash"), object, "hash", "must be SHA1, SHA2_256, SHA2_384 or SHA2_512");
  }
  if (p.auth_method() == db::RSA_SIGNATURE) {
    Fail(at("auth_method"), object, "auth_method", "RSA_SIGNATURE is not supported yet");
  } else if (p.auth_method() != db::PRESHARED_KEY &&
             p.auth_method() != db::AUTH_METHOD_UNSPECIFIED) {
    Fail(at("auth_method"), object, "auth_method", "must be PRESHARED_KEY");
  }
  CheckDhGroup(at("dh_group"), object, "dh_group", p.dh_group(), /*allow_none=*/false);
  CheckLifetime(at("lifetime_seconds"), object, p.lifetime_seconds());
}

void Validator::CheckIpsecProtection(int i) {
  const db::IpsecProtection& p = d_.ipsec_protection(i);
  const std::string object = Object("ipsec_protection", p.name());
  if (p.proposal_size() == 0) {
    Fail({{"ipsec_protection", i}}, object, "proposal", "at least one proposal is needed");
  }
  for (int j = 0; j < p.proposal_size(); ++j) CheckIpsecProposal(i, j);
  CheckDhGroup({{"ipsec_protection", i}, {"pfs_group", -1}}, object, "pfs_group", p.pfs_group(),
               /*allow_none=*/true);
  CheckLifetime({{"ipsec_protection", i}, {"lifetime_seconds", -1}}, object, p.lifetime_seconds());
}

void Validator::CheckIpsecProposal(int i, int j) {
  const db::IpsecProposal& p = d_.ipsec_protection(i).proposal(j);
  const std::string object = Object("ipsec_protection", d_.ipsec_protection(i).name()) +
                             " proposal " + std::to_string(j + 1);
  auto at = [&](const char* f) { return Path{{"ipsec_protection", i}, {"proposal", j}, {f, -1}}; };
  if (p.encryption() == db::ESP_AES_GCM_16) {
    // RFC 4106: the ICV is GCM's own; 192-bit keys are not used with it in
    // IKEv1 practice (strongSwan, Cisco and the kernel offer 128 and 256).
    if (p.key_length() != 0 && p.key_length() != 128 && p.key_length() != 256) {
      Fail(at("key_length"), object, "key_length",
           std::to_string(p.key_length()) + " is not an AES-GCM key length (128 or 256)");
    }
    if (p.integrity() != db::ESP_INTEGRITY_UNSPECIFIED) {
      Fail(at("integrity"), object, "integrity",
           "ESP_AES_GCM_16 authenticates by itself: leave integrity out");
    }
    return;
  }
  CheckCipher({{"ipsec_protection", i}, {"proposal", j}}, object, p.encryption() == db::ESP_AES_CBC,
              p.encryption() == db::ESP_3DES, p.key_length(),
              "ESP_AES_CBC, ESP_AES_GCM_16 or ESP_3DES");
  switch (p.integrity()) {
    case db::HMAC_SHA1:
    case db::HMAC_SHA2_256:
    case db::HMAC_SHA2_384:
    case db::HMAC_SHA2_512:
      break;
    default:
      Fail(at("integrity"), object, "integrity",
           "must be HMAC_SHA1, HMAC_SHA2_256, HMAC_SHA2_384 or HMAC_SHA2_512");
  }
}

void Validator::CheckIdentity(int i, const char* field, const db::Identity& id) {
  const std::string object = Object("ike_tunnel", d_.ike_tunnel(i).name());
  const Path at{{"ike_tunnel", i}, {field, -1}, {"value", -1}};
  const std::string name = std::string(field) + ".value";
  switch (id.type()) {
    case db::ID_TYPE_UNSPECIFIED:
      if (!id.value().empty()) Fail(at, object, std::string(field) + ".type", "missing");
      break;
    case db::IPV4_ADDR:
    case db::IPV6_ADDR: {
      auto a = IpAddress::Parse(id.value());
      const int want = id.type() == db::IPV4_ADDR ? 4 : 16;
      if (!a || static_cast<int>(a->size()) != want) {
        Fail(at, object, name,
             "\"" + id.value() + "\" is not an IPv" + (want == 4 ? "4" : "6") + " address");
      }
      break;
    }
    case db::FQDN:
    case db::USER_FQDN:
    case db::KEY_ID:
      if (id.value().empty()) Fail(at, object, name, "missing");
      break;
    default:
      Fail(at, object, std::string(field) + ".type", "unknown identity type");
  }
}

void Validator::CheckIkeTunnel(int i) {
  const db::IkeTunnel& t = d_.ike_tunnel(i);
  const std::string object = Object("ike_tunnel", t.name());
  std::optional<IpAddress> local, remote;
  auto address = [&](const char* field, const std::string& text, std::optional<IpAddress>* out) {
    *out = IpAddress::Parse(text);
    if (!*out) {
      Fail({{"ike_tunnel", i}, {field, -1}}, object, field,
           text.empty() ? "missing" : "\"" + text + "\" is not an IP address");
    }
  };
  address("local_address", t.local_address(), &local);
  address("remote_address", t.remote_address(), &remote);
  if (local && remote && local->family != remote->family) {
    Fail({{"ike_tunnel", i}, {"remote_address", -1}}, object, "remote_address",
         "address family differs from local_address");
  }
  CheckIdentity(i, "local_id", t.local_id());
  CheckIdentity(i, "remote_id", t.remote_id());
  if (t.protection().empty()) {
    Fail({{"ike_tunnel", i}}, object, "protection", "missing");
  } else {
    if (!ike_protection_names_.contains(t.protection())) {
      Fail({{"ike_tunnel", i}, {"protection", -1}}, object, "protection",
           "no ike_protection named \"" + t.protection() + "\"");
    }
  }
  if (IsDynamicPeer(t)) CheckDynamicPeer(i);
  const db::DeadPeerDetection& dpd = t.dpd();
  if (dpd.interval_seconds() != 0 && (dpd.interval_seconds() < kMinDpdIntervalSeconds ||
                                      dpd.interval_seconds() > kMaxDpdIntervalSeconds)) {
    Fail({{"ike_tunnel", i}, {"dpd", -1}}, object, "dpd.interval_seconds",
         std::to_string(dpd.interval_seconds()) + " is outside " +
             std::to_string(kMinDpdIntervalSeconds) + " to " +
             std::to_string(kMaxDpdIntervalSeconds) + " seconds (0 = default " +
             std::to_string(kDefaultDpdIntervalSeconds) + ")");
  }
  if (dpd.retries() > kMaxDpdRetries) {
    Fail({{"ike_tunnel", i}, {"dpd", -1}}, object, "dpd.retries",
         std::to_string(dpd.retries()) + " is more than " + std::to_string(kMaxDpdRetries) +
             " (0 = default " + std::to_string(kDefaultDpdRetries) + ")");
  }
}

// remote_address 0.0.0.0 or :: (tunneldb::IsDynamicPeer): a peer that comes
// from any address, found by its identity, which only Aggressive Mode
// carries before the key is needed (Main Mode sends it in message 5,
// encrypted with a key derived from the pre-shared key).
void Validator::CheckDynamicPeer(int i) {
  const db::IkeTunnel& t = d_.ike_tunnel(i);
  const std::string object = Object("ike_tunnel", t.name());
  const std::string any = "remote_address " + t.remote_address() + " (any)";
  const db::IkeProtection* protection = nullptr;
  for (const auto& p : d_.ike_protection())
    if (p.name() == t.protection()) protection = &p;
  if (protection != nullptr && protection->mode() != db::AGGRESSIVE) {
    Fail({{"ike_tunnel", i}, {"protection", -1}}, object, "protection",
         any + " needs an ike_protection with mode AGGRESSIVE (\"" + t.protection() +
             "\" is MAIN): only Aggressive Mode names the peer before its key is needed");
  }
  const db::IdType id = t.remote_id().type();
  if (id != db::FQDN && id != db::USER_FQDN && id != db::KEY_ID) {
    Fail({{"ike_tunnel", i}, {"remote_id", -1}}, object, "remote_id",
         any + " needs a remote_id of type FQDN, USER_FQDN or KEY_ID: the peer is found by it");
  }
  // The responder finds a dynamic peer's definition by its identity alone
  // (case-insensitively, as isakmpd compares them): two would be ambiguous.
  auto lower = [](std::string v) {
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  for (int j = 0; j < i; ++j) {
    const db::IkeTunnel& other = d_.ike_tunnel(j);
    if (!IsDynamicPeer(other) || other.local_address() != t.local_address() ||
        other.remote_id().type() != id ||
        lower(other.remote_id().value()) != lower(t.remote_id().value()))
      continue;
    Fail({{"ike_tunnel", i}, {"remote_id", -1}}, object, "remote_id",
         "\"" + t.remote_id().value() + "\" already names the peer of ike_tunnel \"" +
             other.name() +
             "\", also without a fixed address: the responder could not tell them apart");
    break;
  }
  if (t.autostart()) {
    Fail({{"ike_tunnel", i}, {"autostart", -1}}, object, "autostart",
         any + ": there is no address to start it towards; the peer comes in");
  }
  const db::DpdAction action = t.dpd().action();
  if (action == db::DPD_HOLD || action == db::DPD_RESTART) {
    Fail({{"ike_tunnel", i}, {"dpd", -1}}, object, "dpd.action",
         any +
             ": HOLD and RESTART negotiate again towards the peer; use DPD_CLEAR (the "
             "default here)");
  }
  for (int j = 0; j < d_.ipsec_tunnel_size(); ++j) {
    const db::IpsecTunnel& child = d_.ipsec_tunnel(j);
    if (child.ike_tunnel() != t.name()) continue;
    const std::string child_object = Object("ipsec_tunnel", child.name());
    if (child.autostart()) {
      Fail(
          {{"ipsec_tunnel", j}, {"autostart", -1}}, child_object, "autostart",
          "its ike_tunnel \"" + t.name() + "\" has " + any + ": nothing can be started towards it");
    }
    if (child.activation() == db::ON_DEMAND || child.activation() == db::DISCOVERY) {
      Fail({{"ipsec_tunnel", j}, {"activation", -1}}, child_object, "activation",
           "its ike_tunnel \"" + t.name() + "\" has " + any +
               ": traffic cannot start a negotiation towards it (use MANUAL)");
    }
  }
}

// isakmpd finds the definition for a peer's Main Mode 1 by its (local,
// remote) endpoints: of two ike_tunnels with the same pair, the second could
// never be chosen as responder (issue 7, hole 4.l).
void Validator::CheckEndpointsUnique() {
  std::unordered_map<std::string, int> first;  // "local|remote" -> index
  for (int i = 0; i < d_.ike_tunnel_size(); ++i) {
    const db::IkeTunnel& t = d_.ike_tunnel(i);
    const auto local = IpAddress::Parse(t.local_address());
    const auto remote = IpAddress::Parse(t.remote_address());
    if (!local || !remote) continue;  // already reported
    if (IsDynamicPeer(t)) continue;   // found by identity, never by address
    auto [it, fresh] = first.emplace(local->ToString() + "|" + remote->ToString(), i);
    if (fresh) continue;
    const db::IkeTunnel& earlier = d_.ike_tunnel(it->second);
    Fail({{"ike_tunnel", i}, {"remote_address", -1}}, Object("ike_tunnel", t.name()),
         "remote_address",
         "local " + t.local_address() + " and remote " + t.remote_address() +
             " are already the endpoints of ike_tunnel \"" + earlier.name() + "\" (" +
             Where({{"ike_tunnel", it->second}}) +
             "); as responder isakmpd could never choose this one");
  }
}

std::optional<AddressRange> Validator::CheckSelector(int i, const char* field,
                                                     const db::Selector& s) {
  const std::string object = Object("ipsec_tunnel", d_.ipsec_tunnel(i).name());
  std::string text;
  const char* kind = nullptr;
  switch (s.kind_case()) {
    case db::Selector::kAddress:
      text = s.address();
      kind = "address";
      break;
    case db::Selector::kSubnet:
      text = s.subnet();
      kind = "subnet";
      break;
    case db::Selector::kRange:
      text = s.range();
      kind = "range";
      break;
    default:
      Fail({{"ipsec_tunnel", i}, {field, -1}}, object, field,
           "exactly one of address, subnet or range is needed");
      return std::nullopt;
  }
  const std::string name = std::string(field) + "." + kind;
  const Path at{{"ipsec_tunnel", i}, {field, -1}, {kind, -1}};
  Result<AddressRange> r = AddressRange::Parse(text);
  if (!r.ok()) {
    Fail(at, object, name, "\"" + text + "\": " + r.error().message);
    return std::nullopt;
  }
  const bool has_slash = text.find('/') != std::string::npos;
  const bool has_dash = text.find('-') != std::string::npos;
  if ((s.kind_case() == db::Selector::kAddress && (has_slash || has_dash)) ||
      (s.kind_case() == db::Selector::kSubnet && !has_slash) ||
      (s.kind_case() == db::Selector::kRange && !has_dash)) {
    Fail(at, object, name, "\"" + text + "\" is not written as a " + kind);
  }
  if (s.protocol() > 255) {
    Fail({{"ipsec_tunnel", i}, {field, -1}, {"protocol", -1}}, object,
         std::string(field) + ".protocol", std::to_string(s.protocol()) + " is not an IP protocol");
  }
  if (s.port() > 65535) {
    Fail({{"ipsec_tunnel", i}, {field, -1}, {"port", -1}}, object, std::string(field) + ".port",
         std::to_string(s.port()) + " is not a port");
  }
  return r.value();
}

void Validator::CheckIpsecTunnel(int i) {
  const db::IpsecTunnel& t = d_.ipsec_tunnel(i);
  const std::string object = Object("ipsec_tunnel", t.name());
  auto reference = [&](const char* field, const std::string& value, const char* target,
                       bool exists) {
    if (value.empty()) {
      Fail({{"ipsec_tunnel", i}}, object, field, "missing");
    } else if (!exists) {
      Fail({{"ipsec_tunnel", i}, {field, -1}}, object, field,
           std::string("no ") + target + " named \"" + value + "\"");
    }
  };
  reference("ike_tunnel", t.ike_tunnel(), "ike_tunnel", ike_tunnel_names_.contains(t.ike_tunnel()));
  reference("protection", t.protection(), "ipsec_protection",
            ipsec_protection_names_.contains(t.protection()));
  auto local = CheckSelector(i, "local", t.local());
  auto remote = CheckSelector(i, "remote", t.remote());
  if (local && remote && local->first.family != remote->first.family) {
    Fail({{"ipsec_tunnel", i}, {"remote", -1}}, object, "remote",
         "address family differs from local");
  }
  CheckProtocolAndPorts(i, t);
  if (t.mode() == db::ESP_TRANSPORT) CheckTransport(i, local, remote);
}

// One protocol per tunnel, as an AIX filter rule has (both IDs of a Quick
// Mode carry it, RFC 2407 4.6.2); ports only where the protocol has them.
void Validator::CheckProtocolAndPorts(int i, const db::IpsecTunnel& t) {
  const std::string object = Object("ipsec_tunnel", t.name());
  const uint32_t local = t.local().protocol(), remote = t.remote().protocol();
  if (local != 0 && remote != 0 && local != remote) {
    Fail({{"ipsec_tunnel", i}, {"remote", -1}, {"protocol", -1}}, object, "remote.protocol",
         std::to_string(remote) + " differs from local.protocol " + std::to_string(local) +
             " (a tunnel's selectors name one protocol)");
  }
  const uint32_t protocol = local != 0 ? local : remote;
  const bool has_ports = protocol == 6 || protocol == 17 || protocol == 132;  // TCP, UDP, SCTP
  for (const char* field : {"local", "remote"}) {
    const db::Selector& s = field[0] == 'l' ? t.local() : t.remote();
    if (s.port() != 0 && !has_ports) {
      Fail({{"ipsec_tunnel", i}, {field, -1}, {"port", -1}}, object, std::string(field) + ".port",
           "a port needs protocol 6 (TCP), 17 (UDP) or 132 (SCTP), not " +
               (protocol == 0 ? std::string("any protocol") : std::to_string(protocol)));
    }
  }
}

// Transport mode protects the endpoints' own traffic: each selector is one
// address, the phase 1 tunnel's (RFC 2401 4.1: a gateway's transit traffic
// needs tunnel mode).
void Validator::CheckTransport(int i, const std::optional<AddressRange>& local,
                               const std::optional<AddressRange>& remote) {
  const db::IpsecTunnel& t = d_.ipsec_tunnel(i);
  const std::string object = Object("ipsec_tunnel", t.name());
  const db::IkeTunnel* ike = nullptr;
  for (const auto& k : d_.ike_tunnel())
    if (k.name() == t.ike_tunnel()) ike = &k;
  if (ike == nullptr || !local || !remote) return;  // reported already
  if (IsDynamicPeer(*ike)) {
    Fail({{"ipsec_tunnel", i}, {"mode", -1}}, object, "mode",
         "ESP_TRANSPORT needs the peer's address; ike_tunnel \"" + ike->name() +
             "\" has remote_address " + ike->remote_address() + " (any)");
    return;
  }
  auto is = [](const AddressRange& r, const std::string& address) {
    auto a = IpAddress::Parse(address);
    return a && r.first == *a && r.last == *a;
  };
  if (!is(*local, ike->local_address())) {
    Fail({{"ipsec_tunnel", i}, {"local", -1}}, object, "local",
         "ESP_TRANSPORT protects the endpoints' own traffic: local must be the address " +
             ike->local_address() + " (local_address of ike_tunnel \"" + ike->name() + "\")");
  }
  if (!is(*remote, ike->remote_address())) {
    Fail({{"ipsec_tunnel", i}, {"remote", -1}}, object, "remote",
         "ESP_TRANSPORT protects the endpoints' own traffic: remote must be the address " +
             ike->remote_address() + " (remote_address of ike_tunnel \"" + ike->name() + "\")");
  }
}

}  // namespace

std::vector<std::string> ValidateDatabase(const db::TunnelDatabase& database,
                                          const TextFormat::ParseInfoTree* tree,
                                          std::string_view file_name) {
  const SourceMap sources(file_name, tree);
  return Validator(database, sources).Run();
}

std::vector<std::string> ValidateDatabase(const db::TunnelDatabase& database,
                                          const SourceMap& sources) {
  return Validator(database, sources).Run();
}

SourceMap::SourceMap(std::string_view file, const TextFormat::ParseInfoTree* tree) : single_(true) {
  files_.push_back({std::string(file), tree});
}

int SourceMap::AddFile(std::string_view file, const TextFormat::ParseInfoTree* tree) {
  files_.push_back({std::string(file), tree});
  return static_cast<int>(files_.size()) - 1;
}

void SourceMap::Append(std::string_view field, int file, int index) {
  objects_[std::string(field)].push_back({file, index});
}

SourceMap::Place SourceMap::Locate(std::string_view field, int index) const {
  static const std::string kNoFile;
  if (files_.empty()) return {&kNoFile, nullptr, -1};
  if (single_) return {&files_[0].name, files_[0].tree, index};
  auto it = objects_.find(std::string(field));
  // settings is singular: its one entry, whatever |index| says (-1).
  const int at = index < 0 ? 0 : index;
  if (it == objects_.end() || at >= static_cast<int>(it->second.size()))
    return {&files_[0].name, nullptr, -1};
  const Origin& o = it->second[at];
  return {&files_[o.file].name, files_[o.file].tree, o.index};
}

}  // namespace ike::tunneldb
