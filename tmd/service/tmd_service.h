// tmd's IPC shell: the Unix socket tmd.sock, one dispatcher keyed by the
// envelope body (common/ipc_dispatch.h), the isakmpd connection (recognised
// by its unsolicited Pong{daemon:"isakmpd"}: conventions.md), refresh and
// shutdown. All protocol decisions are in TunnelManager (tmd/core).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/ipc.h"
#include "common/ipc_dispatch.h"
#include "tmd/core/tunnel_manager.h"

namespace ike {
class EventLoop;
}

namespace ike::tmd {

class TmdService : public IsakmpdLink {
 public:
  // |database_path| is re-read on Refresh/SIGHUP. |database| is the one
  // loaded at start-up. The service owns the kernel backend.
  TmdService(EventLoop& loop, std::string socket_path, std::string database_path,
             DatabasePtr database, std::unique_ptr<KernelBackend> kernel);
  ~TmdService() override;

  // Binds the socket. Errors name the path.
  Status Start();
  // Re-reads the database; on failure keeps the old one and says why.
  Status Refresh();
  // SIGTERM: isakmpd deletes its own SAs when it stops; tmd only removes
  // the kernel state it installed.
  void Shutdown();

  // IsakmpdLink
  bool connected() const override;
  void Send(const ipc::Envelope& envelope) override;

  TunnelManager& manager() { return manager_; }

 private:
  void OnMessage(const ipc::ConnectionPtr& conn, const ipc::Envelope& envelope);
  void OnClose(const ipc::ConnectionPtr& conn);
  void BuildDispatch();
  ipc::Answer OnPong(const ipc::Envelope& e, const ipc::ConnectionPtr& c);
  ipc::Answer OnList(const ipc::Envelope& e, const ipc::ConnectionPtr& c);
  ipc::Answer OnIsakmpdEvent(const ipc::Envelope& e, const ipc::ConnectionPtr& c);
  void PushConfig();
  // ike cmd=list of live tunnels: one ListReply of at most kListChunkRows
  // rows per turn of the loop, so isakmpd's events are served in between.
  struct Listing {
    ipc::ConnectionPtr conn;
    uint64_t request_id;
    ipc::ListRequest request;
    ListCursor cursor;
  };
  void ContinueListing(const std::shared_ptr<Listing>& listing);

  EventLoop& loop_;
  std::string database_path_;
  std::unique_ptr<KernelBackend> kernel_;
  TunnelManager manager_;
  ipc::Server server_;
  ipc::ConnectionPtr isakmpd_;
  ipc::Dispatcher<const ipc::ConnectionPtr&> dispatch_{"tmd"};
  std::unordered_map<Listing*, TimerId> listings_;  // chunks still to send
  TimePoint started_;                               // lssrc -l: uptime
};

}  // namespace ike::tmd
