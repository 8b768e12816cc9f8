// clang-format off
// Alone (proves the codec links alone): clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/wire_fuzz.cc isakmpd/wire/*.cc common/bytes.cc -lcrypto -o wire_fuzz && ./wire_fuzz fuzz/corpus/wire
// clang-format on
//
// libFuzzer target for the ISAKMP codec (style.md rule 11). It links only the
// codec (isakmpd_wire; built with FUZZ=ON, its corpus replayed by ctest
// fuzz.wire; docs/fuzzing.md). Input: a whole ISAKMP message (RFC 2408 3.1).
// Checks, beyond "no crash": a message that parses re-encodes to bytes that
// parse and re-encode identically, and the validator and attribute decoders
// accept whatever the parser produced; RESPONDER-LIFETIME data that decode
// re-encode to the same lifetimes. IKEv1 fragments: a fragment message
// parses without a crash, and any message cut into fragments reads back whole.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "isakmpd/wire/fragment.h"
#include "isakmpd/wire/sa_attributes.h"
#include "isakmpd/wire/wire.h"

namespace {

using namespace ike;
using namespace ike::wire;

void CheckStable(std::vector<Payload>& payloads, bool allow_unknown) {
  const Bytes once = EncodePayloads(payloads);
  const PayloadType first = payloads.empty() ? PayloadType::kNone : payloads[0].type;
  auto again = ParsePayloads(first, once, allow_unknown);
  if (!std::holds_alternative<std::vector<Payload>>(again)) abort();
  auto& reparsed = std::get<std::vector<Payload>>(again);
  if (EncodePayloads(reparsed) != once) abort();
}

// Any notify's data as RESPONDER-LIFETIME data: what decodes re-encodes to
// data that decode to the same lifetimes.
void ExerciseLifeNotify(const NotifyPayload& n) {
  auto life = DecodeLifeNotifyData(n.protocol, n.data);
  const auto* d = std::get_if<LifeDurations>(&life);
  if (d == nullptr || (d->seconds == 0 && d->kbytes == 0)) return;
  auto again = DecodeLifeNotifyData(n.protocol, EncodeLifeNotifyData(n.protocol, *d));
  if (!std::holds_alternative<LifeDurations>(again) || std::get<LifeDurations>(again) != *d)
    abort();
}

void Exercise(const std::vector<Payload>& payloads) {
  for (int k = 0; k <= static_cast<int>(MessageKind::kInformational); ++k)
    (void)ValidatePayloads(static_cast<MessageKind>(k), payloads);
  (void)DescribePayloads(payloads);
  for (const auto& p : payloads) {
    if (const auto* n = std::get_if<NotifyPayload>(&p.body)) ExerciseLifeNotify(*n);
    const auto* sa = std::get_if<SaPayload>(&p.body);
    if (sa == nullptr) continue;
    for (const auto& prop : sa->proposals)
      for (const auto& t : prop.transforms) {
        (void)DecodeIkeTransform(t);
        (void)DecodeIpsecTransform(t);
      }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView packet(data, size);
  auto header = ParseHeader(packet);
  if (!std::holds_alternative<Header>(header)) return 0;
  const Header& h = std::get<Header>(header);
  (void)ParseFragment(packet);
  Bytes whole;
  for (const Bytes& f : FragmentMessage(packet, 1, kFragmentOverhead + 1 + size % 600,
                                        ExchangeType::kIdentityProtection)) {
    auto parsed = ParseFragment(f);
    if (!std::holds_alternative<Fragment>(parsed)) abort();
    Append(whole, std::get<Fragment>(parsed).data);
  }
  if (!whole.empty() && whole != Bytes(packet.begin(), packet.begin() + h.length)) abort();
  const bool allow_unknown = (h.flags & 0x80) != 0;  // let the fuzzer pick
  auto parsed = ParsePayloads(
      h.next_payload, packet.subspan(kHeaderLength, h.length - kHeaderLength), allow_unknown);
  if (auto* payloads = std::get_if<std::vector<Payload>>(&parsed)) {
    Exercise(*payloads);
    CheckStable(*payloads, allow_unknown);
  }
  return 0;
}
