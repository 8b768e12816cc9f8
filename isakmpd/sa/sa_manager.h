// The SA manager: owns the ISAKMP SAs and IPsec SAs (and, through them, the
// exchanges that make them), and does the transport work around the
// exchanges: cookies and message ids, encryption and the IV chain,
// retransmission and duplicates, time-outs, and the events tmd sees.
// Every step change goes through Transition (one per SA kind), which refuses
// illegal moves ("cannot switch A -> B"), counts, logs "OLD -> NEW" by the
// operators' names and tells tmd (EmitStateChange). Single-threaded (one
// event loop).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/log.h"
#include "isakmpd/exchange/informational.h"
#include "isakmpd/exchange/quick_mode.h"
#include "isakmpd/sa/fragments.h"
#include "isakmpd/sa/half_open.h"
#include "isakmpd/sa/ipsec_sa.h"
#include "isakmpd/sa/isakmp_sa.h"
#include "isakmpd/sa/ports.h"
#include "isakmpd/sa/transitions.h"

namespace ike::isakmpd {

struct SaManagerDeps {
  Clock* clock;
  Timers* timers;
  crypto::Random* random;
  PacketSink* packets;
  EventSink* events;
  CredentialSource* credentials;
  DhKeySource* dh = nullptr;      // null: generate each key pair when needed
  SpiAllocator* spis = nullptr;   // null: random SPIs unique among ours
  KeyLogSink* key_log = nullptr;  // null: settings.ike_key_log is ignored
};

class SaManager {
 public:
  explicit SaManager(SaManagerDeps deps);
  ~SaManager();

  void SetDatabase(const db::TunnelDatabase& database);
  uint16_t ike_port() const;

  // Requests from tmd; each returns the reply envelope body (Ack or Error).
  ipc::Envelope StartPhase1(const ipc::Phase1Request& request);
  ipc::Envelope StartPhase2(const ipc::Phase2Request& request);
  ipc::Envelope Remove(const ipc::RemoveTunnel& request);
  void AssignTunnel(const ipc::TunnelAssigned& assigned);
  // Dead Peer Detection (RFC 3706): sends R-U-THERE unless the peer spoke
  // within quiet_ms; the outcome goes to tmd as a DpdReport. Always Ack.
  ipc::Envelope Probe(const ipc::DpdProbe& request);

  // A datagram from the network. Never throws; bad input is logged and
  // dropped or answered with a notify.
  void OnPacket(const Endpoint& local, const Endpoint& remote, ByteView packet);
  // An ICMP error for a datagram we sent to |to| (common/udp.h: |what| is
  // DescribeUdpError's text). Unauthenticated, so it ends nothing: a
  // negotiation that then times out names it as what it heard instead of
  // an answer (issue 11.3).
  void OnUnreachable(const Endpoint& to, const std::string& what);

  // Deletes every SA (Delete payloads to the peers) before the daemon exits.
  void Shutdown();

  size_t isakmp_sa_count() const { return sas_.size(); }
  // IPsec SAs, negotiating or established.
  size_t quick_mode_count() const { return children_.size(); }
  size_t half_open_responders() const { return half_open_table_.total(); }
  const HalfOpenTable& half_open_table() const { return half_open_table_; }
  const SaCounters& counters() const { return counters_; }
  // Messages whose fragments are arriving (bounded, fragments.h).
  size_t fragments_pending() const { return reassembler_.pending(); }
  // lssrc -l -s isakmpd (issue 11.5): the counters and the live SAs by
  // state; the service adds its links (sa_status.cc).
  ipc::IsakmpdStatus LongStatus() const;

  // How long a Quick Mode waits for its SPI before it fails.
  static constexpr uint32_t kSpiTimeoutMs = 5000;
  // How long the initiator of a rekey keeps sending on the old pair after
  // Quick Mode message 3 (ipsec_sa.h HeldOutbound).
  static constexpr uint32_t kOutboundSwitchMs = 1000;
  // How long a replaced ISAKMP SA lives on beside its replacement: what
  // was in flight on it arrives within this, and each second it lives on
  // keeps one more ISAKMP SA per tunnel resident in a re-establishment round
  // (bench/rekey: with 10 s, isakmpd's RSS grew 14 % for good). A Quick Mode
  // or Informational still under way on it extends this, up to
  // kReplacedOverlapMaxMs (its retransmissions).
  static constexpr uint32_t kReplacedOverlapMs = 2000;
  static constexpr uint32_t kReplacedOverlapMaxMs = 10000;
  // Two re-establishments of one tunnel this close are a collision (issue
  // 9.3), whether or not the first one's predecessor is still there.
  static constexpr uint32_t kCollisionWindowMs = 10000;

 private:
  friend class SaManagerTestPeer;

  // ---- phase 1 (sa_phase1.cc)
  IsakmpSa* NewSa(Role role, const Endpoint& local, const Endpoint& remote);
  // A Main Mode or Aggressive Mode message (|h.exchange| says which).
  void OnPhase1(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                ByteView packet);
  IsakmpSa* FindPhase1Sa(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                         ByteView packet);
  IsakmpSa* NewResponderSa(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                           ByteView packet);
  // The definition a message 1 is for: by address (Main Mode), by the
  // identity it carries (Aggressive Mode). nullptr with the reason logged
  // and, where the peer should learn it, a notify sent.
  const db::IkeTunnel* ResponderDefinition(const wire::Header& h, const Endpoint& local,
                                           const Endpoint& remote, ByteView packet);
  const db::IkeTunnel* AggressiveDefinition(const wire::Header& h, const Endpoint& local,
                                            const Endpoint& remote, ByteView packet);
  void RefuseMessage1(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                      wire::NotifyType notify);
  void ProcessPhase1(IsakmpSa& sa, const wire::Header& h, const Endpoint& local,
                     const Endpoint& remote, ByteView packet);
  void ApplyPhase1(IsakmpSa& sa, Phase1Outcome outcome);
  void RejectAuthMessage(IsakmpSa& sa, wire::MessageKind kind, Phase1Outcome failure);
  void RequestSkeyid(IsakmpSa& sa);
  void OnSkeyid(uint64_t handle, Result<SecretBytes> skeyid);
  void Phase1Established(IsakmpSa& sa, const std::string& transition);
  void LogNatTraversal(const IsakmpSa& sa, const Phase1Exchange& ex);
  void FailPhase1(IsakmpSa& sa, const Failure& failure);
  void Phase1Timeout(uint64_t handle);
  // The lifetime ran out, in time or (|by_volume|) in kilobytes: Delete to
  // the peer, SaDeleted to tmd, gone.
  void Phase1Expired(uint64_t handle, bool by_volume = false);
  void AdoptChildren(IsakmpSa& from, IsakmpSa& to);
  void EmitPhase1Established(const IsakmpSa& sa, bool collision_survivor);
  void Retire(IsakmpSa& sa);
  void ServeTunnel(IsakmpSa& sa);
  void ResolvePhase1Collision(IsakmpSa& earlier, IsakmpSa& latest);
  void DropStaleSas(IsakmpSa& sa);
  void RetireReplaced(uint64_t handle);
  void DeleteSa(uint64_t handle, bool failed = false);
  uint32_t HalfOpenLimit() const;
  // settings.min_lifetime_seconds (tunneldb::MinLifetimeSeconds) for the
  // exchanges we start.
  uint32_t MinLifeSeconds() const;
  // settings.nat_traversal is not OFF.
  bool NatTraversalOn() const;
  uint32_t HalfOpenPerPeerLimit() const;
  // Admission of a new responder SA (settings.max_half_open and
  // max_half_open_per_peer); false: drop the Main Mode 1.
  bool AdmitResponder(const Endpoint& remote);
  void ReleaseHalfOpen(IsakmpSa& sa);

  // ---- key log for Wireshark (sa_key_log.cc, settings.ike_key_log)
  // At start and each refresh: the warning while the key log is on (and a
  // line when it goes off), naming the file.
  void AnnounceKeyLog(const std::string& previous) const;
  // Once per SA, as soon as its keys exist (also when the negotiation then
  // fails: that is when a decrypted capture helps most).
  void WriteKeyLog(const IsakmpSa& sa);

  // ---- phase 2 (sa_phase2.cc)
  IpsecSa* NewChild(IsakmpSa& p1, Role role, uint32_t message_id);
  void OnQuickMode(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                   ByteView packet);
  void StartResponderQuickMode(IsakmpSa& p1, const wire::Header& h, const Endpoint& local,
                               const Endpoint& remote, ByteView packet);
  // Asks for our inbound SPI; the child waits in kAwaitSpi.
  void RequestSpi(IsakmpSa& p1, IpsecSa& child);
  void OnSpi(uint64_t child_handle, std::optional<uint32_t> spi);
  void ApplyPhase2(IsakmpSa& p1, IpsecSa& child, Phase2Outcome outcome);
  void Phase2Established(IsakmpSa& p1, IpsecSa& child, const std::string& transition);
  ipc::Envelope Phase2Report(const IsakmpSa& p1, const IpsecSa& child) const;
  // Reports the responder's inbound SA; its message 2 leaves once tmd has
  // it (SendWithheld).
  void ReportInboundBeforeMessage3(const IsakmpSa& p1, const IpsecSa& child);
  // The Quick Mode message held until tmd installed our inbound SA.
  void SendWithheld(uint64_t handle);
  void SwitchOutbound(uint64_t handle);
  // The ISAKMP SA that carries a Delete for |child|: its own, or else the one
  // of its tunnel's newest pair; null when neither is established.
  IsakmpSa* DeleteCarrier(const IpsecSa& child);
  void DeletePair(IpsecSa& child);
  void FailPhase2(IsakmpSa& p1, IpsecSa& child, const Failure& failure);
  void Phase2Timeout(uint64_t handle);
  const db::IpsecTunnel* MatchPhase2(const IsakmpSa& p1, const quick_mode::Selectors& s) const;
  // Frees the IPsec SA; |deleted|: it ends in kDeleted (else it failed).
  void RemoveChild(uint64_t handle, bool deleted = true);
  uint32_t InProcessSpi();
  // The responder's Main Mode 6, once the peer has shown it arrived.
  static void DropPhase1Retransmission(IsakmpSa& p1);

  // ---- informational (sa_informational.cc)
  void OnInformational(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                       ByteView packet);
  void ApplyInformational(IsakmpSa& sa, const informational::Actions& actions);
  void FailPendingQuickModes(IsakmpSa& sa, uint16_t notify);
  // A RESPONDER-LIFETIME for the ISAKMP SA in a protected Informational,
  // after it was established: the expiry moves up, or the SA goes if the
  // value is below our minimum.
  void TakeLateLifetime(IsakmpSa& sa, const std::vector<wire::Payload>& payloads);
  void DeleteEspByPeer(IsakmpSa& sa, const std::vector<uint32_t>& spis);
  void SendInformational(IsakmpSa& sa, std::vector<wire::Payload> body);
  void SendPlainNotify(const Phase1Context& sa, wire::NotifyType type);
  // A message on the NAT-T port moves the SA there (RFC 3947 section 4: the
  // port float, and later NAT mapping changes). Called only once the
  // message's HASH verified: decrypting and parsing prove nothing in IKEv1.
  void NoteEndpoints(IsakmpSa& sa, const Endpoint& local, const Endpoint& remote);

  // RFC 3948 section 4: behind a NAT (NAT-D said so), a keepalive every
  // settings.nat_keepalive_seconds while the ISAKMP SA lives, so that the
  // NAT keeps the mapping IKE and ESP-in-UDP use (sa_transport.cc).
  void StartNatKeepalives(IsakmpSa& sa);
  void SendNatKeepalive(uint64_t handle);

  // ---- IKE fragmentation (sa_fragments.cc, issue 10.8)
  // A message whose first payload is a FRAGMENT: kept until its message is
  // whole, which then goes through OnPacket as if it had come in one piece.
  void OnFragment(const Endpoint& local, const Endpoint& remote, const wire::Header& h,
                  ByteView packet);
  // Sends |packet| whole, or in fragments carrying |fragment_id| when it
  // makes an IP datagram larger than settings.fragment_size and the peer
  // takes fragments (FragmentsFor). Returns the number of fragments, 0 when
  // it went whole.
  size_t SendMessage(const Phase1Context& sa, ByteView packet, uint16_t fragment_id);
  // Whether a message too large for fragment_size goes in fragments to this
  // peer: FORCE always; ON if it announced FRAGMENTATION (and is not
  // Windows, which takes them only with certificates); OFF never.
  bool FragmentsFor(const Phase1Context& sa) const;
  // The largest ISAKMP message (or fragment) that fits fragment_size: less
  // the IP and UDP headers and, on port 4500, the non-ESP marker.
  size_t MaxIkePacket(const Phase1Context& sa) const;
  db::Fragmentation FragmentationSetting() const;
  uint16_t NextFragmentId();

  // ---- transitions, events, counters (sa_events.cc)
  // The only writers of IsakmpSa::step and IpsecSa::step. An illegal move is
  // refused (false), logged "cannot switch A -> B" and counted. |*done_text|
  // (if given) receives the line instead of it being logged, so DONE and
  // the success share one line.
  bool Transition(IsakmpSa& sa, Phase1Step next, std::string* done_text = nullptr);
  bool Transition(IpsecSa& child, QuickModeStep next, std::string* done_text = nullptr);
  // Events for tmd: one function per kind.
  void EmitStateChange(const IsakmpSa& sa, Phase1Step from, Phase1Step to);
  void EmitStateChange(const IpsecSa& child, QuickModeStep from, QuickModeStep to,
                       const Phase1Context& p1);
  // NegotiationFailed in the SA's current step.
  void EmitFailure(const IsakmpSa& sa, const Failure& failure);
  void EmitFailure(const IpsecSa& child, const Failure& failure);
  void EmitDpdReport(uint32_t tunnel, uint64_t handle, ipc::DpdOutcome outcome, uint32_t sequence);
  void OnDpdAck(IsakmpSa& sa, uint32_t sequence);
  void EmitSaDeleted(uint32_t phase, uint32_t tunnel, uint64_t handle, const std::string& reason,
                     bool by_peer);
  // IKE_BUG_IF's action (bug.h).
  void Bug(const char* file, int line, const char* condition, uint64_t handle, const char* what);
  void TearDown(uint64_t handle);
  IsakmpSa* FindSa(uint64_t handle);
  IpsecSa* FindChild(uint64_t handle);

  // ---- lssrc -l (sa_status.cc)
  void Dropped(ipc::PacketDrop why) { ++counters_.packets.dropped[why]; }
  // Every datagram we send goes through here: counted, then the sink.
  void SendDatagram(const Endpoint& from, const Endpoint& to, ByteView packet);
  // OnPacket's dispatch, without counting: a message rebuilt from fragments
  // comes in here (its fragments were counted).
  void DispatchMessage(const Endpoint& local, const Endpoint& remote, ByteView packet);

  // ---- transport (sa_transport.cc)
  // The message as sent: header, payloads, encrypted with |iv| (updated to
  // the last cipher block) unless null. Seal counts an encrypted message
  // towards the SA's kilobyte lifetime; Frame alone is for plain notifies
  // without an SA of ours.
  Bytes Seal(IsakmpSa& sa, wire::ExchangeType exchange, uint32_t message_id,
             std::vector<wire::Payload>& payloads, Bytes* iv);
  static Bytes Frame(const Phase1Context& sa, wire::ExchangeType exchange, uint32_t message_id,
                     std::vector<wire::Payload>& payloads, Bytes* iv);
  // A protected message accepted under |sa| (after its HASH verified):
  // counts it towards the kilobyte lifetime, as Seal does for ours.
  void CountReceived(IsakmpSa& sa, const wire::Header& h, ByteView packet);
  void CountProtected(IsakmpSa& sa, size_t octets);
  // Once established: arms the expiry (the same path as the time limit)
  // when the kilobyte lifetime is used up.
  void CheckVolume(IsakmpSa& sa);
  // The one receive path for every encrypted or plain message: decrypt with
  // |iv| (|*next_iv| gets the last cipher block), parse, bound the bytes
  // after the last payload to one cipher block, validate against the
  // payload table for |kind|. The error says what was wrong, for the log.
  struct Opened {
    std::vector<wire::Payload> payloads;
    Bytes next_iv;
  };
  std::variant<Opened, std::string> OpenAndParse(const Phase1Context& sa, const wire::Header& h,
                                                 ByteView packet, ByteView iv,
                                                 std::optional<wire::MessageKind> kind,
                                                 bool allow_unknown = false);
  void Transmit(const Phase1Context& sa, Transmission& tx, Bytes packet, bool retransmit,
                std::function<void()> on_timeout);
  // Sends |tx| again and re-arms its timer; false once the tries are used up.
  bool Retransmit(const Phase1Context& sa, Transmission& tx, std::function<void()> on_timer);
  // True if |packet| repeats the peer's last accepted message. We resend our
  // answer only when it answered exactly that message; otherwise two sides
  // that both resend on duplicates would ping-pong forever.
  bool IsDuplicate(const Phase1Context& sa, const Transmission& tx, ByteView packet);
  // Remembers |packet| as the peer's last accepted message.
  static void NoteAccepted(Transmission& tx, ByteView packet);
  Duration RetransmitDelay(int tries);
  uint32_t MaxTries() const;
  void LogLine(LogLevel level, const IsakmpSa& sa, const std::string& text);
  // One line per second at most for a kind of repeated event; the next line
  // says how many were folded into it (hole k: log volume bounded by us).
  struct Repeats {
    int64_t second = -1;
    uint64_t folded = 0;
  };
  bool AllowRepeat(Repeats& r, uint64_t count, uint64_t* folded);
  // LogLine for a line an attacker can repeat at will (replays, forged
  // HASHes): at most one per second per kind, with the count folded.
  void LogRepeated(Repeats& r, LogLevel level, const IsakmpSa& sa, const std::string& text);

  // Fixed-size map keys: no string is built or hashed per packet.
  struct CookiePair {
    uint64_t i = 0, r = 0;
    bool operator==(const CookiePair&) const = default;
  };
  struct ResponderKey {  // a Main Mode 1 (or its retransmission) from |remote|
    uint64_t icookie = 0;
    IpAddress remote;  // the address it came from (IsakmpSa::counted_peer)
    bool operator==(const ResponderKey&) const = default;
  };
  struct MessageKey {  // a Quick Mode: phase 1 handle and message id
    uint64_t p1 = 0;
    uint32_t message_id = 0;
    bool operator==(const MessageKey&) const = default;
  };
  struct PeerSpiKey {  // an established IPsec SA by the peer's address and its SPI
    IpAddress remote;
    uint32_t spi = 0;
    bool operator==(const PeerSpiKey&) const = default;
  };
  struct EndpointsKey {       // phase 1 definitions by peer and local address
    IpAddress remote, local;  // local family 0: any local address
    bool operator==(const EndpointsKey&) const = default;
  };
  struct KeyHash {
    size_t operator()(const CookiePair& k) const;
    size_t operator()(const ResponderKey& k) const;
    size_t operator()(const MessageKey& k) const;
    size_t operator()(const EndpointsKey& k) const;
    size_t operator()(const PeerSpiKey& k) const;
    size_t operator()(const IpAddress& a) const;
  };
  static CookiePair Cookies(const wire::Cookie& i, const wire::Cookie& r);
  static uint64_t CookieValue(const wire::Cookie& c);

  SaManagerDeps deps_;
  FreshDhKeys fresh_dh_;
  ExchangeTools tools_;
  db::TunnelDatabase database_;
  // (remote, local) -> ike_tunnel index, first one wins; local family 0 for
  // definitions without a local address.
  std::unordered_map<EndpointsKey, int, KeyHash> phase1_by_endpoints_;
  // The peer identity each definition expects (lower case) -> ike_tunnel
  // indexes: how an Aggressive Mode 1 finds its definition.
  std::unordered_map<std::string, std::vector<int>> phase1_by_remote_id_;
  // ike_tunnel name -> ipsec_tunnel indexes, in file order.
  std::unordered_map<std::string, std::vector<int>> phase2_by_phase1_;
  uint64_t next_handle_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<IsakmpSa>> sas_;
  std::unordered_map<CookiePair, uint64_t, KeyHash> by_cookies_;
  std::unordered_map<uint64_t, uint64_t> half_open_;                // initiator: icookie -> handle
  std::unordered_map<ResponderKey, uint64_t, KeyHash> responding_;  // until established
  std::unordered_map<uint32_t, uint64_t> p1_by_tunnel_;
  std::unordered_map<uint64_t, std::unique_ptr<IpsecSa>> children_;
  std::unordered_map<MessageKey, uint64_t, KeyHash> child_by_msgid_;
  std::unordered_map<uint32_t, uint64_t> p2_by_tunnel_;
  // Established ISAKMP SAs by definition name: INITIAL-CONTACT's scope
  // (the definition, i.e. the endpoint pair, not the address alone: one
  // peer address may carry thousands of definitions).
  std::unordered_map<std::string, std::vector<uint64_t>> established_by_name_;
  // A peer's Delete names its inbound SPI (our outbound): found whichever
  // ISAKMP SA it came on, after a re-establishment moved the pair.
  std::unordered_map<PeerSpiKey, uint64_t, KeyHash> child_by_peer_spi_;
  std::unordered_set<uint32_t> live_spis_;  // our inbound SPIs (the default allocator)
  // Admission control for responders (settings.max_half_open and
  // max_half_open_per_peer), eviction under a spoofed Main Mode 1 flood.
  HalfOpenTable half_open_table_;
  SaCounters counters_;
  Repeats unknown_spi_deletes_;
  Repeats replay_lines_;
  Repeats bad_hash_lines_;
  Repeats dpd_lines_;
  Repeats fragment_lines_;     // fragments dropped
  Repeats unreachable_lines_;  // ICMP errors
  Repeats no_tunnel_lines_;    // message 1 from a peer no tunnel names
  static std::string NatHint(const Endpoint& remote);
  // " (and 3 more in the last second)" for a rate-limited line.
  static std::string FoldedText(uint64_t folded);
  // The last ICMP error per destination, bounded (spoofed ICMP costs a
  // fixed amount of memory): what a timed-out negotiation heard instead.
  struct Unreachable {
    std::string what;
    TimePoint when{};
  };
  std::map<Endpoint, Unreachable> unreachable_;
  // " (the last answer was an ICMP port unreachable from ...)" when one came
  // for |to| since |since|, else "".
  std::string HeardInstead(const Endpoint& to, TimePoint since) const;
  Repeats reassembled_lines_;  // messages rebuilt from fragments
  FragmentReassembler reassembler_;
  uint16_t next_fragment_id_ = 0;
};

}  // namespace ike::isakmpd
