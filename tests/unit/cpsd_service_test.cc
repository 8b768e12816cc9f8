// CpsdService: the dispatch table and refresh keeping the old keys.
#include "cpsd/core/cpsd_service.h"

#include <catch2/catch.hpp>

#include "common/log.h"

using ike::cpsd::CpsdService;
using ike::cpsd::PskStore;

namespace {

constexpr const char* kOneKey = "key { remote_id: \"192.0.2.2\" text: \"one\" }";
constexpr const char* kTwoKeys =
    "key { remote_id: \"192.0.2.2\" text: \"two\" }\n"
    "key { remote_id: \"192.0.2.3\" text: \"three\" }";

PskStore MustParse(const char* text) {
  auto store = PskStore::Parse(text, "psk.db");
  REQUIRE(store.ok());
  return std::move(store).value();
}

// A loader whose file content the test changes between refreshes.
struct FakeFile {
  std::string content = kOneKey;
  CpsdService::Loader loader() {
    return [this] { return PskStore::Parse(content, "psk.db"); };
  }
};

ike::ipc::Envelope WithId(uint64_t id) {
  ike::ipc::Envelope e;
  e.set_version(1);
  e.set_request_id(id);
  return e;
}

ike::ipc::Envelope SkeyidFor(const std::string& address) {
  ike::ipc::Envelope e = WithId(9);
  auto* req = e.mutable_skeyid_request();
  req->set_prf(ike::db::SHA1);
  req->set_remote_address(address);
  req->set_ni(std::string(8, 'i'));
  req->set_nr(std::string(8, 'r'));
  return e;
}

}  // namespace

TEST_CASE("Ping answers Pong with daemon name and pid") {
  FakeFile file;
  CpsdService service(file.loader(), MustParse(kOneKey), 4242);
  ike::ipc::Envelope ping = WithId(7);
  ping.mutable_ping();
  auto r = service.Handle(ping);
  CHECK_FALSE(r.close);
  CHECK(r.reply.request_id() == 7);
  CHECK(r.reply.version() == 1);
  REQUIRE(r.reply.has_pong());
  CHECK(r.reply.pong().daemon() == "cpsd");
  CHECK(r.reply.pong().pid() == 4242);
}

TEST_CASE("SetLogLevel answers Ack") {
  FakeFile file;
  CpsdService service(file.loader(), MustParse(kOneKey), 1);
  ike::ipc::Envelope req = WithId(3);
  req.mutable_set_log_level()->set_level(ike::db::DEBUG);
  auto r = service.Handle(req);
  CHECK(r.reply.has_ack());
  CHECK(ike::GetLogLevel() == ike::LogLevel::kDebug);
  req.mutable_set_log_level()->set_level(ike::db::EVENTS);
  (void)service.Handle(req);
}

TEST_CASE("unknown bodies get UNKNOWN_BODY and close") {
  FakeFile file;
  CpsdService service(file.loader(), MustParse(kOneKey), 1);
  ike::ipc::Envelope req = WithId(5);
  req.mutable_list_request();
  auto r = service.Handle(req);
  CHECK(r.close);
  REQUIRE(r.reply.has_error());
  CHECK(r.reply.error().code() == ike::ipc::UNKNOWN_BODY);
  CHECK(r.reply.request_id() == 5);
}

TEST_CASE("SkeyidRequest answers SkeyidReply or UNKNOWN_PEER") {
  FakeFile file;
  CpsdService service(file.loader(), MustParse(kOneKey), 1);
  auto ok = service.Handle(SkeyidFor("192.0.2.2"));
  REQUIRE(ok.reply.has_skeyid_reply());
  CHECK(ok.reply.skeyid_reply().skeyid().size() == 20);
  CHECK(ok.reply.request_id() == 9);
  auto unknown = service.Handle(SkeyidFor("192.0.2.3"));
  REQUIRE(unknown.reply.has_error());
  CHECK(unknown.reply.error().code() == ike::ipc::UNKNOWN_PEER);
  CHECK_FALSE(unknown.close);
}

TEST_CASE("Refresh loads new keys; a broken file keeps the old ones") {
  FakeFile file;
  CpsdService service(file.loader(), MustParse(kOneKey), 1);
  ike::ipc::Envelope refresh = WithId(11);
  refresh.mutable_refresh();

  file.content = kTwoKeys;
  auto loaded = service.Handle(refresh);
  REQUIRE(loaded.reply.has_ack());
  CHECK(loaded.reply.ack().message() == "loaded 2 pre-shared keys from psk.db");
  std::string skeyid_two = service.Handle(SkeyidFor("192.0.2.2")).reply.skeyid_reply().skeyid();
  CHECK(service.Handle(SkeyidFor("192.0.2.3")).reply.has_skeyid_reply());

  file.content = "key { remote_id: \"192.0.2.2\" }";
  auto broken = service.Handle(refresh);
  REQUIRE(broken.reply.has_error());
  CHECK(broken.reply.error().reason() == "psk.db:1:1: key[0].no secret: set text or hex");
  CHECK_FALSE(broken.close);
  CHECK(service.store().size() == 2);
  CHECK(service.Handle(SkeyidFor("192.0.2.2")).reply.skeyid_reply().skeyid() == skeyid_two);
}

TEST_CASE("lssrc -l: cpsd counts SKEYID requests, keys found and missing, never a key") {
  FakeFile file;
  CpsdService service(file.loader(), MustParse(kOneKey), 4242);
  service.SetVitals([] { return CpsdService::Vitals{ike::Duration(61500), 3}; });
  CHECK(service.Handle(SkeyidFor("192.0.2.2")).reply.has_skeyid_reply());
  CHECK(service.Handle(SkeyidFor("192.0.2.2")).reply.has_skeyid_reply());
  CHECK(service.Handle(SkeyidFor("192.0.2.99")).reply.error().code() == ike::ipc::UNKNOWN_PEER);
  file.content = kTwoKeys;
  ike::ipc::Envelope refresh = WithId(3);
  refresh.mutable_refresh();
  CHECK(service.Handle(refresh).reply.has_ack());

  ike::ipc::Envelope ask = WithId(5);
  ask.mutable_daemon_status_request();
  auto r = service.Handle(ask);
  CHECK_FALSE(r.close);
  CHECK(r.reply.request_id() == 5);
  REQUIRE(r.reply.has_daemon_status_reply());
  const auto& s = r.reply.daemon_status_reply();
  CHECK(s.daemon() == "cpsd");
  CHECK(s.pid() == 4242);
  CHECK(s.uptime_seconds() == 61);
  CHECK(s.ipc_clients() == 3);
  REQUIRE(s.has_cpsd());
  CHECK(s.cpsd().keys_loaded() == 2);
  CHECK(s.cpsd().reloads() == 1);
  CHECK(s.cpsd().skeyid_requests() == 3);
  CHECK(s.cpsd().psk_found() == 2);
  CHECK(s.cpsd().psk_missing() == 1);
  CHECK(s.cpsd().refused() == 0);
  // The reply carries counts only: no key text anywhere in it.
  const std::string bytes = r.reply.SerializeAsString();
  for (const char* key : {"one", "two", "three"}) CHECK(bytes.find(key) == std::string::npos);
}
