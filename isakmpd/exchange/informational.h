// Informational exchange (RFC 2408 4.8, RFC 2409 5.7): notifies and deletes,
// protected by HASH(1) = prf(SKEYID_a, M-ID | N/D) once an ISAKMP SA exists.
// Building and verifying messages, and deciding what a received one means
// (Evaluate); the SA manager applies the decision.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "isakmpd/exchange/outcome.h"
#include "isakmpd/exchange/phase1_context.h"

namespace ike::isakmpd::informational {

// HDR*, HASH(1), N/D...: |body| gets the HASH payload prepended.
std::vector<wire::Payload> Protect(const Phase1Context& p1, uint32_t message_id,
                                   std::vector<wire::Payload> body);
bool Verify(const Phase1Context& p1, uint32_t message_id,
            const std::vector<wire::Payload>& payloads);
// An unprotected Informational (HDR, N/D...): at least one N or D and
// nothing but N, D and VID. The error names what is wrong.
std::optional<std::string> CheckUnprotected(const std::vector<wire::Payload>& payloads);

// Delete for the ISAKMP SA itself: SPI = CKY-I | CKY-R (RFC 2408 3.15).
wire::Payload DeleteIsakmpSa(const Phase1Context& p1);
// Delete for an ESP SA: we name our inbound SPI, the one the peer sends to.
wire::Payload DeleteEspSa(uint32_t spi);
wire::Payload Notify(wire::NotifyType type, uint8_t protocol = 1, Bytes spi = {});
// RFC 3706 5.2: R-U-THERE (or its ACK) for this SA: protocol ISAKMP, SPI the
// cookie pair, data the 32-bit sequence number.
wire::Payload DpdNotify(const Phase1Context& p1, wire::NotifyType type, uint32_t sequence);

// What a received Informational asks of the SA manager.
struct Actions {
  std::optional<wire::NotifyPayload> answer_r_u_there;  // send R-U-THERE-ACK
  uint32_t r_u_there_seq = 0;                           // its sequence number
  std::optional<uint32_t> r_u_there_ack_seq;            // an ACK for our probe
  std::optional<std::string> dpd_malformed;             // dropped, why (logged)
  std::vector<uint16_t> status_notifies;                // log (INITIAL-CONTACT, ...)
  // An error notify that ends phase 1: authenticated, or unprotected while
  // no key exists yet (the initiator waiting for message 2).
  std::optional<Failure> fail_phase1;
  // An authenticated error notify on an established SA: it concerns our
  // Quick Modes in progress.
  std::optional<uint16_t> fail_quick_modes;
  // An unprotected error notify from message 3 on: anyone who saw the
  // cookies can send it, so it only gets logged (once) and remembered as
  // the likely reason if the exchange later times out.
  std::optional<uint16_t> ignored_notify;
  bool delete_phase1 = false;             // an ISAKMP Delete naming this SA's cookies
  size_t foreign_isakmp_deletes = 0;      // ISAKMP Deletes naming other cookies: logged
  std::vector<uint32_t> delete_esp_spis;  // the peer's inbound SPIs: our outbound
  size_t ignored_unprotected_deletes = 0;
};
Actions Evaluate(const Phase1Context& p1, bool authenticated,
                 const std::vector<wire::Payload>& payloads);

// The tmd error code a peer's notify maps to.
ipc::ErrorCode CodeForNotify(uint16_t type);

}  // namespace ike::isakmpd::informational
