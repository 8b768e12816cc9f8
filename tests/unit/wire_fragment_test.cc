// IKEv1 fragmentation codec (isakmpd/wire/fragment.h, issue 10.8): a message
// cut into FRAGMENT payloads (type 132) and read back, and the malformed
// fragments a peer may send.
#include <catch2/catch.hpp>
#include <variant>

#include "isakmpd/wire/fragment.h"

namespace ike::wire {
namespace {

// A message of |length| octets: an encrypted Main Mode message 5 look-alike.
Bytes Message(size_t length) {
  Header h;
  h.icookie = {1, 2, 3, 4, 5, 6, 7, 8};
  h.rcookie = {9, 10, 11, 12, 13, 14, 15, 16};
  h.next_payload = PayloadType::kIdentification;
  h.exchange = ExchangeType::kIdentityProtection;
  h.flags = 0x01;  // encrypted
  h.length = static_cast<uint32_t>(length);
  Bytes m = EncodeHeader(h);
  for (size_t i = m.size(); i < length; ++i) m.push_back(static_cast<uint8_t>(i * 7));
  return m;
}

Fragment Parsed(const Bytes& packet) {
  auto f = ParseFragment(packet);
  if (auto* e = std::get_if<ParseError>(&f)) FAIL(e->detail);
  return std::get<Fragment>(f);
}

TEST_CASE("a message cut into fragments reads back whole, in order") {
  const Bytes message = Message(1000);
  const std::vector<Bytes> packets =
      FragmentMessage(message, 0x1234, 400, ExchangeType::kIdentityProtection);
  REQUIRE(packets.size() == 3);  // 364 octets of slice each: 364 + 364 + 272
  Bytes whole;
  for (size_t i = 0; i < packets.size(); ++i) {
    CHECK(packets[i].size() <= 400);
    const Fragment f = Parsed(packets[i]);
    CHECK(f.id == 0x1234);
    CHECK(f.number == i + 1);
    CHECK(f.last == (i + 1 == packets.size()));
    // The carrying message: same cookies, the phase 1 exchange, message ID 0,
    // not flagged as encrypted (the slice carries the encryption), its own
    // length.
    CHECK(f.header.icookie == Cookie{1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(f.header.exchange == ExchangeType::kIdentityProtection);
    CHECK(f.header.flags == 0);
    CHECK(f.header.message_id == 0);
    CHECK(f.header.length == packets[i].size());
    whole.insert(whole.end(), f.data.begin(), f.data.end());
  }
  CHECK(whole == message);
}

TEST_CASE("a Quick Mode message travels in Main Mode carriers with message ID 0 (as strongSwan)") {
  Bytes message = Message(700);
  message[18] = static_cast<uint8_t>(ExchangeType::kQuickMode);
  message[20] = 0xde;  // message ID 0xdeadbeef
  message[21] = 0xad;
  message[22] = 0xbe;
  message[23] = 0xef;
  const std::vector<Bytes> packets = FragmentMessage(message, 2, 576, ExchangeType::kAggressive);
  REQUIRE(packets.size() == 2);
  Bytes whole;
  for (const Bytes& p : packets) {
    const Fragment f = Parsed(p);
    CHECK(f.header.exchange == ExchangeType::kAggressive);
    CHECK(f.header.message_id == 0);
    whole.insert(whole.end(), f.data.begin(), f.data.end());
  }
  CHECK(whole == message);  // the rebuilt header says Quick Mode, 0xdeadbeef
}

TEST_CASE("a carrier flagged as encrypted (racoon) still reads as a fragment") {
  Bytes packet = FragmentMessage(Message(100), 3, 576, ExchangeType::kIdentityProtection)[0];
  packet[19] = 0x01;
  CHECK(Parsed(packet).id == 3);
}

TEST_CASE("a message that fits is one fragment, flagged last") {
  const std::vector<Bytes> packets =
      FragmentMessage(Message(100), 7, 576, ExchangeType::kIdentityProtection);
  REQUIRE(packets.size() == 1);
  CHECK(Parsed(packets[0]).last);
}

TEST_CASE("fragmenting refuses what it cannot do") {
  CHECK(FragmentMessage(Bytes(10, 0), 1, 576, ExchangeType::kIdentityProtection)
            .empty());  // no header
  CHECK(FragmentMessage(Message(100), 1, kFragmentOverhead, ExchangeType::kIdentityProtection)
            .empty());  // no room
  CHECK(FragmentMessage(Message(300), 1, kFragmentOverhead + 1, ExchangeType::kIdentityProtection)
            .empty());  // > 255
}

TEST_CASE("malformed fragments are refused with the reason") {
  const Bytes good = FragmentMessage(Message(200), 9, 120, ExchangeType::kIdentityProtection)[0];
  auto error = [](Bytes p) {
    auto f = ParseFragment(p);
    REQUIRE(std::holds_alternative<ParseError>(f));
    return std::get<ParseError>(f).detail;
  };
  Bytes other = good;
  other[16] = static_cast<uint8_t>(PayloadType::kVendorId);
  CHECK(error(other) == "not a fragment message");
  Bytes zero = good;
  zero[34] = 0;
  CHECK(error(zero) == "fragment number 0");
  Bytes chained = good;
  chained[28] = static_cast<uint8_t>(PayloadType::kVendorId);
  CHECK(error(chained) == "fragment payload followed by another payload");
  Bytes bad_length = good;
  bad_length[31] ^= 1;
  CHECK_THAT(error(bad_length), Catch::Contains("is not the"));
  Bytes short_packet(good.begin(), good.begin() + 32);
  short_packet[27] = 32;  // header length 32: a 4-octet payload
  CHECK(error(short_packet) == "fragment payload shorter than its 8-octet header");
  CHECK(std::holds_alternative<ParseError>(ParseFragment(Bytes(20, 0))));
}

}  // namespace
}  // namespace ike::wire
