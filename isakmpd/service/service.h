// isakmpd's service layer: binds the SA manager to the event loop, the UDP
// sockets, tmd (events and requests) and cpsd (SKEYID).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <unordered_map>

#include "common/crypto.h"
#include "common/event_loop.h"
#include "common/ipc.h"
#include "common/ipc_dispatch.h"
#include "common/memory.h"
#include "common/udp.h"
#include "isakmpd/sa/sa_manager.h"
#include "isakmpd/service/dh_pool.h"
#include "isakmpd/service/key_log_file.h"
#include "isakmpd/service/tmd_requests.h"

namespace ike::isakmpd {

class IsakmpdService : public PacketSink, public EventSink, public CredentialSource {
 public:
  explicit IsakmpdService(EventLoop& loop);
  ~IsakmpdService() override;

  // Listens on isakmpd.sock and connects to tmd and cpsd.
  Status Start();
  // SIGTERM: Delete payloads for every SA, then stop the loop.
  void Stop();

  bool SendPacket(const Endpoint& from, const Endpoint& to, ByteView packet) override;
  bool SendNatKeepalive(const Endpoint& from, const Endpoint& to) override;
  void Emit(ipc::Envelope event) override;
  void EmitAndWait(ipc::Envelope event, std::function<void()> done) override;
  void RequestSkeyid(const ipc::SkeyidRequest& request,
                     std::function<void(Result<SecretBytes>)> done) override;

 private:
  // Stop(): the Delete messages for every SA are queued and sent in paced
  // bursts, then the loop stops (conventions.md "Daemons": exit within 5 s).
  // Sent all at once, 40,000 of them (20,000 tunnels) overflowed the peer's
  // receive buffer and ~7 % were lost, leaving its tunnels up.
  struct Outgoing {
    Endpoint from, to;
    Bytes packet;
  };
  // |add_marker|: IKE, which on port 4500 gets the non-ESP marker; false for
  // a NAT keepalive, which must not.
  bool SendNow(const Endpoint& from, const Endpoint& to, ByteView packet, bool add_marker = true);
  void DrainOutbox(TimePoint deadline);
  bool stopping_ = false;
  std::deque<Outgoing> outbox_;
  void OnTmdLost();

  void BuildDispatch();
  ipc::Envelope DaemonStatus() const;  // lssrc -l -s isakmpd
  TimePoint started_;
  void OnTmdMessage(const ipc::Envelope& e);
  void OnCpsdMessage(const ipc::Envelope& e);
  void OnControl(const ipc::ConnectionPtr& conn, const ipc::Envelope& e);
  void ApplyDatabase(const db::TunnelDatabase& database);
  // ICMP errors for our datagrams go to the SA manager (issue 11.3).
  void HearIcmpErrors(UdpSocket& socket);
  void EnableEspInUdp(UdpSocket& socket);
  void Listen(const Endpoint& local);
  void ListenAny(const Endpoint& any);
  // Strips the RFC 3948 non-ESP marker on port 4500 and hands the message on.
  void OnDatagram(const Endpoint& local, const Endpoint& from, ByteView data);
  void FinishSkeyid(uint64_t id, Result<SecretBytes> result);
  // Every kTrimInterval: gives freed heap back once the SAs fell well below
  // their high-water mark (common/memory.h TrimPolicy).
  void TrimTick();
  TrimPolicy trim_;

  EventLoop& loop_;
  crypto::OpenSslRandom random_;
  DhKeyPool dh_pool_;
  KeyLogFile key_log_;  // settings.ike_key_log
  std::unique_ptr<SaManager> manager_;
  std::unique_ptr<ipc::Server> control_;
  std::unique_ptr<ipc::Client> tmd_;
  // Requests to tmd: inbound SPIs (hole 4.f, the SA manager's
  // SpiAllocator) and the events the SA manager waits on.
  std::unique_ptr<TmdRequests> tmd_requests_;
  std::unique_ptr<ipc::Client> cpsd_;
  ipc::Dispatcher<> control_dispatch_{"isakmpd"};  // isakmpd.sock
  ipc::Dispatcher<> tmd_dispatch_{"isakmpd"};      // requests from tmd
  using SocketKey = std::pair<IpAddress, uint16_t>;
  std::map<SocketKey, std::unique_ptr<UdpSocket>> sockets_;  // one local address
  // settings.listen_address "::" / "0.0.0.0": one socket per (family, port)
  // serves every local address of that family (conventions.md "Daemons").
  std::map<std::pair<int, uint16_t>, std::unique_ptr<UdpSocket>> any_sockets_;
  struct PendingSkeyid {
    std::function<void(Result<SecretBytes>)> done;
    TimerId timer = 0;
  };
  std::unordered_map<uint64_t, PendingSkeyid> pending_;
  uint64_t next_request_id_ = 1;
};

}  // namespace ike::isakmpd
