// Captured before common/log.h hides these two priorities behind its
// logging macros of the same names.
#include <syslog.h>
namespace {
constexpr int kPriorityInfo = LOG_INFO;
constexpr int kPriorityDebug = LOG_DEBUG;
}  // namespace

#include <strings.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/log.h"

namespace ike {
namespace {

// Atomic so a SetLogLevel from the IPC handler and a log call from another
// thread (tests, helper threads) never race; daemons are single-threaded.
std::atomic<LogLevel> g_level{LogLevel::kEvents};
std::atomic<bool> g_stderr{false};
// openlog(3) keeps the pointer, so the ident must outlive every syslog call.
char g_ident[64] = "ike";

int SyslogPriority(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return LOG_ERR;
    case LogLevel::kEvents:
      return LOG_NOTICE;
    case LogLevel::kInformation:
      return kPriorityInfo;
    case LogLevel::kDebug:
    case LogLevel::kNone:
      break;
  }
  return kPriorityDebug;
}

struct LevelName {
  const char* name;
  LogLevel level;
};

// Accepted spellings: the AIX words (errors, isakmp_events) and the short ones.
constexpr LevelName kLevelNames[] = {
    {"none", LogLevel::kNone},
    {"error", LogLevel::kError},
    {"errors", LogLevel::kError},
    {"events", LogLevel::kEvents},
    {"isakmp_events", LogLevel::kEvents},
    {"information", LogLevel::kInformation},
    {"info", LogLevel::kInformation},
    {"debug", LogLevel::kDebug},
};

}  // namespace

void LogInit(const char* ident, int facility) {
  snprintf(g_ident, sizeof(g_ident), "%s", ident ? ident : "ike");
  const char* env = getenv("IKE_LOG_STDERR");
  g_stderr = env != nullptr && strcmp(env, "1") == 0;
  openlog(g_ident, LOG_PID | LOG_NDELAY, facility);
}

void SetLogLevel(LogLevel level) { g_level = level; }

LogLevel GetLogLevel() { return g_level; }

bool LogEnabled(LogLevel level) {
  // kNone is the "log nothing" setting, never a level of a message.
  return level != LogLevel::kNone && level <= g_level.load();
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kNone:
      return "none";
    case LogLevel::kError:
      return "error";
    case LogLevel::kEvents:
      return "events";
    case LogLevel::kInformation:
      return "information";
    case LogLevel::kDebug:
      return "debug";
  }
  return "unknown";
}

bool ParseLogLevel(std::string_view name, LogLevel* out) {
  for (const LevelName& entry : kLevelNames) {
    if (name.size() == strlen(entry.name) &&
        strncasecmp(name.data(), entry.name, name.size()) == 0) {
      *out = entry.level;
      return true;
    }
  }
  return false;
}

void Logf(LogLevel level, const char* fmt, ...) {
  if (!LogEnabled(level)) return;
  char line[2048];
  va_list args;
  va_start(args, fmt);
  vsnprintf(line, sizeof(line), fmt, args);
  va_end(args);
  syslog(SyslogPriority(level), "%s", line);
  if (g_stderr) {
    // One fprintf per line so concurrent writers to a shared stderr (srcmstr
    // collects its children's) do not interleave mid-line.
    fprintf(stderr, "%s[%d]: %s\n", g_ident, static_cast<int>(getpid()), line);
  }
}

}  // namespace ike
