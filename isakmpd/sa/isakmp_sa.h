// The long-lived ISAKMP SA. What exchanges may see is its Phase1Context
// base (exchange/phase1_context.h); the Main Mode negotiation lives in
// |exchange| until it is done or failed. Owned by the SaManager.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/clock.h"
#include "isakmpd/exchange/phase1_context.h"
#include "isakmpd/exchange/phase1_exchange.h"
#include "isakmpd/sa/message_ids.h"
#include "isakmpd/sa/transmission.h"

namespace ike::isakmpd {

struct IsakmpSa : Phase1Context {
  uint64_t handle = 0;
  uint32_t tunnel = 0;  // tmd's number; 0 until assigned (responder)
  std::string name;     // the ike_tunnel's name: phase 2 definitions hang off it

  // The Main Mode negotiation: set from kInit until kDone (or failure), then
  // freed in one step (heap per tunnel, issue 3).
  std::unique_ptr<Phase1Exchange> exchange;

  // Phase 2 and Informational message ids under this SA, both directions.
  MessageIdTable message_ids;

  bool counted_half_open = false;  // a responder SA not yet established
  IpAddress counted_peer;          // responder: the Main Mode 1 sender's address

  // Handles of the IPsec SAs negotiated on this SA (SaManager::children_),
  // so a Delete, an error notify or shutdown visits only these instead of
  // every IPsec SA of the daemon (quadratic with 20,000 tunnels).
  std::vector<uint64_t> children;

  // An unprotected error notify seen from message 3 on: logged once and
  // named as the likely reason if an exchange on this SA times out.
  std::optional<uint16_t> unprotected_notify;
  bool logged_unprotected_delete = false;

  // The last phase 1 message we sent. The responder keeps message 6 after
  // DONE to answer a repeated message 5 until the first Quick Mode shows it
  // arrived.
  Transmission tx;
  TimerId deadline_timer = 0;   // lifetime expiry, once established
  TimerId keepalive_timer = 0;  // NAT keepalives (RFC 3948 4), behind a NAT
  uint64_t established_unix = 0;
  // Re-establishment (issue 9.3): the SA this one takes over from (its
  // phase 2 SAs move here at DONE), and on the old one, the replacement
  // being negotiated.
  uint64_t replaces = 0;
  uint64_t replacement = 0;
  TimePoint took_over{};       // when it took over (steady clock)
  TimerId retire_timer = 0;    // the replaced SA: deleted after an overlap
  TimePoint retiring_since{};  // when its overlap began
  // IKE traffic under the SA's keys, for its kilobyte lifetime: every
  // message we sealed and every one we accepted (authenticated), header
  // included; retransmissions and dropped copies are not counted.
  uint64_t protected_octets = 0;
  // Dead Peer Detection (RFC 3706 6.1): the highest R-U-THERE sequence
  // number answered; a lower one is a replay.
  std::optional<uint32_t> dpd_seq_in;
  // Our probes (RFC 3706 5.5, 6.1): the last sequence number sent (the first
  // is random), and the first one not yet answered while any is outstanding.
  // An ACK for any probe from that one on answers them all.
  uint32_t dpd_seq_out = 0;
  std::optional<uint32_t> dpd_unanswered_from;
  // When the peer last sent an authenticated message on this SA (steady
  // clock): an IDLE-mode probe is not needed while it speaks (RFC 3706 5.3).
  std::optional<TimePoint> last_heard;
  TimePoint created{};          // steady clock: which ICMP errors are about this SA
  bool volume_expired = false;  // the kilobyte limit was reached (expiry armed)
};

}  // namespace ike::isakmpd
