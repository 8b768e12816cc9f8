#include "src/core/src_args.h"

namespace ike::src {
namespace {

// Flags each command takes; the ones needing a value are s and g.
std::string AllowedFlags(SrcCommand command) {
  switch (command) {
    case SrcCommand::kStop:
      return "sgfc";
    case SrcCommand::kStatus:
      return "sgal";
    default:
      return "sg";
  }
}

Error UsageError(SrcCommand command, const std::string& what) {
  return Error{std::string(CommandName(command)) + ": " + what + "\n" + Usage(command)};
}

// Applies one flag; |value| is its argument for -s / -g.
void ApplyFlag(char flag, const std::string& value, SrcArgs* out) {
  switch (flag) {
    case 's':
      out->subsystem = value;
      break;
    case 'g':
      out->group = value;
      break;
    case 'a':
      out->all = true;
      break;
    case 'l':
      out->long_form = true;
      break;
    default:
      out->force = true;
      break;  // -f, and -c (cancel) which we treat as forced
  }
}

Result<SrcArgs> CheckTarget(SrcCommand command, const SrcArgs& args, int targets) {
  if (targets > 1) {
    return UsageError(command, command == SrcCommand::kStatus
                                   ? "use only one of the flags -s, -g and -a"
                                   : "the flags -s and -g cannot be used together");
  }
  if (targets == 0) {
    return UsageError(command, command == SrcCommand::kStatus
                                   ? "specify -s Subsystem, -g Group or -a"
                                   : "specify -s Subsystem or -g Group");
  }
  return args;
}

}  // namespace

const char* CommandName(SrcCommand command) {
  switch (command) {
    case SrcCommand::kStart:
      return "startsrc";
    case SrcCommand::kStop:
      return "stopsrc";
    case SrcCommand::kStatus:
      return "lssrc";
    case SrcCommand::kRefresh:
      return "refresh";
  }
  return "src";
}

std::string Usage(SrcCommand command) {
  switch (command) {
    case SrcCommand::kStop:
      return "Usage: stopsrc [-f | -c] -s Subsystem | -g Group";
    case SrcCommand::kStatus:
      return "Usage: lssrc [-l] -s Subsystem | -g Group | -a";
    default:
      return std::string("Usage: ") + CommandName(command) + " -s Subsystem | -g Group";
  }
}

std::string Help(SrcCommand command) {
  std::string text = Usage(command) + "\n";
  switch (command) {
    case SrcCommand::kStart:
      text +=
          "Starts srcmstr if needed, then the subsystems (tmd first); returns when each\n"
          "answers.\n";
      break;
    case SrcCommand::kStop:
      text +=
          "Stops the subsystems (tmd last) with SIGTERM, SIGKILL after 10 s.\n"
          "  -f             forced stop: SIGKILL at once (no Delete payloads sent)\n"
          "  -c             treated as -f\n";
      break;
    case SrcCommand::kStatus:
      text +=
          "Shows subsystem, group, PID and status (active or inoperative).\n"
          "  -a             every subsystem\n"
          "  -l             with -s: the daemon's own long status (counters)\n";
      break;
    case SrcCommand::kRefresh:
      text +=
          "Makes the active subsystems re-read their configuration (tmd: tunnels.db,\n"
          "cpsd: psk.db); a file with errors is reported and the old one kept.\n";
      break;
  }
  text +=
      "  -s Subsystem   tmd, isakmpd or cpsd\n"
      "  -g Group       ike (all three)\n"
      "See " +
      std::string(CommandName(command)) + "(8).\n";
  return text;
}

Result<SrcArgs> ParseSrcArgs(SrcCommand command, const std::vector<std::string>& args) {
  const std::string allowed = AllowedFlags(command);
  SrcArgs out;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      return out;
    }
  }
  int targets = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-')
      return UsageError(command, "unexpected argument '" + arg + "'");
    if (arg[1] == '-') return UsageError(command, "unknown option '" + arg + "'");
    for (size_t j = 1; j < arg.size(); ++j) {
      char flag = arg[j];
      if (allowed.find(flag) == std::string::npos) {
        return UsageError(command, std::string("flag -") + flag + " is not valid");
      }
      std::string value;
      if (flag == 's' || flag == 'g') {
        // The rest of this word, or the next word, is the name.
        if (j + 1 < arg.size()) {
          value = arg.substr(j + 1);
        } else if (i + 1 < args.size()) {
          value = args[++i];
        }
        if (value.empty()) {
          return UsageError(command, std::string("flag -") + flag + " needs a " +
                                         (flag == 's' ? "subsystem" : "group") + " name");
        }
        j = arg.size();
      }
      if (flag == 's' || flag == 'g' || flag == 'a') ++targets;
      ApplyFlag(flag, value, &out);
    }
  }
  Result<SrcArgs> checked = CheckTarget(command, out, targets);
  if (checked.ok() && out.long_form && out.subsystem.empty())
    return UsageError(command, "the flag -l needs -s Subsystem");
  return checked;
}

}  // namespace ike::src
