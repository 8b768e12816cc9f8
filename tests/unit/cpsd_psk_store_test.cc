// PskStore: parsing psk.db, the permission policy, lookup and SKEYID.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "common/crypto.h"
#include "cpsd/core/psk_store.h"
#include "ikev1/keymat.h"

using ike::cpsd::CheckKeyFilePermissions;
using ike::cpsd::PskStore;

namespace {

constexpr const char* kTwoKeys = R"(
key { remote_id: "192.0.2.2" text: "abc secret" }
key {
  remote_id: "Gw.Example.COM"
  hex: "0x00ff10"
}
)";

ike::ipc::SkeyidRequest Request(std::string id, std::string address) {
  ike::ipc::SkeyidRequest req;
  req.set_prf(ike::db::SHA2_256);
  req.set_remote_id(std::move(id));
  req.set_remote_address(std::move(address));
  req.set_ni(std::string(16, '\x11'));
  req.set_nr(std::string(32, '\x22'));
  return req;
}

std::string TempFile(const std::string& content, mode_t mode) {
  char path[] = "/tmp/cpsd_psk_testXXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  close(fd);
  REQUIRE(chmod(path, mode) == 0);
  return path;
}

}  // namespace

TEST_CASE("parses text and hex keys, ids case-insensitive") {
  auto store = PskStore::Parse(kTwoKeys, "psk.db");
  REQUIRE(store.ok());
  CHECK(store->size() == 2);
  const ike::SecretBytes* text = store->Find("192.0.2.2", "");
  REQUIRE(text != nullptr);
  CHECK(ike::ToString(text->view()) == "abc secret");
  const ike::SecretBytes* hex = store->Find("gw.example.com", "198.51.100.9");
  REQUIRE(hex != nullptr);
  CHECK(hex->bytes() == ike::Bytes{0x00, 0xff, 0x10});
}

TEST_CASE("lookup uses remote_id first, then remote_address") {
  auto store = PskStore::Parse(kTwoKeys, "psk.db");
  REQUIRE(store.ok());
  CHECK(store->Find("gw.example.com", "192.0.2.2")->size() == 3);
  CHECK(store->Find("unknown.example", "192.0.2.2")->size() == 10);
  CHECK(store->Find("", "192.0.2.2")->size() == 10);
  CHECK(store->Find("nobody", "203.0.113.1") == nullptr);
}

TEST_CASE("syntax errors name file, line and column") {
  auto store = PskStore::Parse("key {\n  remote_id: \"a\"\n  colour: 1\n}\n", "/etc/ike/psk.db");
  REQUIRE_FALSE(store.ok());
  // The parser reports the column where it noticed the unknown name.
  CHECK(store.error().message.rfind("/etc/ike/psk.db:3:", 0) == 0);
  CHECK(store.error().message.find("colour") != std::string::npos);
}

TEST_CASE("a syntax error inside a secret does not echo the secret") {
  auto store = PskStore::Parse("key { remote_id: \"a\" text: hunter2 }", "psk.db");
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().message.find("hunter2") == std::string::npos);
  CHECK(store.error().message == "psk.db:1:28: Expected string (token not shown)");
}

TEST_CASE("content errors name the entry and field") {
  SECTION("empty remote_id") {
    auto s = PskStore::Parse("key { text: \"x\" }", "psk.db");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message == "psk.db:1:1: key[0].remote_id: is empty");
  }
  SECTION("duplicate remote_id, case-insensitive") {
    auto s = PskStore::Parse(
        "key { remote_id: \"a\" text: \"x\" }\nkey { remote_id: \"A\" text: \"y\" }", "psk.db");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message == "psk.db:2:1: key[1].remote_id: duplicate \"A\" (first on line 1)");
  }
  SECTION("missing secret") {
    auto s = PskStore::Parse("key { remote_id: \"a\" }", "psk.db");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message == "psk.db:1:1: key[0].no secret: set text or hex");
  }
  SECTION("bad hex is not echoed") {
    auto s = PskStore::Parse("key { remote_id: \"a\" hex: \"abcz\" }", "psk.db");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.find("key[0].hex:") != std::string::npos);
    CHECK(s.error().message.find("abcz") == std::string::npos);
  }
  SECTION("empty text") {
    auto s = PskStore::Parse("key { remote_id: \"a\" text: \"\" }", "psk.db");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message == "psk.db:1:1: key[0].text: the pre-shared key is empty");
  }
}

TEST_CASE("permission policy") {
  const uid_t me = 1000;
  CHECK(CheckKeyFilePermissions("psk.db", S_IFREG | 0600, 0, me).empty());
  CHECK(CheckKeyFilePermissions("psk.db", S_IFREG | 0400, me, me).empty());
  CHECK(CheckKeyFilePermissions("psk.db", S_IFREG | 0644, 0, me) ==
        "psk.db: mode 0644 is too open, must be 0600");
  CHECK(CheckKeyFilePermissions("psk.db", S_IFREG | 0640, 0, me) ==
        "psk.db: mode 0640 is too open, must be 0600");
  CHECK(CheckKeyFilePermissions("psk.db", S_IFREG | 0600, 1234, me) ==
        "psk.db: owned by uid 1234, must be owned by root");
  CHECK(CheckKeyFilePermissions("psk.db", S_IFDIR | 0700, 0, me) == "psk.db: not a regular file");
}

TEST_CASE("Load checks the real file's mode") {
  std::string open_file = TempFile(kTwoKeys, 0644);
  auto refused = PskStore::Load(open_file);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == open_file + ": mode 0644 is too open, must be 0600");
  unlink(open_file.c_str());

  std::string good = TempFile(kTwoKeys, 0600);
  auto store = PskStore::Load(good);
  REQUIRE(store.ok());
  CHECK(store->size() == 2);
  CHECK(store->source() == good);
  unlink(good.c_str());

  auto missing = PskStore::Load("/nonexistent/psk.db");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.rfind("/nonexistent/psk.db: cannot open: ", 0) == 0);
}

TEST_CASE("SKEYID equals keymat::SkeyidPsk = HMAC(psk, Ni_b | Nr_b)") {
  auto store = PskStore::Parse(kTwoKeys, "psk.db");
  REQUIRE(store.ok());
  ike::ipc::SkeyidRequest req = Request("192.0.2.2", "192.0.2.2");
  ike::cpsd::SkeyidOutcome out = store->ComputeSkeyid(req);
  REQUIRE(out.code == ike::ipc::OK);
  ike::Bytes psk = {'a', 'b', 'c', ' ', 's', 'e', 'c', 'r', 'e', 't'};
  ike::SecretBytes expected = ike::keymat::SkeyidPsk(ike::crypto::HashAlg::kSha256, psk,
                                                     ike::View(req.ni()), ike::View(req.nr()));
  CHECK(out.skeyid.bytes() == expected.bytes());
  CHECK(out.skeyid.bytes() == ike::crypto::Hmac(ike::crypto::HashAlg::kSha256, psk,
                                                {ike::View(req.ni()), ike::View(req.nr())}));
  CHECK(out.skeyid.size() == 32);

  req.set_prf(ike::db::SHA1);
  CHECK(store->ComputeSkeyid(req).skeyid.size() == 20);
}

TEST_CASE("unknown peer and bad arguments") {
  auto store = PskStore::Parse(kTwoKeys, "/etc/ike/psk.db");
  REQUIRE(store.ok());
  auto out = store->ComputeSkeyid(Request("", "192.0.2.99"));
  CHECK(out.code == ike::ipc::UNKNOWN_PEER);
  CHECK(out.reason == "no pre-shared key for peer 192.0.2.99 (id 192.0.2.99) in /etc/ike/psk.db");
  CHECK(out.skeyid.empty());

  auto req = Request("192.0.2.2", "192.0.2.2");
  req.set_prf(ike::db::IKE_HASH_UNSPECIFIED);
  CHECK(store->ComputeSkeyid(req).code == ike::ipc::BAD_ARGUMENT);
  req = Request("192.0.2.2", "192.0.2.2");
  req.set_ni("short");
  auto bad = store->ComputeSkeyid(req);
  CHECK(bad.code == ike::ipc::BAD_ARGUMENT);
  CHECK(bad.reason == "ni: nonce length 5 outside 8..256 octets");
}
