// ikedb's command line: the word forms, AIX's letters, and a usage message
// naming what is wrong.
#include <catch2/catch.hpp>

#include "ikecmd/ikedb_args.h"

namespace ike::cmd {
namespace {

using tunneldb::Kind;

DbArguments Parse(std::vector<std::string> args) {
  Result<DbArguments> r = ParseDbArguments(args);
  INFO((r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

std::string ErrorOf(std::vector<std::string> args) {
  Result<DbArguments> r = ParseDbArguments(args);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

TEST_CASE("put: FILE, -F anywhere, AIX -p and -pF") {
  DbArguments a = Parse({"put", "new.db"});
  CHECK(a.action == DbAction::kPut);
  CHECK(a.file == "new.db");
  CHECK_FALSE(a.force);
  CHECK(Parse({"put", "-F", "new.db"}).force);
  CHECK(Parse({"put", "new.db", "-F"}).force);
  CHECK(Parse({"-p", "-F", "new.db"}).force);
  CHECK(Parse({"-pF", "new.db"}).force);
  CHECK(Parse({"-p", "new.db"}).action == DbAction::kPut);
  CHECK(Parse({"put", "-"}).file == "-");
  CHECK(ErrorOf({"put"}) == "put: FILE missing (a piece of tunnels.db; - reads stdin)");
  CHECK(ErrorOf({"put", "a", "b"}) == "unexpected argument 'b'");
  CHECK(ErrorOf({"put", "-x", "a"}) == "unexpected argument '-x'");
}

TEST_CASE("get: all, a type, one object") {
  DbArguments a = Parse({"get"});
  CHECK(a.action == DbAction::kGet);
  CHECK_FALSE(a.kind.has_value());
  a = Parse({"get", "ike_tunnel"});
  CHECK(a.kind == Kind::kIkeTunnel);
  CHECK(a.name.empty());
  a = Parse({"get", "ipsec_tunnel", "to-b-net"});
  CHECK(a.kind == Kind::kIpsecTunnel);
  CHECK(a.name == "to-b-net");
  CHECK(Parse({"get", "settings"}).kind == Kind::kSettings);
  CHECK(ErrorOf({"get", "tunnel"}) ==
        "unknown object type 'tunnel' (one of settings, ike_protection, ike_tunnel, "
        "ipsec_protection, ipsec_tunnel)");
  CHECK(ErrorOf({"get", "settings", "x"}) == "get settings: settings have no name ('x')");
  CHECK(ErrorOf({"get", "ike_tunnel", "a", "b"}) == "unexpected argument 'b'");
}

TEST_CASE("delete: TYPE NAME, settings alone, AIX -d -t -n") {
  DbArguments a = Parse({"delete", "ike_tunnel", "to-b"});
  CHECK(a.action == DbAction::kDelete);
  CHECK(a.kind == Kind::kIkeTunnel);
  CHECK(a.name == "to-b");
  CHECK(Parse({"delete", "settings"}).kind == Kind::kSettings);
  a = Parse({"-d", "-t", "ike_protection", "-n", "p1"});
  CHECK(a.action == DbAction::kDelete);
  CHECK(a.kind == Kind::kIkeProtection);
  CHECK(a.name == "p1");
  CHECK(ErrorOf({"delete", "ike_tunnel"}) == "delete ike_tunnel: NAME missing (which ike_tunnel?)");
  CHECK(ErrorOf({"delete"}).rfind("delete: TYPE missing (one of settings,", 0) == 0);
  CHECK(ErrorOf({"delete", "peer", "x"}).rfind("unknown object type 'peer'", 0) == 0);
  CHECK(ErrorOf({"-d", "-n", "p1"}) == "-d: -t TYPE missing");
  CHECK(ErrorOf({"-d", "-t", "ike_tunnel"}) ==
        "delete ike_tunnel: NAME missing (which ike_tunnel?)");
}

TEST_CASE("check, -c, -g and help keep their spellings") {
  CHECK(Parse({"-c"}).action == DbAction::kCheck);
  CHECK(Parse({"-c"}).file.empty());
  CHECK(Parse({"-c", "x.db"}).file == "x.db");
  CHECK(Parse({"check", "x.db"}).file == "x.db");
  CHECK(Parse({"-g"}).action == DbAction::kTmd);
  CHECK(Parse({"--help"}).action == DbAction::kHelp);
  CHECK(ErrorOf({"-g", "x"}) == "unexpected argument 'x'");
  CHECK(ErrorOf({"-c", "a", "b"}) == "unexpected argument 'b'");
  CHECK(ErrorOf({}) == "an operation is needed (put, get, delete, check or -g)");
  CHECK(ErrorOf({"list"}) == "unknown operation 'list'");
}

TEST_CASE("the usage lists every form") {
  const std::string usage = DbUsage();
  for (const char* form : {"ikedb put [-F] FILE", "ikedb get [TYPE [NAME]]",
                           "ikedb delete TYPE NAME", "ikedb check [FILE]", "ikedb -g", "-p",
                           "-d -t TYPE -n NAME", "-c [FILE]", "refresh -g ike"}) {
    INFO(form);
    CHECK(usage.find(form) != std::string::npos);
  }
}

}  // namespace
}  // namespace ike::cmd
