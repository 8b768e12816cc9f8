// Argument parsing for ikedb (aix-ike.md 2.1, reduced to the text database):
// the word forms put/get/delete/check and AIX's letters -p, -d, -c, -g. Pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "tunneldb/edit.h"

namespace ike::cmd {

enum class DbAction {
  kHelp,    // --help: the usage on stdout, exit 0
  kTmd,     // -g: the database tmd is using, over IPC
  kCheck,   // check [FILE], -c [FILE]
  kPut,     // put [-F] FILE, -p[F] FILE
  kGet,     // get [TYPE [NAME]]
  kDelete,  // delete TYPE [NAME], -d -t TYPE [-n NAME]
};

struct DbArguments {
  DbAction action = DbAction::kHelp;
  std::string file;    // put: the fragment ("-" = stdin); check: empty = tunnels.db
  bool force = false;  // put -F
  std::optional<tunneldb::Kind> kind;
  std::string name;
};

// Parses argv[1..]. Errors are the text after "ikedb: ", e.g.
// "unknown object type 'tunnel' (one of settings, ike_protection, ...)".
Result<DbArguments> ParseDbArguments(const std::vector<std::string>& args);

const char* DbUsage();

}  // namespace ike::cmd
