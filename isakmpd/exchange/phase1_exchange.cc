#include "isakmpd/exchange/phase1_exchange.h"

#include "isakmpd/exchange/aggressive_mode.h"
#include "isakmpd/exchange/main_mode.h"

namespace ike::isakmpd::phase1 {
namespace {

bool Aggressive(const Phase1Context& sa) { return sa.mode == Phase1Mode::kAggressive; }

}  // namespace

Phase1Outcome Start(Phase1Context& sa, Phase1Exchange& ex, const ExchangeTools& tools) {
  return Aggressive(sa) ? aggressive_mode::InitiatorSendSaKeId(sa, ex, tools)
                        : main_mode::InitiatorSendSa(sa, ex);
}

Phase1Outcome Receive(Phase1Context& sa, Phase1Exchange& ex,
                      const std::vector<wire::Payload>& payloads, const ExchangeTools& tools) {
  return Aggressive(sa) ? aggressive_mode::Receive(sa, ex, payloads, tools)
                        : main_mode::Receive(sa, ex, payloads, tools);
}

Phase1Outcome OnSkeyid(Phase1Context& sa, Phase1Exchange& ex, SecretBytes skeyid) {
  return Aggressive(sa) ? aggressive_mode::OnSkeyid(sa, ex, std::move(skeyid))
                        : main_mode::OnSkeyid(sa, ex, std::move(skeyid));
}

std::optional<wire::MessageKind> ExpectedMessage(const Phase1Context& sa) {
  return Aggressive(sa) ? aggressive_mode::ExpectedMessage(sa) : main_mode::ExpectedMessage(sa);
}

int MessageSentIn(Phase1Mode mode, Phase1Step step, Role role) {
  return mode == Phase1Mode::kAggressive ? aggressive_mode::MessageSentIn(step, role)
                                         : main_mode::MessageSentIn(step);
}

int MessageReached(Phase1Mode mode, Phase1Step step, Role role) {
  const bool init = role == Role::kInitiator;
  if (mode == Phase1Mode::kAggressive) {
    switch (step) {
      case Phase1Step::kAwaitSkeyid:
        return init ? 2 : 1;  // received
      case Phase1Step::kDone:
        return 3;
      default:
        return MessageSentIn(mode, step, role);
    }
  }
  // The Main Mode responder reaches kKeAnswered after sending message 4;
  // every other step is named after the message sent on entering it.
  if (step == Phase1Step::kKeAnswered) return 4;
  return main_mode::MessageSentIn(step);
}

wire::ExchangeType ExchangeTypeOf(Phase1Mode mode) {
  return mode == Phase1Mode::kAggressive ? wire::ExchangeType::kAggressive
                                         : wire::ExchangeType::kIdentityProtection;
}

bool PeerWentOn(const Phase1Context& sa) {
  if (sa.role == Role::kInitiator) return true;
  switch (sa.step) {
    case Phase1Step::kInit:
    case Phase1Step::kSaAnswered:
      return false;
    case Phase1Step::kAwaitSkeyid:  // Main Mode: message 3 arrived
      return sa.mode == Phase1Mode::kMain;
    default:
      return true;
  }
}

}  // namespace ike::isakmpd::phase1
