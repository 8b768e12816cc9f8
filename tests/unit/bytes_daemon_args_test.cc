// The daemons' command line: --help, nothing else.
#include <catch2/catch.hpp>

#include "common/daemon_args.h"

namespace ike {
namespace {

constexpr char kHelp[] = "usage: tmd [--help]\nThe tunnel manager.\n";

TEST_CASE("no arguments: the daemon runs") {
  DaemonArgsOutcome o = CheckDaemonArgs("tmd", {}, kHelp);
  CHECK(o.run);
  CHECK(o.out.empty());
  CHECK(o.err.empty());
}

TEST_CASE("--help and -h print the help on stdout and exit 0") {
  for (const char* flag : {"--help", "-h"}) {
    DaemonArgsOutcome o = CheckDaemonArgs("tmd", {"-x", flag}, kHelp);
    CHECK_FALSE(o.run);
    CHECK(o.status == 0);
    CHECK(o.out == kHelp);
    CHECK(o.err.empty());
  }
}

TEST_CASE("any other argument is refused, named, with the usage line") {
  DaemonArgsOutcome o = CheckDaemonArgs("tmd", {"--foreground"}, kHelp);
  CHECK_FALSE(o.run);
  CHECK(o.status == 1);
  CHECK(o.out.empty());
  CHECK(o.err ==
        "tmd: unknown argument '--foreground' (it takes none; srcmstr starts it)\n"
        "usage: tmd [--help]\n");
}

}  // namespace
}  // namespace ike
