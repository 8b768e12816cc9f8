// SRC output: the AIX message lines and the lssrc table. Pure functions so
// the exact texts are unit-tested. Numbered messages are the AIX ones
// (0513-004/029/036/044/059/085/086/095); the lines AIX has no equivalent
// for (start failures, restarts) carry no number.
#pragma once

#include <string>
#include <vector>

#include "ike.pb.h"

namespace ike::src {

inline constexpr const char* kStatusActive = "active";
inline constexpr const char* kStatusInoperative = "inoperative";
inline constexpr const char* kStatusStarting = "starting";
inline constexpr const char* kStatusStopping = "stopping";

std::string MsgStarted(const std::string& name, int pid);
// Two lines: "0513-029 The tmd Subsystem is already active." and
// "Multiple instances are not supported.".
std::vector<std::string> MsgAlreadyActive(const std::string& name);
std::string MsgRequestedStop(const std::string& name);
// |target| is the group or subsystem named on the command line.
std::string MsgInoperative(const std::string& target);
std::string MsgRefreshDone();
std::string MsgRefreshNotActive(const std::string& name);

// Whether a reply line reports success (stdout) or a problem (stderr); AIX
// prints "already active" and "inoperative" on stderr, which scripts rely on.
bool IsSuccessLine(const std::string& line);

// "exit status 1" / "signal 9" for a waitpid() status.
std::string DescribeWaitStatus(int wait_status);
// The last |n| non-empty lines of |text|, in order.
std::vector<std::string> LastLines(const std::string& text, size_t n);

// lssrc: header plus one row per subsystem, each ending in '\n'. PID is left
// blank when 0.
std::string FormatStatusTable(const std::vector<ipc::SubsystemStatus>& rows);
// What lssrc shows when srcmstr is not running: every row inoperative.
std::vector<ipc::SubsystemStatus> InoperativeStatuses(const std::vector<std::string>& names);

}  // namespace ike::src
