// The daemons' command line (tmd, isakmpd, cpsd, srcmstr): they take no
// arguments (srcmstr starts them with none, conventions.md "Daemons"), only
// --help / -h, which an administrator tries first. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ike {

struct DaemonArgsOutcome {
  bool run = true;  // false: main returns |status| after printing
  int status = 0;
  std::string out;  // for stdout (the help)
  std::string err;  // for stderr (the refused argument and the usage)
};

// |args| excludes argv[0]. |help| is the text --help prints; its first line
// is the usage that follows an error.
DaemonArgsOutcome CheckDaemonArgs(std::string_view name, const std::vector<std::string>& args,
                                  std::string_view help);

// The same on argv, printing; returns -1 to go on, else the exit status.
int HandleDaemonArgs(std::string_view name, int argc, char** argv, std::string_view help);

}  // namespace ike
