// Reassembly of IKEv1 fragments (issue 10.8; codec: isakmpd/wire/fragment.h).
// Fragments come before any check of who sent them (the rebuilt message is
// authenticated as a whole), so everything here is bounded: slots, fragments
// per message, octets per message, and age. When the slots are full the
// oldest reassembly gives way.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "common/bytes.h"
#include "isakmpd/wire/fragment.h"

namespace ike::isakmpd {

struct FragmentLimits {
  size_t max_reassemblies = 64;   // messages being rebuilt at once
  size_t max_fragments = 32;      // per message (a certificate chain at 576 octets)
  size_t max_octets = 64 * 1024;  // per message, slices summed
  uint64_t max_age_ms = 30000;    // since the first fragment of the message
};

class FragmentReassembler {
 public:
  explicit FragmentReassembler(FragmentLimits limits = {}) : limits_(limits) {}

  // What Add did with a fragment (for the log and the counters).
  // kRestarted: kept, but it replaced what was held under its key (a new
  // message; carriers all say message ID 0 and IDs may be reused).
  enum class Result {
    kKept,
    kComplete,
    kDuplicate,
    kRestarted,
    kTooMany,
    kTooLarge,
    kInconsistent
  };
  struct Outcome {
    Result result = Result::kKept;
    Bytes message;         // with kComplete: the rebuilt message, header included
    size_t fragments = 0;  // with kComplete: how many it came in
  };
  Outcome Add(const wire::Fragment& fragment, uint64_t now_ms);
  size_t pending() const { return pending_.size(); }
  static const char* ResultName(Result r);

 private:
  using Key = std::tuple<wire::Cookie, wire::Cookie, uint32_t, uint16_t>;
  struct Pending {
    uint64_t first_ms = 0;
    uint8_t last = 0;  // the last fragment's number, once seen
    size_t octets = 0;
    std::map<uint8_t, Bytes> slices;
  };
  void DropExpired(uint64_t now_ms);
  void MakeRoom();

  FragmentLimits limits_;
  std::map<Key, Pending> pending_;
};

}  // namespace ike::isakmpd
