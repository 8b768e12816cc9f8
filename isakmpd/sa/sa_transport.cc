// Transport work for every exchange: sealing and the one receive path
// (RFC 2409 Appendix B: CBC with the IV chain), retransmission with jitter,
// duplicate detection, and per-SA log lines.
#include <string_view>

#include "isakmpd/sa/sa_manager.h"
#include "tunneldb/database.h"

namespace ike::isakmpd {
namespace {

constexpr uint32_t kDefaultRetransmitMs = 2000;
constexpr uint32_t kDefaultTries = 5;
constexpr int kMaxBackoffFactor = 8;
// Retransmissions come up to 1/kJitterDivisor early, so thousands of
// negotiations started together do not retransmit in lockstep.
constexpr uint64_t kJitterDivisor = 10;

size_t HashOf(ByteView packet) {
  return std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(packet.data()), packet.size()));
}

}  // namespace

Bytes SaManager::Seal(IsakmpSa& sa, wire::ExchangeType exchange, uint32_t message_id,
                      std::vector<wire::Payload>& payloads, Bytes* iv) {
  Bytes packet = Frame(sa, exchange, message_id, payloads, iv);
  if (iv) CountProtected(sa, packet.size());
  return packet;
}

Bytes SaManager::Frame(const Phase1Context& sa, wire::ExchangeType exchange, uint32_t message_id,
                       std::vector<wire::Payload>& payloads, Bytes* iv) {
  wire::Header h;
  h.icookie = sa.icookie;
  h.rcookie = sa.rcookie;
  h.next_payload = payloads.empty() ? wire::PayloadType::kNone : payloads.front().type;
  h.exchange = exchange;
  h.message_id = message_id;
  Bytes body = wire::EncodePayloads(payloads);
  if (iv) {
    h.flags |= wire::kFlagEncryption;
    const size_t block = crypto::CipherBlockSize(sa.suite->cipher);
    // 1 to |block| octets of zero padding, never none (RFC 2409 5.3 leaves
    // the content open; strongSwan's encrypted_payload does the same): a
    // block appended by an attacker then always exceeds the one-block bound
    // receivers check after the last payload.
    body.resize((body.size() / block + 1) * block, 0);
    auto sealed = crypto::CbcEncrypt(sa.suite->cipher, sa.keys.enc_key.view(), *iv, body);
    body = std::move(sealed.value());
    iv->assign(body.end() - block, body.end());
  }
  h.length = static_cast<uint32_t>(wire::kHeaderLength + body.size());
  Bytes packet = wire::EncodeHeader(h);
  Append(packet, body);
  return packet;
}

std::variant<SaManager::Opened, std::string> SaManager::OpenAndParse(
    const Phase1Context& sa, const wire::Header& h, ByteView packet, ByteView iv,
    std::optional<wire::MessageKind> kind, bool allow_unknown) {
  Opened out;
  Bytes body(packet.begin() + wire::kHeaderLength, packet.end());
  const bool encrypted = h.flags & wire::kFlagEncryption;
  size_t block = 0;
  if (encrypted) {
    if (!sa.suite || sa.keys.enc_key.empty()) return std::string("no key to decrypt it yet");
    block = crypto::CipherBlockSize(sa.suite->cipher);
    ByteView cipher = packet.subspan(wire::kHeaderLength);
    if (cipher.empty() || cipher.size() % block != 0)
      return std::string("ciphertext is not a whole number of blocks");
    auto plain = crypto::CbcDecrypt(sa.suite->cipher, sa.keys.enc_key.view(), iv, cipher);
    if (!plain) return std::string("does not decrypt");
    out.next_iv.assign(cipher.end() - block, cipher.end());
    body = std::move(plain.value());
  }
  auto parsed = wire::ParsePayloads(h.next_payload, body, allow_unknown);
  if (auto* e = std::get_if<wire::ParseError>(&parsed)) return e->detail;
  out.payloads = std::move(std::get<0>(parsed));
  if (encrypted) {
    // Hole i: at most one block of padding after the last payload, so a
    // genuine message with a block appended is not a new, valid message.
    size_t used = 0;
    for (const auto& p : out.payloads) used += p.raw.size();
    if (body.size() - used > block)
      return std::to_string(body.size() - used) + " octets after the last payload (more than a " +
             std::to_string(block) + "-octet block of padding)";
  }
  if (kind)
    if (auto e = wire::ValidatePayloads(*kind, out.payloads)) return e->detail;
  return out;
}

void SaManager::CountReceived(IsakmpSa& sa, const wire::Header& h, ByteView packet) {
  if (!(h.flags & wire::kFlagEncryption)) return;
  sa.last_heard = deps_.clock->Now();  // the peer is alive (RFC 3706 5.3)
  CountProtected(sa, packet.size());
}

// RFC 2407 4.5 and RFC 2409 Appendix A: a kilobyte lifetime ends the SA
// once it has protected that much; for the ISAKMP SA, IKE traffic. Only
// authenticated messages count, so a forger who saw the cookies cannot use
// the SA up.
void SaManager::CountProtected(IsakmpSa& sa, size_t octets) {
  sa.protected_octets += octets;
  CheckVolume(sa);
}

void SaManager::CheckVolume(IsakmpSa& sa) {
  // Before Phase1Established (established_unix) the expiry timer is not set
  // yet; it calls this again once it is.
  if (sa.established_unix == 0 || sa.volume_expired || !sa.suite) return;
  const uint64_t limit_kb = sa.suite->life_kbytes;
  if (limit_kb == 0 || sa.protected_octets / 1024 < limit_kb) return;
  sa.volume_expired = true;
  // From the loop: the send or receive path that counted still uses the SA.
  deps_.timers->Cancel(sa.deadline_timer);
  const uint64_t handle = sa.handle;
  sa.deadline_timer = deps_.timers->Schedule(
      Duration(0), [this, handle] { Phase1Expired(handle, /*by_volume=*/true); });
}

uint32_t SaManager::MaxTries() const {
  const uint32_t v = database_.settings().retransmit_tries();
  return v ? v : kDefaultTries;
}

Duration SaManager::RetransmitDelay(int tries) {
  const uint32_t base = database_.settings().retransmit_interval_ms()
                            ? database_.settings().retransmit_interval_ms()
                            : kDefaultRetransmitMs;
  int factor = 1;
  for (int i = 1; i < tries && factor < kMaxBackoffFactor; ++i) factor *= 2;
  const uint64_t delay = uint64_t(base) * factor;
  return Duration(delay - deps_.random->NextU32() % (delay / kJitterDivisor + 1));
}

void SaManager::Transmit(const Phase1Context& sa, Transmission& tx, Bytes packet, bool retransmit,
                         std::function<void()> on_timer) {
  deps_.timers->Cancel(tx.timer);
  tx.timer = 0;
  tx.packet = std::move(packet);
  tx.tries = 1;
  tx.response_to_hash = tx.last_received_hash;
  tx.fragment_id = NextFragmentId();
  if (const size_t fragments = SendMessage(sa, tx.packet, tx.fragment_id)) {
    ++counters_.messages_fragmented;
    const auto exchange = std::get<wire::Header>(wire::ParseHeader(tx.packet)).exchange;
    LOG_INFO(
        "peer %s cookies %s: %s message %d (%zu octets) sent in %zu fragments "
        "(settings.fragment_size %u)",
        sa.remote.ToString().c_str(), sa.CookieText().c_str(), wire::ExchangeTypeName(exchange),
        tx.message_number, tx.packet.size(), fragments,
        tunneldb::FragmentSize(database_.settings()));
  }
  if (retransmit) tx.timer = deps_.timers->Schedule(RetransmitDelay(1), std::move(on_timer));
}

bool SaManager::Retransmit(const Phase1Context& sa, Transmission& tx,
                           std::function<void()> on_timer) {
  tx.timer = 0;
  if (tx.tries >= static_cast<int>(MaxTries())) return false;
  ++tx.tries;
  LOG_DEBUG("peer %s: retransmitting message %d (try %d)", sa.remote.ToString().c_str(),
            tx.message_number, tx.tries);
  SendMessage(sa, tx.packet, tx.fragment_id);
  tx.timer = deps_.timers->Schedule(RetransmitDelay(tx.tries), std::move(on_timer));
  return true;
}

bool SaManager::IsDuplicate(const Phase1Context& sa, const Transmission& tx, ByteView packet) {
  const size_t h = HashOf(packet);
  if (tx.last_received_hash == 0 || h != tx.last_received_hash) return false;
  if (h == tx.response_to_hash && !tx.packet.empty()) {
    LOG_DEBUG("peer %s retransmitted; resending our message %d", sa.remote.ToString().c_str(),
              tx.message_number);
    SendMessage(sa, tx.packet, tx.fragment_id);
  }
  return true;
}

void SaManager::NoteAccepted(Transmission& tx, ByteView packet) {
  tx.last_received_hash = HashOf(packet);
}

void SaManager::LogLine(LogLevel level, const IsakmpSa& sa, const std::string& text) {
  if (!LogEnabled(level)) return;
  ++counters_.log_lines;
  const std::string tunnel = sa.tunnel ? std::to_string(sa.tunnel) : std::string("-");
  Logf(level, "tunnel %s phase 1 peer %s cookies %s: %s", tunnel.c_str(),
       sa.remote.address.ToString().c_str(), sa.CookieText().c_str(), text.c_str());
}

void SaManager::LogRepeated(Repeats& r, LogLevel level, const IsakmpSa& sa,
                            const std::string& text) {
  uint64_t folded = 0;
  if (!AllowRepeat(r, 1, &folded)) return;
  LogLine(
      level, sa,
      folded ? text + " (and " + std::to_string(folded) + " like it in the last second)" : text);
}

// What a rate-limited line adds for the lines folded into it.
std::string SaManager::FoldedText(uint64_t folded) {
  return folded ? " (and " + std::to_string(folded) + " more in the last second)" : "";
}

bool SaManager::AllowRepeat(Repeats& r, uint64_t count, uint64_t* folded) {
  const int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(deps_.clock->Now().time_since_epoch())
          .count();
  if (second == r.second) {
    r.folded += count;
    return false;
  }
  *folded = r.folded;
  r.folded = 0;
  r.second = second;
  return true;
}

void SaManager::StartNatKeepalives(IsakmpSa& sa) {
  const uint32_t seconds = tunneldb::NatKeepaliveSeconds(database_.settings());
  // Only the side behind the NAT keeps the mapping open (RFC 3948 4); the
  // other could not reach it if the mapping went.
  if (!sa.nat_local || seconds == 0) return;
  const uint64_t handle = sa.handle;
  sa.keepalive_timer = deps_.timers->Schedule(std::chrono::seconds(seconds),
                                              [this, handle] { SendNatKeepalive(handle); });
}

void SaManager::SendNatKeepalive(uint64_t handle) {
  IsakmpSa* sa = FindSa(handle);
  if (!sa || !sa->established()) return;
  deps_.packets->SendNatKeepalive(sa->local, sa->remote);
  ++counters_.nat_keepalives;
  StartNatKeepalives(*sa);
}

}  // namespace ike::isakmpd
