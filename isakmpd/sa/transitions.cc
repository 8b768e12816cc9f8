#include "isakmpd/sa/transitions.h"

#include "isakmpd/exchange/state_names.h"

namespace ike::isakmpd {
namespace {

template <typename Step>
struct Edge {
  Step from, to;
};

using M = Phase1Step;
// Main Mode (steps.h); both roles in one table, the name table rules out
// steps a role never takes.
constexpr Edge<M> kMainModeEdges[] = {
    {M::kInit, M::kSaSent},
    {M::kInit, M::kSaAnswered},
    {M::kSaSent, M::kKeSent},
    {M::kSaAnswered, M::kAwaitSkeyid},
    {M::kKeSent, M::kAwaitSkeyid},
    {M::kAwaitSkeyid, M::kAuthSent},
    {M::kAwaitSkeyid, M::kKeAnswered},
    {M::kKeAnswered, M::kDone},
    {M::kAuthSent, M::kDone},
};

// Aggressive Mode, one table per role: both roles pass kAwaitSkeyid, and
// leave it differently (the responder needs SKEYID before it answers).
constexpr Edge<M> kAggressiveInitiatorEdges[] = {
    {M::kInit, M::kSaSent},
    {M::kSaSent, M::kAwaitSkeyid},
    {M::kAwaitSkeyid, M::kDone},
};
constexpr Edge<M> kAggressiveResponderEdges[] = {
    {M::kInit, M::kAwaitSkeyid},
    {M::kAwaitSkeyid, M::kSaAnswered},
    {M::kSaAnswered, M::kDone},
};

using Q = QuickModeStep;
constexpr Edge<Q> kQuickModeEdges[] = {
    {Q::kAwaitSpi, Q::kHashSaNonceSent}, {Q::kAwaitSpi, Q::kHashSaNonceAnswered},
    {Q::kHashSaNonceSent, Q::kKeyed},    {Q::kKeyed, Q::kDone},
    {Q::kHashSaNonceAnswered, Q::kDone},
};

template <typename Step, size_t N>
bool InTable(const Edge<Step> (&table)[N], Step from, Step to) {
  for (const auto& e : table)
    if (e.from == from && e.to == to) return true;
  return false;
}

// kFailed from any negotiating step, kDeleted from any live one.
template <typename Step>
bool Terminal(Step from, Step to) {
  const bool ended = from == Step::kFailed || from == Step::kDeleted;
  if (ended) return false;
  if (to == Step::kDeleted) return true;
  return to == Step::kFailed && from != Step::kDone;
}

}  // namespace

bool LegalTransition(Phase1Mode mode, Phase1Step from, Phase1Step to, Role role) {
  if (std::string_view(Phase1Names(mode, to, role).ibm) == "?") return false;
  if (Terminal(from, to)) return true;
  if (mode == Phase1Mode::kMain) return InTable(kMainModeEdges, from, to);
  return role == Role::kInitiator ? InTable(kAggressiveInitiatorEdges, from, to)
                                  : InTable(kAggressiveResponderEdges, from, to);
}

bool LegalTransition(QuickModeStep from, QuickModeStep to, Role role) {
  if (std::string_view(QuickModeNames(to, role).ibm) == "?") return false;
  return Terminal(from, to) || InTable(kQuickModeEdges, from, to);
}

uint64_t PacketCounters::dropped_total() const {
  uint64_t n = 0;
  for (const auto& [reason, count] : dropped) n += count;
  return n;
}

uint64_t KindCounters::failed_total() const {
  uint64_t n = 0;
  for (const auto& [code, count] : failed) n += count;
  return n;
}

}  // namespace ike::isakmpd
