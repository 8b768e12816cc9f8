// IKE fragmentation in the SA manager (issue 10.8): the vendor-ID-negotiated
// IKEv1 scheme Cisco defined and strongSwan, Windows and racoon speak. The
// codec is wire/fragment.h, the bounded reassembly sa/fragments.h. A
// message is cut only after it is sealed, so fragments carry ciphertext and
// the rebuilt message is checked (decrypted, its HASH verified) exactly as
// one that came whole.
#include <sys/socket.h>

#include <chrono>

#include "isakmpd/exchange/nat_traversal.h"
#include "isakmpd/exchange/phase1_exchange.h"
#include "isakmpd/exchange/vendor_ids.h"
#include "isakmpd/sa/sa_manager.h"
#include "isakmpd/wire/fragment.h"
#include "tunneldb/database.h"

namespace ike::isakmpd {
namespace {

constexpr size_t kIpv4Header = 20;
constexpr size_t kIpv6Header = 40;
constexpr size_t kUdpHeader = 8;
constexpr size_t kNonEspMarker = 4;  // RFC 3948 2.2, on port 4500

}  // namespace

db::Fragmentation SaManager::FragmentationSetting() const {
  const db::Fragmentation f = database_.settings().fragmentation();
  return f == db::FRAGMENTATION_UNSPECIFIED ? db::FRAGMENTATION_ON : f;
}

bool SaManager::FragmentsFor(const Phase1Context& sa) const {
  switch (FragmentationSetting()) {
    case db::FRAGMENTATION_FORCE:
      return true;
    case db::FRAGMENTATION_OFF:
      return false;
    default:
      return sa.peer_fragmentation && !vendor_ids::IsWindows(sa.peer_vendor_ids);
  }
}

size_t SaManager::MaxIkePacket(const Phase1Context& sa) const {
  size_t max = tunneldb::FragmentSize(database_.settings());
  max -= sa.remote.address.family == AF_INET6 ? kIpv6Header : kIpv4Header;
  max -= kUdpHeader;
  if (sa.local.port == nat_traversal::kPort) max -= kNonEspMarker;
  return max;
}

uint16_t SaManager::NextFragmentId() {
  if (++next_fragment_id_ == 0) ++next_fragment_id_;
  return next_fragment_id_;
}

size_t SaManager::SendMessage(const Phase1Context& sa, ByteView packet, uint16_t fragment_id) {
  const size_t max = MaxIkePacket(sa);
  if (packet.size() > max && FragmentsFor(sa)) {
    // The carriers say the phase 1 exchange whatever the message is: what
    // strongSwan sends and the only carriers it accepts.
    const std::vector<Bytes> fragments =
        wire::FragmentMessage(packet, fragment_id, max, phase1::ExchangeTypeOf(sa.mode));
    if (!fragments.empty()) {
      for (const Bytes& f : fragments) SendDatagram(sa.local, sa.remote, f);
      counters_.fragments_sent += fragments.size();
      return fragments.size();
    }
  }
  SendDatagram(sa.local, sa.remote, packet);
  return 0;
}

void SaManager::OnFragment(const Endpoint& local, const Endpoint& remote, const wire::Header& h,
                           ByteView packet) {
  ++counters_.fragments_received;
  // Built only for a log line: a flood of fragments costs no strings.
  auto cookies = [&] { return ToHex(h.icookie) + ":" + ToHex(h.rcookie); };
  auto drop = [&](const std::string& why, LogLevel level = LogLevel::kInformation) {
    ++counters_.fragments_dropped;
    Dropped(ipc::DROP_FRAGMENT);
    uint64_t folded = 0;
    if (!AllowRepeat(fragment_lines_, 1, &folded)) return;
    if (LogEnabled(level))
      Logf(level, "dropped IKE fragment from %s (cookies %s): %s%s", remote.ToString().c_str(),
           cookies().c_str(), why.c_str(), FoldedText(folded).c_str());
  };
  // Said at the events level: it is why a peer that fragments cannot get in.
  if (FragmentationSetting() == db::FRAGMENTATION_OFF)
    return drop("IKE fragmentation is off (settings.fragmentation)", LogLevel::kEvents);
  auto parsed = wire::ParseFragment(packet);
  if (auto* e = std::get_if<wire::ParseError>(&parsed)) return drop(e->detail);
  const auto& fragment = std::get<wire::Fragment>(parsed);
  const uint64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(deps_.clock->Now().time_since_epoch())
          .count();
  FragmentReassembler::Outcome outcome = reassembler_.Add(fragment, now_ms);
  using R = FragmentReassembler::Result;
  switch (outcome.result) {
    case R::kKept:
    case R::kRestarted:
    case R::kDuplicate:  // the peer retransmits its fragments: normal
      return;
    case R::kComplete:
      break;
    default:
      return drop(FragmentReassembler::ResultName(outcome.result));
  }
  // The rebuilt message must be a whole message of the same SA, and not
  // itself fragments (no nesting: each level would get the bounds anew).
  const Bytes message = std::move(outcome.message);
  auto header = wire::ParseHeader(message);
  if (auto* e = std::get_if<wire::ParseError>(&header))
    return drop("the rebuilt message is malformed: " + e->detail);
  const auto& inner = std::get<wire::Header>(header);
  if (inner.icookie != h.icookie || inner.rcookie != h.rcookie)
    return drop("the rebuilt message names other cookies than its fragments");
  if (static_cast<uint8_t>(inner.next_payload) == wire::kFragmentPayloadType)
    return drop("the rebuilt message is itself a fragment");
  ++counters_.messages_reassembled;
  // One line per message of an SA we know; for unknown cookies (a new
  // initiator's message 1, or anyone's junk) at most one per second.
  const bool known = by_cookies_.contains(Cookies(h.icookie, h.rcookie)) ||
                     half_open_.contains(CookieValue(h.icookie));
  uint64_t folded = 0;
  if (known || AllowRepeat(reassembled_lines_, 1, &folded))
    LOG_INFO("%s message (%zu octets) from %s reassembled from %zu fragments (cookies %s)%s",
             wire::ExchangeTypeName(inner.exchange), message.size(), remote.ToString().c_str(),
             outcome.fragments, cookies().c_str(), FoldedText(folded).c_str());
  DispatchMessage(local, remote, message);
}

}  // namespace ike::isakmpd
