#include "tunneldb/diagnosis.h"

#include <string_view>

#include "tunneldb/names.h"

namespace ike::tunneldb {
namespace {

bool Says(const std::string& reason, const char* text) {
  return reason.find(text) != std::string::npos;
}

std::string Peer(const ipc::Phase1Status& t) {
  return t.remote_address().empty() ? t.remote_id() : t.remote_address();
}

// "WAIT SA (MM_WAIT_MSG2)": the IBM name, and Cisco's where it has one.
std::string StateNames(const ipc::Phase1Status& t) {
  std::string out = Phase1StateName(t.phase1_state());
  if (out.empty()) out = "INIT";
  std::string cisco = t.asa_state()   ? ipc::AsaPhase1State_Name(t.asa_state())
                      : t.ios_state() ? ipc::IosPhase1State_Name(t.ios_state())
                                      : "";
  return cisco.empty() ? out : out + " (" + cisco + ")";
}

const Cause kPeerDown{"the peer is down or unreachable",
                      "ping the peer's address; ip route get <peer>; is the peer up?"};
const Cause kUdpFiltered{
    "UDP 500 (or 4500) is filtered on the way",
    "tcpdump -ni any udp port 500 or udp port 4500 on both hosts: do our packets arrive, do "
    "its answers leave? a firewall or security group in between?"};
const Cause kNoIke{"IKE is not running on the peer, or it has no tunnel for our address",
                   "on the peer: lssrc -g ike (or its IKE service) and its tunnel definitions "
                   "towards our address"};
const Cause kUnannouncedNat{
    "a NAT between the two ends changes our address (and port), and the peer has no tunnel for "
    "the address it sees",
    "on the peer: the address our packets arrive from (its log names it, or tcpdump -ni any udp "
    "port 500); its remote_address for us must be that address or 0.0.0.0"};
const Cause kDpdDead{
    "Dead Peer Detection declared the peer dead (no answer to its probes) and it has not answered "
    "since: its IKE hangs or stopped, or the host or the path went down",
    "on the peer: lssrc -g ike and its log; ping the peer; the path and firewalls between"};
const Cause kPskDiffer{"the pre-shared keys differ",
                       "psk.db on both hosts: the key each has for the other's identity"};
const Cause kNatT{
    "NAT traversal disagrees: after message 4 IKE moves to UDP 4500, and 4500 is "
    "filtered or one end has NAT-T off",
    "UDP 4500 between the hosts; settings.nat_traversal on both ends"};
const Cause kWrongAddress{
    "the peer has a wrong address for us (it answers, but its definition names another peer)",
    "the peer's remote address and identity for this tunnel"};
const Cause kLargePackets{
    "large packets are lost: message 3 or 4 carries a big key (MODP 3072 and up) and the path "
    "drops IP fragments",
    "the path MTU; settings.fragmentation and fragment_size (IKE fragmentation) on both ends"};

// isakmpd appends "; instead of an answer: ICMP ..." to a timeout's reason
// when an ICMP error came back for our messages (isakmpd/sa/sa_unreachable.cc).
std::string IcmpHeard(const std::string& reason) {
  static constexpr std::string_view kMark = "instead of an answer: ";
  const size_t at = reason.find(kMark);
  return at == std::string::npos ? "" : reason.substr(at + kMark.size());
}

// What an ICMP error says outweighs every guess: the cause it names goes
// first, and the guess it confirms is not said twice.
void PreferIcmp(const std::string& reason, std::vector<Cause>* causes) {
  const std::string icmp = IcmpHeard(reason);
  if (icmp.empty()) return;
  Cause heard;
  std::string replaced;
  if (Says(icmp, "port unreachable")) {
    heard = {"the peer's host is up but nothing listens for IKE there (" + icmp +
                 "): IKE is not running on it, or not on this address",
             kNoIke.check};
    replaced = kNoIke.cause;
  } else if (Says(icmp, "administratively prohibited")) {
    heard = {"a firewall refuses our IKE packets (" + icmp + ")",
             "the firewall rules at the host that sent the ICMP error, and on the peer: UDP 500 "
             "and 4500 from our address must pass"};
    replaced = kUdpFiltered.cause;
  } else if (Says(icmp, "unreachable")) {
    heard = {"the peer cannot be reached (" + icmp +
                 "; from our own address it means no ARP or neighbour answer on the link)",
             kPeerDown.check};
    replaced = kPeerDown.cause;
  } else {
    heard = {"an ICMP error came back (" + icmp + ")", kPeerDown.check};
  }
  std::erase_if(*causes, [&](const Cause& c) { return c.cause == replaced; });
  causes->insert(causes->begin(), heard);
}

// " (ours: AES-CBC-128, SHA2-256, MODP2048 (14), Preshared Key)": what
// tmd listed as offered (the first proposal of the definition) where the
// peer refused it; the peer's side is in its own log.
std::string OurOffer(const ipc::Phase1Status& t) {
  if (t.tunnel_role() == ipc::RESPONDER || !t.encryption_alg()) return "";
  return " (ours: " + IkeEncryptionName(t.encryption_alg(), t.key_length()) + ", " +
         IkeHashName(t.hash_alg()) + ", " + DhGroupName(t.group()) + ", " +
         AuthMethodName(t.auth()) + ")";
}
std::string OurOffer(const ipc::Phase2Status& t) {
  if (t.tunnel_role() == ipc::RESPONDER || !t.encryption_alg()) return "";
  std::string out = " (ours: " + EspEncryptionName(t.encryption_alg(), t.key_length());
  if (t.integrity_alg()) out += ", " + EspIntegrityName(t.integrity_alg());
  return out + ", PFS " + DhGroupName(t.pfs()) + ")";
}

// A phase 1 that stopped waiting for the peer's next message.
Diagnosis Waiting(const ipc::Phase1Status& t, bool failed) {
  const bool initiator = t.tunnel_role() != ipc::RESPONDER;
  const bool aggressive = t.exchange_mode() == ipc::AGGRESSIVE;
  const uint32_t sent = t.message();
  Diagnosis d;
  const std::string state = StateNames(t);
  const std::string verb = failed ? "no answer" : "waiting for the answer";
  if (sent <= 1 && initiator) {
    d.where = state + ": message 1 sent, " + verb;
    d.causes = {kPeerDown, kUdpFiltered, kNoIke, kUnannouncedNat};
  } else if (aggressive && !initiator) {
    d.where = state + ": message 2 sent, " + verb + " (message 3)";
    d.causes = {
        {"the initiator could not verify our HASH_R: the pre-shared keys differ", kPskDiffer.check},
        kUdpFiltered};
  } else if (!aggressive && !initiator && sent == 2) {
    d.where = state + ": message 2 sent, " + verb + " (message 3)";
    d.causes = {{"the initiator did not take our choice of proposal, or gave up",
                 "the initiator's log; its offer against our ike_protection"},
                kUdpFiltered};
  } else if (!aggressive && initiator && sent == 3) {
    d.where = state + ": message 3 (key exchange) sent, " + verb + " (message 4)";
    d.causes = {
        kWrongAddress,
        kLargePackets,
        {"the peer's software refuses our key exchange", "the peer's log for message 3 from us"}};
  } else if (!aggressive && !initiator && sent == 4) {
    d.where = state + ": message 4 sent, " + verb + " (message 5)";
    d.causes = {kNatT, kPskDiffer};
  } else {
    d.where = state + ": message " + std::to_string(sent) + " sent, " + verb + " (message " +
              std::to_string(sent + 1) + ")";
    d.causes = {kPskDiffer, kNatT, kWrongAddress};
  }
  // The peer said so itself (unauthenticated, but the likely reason).
  if (Says(t.reason(), "AUTHENTICATION-FAILED")) d.causes.insert(d.causes.begin(), kPskDiffer);
  PreferIcmp(t.reason(), &d.causes);
  return d;
}

}  // namespace

Diagnosis Diagnose(const ipc::Phase1Status& t) {
  if (t.tunnel_status() != ipc::FAILED && t.tunnel_status() != ipc::NEGOTIATING) return {};
  const bool failed = t.tunnel_status() == ipc::FAILED;
  if (!failed && t.message() == 0) return {StateNames(t) + ": negotiation starting", {}};
  const std::string& reason = t.reason();
  Diagnosis d;
  switch (failed ? t.failure() : ipc::NEGOTIATION_TIMEOUT) {
    case ipc::NEGOTIATION_TIMEOUT:
      d = Waiting(t, failed);
      // tmd's DPD restart (action restart) failing again: the history
      // explains the silence better than any guess about message 1.
      if (Says(reason, "declared dead (DPD)")) d.causes.insert(d.causes.begin(), kDpdDead);
      return d;
    case ipc::AUTHENTICATION_FAILED:
      d.where = StateNames(t) + ": authentication failed";
      d.causes = {kPskDiffer,
                  {"the identities differ from what each end expects",
                   "local_id/remote_id of the ike_tunnel on both hosts (type and value)"}};
      break;
    case ipc::NO_PROPOSAL_CHOSEN:
      d.where = StateNames(t) + ": no common proposal";
      d.causes = {
          {"the two ends offer no common encryption, hash, DH group, authentication "
           "method or lifetime" +
               OurOffer(t),
           "ikedb get ike_protection on both hosts; the peer's log names what it was offered "
           "and what it has (ours: \"none of the offered transforms (...) matches protection\")"}};
      break;
    case ipc::UNKNOWN_PEER:
      d.where = StateNames(t) + ": no pre-shared key for the peer";
      d.causes = {{"psk.db has no key for " + Peer(t) + "'s identity",
                   "psk.db: a key with that remote_id; refresh -s cpsd"}};
      break;
    case ipc::PEER_NOTIFY:
      d.where = StateNames(t) + ": the peer refused";
      d.causes = {{"the peer sent an error notify (see the reason)",
                   "the peer's log for the same cookies"}};
      break;
    case ipc::DELETED:
      d.where = "deleted";
      if (Says(reason, "dead") || Says(reason, "DPD")) {
        d.causes = {kDpdDead, kUdpFiltered};
      } else {
        d.causes = {{"the peer or an operator deleted it", "the peer's log; ike cmd=list there"}};
      }
      break;
    default:
      d.where = StateNames(t) + ": failed";
      if (Says(reason, "kernel")) {
        d.causes = {{"the kernel refused the SA or policy (see the reason)",
                     "ike cmd=list cache and filters; the kernel's IPsec support (esp4, esp6, "
                     "xfrm)"}};
      } else if (Says(reason, "isakmpd")) {
        d.causes = {{"isakmpd stopped or restarted", "lssrc -g ike; syslog of isakmpd"}};
      } else {
        d.causes = {{"see the reason", "syslog (local4) on both hosts for these cookies"}};
      }
  }
  return d;
}

Diagnosis Diagnose(const ipc::Phase2Status& t) {
  if (t.tunnel_status() == ipc::ACTIVE || t.tunnel_status() == ipc::TUNNEL_STATUS_UNSPECIFIED)
    return {};
  if (t.tunnel_status() == ipc::NEGOTIATING && t.message() == 0)
    return {(t.phase2_state() ? Phase2StateName(t.phase2_state()) : std::string("INIT")) +
                ": negotiation starting (or waiting for its phase 1)",
            {}};
  Diagnosis d;
  const std::string& reason = t.reason();
  const std::string state =
      t.phase2_state() ? Phase2StateName(t.phase2_state()) : std::string("INIT");
  if (t.tunnel_status() == ipc::DORMANT) {
    d.where = "dormant: waiting for traffic to negotiate it";
    if (!reason.empty())
      d.causes = {{"it was held after a failure (see the reason)", "ike cmd=list verbose"}};
    return d;
  }
  if (t.tunnel_status() == ipc::CLEAR) {
    d.where = "in the clear: negotiation discovery found no IKE on the peer";
    d.causes = {kNoIke};
    return d;
  }
  if (Says(reason, "phase 1 tunnel")) {
    d.where = "never started: its phase 1 tunnel failed";
    d.causes = {{"phase 1 did not come up", "ike cmd=diagnose phase=1 (its phase 1 tunnel)"}};
    return d;
  }
  switch (t.tunnel_status() == ipc::FAILED ? t.failure() : ipc::NEGOTIATION_TIMEOUT) {
    case ipc::INVALID_ID:
      d.where = state + ": the peer refused our selectors";
      d.causes = {{"the two ends' phase 2 selectors do not mirror each other (ours: " +
                       t.local_id() + " <-> " + t.remote_id() + ")",
                   "the ipsec_tunnel's local and remote (subnets, ranges, protocol, ports) on "
                   "both hosts: each end's local is the other's remote"}};
      break;
    case ipc::NO_PROPOSAL_CHOSEN:
      d.where = state + ": no common phase 2 proposal";
      d.causes = {{"no common ESP transform, or PFS group, between the two ends" + OurOffer(t),
                   "ikedb get ipsec_protection on both hosts (encryption, integrity, pfs_group); "
                   "the peer's log names what it was offered"}};
      break;
    case ipc::NEGOTIATION_TIMEOUT:
      d.where = state + ": Quick Mode message " + std::to_string(t.message()) +
                (t.tunnel_status() == ipc::FAILED ? " sent, no answer" : ", waiting");
      d.causes = {{"the peer drops our Quick Mode (selectors or transforms it will not take, "
                   "without saying so)",
                   "the peer's log for our Quick Mode"},
                  kNatT};
      PreferIcmp(reason, &d.causes);
      break;
    default:
      d.where = state + ": failed";
      if (Says(reason, "kernel")) {
        d.causes = {{"the kernel refused the SA or policy (see the reason)",
                     "ike cmd=list cache and filters; the kernel's IPsec support"}};
      } else if (Says(reason, "rekey")) {
        d.causes = {{"a rekey failed", "the peer's log; its phase 2 lifetime settings"}};
      } else {
        d.causes = {{"see the reason", "syslog (local4) on both hosts"}};
      }
  }
  return d;
}

}  // namespace ike::tunneldb
