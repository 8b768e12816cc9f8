// The common dispatcher (common/ipc_dispatch.h): unknown bodies, the standard
// control handlers, reply stamping and the one log-level conversion. Linked
// without the event loop.
#include "common/ipc_dispatch.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace ike::ipc {
namespace {

Envelope Request(uint64_t id) {
  Envelope e;
  e.set_version(kProtocolVersion);
  e.set_request_id(id);
  return e;
}

// Restores the process-wide log level a test changes.
struct KeepLogLevel {
  LogLevel saved = GetLogLevel();
  ~KeepLogLevel() { ::ike::SetLogLevel(saved); }
};

// Records what Deliver does, in order.
struct FakeConnection {
  std::vector<std::string> calls;
  void Send(const Envelope& e) { calls.push_back("send " + std::to_string(e.request_id())); }
  void Close() { calls.push_back("close"); }
};

TEST_CASE("an unknown body gets Error{UNKNOWN_BODY} naming the daemon, and a close") {
  Dispatcher<> dispatch("testd");
  dispatch.OnControl(1, [] { return Result<std::string>(std::string("ok")); });
  Envelope request = Request(5);
  request.mutable_list_request();
  Answer answer = dispatch.Dispatch(request);
  CHECK(answer.close);
  REQUIRE(answer.reply);
  REQUIRE(answer.reply->has_error());
  CHECK(answer.reply->error().code() == UNKNOWN_BODY);
  CHECK(answer.reply->error().reason().find("testd does not serve") == 0);
  CHECK(answer.reply->request_id() == 5);
  CHECK(answer.reply->version() == kProtocolVersion);
}

TEST_CASE("an empty dispatcher refuses even Ping") {
  Dispatcher<> dispatch("testd");
  Envelope request = Request(1);
  request.mutable_ping();
  Answer answer = dispatch.Dispatch(request);
  CHECK(answer.close);
  REQUIRE(answer.reply);
  CHECK(answer.reply->error().code() == UNKNOWN_BODY);
}

TEST_CASE("Ping answers Pong with the daemon's name and pid, stamped") {
  Dispatcher<> dispatch("testd");
  dispatch.OnPing(4242);
  Envelope request = Request(7);
  request.mutable_ping();
  Answer answer = dispatch.Dispatch(request);
  CHECK_FALSE(answer.close);
  REQUIRE(answer.reply);
  CHECK(answer.reply->request_id() == 7);
  CHECK(answer.reply->version() == kProtocolVersion);
  REQUIRE(answer.reply->has_pong());
  CHECK(answer.reply->pong().daemon() == "testd");
  CHECK(answer.reply->pong().pid() == 4242);
}

TEST_CASE("SetLogLevel sets the level and acknowledges it; UNSPECIFIED keeps it") {
  KeepLogLevel keep;
  Dispatcher<> dispatch("testd");
  dispatch.OnSetLogLevel();
  Envelope request = Request(3);
  request.mutable_set_log_level()->set_level(db::DEBUG);
  Answer answer = dispatch.Dispatch(request);
  REQUIRE(answer.reply);
  CHECK(answer.reply->ack().message() == "log level debug");
  CHECK(GetLogLevel() == LogLevel::kDebug);
  request.mutable_set_log_level()->set_level(db::LOG_LEVEL_UNSPECIFIED);
  answer = dispatch.Dispatch(request);
  CHECK(GetLogLevel() == LogLevel::kDebug);
  CHECK(answer.reply->ack().message() == "log level debug");
  request.mutable_set_log_level()->set_level(db::NONE);
  (void)dispatch.Dispatch(request);
  CHECK(GetLogLevel() == LogLevel::kNone);
}

TEST_CASE("ToLogLevel maps every contract level") {
  CHECK(ToLogLevel(db::NONE) == LogLevel::kNone);
  CHECK(ToLogLevel(db::ERROR) == LogLevel::kError);
  CHECK(ToLogLevel(db::EVENTS) == LogLevel::kEvents);
  CHECK(ToLogLevel(db::INFORMATION) == LogLevel::kInformation);
  CHECK(ToLogLevel(db::DEBUG) == LogLevel::kDebug);
  CHECK(ToLogLevel(db::LOG_LEVEL_UNSPECIFIED) == LogLevel::kEvents);
}

TEST_CASE("Refresh acknowledges what was loaded, or answers DATABASE_ERROR") {
  Dispatcher<> dispatch("testd");
  Result<std::string> outcome = std::string("loaded 3 keys");
  dispatch.OnRefresh([&outcome] { return outcome; });
  Envelope request = Request(9);
  request.mutable_refresh();
  Answer answer = dispatch.Dispatch(request);
  REQUIRE(answer.reply);
  CHECK_FALSE(answer.close);
  CHECK(answer.reply->ack().message() == "loaded 3 keys");
  CHECK(answer.reply->request_id() == 9);
  outcome = ::ike::Error{"psk.db:2:1: bad key"};
  answer = dispatch.Dispatch(request);
  REQUIRE(answer.reply);
  CHECK_FALSE(answer.close);  // the old configuration stays; the daemon carries on
  REQUIRE(answer.reply->has_error());
  CHECK(answer.reply->error().code() == DATABASE_ERROR);
  CHECK(answer.reply->error().reason() == "psk.db:2:1: bad key");
  CHECK(answer.reply->request_id() == 9);
}

TEST_CASE("handlers get the context; NoReply sends nothing; a later On replaces") {
  Dispatcher<int*> dispatch("testd");
  dispatch.On(Envelope::kShutdown, [](const Envelope&, int* seen) {
    ++*seen;
    return NoReply();
  });
  int seen = 0;
  Envelope request = Request(2);
  request.mutable_shutdown();
  Answer answer = dispatch.Dispatch(request, &seen);
  CHECK(seen == 1);
  CHECK_FALSE(answer.reply);
  CHECK_FALSE(answer.close);
  dispatch.On(Envelope::kShutdown,
              [](const Envelope&, int*) { return ReplyAndClose(MakeAck(0, "bye")); });
  answer = dispatch.Dispatch(request, &seen);
  CHECK(seen == 1);
  REQUIRE(answer.reply);
  CHECK(answer.reply->ack().message() == "bye");
  CHECK(answer.reply->request_id() == 2);
  CHECK(answer.close);
}

TEST_CASE("Deliver sends the reply, then closes when asked") {
  FakeConnection conn;
  Deliver(conn, ReplyAndClose(MakeAck(4)));
  Deliver(conn, NoReply());
  Deliver(conn, Reply(MakeAck(6)));
  CHECK(conn.calls == std::vector<std::string>{"send 4", "close", "send 6"});
}

}  // namespace
}  // namespace ike::ipc
