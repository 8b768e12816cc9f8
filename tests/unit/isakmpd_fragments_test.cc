// Reassembly of IKEv1 fragments (isakmpd/sa/fragments.h, issue 10.8): in
// order, out of order, retransmitted, and every bound a flood runs into.
#include <catch2/catch.hpp>
#include <variant>

#include "isakmpd/sa/fragments.h"

namespace ike::isakmpd {
namespace {

using Result = FragmentReassembler::Result;

Bytes Message(size_t length, uint8_t cookie = 1) {
  wire::Header h;
  h.icookie = {cookie, 2, 3, 4, 5, 6, 7, 8};
  h.next_payload = wire::PayloadType::kSa;
  h.exchange = wire::ExchangeType::kIdentityProtection;
  h.length = static_cast<uint32_t>(length);
  Bytes m = wire::EncodeHeader(h);
  for (size_t i = m.size(); i < length; ++i) m.push_back(static_cast<uint8_t>(i));
  return m;
}

std::vector<wire::Fragment> Cut(const Bytes& message, size_t max_packet, uint16_t id = 1) {
  std::vector<wire::Fragment> out;
  for (const Bytes& p :
       wire::FragmentMessage(message, id, max_packet, wire::ExchangeType::kIdentityProtection))
    out.push_back(std::get<wire::Fragment>(wire::ParseFragment(p)));
  return out;
}

TEST_CASE("fragments in order rebuild the message") {
  FragmentReassembler r;
  const Bytes m = Message(1500);
  auto parts = Cut(m, 576);
  REQUIRE(parts.size() == 3);
  CHECK(r.Add(parts[0], 0).result == Result::kKept);
  CHECK(r.Add(parts[1], 0).result == Result::kKept);
  auto done = r.Add(parts[2], 0);
  CHECK(done.result == Result::kComplete);
  CHECK(done.message == m);
  CHECK(r.pending() == 0);
}

TEST_CASE("out of order and retransmitted fragments rebuild it once") {
  FragmentReassembler r;
  const Bytes m = Message(1500);
  auto parts = Cut(m, 576);
  CHECK(r.Add(parts[2], 0).result == Result::kKept);  // the last first
  CHECK(r.Add(parts[0], 0).result == Result::kKept);
  CHECK(r.Add(parts[0], 0).result == Result::kDuplicate);
  auto done = r.Add(parts[1], 0);
  REQUIRE(done.result == Result::kComplete);
  CHECK(done.message == m);
}

TEST_CASE("a new message under the same fragment ID replaces a stale partial one") {
  // strongSwan's carriers all say message ID 0: the key of Main Mode 3 and
  // of Main Mode 5 is the same. A lost fragment must not poison the next.
  FragmentReassembler r;
  const Bytes old_message = Message(1000, 1);
  Bytes next = Message(1000, 1);
  next[100] ^= 0xff;
  next[700] ^= 0xff;
  auto stale = Cut(old_message, 576), fresh = Cut(next, 576);
  CHECK(r.Add(stale[0], 0).result == Result::kKept);  // its second fragment was lost
  CHECK(r.Add(fresh[0], 10).result == Result::kRestarted);
  auto done = r.Add(fresh[1], 10);
  REQUIRE(done.result == Result::kComplete);
  CHECK(done.message == next);
}

TEST_CASE("two messages' fragments interleaved are kept apart") {
  FragmentReassembler r;
  const Bytes a = Message(1000, 1), b = Message(1000, 2);
  auto pa = Cut(a, 576), pb = Cut(b, 576);
  CHECK(r.Add(pa[0], 0).result == Result::kKept);
  CHECK(r.Add(pb[0], 0).result == Result::kKept);
  CHECK(r.Add(pb[1], 0).message == b);
  CHECK(r.Add(pa[1], 0).message == a);
}

TEST_CASE("the bounds: fragments, octets, slots and age") {
  SECTION("more fragments than allowed") {
    FragmentReassembler r({.max_fragments = 4});
    auto parts = Cut(Message(2000), 300);
    REQUIRE(parts.size() > 4);
    for (int i = 0; i < 4; ++i) CHECK(r.Add(parts[i], 0).result == Result::kKept);
    CHECK(r.Add(parts[4], 0).result == Result::kTooMany);
    CHECK(r.pending() == 0);
  }
  SECTION("more octets than allowed") {
    FragmentReassembler r({.max_octets = 1200});  // slices of 540 octets
    auto parts = Cut(Message(2000), 576);
    CHECK(r.Add(parts[0], 0).result == Result::kKept);
    CHECK(r.Add(parts[1], 0).result == Result::kKept);
    CHECK(r.Add(parts[2], 0).result == Result::kTooLarge);
    CHECK(r.pending() == 0);
  }
  SECTION("a full table gives the oldest reassembly up") {
    FragmentReassembler r({.max_reassemblies = 2});
    auto a = Cut(Message(1000, 1), 576), b = Cut(Message(1000, 2), 576),
         c = Cut(Message(1000, 3), 576);
    r.Add(a[0], 0);
    r.Add(b[0], 1);
    r.Add(c[0], 2);
    CHECK(r.pending() == 2);
    CHECK(r.Add(a[1], 3).result == Result::kKept);  // a started again: incomplete
    CHECK(r.Add(c[1], 3).result == Result::kComplete);
  }
  SECTION("a reassembly older than max_age_ms is dropped") {
    FragmentReassembler r({.max_age_ms = 1000});
    auto parts = Cut(Message(1000), 576);
    r.Add(parts[0], 0);
    CHECK(r.Add(parts[1], 1001).result == Result::kKept);  // the first is gone
    CHECK(r.pending() == 1);
  }
  SECTION("a second, different last fragment is not the same message") {
    FragmentReassembler r;
    auto parts = Cut(Message(1500), 576);
    wire::Fragment bogus = parts[1];
    bogus.last = true;
    CHECK(r.Add(parts[2], 0).result == Result::kKept);  // last = 3
    CHECK(r.Add(bogus, 0).result == Result::kInconsistent);
    CHECK(r.pending() == 0);
  }
}

}  // namespace
}  // namespace ike::isakmpd
