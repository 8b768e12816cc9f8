// Transport work for every exchange: sealing and opening messages (RFC 2409
// Appendix B: CBC with the IV chain), retransmission and duplicate detection.
#include <string_view>

#include "isakmpd/sa/sa_manager.h"

namespace ike::isakmpd {
namespace {

constexpr uint32_t kDefaultRetransmitMs = 2000;
constexpr uint32_t kDefaultTries = 5;
constexpr int kMaxBackoffFactor = 8;

size_t HashOf(ByteView packet) {
  return std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(packet.data()), packet.size()));
}

}  // namespace

std::string IsakmpSa::CookieText() const { return ToHex(icookie) + ":" + ToHex(rcookie); }

Bytes SaManager::Seal(const IsakmpSa& sa, wire::ExchangeType exchange, uint32_t message_id,
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
    // Zero padding to the block size (RFC 2409 Appendix B leaves its content open).
    body.resize((body.size() + block - 1) / block * block, 0);
    auto sealed = crypto::CbcEncrypt(sa.suite->cipher, sa.keys.enc_key.view(), *iv, body);
    body = std::move(sealed.value());
    iv->assign(body.end() - block, body.end());
  }
  h.length = static_cast<uint32_t>(wire::kHeaderLength + body.size());
  Bytes packet = wire::EncodeHeader(h);
  Append(packet, body);
  return packet;
}

std::optional<Bytes> SaManager::Open(const IsakmpSa& sa, const wire::Header& h, ByteView packet,
                                     ByteView iv, Bytes* next_iv) {
  if (!sa.suite || sa.keys.enc_key.empty()) return std::nullopt;
  const size_t block = crypto::CipherBlockSize(sa.suite->cipher);
  ByteView cipher = packet.subspan(wire::kHeaderLength);
  if (cipher.empty() || cipher.size() % block != 0) return std::nullopt;
  auto plain = crypto::CbcDecrypt(sa.suite->cipher, sa.keys.enc_key.view(), iv, cipher);
  if (!plain) return std::nullopt;
  next_iv->assign(cipher.end() - block, cipher.end());
  return std::move(plain.value());
}

Duration SaManager::RetransmitDelay(int tries) const {
  const uint32_t base = database_.settings().retransmit_interval_ms()
                            ? database_.settings().retransmit_interval_ms()
                            : kDefaultRetransmitMs;
  int factor = 1;
  for (int i = 1; i < tries && factor < kMaxBackoffFactor; ++i) factor *= 2;
  return Duration(uint64_t(base) * factor);
}

void SaManager::Transmit(const IsakmpSa& sa, Transmission& tx, Bytes packet, bool retransmit,
                         std::function<void()> on_timer) {
  deps_.timers->Cancel(tx.timer);
  tx.timer = 0;
  tx.packet = std::move(packet);
  tx.tries = 1;
  tx.response_to_hash = tx.last_received_hash;
  deps_.packets->SendPacket(sa.local, sa.remote, tx.packet);
  if (retransmit) tx.timer = deps_.timers->Schedule(RetransmitDelay(1), std::move(on_timer));
}

bool SaManager::Retransmit(const IsakmpSa& sa, Transmission& tx, std::function<void()> on_timer) {
  const uint32_t max_tries = database_.settings().retransmit_tries()
                                 ? database_.settings().retransmit_tries()
                                 : kDefaultTries;
  if (tx.tries >= static_cast<int>(max_tries)) return false;
  ++tx.tries;
  LOG_DEBUG("tunnel %u: retransmitting message %d to %s (try %d)", sa.tunnel, tx.message_number,
            sa.remote.ToString().c_str(), tx.tries);
  deps_.packets->SendPacket(sa.local, sa.remote, tx.packet);
  tx.timer = deps_.timers->Schedule(RetransmitDelay(tx.tries), std::move(on_timer));
  return true;
}

bool SaManager::HandleDuplicate(const IsakmpSa& sa, Transmission& tx, ByteView packet) {
  const size_t h = HashOf(packet);
  if (h != tx.last_received_hash) {
    tx.last_received_hash = h;
    return false;
  }
  if (h == tx.response_to_hash && !tx.packet.empty()) {
    LOG_DEBUG("tunnel %u: %s retransmitted; resending our message %d", sa.tunnel,
              sa.remote.ToString().c_str(), tx.message_number);
    deps_.packets->SendPacket(sa.local, sa.remote, tx.packet);
  }
  return true;
}

void SaManager::LogLine(LogLevel level, const IsakmpSa& sa, const std::string& text) const {
  if (!LogEnabled(level)) return;
  const std::string tunnel = sa.tunnel ? std::to_string(sa.tunnel) : std::string("-");
  Logf(level, "tunnel %s phase 1 peer %s cookies %s: %s", tunnel.c_str(),
       sa.remote.address.ToString().c_str(), sa.CookieText().c_str(), text.c_str());
}

}  // namespace ike::isakmpd
