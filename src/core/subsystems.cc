#include "src/core/subsystems.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace ike::src {

const std::vector<std::string>& GroupMembers() {
  static const std::vector<std::string> kMembers = {"tmd", "isakmpd", "cpsd"};
  return kMembers;
}

bool IsKnownSubsystem(std::string_view name) {
  const auto& members = GroupMembers();
  return std::find(members.begin(), members.end(), name) != members.end();
}

Result<std::vector<std::string>> ResolveTarget(std::string_view group, std::string_view subsystem) {
  if (!subsystem.empty()) {
    if (!IsKnownSubsystem(subsystem)) {
      return Error{"0513-085 The " + std::string(subsystem) + " Subsystem is not on file."};
    }
    return std::vector<std::string>{std::string(subsystem)};
  }
  if (group != kGroupIke) {
    return Error{"0513-086 The " + std::string(group) + " Group is not on file."};
  }
  return GroupMembers();
}

std::vector<std::string> StopOrder(const std::vector<std::string>& names) {
  std::vector<std::string> order;
  for (const auto& n : names) {
    if (n != "tmd") order.push_back(n);
  }
  for (const auto& n : names) {
    if (n == "tmd") order.push_back(n);
  }
  return order;
}

std::string FindBinary(std::string_view name, std::string_view env_sbindir,
                       std::string_view self_exe, bool (*is_executable)(const std::string& path)) {
  namespace fs = std::filesystem;
  std::vector<fs::path> dirs;
  if (!env_sbindir.empty()) dirs.emplace_back(env_sbindir);
  if (!self_exe.empty()) {
    fs::path own = fs::path(self_exe).parent_path();
    dirs.push_back(own);
    dirs.push_back(own.parent_path() / "sbin");
  }
  for (const auto& dir : dirs) {
    std::string candidate = (dir / name).string();
    if (is_executable(candidate)) return candidate;
  }
  return "";
}

std::string FindInstalledBinary(std::string_view name) {
  const char* env = std::getenv("IKE_SBINDIR");
  std::error_code ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  return FindBinary(name, env ? env : "", ec ? "" : self, [](const std::string& path) {
    return access(path.c_str(), X_OK) == 0 && !std::filesystem::is_directory(path);
  });
}

}  // namespace ike::src
