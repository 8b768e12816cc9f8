// SA lifetimes beyond the chosen transform, for both phases: the responder's
// RESPONDER-LIFETIME notify (RFC 2407 4.5.4, 4.6.3.1), the initiator's
// reading of it, and our floor (settings.min_lifetime_seconds). The
// transform itself is returned unchanged (RFC 2409 5: the responder may not
// edit what it accepts), so the notify is the only way to say "shorter".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "isakmpd/exchange/outcome.h"
#include "isakmpd/wire/wire.h"

namespace ike::isakmpd::lifetime {

// A proposed or imposed lifetime in seconds we refuse: non-zero (0 means
// "ours", RFC 2407 4.5 gives no meaning to an SA that expires at once) and
// below |minimum|.
inline bool BelowMinimum(uint64_t seconds, uint32_t minimum) {
  return seconds != 0 && seconds < minimum;
}
// "our minimum 60 s (settings.min_lifetime_seconds)", for the reasons above.
std::string MinimumText(uint32_t minimum);

// Responder: N(RESPONDER-LIFETIME) with the SA's lifetimes (kilobytes only
// when non-zero). |spi|: the cookie pair for ISAKMP, our inbound SPI for
// ESP (RFC 2407 4.6.3.1: "the sender's inbound IPSEC SPI").
wire::Payload ResponderLifetimeNotify(wire::ProtocolId protocol, Bytes spi, uint32_t seconds,
                                      uint64_t kbytes);

// Initiator: applies each RESPONDER-LIFETIME for |protocol| in |payloads| to
// |*seconds| and |*kbytes|: each becomes the shorter of ours and theirs (a
// type the notify leaves out, or gives as 0, keeps ours). Notifies for
// another protocol are not about this SA and are skipped. Fails, with a
// reason naming the values, on data that do not decode or on fewer seconds
// than |minimum|; the failure asks for a Delete at the peer, which holds
// the SA as agreed. |peer| names the peer in the reason.
std::optional<Failure> TakeResponderLifetime(const std::vector<wire::Payload>& payloads,
                                             wire::ProtocolId protocol, uint32_t minimum,
                                             const std::string& peer, uint32_t* seconds,
                                             uint64_t* kbytes);

// "3600 s" or "3600 s, 4608000 KB", for log lines.
std::string Describe(uint32_t seconds, uint64_t kbytes);

}  // namespace ike::isakmpd::lifetime
