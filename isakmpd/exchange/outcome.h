// What an exchange step asks the SA manager to do. Exchanges compute; the SA
// manager does the transport work (encoding, encryption, retransmission) and
// moves the SA to |next| through its transition function.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ike.pb.h"
#include "isakmpd/exchange/steps.h"
#include "isakmpd/wire/wire.h"

namespace ike::isakmpd {

struct Failure {
  ipc::ErrorCode code = ipc::INTERNAL;
  std::string reason;                      // for ike cmd=list and syslog
  std::optional<wire::NotifyType> notify;  // to tell the peer, if any
  // The peer's message authenticated and we refuse what it says (a
  // RESPONDER-LIFETIME below our minimum): no forgery to wait out, and the
  // peer, which holds the SA as agreed, gets the notify and a Delete for it
  // in a protected Informational (RFC 2408 3.15, RFC 2409 5.7).
  bool delete_at_peer = false;
};

template <typename Step>
struct BasicOutcome {
  std::optional<std::vector<wire::Payload>> send;  // next message to the peer
  bool encrypt = false;
  bool done = false;         // the exchange completed (after sending |send|)
  bool need_skeyid = false;  // ask cpsd for SKEYID, then call OnSkeyid
  std::optional<Failure> failure;
  std::optional<Step> next;  // the step to move to (before sending)

  static BasicOutcome Send(std::vector<wire::Payload> payloads, bool encrypt = false) {
    BasicOutcome o;
    o.send = std::move(payloads);
    o.encrypt = encrypt;
    return o;
  }
  static BasicOutcome Fail(ipc::ErrorCode code, std::string reason,
                           std::optional<wire::NotifyType> notify = std::nullopt) {
    BasicOutcome o;
    o.failure = Failure{code, std::move(reason), notify};
    return o;
  }
  static BasicOutcome Fail(Failure failure) {
    BasicOutcome o;
    o.failure = std::move(failure);
    return o;
  }
  static BasicOutcome Wait() { return BasicOutcome(); }
  BasicOutcome&& To(Step s) && {
    next = s;
    return std::move(*this);
  }
};

using Phase1Outcome = BasicOutcome<Phase1Step>;
using Phase2Outcome = BasicOutcome<QuickModeStep>;

}  // namespace ike::isakmpd
