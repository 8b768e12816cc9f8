// The libevent half of common/ipc.h: the daemon-side Server, the reconnecting
// Client and the blocking Call() used by the command-line tools.
#include "common/ipc.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <unordered_map>

#include "common/event_loop.h"
#include "common/log.h"

namespace ike::ipc {
namespace {

// A peer that never reads must not keep a closing connection open forever.
constexpr Duration kCloseFlushLimit{5000};
constexpr Duration kReconnectDelay{200};
constexpr int kListenBacklog = 64;

// Within ike::ipc, "Error" is the protobuf message; results need ike::Error.
ike::Error Fail(std::string message) { return ike::Error{std::move(message)}; }

std::string Errno(int e) { return strerror(e); }

// Handlers run inside libevent callbacks; exceptions must stop here
// (style.md rule 9).
template <typename Fn>
void Guarded(const char* what, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    LOG_ERROR("ipc: %s threw: %s", what, e.what());
  } catch (...) {
    LOG_ERROR("ipc: %s threw a non-standard exception", what);
  }
}

// Writing to a peer that went away must fail with EPIPE, not kill the daemon;
// bufferevents write with writev(), which has no MSG_NOSIGNAL.
void IgnoreSigpipe() { signal(SIGPIPE, SIG_IGN); }

bool MakeAddress(const std::string& path, sockaddr_un* addr) {
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) return false;
  memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

// "tmd" for "/run/ike/tmd.sock": the name an administrator knows.
std::string DaemonName(const std::string& path) {
  std::string name = path.substr(path.rfind('/') + 1);
  if (name.size() > 5 && name.ends_with(".sock")) name.resize(name.size() - 5);
  return name;
}

// mkdir -p; only directories we create get 0700, existing ones are left as
// the administrator set them.
Status MakeDirs(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return Fail("cannot create directory " + prefix + ": " + Errno(errno));
    }
  }
  return Status::Ok();
}

// A socket file left by a daemon that died is removed; one that still
// accepts connections belongs to a running daemon and is left alone.
Status RemoveStaleSocket(const std::string& path, const sockaddr_un& addr) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Fail("cannot stat " + path + ": " + Errno(errno));
  }
  if (!S_ISSOCK(st.st_mode)) return Fail(path + " exists and is not a socket; not replacing it");
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) return Fail("socket: " + Errno(errno));
  int rc = connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  close(probe);
  if (rc == 0 || err == EAGAIN) {
    return Fail("cannot listen on " + path + ": " + DaemonName(path) +
                " is already running (another process accepts connections there)");
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Fail("cannot remove stale socket " + path + ": " + Errno(errno));
  }
  return Status::Ok();
}

// Moves everything the bufferevent has read into the decoder.
void DrainInto(bufferevent* bev, FrameDecoder* decoder) {
  evbuffer* in = bufferevent_get_input(bev);
  char chunk[16384];
  while (evbuffer_get_length(in) > 0) {
    int got = evbuffer_remove(in, chunk, sizeof(chunk));
    if (got <= 0) break;
    decoder->Append(chunk, static_cast<size_t>(got));
  }
}

// A frame the peer would refuse must not be sent; tell the asker instead.
std::string EncodeCapped(const Envelope& envelope) {
  std::string frame = EncodeFrame(envelope);
  if (frame.size() - 4 <= kMaxFrameBytes) return frame;
  std::string reason = "reply of " + std::to_string(frame.size() - 4) + " bytes exceeds the " +
                       std::to_string(kMaxFrameBytes) + "-byte frame cap";
  LOG_ERROR("ipc: %s", reason.c_str());
  return EncodeFrame(MakeError(envelope.request_id(), INTERNAL, reason));
}

class ServerConnection;

// Server::Impl's contents, outside the class so ServerConnection can name it.
struct ServerState {
  ServerState(EventLoop& l, std::string p, Server::MessageHandler m, Server::CloseHandler c)
      : loop(l), path(std::move(p)), on_message(std::move(m)), on_close(std::move(c)) {}
  ~ServerState();
  void OnAcceptable();
  void Adopt(int fd);

  EventLoop& loop;
  std::string path;
  Server::MessageHandler on_message;
  Server::CloseHandler on_close;
  int listen_fd = -1;
  ino_t listen_inode = 0;
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, std::shared_ptr<ServerConnection>> connections;
};

class ServerConnection final : public Connection,
                               public std::enable_shared_from_this<ServerConnection> {
 public:
  ServerConnection(ServerState* server, bufferevent* bev, uint64_t id)
      : server_(server), bev_(bev), id_(id) {}
  ~ServerConnection() override {
    if (bev_ != nullptr) bufferevent_free(bev_);
  }
  void Start();
  void Send(const Envelope& envelope) override;
  void Close() override;
  bool closed() const override { return closed_; }
  uint64_t id() const override { return id_; }
  // The server is going away: drop the socket without calling any handler.
  void Detach();

 private:
  static void OnRead(bufferevent*, void* arg) { static_cast<ServerConnection*>(arg)->Read(); }
  static void OnWrite(bufferevent*, void* arg);
  static void OnEvent(bufferevent*, short events, void* arg);
  void Read();
  void Finish();

  ServerState* server_;
  bufferevent* bev_;
  uint64_t id_;
  FrameDecoder decoder_;
  bool closing_ = false;
  bool closed_ = false;
};

void ServerConnection::Start() {
  bufferevent_setcb(bev_, &OnRead, &OnWrite, &OnEvent, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
}

void ServerConnection::Send(const Envelope& envelope) {
  if (closed_ || closing_) return;
  std::string frame = EncodeCapped(envelope);
  bufferevent_write(bev_, frame.data(), frame.size());
}

void ServerConnection::Close() {
  if (closed_ || closing_) return;
  closing_ = true;
  bufferevent_disable(bev_, EV_READ);
  std::weak_ptr<ServerConnection> weak = weak_from_this();
  auto finish = [weak] {
    if (auto self = weak.lock()) self->Finish();
  };
  // Finishing on the next turn of the loop (not inside the caller's handler)
  // keeps on_close from running re-entrantly. With output still queued,
  // OnWrite finishes once it drains; the limit covers a peer that never reads.
  bool drained = evbuffer_get_length(bufferevent_get_output(bev_)) == 0;
  server_->loop.Schedule(drained ? Duration(0) : kCloseFlushLimit, finish);
}

void ServerConnection::Detach() {
  closed_ = true;
  server_ = nullptr;
  if (bev_ != nullptr) bufferevent_free(bev_);
  bev_ = nullptr;
}

void ServerConnection::OnWrite(bufferevent* bev, void* arg) {
  auto* self = static_cast<ServerConnection*>(arg);
  if (self->closing_ && evbuffer_get_length(bufferevent_get_output(bev)) == 0) self->Finish();
}

void ServerConnection::OnEvent(bufferevent*, short events, void* arg) {
  if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) static_cast<ServerConnection*>(arg)->Finish();
}

void ServerConnection::Read() {
  // Holds the connection while handlers run: one of them may Close() it or
  // destroy the Server, and the loop below must notice rather than crash.
  std::shared_ptr<ServerConnection> self = shared_from_this();
  DrainInto(bev_, &decoder_);
  while (!closing_ && !closed_) {
    Envelope envelope;
    std::string error;
    FrameDecoder::Status status = decoder_.Next(&envelope, &error);
    if (status == FrameDecoder::Status::kNeedMore) return;
    if (status == FrameDecoder::Status::kError) {
      LOG_ERROR("ipc: %s: connection %llu: %s; closing it", server_->path.c_str(),
                static_cast<unsigned long long>(id_), error.c_str());
      Send(MakeError(0, BAD_FRAME, error));
      Close();
      return;
    }
    // A copy: the handler may destroy the Server, and with it on_message.
    Server::MessageHandler handler = server_->on_message;
    Guarded("message handler", [&] { handler(self, envelope); });
  }
}

void ServerConnection::Finish() {
  if (closed_) return;
  closed_ = true;
  std::shared_ptr<ServerConnection> self = shared_from_this();
  // Safe inside this bufferevent's own callbacks: libevent holds a reference
  // until the callback returns.
  bufferevent_free(bev_);
  bev_ = nullptr;
  ServerState* server = server_;
  server_ = nullptr;
  if (server == nullptr) return;
  server->connections.erase(id_);
  if (server->on_close) Guarded("close handler", [&] { server->on_close(self); });
}

ServerState::~ServerState() {
  for (auto& [id, conn] : connections) conn->Detach();
  if (listen_fd < 0) return;
  loop.Unwatch(listen_fd);
  close(listen_fd);
  // Remove the socket only if it is still ours (not a successor's).
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && st.st_ino == listen_inode) unlink(path.c_str());
}

void ServerState::OnAcceptable() {
  while (true) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      Adopt(fd);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      LOG_ERROR("ipc: accept on %s: %s", path.c_str(), strerror(errno));
    }
    return;
  }
}

void ServerState::Adopt(int fd) {
  // Only root and our own user may talk to a daemon (architecture.md, IPC).
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      (cred.uid != 0 && cred.uid != geteuid())) {
    LOG_ERROR("ipc: %s: refused a connection from pid %d uid %u: only root and uid %u may connect",
              path.c_str(), static_cast<int>(cred.pid), static_cast<unsigned>(cred.uid),
              static_cast<unsigned>(geteuid()));
    close(fd);
    return;
  }
  bufferevent* bev = bufferevent_socket_new(loop.base(), fd, BEV_OPT_CLOSE_ON_FREE);
  if (bev == nullptr) {
    LOG_ERROR("ipc: %s: bufferevent_socket_new failed", path.c_str());
    close(fd);
    return;
  }
  uint64_t id = next_id++;
  auto conn = std::make_shared<ServerConnection>(this, bev, id);
  connections.emplace(id, conn);
  conn->Start();
  LOG_DEBUG("ipc: %s: connection %llu from pid %d", path.c_str(),
            static_cast<unsigned long long>(id), static_cast<int>(cred.pid));
}

}  // namespace

// ---- Server -----------------------------------------------------------------

struct Server::Impl : ServerState {
  using ServerState::ServerState;
};

Server::Server(EventLoop& loop, std::string path, MessageHandler on_message, CloseHandler on_close)
    : path_(path),
      impl_(std::make_unique<Impl>(loop, std::move(path), std::move(on_message),
                                   std::move(on_close))) {
  IgnoreSigpipe();
}

Server::~Server() = default;

size_t Server::connection_count() const { return impl_->connections.size(); }

Status Server::Listen() {
  if (impl_->listen_fd >= 0) return Fail("already listening on " + path_);
  sockaddr_un addr;
  if (!MakeAddress(path_, &addr)) return Fail("socket path '" + path_ + "' is too long or empty");
  size_t slash = path_.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    Status dir = MakeDirs(path_.substr(0, slash));
    if (!dir.ok()) return dir;
  }
  Status stale = RemoveStaleSocket(path_, addr);
  if (!stale.ok()) return stale;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail("socket for " + path_ + ": " + Errno(errno));
  // The umask makes the socket 0600 from its first moment; chmod is the
  // belt to those braces in case the umask is ignored.
  mode_t old_mask = umask(0177);
  int rc = bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  umask(old_mask);
  if (rc != 0) {
    close(fd);
    return Fail("cannot bind " + path_ + ": " + Errno(err));
  }
  struct stat st;
  if (chmod(path_.c_str(), 0600) != 0 || listen(fd, kListenBacklog) != 0 ||
      stat(path_.c_str(), &st) != 0) {
    err = errno;
    close(fd);
    unlink(path_.c_str());
    return Fail("cannot listen on " + path_ + ": " + Errno(err));
  }
  impl_->listen_fd = fd;
  impl_->listen_inode = st.st_ino;
  Impl* impl = impl_.get();
  impl->loop.WatchReadable(fd, [impl] { impl->OnAcceptable(); });
  return Status::Ok();
}

// ---- Client -----------------------------------------------------------------

namespace {

struct ClientState {
  ClientState(EventLoop& l, std::string p, Client::MessageHandler m, std::function<void()> c,
              std::function<void()> d)
      : loop(l),
        path(std::move(p)),
        on_message(std::move(m)),
        on_connect(std::move(c)),
        on_disconnect(std::move(d)) {}
  ~ClientState() {
    if (retry_timer != 0) loop.Cancel(retry_timer);
    if (bev != nullptr) bufferevent_free(bev);
  }
  void TryConnect();
  void Disconnect(const std::string& why);
  void Read();
  static void OnRead(bufferevent*, void* arg) { static_cast<ClientState*>(arg)->Read(); }
  static void OnEvent(bufferevent*, short events, void* arg);

  EventLoop& loop;
  std::string path;
  Client::MessageHandler on_message;
  std::function<void()> on_connect;
  std::function<void()> on_disconnect;
  bufferevent* bev = nullptr;
  bool started = false;
  bool warned = false;  // the first failed attempt is logged, retries are not
  TimerId retry_timer = 0;
  FrameDecoder decoder;
  // Expires when the client is destroyed, possibly by one of its own handlers.
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

void ClientState::TryConnect() {
  retry_timer = 0;
  sockaddr_un addr;
  int fd = -1;
  int err = ENAMETOOLONG;
  if (MakeAddress(path, &addr)) {
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    // A Unix-domain connect completes at once or fails at once; there is no
    // EINPROGRESS to wait for.
    if (fd >= 0 && connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      bev = bufferevent_socket_new(loop.base(), fd, BEV_OPT_CLOSE_ON_FREE);
    }
    err = errno;
  }
  if (bev == nullptr) {
    if (fd >= 0) close(fd);
    if (!warned) LOG_INFO("ipc: cannot connect to %s: %s; retrying", path.c_str(), strerror(err));
    warned = true;
    retry_timer = loop.Schedule(kReconnectDelay, [this] { TryConnect(); });
    return;
  }
  warned = false;
  decoder = FrameDecoder();
  bufferevent_setcb(bev, &OnRead, nullptr, &OnEvent, this);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  LOG_DEBUG("ipc: connected to %s", path.c_str());
  if (on_connect) Guarded("connect handler", on_connect);
}

void ClientState::Disconnect(const std::string& why) {
  if (bev == nullptr) return;
  LOG_INFO("ipc: lost connection to %s: %s", path.c_str(), why.c_str());
  bufferevent_free(bev);
  bev = nullptr;
  // Armed before the handler so a handler that destroys us also cancels it.
  if (started) retry_timer = loop.Schedule(kReconnectDelay, [this] { TryConnect(); });
  if (on_disconnect) Guarded("disconnect handler", on_disconnect);
}

void ClientState::OnEvent(bufferevent*, short events, void* arg) {
  auto* self = static_cast<ClientState*>(arg);
  if (events & BEV_EVENT_EOF) {
    self->Disconnect("closed by peer");
  } else if (events & BEV_EVENT_ERROR) {
    self->Disconnect(strerror(EVUTIL_SOCKET_ERROR()));
  }
}

void ClientState::Read() {
  std::weak_ptr<bool> token = alive;
  DrainInto(bev, &decoder);
  while (bev != nullptr) {
    Envelope envelope;
    std::string error;
    FrameDecoder::Status status = decoder.Next(&envelope, &error);
    if (status == FrameDecoder::Status::kNeedMore) return;
    if (status == FrameDecoder::Status::kError) {
      Disconnect("bad frame: " + error);
      return;
    }
    // A copy: the handler may destroy the Client, and with it on_message.
    Client::MessageHandler handler = on_message;
    Guarded("message handler", [&] { handler(envelope); });
    if (token.expired()) return;
  }
}

}  // namespace

struct Client::Impl : ClientState {
  using ClientState::ClientState;
};

Client::Client(EventLoop& loop, std::string path, MessageHandler on_message,
               std::function<void()> on_connect, std::function<void()> on_disconnect)
    : impl_(std::make_unique<Impl>(loop, std::move(path), std::move(on_message),
                                   std::move(on_connect), std::move(on_disconnect))) {
  IgnoreSigpipe();
}

Client::~Client() = default;

void Client::Start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->TryConnect();
}

bool Client::connected() const { return impl_->bev != nullptr; }

bool Client::Send(const Envelope& envelope) {
  if (impl_->bev == nullptr) return false;
  std::string frame = EncodeCapped(envelope);
  return bufferevent_write(impl_->bev, frame.data(), frame.size()) == 0;
}

// ---- Call -------------------------------------------------------------------

namespace {

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// 1 when |fd| is ready, 0 on timeout, -1 on error (errno set).
int WaitFor(int fd, short events, TimePoint deadline) {
  while (true) {
    // Rounded up: poll() must not wake a fraction of a millisecond early and
    // report a timeout before the deadline.
    auto left = std::chrono::ceil<Duration>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    pollfd p{fd, events, 0};
    int rc = poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    return rc < 0 ? -1 : (rc == 0 ? 0 : 1);
  }
}

std::string TimeoutMessage(const std::string& path, Duration timeout) {
  return "no reply from " + DaemonName(path) + " on " + path + " within " +
         std::to_string(timeout.count()) + " ms";
}

Status WriteAll(int fd, const std::string& frame, TimePoint deadline, const std::string& path,
                Duration timeout) {
  size_t sent = 0;
  while (sent < frame.size()) {
    ssize_t n = send(fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return Fail("cannot send to " + path + ": " + Errno(errno));
    int ready = WaitFor(fd, POLLOUT, deadline);
    if (ready == 0) return Fail(TimeoutMessage(path, timeout));
    if (ready < 0) return Fail("poll on " + path + ": " + Errno(errno));
  }
  return Status::Ok();
}

// The reply carries the request's id; an Error with id 0 is the daemon
// refusing the frame itself. Anything else (an unsolicited event) is skipped.
bool IsReplyTo(const Envelope& reply, uint64_t request_id) {
  return request_id == 0 || reply.request_id() == request_id ||
         (reply.request_id() == 0 && reply.has_error());
}

// Reads the replies to one request; frames that arrive together are kept
// for the next call.
class ReplyReader {
 public:
  ReplyReader(int fd, uint64_t request_id, TimePoint deadline, const std::string& path,
              Duration timeout)
      : fd_(fd), request_id_(request_id), deadline_(deadline), path_(path), timeout_(timeout) {}

  Result<Envelope> Next() {
    char chunk[65536];
    while (true) {
      Envelope reply;
      std::string error;
      FrameDecoder::Status status = decoder_.Next(&reply, &error);
      if (status == FrameDecoder::Status::kFrame) {
        if (IsReplyTo(reply, request_id_)) return reply;
        continue;
      }
      if (status == FrameDecoder::Status::kError) {
        return Fail("bad reply from " + DaemonName(path_) + ": " + error);
      }
      int ready = WaitFor(fd_, POLLIN, deadline_);
      if (ready == 0) return Fail(TimeoutMessage(path_, timeout_));
      if (ready < 0) return Fail("poll on " + path_ + ": " + Errno(errno));
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n == 0) return Fail(DaemonName(path_) + " closed the connection without replying");
      if (n < 0 && errno != EINTR && errno != EAGAIN) {
        return Fail("cannot read from " + path_ + ": " + Errno(errno));
      }
      if (n > 0) decoder_.Append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  uint64_t request_id_;
  TimePoint deadline_;
  const std::string& path_;
  Duration timeout_;
  FrameDecoder decoder_;
};

// Connects to |path| and sends |request|; the socket is left in *fd.
Status Connect(const std::string& path, const Envelope& request, TimePoint deadline,
               Duration timeout, int* fd_out) {
  sockaddr_un addr;
  if (!MakeAddress(path, &addr)) return Fail("socket path '" + path + "' is too long or empty");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail("socket: " + Errno(errno));
  *fd_out = fd;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Fail("cannot connect to " + path + ": " + Errno(errno) + " (is " + DaemonName(path) +
                " running? try startsrc -g ike)");
  }
  return WriteAll(fd, EncodeFrame(request), deadline, path, timeout);
}

}  // namespace

Result<Envelope> Call(const std::string& path, const Envelope& request, Duration timeout) {
  TimePoint deadline = std::chrono::steady_clock::now() + timeout;
  int fd = -1;
  Status sent = Connect(path, request, deadline, timeout, &fd);
  FdCloser closer(fd);
  if (!sent.ok()) return sent.error();
  return ReplyReader(fd, request.request_id(), deadline, path, timeout).Next();
}

Status CallStream(const std::string& path, const Envelope& request, Duration timeout,
                  const std::function<bool(Envelope&)>& on_reply) {
  TimePoint deadline = std::chrono::steady_clock::now() + timeout;
  int fd = -1;
  Status sent = Connect(path, request, deadline, timeout, &fd);
  FdCloser closer(fd);
  if (!sent.ok()) return sent;
  ReplyReader reader(fd, request.request_id(), deadline, path, timeout);
  while (true) {
    Result<Envelope> reply = reader.Next();
    if (!reply.ok()) return reply.error();
    if (!on_reply(*reply)) return Status::Ok();
  }
}

}  // namespace ike::ipc
