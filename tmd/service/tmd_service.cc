// tmd service: requests from the ike command, events from isakmpd, control
// messages every daemon serves (conventions.md "Daemons").
#include "tmd/service/tmd_service.h"

#include <google/protobuf/arena.h>
#include <unistd.h>

#include "common/event_loop.h"
#include "common/log.h"
#include "common/memory.h"

namespace ike::tmd {

using B = ipc::Envelope;

TmdService::TmdService(EventLoop& loop, std::string socket_path, std::string database_path,
                       DatabasePtr database, std::unique_ptr<KernelBackend> kernel)
    : loop_(loop),
      database_path_(std::move(database_path)),
      kernel_(std::move(kernel)),
      manager_(*kernel_, *this, loop),
      server_(
          loop, std::move(socket_path),
          [this](const ipc::ConnectionPtr& c, const ipc::Envelope& e) { OnMessage(c, e); },
          [this](const ipc::ConnectionPtr& c) { OnClose(c); }) {
  manager_.SetDatabase(std::move(database));
  BuildDispatch();
}

TmdService::~TmdService() {
  for (const auto& [listing, timer] : listings_) loop_.Cancel(timer);
}

Status TmdService::Start() { return server_.Listen(); }

bool TmdService::connected() const { return isakmpd_ != nullptr && !isakmpd_->closed(); }

void TmdService::Send(const ipc::Envelope& envelope) {
  if (connected()) isakmpd_->Send(envelope);
}

void TmdService::Reply(const ipc::ConnectionPtr& conn, uint64_t request_id, ipc::Envelope body) {
  body.set_version(ipc::kProtocolVersion);
  body.set_request_id(request_id);
  conn->Send(body);
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

void TmdService::BuildDispatch() {
  auto ack = [](const std::string& text) {
    ipc::Envelope e;
    e.mutable_ack()->set_message(text);
    return e;
  };
  dispatch_[B::kPing] = [this](const ipc::ConnectionPtr& c, const ipc::Envelope& e) {
    ipc::Envelope pong;
    pong.mutable_pong()->set_daemon("tmd");
    pong.mutable_pong()->set_pid(getpid());
    Reply(c, e.request_id(), std::move(pong));
  };
  dispatch_[B::kPong] = [this](const ipc::ConnectionPtr& c, const ipc::Envelope& e) {
    // isakmpd announces itself with an unsolicited Pong on connect.
    if (e.pong().daemon() != "isakmpd") return;
    if (connected() && isakmpd_ != c) isakmpd_->Close();
    isakmpd_ = c;
    LOG_EVENT("isakmpd connected (pid %d); tunnel database pushed", e.pong().pid());
    PushConfig();
    ReturnFreedMemory();
  };
  dispatch_[B::kSetLogLevel] = [this, ack](const ipc::ConnectionPtr& c, const ipc::Envelope& e) {
    // LOG_LEVEL_UNSPECIFIED keeps the current level (proto/tunneldb.proto).
    if (e.set_log_level().level() != db::LOG_LEVEL_UNSPECIFIED) {
      SetLogLevel(static_cast<LogLevel>(e.set_log_level().level()));
    }
    LOG_EVENT("log level set to %s", LogLevelName(GetLogLevel()));
    Reply(c, e.request_id(), ack(std::string("log level ") + LogLevelName(GetLogLevel())));
  };
  dispatch_[B::kRefresh] = [this, ack](const ipc::ConnectionPtr& c, const ipc::Envelope& e) {
    Status s = Refresh();
    Reply(c, e.request_id(),
          s.ok() ? ack("tunnel database reloaded")
                 : ipc::MakeError(0, ipc::DATABASE_ERROR, s.error().message));
  };
  dispatch_[B::kShutdown] = [this, ack](const ipc::ConnectionPtr& c, const ipc::Envelope& e) {
    Reply(c, e.request_id(), ack("tmd stopping"));
    Shutdown();
  };
  dispatch_[B::kActivateRequest] = [this](const ipc::ConnectionPtr& c, const ipc::Envelope& e) {
    Reply(c, e.request_id(), manager_.Activate(e.activate_request()));
  };
  dispatch_[B::kRemoveRequest] = [this](const ipc::ConnectionPtr& c, const ipc::Envelope& e) {
    Reply(c, e.request_id(), manager_.Remove(e.remove_request()));
  };
  dispatch_[B::kListRequest] = [this](const ipc::ConnectionPtr& c, const ipc::Envelope& e) {
    const ipc::ListRequest& r = e.list_request();
    if (r.db() || r.cache() || r.filters()) {
      Reply(c, e.request_id(), manager_.List(r));
      return;
    }
    ContinueListing(std::make_shared<Listing>(Listing{c, e.request_id(), r, {}}));
  };
  // isakmpd asks for each inbound SPI it offers (hole 4.f).
  dispatch_[B::kAllocateSpi] = [this](const ipc::ConnectionPtr& c, const ipc::Envelope& e) {
    if (c != isakmpd_) {
      c->Send(ipc::MakeError(e.request_id(), ipc::UNKNOWN_BODY,
                             "tmd takes this message from isakmpd only"));
      c->Close();
      return;
    }
    Reply(c, e.request_id(), manager_.AllocateSpi(e.allocate_spi()));
  };
  // Replies and events: served only on the isakmpd connection.
  for (int body : {B::kAck, B::kError, B::kStateChange, B::kPhase1Established,
                   B::kPhase2Established, B::kNegotiationFailed, B::kSaDeleted}) {
    dispatch_[body] = [this](const ipc::ConnectionPtr& c, const ipc::Envelope& e) {
      if (c != isakmpd_) {
        c->Send(ipc::MakeError(e.request_id(), ipc::UNKNOWN_BODY,
                               "tmd takes this message from isakmpd only"));
        c->Close();
        return;
      }
      // Only Phase2Established is copied (to wipe its keys): a copy of
      // every event adds up at 20,000 tunnels.
      manager_.OnIsakmpdMessage(e);
    };
  }
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
  auto it = dispatch_.find(static_cast<int>(envelope.body_case()));
  if (it == dispatch_.end()) {
    conn->Send(ipc::MakeError(
        envelope.request_id(), ipc::UNKNOWN_BODY,
        "tmd does not serve body " + std::to_string(static_cast<int>(envelope.body_case()))));
    conn->Close();
    return;
  }
  it->second(conn, envelope);
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
  const db::LogLevel level = d->proto().settings().log_level();
  if (level != db::LOG_LEVEL_UNSPECIFIED) SetLogLevel(static_cast<LogLevel>(level));
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
