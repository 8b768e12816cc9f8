// ike cmd=list json (issue 11.1): the verbose fields as one JSON document
// for scripts and monitoring. The key names are part of the interface: the
// README documents them and docs/list.schema.json pins them; add keys, never
// rename them. Numbers stay numbers, absent values are null.
#include <cstdio>
#include <ctime>

#include "ikecmd/render.h"
#include "ikecmd/render_fields.h"
#include "tunneldb/names.h"

namespace ike::cmd {
namespace {

std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// One object, its members in the order written.
class Object {
 public:
  Object& Str(const char* key, const std::string& value) {
    return Raw(key, value.empty() || value == "-" ? "null" : Quoted(value));
  }
  Object& Num(const char* key, uint64_t value) { return Raw(key, std::to_string(value)); }
  // 0 means "none" for times and counts the reply leaves unset.
  Object& NumOrNull(const char* key, uint64_t value) {
    return Raw(key, value ? std::to_string(value) : "null");
  }
  Object& Raw(const char* key, const std::string& json) {
    text_ += (text_.empty() ? "{" : ",") + Quoted(key) + ":" + json;
    return *this;
  }
  std::string Done() const { return text_.empty() ? "{}" : text_ + "}"; }

 private:
  std::string text_;
};

// The state in each vocabulary; |Row| is ipc::Phase1Status or Phase2Status.
template <typename Row>
std::string States(const Row& t) {
  return Object()
      .Str("aix", StateText(t, db::STATE_NAMES_AIX))
      .Str("ios", StateText(t, db::STATE_NAMES_IOS))
      .Str("asa", StateText(t, db::STATE_NAMES_ASA))
      .Done();
}

// null until established: nothing was negotiated yet.
std::string NatJson(const ipc::Phase1Status& t) {
  if (t.established_unix() == 0) return "null";
  return Object()
      .Str("version", NatTraversalName(t.nat_t()))
      .Raw("nat_local", t.nat_local() ? "true" : "false")
      .Raw("nat_remote", t.nat_remote() ? "true" : "false")
      .Done();
}

std::string DpdJson(const ipc::Phase1Status& t) {
  if (t.established_unix() == 0) return "null";
  return Object()
      .NumOrNull("interval_seconds", t.dpd_interval_seconds())
      .Str("mode", t.dpd_interval_seconds() == 0      ? "off"
                   : t.dpd_mode() == db::DPD_PERIODIC ? "periodic"
                                                      : "idle")
      .Raw("peer_supports", t.peer_dpd() ? "true" : "false")
      .Done();
}

// A tunnel negotiating or up again after a failure: that failure's reason
// and time (a Failed tunnel has "reason" instead); null otherwise.
template <typename Row>
Object& LastError(Object& o, const Row& t) {
  const bool shown = !t.last_error().empty() && Status(t) != "Failed";
  return o.Str("last_error", shown ? t.last_error() : "")
      .NumOrNull("last_error_unix", shown ? t.last_error_unix() : 0);
}

// Seconds until the lifetime runs out, null when not established.
std::string SecondsLeft(uint64_t established, uint32_t lifetime, uint64_t now) {
  if (established == 0 || lifetime == 0) return "null";
  const uint64_t end = established + lifetime;
  return std::to_string(end > now ? end - now : 0);
}

std::string Phase1(const ipc::Phase1Status& t, uint64_t now) {
  Object o;
  o.Num("tunnel", t.number())
      .Str("name", t.name())
      .Str("status", Status(t))
      .Raw("state", States(t))
      .Str("role", Text(t.tunnel_role(), tunneldb::RoleName, t.role()))
      .Str("mode", Text(t.exchange_mode(), tunneldb::ExchangeModeName, t.mode()))
      .Str("local_address", t.local_address())
      .Str("remote_address", t.remote_address())
      .Str("local_id", t.local_id())
      .Str("local_id_type", tunneldb::IdentityTypeName(t.local_id_type()))
      .Str("remote_id", t.remote_id())
      .Str("remote_id_type", tunneldb::IdentityTypeName(t.remote_id_type()))
      .Str("initiator_cookie", t.icookie())
      .Str("responder_cookie", t.rcookie())
      .Str("encryption", t.encryption_alg()
                             ? tunneldb::IkeEncryptionName(t.encryption_alg(), t.key_length())
                             : t.encryption())
      .Str("hash", Text(t.hash_alg(), tunneldb::IkeHashName, t.hash()))
      .Str("auth_method", Text(t.auth(), tunneldb::AuthMethodName, t.auth_method()))
      .Str("dh_group", Text(t.group(), tunneldb::DhGroupName, t.dh_group()))
      .NumOrNull("lifetime_seconds", t.lifetime_seconds())
      .NumOrNull("established_unix", t.established_unix())
      .Raw("seconds_left", SecondsLeft(t.established_unix(), t.lifetime_seconds(), now))
      .Num("rekeys", t.rekey_count())
      .NumOrNull("next_rekey_unix", t.next_rekey_unix())
      .Raw("nat_traversal", NatJson(t))
      .Raw("dpd", DpdJson(t))
      .Str("reason", Status(t) == "Failed" ? t.reason() : "");
  return LastError(o, t).Done();
}

std::string Counter(bool has, uint64_t value) { return has ? std::to_string(value) : "null"; }

std::string Phase2(const ipc::Phase2Status& t, uint64_t now) {
  Object o;
  o.Num("tunnel", t.number())
      .NumOrNull("phase1_tunnel", t.phase1_number())
      .Str("name", t.name())
      .Str("status", Status(t))
      .Raw("state", States(t))
      .Str("role", Text(t.tunnel_role(), tunneldb::RoleName, t.role()))
      .Str("activation", t.activation() ? tunneldb::ActivationName(t.activation()) : "")
      .Str("local_id", t.local_id())
      .Str("local_id_type", tunneldb::IdentityTypeName(t.local_id_type()))
      .Str("remote_id", t.remote_id())
      .Str("remote_id_type", tunneldb::IdentityTypeName(t.remote_id_type()))
      .Str("spi_in", t.spi_in() ? Hex(t.spi_in()) : "")
      .Str("spi_out", t.spi_out() ? Hex(t.spi_out()) : "")
      .Str("encryption", t.encryption_alg()
                             ? tunneldb::EspEncryptionName(t.encryption_alg(), t.key_length())
                             : t.encryption())
      .Str("integrity", IntegrityText(t.encryption_alg(), t.integrity_alg(), t.integrity()))
      .Str("pfs_group", t.tunnel_status() ? tunneldb::DhGroupName(t.pfs()) : t.pfs_group())
      .NumOrNull("lifetime_seconds", t.lifetime_seconds())
      .NumOrNull("lifetime_kbytes", t.lifetime_kbytes())
      .NumOrNull("established_unix", t.established_unix())
      .Raw("seconds_left", SecondsLeft(t.established_unix(), t.lifetime_seconds(), now))
      .Num("rekeys", t.rekey_count())
      .NumOrNull("next_rekey_unix", t.next_rekey_unix())
      .Raw("bytes_in", Counter(t.has_bytes_in(), t.bytes_in()))
      .Raw("packets_in", Counter(t.has_packets_in(), t.packets_in()))
      .Raw("bytes_out", Counter(t.has_bytes_out(), t.bytes_out()))
      .Raw("packets_out", Counter(t.has_packets_out(), t.packets_out()))
      .Str("reason", Status(t) == "Failed" || Status(t) == "Clear" || Status(t) == "Dormant"
                         ? t.reason()
                         : "");
  return LastError(o, t).Done();
}

}  // namespace

std::string RenderJson(const ipc::ListReply& reply, uint64_t now_unix) {
  if (now_unix == 0) now_unix = static_cast<uint64_t>(std::time(nullptr));
  std::string out = "{\"phase1\":[";
  for (int i = 0; i < reply.phase1_size(); ++i)
    out += (i ? ",\n" : "\n") + Phase1(reply.phase1(i), now_unix);
  out += "],\"phase2\":[";
  for (int i = 0; i < reply.phase2_size(); ++i)
    out += (i ? ",\n" : "\n") + Phase2(reply.phase2(i), now_unix);
  return out + "]}\n";
}

}  // namespace ike::cmd
