// ICMP errors for our IKE datagrams (issue 11.3). A peer that sends nothing
// back looks the same whether it is down, filtered or has no IKE; the ICMP
// message its host or a router sends tells them apart. It is not
// authenticated (anyone on the path can forge one), so it only explains a
// negotiation that fails anyway: it never ends one.
#include "isakmpd/sa/sa_manager.h"

namespace ike::isakmpd {
namespace {

// Destinations remembered; past it the oldest entries make room. A few
// hundred peers failing at once is already an outage.
constexpr size_t kMaxUnreachable = 256;

}  // namespace

void SaManager::OnUnreachable(const Endpoint& to, const std::string& what) {
  ++counters_.icmp_errors;
  const TimePoint now = deps_.clock->Now();
  if (unreachable_.size() >= kMaxUnreachable && !unreachable_.contains(to)) {
    auto oldest = unreachable_.begin();
    for (auto it = unreachable_.begin(); it != unreachable_.end(); ++it)
      if (it->second.when < oldest->second.when) oldest = it;
    unreachable_.erase(oldest);
  }
  unreachable_[to] = Unreachable{what, now};
  uint64_t folded = 0;
  if (!AllowRepeat(unreachable_lines_, 1, &folded) || !LogEnabled(LogLevel::kInformation)) return;
  Logf(LogLevel::kInformation, "IKE to %s: %s%s", to.ToString().c_str(), what.c_str(),
       FoldedText(folded).c_str());
}

std::string SaManager::HeardInstead(const Endpoint& to, TimePoint since) const {
  auto it = unreachable_.find(to);
  if (it == unreachable_.end() || it->second.when < since) return "";
  return "; instead of an answer: " + it->second.what;
}

}  // namespace ike::isakmpd
