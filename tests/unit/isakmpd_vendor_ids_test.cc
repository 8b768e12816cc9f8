// Vendor tolerance (issue 10.7): the vendor IDs deployed peers send are
// recognised and named; unknown ones are accepted and counted; and a Main
// Mode with all of them still comes up.
#include <catch2/catch.hpp>

#include "isakmpd/exchange/informational.h"
#include "isakmpd/exchange/vendor_ids.h"
#include "tests/lib/fake_syslogd.h"
#include "tests/lib/hex.h"
#include "tests/lib/isakmpd_pair.h"

namespace ike::isakmpd::testing {
namespace {

wire::Payload Vid(const std::string& hex) {
  return wire::MakePayload(wire::VendorIdPayload{ike::testing::H(hex)});
}

TEST_CASE("vendor IDs of deployed peers are named; unknown ones are counted") {
  const std::vector<wire::Payload> payloads = {
      Vid("afcad71368a1f1c96b8696fc77570100"),          // DPD
      Vid("4a131c81070358455c5728f20e95452f"),          // NAT-T RFC 3947
      Vid("90cb80913ebb696e086381b5ec427b1f"),          // NAT-T draft-02\n
      Vid("09002689dfd6b712"),                          // XAUTH
      Vid("12f5f28c457168a9702d9fe274cc0100"),          // Cisco Unity 1.0
      Vid("4048b7d56ebce88525e7de7f00d6c2d380000000"),  // FRAGMENTATION, Cisco's flags
      Vid("1e2b516905991c7d7c96fcbfb587e46100000009"),  // MS NT5 ISAKMPOAKLEY v9
      Vid("00112233445566778899aabbccddeeff"),          // nobody's
      Vid("0123456789abcdef"),                          // nobody's, 8 octets
  };
  const vendor_ids::Announced a = vendor_ids::Read(payloads);
  CHECK(a.dpd);
  CHECK_FALSE(a.aixike);
  CHECK(a.unknown == 2);
  CHECK(vendor_ids::Describe(a.known, a.unknown) ==
        "DPD, NAT-T (RFC 3947), NAT-T (draft-02\\n), XAUTH, Cisco Unity, FRAGMENTATION, "
        "MS NT5 ISAKMPOAKLEY, 2 unknown");
  // A prefix is not enough where the ID is exact, and too short is nothing.
  CHECK(vendor_ids::Read({Vid("afcad71368a1f1c96b8696fc7757010000")}).known == 0);
  CHECK(vendor_ids::Read({Vid("4048b7d56ebce885")}).unknown == 1);
  CHECK(vendor_ids::Describe(0, 0).empty());
}

TEST_CASE("our own Main Mode names the peer's vendor IDs once, in the log") {
  ike::testing::FakeSyslogd syslogd("isakmpd_vendor_ids_test");
  SetLogLevel(LogLevel::kInformation);  // the line's level (not events: one per SA)
  Pair net;
  net.EstablishPhase1();
  REQUIRE(net.a.Established(1));
  REQUIRE(net.b.Established(1));
  const std::string log = syslogd.Drain();
  INFO(log);
  size_t count = 0;
  for (size_t at = log.find("peer's vendor IDs: DPD"); at != std::string::npos;
       at = log.find("peer's vendor IDs: DPD", at + 1))
    ++count;
  CHECK(count == 2);  // one per end
  CHECK(log.find("aixike") != std::string::npos);
  SetLogLevel(LogLevel::kEvents);
}

// Cisco sends status notifies of its own (private use, RFC 2408 3.14.1:
// 32768-40959, e.g. 40500-40503 for load balancing and heartbeats): logged,
// never a failure, authenticated or not, in either phase.
TEST_CASE("private status notifies (Cisco's) are logged, never fatal") {
  for (const bool established : {false, true}) {
    for (const bool authenticated : {false, true}) {
      INFO("established " << established << ", authenticated " << authenticated);
      Phase1Context p1;
      p1.step = established ? Phase1Step::kDone : Phase1Step::kKeAnswered;
      std::vector<wire::Payload> body;
      for (uint16_t type : {40500, 40501, 40503, 32768}) {
        wire::NotifyPayload n;
        n.doi = 1;
        n.protocol = 1;
        n.type = type;
        body.push_back(wire::MakePayload(n));
      }
      const informational::Actions a = informational::Evaluate(p1, authenticated, body);
      CHECK(a.status_notifies == std::vector<uint16_t>{40500, 40501, 40503, 32768});
      CHECK_FALSE(a.fail_phase1);
      CHECK_FALSE(a.fail_quick_modes);
      CHECK_FALSE(a.ignored_notify);
      CHECK_FALSE(a.delete_phase1);
    }
  }
}

}  // namespace
}  // namespace ike::isakmpd::testing
