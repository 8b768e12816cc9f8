#include "isakmpd/sa/fragments.h"

#include <algorithm>

namespace ike::isakmpd {

const char* FragmentReassembler::ResultName(Result r) {
  switch (r) {
    case Result::kKept:
      return "kept";
    case Result::kComplete:
      return "complete";
    case Result::kDuplicate:
      return "duplicate";
    case Result::kRestarted:
      return "a new message under the same fragment ID";
    case Result::kTooMany:
      return "too many fragments";
    case Result::kTooLarge:
      return "message too large";
    case Result::kInconsistent:
      return "inconsistent last fragment";
  }
  return "?";
}

void FragmentReassembler::DropExpired(uint64_t now_ms) {
  std::erase_if(pending_, [&](const auto& entry) {
    return now_ms - entry.second.first_ms > limits_.max_age_ms;
  });
}

void FragmentReassembler::MakeRoom() {
  while (pending_.size() >= limits_.max_reassemblies) {
    auto oldest = std::min_element(
        pending_.begin(), pending_.end(),
        [](const auto& a, const auto& b) { return a.second.first_ms < b.second.first_ms; });
    pending_.erase(oldest);
  }
}

FragmentReassembler::Outcome FragmentReassembler::Add(const wire::Fragment& f, uint64_t now_ms) {
  DropExpired(now_ms);
  const Key key{f.header.icookie, f.header.rcookie, f.header.message_id, f.id};
  auto it = pending_.find(key);
  if (it == pending_.end()) {
    MakeRoom();
    it = pending_.emplace(key, Pending{now_ms, 0, 0, {}}).first;
  }
  Pending& p = it->second;
  if (f.number > limits_.max_fragments || p.slices.size() >= limits_.max_fragments) {
    pending_.erase(it);
    return {Result::kTooMany, {}};
  }
  // Two different last fragments, or a fragment beyond the last: not one message.
  if ((f.last && p.last != 0 && p.last != f.number) || (p.last != 0 && f.number > p.last) ||
      (f.last && !p.slices.empty() && p.slices.rbegin()->first > f.number)) {
    pending_.erase(it);
    return {Result::kInconsistent, {}};
  }
  if (auto same = p.slices.find(f.number); same != p.slices.end()) {
    if (same->second == f.data) return {Result::kDuplicate, {}};  // a retransmission
    // Carriers all say message ID 0 and a sender may reuse its fragment ID
    // (strongSwan), so a different slice under a number we hold is the next
    // message: what is held of the last one will never complete.
    p = Pending{now_ms, 0, 0, {}};
    Outcome again = Add(f, now_ms);  // cannot recurse again: nothing is held
    if (again.result == Result::kKept) again.result = Result::kRestarted;
    return again;
  }
  if (p.octets + f.data.size() > limits_.max_octets) {
    pending_.erase(it);
    return {Result::kTooLarge, {}};
  }
  p.octets += f.data.size();
  p.slices.emplace(f.number, f.data);
  if (f.last) p.last = f.number;
  if (p.last == 0 || p.slices.size() != p.last) return {Result::kKept, {}};
  Outcome done{Result::kComplete, {}, p.slices.size()};
  done.message.reserve(p.octets);
  for (const auto& [number, slice] : p.slices) Append(done.message, slice);
  pending_.erase(it);
  return done;
}

}  // namespace ike::isakmpd
