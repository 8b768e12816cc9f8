// lssrc -l (issue 11.5): the flag, and the long status text for each daemon.
#include <catch2/catch.hpp>

#include "src/core/long_status.h"
#include "src/core/src_args.h"

namespace ike::src {
namespace {

ipc::SubsystemStatus Row(const std::string& name, int pid) {
  ipc::SubsystemStatus row;
  row.set_name(name);
  row.set_group("ike");
  row.set_pid(pid);
  row.set_status("active");
  return row;
}

ipc::DaemonStatusReply Header(const std::string& name, uint64_t uptime, uint32_t clients) {
  ipc::DaemonStatusReply r;
  r.set_daemon(name);
  r.set_pid(4242);
  r.set_uptime_seconds(uptime);
  r.set_ipc_clients(clients);
  return r;
}

void Negotiations(ipc::NegotiationCounts* n, uint64_t started, uint64_t ok, ipc::ErrorCode why,
                  uint64_t failed) {
  n->set_started(started);
  n->set_succeeded(ok);
  if (failed) {
    auto* row = n->add_failed();
    row->set_reason(why);
    row->set_count(failed);
  }
}

TEST_CASE("lssrc -l needs -s; -l -s parses") {
  auto parsed = ParseSrcArgs(SrcCommand::kStatus, {"-l", "-s", "isakmpd"});
  REQUIRE(parsed.ok());
  CHECK(parsed->long_form);
  CHECK(parsed->subsystem == "isakmpd");
  parsed = ParseSrcArgs(SrcCommand::kStatus, {"-ls", "tmd"});
  REQUIRE(parsed.ok());
  CHECK(parsed->long_form);
  auto bad = ParseSrcArgs(SrcCommand::kStatus, {"-l", "-g", "ike"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message ==
        "lssrc: the flag -l needs -s Subsystem\nUsage: lssrc [-l] -s Subsystem | -g Group | -a");
  CHECK_FALSE(ParseSrcArgs(SrcCommand::kStart, {"-l", "-s", "tmd"}).ok());
}

TEST_CASE("uptime and reason names") {
  CHECK(FormatUptime(0) == "0 seconds");
  CHECK(FormatUptime(1) == "1 second");
  CHECK(FormatUptime(59) == "59 seconds");
  CHECK(FormatUptime(3723) == "01:02:03");
  CHECK(FormatUptime(86400 + 5) == "1 day 00:00:05");
  CHECK(FormatUptime(3 * 86400 + 3600) == "3 days 01:00:00");
  CHECK(ReasonName(ipc::AUTHENTICATION_FAILED) == "authentication failed");
  CHECK(ReasonName(ipc::NEGOTIATION_TIMEOUT) == "negotiation timeout");
  CHECK(ReasonName(ipc::INVALID_ID) == "invalid ID");
  CHECK(DropName(ipc::DROP_UNKNOWN_SA) == "unknown SA");
  CHECK(DropName(ipc::DROP_BAD_HASH) == "bad HASH");
  CHECK(DropName(ipc::DROP_HALF_OPEN_LIMIT) == "half open limit");
}

TEST_CASE("lssrc -l -s isakmpd: the short line, then ipsecstat-like groups") {
  ipc::DaemonStatusReply r = Header("isakmpd", 83, 1);
  ipc::IsakmpdStatus* s = r.mutable_isakmpd();
  s->set_tmd_connected(true);
  s->set_cpsd_connected(true);
  Negotiations(s->mutable_phase1(), 2, 1, ipc::AUTHENTICATION_FAILED, 1);
  Negotiations(s->mutable_phase2(), 1, 1, ipc::OK, 0);
  auto* sa1 = s->add_isakmp_sas();
  sa1->set_state(ipc::PHASE1_DONE);
  sa1->set_count(1);
  auto* sa2 = s->add_ipsec_sas();
  sa2->set_state(ipc::PHASE2_DONE);
  sa2->set_count(1);
  s->set_packets_in(12);
  s->set_packets_out(15);
  auto* drop = s->add_dropped();
  drop->set_reason(ipc::DROP_UNKNOWN_SA);
  drop->set_count(2);
  CHECK(FormatLongStatus(Row("isakmpd", 4242), r) ==
        "Subsystem         Group            PID          Status\n"
        " isakmpd          ike              4242         active\n"
        "\n"
        "Uptime:                                  00:01:23\n"
        "IPC clients:                             1\n"
        "Connection to tmd:                       connected\n"
        "Connection to cpsd:                      connected\n"
        "\n"
        "Phase 1 negotiations started:            2\n"
        "Phase 1 negotiations succeeded:          1\n"
        "Phase 1 negotiations failed:             1\n"
        "    authentication failed:               1\n"
        "Phase 1 rekeys:                          0\n"
        "ISAKMP SAs:                              1\n"
        "    DONE:                                1\n"
        "Half-open responder SAs:                 0\n"
        "\n"
        "Phase 2 negotiations started:            1\n"
        "Phase 2 negotiations succeeded:          1\n"
        "Phase 2 negotiations failed:             0\n"
        "Phase 2 rekeys:                          0\n"
        "IPsec SAs:                               1\n"
        "    DONE:                                1\n"
        "\n"
        "IKE packets in:                          12\n"
        "IKE packets out:                         15\n"
        "IKE packets dropped:                     2\n"
        "    unknown SA:                          2\n"
        "IKE fragments in:                        0\n"
        "IKE fragments out:                       0\n"
        "DPD probes sent:                         0\n"
        "NAT keepalives sent:                     0\n"
        "ICMP errors received:                    0\n");
}

TEST_CASE("lssrc -l -s tmd: tunnels by status, negotiations, the tunnel cache") {
  ipc::DaemonStatusReply r = Header("tmd", 5, 2);
  ipc::TmdStatus* s = r.mutable_tmd();
  auto* t1 = s->add_phase1_tunnels();
  t1->set_status(ipc::ACTIVE);
  t1->set_count(1);
  auto* t2 = s->add_phase1_tunnels();
  t2->set_status(ipc::FAILED);
  t2->set_count(1);
  Negotiations(s->mutable_phase1(), 2, 1, ipc::NEGOTIATION_TIMEOUT, 1);
  Negotiations(s->mutable_phase2(), 1, 1, ipc::OK, 0);
  s->set_kernel_sas(2);
  s->set_kernel_sas_added(2);
  const std::string text = FormatLongStatus(Row("tmd", 99), r);
  CHECK(text.rfind("Subsystem         Group            PID          Status\n"
                   " tmd              ike              99           active\n"
                   "\n"
                   "Uptime:                                  5 seconds\n"
                   "IPC clients:                             2\n"
                   "Connection to isakmpd:                   not connected\n"
                   "\n"
                   "Phase 1 tunnels:                         2\n"
                   "    Active:                              1\n"
                   "    Failed:                              1\n"
                   "Phase 1 negotiations started:            2\n"
                   "Phase 1 negotiations succeeded:          1\n"
                   "Phase 1 negotiations failed:             1\n"
                   "    negotiation timeout:                 1\n",
                   0) == 0);
  CHECK_THAT(text, Catch::Contains("Phase 2 tunnels:                         0\n"
                                   "Phase 2 negotiations started:            1\n"));
  CHECK_THAT(text, Catch::Contains("Tunnel cache entries:                    2\n"
                                   "Tunnel cache entries added:              2\n"
                                   "Tunnel cache entries expired:            0\n"
                                   "Tunnel cache entries deleted:            0\n"));
}

TEST_CASE("lssrc -l -s cpsd: keys by count only") {
  ipc::DaemonStatusReply r = Header("cpsd", 7, 1);
  r.mutable_cpsd()->set_keys_loaded(3);
  r.mutable_cpsd()->set_skeyid_requests(4);
  r.mutable_cpsd()->set_psk_found(3);
  r.mutable_cpsd()->set_psk_missing(1);
  CHECK_THAT(FormatLongStatus(Row("cpsd", 7), r),
             Catch::EndsWith("IPC clients:                             1\n"
                             "\n"
                             "Pre-shared keys loaded:                  3\n"
                             "Key file reloads:                        0\n"
                             "SKEYID requests:                         4\n"
                             "Pre-shared key found:                    3\n"
                             "Pre-shared key missing:                  1\n"
                             "Requests refused:                        0\n"));
}

}  // namespace
}  // namespace ike::src
