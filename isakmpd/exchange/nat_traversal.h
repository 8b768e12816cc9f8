// NAT traversal for IKEv1 (RFC 3947): the vendor ID that announces it, the
// NAT-D payloads of Main Mode messages 3 and 4, and what they reveal.
// strongSwan's kernel-libipsec only does ESP-in-UDP, so it fakes a NAT and
// needs this to finish Quick Mode (interop-strongswan.md 3.6).
#pragma once

#include <vector>

#include "isakmpd/exchange/phase1_context.h"

namespace ike::isakmpd::nat_traversal {

constexpr uint16_t kPort = 4500;
// RFC 3947 section 4: the encapsulation modes negotiated in Quick Mode.
constexpr uint16_t kUdpEncapsulatedTunnel = 3;
constexpr uint16_t kUdpEncapsulatedTransport = 4;

// VID payload "RFC 3947" (MD5 of the string, RFC 3947 section 3.1).
wire::Payload VendorIdPayload();
const Bytes& Rfc3947VendorId();
bool HasVendorId(const std::vector<wire::Payload>& payloads);

// NAT-D payloads for messages 3/4: HASH(CKY-I | CKY-R | IP | Port) of the
// peer's address first, then ours (RFC 3947 section 3.2).
std::vector<wire::Payload> NatDPayloads(const Phase1Context& sa);
// Compares the peer's NAT-D payloads with the addresses we see; sets
// sa.nat_local / sa.nat_remote.
void Detect(Phase1Context& sa, const std::vector<wire::Payload>& payloads);

}  // namespace ike::isakmpd::nat_traversal
