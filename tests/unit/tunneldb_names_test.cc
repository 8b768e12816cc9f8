// The one table of operator names (tunneldb/names.h), byte for byte: what
// ike cmd=list and the logs print.
#include <catch2/catch.hpp>

#include "tunneldb/names.h"

namespace ike::tunneldb {
namespace {

TEST_CASE("algorithm names") {
  CHECK(IkeEncryptionName(db::AES_CBC, 256) == "AES-CBC-256");
  CHECK(IkeEncryptionName(db::AES_CBC, 0) == "AES-CBC-128");
  CHECK(IkeEncryptionName(db::DES3_CBC, 192) == "3DES-CBC");
  CHECK(IkeHashName(db::SHA1) == "SHA1");
  CHECK(IkeHashName(db::SHA2_256) == "SHA2-256");
  CHECK(IkeHashName(db::SHA2_512) == "SHA2-512");
  CHECK(AuthMethodName(db::PRESHARED_KEY) == "Preshared Key");
  CHECK(DhGroupName(db::MODP_2048) == "MODP2048 (14)");
  CHECK(DhGroupName(db::ECP_384) == "ECP384 (20)");
  CHECK(DhGroupName(db::DH_GROUP_NONE) == "none");
  CHECK(EspEncryptionName(db::ESP_AES_CBC, 192) == "AES-CBC-192");
  CHECK(EspEncryptionName(db::ESP_3DES, 192) == "3DES-CBC");
  CHECK(EspIntegrityName(db::HMAC_SHA2_256) == "HMAC-SHA2-256");
  CHECK(IkeModeName(db::AGGRESSIVE) == "Aggressive");
  CHECK(IkeModeName(db::IKE_MODE_UNSPECIFIED) == "Main");
  // A value outside the table (a peer's or a newer tmd's) is named as such.
  CHECK(IkeHashName(static_cast<db::IkeHash>(99)) == "unknown");
  CHECK(IkeEncryptionName(static_cast<db::IkeEncryption>(99), 128) == "unknown");
}

TEST_CASE("state, role, mode and direction names") {
  CHECK(TunnelStatusName(ipc::NEGOTIATING) == "Negotiating");
  CHECK(TunnelStatusName(ipc::ACTIVE) == "Active");
  CHECK(TunnelStatusName(ipc::FAILED) == "Failed");
  CHECK(Phase1StateName(ipc::PHASE1_INIT) == "INIT");
  CHECK(Phase1StateName(ipc::PHASE1_WAIT_SA) == "WAIT SA");
  CHECK(Phase1StateName(ipc::PHASE1_WAIT_KE) == "WAIT KE");
  CHECK(Phase1StateName(ipc::PHASE1_IN_KE) == "IN KE");
  CHECK(Phase1StateName(ipc::PHASE1_DONE) == "DONE");
  CHECK(Phase2StateName(ipc::PHASE2_KEP) == "KEP");
  CHECK(RoleName(ipc::INITIATOR) == "Initiator");
  CHECK(RoleName(ipc::RESPONDER) == "Responder");
  CHECK(ExchangeModeName(ipc::MAIN) == "Main");
  CHECK(DirectionName(ipc::INBOUND) == "inbound");
  CHECK(DirectionName(ipc::OUTBOUND) == "outbound");
  CHECK(IpsecProtocolName(ipc::PROTO_ESP) == "ESP");
  CHECK(EncapsulationName(ipc::UDP_TUNNEL) == "tunnel-in-UDP");
  CHECK(FilterActionName(ipc::PERMIT) == "permit");
  // Identity types as tunnels.db writes them (ike.db.IdType), RFC numbers.
  CHECK(IdentityTypeName(ipc::ID_IPV4_ADDR) == "IPV4_ADDR");
  CHECK(IdentityTypeName(static_cast<ipc::IdentityType>(db::USER_FQDN)) == "USER_FQDN");
  CHECK(IdentityTypeName(static_cast<ipc::IdentityType>(db::KEY_ID)) == "KEY_ID");
  CHECK(IdentityTypeName(ipc::ID_IPV6_ADDR_RANGE) == "IPV6_ADDR_RANGE");
  CHECK(IdentityTypeName(ipc::ID_DER_ASN1_DN) == "DER_ASN1_DN");
  CHECK(IdentityTypeName(ipc::IDENTITY_TYPE_UNSPECIFIED).empty());
  // Unspecified prints nothing: ike shows "-".
  CHECK(Phase1StateName(ipc::PHASE1_STATE_UNSPECIFIED).empty());
  CHECK(RoleName(ipc::ROLE_UNSPECIFIED).empty());
}

}  // namespace
}  // namespace ike::tunneldb
