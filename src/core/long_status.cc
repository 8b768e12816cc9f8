#include "src/core/long_status.h"

#include <cctype>
#include <cstdio>

#include "src/core/src_messages.h"
#include "tunneldb/names.h"

namespace ike::src {
namespace {

constexpr size_t kLabelWidth = 40;

// "label:" padded to the value column; |indent| for a breakdown line.
void Line(std::string* out, const std::string& label, const std::string& value, int indent = 0) {
  std::string text = std::string(indent, ' ') + label + ":";
  if (text.size() < kLabelWidth) text.resize(kLabelWidth, ' ');
  *out += text + " " + value + "\n";
}
void Line(std::string* out, const std::string& label, uint64_t value, int indent = 0) {
  Line(out, label, std::to_string(value), indent);
}

// Upper-case enum value names as words; the acronyms stay as they are.
std::string Words(std::string name) {
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('_', start);
    if (end == std::string::npos) end = name.size();
    std::string word = name.substr(start, end - start);
    const bool acronym = word == "SA" || word == "DPD" || word == "HASH" || word == "ID";
    if (!acronym) {
      for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!out.empty()) out += ' ';
    out += word;
    start = end + 1;
  }
  return out;
}

void Negotiations(std::string* out, int phase, const ipc::NegotiationCounts& n) {
  const std::string p = "Phase " + std::to_string(phase) + " ";
  uint64_t failed = 0;
  for (const auto& row : n.failed()) failed += row.count();
  Line(out, p + "negotiations started", n.started());
  Line(out, p + "negotiations succeeded", n.succeeded());
  Line(out, p + "negotiations failed", failed);
  for (const auto& row : n.failed()) Line(out, ReasonName(row.reason()), row.count(), 4);
  Line(out, p + "rekeys", n.rekeys());
}

const char* YesNo(bool b) { return b ? "connected" : "not connected"; }

void Isakmpd(std::string* out, const ipc::IsakmpdStatus& s) {
  Line(out, "Connection to tmd", YesNo(s.tmd_connected()));
  Line(out, "Connection to cpsd", YesNo(s.cpsd_connected()));
  *out += "\n";
  Negotiations(out, 1, s.phase1());
  uint64_t total = 0;
  for (const auto& row : s.isakmp_sas()) total += row.count();
  Line(out, "ISAKMP SAs", total);
  for (const auto& row : s.isakmp_sas())
    Line(out, tunneldb::Phase1StateName(row.state()), row.count(), 4);
  Line(out, "Half-open responder SAs", s.half_open());
  *out += "\n";
  Negotiations(out, 2, s.phase2());
  total = 0;
  for (const auto& row : s.ipsec_sas()) total += row.count();
  Line(out, "IPsec SAs", total);
  for (const auto& row : s.ipsec_sas())
    Line(out, tunneldb::Phase2StateName(row.state()), row.count(), 4);
  *out += "\n";
  Line(out, "IKE packets in", s.packets_in());
  Line(out, "IKE packets out", s.packets_out());
  total = 0;
  for (const auto& row : s.dropped()) total += row.count();
  Line(out, "IKE packets dropped", total);
  for (const auto& row : s.dropped()) Line(out, DropName(row.reason()), row.count(), 4);
  Line(out, "IKE fragments in", s.fragments_in());
  Line(out, "IKE fragments out", s.fragments_out());
  Line(out, "DPD probes sent", s.dpd_probes_sent());
  Line(out, "NAT keepalives sent", s.nat_keepalives_sent());
  Line(out, "ICMP errors received", s.icmp_errors());
}

void Tunnels(std::string* out, const std::string& label,
             const google::protobuf::RepeatedPtrField<ipc::TunnelStatusCount>& rows) {
  uint64_t total = 0;
  for (const auto& row : rows) total += row.count();
  Line(out, label, total);
  for (const auto& row : rows) Line(out, tunneldb::TunnelStatusName(row.status()), row.count(), 4);
}

void Tmd(std::string* out, const ipc::TmdStatus& s) {
  Line(out, "Connection to isakmpd", YesNo(s.isakmpd_connected()));
  *out += "\n";
  Tunnels(out, "Phase 1 tunnels", s.phase1_tunnels());
  Negotiations(out, 1, s.phase1());
  *out += "\n";
  Tunnels(out, "Phase 2 tunnels", s.phase2_tunnels());
  Negotiations(out, 2, s.phase2());
  Line(out, "Rekeys failed", s.rekeys_failed());
  *out += "\n";
  // ipsecstat's names for the kernel's SA table.
  Line(out, "Tunnel cache entries", s.kernel_sas());
  Line(out, "Tunnel cache entries added", s.kernel_sas_added());
  Line(out, "Tunnel cache entries expired", s.kernel_sas_expired());
  Line(out, "Tunnel cache entries deleted", s.kernel_sas_deleted());
}

void Cpsd(std::string* out, const ipc::CpsdStatus& s) {
  *out += "\n";
  Line(out, "Pre-shared keys loaded", s.keys_loaded());
  Line(out, "Key file reloads", s.reloads());
  Line(out, "SKEYID requests", s.skeyid_requests());
  Line(out, "Pre-shared key found", s.psk_found());
  Line(out, "Pre-shared key missing", s.psk_missing());
  Line(out, "Requests refused", s.refused());
}

}  // namespace

std::string FormatUptime(uint64_t seconds) {
  if (seconds < 60) return std::to_string(seconds) + (seconds == 1 ? " second" : " seconds");
  const uint64_t days = seconds / 86400;
  char hms[32];
  std::snprintf(hms, sizeof hms, "%02llu:%02llu:%02llu",
                static_cast<unsigned long long>(seconds % 86400 / 3600),
                static_cast<unsigned long long>(seconds % 3600 / 60),
                static_cast<unsigned long long>(seconds % 60));
  if (days == 0) return hms;
  return std::to_string(days) + (days == 1 ? " day " : " days ") + hms;
}

std::string ReasonName(ipc::ErrorCode code) { return Words(ipc::ErrorCode_Name(code)); }

std::string DropName(ipc::PacketDrop drop) {
  std::string name = ipc::PacketDrop_Name(drop);
  if (name.rfind("DROP_", 0) == 0) name = name.substr(5);
  return Words(name);
}

std::string FormatLongStatus(const ipc::SubsystemStatus& row, const ipc::DaemonStatusReply& reply) {
  std::string out = FormatStatusTable({row});
  out += "\n";
  Line(&out, "Uptime", FormatUptime(reply.uptime_seconds()));
  Line(&out, "IPC clients", reply.ipc_clients());
  switch (reply.detail_case()) {
    case ipc::DaemonStatusReply::kIsakmpd:
      Isakmpd(&out, reply.isakmpd());
      break;
    case ipc::DaemonStatusReply::kTmd:
      Tmd(&out, reply.tmd());
      break;
    case ipc::DaemonStatusReply::kCpsd:
      Cpsd(&out, reply.cpsd());
      break;
    default:
      break;
  }
  return out;
}

}  // namespace ike::src
