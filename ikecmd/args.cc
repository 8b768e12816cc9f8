// ike command line: cmd=activate|remove|list|log and its parameters.
#include "ikecmd/args.h"

#include <charconv>
#include <map>
#include <set>

#include "common/address.h"

namespace ike::cmd {
namespace {

constexpr uint32_t kMaxListed = 100000;  // a typo like 1-4000000000 must not eat memory

// Which parameters each subcommand takes (aix-ike.md 1.6; remove/list/log
// parameters beyond the verified ones are our choice, documented there).
const std::map<Subcommand, std::set<std::string>>& Allowed() {
  static const std::map<Subcommand, std::set<std::string>> kAllowed = {
      {Subcommand::kActivate, {"phase", "numlist", "namelist", "remid", "ipaddr", "autostart"}},
      {Subcommand::kRemove, {"phase", "numlist", "ipaddr", "all"}},
      {Subcommand::kList,
       {"phase", "numlist", "namelist", "remid", "verbose", "db", "cache", "filters", "states",
        "json"}},
      {Subcommand::kLog, {"level"}},
      {Subcommand::kDiagnose, {"phase", "numlist", "namelist", "remid"}},
  };
  return kAllowed;
}

bool ParseNumber(std::string_view s, uint32_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && *out > 0;
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(sep, start);
    out.push_back(text.substr(start, at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

bool ParseSubcommand(const std::string& v, Subcommand* out) {
  static const std::map<std::string, Subcommand> kNames = {{"activate", Subcommand::kActivate},
                                                           {"remove", Subcommand::kRemove},
                                                           {"list", Subcommand::kList},
                                                           {"log", Subcommand::kLog},
                                                           {"diagnose", Subcommand::kDiagnose}};
  auto it = kNames.find(v);
  if (it == kNames.end()) return false;
  *out = it->second;
  return true;
}

bool ParseLevel(const std::string& v, db::LogLevel* out) {
  static const std::map<std::string, db::LogLevel> kLevels = {{"none", db::NONE},
                                                              {"error", db::ERROR},
                                                              {"events", db::EVENTS},
                                                              {"information", db::INFORMATION},
                                                              {"debug", db::DEBUG}};
  auto it = kLevels.find(v);
  if (it == kLevels.end()) return false;
  *out = it->second;
  return true;
}

// One key=value parameter (cmd= already handled). Returns an error text.
std::string ParseValue(const std::string& key, const std::string& value, Arguments* a) {
  const std::string quoted = "'" + value + "'";
  if (key == "phase") {
    if (value == "1" || value == "2") {
      a->phase = value[0] - '0';
    } else if (value == "1+" && a->cmd == Subcommand::kList) {
      a->phase = 3;
    } else {
      return "phase: " + quoted + " must be 1 or 2" + (a->cmd == Subcommand::kList ? " or 1+" : "");
    }
  } else if (key == "numlist") {
    if (!ParseNumberList(value, &a->numlist)) {
      return "numlist: " + quoted + " is not a tunnel number list";
    }
  } else if (key == "namelist") {
    for (const std::string& n : Split(value, ',')) {
      if (n.empty()) return "namelist: " + quoted + " is not a tunnel name list";
      a->namelist.push_back(n);
    }
  } else if (key == "remid") {
    if (value.empty()) return "remid: a remote id is needed";
    a->remid = value;
  } else if (key == "ipaddr") {
    std::vector<std::string> parts = Split(value, ',');
    if (parts.size() != 2 || !IpAddress::Parse(parts[0]) || !IpAddress::Parse(parts[1])) {
      return "ipaddr: " + quoted + " is not src_addr,dst_addr";
    }
    a->local_address = parts[0];
    a->remote_address = parts[1];
  } else if (key == "states") {
    static const std::map<std::string, db::StateNames> kVocabularies = {
        {"aix", db::STATE_NAMES_AIX}, {"ios", db::STATE_NAMES_IOS}, {"asa", db::STATE_NAMES_ASA}};
    auto it = kVocabularies.find(value);
    if (it == kVocabularies.end()) return "states: " + quoted + " must be aix, ios or asa";
    a->states = it->second;
    a->verbose = true;  // the table has no State column (AIX layout): show the blocks
  } else if (key == "level") {
    if (!ParseLevel(value, &a->level)) {
      return "level: " + quoted + " must be none, error, events, information or debug";
    }
  }
  return "";
}

void SetKeyword(const std::string& word, Arguments* a) {
  if (word == "autostart") a->autostart = true;
  if (word == "all") a->all = true;
  if (word == "verbose") a->verbose = true;
  if (word == "db") a->db = true;
  if (word == "cache") a->cache = true;
  if (word == "filters") a->filters = true;
  if (word == "json") a->json = true;
}

}  // namespace

bool ParseNumberList(const std::string& text, std::vector<uint32_t>* out) {
  std::vector<uint32_t> result;
  for (const std::string& item : Split(text, ',')) {
    const size_t dash = item.find('-');
    uint32_t first = 0, last = 0;
    if (dash == std::string::npos) {
      if (!ParseNumber(item, &first)) return false;
      last = first;
    } else if (!ParseNumber(std::string_view(item).substr(0, dash), &first) ||
               !ParseNumber(std::string_view(item).substr(dash + 1), &last) || last < first) {
      return false;
    }
    if (last - first >= kMaxListed || result.size() + (last - first) >= kMaxListed) return false;
    for (uint32_t n = first; n <= last; ++n) result.push_back(n);
  }
  out->insert(out->end(), result.begin(), result.end());
  return true;
}

Result<Arguments> ParseArguments(const std::vector<std::string>& args) {
  Arguments a;
  bool have_cmd = false;
  for (const std::string& arg : args) {
    // ike itself has no dash options (aix-ike.md 1.1); --help is what a
    // Debian administrator tries first, so it wins over everything else.
    if (arg == "--help" || arg == "-h") {
      Arguments help;
      help.help = true;
      return help;
    }
  }
  for (const std::string& arg : args) {
    if (arg.rfind("-", 0) == 0) return Error{"unknown option '" + arg + "'"};
    if (arg.rfind("cmd=", 0) == 0) {
      if (!ParseSubcommand(arg.substr(4), &a.cmd)) {
        return Error{"cmd: '" + arg.substr(4) +
                     "' must be activate, remove, list, diagnose or log"};
      }
      have_cmd = true;
    }
  }
  if (!have_cmd) return Error{"cmd= is required"};
  const std::set<std::string>& allowed = Allowed().at(a.cmd);
  for (const std::string& arg : args) {
    if (arg.rfind("cmd=", 0) == 0) continue;
    const size_t eq = arg.find('=');
    const std::string key = arg.substr(0, eq);
    const bool keyword = eq == std::string::npos;
    static const std::set<std::string> kKeywords = {"autostart", "all",     "verbose", "db",
                                                    "cache",     "filters", "json"};
    if (!allowed.contains(key) || keyword != kKeywords.contains(key)) {
      return Error{"unknown parameter '" + arg + "'"};
    }
    if (keyword) {
      SetKeyword(key, &a);
      continue;
    }
    std::string error = ParseValue(key, arg.substr(eq + 1), &a);
    if (!error.empty()) return Error{error};
  }
  return a;
}

ipc::Envelope BuildRequest(const Arguments& a) {
  ipc::Envelope e;
  e.set_version(1);
  e.set_request_id(1);
  switch (a.cmd) {
    case Subcommand::kActivate: {
      ipc::ActivateRequest* r = e.mutable_activate_request();
      r->set_phase(a.phase);
      for (uint32_t n : a.numlist) r->add_numlist(n);
      for (const auto& n : a.namelist) r->add_namelist(n);
      r->set_remid(a.remid);
      r->set_local_address(a.local_address);
      r->set_remote_address(a.remote_address);
      r->set_autostart(a.autostart);
      break;
    }
    case Subcommand::kRemove: {
      ipc::RemoveRequest* r = e.mutable_remove_request();
      r->set_phase(a.phase);
      for (uint32_t n : a.numlist) r->add_numlist(n);
      r->set_all(a.all);
      r->set_local_address(a.local_address);
      r->set_remote_address(a.remote_address);
      break;
    }
    case Subcommand::kDiagnose:  // a verbose listing, rendered as a diagnosis
    case Subcommand::kList: {
      ipc::ListRequest* r = e.mutable_list_request();
      r->set_phase(a.phase);
      for (uint32_t n : a.numlist) r->add_numlist(n);
      for (const auto& n : a.namelist) r->add_namelist(n);
      r->set_remid(a.remid);
      // JSON carries every verbose field.
      r->set_verbose(a.verbose || a.json || a.cmd == Subcommand::kDiagnose);
      r->set_db(a.db);
      r->set_cache(a.cache);
      r->set_filters(a.filters);
      break;
    }
    case Subcommand::kLog:
      e.mutable_set_log_level()->set_level(a.level);
      break;
  }
  return e;
}

const char* Usage() {
  return "usage: ike cmd=activate [phase=1|2] [numlist=1,3,5-7] [namelist=a,b] [remid=ID]\n"
         "                        [ipaddr=src,dst] [autostart]\n"
         "       ike cmd=remove [phase=1|2] [numlist=...] [ipaddr=src,dst] [all]\n"
         "       ike cmd=list [phase=1|2|1+] [numlist=...] [namelist=a,b] [remid=ID]\n"
         "                [verbose|json] [db] [cache] [filters] [states=aix|ios|asa]\n"
         "       ike cmd=diagnose [phase=1|2] [numlist=...] [namelist=a,b] [remid=ID]\n"
         "       ike cmd=log [level=none|error|events|information|debug]\n";
}

std::string Help() {
  return std::string(Usage()) +
         "\n"
         "Starts, stops and lists IKE tunnels (asks tmd) and sets the daemons' log level.\n"
         "  cmd=activate   negotiate the selected definitions (none given: the autostart\n"
         "                 ones, or all when none is marked)\n"
         "  cmd=remove     delete the selected tunnels (Delete payloads, kernel state)\n"
         "  cmd=list       the tunnels; failed ones with their reason\n"
         "  cmd=diagnose   why the selected tunnels are not up: where they stopped,\n"
         "                 since when, the likely causes and what to check\n"
         "  cmd=log        set the log level of tmd, isakmpd and cpsd\n"
         "  phase=         1 (key management), 2 (data management), 1+ (list: phase 1\n"
         "                 tunnels and the phase 2 tunnels they carry)\n"
         "  numlist=       tunnel numbers, e.g. 1,3,5-7\n"
         "  namelist=      ike_tunnel or ipsec_tunnel names of tunnels.db\n"
         "  remid=         the definitions with this remote_id\n"
         "  ipaddr=        src,dst: the definitions between these endpoints\n"
         "  autostart      the definitions marked autostart\n"
         "  all            remove every tunnel\n"
         "  verbose        one block per tunnel: states, algorithms, cookies, SPIs\n"
         "  json           the verbose fields as one JSON document\n"
         "  db             the definitions of the database tmd uses\n"
         "  cache          the tunnel cache (SAs in the kernel; never keys)\n"
         "  filters        the dynamic filter rules and traps\n"
         "  states=        name states as aix, ios or asa do (implies verbose)\n"
         "  level=         none, error, events, information or debug\n"
         "Exit status: 0 success, 1 bad argument, 2 tmd unreachable or refused.\n"
         "See ike(8), tunnels.db(5).\n";
}

}  // namespace ike::cmd
