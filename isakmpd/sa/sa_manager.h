// The SA manager: owns the ISAKMP SAs and Quick Mode exchanges, and does the
// transport work around the exchanges: cookies and message ids, encryption
// and the IV chain, retransmission and duplicates, time-outs, and the events
// tmd sees. Every state change goes through SetPhase1State/SetPhase2State,
// which log "OLD -> NEW" and tell tmd. Single-threaded (one event loop).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/log.h"
#include "isakmpd/exchange/quick_mode.h"
#include "isakmpd/sa/isakmp_sa.h"
#include "isakmpd/sa/ports.h"

namespace ike::isakmpd {

struct SaManagerDeps {
  Clock* clock;
  Timers* timers;
  crypto::Random* random;
  PacketSink* packets;
  EventSink* events;
  CredentialSource* credentials;
  DhKeySource* dh = nullptr;  // null: generate each key pair when needed
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

  // A datagram from the network. Never throws; bad input is logged and
  // dropped or answered with a notify.
  void OnPacket(const Endpoint& local, const Endpoint& remote, ByteView packet);

  // Deletes every SA (Delete payloads to the peers) before the daemon exits.
  void Shutdown();

  size_t isakmp_sa_count() const { return sas_.size(); }
  size_t quick_mode_count() const { return qms_.size(); }

 private:
  // phase 1 (sa_manager.cc)
  IsakmpSa* NewSa(Role role, const Endpoint& local, const Endpoint& remote);
  void OnMainMode(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                  ByteView packet);
  IsakmpSa* FindMainModeSa(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                           ByteView packet);
  void ProcessMainMode(IsakmpSa& sa, const wire::Header& h, const Endpoint& local,
                       const Endpoint& remote, ByteView packet);
  void ApplyPhase1(IsakmpSa& sa, Outcome outcome);
  void RejectAuthMessage(IsakmpSa& sa, wire::MessageKind kind, Outcome failure);
  void RequestSkeyid(IsakmpSa& sa);
  // |transition|: instead of its own line, the change to DONE is handed to
  // Phase1Established, which logs it with the result on one line (one
  // syslog datagram fewer per tunnel and side, bench/README.md).
  void SetPhase1State(IsakmpSa& sa, Phase1State next, std::string* transition = nullptr);
  void Phase1Established(IsakmpSa& sa, const std::string& transition);
  void FailPhase1(IsakmpSa& sa, const Failure& failure);
  // NegotiationFailed for tmd.
  // |state1| for phase 1, |state2| for phase 2 (the other UNSPECIFIED);
  // |message|: the exchange message number reached.
  void EmitFailure(uint32_t phase, uint32_t tunnel, uint64_t handle, const Failure& failure,
                   ipc::Phase1State state1, ipc::Phase2State state2, uint32_t message);
  void DeleteSa(uint64_t handle);
  void Phase1Timeout(uint64_t handle);

  // phase 2 and informational (sa_phase2.cc)
  void OnQuickMode(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                   ByteView packet);
  void StartResponderQuickMode(IsakmpSa& p1, const wire::Header& h, const Endpoint& local,
                               const Endpoint& remote, ByteView packet);
  void ApplyPhase2(IsakmpSa& p1, QuickModeExchange& qm, Outcome outcome);
  void SetPhase2State(const IsakmpSa& p1, QuickModeExchange& qm, Phase2State next,
                      std::string* transition = nullptr);
  void Phase2Established(const IsakmpSa& p1, QuickModeExchange& qm, const std::string& transition);
  void FailPhase2(const IsakmpSa& p1, QuickModeExchange& qm, const Failure& failure);
  void Phase2Timeout(uint64_t handle);
  const db::IpsecTunnel* MatchPhase2(const IsakmpSa& p1, const quick_mode::Selectors& s) const;
  void OnInformational(const wire::Header& h, const Endpoint& local, const Endpoint& remote,
                       ByteView packet);
  // A message on the NAT-T port moves the SA there (RFC 3947 section 4: the
  // port float, and later NAT mapping changes). Called only once the message
  // decrypted and parsed, so a forged packet cannot redirect an SA.
  void NoteEndpoints(IsakmpSa& sa, const Endpoint& local, const Endpoint& remote);
  void HandleNotify(IsakmpSa& sa, const wire::NotifyPayload& n, bool authenticated);
  void HandleDelete(IsakmpSa& sa, const wire::DeletePayload& d);
  void SendInformational(IsakmpSa& sa, std::vector<wire::Payload> body);
  void SendPlainNotify(const IsakmpSa& sa, wire::NotifyType type);
  void RemoveQuickMode(uint64_t handle);
  // The responder's Main Mode 6, once the peer has shown it arrived.
  static void DropPhase1Retransmission(IsakmpSa& p1);

  // transport (sa_transport.cc)
  Bytes Seal(const IsakmpSa& sa, wire::ExchangeType exchange, uint32_t message_id,
             std::vector<wire::Payload>& payloads, Bytes* iv);
  // Decrypts an encrypted message body with |iv|; |*next_iv| gets the last
  // cipher block. nullopt if the length is not a block multiple.
  std::optional<Bytes> Open(const IsakmpSa& sa, const wire::Header& h, ByteView packet, ByteView iv,
                            Bytes* next_iv);
  void Transmit(const IsakmpSa& sa, Transmission& tx, Bytes packet, bool retransmit,
                std::function<void()> on_timeout);
  // Sends |tx| again and re-arms its timer; false once the tries are used up.
  bool Retransmit(const IsakmpSa& sa, Transmission& tx, std::function<void()> on_timer);
  // True if |packet| repeats the peer's last message. We resend our answer
  // only when it answered exactly that message; otherwise two sides that
  // both resend on duplicates would ping-pong forever.
  bool HandleDuplicate(const IsakmpSa& sa, Transmission& tx, ByteView packet);
  Duration RetransmitDelay(int tries) const;
  void LogLine(LogLevel level, const IsakmpSa& sa, const std::string& text) const;

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
  struct EndpointsKey {       // phase 1 definitions by peer and local address
    IpAddress remote, local;  // local family 0: any local address
    bool operator==(const EndpointsKey&) const = default;
  };
  struct KeyHash {
    size_t operator()(const CookiePair& k) const;
    size_t operator()(const ResponderKey& k) const;
    size_t operator()(const MessageKey& k) const;
    size_t operator()(const EndpointsKey& k) const;
    size_t operator()(const IpAddress& a) const;
  };
  static CookiePair Cookies(const wire::Cookie& i, const wire::Cookie& r);
  static uint64_t CookieValue(const wire::Cookie& c);
  // Frees what only the negotiation needed once phase 1 is established.
  static void ReleaseNegotiation(IsakmpSa& sa);
  uint32_t HalfOpenLimit() const;
  uint32_t HalfOpenPerPeerLimit() const;
  // Admission of a new responder SA (settings.max_half_open and
  // max_half_open_per_peer); false: drop the Main Mode 1.
  bool AdmitResponder(const Endpoint& remote);

  SaManagerDeps deps_;
  FreshDhKeys fresh_dh_;
  ExchangeTools tools_;
  db::TunnelDatabase database_;
  // (remote, local) -> ike_tunnel index, first one wins; local family 0 for
  // definitions without a local address.
  std::unordered_map<EndpointsKey, int, KeyHash> phase1_by_endpoints_;
  // ike_tunnel name -> ipsec_tunnel indexes, in file order.
  std::unordered_map<std::string, std::vector<int>> phase2_by_phase1_;
  uint64_t next_handle_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<IsakmpSa>> sas_;
  std::unordered_map<CookiePair, uint64_t, KeyHash> by_cookies_;
  std::unordered_map<uint64_t, uint64_t> half_open_;                // initiator: icookie -> handle
  std::unordered_map<ResponderKey, uint64_t, KeyHash> responding_;  // until established
  std::unordered_map<uint32_t, uint64_t> p1_by_tunnel_;
  std::unordered_map<uint64_t, std::unique_ptr<QuickModeExchange>> qms_;
  std::unordered_map<MessageKey, uint64_t, KeyHash> qm_by_msgid_;
  std::unordered_map<uint64_t, uint64_t> qm_parent_;  // qm handle -> p1 handle
  std::unordered_map<uint32_t, uint64_t> p2_by_tunnel_;
  // Admission control for responders (settings.max_half_open).
  size_t half_open_responders_ = 0;
  uint64_t dropped_for_half_open_ = 0;
  // Per remote address (settings.max_half_open_per_peer).
  std::unordered_map<IpAddress, uint32_t, KeyHash> half_open_by_peer_;
  uint64_t dropped_for_peer_cap_ = 0;
  void ReleaseHalfOpen(IsakmpSa& sa);

 public:
  size_t half_open_responders() const { return half_open_responders_; }
  uint64_t dropped_for_peer_cap() const { return dropped_for_peer_cap_; }
};

}  // namespace ike::isakmpd
