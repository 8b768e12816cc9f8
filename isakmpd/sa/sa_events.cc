// The transition functions (one per SA kind), the events tmd sees, the
// counters, and what a broken invariant does (bug.h).
#include "isakmpd/exchange/state_names.h"
#include "isakmpd/sa/ipc_enums.h"
#include "isakmpd/sa/sa_manager.h"

namespace ike::isakmpd {
namespace {

std::string TunnelText(uint32_t tunnel) {
  return tunnel ? std::to_string(tunnel) : std::string("-");
}

bool Ended(Phase1Step s) { return s == Phase1Step::kFailed || s == Phase1Step::kDeleted; }
bool Ended(QuickModeStep s) { return s == QuickModeStep::kFailed || s == QuickModeStep::kDeleted; }

void Count(KindCounters& c, size_t step, bool established, bool deleted) {
  if (step < c.entered.size()) ++c.entered[step];
  if (established) ++c.established;
  if (deleted) ++c.deleted;
}

}  // namespace

IsakmpSa* SaManager::FindSa(uint64_t handle) {
  auto it = sas_.find(handle);
  return it == sas_.end() ? nullptr : it->second.get();
}

IpsecSa* SaManager::FindChild(uint64_t handle) {
  auto it = children_.find(handle);
  return it == children_.end() ? nullptr : it->second.get();
}

bool SaManager::Transition(IsakmpSa& sa, Phase1Step next, std::string* done_text) {
  if (sa.step == next) return true;
  const StateNames from = Phase1Names(sa.mode, sa.step, sa.role);
  const StateNames to = Phase1Names(sa.mode, next, sa.role);
  if (!LegalTransition(sa.mode, sa.step, next, sa.role)) {
    ++counters_.isakmp.illegal_transitions;
    LogLine(LogLevel::kError, sa,
            std::string("cannot switch ") + Phase1StepName(sa.step) + " -> " +
                Phase1StepName(next) + " (" + from.ibm + " -> " + to.ibm + ", " +
                RoleName(sa.role) + ")");
    return false;
  }
  const Phase1Step old = sa.step;
  sa.step = next;
  Count(counters_.isakmp, static_cast<size_t>(next), next == Phase1Step::kDone,
        next == Phase1Step::kDeleted);
  if (next == Phase1Step::kDone && sa.replaces != 0) ++counters_.isakmp.rekeyed;
  // Failure and deletion have their own lines and events (NegotiationFailed,
  // SaDeleted); steps that keep the operators' names are not news to them.
  if (Ended(next)) return true;
  if (std::string_view(from.ibm) == to.ibm) {
    // Only Cisco's name moved (IN KE is MM_KEY_EXCH, then MM_WAIT_MSG6):
    // tmd's listing follows (states=ios|asa), the log does not repeat itself.
    // A responder's first answer stays unreported (half_open.h, below).
    const bool cisco_moved =
        std::string_view(from.cisco) != to.cisco || std::string_view(from.asa) != to.asa;
    const bool unreported = sa.role == Role::kResponder &&
                            (next == Phase1Step::kSaAnswered || old == Phase1Step::kSaAnswered);
    if (cisco_moved && !unreported) EmitStateChange(sa, old, next);
    return true;
  }
  // half_open.h: a responder SA that only answered a message 1 is reported
  // (log line, the event that makes tmd number a tunnel) once its peer sends
  // message 3, so a spoofed message 1 flood costs no line and no tunnel per
  // datagram. The deferred INIT -> WAIT KE (Aggressive Mode: IN KE) comes
  // first, then this change.
  if (sa.role == Role::kResponder) {
    if (next == Phase1Step::kSaAnswered) return true;
    if (old == Phase1Step::kSaAnswered) {
      const StateNames init = Phase1Names(sa.mode, Phase1Step::kInit, sa.role);
      LogLine(LogLevel::kEvents, sa,
              std::string(init.ibm) + " -> " + from.ibm + " (" + RoleName(sa.role) + ", " +
                  from.cisco + ")");
      EmitStateChange(sa, Phase1Step::kInit, old);
    }
  }
  std::string text =
      std::string(from.ibm) + " -> " + to.ibm + " (" + RoleName(sa.role) + ", " + to.cisco + ")";
  if (done_text != nullptr) {
    *done_text = std::move(text);
  } else {
    LogLine(LogLevel::kEvents, sa, text);
  }
  EmitStateChange(sa, old, next);
  return true;
}

bool SaManager::Transition(IpsecSa& child, QuickModeStep next, std::string* done_text) {
  if (child.step == next) return true;
  IsakmpSa* p1 = FindSa(child.parent);
  const StateNames from = QuickModeNames(child.step, child.role);
  const StateNames to = QuickModeNames(next, child.role);
  if (!LegalTransition(child.step, next, child.role)) {
    ++counters_.ipsec.illegal_transitions;
    const std::string text = "cannot switch phase 2 tunnel " + TunnelText(child.tunnel) + " " +
                             QuickModeStepName(child.step) + " -> " + QuickModeStepName(next) +
                             " (" + from.ibm + " -> " + to.ibm + ", " + RoleName(child.role) + ")";
    if (p1)
      LogLine(LogLevel::kError, *p1, text);
    else
      LOG_ERROR("%s", text.c_str());
    return false;
  }
  const QuickModeStep old = child.step;
  child.step = next;
  Count(counters_.ipsec, static_cast<size_t>(next), next == QuickModeStep::kDone,
        next == QuickModeStep::kDeleted);
  if (next == QuickModeStep::kDone && child.replaces != 0) ++counters_.ipsec.rekeyed;
  if (Ended(next) || !p1) return true;
  if (std::string_view(from.ibm) == to.ibm) {
    // Only IOS's name moved (INIT: IKE_QM_READY, then IKE_QM_I_QM1): the
    // listing follows, the log does not repeat itself (issue 11.2).
    if (std::string_view(from.cisco) != to.cisco) EmitStateChange(child, old, next, *p1);
    return true;
  }
  EmitStateChange(child, old, next, *p1);
  if (done_text != nullptr && !done_text->empty()) {
    // Chained in one step (the initiator's KEP -> DONE): one line
    // "INIT -> KEP -> DONE (Initiator)", so a tunnel keeps its 6 lines.
    done_text->insert(done_text->rfind(" ("), std::string(" -> ") + to.ibm);
    return true;
  }
  std::string text = "phase 2 tunnel " + TunnelText(child.tunnel) + " message id " +
                     std::to_string(child.message_id) + ": " + from.ibm + " -> " + to.ibm + " (" +
                     RoleName(child.role) + ")";
  if (done_text != nullptr) {
    *done_text = std::move(text);
  } else {
    LogLine(LogLevel::kEvents, *p1, text);
  }
  return true;
}

void SaManager::EmitStateChange(const IsakmpSa& sa, Phase1Step from, Phase1Step to) {
  ipc::Envelope e;
  auto* sc = e.mutable_state_change();
  sc->set_phase(1);
  sc->set_tunnel(sa.tunnel);
  sc->set_handle(sa.handle);
  sc->set_old_phase1(ToIpc(sa.mode, from, sa.role));
  sc->set_new_phase1(ToIpc(sa.mode, to, sa.role));
  sc->set_message(MessageNumber(sa.mode, to, sa.role));
  sc->set_ios_phase1(IosState(sa.mode, to, sa.role));
  sc->set_asa_phase1(AsaState(sa.mode, to, sa.role));
  sc->set_role(ToIpc(sa.role));
  sc->set_mode(ToIpc(sa.mode));
  sc->set_icookie(ToHex(sa.icookie));
  sc->set_rcookie(ToHex(sa.rcookie));
  sc->set_peer(sa.remote.address.ToString());
  deps_.events->Emit(std::move(e));
}

void SaManager::EmitStateChange(const IpsecSa& child, QuickModeStep from, QuickModeStep to,
                                const Phase1Context& p1) {
  ipc::Envelope e;
  auto* sc = e.mutable_state_change();
  sc->set_phase(2);
  sc->set_tunnel(child.tunnel);
  sc->set_handle(child.handle);
  sc->set_old_phase2(ToIpc(from));
  sc->set_new_phase2(ToIpc(to));
  sc->set_message(MessageNumber(to));
  sc->set_ios_phase2(IosState(to, child.role));
  sc->set_role(ToIpc(child.role));
  sc->set_icookie(ToHex(p1.icookie));
  sc->set_rcookie(ToHex(p1.rcookie));
  sc->set_peer(p1.remote.address.ToString());
  deps_.events->Emit(std::move(e));
}

void SaManager::EmitFailure(const IsakmpSa& sa, const Failure& failure) {
  ipc::Envelope e;
  auto* f = e.mutable_negotiation_failed();
  f->set_phase(1);
  f->set_tunnel(sa.tunnel);
  f->set_handle(sa.handle);
  f->set_code(failure.code);
  f->set_reason(failure.reason);
  f->set_state1(ToIpc(sa.mode, sa.step, sa.role));
  f->set_message(MessageNumber(sa.mode, sa.step, sa.role));
  deps_.events->Emit(std::move(e));
}

void SaManager::EmitFailure(const IpsecSa& child, const Failure& failure) {
  ipc::Envelope e;
  auto* f = e.mutable_negotiation_failed();
  f->set_phase(2);
  f->set_tunnel(child.tunnel);
  f->set_handle(child.handle);
  f->set_code(failure.code);
  f->set_reason(failure.reason);
  f->set_state2(ToIpc(child.step));
  f->set_message(MessageNumber(child.step));
  deps_.events->Emit(std::move(e));
}

void SaManager::EmitSaDeleted(uint32_t phase, uint32_t tunnel, uint64_t handle,
                              const std::string& reason, bool by_peer) {
  ipc::Envelope e;
  auto* d = e.mutable_sa_deleted();
  d->set_phase(phase);
  d->set_tunnel(tunnel);
  d->set_handle(handle);
  d->set_reason(reason);
  d->set_by_peer(by_peer);
  deps_.events->Emit(std::move(e));
}

// Style rule 9: a broken invariant is logged and costs one SA, torn down on
// the next loop turn (the caller may be in the middle of updating tables).
void SaManager::Bug(const char* file, int line, const char* condition, uint64_t handle,
                    const char* what) {
  ++counters_.bugs;
  LOG_ERROR("BUG %s:%d: %s (%s); tearing down SA %llu", file, line, condition, what,
            static_cast<unsigned long long>(handle));
  deps_.timers->Schedule(Duration(0), [this, handle] { TearDown(handle); });
}

void SaManager::TearDown(uint64_t handle) {
  const Failure failure{ipc::INTERNAL, "internal error (see the BUG line in the log)",
                        std::nullopt};
  if (IsakmpSa* sa = FindSa(handle)) {
    if (!sa->established()) return FailPhase1(*sa, failure);
    EmitSaDeleted(1, sa->tunnel, handle, failure.reason, false);
    return DeleteSa(handle);
  }
  IpsecSa* child = FindChild(handle);
  if (!child) return;
  if (IsakmpSa* p1 = FindSa(child->parent); p1 && !child->established())
    return FailPhase2(*p1, *child, failure);
  EmitSaDeleted(2, child->tunnel, handle, failure.reason, false);
  RemoveChild(handle);
}

}  // namespace ike::isakmpd
