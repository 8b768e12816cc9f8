// The key log for Wireshark (settings.ike_key_log): one line per phase 1 SA
// with its initiator cookie and IKE encryption key, so that a capture of
// its encrypted messages can be read. A troubleshooting aid that defeats
// IKE's confidentiality for the SAs it names, hence off by default and
// announced in syslog for as long as it is on. The SA manager only decides
// and formats; the file belongs to the KeyLogSink (ports.h).
#include "isakmpd/sa/sa_manager.h"

namespace ike::isakmpd {
namespace {

void AppendHex(Bytes& out, ByteView in) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (uint8_t b : in) {
    out.push_back(static_cast<uint8_t>(kDigits[b >> 4]));
    out.push_back(static_cast<uint8_t>(kDigits[b & 0xf]));
  }
}

// Wireshark's ikev1_decryption_table (its ISAKMP dissector's "IKEv1
// Decryption Table"): "Initiator's COOKIE" and "Encryption Key", both hex,
// one entry a line. Unquoted hex is what its table loader reads as bytes.
// The key is the one RFC 2409 Appendix B derives (enc_key: SKEYID_e,
// expanded when too short, cut to the cipher's key length); Wireshark
// computes the IVs itself from the KE payloads in the capture. Built in a
// SecretBytes, so that no copy of the key outlives the call.
SecretBytes KeyLogLine(const wire::Cookie& icookie, ByteView enc_key) {
  Bytes line;
  line.reserve(2 * (icookie.size() + enc_key.size()) + 2);
  AppendHex(line, icookie);
  line.push_back(',');
  AppendHex(line, enc_key);
  line.push_back('\n');
  return SecretBytes(std::move(line));
}

}  // namespace

void SaManager::AnnounceKeyLog(const std::string& previous) const {
  const std::string& path = database_.settings().ike_key_log();
  if (path.empty()) {
    if (!previous.empty())
      LOG_EVENT("key log off (settings.ike_key_log is empty): no more keys go to %s; delete it",
                previous.c_str());
    return;
  }
  if (deps_.key_log == nullptr) {
    LOG_ERROR("settings.ike_key_log is set, but this isakmpd has no key log; ignored");
    return;
  }
  LOG_EVENT(
      "WARNING: key log on (settings.ike_key_log): the IKE encryption key of every new phase 1 "
      "SA is appended to %s; whoever reads it can decrypt those SAs' IKE messages. For "
      "troubleshooting only: empty the setting and refresh when done",
      path.c_str());
}

void SaManager::WriteKeyLog(const IsakmpSa& sa) {
  const std::string& path = database_.settings().ike_key_log();
  if (path.empty() || deps_.key_log == nullptr || sa.keys.enc_key.empty()) return;
  deps_.key_log->AppendKeyLine(path, KeyLogLine(sa.icookie, sa.keys.enc_key.view()));
  LogLine(
      LogLevel::kEvents, sa,
      "WARNING: key log on: this SA's encryption key went to " + path + " (settings.ike_key_log)");
}

}  // namespace ike::isakmpd
