// The libevent Server/Client pair and the blocking Call() (the frame codec:
// ipc_frame_test.cc).
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>

#include "common/event_loop.h"
#include "common/ipc.h"
#include "tests/lib/ipc_frames.h"

namespace ike::ipc {
namespace {

using namespace std::chrono_literals;

using testing::PingRequest;
using testing::RawFrame;

// A fresh run directory (not yet created) under a private temp dir.
struct TempRunDir {
  TempRunDir() {
    char tmpl[] = "/tmp/ike-ipc-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    root = tmpl;
    run = root + "/run/ike";
  }
  ~TempRunDir() { std::filesystem::remove_all(root); }
  std::string Socket(const char* name) const { return run + "/" + name + ".sock"; }
  std::string root;
  std::string run;
};

// Runs |loop| until |done| holds or |limit| passes; returns done().
bool RunUntil(EventLoop& loop, const std::function<bool()>& done, Duration limit = 3000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::function<void()> check = [&] {
    if (done() || std::chrono::steady_clock::now() >= deadline) {
      loop.Stop();
    } else {
      loop.Schedule(2ms, check);
    }
  };
  loop.Schedule(0ms, check);
  loop.Run();
  return done();
}

// Answers Ping with Pong{"test"} and counts what it sees.
struct PongServer {
  explicit PongServer(EventLoop& loop, const std::string& path, bool reply = true)
      : server(
            loop, path,
            [this, reply](const ConnectionPtr& c, const Envelope& e) {
              ++messages;
              if (!reply || !e.has_ping()) return;
              Envelope pong;
              pong.set_version(kProtocolVersion);
              pong.set_request_id(e.request_id());
              pong.mutable_pong()->set_daemon("test");
              pong.mutable_pong()->set_pid(getpid());
              c->Send(pong);
            },
            [this](const ConnectionPtr&) { ++closes; }) {}
  Server server;
  int messages = 0;
  int closes = 0;
};

int ConnectRaw(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

TEST_CASE("Server and Client exchange Ping and Pong") {
  TempRunDir dir;
  EventLoop loop;
  PongServer pong(loop, dir.Socket("tmd"));
  REQUIRE(pong.server.Listen().ok());

  struct stat st;
  REQUIRE(stat(dir.Socket("tmd").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(stat(dir.run.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  std::vector<Envelope> replies;
  int connects = 0;
  Client* client_ptr = nullptr;
  Client client(
      loop, dir.Socket("tmd"), [&](const Envelope& e) { replies.push_back(e); },
      [&] {
        ++connects;
        CHECK(client_ptr->Send(PingRequest(7)));
      });
  client_ptr = &client;
  CHECK_FALSE(client.Send(PingRequest(1)));
  client.Start();
  REQUIRE(RunUntil(loop, [&] { return !replies.empty(); }));
  CHECK(connects == 1);
  CHECK(replies[0].request_id() == 7);
  CHECK(replies[0].pong().daemon() == "test");
  CHECK(replies[0].pong().pid() == getpid());
}

TEST_CASE("Client retries until the server appears and notices it leaving") {
  TempRunDir dir;
  EventLoop loop;
  int connects = 0;
  int disconnects = 0;
  Client client(
      loop, dir.Socket("isakmpd"), [](const Envelope&) {}, [&] { ++connects; },
      [&] { ++disconnects; });
  client.Start();
  CHECK_FALSE(client.connected());
  auto pong = std::make_unique<PongServer>(loop, dir.Socket("isakmpd"));
  loop.Schedule(300ms, [&] { REQUIRE(pong->server.Listen().ok()); });
  REQUIRE(RunUntil(loop, [&] { return client.connected(); }));
  CHECK(connects == 1);
  pong.reset();
  REQUIRE(RunUntil(loop, [&] { return disconnects == 1; }));
  CHECK_FALSE(client.connected());
}

TEST_CASE("A bad frame gets Error{BAD_FRAME} and a close; other clients carry on") {
  TempRunDir dir;
  EventLoop loop;
  PongServer pong(loop, dir.Socket("tmd"));
  REQUIRE(pong.server.Listen().ok());
  std::vector<Envelope> replies;
  Client good(loop, dir.Socket("tmd"), [&](const Envelope& e) { replies.push_back(e); });
  good.Start();
  REQUIRE(good.connected());

  int bad = ConnectRaw(dir.Socket("tmd"));
  std::string garbage = RawFrame("\xff\xff\xff\xff\xff");
  REQUIRE(write(bad, garbage.data(), garbage.size()) == static_cast<ssize_t>(garbage.size()));
  FrameDecoder decoder;
  bool eof = false;
  REQUIRE(RunUntil(loop, [&] {
    char buf[512];
    ssize_t n = recv(bad, buf, sizeof(buf), 0);
    if (n > 0) decoder.Append(buf, n);
    if (n == 0) eof = true;
    return eof;
  }));
  close(bad);
  Envelope error;
  std::string why;
  REQUIRE(decoder.Next(&error, &why) == FrameDecoder::Status::kFrame);
  CHECK(error.request_id() == 0);
  CHECK(error.error().code() == BAD_FRAME);
  CHECK(error.error().reason().find("does not parse") != std::string::npos);
  CHECK(pong.closes == 1);

  REQUIRE(good.Send(PingRequest(11)));
  REQUIRE(RunUntil(loop, [&] { return !replies.empty(); }));
  CHECK(replies[0].request_id() == 11);
  CHECK(pong.closes == 1);
}

TEST_CASE("Connection::Close flushes queued replies and calls on_close once") {
  TempRunDir dir;
  EventLoop loop;
  int closes = 0;
  Server server(
      loop, dir.Socket("cpsd"),
      [](const ConnectionPtr& c, const Envelope& e) {
        c->Send(MakeError(e.request_id(), UNKNOWN_BODY, "not served"));
        c->Close();
        CHECK(c->closed() == false);  // closing, not yet closed
        c->Close();
      },
      [&](const ConnectionPtr& c) {
        ++closes;
        CHECK(c->closed());
      });
  REQUIRE(server.Listen().ok());
  std::vector<Envelope> replies;
  int disconnects = 0;
  Client client(
      loop, dir.Socket("cpsd"), [&](const Envelope& e) { replies.push_back(e); }, {},
      [&] { ++disconnects; });
  client.Start();
  REQUIRE(client.Send(PingRequest(3)));
  REQUIRE(RunUntil(loop, [&] { return disconnects == 1 && closes == 1; }));
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].error().code() == UNKNOWN_BODY);
  CHECK(replies[0].request_id() == 3);
}

TEST_CASE("Listen replaces a stale socket but refuses a live one") {
  TempRunDir dir;
  EventLoop loop;
  std::filesystem::create_directories(dir.run);
  {
    // A socket file whose owner is gone.
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, dir.Socket("tmd").c_str(), sizeof(addr.sun_path) - 1);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    close(fd);
  }
  PongServer first(loop, dir.Socket("tmd"));
  REQUIRE(first.server.Listen().ok());
  PongServer second(loop, dir.Socket("tmd"));
  Status again = second.server.Listen();
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message.find("already running") != std::string::npos);
  CHECK(again.error().message.find(dir.Socket("tmd")) != std::string::npos);
}

TEST_CASE("Call gets a reply, times out, and explains a missing daemon") {
  TempRunDir dir;
  EventLoop loop;
  SECTION("reply") {
    PongServer pong(loop, dir.Socket("tmd"));
    REQUIRE(pong.server.Listen().ok());
    std::optional<Result<Envelope>> result;
    std::atomic<bool> finished = false;
    std::thread caller([&] {
      result = Call(dir.Socket("tmd"), PingRequest(5), 2000ms);
      finished = true;
    });
    // The loop runs until the caller has its reply (or gave up), so the
    // reply goes out however late the scheduler lets the loop run.
    RunUntil(loop, [&] { return finished.load(); });
    caller.join();
    REQUIRE(result->ok());
    CHECK(result->value().request_id() == 5);
    CHECK(result->value().pong().daemon() == "test");
  }
  SECTION("timeout") {
    PongServer silent(loop, dir.Socket("tmd"), /*reply=*/false);
    REQUIRE(silent.server.Listen().ok());
    std::optional<Result<Envelope>> result;
    auto start = std::chrono::steady_clock::now();
    std::thread caller([&] { result = Call(dir.Socket("tmd"), PingRequest(6), 300ms); });
    RunUntil(loop, [&] { return silent.messages == 1; });
    caller.join();
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(result->ok());
    CHECK(result->error().message ==
          "no reply from tmd on " + dir.Socket("tmd") + " within 300 ms");
    CHECK(took >= 300ms);
    CHECK(took < 2000ms);
  }
  SECTION("no daemon") {
    Result<Envelope> result = Call(dir.Socket("tmd"), PingRequest(1), 500ms);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message == "cannot connect to " + dir.Socket("tmd") +
                                        ": No such file or directory (is tmd running? try "
                                        "startsrc -g ike)");
  }
}

TEST_CASE("CallStream reads several replies to one request until the last") {
  TempRunDir dir;
  EventLoop loop;
  // A listing in three chunks, as tmd sends one: more = true, true, false.
  // An unrelated event (request_id 0, not an Error) in between is skipped.
  int requests = 0;
  Server server(loop, dir.Socket("tmd"), [&](const ConnectionPtr& c, const Envelope& e) {
    ++requests;
    for (int i = 1; i <= 3; ++i) {
      if (i == 2) {
        Envelope event;
        event.mutable_state_change()->set_phase(1);
        c->Send(event);
      }
      Envelope part;
      part.set_request_id(e.request_id());
      part.mutable_list_reply()->add_phase1()->set_number(i);
      part.mutable_list_reply()->set_more(i < 3);
      c->Send(part);
    }
  });
  REQUIRE(server.Listen().ok());
  Envelope request;
  request.set_request_id(9);
  request.mutable_list_request();
  std::vector<uint32_t> numbers;
  std::optional<Status> result;
  std::atomic<bool> finished = false;
  std::thread caller([&] {
    result = CallStream(dir.Socket("tmd"), request, 2000ms, [&](Envelope& part) {
      numbers.push_back(part.list_reply().phase1(0).number());
      return part.list_reply().more();
    });
    finished = true;
  });
  RunUntil(loop, [&] { return finished.load(); });
  CHECK(requests == 1);
  caller.join();
  REQUIRE(result->ok());
  CHECK(numbers == std::vector<uint32_t>{1, 2, 3});
}

TEST_CASE("A handler exception does not escape into the event loop") {
  TempRunDir dir;
  EventLoop loop;
  int seen = 0;
  Server server(loop, dir.Socket("tmd"), [&](const ConnectionPtr&, const Envelope&) {
    ++seen;
    throw std::runtime_error("boom");
  });
  REQUIRE(server.Listen().ok());
  Client client(loop, dir.Socket("tmd"), [](const Envelope&) {});
  client.Start();
  REQUIRE(client.Send(PingRequest(1)));
  REQUIRE(client.Send(PingRequest(2)));
  REQUIRE(RunUntil(loop, [&] { return seen == 2; }));
  CHECK(client.connected());
}

}  // namespace
}  // namespace ike::ipc
