// An IPsec SA pair (inbound and outbound ESP) under an ISAKMP SA: what tmd
// installed, what a Delete names. The Quick Mode that makes it lives in
// |exchange| until it is done or failed, then is freed in one step.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/address.h"
#include "common/bytes.h"
#include "isakmpd/exchange/quick_mode.h"
#include "isakmpd/exchange/steps.h"
#include "isakmpd/sa/transmission.h"

namespace ike::isakmpd {

struct IpsecSa {
  uint64_t handle = 0;
  uint64_t parent = 0;  // the ISAKMP SA's handle
  uint32_t tunnel = 0;  // tmd's phase 2 number; 0 until assigned (responder)
  Role role = Role::kInitiator;
  QuickModeStep step = QuickModeStep::kAwaitSpi;  // changed only by SaManager::Transition
  uint32_t message_id = 0;                        // of the Quick Mode that made it
  uint32_t spi_in = 0;                            // ours: the peer sends to it
  uint32_t spi_out = 0;                           // the peer's
  uint32_t life_seconds = 0;
  IpAddress peer;  // once established: the key of SaManager::child_by_peer_spi_
  // A rekey (issue 9.2): a new pair for a tunnel that has one. |replaces| is
  // that pair (its handle), indexed again if this one fails.
  bool rekey = false;
  uint64_t replaces = 0;

  std::unique_ptr<QuickModeExchange> exchange;  // until kDone or failure
  // The initiator of a rekey holds the new outbound SA back for
  // kOutboundSwitchDelay (the peer installs its inbound on message 3), then
  // reports it: only then does the kernel send on it.
  struct HeldOutbound {
    ipc::Envelope event;  // Phase2Established with the outbound SA's keys
    ~HeldOutbound();      // wipes them
  };
  std::unique_ptr<HeldOutbound> held_outbound;
  TimerId switch_timer = 0;  // from message 3's departure
  // The message that lets the peer send on the new pair (the responder's
  // message 2, a rekey initiator's message 3), held until tmd has installed
  // our inbound SA (EventSink::EmitAndWait).
  struct Withheld {
    Bytes packet;
    bool retransmit = false;
  };
  std::unique_ptr<Withheld> withheld;
  TimerId spi_timer = 0;  // waiting for the SpiAllocator
  // The initiator keeps message 3 to answer a repeated message 2.
  Transmission tx;

  bool established() const { return step == QuickModeStep::kDone; }
};

}  // namespace ike::isakmpd
