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
#include "common/log_sink.h"

namespace ike {
namespace {

// Atomic so a SetLogLevel from the IPC handler and a log call from another
// thread (tests, helper threads) never race; daemons are single-threaded.
std::atomic<LogLevel> g_level{LogLevel::kEvents};
std::atomic<bool> g_stderr{false};
char g_ident[64] = "ike";

internal::SyslogSink& Sink() {
  static internal::SyslogSink* const sink = new internal::SyslogSink();  // outlives atexit
  return *sink;
}

// exit() from anywhere (a fatal start-up error, a test) still sends what the
// loop had queued; the event loop is not consulted any more.
void FlushAtExit() { Sink().StopDeferring(); }

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

void LogInit(const char* ident, int facility, const char* socket_path) {
  snprintf(g_ident, sizeof(g_ident), "%s", ident ? ident : "ike");
  const char* env = getenv("IKE_LOG_STDERR");
  g_stderr = env != nullptr && strcmp(env, "1") == 0;
  Sink().Configure(socket_path != nullptr ? socket_path : "/dev/log", g_ident, facility, getpid());
  static bool registered = false;
  if (!registered) registered = atexit(&FlushAtExit) == 0;
}

void LogDeferTo(std::function<void(int delay_ms)> schedule) { Sink().DeferTo(std::move(schedule)); }

void LogStopDeferring() { Sink().StopDeferring(); }

void LogFlush() { Sink().Flush(); }

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
  Sink().Submit(SyslogPriority(level), line, /*urgent=*/level == LogLevel::kError);
  if (g_stderr) {
    // One fprintf per line so concurrent writers to a shared stderr (srcmstr
    // collects its children's) do not interleave mid-line.
    fprintf(stderr, "%s[%d]: %s\n", g_ident, static_cast<int>(getpid()), line);
  }
}

}  // namespace ike
