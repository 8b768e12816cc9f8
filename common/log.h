// Logging through syslog(3). Levels follow AIX: none, error, events,
// information, plus debug. Never pass a secret to these functions.
#pragma once

#include <syslog.h>

#include <cstdarg>
#include <string>
#include <string_view>

// <syslog.h> names two priorities LOG_INFO and LOG_DEBUG, the names of the
// logging macros below. It is included here, before they are defined, so the
// include order in a caller no longer matters (its include guard keeps a later
// #include <syslog.h> from redefining them); callers keep LOG_LOCAL4 & co for
// LogInit, and log.cc maps levels to the priorities itself.
#undef LOG_INFO
#undef LOG_DEBUG

namespace ike {

enum class LogLevel { kNone = 1, kError = 2, kEvents = 3, kInformation = 4, kDebug = 5 };

// openlog(ident, LOG_PID|LOG_NDELAY, facility); facility default LOG_LOCAL4.
// If the environment variable IKE_LOG_STDERR=1 is set, lines also go to stderr.
void LogInit(const char* ident, int facility);
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
bool LogEnabled(LogLevel level);
const char* LogLevelName(LogLevel level);
// Parses none|error|events|information|debug (case-insensitive).
bool ParseLogLevel(std::string_view name, LogLevel* out);

// error -> LOG_ERR, events -> LOG_NOTICE, information -> LOG_INFO, debug -> LOG_DEBUG.
void Logf(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace ike

#define IKE_LOG(level, ...)                                        \
  do {                                                             \
    if (::ike::LogEnabled(level)) ::ike::Logf(level, __VA_ARGS__); \
  } while (0)
#define LOG_ERROR(...) IKE_LOG(::ike::LogLevel::kError, __VA_ARGS__)
#define LOG_EVENT(...) IKE_LOG(::ike::LogLevel::kEvents, __VA_ARGS__)
#define LOG_INFO(...) IKE_LOG(::ike::LogLevel::kInformation, __VA_ARGS__)
#define LOG_DEBUG(...) IKE_LOG(::ike::LogLevel::kDebug, __VA_ARGS__)
