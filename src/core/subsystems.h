// The SRC object table: which subsystems exist, their group and start order.
// The suite has one group, "ike" = tmd, isakmpd, cpsd (tmd first: isakmpd
// connects to it and expects its configuration push).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace ike::src {

inline constexpr std::string_view kGroupIke = "ike";

// The members of group ike, in start order.
const std::vector<std::string>& GroupMembers();
bool IsKnownSubsystem(std::string_view name);

// The subsystems a command addresses: the whole group (start order) or one
// subsystem. Exactly one of |group| / |subsystem| is set by the parsers.
// Errors are the AIX lines "0513-085 The NAME Subsystem is not on file." and
// "0513-086 The NAME Group is not on file.".
Result<std::vector<std::string>> ResolveTarget(std::string_view group, std::string_view subsystem);

// Stop order: everything else before tmd, so isakmpd can still report its
// deletes to tmd while stopping.
std::vector<std::string> StopOrder(const std::vector<std::string>& names);

// Where a program finds another (conventions.md): $IKE_SBINDIR, the directory
// of its own executable, then ../sbin relative to it. |is_executable| is
// injected so the search order is testable. Empty when not found.
std::string FindBinary(std::string_view name, std::string_view env_sbindir,
                       std::string_view self_exe, bool (*is_executable)(const std::string& path));
// FindBinary with the real environment, /proc/self/exe and access(X_OK).
std::string FindInstalledBinary(std::string_view name);

}  // namespace ike::src
