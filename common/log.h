// Logging through syslog(3). Levels follow AIX: none, error, events,
// information, plus debug. Never pass a secret to these functions.
#pragma once

#include <syslog.h>

#include <cstdarg>
#include <functional>
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

// Lines go to the local syslog socket (|socket_path|, /dev/log) as
// "<PRI>Mmm dd hh:mm:ss ident[pid]: text", what syslog(3) sends. If the
// environment variable IKE_LOG_STDERR=1 is set, lines also go to stderr.
void LogInit(const char* ident, int facility, const char* socket_path = "/dev/log");

// Batching, so a daemon never waits for syslogd on its event loop
// (performance.md point 3; a busy or stuck syslogd used to block isakmpd in
// sendto). While a thread has called LogDeferTo, its lines are queued and
// |schedule(delay_ms)| is asked for a later LogFlush() on that thread; the
// flush sends the batch with sendmmsg and never blocks: what the socket does
// not take is retried later, and beyond 20,000 queued lines the oldest are
// dropped and counted in a line of their own. Error lines, lines from other
// threads and every line while nothing defers are sent at once. EventLoop::Run
// defers while it runs (common/event_loop.h).
void LogDeferTo(std::function<void(int delay_ms)> schedule);
// Ends deferring (on the thread that started it) and sends what is queued,
// waiting for the socket if it must.
void LogStopDeferring();
// Sends what is queued without waiting; asks for another call if some is left.
void LogFlush();
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
