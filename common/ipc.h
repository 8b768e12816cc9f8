// The IPC runtime: the frames of common/ipc_frame.h over Unix stream sockets in
// the run directory (mode 0600; peers checked with SO_PEERCRED: root or our
// own uid), on the event loop (Server, Client) or blocking (Call) for the
// command-line tools. Written once, here; pure code includes only
// common/ipc_frame.h.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/ipc_frame.h"
#include "common/result.h"
#include "ike.pb.h"

namespace ike {
class EventLoop;
}

namespace ike::ipc {

class Connection {
 public:
  virtual ~Connection() = default;
  virtual void Send(const Envelope& envelope) = 0;
  // Flushes what was queued, then closes.
  virtual void Close() = 0;
  virtual bool closed() const = 0;
  virtual uint64_t id() const = 0;
};
using ConnectionPtr = std::shared_ptr<Connection>;

class Server {
 public:
  using MessageHandler = std::function<void(const ConnectionPtr&, const Envelope&)>;
  using CloseHandler = std::function<void(const ConnectionPtr&)>;
  Server(EventLoop& loop, std::string path, MessageHandler on_message, CloseHandler on_close = {});
  ~Server();
  // Creates the run directory (0700) if missing, replaces a stale socket,
  // binds, sets mode 0600, listens. Errors name the path and errno.
  Status Listen();
  const std::string& path() const { return path_; }
  // Connections open now (lssrc -l: "IPC clients").
  size_t connection_count() const;

 private:
  struct Impl;
  std::string path_;
  std::unique_ptr<Impl> impl_;
};

// A reconnecting client on the event loop (daemon to daemon).
class Client {
 public:
  using MessageHandler = std::function<void(const Envelope&)>;
  Client(EventLoop& loop, std::string path, MessageHandler on_message,
         std::function<void()> on_connect = {}, std::function<void()> on_disconnect = {});
  ~Client();
  // Connects now and retries every 200 ms while disconnected.
  void Start();
  bool connected() const;
  // False (and nothing sent) when not connected.
  bool Send(const Envelope& envelope);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Blocking request/reply for the command-line tools.
Result<Envelope> Call(const std::string& path, const Envelope& request, Duration timeout);
// The same for a request answered by several frames (a chunked ListReply):
// |on_reply| gets each reply to the request in order and returns true while
// more follow. |timeout| bounds the whole exchange.
Status CallStream(const std::string& path, const Envelope& request, Duration timeout,
                  const std::function<bool(Envelope&)>& on_reply);

}  // namespace ike::ipc
