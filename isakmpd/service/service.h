// isakmpd's service layer: binds the SA manager to the event loop, the UDP
// sockets, tmd (events and requests) and cpsd (SKEYID).
#pragma once

#include <map>
#include <memory>
#include <unordered_map>

#include "common/crypto.h"
#include "common/event_loop.h"
#include "common/ipc.h"
#include "common/udp.h"
#include "isakmpd/sa/sa_manager.h"
#include "isakmpd/service/dh_pool.h"

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
  void Emit(ipc::Envelope event) override;
  void RequestSkeyid(const ipc::SkeyidRequest& request,
                     std::function<void(Result<SecretBytes>)> done) override;

 private:
  void OnTmdMessage(const ipc::Envelope& e);
  void OnCpsdMessage(const ipc::Envelope& e);
  void OnControl(const ipc::ConnectionPtr& conn, const ipc::Envelope& e);
  void ApplyDatabase(const db::TunnelDatabase& database);
  void Listen(const Endpoint& local);
  void FinishSkeyid(uint64_t id, Result<SecretBytes> result);

  EventLoop& loop_;
  crypto::OpenSslRandom random_;
  DhKeyPool dh_pool_;
  std::unique_ptr<SaManager> manager_;
  std::unique_ptr<ipc::Server> control_;
  std::unique_ptr<ipc::Client> tmd_;
  std::unique_ptr<ipc::Client> cpsd_;
  std::map<std::string, std::unique_ptr<UdpSocket>> sockets_;  // by "addr[port]"
  struct PendingSkeyid {
    std::function<void(Result<SecretBytes>)> done;
    TimerId timer = 0;
  };
  std::unordered_map<uint64_t, PendingSkeyid> pending_;
  uint64_t next_request_id_ = 1;
};

}  // namespace ike::isakmpd
