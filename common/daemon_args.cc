#include "common/daemon_args.h"

#include <cstdio>

namespace ike {

DaemonArgsOutcome CheckDaemonArgs(std::string_view name, const std::vector<std::string>& args,
                                  std::string_view help) {
  DaemonArgsOutcome outcome;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      outcome.run = false;
      outcome.out = std::string(help);
      return outcome;
    }
  }
  if (args.empty()) return outcome;
  // Refused rather than ignored: a daemon run by hand with an option it does
  // not know must not look as if it had taken it.
  const std::string_view usage = help.substr(0, help.find('\n') + 1);
  outcome.run = false;
  outcome.status = 1;
  outcome.err = std::string(name) + ": unknown argument '" + args.front() +
                "' (it takes none; srcmstr starts it)\n" + std::string(usage);
  return outcome;
}

int HandleDaemonArgs(std::string_view name, int argc, char** argv, std::string_view help) {
  DaemonArgsOutcome o =
      CheckDaemonArgs(name, std::vector<std::string>(argv + 1, argv + argc), help);
  std::fputs(o.out.c_str(), stdout);
  std::fputs(o.err.c_str(), stderr);
  return o.run ? -1 : o.status;
}

}  // namespace ike
