// Loading the tunnel database: text-format parse, semantic validation
// (validate.cc), then defaults.
#include "tunneldb/database.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/address.h"
#include "tunneldb/validate.h"

namespace ike::tunneldb {
namespace {

using google::protobuf::TextFormat;

// Collects parser errors as "file:line:col: message" (1-based, like compilers).
class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  CollectErrors(std::string_view file, std::vector<std::string>* out) : file_(file), out_(out) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    out_->push_back(file_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) +
                    ": " + message);
  }

 private:
  std::string file_;
  std::vector<std::string>* out_;
};

// Structurally valid UTF-8 (no overlong forms, no surrogates, <= U+10FFFF).
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  auto cont = [&](size_t k, uint8_t lo = 0x80, uint8_t hi = 0xBF) {
    if (i + k >= s.size()) return false;
    const auto b = static_cast<uint8_t>(s[i + k]);
    return b >= lo && b <= hi;
  };
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n = 0;
    bool ok = true;
    if (c < 0x80) {
      n = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 2, ok = cont(1);
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      ok = cont(1, c == 0xE0 ? 0xA0 : 0x80, c == 0xED ? 0x9F : 0xBF) && cont(2);
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      ok = cont(1, c == 0xF0 ? 0x90 : 0x80, c == 0xF4 ? 0x8F : 0xBF) && cont(2) && cont(3);
    } else {
      ok = false;
    }
    if (!ok) return false;
    i += n;
  }
  return true;
}

// Every string field must be UTF-8: the text format accepts escapes such as
// "\377", but proto3 refuses such a string on parse, so isakmpd would refuse
// the ConfigPush carrying it (found by fuzz/tunneldb_fuzz.cc). |tree| (may
// be null) places the error on its line.
void CheckUtf8(const google::protobuf::Message& m, const std::string& path, std::string_view file,
               const TextFormat::ParseInfoTree* tree, std::vector<std::string>* errors) {
  using google::protobuf::FieldDescriptor;
  const auto* reflection = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string name = path.empty() ? f->name() : path + "." + f->name();
    const int count = f->is_repeated() ? reflection->FieldSize(m, f) : 1;
    for (int i = 0; i < count; ++i) {
      const int index = f->is_repeated() ? i : -1;
      const std::string at = f->is_repeated() ? name + "[" + std::to_string(i) + "]" : name;
      if (f->type() == FieldDescriptor::TYPE_MESSAGE) {
        CheckUtf8(f->is_repeated() ? reflection->GetRepeatedMessage(m, f, i)
                                   : reflection->GetMessage(m, f),
                  at, file, tree ? tree->GetTreeForNested(f, index) : nullptr, errors);
      } else if (f->type() == FieldDescriptor::TYPE_STRING &&
                 !ValidUtf8(f->is_repeated() ? reflection->GetRepeatedString(m, f, i)
                                             : reflection->GetString(m, f))) {
        const TextFormat::ParseLocation loc =
            tree ? tree->GetLocation(f, index) : TextFormat::ParseLocation();
        const std::string where = loc.line < 0
                                      ? std::string(file)
                                      : std::string(file) + ":" + std::to_string(loc.line + 1) +
                                            ":" + std::to_string(loc.column + 1);
        errors->push_back(where + ": " + at + ": not valid UTF-8");
      }
    }
  }
}

// The syntax pass, shared by ParseAndCheck and ParseSyntax.
bool ParseInto(std::string_view text, std::string_view file, db::TunnelDatabase* out,
               TextFormat::ParseInfoTree* tree, std::vector<std::string>* errors) {
  CollectErrors collector(file, errors);
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(tree);
  // A message as big as 20,000 tunnels is fine; the parser has no own limit
  // beyond the recursion depth.
  if (!parser.ParseFromString(std::string(text), out)) {
    if (errors->empty()) errors->push_back(std::string(file) + ": does not parse");
    return false;
  }
  return true;
}

// Parses and validates; |out| receives the database when there are no errors.
std::vector<std::string> ParseAndCheck(std::string_view text, std::string_view file,
                                       db::TunnelDatabase* out) {
  std::vector<std::string> errors;
  TextFormat::ParseInfoTree tree;
  db::TunnelDatabase parsed;
  if (!ParseInto(text, file, &parsed, &tree, &errors)) return errors;
  errors = ValidateDatabase(parsed, &tree, file);
  CheckUtf8(parsed, "", file, &tree, &errors);
  // Copied while |parsed| and the location tree still hold their memory, so
  // the copy does not settle in the holes they leave: the database then sits
  // apart from ~35 MB of parser scratch (20,000 tunnels) that
  // ReturnFreedMemory() can give back, instead of being interleaved with it.
  if (errors.empty()) *out = parsed;
  return errors;
}

}  // namespace

std::vector<std::string> ParseSyntax(std::string_view text, std::string_view file_name,
                                     db::TunnelDatabase* database,
                                     TextFormat::ParseInfoTree* tree) {
  std::vector<std::string> errors;
  database->Clear();
  if (!ParseInto(text, file_name, database, tree, &errors)) return errors;
  CheckUtf8(*database, "", file_name, tree, &errors);
  return errors;
}

std::vector<std::string> Database::CheckText(std::string_view text, std::string_view file_name) {
  db::TunnelDatabase scratch;
  return ParseAndCheck(text, file_name, &scratch);
}

Result<Database> Database::Parse(std::string_view text, std::string_view file_name) {
  Database d;
  std::vector<std::string> errors = ParseAndCheck(text, file_name, &d.db_);
  if (!errors.empty()) {
    std::string message = errors.front();
    if (errors.size() > 1) {
      message += " (and " + std::to_string(errors.size() - 1) + " more)";
    }
    return Error{message};
  }
  ApplyDefaults(&d.db_);
  d.file_name_ = std::string(file_name);
  d.BuildIndexes();
  return d;
}

Result<Database> Database::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path + ": cannot open: " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{path + ": cannot read: " + std::strerror(errno)};
  return Parse(text.str(), path);
}

void Database::BuildIndexes() {
  ike_tunnels_.clear();
  ipsec_tunnels_.clear();
  ike_protections_.clear();
  ipsec_protections_.clear();
  children_.clear();
  for (int i = 0; i < db_.ike_tunnel_size(); ++i) ike_tunnels_[db_.ike_tunnel(i).name()] = i;
  for (int i = 0; i < db_.ipsec_tunnel_size(); ++i) {
    ipsec_tunnels_[db_.ipsec_tunnel(i).name()] = i;
    children_[db_.ipsec_tunnel(i).ike_tunnel()].push_back(i);
  }
  for (int i = 0; i < db_.ike_protection_size(); ++i) {
    ike_protections_[db_.ike_protection(i).name()] = i;
  }
  for (int i = 0; i < db_.ipsec_protection_size(); ++i) {
    ipsec_protections_[db_.ipsec_protection(i).name()] = i;
  }
}

const db::IkeTunnel* Database::FindIkeTunnel(std::string_view name) const {
  auto it = ike_tunnels_.find(std::string(name));
  return it == ike_tunnels_.end() ? nullptr : &db_.ike_tunnel(it->second);
}
const db::IpsecTunnel* Database::FindIpsecTunnel(std::string_view name) const {
  auto it = ipsec_tunnels_.find(std::string(name));
  return it == ipsec_tunnels_.end() ? nullptr : &db_.ipsec_tunnel(it->second);
}
const db::IkeProtection* Database::FindIkeProtection(std::string_view name) const {
  auto it = ike_protections_.find(std::string(name));
  return it == ike_protections_.end() ? nullptr : &db_.ike_protection(it->second);
}
const db::IpsecProtection* Database::FindIpsecProtection(std::string_view name) const {
  auto it = ipsec_protections_.find(std::string(name));
  return it == ipsec_protections_.end() ? nullptr : &db_.ipsec_protection(it->second);
}

const std::vector<int>& Database::IpsecTunnelsOf(std::string_view ike_tunnel) const {
  static const std::vector<int> kNone;
  auto it = children_.find(std::string(ike_tunnel));
  return it == children_.end() ? kNone : it->second;
}

namespace {

void DefaultIdentity(const std::string& address, db::Identity* id) {
  if (id->type() != db::ID_TYPE_UNSPECIFIED) return;
  auto a = IpAddress::Parse(address);
  id->set_type(a && a->size() == 16 ? db::IPV6_ADDR : db::IPV4_ADDR);
  id->set_value(address);
}

}  // namespace

void ApplyDefaults(db::TunnelDatabase* d) {
  for (auto& p : *d->mutable_ike_protection()) {
    if (p.mode() == db::IKE_MODE_UNSPECIFIED) p.set_mode(db::MAIN);
    for (auto& x : *p.mutable_proposal()) {
      if (x.lifetime_seconds() == 0) x.set_lifetime_seconds(kDefaultPhase1Lifetime);
      if (x.auth_method() == db::AUTH_METHOD_UNSPECIFIED) x.set_auth_method(db::PRESHARED_KEY);
      if (x.key_length() == 0) {
        x.set_key_length(x.encryption() == db::AES_CBC ? kDefaultAesKeyBits : 192);
      }
    }
  }
  for (auto& p : *d->mutable_ipsec_protection()) {
    if (p.lifetime_seconds() == 0) p.set_lifetime_seconds(kDefaultPhase2Lifetime);
    for (auto& x : *p.mutable_proposal()) {
      if (x.key_length() == 0) {
        const bool aes = x.encryption() == db::ESP_AES_CBC || x.encryption() == db::ESP_AES_GCM_16;
        x.set_key_length(aes ? kDefaultAesKeyBits : 192);
      }
    }
  }
  for (auto& t : *d->mutable_ike_tunnel()) {
    DefaultIdentity(t.local_address(), t.mutable_local_id());
    DefaultIdentity(t.remote_address(), t.mutable_remote_id());
    db::DeadPeerDetection* dpd = t.mutable_dpd();
    if (dpd->mode() == db::DPD_MODE_UNSPECIFIED) dpd->set_mode(db::DPD_IDLE);
    if (dpd->interval_seconds() == 0) dpd->set_interval_seconds(kDefaultDpdIntervalSeconds);
    if (dpd->retries() == 0) dpd->set_retries(kDefaultDpdRetries);
    // HOLD and RESTART negotiate again towards the peer's address: a
    // dynamic peer has none to negotiate to, so its tunnels are cleared.
    if (dpd->action() == db::DPD_ACTION_UNSPECIFIED)
      dpd->set_action(IsDynamicPeer(t) ? db::DPD_CLEAR : db::DPD_HOLD);
  }
}

bool IsDynamicPeer(const db::IkeTunnel& tunnel) {
  const auto a = IpAddress::Parse(tunnel.remote_address());
  if (!a) return false;
  for (uint8_t b : a->bytes())
    if (b != 0) return false;
  return true;
}

uint32_t MinLifetimeSeconds(const db::Settings& settings) {
  const uint32_t set = settings.min_lifetime_seconds();
  return set == 0 ? kMinLifetimeSeconds : std::max(set, kMinLifetimeFloor);
}

uint32_t NatKeepaliveSeconds(const db::Settings& settings) {
  return settings.has_nat_keepalive_seconds() ? settings.nat_keepalive_seconds()
                                              : kDefaultNatKeepaliveSeconds;
}

uint32_t FragmentSize(const db::Settings& settings) {
  return settings.fragment_size() ? settings.fragment_size() : kDefaultFragmentSize;
}

std::string IdentityText(const db::Identity& id) { return id.value(); }

}  // namespace ike::tunneldb
