// IKEv1 fragmentation (issue 10.8): the vendor-ID-negotiated scheme Cisco
// introduced and strongSwan, Windows and racoon speak. A message too large
// for the path is cut into slices; each slice travels as an ISAKMP message of
// its own (same cookies, the phase 1 exchange type, message ID 0)
// whose one payload is a FRAGMENT payload (type 132):
//   generic header (next payload 0) | fragment ID (16) | number (8, from 1)
//   | flags (8, 0x01 = last) | slice
// The slices, in number order, are the original message, its header
// included. A receiver goes by the rebuilt message's header; the carrier's
// exchange type, message ID and flags vary by vendor (racoon sets the
// encryption flag) and are not checked. Pure functions: no I/O, no state
// (reassembly is elsewhere).
#pragma once

#include <cstdint>
#include <vector>

#include "common/bytes.h"
#include "isakmpd/wire/wire.h"

namespace ike::wire {

constexpr uint8_t kFragmentPayloadType = 132;
constexpr uint8_t kFragmentLastFlag = 0x01;
// Header (28) + generic header (4) + ID, number, flags (4).
constexpr size_t kFragmentOverhead = kHeaderLength + 8;

struct Fragment {
  Header header;  // the carrying message's header
  uint16_t id = 0;
  uint8_t number = 0;
  bool last = false;
  Bytes data;  // the slice
};

// A received message whose next payload is 132. Refuses a missing or
// trailing payload, a number of 0 and an empty slice.
ParseResult<Fragment> ParseFragment(ByteView packet);

// Cuts |message| (a whole encoded ISAKMP message) into fragment messages of
// at most |max_packet| octets each (at least kFragmentOverhead + 1), numbered
// from 1, the last flagged. The carriers keep the message's cookies but say
// |carrier_exchange| (the phase 1 exchange, Main or Aggressive Mode, even
// for a Quick Mode message) and message ID 0, as strongSwan and Cisco send
// them and as strongSwan only accepts them. Empty if |message| is not a
// message or would need more than 255 fragments.
std::vector<Bytes> FragmentMessage(ByteView message, uint16_t id, size_t max_packet,
                                   ExchangeType carrier_exchange);

}  // namespace ike::wire
