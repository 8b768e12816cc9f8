// The pre-shared key store: ConfDir()/psk.db (ike.db.PresharedKeyFile, protobuf
// text format), owner root (or cpsd's own uid), mode 0600 or stricter. Keys
// never leave this class except as input to the PRF; nothing here logs them.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"
#include "ike.pb.h"

namespace ike::cpsd {

// Why a key file is refused, or empty when the file may be used. |name| is the
// path shown in the message. Pure so the policy is unit-testable without
// chown: a group/world bit set, a non-regular file, or an owner that is
// neither root nor |our_uid| is refused.
std::string CheckKeyFilePermissions(std::string_view name, mode_t mode, uid_t owner, uid_t our_uid);

// Outcome of a SKEYID computation; |code| is OK on success.
struct SkeyidOutcome {
  ipc::ErrorCode code = ipc::OK;
  std::string reason;  // set when code != OK; never contains secret material
  SecretBytes skeyid;
};

class PskStore {
 public:
  PskStore() = default;

  // Reads and validates |path| (permissions first, then syntax and content).
  // Errors are one line: "path: mode 0644 is too open, must be 0600",
  // "path:3:7: reason" (1-based line and column).
  static Result<PskStore> Load(const std::string& path);
  // Parses file content; |name| is used in messages and in UNKNOWN_PEER
  // reasons. Rejects empty/duplicate remote_id, missing/empty secrets and bad hex.
  static Result<PskStore> Parse(std::string_view text, const std::string& name);

  // The key for a peer: by |remote_id| first, then by |remote_address|
  // (case-insensitive). nullptr when neither is known.
  const SecretBytes* Find(std::string_view remote_id, std::string_view remote_address) const;

  // SKEYID = prf(PSK, Ni_b | Nr_b) (RFC 2409 section 5) for the request's peer.
  SkeyidOutcome ComputeSkeyid(const ipc::SkeyidRequest& request) const;

  size_t size() const { return keys_.size(); }
  const std::string& source() const { return source_; }

 private:
  std::string source_;                       // file the keys came from
  std::map<std::string, SecretBytes> keys_;  // lower-cased remote_id -> key
};

}  // namespace ike::cpsd
