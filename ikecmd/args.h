// Argument parsing for the ike command (aix-ike.md 1.1-1.6): every argument
// is a key=value word or a bare keyword, no dash options. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "ike.pb.h"

namespace ike::cmd {

enum class Subcommand { kActivate, kRemove, kList, kLog, kDiagnose };

struct Arguments {
  Subcommand cmd = Subcommand::kList;
  uint32_t phase = 0;  // 0 both, 1, 2, 3 = "1+" (list)
  std::vector<uint32_t> numlist;
  std::vector<std::string> namelist;
  std::string remid;
  std::string local_address;  // ipaddr=src,dst
  std::string remote_address;
  bool autostart = false;
  bool all = false;
  bool verbose = false;
  bool db = false;
  bool cache = false;
  bool filters = false;
  bool json = false;  // list: the verbose fields as one JSON document
  db::LogLevel level = db::LOG_LEVEL_UNSPECIFIED;
  // list: states=aix|ios|asa, the vocabulary of the State field
  // (unspecified: settings.state_names, which tmd sends with the rows).
  db::StateNames states = db::STATE_NAMES_UNSPECIFIED;
  bool help = false;  // --help or -h: Help() on stdout, exit 0, nothing sent
};

// Parses argv[1..]. Errors are the text after "ike: ", e.g.
// "unknown parameter 'foo=1'" or "numlist: '3-a' is not a tunnel number list".
Result<Arguments> ParseArguments(const std::vector<std::string>& args);

// "1,3,5-7" -> {1,3,5,6,7}; false on anything else (0, empty items, a > b).
bool ParseNumberList(const std::string& text, std::vector<uint32_t>* out);

// The request sent to tmd for activate, remove and list.
ipc::Envelope BuildRequest(const Arguments& a);

const char* Usage();

// Usage() and one line per subcommand and parameter (what --help prints).
std::string Help();

}  // namespace ike::cmd
