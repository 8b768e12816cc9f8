// Quick Mode (RFC 2409 section 5.5), tunnel-mode ESP, optional PFS:
//   Initiator                               Responder
//   HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] -->                    (1)
//                      <-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr] (2)
//   HDR*, HASH(3)                           -->                        (3)
// The IPsec SA's QuickModeStep (steps.h) picks the handler. Handlers compute
// and return an Outcome; the SA manager encrypts with the per-message-id IV
// and does the retransmissions.
#pragma once

#include <memory>
#include <vector>

#include "common/crypto.h"
#include "isakmpd/exchange/outcome.h"
#include "isakmpd/exchange/phase1_context.h"
#include "isakmpd/exchange/tools.h"
#include "tunneldb.pb.h"
#include "tunneldb/database.h"

namespace ike::isakmpd {

// The negotiation state of one Quick Mode. Owned by the IPsec SA it makes
// (sa/ipsec_sa.h) until the exchange is done or failed, then freed in one
// step; the SPIs and suite it agreed are copied to the IPsec SA.
struct QuickModeExchange {
  Role role = Role::kInitiator;
  uint32_t message_id = 0;
  db::IpsecTunnel definition;
  db::IpsecProtection protection;
  // settings.min_lifetime_seconds: shorter lifetimes are refused, offered
  // (message 1) or imposed (RESPONDER-LIFETIME in message 2).
  uint32_t min_life_seconds = tunneldb::kMinLifetimeSeconds;

  uint32_t spi_in = 0;   // ours: the peer sends to it
  uint32_t spi_out = 0;  // the peer's
  std::optional<EspSuite> suite;
  std::unique_ptr<crypto::DhKeyPair> dh;
  Bytes ni, nr;
  SecretBytes g_qm;
  std::vector<wire::Payload> ids;       // IDci, IDcr as received (responder)
  std::vector<wire::Payload> message1;  // responder: message 1 while the SPI is allocated
  std::string local_text, remote_text;  // "first-last", narrowed to the peer's IDs
  // The negotiated IDs' IP protocol and ports (RFC 2407 4.6.2), 0 = any:
  // the kernel's policies carry them (an AIX filter rule's protocol/port).
  uint8_t protocol = 0;
  uint16_t local_port = 0, remote_port = 0;
  // The addresses of the peer's NAT-OA payloads (RFC 3947 5.2, transport
  // mode through a NAT), for the log.
  std::vector<std::string> peer_nat_oa;

  Bytes iv;                           // CBC state for this message id
  SecretBytes keymat_in, keymat_out;  // enc key | integrity key
};

namespace quick_mode {

// Initiator: builds message 1 for |qm| (definition, protection, spi_in set).
Phase2Outcome InitiatorSendHashSaNonce(const Phase1Context& p1, QuickModeExchange& qm,
                                       const ExchangeTools& tools);
// Responder: message 1 for a definition the SA manager matched; builds message 2.
Phase2Outcome ResponderRecvHashSaNonceSendHashSaNonce(const Phase1Context& p1,
                                                      QuickModeExchange& qm,
                                                      const std::vector<wire::Payload>& payloads,
                                                      const ExchangeTools& tools);
// The next step for a message received in |step| (messages 2 and 3). The
// initiator's message 2 moves it to kKeyed, then (message 3 sent) done.
Phase2Outcome Receive(const Phase1Context& p1, QuickModeExchange& qm, QuickModeStep step,
                      const std::vector<wire::Payload>& payloads);
// The message expected in |step| for |role|, for payload validation.
std::optional<wire::MessageKind> ExpectedMessage(Role role, QuickModeStep step);

// HASH(1) check for a message 1 before any state is created.
bool VerifyHash1(const Phase1Context& p1, uint32_t message_id,
                 const std::vector<wire::Payload>& payloads);

// The selector ranges named by IDci/IDcr in a message 1, or the phase 1
// endpoints when absent (RFC 2409 5.5).
struct Selectors {
  AddressRange initiator;  // IDci
  AddressRange responder;  // IDcr
  uint8_t protocol = 0;
  uint16_t initiator_port = 0, responder_port = 0;
};
// "IDci / IDcr" as the operator reads them, with the protocol and ports
// where the IDs name them: "198.51.100.0-198.51.100.255 / 203.0.113.1
// (protocol 6, ports any / 22)".
std::string SelectorsText(const Selectors& s);
std::optional<Selectors> ReadSelectors(const Phase1Context& p1,
                                       const std::vector<wire::Payload>& payloads);

}  // namespace quick_mode
}  // namespace ike::isakmpd
