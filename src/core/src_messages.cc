#include "src/core/src_messages.h"

#include <sys/wait.h>

#include "src/core/subsystems.h"

namespace ike::src {
namespace {

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

}  // namespace

std::string MsgStarted(const std::string& name, int pid) {
  return "0513-059 The " + name + " Subsystem has been started. Subsystem PID is " +
         std::to_string(pid) + ".";
}

std::vector<std::string> MsgAlreadyActive(const std::string& name) {
  return {"0513-029 The " + name + " Subsystem is already active.",
          "Multiple instances are not supported."};
}

std::string MsgRequestedStop(const std::string& name) {
  return "0513-044 The " + name + " Subsystem was requested to stop.";
}

std::string MsgInoperative(const std::string& target) {
  return "0513-004 The Subsystem or Group, " + target + ", is currently inoperative.";
}

std::string MsgRefreshDone() {
  return "0513-095 The request for subsystem refresh was completed successfully.";
}

std::string MsgRefreshNotActive(const std::string& name) {
  return "0513-036 The request could not be passed to the " + name +
         " subsystem. Start the subsystem and try your command again.";
}

bool IsSuccessLine(const std::string& line) {
  for (const char* code : {"0513-059 ", "0513-044 ", "0513-095 "}) {
    if (line.rfind(code, 0) == 0) return true;
  }
  return false;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFSIGNALED(wait_status)) return "signal " + std::to_string(WTERMSIG(wait_status));
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  return "status " + std::to_string(wait_status);
}

std::vector<std::string> LastLines(const std::string& text, size_t n) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<long>(n));
  return lines;
}

std::string FormatStatusTable(const std::vector<ipc::SubsystemStatus>& rows) {
  std::string out = "Subsystem         Group            PID          Status\n";
  for (const auto& row : rows) {
    std::string pid = row.pid() > 0 ? std::to_string(row.pid()) : "";
    out += " " + Pad(row.name(), 17) + Pad(row.group(), 17) + Pad(pid, 13) + row.status() + "\n";
  }
  return out;
}

std::vector<ipc::SubsystemStatus> InoperativeStatuses(const std::vector<std::string>& names) {
  std::vector<ipc::SubsystemStatus> rows;
  for (const auto& name : names) {
    ipc::SubsystemStatus row;
    row.set_name(name);
    row.set_group(std::string(kGroupIke));
    row.set_status(kStatusInoperative);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace ike::src
