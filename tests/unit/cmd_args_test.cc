// ike command line parsing.
#include <catch2/catch.hpp>

#include "ikecmd/args.h"

namespace ike::cmd {
namespace {

std::string ErrorOf(std::vector<std::string> args) {
  Result<Arguments> a = ParseArguments(args);
  REQUIRE_FALSE(a.ok());
  return a.error().message;
}

TEST_CASE("activate with every selector") {
  Result<Arguments> a =
      ParseArguments({"cmd=activate", "phase=2", "numlist=1,3,5-7", "namelist=a,b",
                      "remid=peer.example.com", "ipaddr=192.0.2.1,192.0.2.2", "autostart"});
  REQUIRE(a.ok());
  CHECK(a->cmd == Subcommand::kActivate);
  CHECK(a->phase == 2);
  CHECK(a->numlist == std::vector<uint32_t>{1, 3, 5, 6, 7});
  CHECK(a->namelist == std::vector<std::string>{"a", "b"});
  CHECK(a->remid == "peer.example.com");
  CHECK(a->local_address == "192.0.2.1");
  CHECK(a->remote_address == "192.0.2.2");
  CHECK(a->autostart);
  ipc::Envelope e = BuildRequest(*a);
  REQUIRE(e.has_activate_request());
  CHECK(e.activate_request().numlist_size() == 5);
  CHECK(e.activate_request().remote_address() == "192.0.2.2");
}

TEST_CASE("list, remove and log") {
  Result<Arguments> l = ParseArguments({"cmd=list", "phase=1+", "verbose"});
  REQUIRE(l.ok());
  CHECK(l->phase == 3);
  CHECK(BuildRequest(*l).list_request().verbose());
  Result<Arguments> r = ParseArguments({"cmd=remove", "all"});
  REQUIRE(r.ok());
  CHECK(BuildRequest(*r).remove_request().all());
  Result<Arguments> g = ParseArguments({"cmd=log", "level=debug"});
  REQUIRE(g.ok());
  CHECK(BuildRequest(*g).set_log_level().level() == db::DEBUG);
  CHECK(ParseArguments({"cmd=activate"}).ok());  // bare activate is legal (aix-ike.md 1.2)
}

TEST_CASE("list states=aix|ios|asa picks the vocabulary and shows the verbose blocks") {
  Result<Arguments> ios = ParseArguments({"cmd=list", "states=ios"});
  REQUIRE(ios.ok());
  CHECK(ios->states == db::STATE_NAMES_IOS);
  CHECK(ios->verbose);
  CHECK(ParseArguments({"cmd=list", "states=asa"})->states == db::STATE_NAMES_ASA);
  CHECK(ParseArguments({"cmd=list", "states=aix", "verbose"})->states == db::STATE_NAMES_AIX);
  CHECK(ErrorOf({"cmd=list", "states=junos"}) == "states: 'junos' must be aix, ios or asa");
  CHECK(ErrorOf({"cmd=activate", "states=ios"}) == "unknown parameter 'states=ios'");
}

TEST_CASE("list namelist=, remid= and json go to tmd (issue 11.1)") {
  Result<Arguments> a = ParseArguments({"cmd=list", "namelist=t1,t2", "remid=gw.example", "json"});
  REQUIRE(a.ok());
  CHECK(a->json);
  const ipc::ListRequest r = BuildRequest(*a).list_request();
  CHECK(r.namelist_size() == 2);
  CHECK(r.namelist(1) == "t2");
  CHECK(r.remid() == "gw.example");
  CHECK(r.verbose());  // JSON carries the verbose fields
  CHECK(ErrorOf({"cmd=list", "json=1"}) == "unknown parameter 'json=1'");
}

TEST_CASE("argument errors") {
  CHECK(ErrorOf({"cmd=activate", "foo=1"}) == "unknown parameter 'foo=1'");
  CHECK(ErrorOf({"cmd=activate", "numlist=3-a"}) == "numlist: '3-a' is not a tunnel number list");
  CHECK(ErrorOf({"cmd=remove", "numlist=0"}) == "numlist: '0' is not a tunnel number list");
  CHECK(ErrorOf({"cmd=remove", "numlist=7-3"}) == "numlist: '7-3' is not a tunnel number list");
  CHECK(ErrorOf({"cmd=remove", "numlist=1,,2"}) == "numlist: '1,,2' is not a tunnel number list");
  CHECK(ErrorOf({"cmd=list", "numlist=1-4000000000"}) ==
        "numlist: '1-4000000000' is not a tunnel number list");
  CHECK(ErrorOf({"numlist=1"}) == "cmd= is required");
  CHECK(ErrorOf({"cmd=start"}) == "cmd: 'start' must be activate, remove, list, diagnose or log");
  CHECK(ErrorOf({"cmd=activate", "phase=3"}) == "phase: '3' must be 1 or 2");
  CHECK(ErrorOf({"cmd=activate", "phase=1+"}) == "phase: '1+' must be 1 or 2");
  CHECK(ErrorOf({"cmd=activate", "ipaddr=192.0.2.1"}) ==
        "ipaddr: '192.0.2.1' is not src_addr,dst_addr");
  CHECK(ErrorOf({"cmd=activate", "all"}) == "unknown parameter 'all'");
  CHECK(ErrorOf({"cmd=list", "verbose=1"}) == "unknown parameter 'verbose=1'");
  CHECK(ErrorOf({"cmd=list", "phase"}) == "unknown parameter 'phase'");
  CHECK(ErrorOf({"cmd=log", "level=loud"}) ==
        "level: 'loud' must be none, error, events, information or debug");
}

TEST_CASE("--help and -h win over every other argument; other dash words are refused") {
  for (const char* flag : {"--help", "-h"}) {
    Result<Arguments> a = ParseArguments({flag});
    REQUIRE(a.ok());
    CHECK(a->help);
    Result<Arguments> b = ParseArguments({"cmd=bogus", "foo=1", flag});
    REQUIRE(b.ok());
    CHECK(b->help);
  }
  CHECK_FALSE(ParseArguments({"cmd=list"})->help);
  CHECK(ErrorOf({"--version"}) == "unknown option '--version'");
  CHECK(ErrorOf({"cmd=list", "-v"}) == "unknown option '-v'");
  // Help() names every subcommand and parameter the parser takes.
  for (const char* word : {"cmd=activate", "cmd=remove", "cmd=list", "cmd=log",
                           "phase=", "numlist=", "namelist=", "remid=", "ipaddr=", "autostart",
                           "all", "verbose", "db", "cache", "filters", "states=", "level="}) {
    CHECK(Help().find(word) != std::string::npos);
  }
}

}  // namespace
}  // namespace ike::cmd
