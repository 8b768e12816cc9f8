// Several proposals and transforms per SA payload, both phases (issue
// 10.2): the responder takes the first acceptable one in the initiator's
// order (RFC 2408 4.2: the offer is in the initiator's preference order),
// whatever its own order; the initiator accepts only a choice it offered,
// exactly one proposal with one transform; refusals name every offer.
#include <google/protobuf/text_format.h>

#include <catch2/catch.hpp>

#include "isakmpd/exchange/suite.h"
#include "tests/lib/isakmpd_pair.h"

namespace ike::isakmpd {
namespace {

using testing::Pair;

db::IkeProtection IkeProtection(const std::string& proposals) {
  db::IkeProtection p;
  REQUIRE(google::protobuf::TextFormat::ParseFromString("name: \"p1\" " + proposals, &p));
  return p;
}

db::IpsecProtection EspProtection(const std::string& proposals) {
  db::IpsecProtection p;
  REQUIRE(google::protobuf::TextFormat::ParseFromString(
      "name: \"p2\" pfs_group: MODP_2048 " + proposals, &p));
  return p;
}

const char* k3desSha1 =
    "proposal { encryption: DES3_CBC hash: SHA1 auth_method: PRESHARED_KEY dh_group: MODP_2048 } ";
const char* kAes256 =
    "proposal { encryption: AES_CBC key_length: 256 hash: SHA2_256 auth_method: PRESHARED_KEY "
    "dh_group: MODP_2048 } ";
const char* kAes128 =
    "proposal { encryption: AES_CBC key_length: 128 hash: SHA2_256 auth_method: PRESHARED_KEY "
    "dh_group: MODP_2048 } ";

TEST_CASE("phase 1: the first acceptable transform in the initiator's order", "[proposals]") {
  const auto offer = BuildIkeSa(IkeProtection(std::string(k3desSha1) + kAes256 + kAes128));
  REQUIRE(offer.proposals.size() == 1);
  REQUIRE(offer.proposals[0].transforms.size() == 3);  // RFC 2409 5: one proposal, 3 transforms
  // The responder prefers AES-128, but AES-256 comes first in the offer.
  wire::SaPayload reply;
  std::string why;
  auto suite =
      SelectIkeSuite(offer, IkeProtection(std::string(kAes128) + kAes256), 60, &reply, &why);
  REQUIRE(suite);
  CHECK(suite->EncryptionName() == "AES-CBC-256");
  REQUIRE(reply.proposals.size() == 1);
  REQUIRE(reply.proposals[0].transforms.size() == 1);
  CHECK(reply.proposals[0].transforms[0].number == 2);  // returned as offered
  auto accepted =
      AcceptIkeReply(reply, IkeProtection(std::string(k3desSha1) + kAes256 + kAes128), 60, &why);
  REQUIRE(accepted);
  CHECK(accepted->EncryptionName() == "AES-CBC-256");
}

TEST_CASE("phase 1: offers spread over several proposals are read in order", "[proposals]") {
  // Some peers send one transform per proposal payload.
  auto offer = BuildIkeSa(IkeProtection(std::string(k3desSha1) + kAes128));
  wire::Proposal second = offer.proposals[0];
  second.number = 2;
  second.transforms = {offer.proposals[0].transforms[1]};
  offer.proposals[0].transforms.resize(1);
  offer.proposals.push_back(second);
  wire::SaPayload reply;
  std::string why;
  auto suite = SelectIkeSuite(offer, IkeProtection(kAes128), 60, &reply, &why);
  REQUIRE(suite);
  CHECK(reply.proposals.at(0).number == 2);
}

TEST_CASE("phase 1: no common transform names every offer and the protection", "[proposals]") {
  const auto offer = BuildIkeSa(IkeProtection(std::string(k3desSha1) + kAes256));
  wire::SaPayload reply;
  std::string why;
  CHECK_FALSE(SelectIkeSuite(offer, IkeProtection(kAes128), 60, &reply, &why));
  CHECK(why ==
        "none of the offered transforms (3DES-CBC, SHA1, Preshared Key, MODP2048 (14); "
        "AES-CBC-256, SHA2-256, Preshared Key, MODP2048 (14)) matches protection 'p1'");
}

TEST_CASE("phase 1: the initiator accepts only one transform it offered", "[proposals]") {
  const auto ours = IkeProtection(std::string(kAes256) + kAes128);
  std::string why;
  // A transform we did not offer.
  auto other = BuildIkeSa(IkeProtection(k3desSha1));
  CHECK_FALSE(AcceptIkeReply(other, ours, 60, &why));
  CHECK(why ==
        "the responder chose a transform we did not offer (3DES-CBC, SHA1, Preshared "
        "Key, MODP2048 (14))");
  // Two transforms back: no choice made.
  CHECK_FALSE(AcceptIkeReply(BuildIkeSa(ours), ours, 60, &why));
  CHECK(why == "the responder must choose exactly one proposal and one transform");
}

const char* kEspAes256 =
    "proposal { encryption: ESP_AES_CBC key_length: 256 integrity: HMAC_SHA2_256 } ";
const char* kEspAes128 =
    "proposal { encryption: ESP_AES_CBC key_length: 128 integrity: HMAC_SHA2_256 } ";
const char* kEsp3des = "proposal { encryption: ESP_3DES integrity: HMAC_SHA1 } ";

TEST_CASE("phase 2: several transforms, and several proposals, in the initiator's order",
          "[proposals]") {
  const auto prot = EspProtection(std::string(kEsp3des) + kEspAes256 + kEspAes128);
  auto offer = BuildEspSa(prot, 0x11111111, 1);
  REQUIRE(offer.proposals.at(0).transforms.size() == 3);
  wire::SaPayload reply;
  uint32_t peer_spi = 0;
  std::string why;
  auto suite = SelectEspSuite(offer, EspProtection(std::string(kEspAes128) + kEspAes256), 1,
                              0x22222222, 60, &reply, &peer_spi, &why);
  REQUIRE(suite);
  CHECK(suite->EncryptionName() == "AES-CBC-256");
  CHECK(peer_spi == 0x11111111);
  REQUIRE(reply.proposals.at(0).transforms.size() == 1);
  uint32_t responder_spi = 0;
  auto accepted = AcceptEspReply(reply, prot, 1, 60, &responder_spi, &why);
  REQUIRE(accepted);
  CHECK(responder_spi == 0x22222222);

  // strongSwan's way: one proposal per alternative, numbered 1, 2, 3.
  wire::SaPayload split;
  for (size_t i = 0; i < offer.proposals[0].transforms.size(); ++i) {
    wire::Proposal p = offer.proposals[0];
    p.number = static_cast<uint8_t>(i + 1);
    p.transforms = {offer.proposals[0].transforms[i]};
    split.proposals.push_back(p);
  }
  suite =
      SelectEspSuite(split, EspProtection(kEspAes128), 1, 0x22222222, 60, &reply, &peer_spi, &why);
  REQUIRE(suite);
  CHECK(reply.proposals.at(0).number == 3);
  CHECK(suite->EncryptionName() == "AES-CBC-128");
}

TEST_CASE("phase 2: no common transform names every offer", "[proposals]") {
  auto offer = BuildEspSa(EspProtection(kEsp3des), 0x11111111, 1);
  wire::SaPayload reply;
  uint32_t peer_spi = 0;
  std::string why;
  CHECK_FALSE(SelectEspSuite(offer, EspProtection(kEspAes128), 1, 1, 60, &reply, &peer_spi, &why));
  CHECK(why ==
        "none of the offered ESP transforms (ESP 3DES-CBC/HMAC-SHA1, PFS MODP2048 (14), tunnel) "
        "matches protection 'p2'");
}

TEST_CASE("both phases negotiate the initiator's first acceptable choice", "[proposals]") {
  Pair net;
  auto db_a = net.DatabaseA();
  *db_a.mutable_ike_protection(0) = IkeProtection(std::string(k3desSha1) + kAes256 + kAes128);
  *db_a.mutable_ipsec_protection(0) =
      EspProtection(std::string(kEsp3des) + kEspAes256 + kEspAes128);
  auto db_b = testing::Database(testing::kHostB, testing::kHostA, "203.0.113.0/24",
                                "198.51.100.0/24", testing::kIke, testing::kEsp);
  *db_b.mutable_ike_protection(0) = IkeProtection(std::string(kAes128) + kAes256);
  *db_b.mutable_ipsec_protection(0) = EspProtection(std::string(kEspAes128) + kEspAes256);
  net.a.manager.SetDatabase(db_a);
  net.b.manager.SetDatabase(db_b);
  ipc::Phase1Request r1;
  r1.set_tunnel(1);
  *r1.mutable_definition() = db_a.ike_tunnel(0);
  *r1.mutable_protection() = db_a.ike_protection(0);
  REQUIRE(net.a.manager.StartPhase1(r1).has_ack());
  net.Run();
  REQUIRE(net.b.Established(1));
  CHECK(net.a.Established(1)->phase1_established().key_length() == 256);
  CHECK(net.b.Established(1)->phase1_established().key_length() == 256);
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(db_a)).has_ack());
  net.Run();
  REQUIRE(net.b.Established(2));
  CHECK(net.a.Established(2)->phase2_established().sa(0).encryption_key_bits() == 256);
  CHECK(net.b.Established(2)->phase2_established().sa(0).encryption_key_bits() == 256);
}

}  // namespace
}  // namespace ike::isakmpd
