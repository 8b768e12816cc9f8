// The key log file (settings.ike_key_log): isakmpd's KeyLogSink
// (isakmpd/sa/ports.h). Each line is appended with its own open, write and
// close, so a file removed or rotated while the key log is on is simply
// created again, and nothing stays open when the setting goes off.
#pragma once

#include <string>

#include "isakmpd/sa/ports.h"

namespace ike::isakmpd {

class KeyLogFile : public KeyLogSink {
 public:
  // Appends |line| to |path| (O_APPEND, created mode 0600, symbolic links
  // not followed). Refuses a file that is not a regular file or not owned
  // by our effective user (root for the daemon); takes group and other
  // access away from one that had it. A failure is logged (once until the
  // next success, without the line) and the line dropped.
  void AppendKeyLine(const std::string& path, const SecretBytes& line) override;

 private:
  void Report(const std::string& path, const std::string& problem);
  std::string last_problem_;  // logged already
};

}  // namespace ike::isakmpd
