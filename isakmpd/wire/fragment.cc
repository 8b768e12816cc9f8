#include "isakmpd/wire/fragment.h"

#include <string>
#include <variant>

#include "common/byte_reader.h"

namespace ike::wire {
namespace {

ParseError Malformed(std::string detail, size_t offset) {
  return ParseError{NotifyType::kPayloadMalformed, std::move(detail), offset};
}

}  // namespace

ParseResult<Fragment> ParseFragment(ByteView packet) {
  auto header = ParseHeader(packet);
  if (auto* e = std::get_if<ParseError>(&header)) return *e;
  Fragment f;
  f.header = std::get<Header>(header);
  if (static_cast<uint8_t>(f.header.next_payload) != kFragmentPayloadType)
    return Malformed("not a fragment message", 16);
  const ByteView body = packet.subspan(kHeaderLength, f.header.length - kHeaderLength);
  ByteReader r(body, kHeaderLength);
  uint8_t next = 0, reserved = 0, flags = 0;
  uint16_t length = 0;
  if (!r.U8(&next) || !r.U8(&reserved) || !r.U16(&length) || !r.U16(&f.id) || !r.U8(&f.number) ||
      !r.U8(&flags))
    return Malformed("fragment payload shorter than its 8-octet header", 28);
  if (next != 0) return Malformed("fragment payload followed by another payload", 28);
  if (length != body.size())
    return Malformed("fragment payload length " + std::to_string(length) + " is not the " +
                         std::to_string(body.size()) + " octets left",
                     30);
  f.last = (flags & kFragmentLastFlag) != 0;
  if (f.number == 0) return Malformed("fragment number 0", 34);
  if (r.empty()) return Malformed("empty fragment", 28);
  f.data = r.Rest();
  return f;
}

std::vector<Bytes> FragmentMessage(ByteView message, uint16_t id, size_t max_packet,
                                   ExchangeType carrier_exchange) {
  auto parsed = ParseHeader(message);
  if (std::holds_alternative<ParseError>(parsed) || max_packet <= kFragmentOverhead) return {};
  const Header& h = std::get<Header>(parsed);
  const ByteView whole = message.first(h.length);
  const size_t slice = max_packet - kFragmentOverhead;
  const size_t count = (whole.size() + slice - 1) / slice;
  if (count == 0 || count > 255) return {};
  std::vector<Bytes> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const ByteView part = whole.subspan(i * slice, std::min(slice, whole.size() - i * slice));
    // The carrier: the message's cookies; no encryption flag (the slice
    // carries the encryption, not this message).
    Header carrier = h;
    carrier.next_payload = static_cast<PayloadType>(kFragmentPayloadType);
    carrier.exchange = carrier_exchange;
    carrier.message_id = 0;
    carrier.flags = 0;
    carrier.length = static_cast<uint32_t>(kFragmentOverhead + part.size());
    Bytes packet = EncodeHeader(carrier);
    ByteWriter w(packet);
    w.U8(0);  // next payload: none
    w.U8(0);
    w.U16(static_cast<uint16_t>(8 + part.size()));
    w.U16(id);
    w.U8(static_cast<uint8_t>(i + 1));
    w.U8(i + 1 == count ? kFragmentLastFlag : 0);
    w.Put(part);
    out.push_back(std::move(packet));
  }
  return out;
}

}  // namespace ike::wire
