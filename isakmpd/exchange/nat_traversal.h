// NAT traversal for IKEv1 (RFC 3947) and the drafts deployed before it
// (draft-ietf-ipsec-nat-t-ike-02, -02\n, -03): the vendor IDs that announce
// it, the NAT-D payloads of Main Mode 3/4 (Aggressive Mode 2/3) and what
// they reveal, the NAT-OA payloads of a transport mode Quick Mode, and the
// encapsulation modes. The drafts number the NAT-D/NAT-OA payloads 130/131
// and the UDP encapsulation modes 61443/61444; RFC 3947 20/21 and 3/4.
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
// draft-ietf-ipsec-nat-t-ike-02/03 section 5.1: the same, from the private
// range (what strongSwan and libreswan send to a draft peer).
constexpr uint16_t kDraftUdpEncapsulatedTunnel = 61443;
constexpr uint16_t kDraftUdpEncapsulatedTransport = 61444;

// The vendor ID of each version ("RFC 3947": MD5 of the string, RFC 3947
// 3.1; the drafts': MD5 of their names).
const Bytes& VendorId(NatTVersion version);
// "RFC 3947", "draft-02", "draft-02\n", "draft-03"; "none".
const char* VersionName(NatTVersion version);
// An initiator's message 1: RFC 3947 first, then each draft (as strongSwan
// and libreswan do), so a peer that only knows a draft still agrees.
std::vector<wire::Payload> OfferedVendorIds();
// A responder's answer: the one version agreed.
wire::Payload VendorIdPayload(NatTVersion version);
// The best version the peer's vendor IDs name (RFC 3947 over -03 over
// -02\n over -02); kNone when it names none.
NatTVersion Agreed(const std::vector<wire::Payload>& payloads);

bool IsDraft(NatTVersion version);
wire::PayloadType NatDType(NatTVersion version);
wire::PayloadType NatOaType(NatTVersion version);
// The encapsulation mode of a Quick Mode when a NAT is in the path.
uint16_t UdpEncapsulation(NatTVersion version, bool transport);
// Any of the four UDP encapsulation modes (RFC or draft).
bool IsUdpEncapsulation(uint16_t encapsulation);
bool IsTransport(uint16_t encapsulation);  // plain or UDP, RFC or draft

// NAT-D payloads for messages 3/4: HASH(CKY-I | CKY-R | IP | Port) of the
// peer's address first, then ours (RFC 3947 section 3.2), typed for
// sa.nat_t.
std::vector<wire::Payload> NatDPayloads(const Phase1Context& sa);
// Compares the peer's NAT-D payloads (of sa.nat_t's type) with the
// addresses we see; sets sa.nat_local / sa.nat_remote.
void Detect(Phase1Context& sa, const std::vector<wire::Payload>& payloads);

// RFC 3947 5.2: the NAT-OA payloads of Quick Mode 1 and 2 in transport
// mode through a NAT: NAT-OAi (the initiator's address as its sender
// knows it), then NAT-OAr (the responder's). The drafts carry one, the
// sender's own original address.
std::vector<wire::Payload> NatOaPayloads(const Phase1Context& p1);
// The addresses of the peer's NAT-OA payloads ("192.0.2.1"), for the log;
// a malformed one reads "malformed".
std::vector<std::string> ReadNatOa(const Phase1Context& p1,
                                   const std::vector<wire::Payload>& payloads);

}  // namespace ike::isakmpd::nat_traversal
