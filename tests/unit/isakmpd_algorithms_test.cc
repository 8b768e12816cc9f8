// The algorithms of issue 10.3 between two engines: every DH group in phase
// 1 (both modes) and as PFS group, every phase 1 cipher and hash; group 1
// refused with its reason.
#include <catch2/catch.hpp>

#include "isakmpd/exchange/suite.h"
#include "tests/lib/isakmpd_pair.h"
#include "tunneldb/names.h"

namespace ike::isakmpd {
namespace {

using testing::Pair;

struct Suite {
  db::IkeEncryption encryption = db::AES_CBC;
  uint32_t key_length = 128;
  db::IkeHash hash = db::SHA2_256;
  db::DhGroup group = db::MODP_2048;
  db::IkeMode mode = db::MAIN;
};

// Both ends' phase 1 configured with |s|; A initiates phase 1, then phase 2
// (ESP AES-128/SHA2-256, PFS MODP2048).
void Negotiate(Pair& net, const Suite& s) {
  for (auto* host : {&net.a, &net.b}) {
    auto d = host == &net.a ? net.DatabaseA()
                            : testing::Database(testing::kHostB, testing::kHostA, "203.0.113.0/24",
                                                "198.51.100.0/24", testing::kIke, testing::kEsp);
    auto* prot = d.mutable_ike_protection(0);
    prot->set_mode(s.mode);
    auto* p = prot->mutable_proposal(0);
    p->set_encryption(s.encryption);
    p->set_key_length(s.encryption == db::AES_CBC ? s.key_length : 0);
    p->set_hash(s.hash);
    p->set_dh_group(s.group);
    host->manager.SetDatabase(d);
    if (host != &net.a) continue;
    ipc::Phase1Request r1;
    r1.set_tunnel(1);
    *r1.mutable_definition() = d.ike_tunnel(0);
    *r1.mutable_protection() = d.ike_protection(0);
    REQUIRE(net.a.manager.StartPhase1(r1).has_ack());
  }
  net.Run();
  REQUIRE(net.a.Established(1));
  REQUIRE(net.b.Established(1));
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  net.Run();
}

TEST_CASE("every DH group: phase 1 in both modes, and PFS", "[algorithms]") {
  for (db::DhGroup g : {db::MODP_1024, db::MODP_1536, db::MODP_2048, db::MODP_3072, db::MODP_4096,
                        db::ECP_256, db::ECP_384, db::ECP_521, db::MODP_2048_256}) {
    for (db::IkeMode mode : {db::MAIN, db::AGGRESSIVE}) {
      INFO(tunneldb::DhGroupName(g) << " " << tunneldb::IkeModeName(mode));
      Pair net;
      Suite s;
      s.group = g;
      s.mode = mode;
      Negotiate(net, s);
      CHECK(net.a.Established(1)->phase1_established().dh_group() == g);
      CHECK(net.b.Established(1)->phase1_established().dh_group() == g);
      REQUIRE(net.b.Established(2));
    }
    // PFS in this group (phase 1 in MODP2048).
    INFO("PFS " << tunneldb::DhGroupName(g));
    Pair net;
    auto d = net.DatabaseA();
    d.mutable_ipsec_protection(0)->set_pfs_group(g);
    net.a.manager.SetDatabase(d);
    auto db_b = testing::Database(testing::kHostB, testing::kHostA, "203.0.113.0/24",
                                  "198.51.100.0/24", testing::kIke, testing::kEsp);
    db_b.mutable_ipsec_protection(0)->set_pfs_group(g);
    net.b.manager.SetDatabase(db_b);
    net.EstablishPhase1();
    REQUIRE(net.a.manager.StartPhase2(net.Phase2(d)).has_ack());
    net.Run();
    REQUIRE(net.a.Established(2));
    REQUIRE(net.b.Established(2));
    CHECK(net.a.Established(2)->phase2_established().pfs_group() == g);
    CHECK(net.a.Established(2)->phase2_established().sa(1).encryption_key() ==
          net.b.Established(2)->phase2_established().sa(0).encryption_key());
  }
}

TEST_CASE("every phase 1 cipher and hash", "[algorithms]") {
  for (const auto& [enc, bits] : {std::pair{db::AES_CBC, 128u}, std::pair{db::AES_CBC, 192u},
                                  std::pair{db::AES_CBC, 256u}, std::pair{db::DES3_CBC, 0u}}) {
    for (db::IkeHash hash : {db::SHA1, db::SHA2_256, db::SHA2_384, db::SHA2_512}) {
      INFO(tunneldb::IkeEncryptionName(enc, bits) << " " << tunneldb::IkeHashName(hash));
      Pair net;
      Suite s;
      s.encryption = enc;
      s.key_length = bits;
      s.hash = hash;
      Negotiate(net, s);
      const auto& est = net.b.Established(1)->phase1_established();
      CHECK(est.encryption() == enc);
      CHECK(est.hash() == hash);
      REQUIRE(net.b.Established(2));  // Quick Mode under those keys and IVs
    }
  }
}

TEST_CASE("ESP AES-GCM-16 (RFC 4106): key and salt, no integrity key", "[algorithms]") {
  for (uint32_t bits : {128u, 256u}) {
    INFO("AES-GCM-16-" << bits);
    Pair net;
    auto gcm = [bits](db::TunnelDatabase d) {
      auto* p = d.mutable_ipsec_protection(0)->mutable_proposal(0);
      p->set_encryption(db::ESP_AES_GCM_16);
      p->set_key_length(bits);
      p->clear_integrity();
      return d;
    };
    const auto d = gcm(net.DatabaseA());
    net.a.manager.SetDatabase(d);
    net.b.manager.SetDatabase(
        gcm(testing::Database(testing::kHostB, testing::kHostA, "203.0.113.0/24", "198.51.100.0/24",
                              testing::kIke, testing::kEsp)));
    net.EstablishPhase1();
    REQUIRE(net.a.manager.StartPhase2(net.Phase2(d)).has_ack());
    net.Run();
    REQUIRE(net.b.Established(2));
    const auto& out_a = net.a.Established(2)->phase2_established().sa(1);
    const auto& in_b = net.b.Established(2)->phase2_established().sa(0);
    CHECK(out_a.encryption() == db::ESP_AES_GCM_16);
    CHECK(out_a.encryption_key_bits() == bits);
    CHECK(out_a.encryption_key().size() == bits / 8 + 4);  // RFC 4106 8.1: the salt follows
    CHECK(out_a.integrity_key().empty());
    CHECK(out_a.integrity() == db::ESP_INTEGRITY_UNSPECIFIED);
    CHECK(out_a.encryption_key() == in_b.encryption_key());
  }
  // Offered beside AES-CBC, in the initiator's order; and the names.
  db::IpsecProtection both;
  both.set_name("p2");
  auto* g = both.add_proposal();
  g->set_encryption(db::ESP_AES_GCM_16);
  g->set_key_length(256);
  auto* c = both.add_proposal();
  c->set_encryption(db::ESP_AES_CBC);
  c->set_key_length(128);
  c->set_integrity(db::HMAC_SHA2_256);
  wire::SaPayload reply;
  uint32_t spi = 0;
  std::string why;
  auto suite = SelectEspSuite(BuildEspSa(both, 1, 1), both, 1, 2, 60, &reply, &spi, &why);
  REQUIRE(suite);
  CHECK(suite->EncryptionName() == "AES-GCM-16-256");
  CHECK(suite->KeyBits() == 256);
  db::IpsecProtection cbc_only;
  cbc_only.set_name("cbc");
  *cbc_only.add_proposal() = *c;
  db::IpsecProtection gcm_only;
  gcm_only.set_name("gcm");
  *gcm_only.add_proposal() = *g;
  CHECK_FALSE(SelectEspSuite(BuildEspSa(gcm_only, 1, 1), cbc_only, 1, 2, 60, &reply, &spi, &why));
  CHECK_THAT(why, Catch::Contains("(ESP AES-GCM-16-256, PFS none, tunnel)"));
}

TEST_CASE("transport mode: encapsulation 2 offered and agreed; a tunnel-mode peer refuses it",
          "[algorithms]") {
  // Host to host: the selectors are the endpoints.
  auto transport = [](db::TunnelDatabase d, const char* local, const char* remote) {
    auto* t = d.mutable_ipsec_tunnel(0);
    t->set_mode(db::ESP_TRANSPORT);
    t->mutable_local()->set_address(local);
    t->mutable_remote()->set_address(remote);
    return d;
  };
  Pair net;
  const auto d = transport(net.DatabaseA(), testing::kHostA, testing::kHostB);
  const auto db_b = testing::Database(testing::kHostB, testing::kHostA, "203.0.113.0/24",
                                      "198.51.100.0/24", testing::kIke, testing::kEsp);
  net.a.manager.SetDatabase(d);
  net.b.manager.SetDatabase(transport(db_b, testing::kHostB, testing::kHostA));
  net.EstablishPhase1();
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(d)).has_ack());
  net.Run();
  REQUIRE(net.b.Established(2));
  for (const auto* h : {&net.a, &net.b})
    for (const auto& sa : h->Established(2)->phase2_established().sa()) CHECK(sa.transport());

  // B defines the same hosts in tunnel mode: the offer's encapsulation
  // does not match, and the refusal says so.
  Pair mismatch;
  mismatch.a.manager.SetDatabase(d);
  auto tunnel_b = transport(db_b, testing::kHostB, testing::kHostA);
  tunnel_b.mutable_ipsec_tunnel(0)->set_mode(db::ESP_TUNNEL);
  mismatch.b.manager.SetDatabase(tunnel_b);
  mismatch.EstablishPhase1();
  REQUIRE(mismatch.a.manager.StartPhase2(mismatch.Phase2(d)).has_ack());
  mismatch.Run();
  CHECK_FALSE(mismatch.b.Established(2));
  REQUIRE(mismatch.b.Failed(2));
  CHECK_THAT(mismatch.b.Failed(2)->negotiation_failed().reason(),
             Catch::Contains("PFS MODP2048 (14), transport) matches protection"));
}

TEST_CASE("group 1 (MODP768) is refused and the reason says why", "[algorithms]") {
  db::IkeProtection weak;
  weak.set_name("weak");
  auto* p = weak.add_proposal();
  p->set_encryption(db::AES_CBC);
  p->set_key_length(128);
  p->set_hash(db::SHA1);
  p->set_auth_method(db::PRESHARED_KEY);
  p->set_dh_group(db::MODP_768);
  db::IkeProtection ours = weak;
  ours.mutable_proposal(0)->set_dh_group(db::MODP_2048);
  wire::SaPayload reply;
  std::string why;
  CHECK_FALSE(SelectIkeSuite(BuildIkeSa(weak), ours, 60, &reply, &why));
  CHECK_THAT(why, Catch::Contains("MODP768 (group 1) is never accepted: 768-bit "
                                  "Diffie-Hellman is broken"));
  // Even where the database would allow it (it cannot: tunneldb refuses it).
  CHECK_FALSE(SelectIkeSuite(BuildIkeSa(weak), weak, 60, &reply, &why));
}

}  // namespace
}  // namespace ike::isakmpd
