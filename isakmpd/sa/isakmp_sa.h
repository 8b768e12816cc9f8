// The long-lived ISAKMP SA and the phase 1 negotiation state it carries while
// Main Mode runs. Owned by the SaManager; exchanges read and fill it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "ikev1/keymat.h"
#include "isakmpd/exchange/states.h"
#include "isakmpd/exchange/suite.h"
#include "isakmpd/wire/wire.h"
#include "tunneldb.pb.h"

namespace ike::isakmpd {

// Retransmission bookkeeping for the last message we sent in an exchange.
struct Transmission {
  Bytes packet;            // exactly as sent, for retransmits
  int message_number = 0;  // 1..6 in Main Mode, 1..3 in Quick Mode
  int tries = 0;
  TimerId timer = 0;
  size_t last_received_hash = 0;  // detects a retransmitted peer message
  size_t response_to_hash = 0;    // the peer message |packet| answered
};

struct IsakmpSa {
  uint64_t handle = 0;
  uint32_t tunnel = 0;  // tmd's number; 0 until assigned (responder)
  Role role = Role::kInitiator;
  Phase1State state = Phase1State::kInit;
  wire::Cookie icookie{};
  wire::Cookie rcookie{};
  Endpoint local;
  Endpoint remote;
  std::string name;  // the ike_tunnel's name: phase 2 definitions hang off it
  // Negotiation only: released once the SA is established (ReleaseNegotiation).
  db::IkeTunnel definition;
  db::IkeProtection protection;

  // Negotiation material (cleared once DONE, except what phase 2 needs).
  std::optional<IkeSuite> suite;
  std::unique_ptr<crypto::DhKeyPair> dh;
  Bytes g_xi, g_xr, ni, nr;
  SecretBytes g_xy;
  Bytes sai_b;  // the initiator's SA payload body, for HASH_I/HASH_R
  SecretBytes skeyid;
  bool skeyid_pending = false;
  std::optional<Bytes> queued_packet;    // MM5 that arrived before SKEYID
  Endpoint queued_local, queued_remote;  // where it arrived

  keymat::Phase1Keys keys;
  Bytes iv;  // phase 1 CBC state: the IV for the next phase 1 message
  std::string local_id;
  std::string remote_id;

  // NAT traversal (RFC 3947): both sent the vendor ID; NAT-D showed a NAT
  // in front of us or of the peer. Either moves IKE to port 4500 from
  // message 5 on and makes ESP UDP-encapsulated.
  bool nat_t = false;
  bool nat_local = false;
  bool nat_remote = false;
  bool behind_nat() const { return nat_local || nat_remote; }

  bool counted_half_open = false;  // a responder SA not yet established
  IpAddress counted_peer;          // responder: the Main Mode 1 sender's address
  int undecryptable = 0;           // message 5/6 copies that did not decrypt

  // Handles of the Quick Modes negotiated on this SA (SaManager::qms_), so a
  // Delete, an error notify or shutdown visits only these instead of every
  // Quick Mode of the daemon (quadratic with 20,000 tunnels).
  std::vector<uint64_t> quick_modes;

  Transmission tx;
  TimerId deadline_timer = 0;  // whole-negotiation limit / lifetime expiry
  uint64_t established_unix = 0;

  bool established() const { return state == Phase1State::kDone; }
  std::string CookieText() const;  // "icookie:rcookie" in hex
};

}  // namespace ike::isakmpd
