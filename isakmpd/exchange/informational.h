// Informational exchange (RFC 2408 4.8, RFC 2409 5.7): notifies and deletes,
// protected by HASH(1) = prf(SKEYID_a, M-ID | N/D) once an ISAKMP SA exists.
#pragma once

#include <vector>

#include "isakmpd/sa/isakmp_sa.h"

namespace ike::isakmpd::informational {

// HDR*, HASH(1), N/D...: |body| gets the HASH payload prepended.
std::vector<wire::Payload> Protect(const IsakmpSa& p1, uint32_t message_id,
                                   std::vector<wire::Payload> body);
bool Verify(const IsakmpSa& p1, uint32_t message_id, const std::vector<wire::Payload>& payloads);

// Delete for the ISAKMP SA itself: SPI = CKY-I | CKY-R (RFC 2408 3.15).
wire::Payload DeleteIsakmpSa(const IsakmpSa& p1);
// Delete for an ESP SA: we name our inbound SPI, the one the peer sends to.
wire::Payload DeleteEspSa(uint32_t spi);
wire::Payload Notify(wire::NotifyType type, uint8_t protocol = 1, Bytes spi = {});

}  // namespace ike::isakmpd::informational
