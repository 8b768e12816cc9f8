// tmd service: requests from the ike command, events from isakmpd, control
// messages every daemon serves (conventions.md "Daemons").
#include "tmd/service/tmd_service.h"

#include <google/protobuf/arena.h>
#include <unistd.h>

#include "common/event_loop.h"
#include "common/log.h"
#include "common/memory.h"
#include "tunneldb/names.h"

namespace ike::tmd {

using B = ipc::Envelope;

TmdService::TmdService(EventLoop& loop, std::string socket_path, std::string database_path,
                       DatabasePtr database, std::unique_ptr<KernelBackend> kernel)
    : loop_(loop),
      database_path_(std::move(database_path)),
      kernel_(std::move(kernel)),
      manager_(*kernel_, *this, loop, &loop),
      server_(
          loop, std::move(socket_path),
          [this](const ipc::ConnectionPtr& c, const ipc::Envelope& e) { OnMessage(c, e); },
          [this](const ipc::ConnectionPtr& c) { OnClose(c); }) {
  started_ = loop_.Now();
  manager_.SetDatabase(std::move(database));
  BuildDispatch();
  kernel_->Attach(loop_, [this](const KernelEvent& e) { manager_.OnKernelEvent(e); });
  if (const int fd = kernel_->event_fd(); fd >= 0) {
    loop_.WatchReadable(fd, [this] {
      for (const KernelEvent& e : kernel_->ReadEvents()) manager_.OnKernelEvent(e);
    });
  }
}

TmdService::~TmdService() {
  for (const auto& [listing, timer] : listings_) loop_.Cancel(timer);
  if (const int fd = kernel_->event_fd(); fd >= 0) loop_.Unwatch(fd);
}

Status TmdService::Start() { return server_.Listen(); }

bool TmdService::connected() const { return isakmpd_ != nullptr && !isakmpd_->closed(); }

void TmdService::Send(const ipc::Envelope& envelope) {
  if (connected()) isakmpd_->Send(envelope);
}

void TmdService::PushConfig() {
  if (!connected() || !manager_.database()) return;
  // A whole copy of the database, for the moment it takes to encode it: on an
  // arena, so it is freed in a few large blocks that the callers' later
  // ReturnFreedMemory() gives back, instead of leaving holes among tmd's
  // tunnels (20,000 tunnels: ~20 MB).
  google::protobuf::Arena arena;
  auto* e = google::protobuf::Arena::CreateMessage<ipc::Envelope>(&arena);
  e->set_version(ipc::kProtocolVersion);
  *e->mutable_config_push()->mutable_database() = manager_.database()->proto();
  isakmpd_->Send(*e);
}

// One handler per body case (common/ipc_dispatch.h); a body not listed here
// gets Error{UNKNOWN_BODY} and the connection is closed.
void TmdService::BuildDispatch() {
  using C = const ipc::ConnectionPtr&;
  dispatch_.OnPing(getpid());
  dispatch_.OnSetLogLevel();
  dispatch_.OnRefresh([this]() -> Result<std::string> {
    if (Status s = Refresh(); !s.ok()) return s.error();
    return std::string("tunnel database reloaded");
  });
  dispatch_.On(B::kPong, [this](const ipc::Envelope& e, C c) { return OnPong(e, c); });
  dispatch_.On(B::kShutdown, [this](const ipc::Envelope& e, C c) {
    // Sent before the loop stops, so the reply is flushed.
    c->Send(ipc::MakeAck(e.request_id(), "tmd stopping"));
    Shutdown();
    return ipc::NoReply();
  });
  dispatch_.On(B::kActivateRequest, [this](const ipc::Envelope& e, C) {
    return ipc::Reply(manager_.Activate(e.activate_request()));
  });
  dispatch_.On(B::kRemoveRequest, [this](const ipc::Envelope& e, C) {
    return ipc::Reply(manager_.Remove(e.remove_request()));
  });
  dispatch_.On(B::kListRequest, [this](const ipc::Envelope& e, C c) { return OnList(e, c); });
  // lssrc -l -s tmd (issue 11.5): the counters live in the manager.
  dispatch_.On(B::kDaemonStatusRequest, [this](const ipc::Envelope&, C) {
    ipc::Envelope e = ipc::DaemonStatusBody(
        "tmd", getpid(), std::chrono::duration_cast<Duration>(loop_.Now() - started_),
        server_.connection_count());
    *e.mutable_daemon_status_reply()->mutable_tmd() = manager_.LongStatus();
    return ipc::Reply(std::move(e));
  });
  // isakmpd asks for each inbound SPI it offers (hole 4.f).
  dispatch_.On(B::kAllocateSpi, [this](const ipc::Envelope& e, C c) {
    if (c != isakmpd_)
      return ipc::ReplyAndClose(
          ipc::MakeError(0, ipc::UNKNOWN_BODY, "tmd takes this message from isakmpd only"));
    return ipc::Reply(manager_.AllocateSpi(e.allocate_spi()));
  });
  // Replies and events: served only on the isakmpd connection.
  for (auto body : {B::kAck, B::kError, B::kStateChange, B::kPhase1Established,
                    B::kPhase2Established, B::kNegotiationFailed, B::kSaDeleted, B::kDpdReport}) {
    dispatch_.On(body, [this](const ipc::Envelope& e, C c) { return OnIsakmpdEvent(e, c); });
  }
}

// isakmpd announces itself with an unsolicited Pong on connect.
ipc::Answer TmdService::OnPong(const ipc::Envelope& e, const ipc::ConnectionPtr& c) {
  if (e.pong().daemon() != "isakmpd") return ipc::NoReply();
  if (connected() && isakmpd_ != c) isakmpd_->Close();
  isakmpd_ = c;
  LOG_EVENT("isakmpd connected (pid %d); tunnel database pushed", e.pong().pid());
  PushConfig();
  manager_.OnIsakmpdConnected();
  ReturnFreedMemory();
  return ipc::NoReply();
}

ipc::Answer TmdService::OnList(const ipc::Envelope& e, const ipc::ConnectionPtr& c) {
  const ipc::ListRequest& r = e.list_request();
  if (r.db() || r.cache() || r.filters()) return ipc::Reply(manager_.List(r));
  ContinueListing(std::make_shared<Listing>(Listing{c, e.request_id(), r, {}}));
  return ipc::NoReply();
}

ipc::Answer TmdService::OnIsakmpdEvent(const ipc::Envelope& e, const ipc::ConnectionPtr& c) {
  if (c != isakmpd_) {
    return ipc::ReplyAndClose(
        ipc::MakeError(0, ipc::UNKNOWN_BODY, "tmd takes this message from isakmpd only"));
  }
  // Only Phase2Established is copied (to wipe its keys): a copy of every
  // event adds up at 20,000 tunnels.
  manager_.OnIsakmpdMessage(e);
  // An event with a request id waits for us: a Phase2Established whose
  // inbound SA must be in the kernel before isakmpd sends the message that
  // lets the peer use it (proto/ike.proto). The installation above was
  // synchronous; its failure is logged and handled there.
  if (e.request_id() != 0 && !e.has_ack() && !e.has_error()) {
    ipc::Envelope ack;
    ack.mutable_ack();
    return ipc::Reply(std::move(ack));
  }
  return ipc::NoReply();
}

// 500 rows serialize in well under a millisecond; a 20,000-tunnel listing
// is then ~80 turns of the loop.
constexpr size_t kListChunkRows = 500;

void TmdService::ContinueListing(const std::shared_ptr<Listing>& listing) {
  listings_.erase(listing.get());
  if (listing->conn->closed()) return;  // ike went away: stop listing
  // The rows' strings live on an arena: one free for the whole chunk instead
  // of one per string (malloc was most of a chunk's time).
  google::protobuf::Arena arena;
  auto* out = google::protobuf::Arena::CreateMessage<ipc::Envelope>(&arena);
  ipc::ListReply* reply = out->mutable_list_reply();
  const bool more = manager_.ListChunk(listing->request, &listing->cursor, kListChunkRows, reply);
  reply->set_more(more);
  out->set_version(ipc::kProtocolVersion);
  out->set_request_id(listing->request_id);
  listing->conn->Send(*out);
  if (!more) return;
  listings_[listing.get()] =
      loop_.Schedule(Duration(0), [this, listing] { ContinueListing(listing); });
}

void TmdService::OnMessage(const ipc::ConnectionPtr& conn, const ipc::Envelope& envelope) {
  ipc::Deliver(*conn, dispatch_.Dispatch(envelope, conn));
}

void TmdService::OnClose(const ipc::ConnectionPtr& conn) {
  if (conn != isakmpd_) return;
  isakmpd_.reset();
  LOG_ERROR("isakmpd disconnected; negotiations in progress have failed");
  manager_.OnIsakmpdDisconnected();
}

Status TmdService::Refresh() {
  Result<Database> d = Database::Load(database_path_);
  if (!d.ok()) {
    LOG_ERROR("refresh: %s; keeping the previous tunnel database", d.error().message.c_str());
    return d.error();
  }
  ipc::ApplyLogLevel(d->proto().settings().log_level());
  const auto running = manager_.database()->proto().settings().kernel_backend();
  const auto wanted = d->proto().settings().kernel_backend();
  if (running != wanted) {
    LOG_ERROR("refresh: settings.kernel_backend %s takes effect at the next start; %s stays",
              tunneldb::KernelBackendName(wanted).c_str(),
              tunneldb::KernelBackendName(running).c_str());
  }
  manager_.SetDatabase(std::make_shared<const Database>(std::move(d.value())));
  LOG_EVENT("refresh: tunnel database %s reloaded", database_path_.c_str());
  PushConfig();
  ReturnFreedMemory();
  return Status::Ok();
}

void TmdService::Shutdown() {
  manager_.Shutdown();
  loop_.Stop();
}

}  // namespace ike::tmd
