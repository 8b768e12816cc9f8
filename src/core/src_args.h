// Argument parsing for startsrc, stopsrc, lssrc and refresh. Pure: the
// command mains print the error (which ends with the usage line) and exit 1.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace ike::src {

enum class SrcCommand { kStart, kStop, kStatus, kRefresh };

struct SrcArgs {
  std::string group;       // -g
  std::string subsystem;   // -s
  bool all = false;        // lssrc -a
  bool long_form = false;  // lssrc -l (with -s only): the daemon's own status
  bool force = false;      // stopsrc -f (or -c)
  bool help = false;       // --help or -h: Help() on stdout, exit 0
};

const char* CommandName(SrcCommand command);
std::string Usage(SrcCommand command);  // "Usage: startsrc -s Subsystem | -g Group"
// Usage() and a line per flag, the subsystems and the group (--help).
std::string Help(SrcCommand command);

// |args| excludes argv[0]. Accepts "-s name", "-sname" and clustered flags
// ("-fg ike"). Exactly one of -s / -g (lssrc: or -a) must be given; lssrc's
// -l only with -s (AIX: a group has no long status). --help or -h anywhere:
// only |help| is set.
Result<SrcArgs> ParseSrcArgs(SrcCommand command, const std::vector<std::string>& args);

}  // namespace ike::src
