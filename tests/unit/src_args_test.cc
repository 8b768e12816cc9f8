// Argument parsing and target resolution for the SRC commands.
#include "src/core/src_args.h"

#include <catch2/catch.hpp>

#include "src/core/subsystems.h"

using ike::src::ParseSrcArgs;
using ike::src::SrcCommand;

namespace {
std::string ErrorOf(SrcCommand c, std::vector<std::string> args) {
  auto r = ParseSrcArgs(c, args);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}
}  // namespace

TEST_CASE("startsrc -g / -s") {
  auto g = ParseSrcArgs(SrcCommand::kStart, {"-g", "ike"});
  REQUIRE(g.ok());
  CHECK(g->group == "ike");
  CHECK(g->subsystem.empty());
  auto s = ParseSrcArgs(SrcCommand::kStart, {"-stmd"});
  REQUIRE(s.ok());
  CHECK(s->subsystem == "tmd");
}

TEST_CASE("stopsrc -f, -c and clustered flags") {
  auto f = ParseSrcArgs(SrcCommand::kStop, {"-f", "-g", "ike"});
  REQUIRE(f.ok());
  CHECK(f->force);
  auto c = ParseSrcArgs(SrcCommand::kStop, {"-cs", "cpsd"});
  REQUIRE(c.ok());
  CHECK(c->force);
  CHECK(c->subsystem == "cpsd");
  auto normal = ParseSrcArgs(SrcCommand::kStop, {"-g", "ike"});
  REQUIRE(normal.ok());
  CHECK_FALSE(normal->force);
}

TEST_CASE("lssrc -a") {
  auto a = ParseSrcArgs(SrcCommand::kStatus, {"-a"});
  REQUIRE(a.ok());
  CHECK(a->all);
}

TEST_CASE("usage errors name the flag and end with the usage line") {
  CHECK(ErrorOf(SrcCommand::kStart, {"-f", "-g", "ike"}) ==
        "startsrc: flag -f is not valid\nUsage: startsrc -s Subsystem | -g Group");
  CHECK(ErrorOf(SrcCommand::kStart, {"-s"}) ==
        "startsrc: flag -s needs a subsystem name\nUsage: startsrc -s Subsystem | -g Group");
  CHECK(ErrorOf(SrcCommand::kStop, {"-g"}) ==
        "stopsrc: flag -g needs a group name\nUsage: stopsrc [-f | -c] -s Subsystem | -g Group");
  CHECK(ErrorOf(SrcCommand::kRefresh, {}) ==
        "refresh: specify -s Subsystem or -g Group\nUsage: refresh -s Subsystem | -g Group");
  CHECK(ErrorOf(SrcCommand::kStatus, {"-a", "-s", "tmd"}) ==
        "lssrc: use only one of the flags -s, -g and -a\nUsage: lssrc [-l] -s Subsystem | -g Group "
        "| -a");
  CHECK(ErrorOf(SrcCommand::kStart, {"-s", "tmd", "-g", "ike"})
            .rfind("startsrc: the flags -s and -g cannot be used together\n", 0) == 0);
  CHECK(ErrorOf(SrcCommand::kStart, {"tmd"}).rfind("startsrc: unexpected argument 'tmd'\n", 0) ==
        0);
  CHECK(ErrorOf(SrcCommand::kStatus, {"-f", "-a"}).rfind("lssrc: flag -f is not valid", 0) == 0);
}

TEST_CASE("targets: group in start order, unknown names") {
  auto group = ike::src::ResolveTarget("ike", "");
  REQUIRE(group.ok());
  CHECK(*group == std::vector<std::string>{"tmd", "isakmpd", "cpsd"});
  auto one = ike::src::ResolveTarget("", "cpsd");
  REQUIRE(one.ok());
  CHECK(*one == std::vector<std::string>{"cpsd"});
  auto bad = ike::src::ResolveTarget("", "iked");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "0513-085 The iked Subsystem is not on file.");
  auto bad_group = ike::src::ResolveTarget("tcpip", "");
  REQUIRE_FALSE(bad_group.ok());
  CHECK(bad_group.error().message == "0513-086 The tcpip Group is not on file.");
}

TEST_CASE("stop order puts tmd last") {
  CHECK(ike::src::StopOrder({"tmd", "isakmpd", "cpsd"}) ==
        std::vector<std::string>{"isakmpd", "cpsd", "tmd"});
  CHECK(ike::src::StopOrder({"tmd"}) == std::vector<std::string>{"tmd"});
}

TEST_CASE("binary search order: $IKE_SBINDIR, own dir, ../sbin") {
  static std::vector<std::string> existing;
  auto exists = [](const std::string& p) {
    return std::find(existing.begin(), existing.end(), p) != existing.end();
  };
  existing = {"/opt/ike/sbin/tmd", "/usr/bin/tmd", "/usr/sbin/tmd"};
  CHECK(ike::src::FindBinary("tmd", "/opt/ike/sbin", "/usr/bin/startsrc", exists) ==
        "/opt/ike/sbin/tmd");
  CHECK(ike::src::FindBinary("tmd", "", "/usr/bin/startsrc", exists) == "/usr/bin/tmd");
  existing = {"/usr/sbin/tmd"};
  CHECK(ike::src::FindBinary("tmd", "/nowhere", "/usr/bin/startsrc", exists) == "/usr/sbin/tmd");
  existing = {};
  CHECK(ike::src::FindBinary("tmd", "", "/usr/bin/startsrc", exists).empty());
}

TEST_CASE("--help and -h: help alone, whatever else is given") {
  for (SrcCommand c :
       {SrcCommand::kStart, SrcCommand::kStop, SrcCommand::kStatus, SrcCommand::kRefresh}) {
    for (const char* flag : {"--help", "-h"}) {
      auto r = ParseSrcArgs(c, {"-s", "tmd", flag});
      REQUIRE(r.ok());
      CHECK(r->help);
    }
    const std::string help = ike::src::Help(c);
    CHECK(help.rfind(ike::src::Usage(c), 0) == 0);
    for (const char* word : {"-s Subsystem", "-g Group", "tmd", "isakmpd", "cpsd", "ike"}) {
      CHECK(help.find(word) != std::string::npos);
    }
  }
  CHECK(ike::src::Help(SrcCommand::kStop).find("-f") != std::string::npos);
  CHECK(ike::src::Help(SrcCommand::kStop).find("-c") != std::string::npos);
  CHECK(ike::src::Help(SrcCommand::kStatus).find("-a") != std::string::npos);
  // Other long options stay errors naming the flag.
  CHECK(ErrorOf(SrcCommand::kStart, {"--version"}) ==
        "startsrc: unknown option '--version'\nUsage: startsrc -s Subsystem | -g Group");
}
