// An IPsec SA pair (inbound and outbound ESP) under an ISAKMP SA: what tmd
// installed, what a Delete names. The Quick Mode that makes it lives in
// |exchange| until it is done or failed, then is freed in one step.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

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

  std::unique_ptr<QuickModeExchange> exchange;  // until kDone or failure
  TimerId spi_timer = 0;                        // waiting for the SpiAllocator
  // The initiator keeps message 3 to answer a repeated message 2.
  Transmission tx;

  bool established() const { return step == QuickModeStep::kDone; }
};

}  // namespace ike::isakmpd
