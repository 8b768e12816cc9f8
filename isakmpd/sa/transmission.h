// Retransmission bookkeeping for the last message we sent in an exchange.
#pragma once

#include <cstddef>

#include "common/bytes.h"
#include "common/clock.h"

namespace ike::isakmpd {

struct Transmission {
  Bytes packet;            // exactly as sent, for retransmits
  int message_number = 0;  // 1..6 in Main Mode, 1..3 in Quick Mode
  int tries = 0;
  // The fragment ID its fragments carry, every time it is sent (issue 10.8).
  uint16_t fragment_id = 0;
  TimerId timer = 0;
  // The hash of the peer's last accepted message (never of one merely
  // received: junk with the right cookies must not evict it), and of the
  // peer message |packet| answered.
  size_t last_received_hash = 0;
  size_t response_to_hash = 0;
};

}  // namespace ike::isakmpd
