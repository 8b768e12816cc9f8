// The diagnosis of a tunnel that is not up (tunneldb/diagnosis.h, issue
// 11.3): where it stopped and the likely causes, by failure kind, state,
// role and message reached.
#include <catch2/catch.hpp>

#include "ikecmd/render.h"
#include "tunneldb/diagnosis.h"

namespace ike::tunneldb {
namespace {

ipc::Phase1Status Failed1(ipc::ErrorCode code, ipc::Role role, uint32_t message,
                          ipc::Phase1State state, ipc::AsaPhase1State asa,
                          const std::string& reason = "") {
  ipc::Phase1Status t;
  t.set_number(1);
  t.set_tunnel_status(ipc::FAILED);
  t.set_failure(code);
  t.set_tunnel_role(role);
  t.set_exchange_mode(ipc::MAIN);
  t.set_message(message);
  t.set_phase1_state(state);
  t.set_asa_state(asa);
  t.set_reason(reason);
  t.set_remote_address("192.0.2.2");
  return t;
}

std::string Causes(const Diagnosis& d) {
  std::string out;
  for (const auto& c : d.causes) out += c.cause + "|";
  return out;
}

TEST_CASE("no answer to message 1: peer down, UDP 500 filtered, no IKE on the peer, a NAT") {
  const Diagnosis d = Diagnose(
      Failed1(ipc::NEGOTIATION_TIMEOUT, ipc::INITIATOR, 1, ipc::PHASE1_WAIT_SA, ipc::MM_WAIT_MSG2));
  CHECK(d.where == "WAIT SA (MM_WAIT_MSG2): message 1 sent, no answer");
  CHECK(Causes(d) ==
        "the peer is down or unreachable|UDP 500 (or 4500) is filtered on the way|IKE is not "
        "running on the peer, or it has no tunnel for our address|a NAT between the two ends "
        "changes our address (and port), and the peer has no tunnel for the address it sees|");
  for (const auto& c : d.causes) CHECK_FALSE(c.check.empty());
}

TEST_CASE("no answer to message 1, but an ICMP error: the cause it names comes first, once") {
  const std::string timeout =
      "peer 192.0.2.2 not answering: no reply to message 1 after 3 tries (is IKE running on the "
      "peer and UDP 500 reachable?); instead of an answer: ";
  auto diagnose = [&](const std::string& icmp) {
    return Diagnose(Failed1(ipc::NEGOTIATION_TIMEOUT, ipc::INITIATOR, 1, ipc::PHASE1_WAIT_SA,
                            ipc::MM_WAIT_MSG2, timeout + icmp));
  };
  const Diagnosis port = diagnose("ICMP port unreachable from 192.0.2.2");
  CHECK(Causes(port) ==
        "the peer's host is up but nothing listens for IKE there (ICMP port unreachable from "
        "192.0.2.2): IKE is not running on it, or not on this address|the peer is down or "
        "unreachable|UDP 500 (or 4500) is filtered on the way|a NAT between the two ends changes "
        "our address (and port), and the peer has no tunnel for the address it sees|");
  CHECK_THAT(port.causes[0].check, Catch::Contains("lssrc -g ike"));
  const Diagnosis fw = diagnose("ICMP administratively prohibited from 192.0.2.2");
  CHECK(Causes(fw).rfind("a firewall refuses our IKE packets (ICMP administratively prohibited "
                         "from 192.0.2.2)|the peer is down or unreachable|IKE is not running",
                         0) == 0);
  CHECK(fw.causes.size() == 4);
  const Diagnosis down = diagnose("ICMP host unreachable from 192.0.2.1");
  CHECK(Causes(down).rfind("the peer cannot be reached (ICMP host unreachable from 192.0.2.1", 0) ==
        0);
  CHECK(down.causes.size() == 4);
  CHECK(Causes(down).find("the peer is down or unreachable") == std::string::npos);
}

TEST_CASE("no common proposal: the initiator's own offer is named, the peer's log has its own") {
  ipc::Phase1Status t = Failed1(ipc::NO_PROPOSAL_CHOSEN, ipc::INITIATOR, 1, ipc::PHASE1_WAIT_SA,
                                ipc::MM_WAIT_MSG2, "peer 192.0.2.2 sent NO-PROPOSAL-CHOSEN");
  t.set_encryption_alg(db::DES3_CBC);
  t.set_hash_alg(db::SHA1);
  t.set_group(db::MODP_1024);
  t.set_auth(db::PRESHARED_KEY);
  const Diagnosis d = Diagnose(t);
  REQUIRE(d.causes.size() == 1);
  CHECK_THAT(d.causes[0].cause,
             Catch::EndsWith("(ours: 3DES-CBC, SHA1, MODP1024 (2), Preshared Key)"));
  CHECK_THAT(d.causes[0].check, Catch::Contains("the peer's log names what it was offered"));
}

TEST_CASE("DPD declared the peer dead and the restart gets no answer: DPD first") {
  const Diagnosis d = Diagnose(Failed1(
      ipc::NEGOTIATION_TIMEOUT, ipc::INITIATOR, 1, ipc::PHASE1_WAIT_SA, ipc::MM_WAIT_MSG2,
      "peer 192.0.2.2 not answering: no reply to message 1 after 3 tries; the peer was declared "
      "dead (DPD), negotiating again in 10 s"));
  CHECK(d.where == "WAIT SA (MM_WAIT_MSG2): message 1 sent, no answer");
  REQUIRE(d.causes.size() == 5);
  CHECK_THAT(d.causes[0].cause, Catch::StartsWith("Dead Peer Detection declared the peer dead"));
  CHECK(d.causes[1].cause == "the peer is down or unreachable");
}

TEST_CASE("stuck waiting for message 4, or for message 5 and 6: the seed 003 causes") {
  const Diagnosis m4 = Diagnose(
      Failed1(ipc::NEGOTIATION_TIMEOUT, ipc::INITIATOR, 3, ipc::PHASE1_IN_KE, ipc::MM_WAIT_MSG4));
  CHECK(m4.where == "IN KE (MM_WAIT_MSG4): message 3 (key exchange) sent, no answer (message 4)");
  CHECK(Causes(m4).find("wrong address for us") != std::string::npos);
  CHECK(Causes(m4).find("large packets are lost") != std::string::npos);
  const Diagnosis m5 = Diagnose(
      Failed1(ipc::NEGOTIATION_TIMEOUT, ipc::RESPONDER, 4, ipc::PHASE1_IN_KE, ipc::MM_WAIT_MSG5));
  CHECK(m5.where == "IN KE (MM_WAIT_MSG5): message 4 sent, no answer (message 5)");
  CHECK(Causes(m5).rfind("NAT traversal disagrees", 0) == 0);
  CHECK(Causes(m5).find("the pre-shared keys differ") != std::string::npos);
  const Diagnosis m6 =
      Diagnose(Failed1(ipc::NEGOTIATION_TIMEOUT, ipc::INITIATOR, 5, ipc::PHASE1_IN_KE,
                       ipc::MM_WAIT_MSG6, "it sent an unprotected AUTHENTICATION-FAILED notify"));
  CHECK(Causes(m6).rfind("the pre-shared keys differ|", 0) == 0);  // the peer's notify first
}

TEST_CASE("authentication, proposals, missing key, DPD and kernel failures") {
  CHECK(Causes(Diagnose(Failed1(ipc::AUTHENTICATION_FAILED, ipc::RESPONDER, 4, ipc::PHASE1_IN_KE,
                                ipc::MM_WAIT_MSG5)))
            .rfind("the pre-shared keys differ|the identities differ", 0) == 0);
  CHECK(Diagnose(Failed1(ipc::NO_PROPOSAL_CHOSEN, ipc::INITIATOR, 1, ipc::PHASE1_WAIT_SA,
                         ipc::MM_WAIT_MSG2))
            .where == "WAIT SA (MM_WAIT_MSG2): no common proposal");
  CHECK(Causes(Diagnose(
            Failed1(ipc::UNKNOWN_PEER, ipc::RESPONDER, 3, ipc::PHASE1_IN_KE, ipc::MM_WAIT_MSG5))) ==
        "psk.db has no key for 192.0.2.2's identity|");
  CHECK(Causes(Diagnose(Failed1(ipc::DELETED, ipc::INITIATOR, 6, ipc::PHASE1_DONE, ipc::MM_ACTIVE,
                                "DPD: the peer is dead")))
            .rfind("Dead Peer Detection declared the peer dead (no answer to its probes)", 0) == 0);
  CHECK(Causes(Diagnose(Failed1(ipc::INTERNAL, ipc::INITIATOR, 6, ipc::PHASE1_DONE, ipc::MM_ACTIVE,
                                "the kernel refused the SA: EINVAL")))
            .rfind("the kernel refused", 0) == 0);
}

TEST_CASE("phase 2: selectors refused, no proposal, phase 1 failed; Active needs none") {
  ipc::Phase2Status t;
  t.set_number(1);
  t.set_tunnel_status(ipc::FAILED);
  t.set_failure(ipc::INVALID_ID);
  t.set_local_id("198.51.100.1-198.51.100.1");
  t.set_remote_id("203.0.113.1-203.0.113.1");
  const Diagnosis d = Diagnose(t);
  CHECK(d.where == "INIT: the peer refused our selectors");
  CHECK(Causes(d).find("ours: 198.51.100.1-198.51.100.1 <-> 203.0.113.1-203.0.113.1") !=
        std::string::npos);
  t.set_reason("phase 1 tunnel 1 failed: peer not answering");
  CHECK(Diagnose(t).where == "never started: its phase 1 tunnel failed");
  t.set_tunnel_status(ipc::ACTIVE);
  CHECK(Diagnose(t).where.empty());
}

TEST_CASE("a negotiation under way says where it is, without causes before message 1") {
  ipc::Phase1Status t;
  t.set_tunnel_status(ipc::NEGOTIATING);
  t.set_phase1_state(ipc::PHASE1_INIT);
  CHECK(Diagnose(t).where == "INIT: negotiation starting");
  CHECK(Diagnose(t).causes.empty());
  t.set_message(1);
  t.set_phase1_state(ipc::PHASE1_WAIT_SA);
  t.set_tunnel_role(ipc::INITIATOR);
  CHECK(Diagnose(t).where == "WAIT SA: message 1 sent, waiting for the answer");
  CHECK(Diagnose(t).causes.size() == 4);  // what to suspect if it stays there
}

TEST_CASE("ike cmd=diagnose renders each tunnel, since when, each cause with its check") {
  ipc::ListReply r;
  *r.add_phase1() = Failed1(ipc::NEGOTIATION_TIMEOUT, ipc::INITIATOR, 1, ipc::PHASE1_WAIT_SA,
                            ipc::MM_WAIT_MSG2, "peer 192.0.2.2 not answering");
  r.mutable_phase1(0)->set_failed_unix(1000);
  r.mutable_phase1(0)->set_name("t1");
  ipc::Phase2Status* up = r.add_phase2();
  up->set_number(1);
  up->set_tunnel_status(ipc::ACTIVE);
  const std::string out = cmd::RenderDiagnose(r, 1037);
  CHECK(out.rfind("Phase 1 tunnel 1 (t1): Failed\n"
                  "Reason:             peer 192.0.2.2 not answering\n"
                  "Stopped In:         WAIT SA (MM_WAIT_MSG2): message 1 sent, no answer\n"
                  "Since:              ",
                  0) == 0);
  CHECK(out.find(" (37 s ago)\nLikely Cause:       the peer is down or unreachable\n"
                 "  Check:            ping ") != std::string::npos);
  CHECK(out.find("Phase 2 tunnel 1: Active\nNothing to diagnose: it is up.\n") !=
        std::string::npos);
  CHECK(cmd::RenderDiagnose(ipc::ListReply(), 1) == "No tunnel to diagnose.\n");
}

TEST_CASE("ike cmd=diagnose: a tunnel still negotiating says since when it is in its state") {
  ipc::ListReply r;
  ipc::Phase1Status* t = r.add_phase1();
  t->set_number(1);
  t->set_tunnel_status(ipc::NEGOTIATING);
  t->set_tunnel_role(ipc::INITIATOR);
  t->set_message(1);
  t->set_phase1_state(ipc::PHASE1_WAIT_SA);
  t->set_state_unix(2000);
  const std::string out = cmd::RenderDiagnose(r, 2012);
  CHECK_THAT(out, Catch::Contains("Stopped In:         WAIT SA: message 1 sent, waiting for the "
                                  "answer\nSince:              "));
  CHECK_THAT(out, Catch::Contains(" (12 s ago)\nLikely Cause:"));
}

}  // namespace
}  // namespace ike::tunneldb
