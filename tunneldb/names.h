// The one table of operator names: what `ike cmd=list`, tmd's and isakmpd's
// logs print for algorithms and modes (issue 7, item 1). Keyed by the
// tunneldb.proto enums, whose values are the RFC numbers (RFC 2409
// Appendix A, RFC 2407 4.4.4 and 4.5), so isakmpd names a negotiated
// transform by casting its attribute value. An offer listed while
// negotiating and the suite listed once Active therefore read the same.
#pragma once

#include <cstdint>
#include <string>

#include "ike.pb.h"
#include "tunneldb.pb.h"

namespace ike::tunneldb {

// "AES-CBC-128" (key_bits 0 means the default, 128), "3DES-CBC".
std::string IkeEncryptionName(db::IkeEncryption e, uint32_t key_bits);
// "SHA1", "SHA2-256", "SHA2-384", "SHA2-512".
std::string IkeHashName(db::IkeHash h);
// "Preshared Key", "RSA Signature".
std::string AuthMethodName(db::AuthMethod m);
// "MODP2048 (14)", "ECP256 (19)"; DH_GROUP_NONE is "none" (no PFS).
std::string DhGroupName(db::DhGroup g);
// "AES-CBC-128", "3DES-CBC".
std::string EspEncryptionName(db::EspEncryption e, uint32_t key_bits);
// "HMAC-SHA1", "HMAC-SHA2-256", ...
std::string EspIntegrityName(db::EspIntegrity i);
// "Main", "Aggressive"; unspecified is Main (the default mode).
std::string IkeModeName(db::IkeMode m);
// "xfrm" (also for unspecified, the default), "state-only".
std::string KernelBackendName(db::KernelBackend k);
std::string ActivationName(db::Activation a);  // "manual", "on-demand", "discovery"

// The IPC enums (proto/ike.proto) as ike cmd=list and the logs print them.
// UNSPECIFIED is "" (ike prints "-").
std::string TunnelStatusName(ipc::TunnelStatus s);    // "Negotiating", "Active", "Failed"
std::string Phase1StateName(ipc::Phase1State s);      // "INIT", "WAIT SA", ..., "DONE"
std::string Phase2StateName(ipc::Phase2State s);      // "INIT", "KEP", "DONE"
std::string RoleName(ipc::Role r);                    // "Initiator", "Responder"
std::string ExchangeModeName(ipc::ExchangeMode m);    // "Main", "Aggressive"
std::string DirectionName(ipc::Direction d);          // "inbound", "outbound"
std::string IpsecProtocolName(ipc::IpsecProtocol p);  // "ESP", "AH"
std::string EncapsulationName(ipc::Encapsulation e);  // "tunnel", "transport"
std::string FilterActionName(ipc::FilterAction a);    // "permit"
// "IPV4_ADDR", "FQDN", "IPV4_ADDR_SUBNET", ... (RFC 2407 4.6.2.1 without "ID_").
std::string IdentityTypeName(ipc::IdentityType t);

// Every name above is "unknown" for a value outside its table.
inline constexpr char kUnknownName[] = "unknown";

}  // namespace ike::tunneldb
