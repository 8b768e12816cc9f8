// The operator names (names.h): one row per enum value.
#include "tunneldb/names.h"

#include <utility>

namespace ike::tunneldb {
namespace {

template <typename Enum, size_t N>
const char* Lookup(const std::pair<Enum, const char*> (&table)[N], Enum value) {
  for (const auto& [key, name] : table) {
    if (key == value) return name;
  }
  return kUnknownName;
}

// The cipher name without the key length; AES appends it.
constexpr std::pair<db::IkeEncryption, const char*> kIkeEncryption[] = {
    {db::AES_CBC, "AES-CBC"},
    {db::DES3_CBC, "3DES-CBC"},
};
constexpr std::pair<db::EspEncryption, const char*> kEspEncryption[] = {
    {db::ESP_AES_CBC, "AES-CBC"},
    {db::ESP_3DES, "3DES-CBC"},
    {db::ESP_AES_GCM_16, "AES-GCM-16"},
};
constexpr std::pair<db::IkeHash, const char*> kIkeHash[] = {
    {db::SHA1, "SHA1"},
    {db::SHA2_256, "SHA2-256"},
    {db::SHA2_384, "SHA2-384"},
    {db::SHA2_512, "SHA2-512"},
};
constexpr std::pair<db::AuthMethod, const char*> kAuthMethod[] = {
    {db::PRESHARED_KEY, "Preshared Key"},
    {db::RSA_SIGNATURE, "RSA Signature"},
};
constexpr std::pair<db::DhGroup, const char*> kDhGroup[] = {
    {db::DH_GROUP_NONE, "none"},
    {db::MODP_768, "MODP768 (1)"},
    {db::MODP_1024, "MODP1024 (2)"},
    {db::MODP_1536, "MODP1536 (5)"},
    {db::MODP_2048, "MODP2048 (14)"},
    {db::MODP_3072, "MODP3072 (15)"},
    {db::MODP_4096, "MODP4096 (16)"},
    {db::ECP_256, "ECP256 (19)"},
    {db::ECP_384, "ECP384 (20)"},
    {db::ECP_521, "ECP521 (21)"},
    {db::MODP_2048_256, "MODP2048/256 (24)"},
};
constexpr std::pair<db::EspIntegrity, const char*> kEspIntegrity[] = {
    {db::ESP_INTEGRITY_UNSPECIFIED, "none"},  // AES-GCM: the cipher is the integrity
    {db::HMAC_SHA1, "HMAC-SHA1"},
    {db::HMAC_SHA2_256, "HMAC-SHA2-256"},
    {db::HMAC_SHA2_384, "HMAC-SHA2-384"},
    {db::HMAC_SHA2_512, "HMAC-SHA2-512"},
};
constexpr std::pair<db::IkeMode, const char*> kIkeMode[] = {
    {db::IKE_MODE_UNSPECIFIED, "Main"},
    {db::MAIN, "Main"},
    {db::AGGRESSIVE, "Aggressive"},
};

constexpr std::pair<db::KernelBackend, const char*> kKernelBackend[] = {
    {db::KERNEL_BACKEND_UNSPECIFIED, "xfrm"},
    {db::XFRM, "xfrm"},
    {db::STATE_ONLY, "state-only"},
};

constexpr std::pair<ipc::TunnelStatus, const char*> kTunnelStatus[] = {
    {ipc::TUNNEL_STATUS_UNSPECIFIED, ""},
    {ipc::NEGOTIATING, "Negotiating"},
    {ipc::ACTIVE, "Active"},
    {ipc::FAILED, "Failed"},
    {ipc::DORMANT, "Dormant"},
    {ipc::CLEAR, "Clear"},
};
// IBM's state names (aix-ike.md; architecture.md "States operators see").
constexpr std::pair<ipc::Phase1State, const char*> kPhase1State[] = {
    {ipc::PHASE1_STATE_UNSPECIFIED, ""}, {ipc::PHASE1_INIT, "INIT"},
    {ipc::PHASE1_WAIT_SA, "WAIT SA"},    {ipc::PHASE1_WAIT_KE, "WAIT KE"},
    {ipc::PHASE1_IN_KE, "IN KE"},        {ipc::PHASE1_DONE, "DONE"},
};
constexpr std::pair<ipc::Phase2State, const char*> kPhase2State[] = {
    {ipc::PHASE2_STATE_UNSPECIFIED, ""},
    {ipc::PHASE2_INIT, "INIT"},
    {ipc::PHASE2_KEP, "KEP"},
    {ipc::PHASE2_DONE, "DONE"},
};
constexpr std::pair<ipc::Role, const char*> kRole[] = {
    {ipc::ROLE_UNSPECIFIED, ""},
    {ipc::INITIATOR, "Initiator"},
    {ipc::RESPONDER, "Responder"},
};
constexpr std::pair<ipc::ExchangeMode, const char*> kExchangeMode[] = {
    {ipc::EXCHANGE_MODE_UNSPECIFIED, ""},
    {ipc::MAIN, "Main"},
    {ipc::AGGRESSIVE, "Aggressive"},
};
constexpr std::pair<ipc::Direction, const char*> kDirection[] = {
    {ipc::DIRECTION_UNSPECIFIED, ""},
    {ipc::INBOUND, "inbound"},
    {ipc::OUTBOUND, "outbound"},
};
constexpr std::pair<ipc::IpsecProtocol, const char*> kIpsecProtocol[] = {
    {ipc::IPSEC_PROTOCOL_UNSPECIFIED, ""},
    {ipc::PROTO_AH, "AH"},
    {ipc::PROTO_ESP, "ESP"},
};
constexpr std::pair<ipc::Encapsulation, const char*> kEncapsulation[] = {
    {ipc::ENCAPSULATION_UNSPECIFIED, ""},
    {ipc::TUNNEL, "tunnel"},
    {ipc::TRANSPORT, "transport"},
    {ipc::UDP_TUNNEL, "tunnel-in-UDP"},
    {ipc::UDP_TRANSPORT, "transport-in-UDP"},
};
constexpr std::pair<ipc::FilterAction, const char*> kFilterAction[] = {
    {ipc::FILTER_ACTION_UNSPECIFIED, ""},
    {ipc::PERMIT, "permit"},
    {ipc::TRAP, "trap"},
    {ipc::TRAP_CLEAR, "trap-clear"},
};

// RFC 2407 4.6.2.1 without the "ID_" prefix, as tunnels.db writes the
// phase 1 types (ike.db.IdType).
constexpr std::pair<ipc::IdentityType, const char*> kIdentityType[] = {
    {ipc::IDENTITY_TYPE_UNSPECIFIED, ""},
    {ipc::ID_IPV4_ADDR, "IPV4_ADDR"},
    {ipc::ID_FQDN, "FQDN"},
    {ipc::ID_USER_FQDN, "USER_FQDN"},
    {ipc::ID_IPV4_ADDR_SUBNET, "IPV4_ADDR_SUBNET"},
    {ipc::ID_IPV6_ADDR, "IPV6_ADDR"},
    {ipc::ID_IPV6_ADDR_SUBNET, "IPV6_ADDR_SUBNET"},
    {ipc::ID_IPV4_ADDR_RANGE, "IPV4_ADDR_RANGE"},
    {ipc::ID_IPV6_ADDR_RANGE, "IPV6_ADDR_RANGE"},
    {ipc::ID_DER_ASN1_DN, "DER_ASN1_DN"},
    {ipc::ID_DER_ASN1_GN, "DER_ASN1_GN"},
    {ipc::ID_KEY_ID, "KEY_ID"},
};

constexpr std::pair<db::Activation, const char*> kActivation[] = {
    {db::ACTIVATION_UNSPECIFIED, "manual"},
    {db::MANUAL, "manual"},
    {db::ON_DEMAND, "on-demand"},
    {db::DISCOVERY, "discovery"},
};

std::string WithKeyBits(const char* cipher, bool aes, uint32_t key_bits) {
  if (!aes) return cipher;
  return std::string(cipher) + "-" + std::to_string(key_bits ? key_bits : 128);
}

}  // namespace

std::string IkeEncryptionName(db::IkeEncryption e, uint32_t key_bits) {
  return WithKeyBits(Lookup(kIkeEncryption, e), e == db::AES_CBC, key_bits);
}
std::string IkeHashName(db::IkeHash h) { return Lookup(kIkeHash, h); }
std::string AuthMethodName(db::AuthMethod m) { return Lookup(kAuthMethod, m); }
std::string DhGroupName(db::DhGroup g) { return Lookup(kDhGroup, g); }
std::string EspEncryptionName(db::EspEncryption e, uint32_t key_bits) {
  return WithKeyBits(Lookup(kEspEncryption, e), e == db::ESP_AES_CBC || e == db::ESP_AES_GCM_16,
                     key_bits);
}
std::string EspIntegrityName(db::EspIntegrity i) { return Lookup(kEspIntegrity, i); }
std::string IkeModeName(db::IkeMode m) { return Lookup(kIkeMode, m); }
std::string KernelBackendName(db::KernelBackend k) { return Lookup(kKernelBackend, k); }

std::string TunnelStatusName(ipc::TunnelStatus s) { return Lookup(kTunnelStatus, s); }
std::string Phase1StateName(ipc::Phase1State s) { return Lookup(kPhase1State, s); }
std::string Phase2StateName(ipc::Phase2State s) { return Lookup(kPhase2State, s); }
std::string RoleName(ipc::Role r) { return Lookup(kRole, r); }
std::string ExchangeModeName(ipc::ExchangeMode m) { return Lookup(kExchangeMode, m); }
std::string DirectionName(ipc::Direction d) { return Lookup(kDirection, d); }
std::string IpsecProtocolName(ipc::IpsecProtocol p) { return Lookup(kIpsecProtocol, p); }
std::string EncapsulationName(ipc::Encapsulation e) { return Lookup(kEncapsulation, e); }
std::string FilterActionName(ipc::FilterAction a) { return Lookup(kFilterAction, a); }
std::string ActivationName(db::Activation a) { return Lookup(kActivation, a); }
std::string IdentityTypeName(ipc::IdentityType t) { return Lookup(kIdentityType, t); }

}  // namespace ike::tunneldb
