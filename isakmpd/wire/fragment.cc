#include "isakmpd/wire/fragment.h"

#include <string>
#include <variant>

namespace ike::wire {
namespace {

ParseError Malformed(std::string detail, size_t offset) {
  return ParseError{NotifyType::kPayloadMalformed, std::move(detail), offset};
}

void PutU16(Bytes& out, size_t at, uint16_t v) {
  out[at] = static_cast<uint8_t>(v >> 8);
  out[at + 1] = static_cast<uint8_t>(v);
}

void PutU32(Bytes& out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
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
  if (body.size() < 8) return Malformed("fragment payload shorter than its 8-octet header", 28);
  const size_t length = (size_t{body[2]} << 8) | body[3];
  if (body[0] != 0) return Malformed("fragment payload followed by another payload", 28);
  if (length != body.size())
    return Malformed("fragment payload length " + std::to_string(length) + " is not the " +
                         std::to_string(body.size()) + " octets left",
                     30);
  f.id = static_cast<uint16_t>((body[4] << 8) | body[5]);
  f.number = body[6];
  f.last = (body[7] & kFragmentLastFlag) != 0;
  if (f.number == 0) return Malformed("fragment number 0", 34);
  if (length == 8) return Malformed("empty fragment", 28);
  f.data.assign(body.begin() + 8, body.end());
  return f;
}

std::vector<Bytes> FragmentMessage(ByteView message, uint16_t id, size_t max_packet) {
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
    Bytes packet(kFragmentOverhead + part.size());
    std::copy(whole.begin(), whole.begin() + kHeaderLength, packet.begin());
    packet[16] = kFragmentPayloadType;
    packet[19] = 0;  // flags: the slice carries the encryption, not this message
    PutU32(packet, 24, static_cast<uint32_t>(packet.size()));
    packet[kHeaderLength] = 0;  // next payload: none
    packet[kHeaderLength + 1] = 0;
    PutU16(packet, kHeaderLength + 2, static_cast<uint16_t>(8 + part.size()));
    PutU16(packet, kHeaderLength + 4, id);
    packet[kHeaderLength + 6] = static_cast<uint8_t>(i + 1);
    packet[kHeaderLength + 7] = i + 1 == count ? kFragmentLastFlag : 0;
    std::copy(part.begin(), part.end(), packet.begin() + kFragmentOverhead);
    out.push_back(std::move(packet));
  }
  return out;
}

}  // namespace ike::wire
