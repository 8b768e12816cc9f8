// ikedb's command line. The word forms are the (11.4); the letters
// are AIX's (-p put, -F force, -d delete with -t type -n name) where they
// fit, plus this suite's own -c (check) and -g (what tmd uses).
#include "ikecmd/ikedb_args.h"

namespace ike::cmd {
namespace {

using tunneldb::Kind;

Result<Kind> ParseKind(const std::string& word) {
  if (auto kind = tunneldb::KindFromName(word)) return *kind;
  return Error{"unknown object type '" + word + "' (one of " + tunneldb::KindNames() + ")"};
}

Error Unexpected(const std::string& word) { return Error{"unexpected argument '" + word + "'"}; }

// put [-F] FILE, -p [-F] FILE, -pF FILE: -F anywhere, one FILE.
Result<DbArguments> ParsePut(const std::vector<std::string>& rest, bool force) {
  DbArguments a;
  a.action = DbAction::kPut;
  a.force = force;
  for (const std::string& w : rest) {
    if (w == "-F") {
      a.force = true;
    } else if (a.file.empty() && (w == "-" || w.empty() || w[0] != '-')) {
      a.file = w;
    } else {
      return Unexpected(w);
    }
  }
  if (a.file.empty()) return Error{"put: FILE missing (a piece of tunnels.db; - reads stdin)"};
  return a;
}

// TYPE [NAME] after get or delete; a NAME is needed to delete anything but
// settings, which have none.
Result<DbArguments> ParseSelection(DbAction action, const std::vector<std::string>& rest) {
  DbArguments a;
  a.action = action;
  const char* verb = action == DbAction::kGet ? "get" : "delete";
  if (rest.size() > 2) return Unexpected(rest[2]);
  if (rest.empty()) {
    if (action == DbAction::kGet) return a;
    return Error{std::string("delete: TYPE missing (one of ") + tunneldb::KindNames() + ")"};
  }
  Result<Kind> kind = ParseKind(rest[0]);
  if (!kind.ok()) return kind.error();
  a.kind = *kind;
  if (rest.size() == 2) a.name = rest[1];
  if (a.kind == Kind::kSettings && rest.size() == 2) {
    return Error{std::string(verb) + " settings: settings have no name ('" + rest[1] + "')"};
  }
  if (action == DbAction::kDelete && a.kind != Kind::kSettings && a.name.empty()) {
    return Error{"delete " + rest[0] + ": NAME missing (which " + rest[0] + "?)"};
  }
  return a;
}

// AIX: -d -t TYPE [-n NAME].
Result<DbArguments> ParseAixDelete(const std::vector<std::string>& rest) {
  std::vector<std::string> selection(1);
  for (size_t i = 0; i < rest.size(); ++i) {
    const bool has_value = i + 1 < rest.size();
    if (rest[i] == "-t" && has_value) {
      selection[0] = rest[++i];
    } else if (rest[i] == "-n" && has_value) {
      selection.resize(2);
      selection[1] = rest[++i];
    } else {
      return Unexpected(rest[i]);
    }
  }
  if (selection[0].empty()) return Error{"-d: -t TYPE missing"};
  return ParseSelection(DbAction::kDelete, selection);
}

}  // namespace

Result<DbArguments> ParseDbArguments(const std::vector<std::string>& args) {
  if (args.empty()) return Error{"an operation is needed (put, get, delete, check or -g)"};
  const std::string& op = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  DbArguments a;
  if (op == "--help" || op == "-h" || op == "help") return a;
  if (op == "-g") {
    if (!rest.empty()) return Unexpected(rest[0]);
    a.action = DbAction::kTmd;
    return a;
  }
  if (op == "check" || op == "-c") {
    if (rest.size() > 1) return Unexpected(rest[1]);
    a.action = DbAction::kCheck;
    if (!rest.empty()) a.file = rest[0];
    return a;
  }
  if (op == "put" || op == "-p" || op == "-pF") return ParsePut(rest, op == "-pF");
  if (op == "get") return ParseSelection(DbAction::kGet, rest);
  if (op == "delete") return ParseSelection(DbAction::kDelete, rest);
  if (op == "-d") return ParseAixDelete(rest);
  return Error{"unknown operation '" + op + "'"};
}

const char* DbUsage() {
  return "usage: ikedb put [-F] FILE        add the objects in FILE (- = stdin) to tunnels.db;\n"
         "                                  -F replaces objects of the same type and name\n"
         "       ikedb get [TYPE [NAME]]    print objects of tunnels.db as put takes them\n"
         "       ikedb delete TYPE NAME     remove an object no other object names\n"
         "       ikedb delete settings      remove the settings (defaults apply)\n"
         "       ikedb check [FILE]         check FILE (default tunnels.db) as tmd does\n"
         "       ikedb -g                   print the database tmd is using, defaults filled in\n"
         "TYPE: settings, ike_protection, ike_tunnel, ipsec_protection, ipsec_tunnel.\n"
         "AIX forms: -p [-F] FILE (put), -d -t TYPE -n NAME (delete), -c [FILE] (check).\n"
         "tunnels.db is $IKE_CONFDIR/tunnels.db (default /etc/ike); put and delete check\n"
         "the result as tmd does and write it only if it passes; `refresh -g ike` makes\n"
         "tmd read it.\n";
}

}  // namespace ike::cmd
