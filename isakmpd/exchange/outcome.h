// What an exchange step asks the SA manager to do. Exchanges compute; the SA
// manager does the transport work (encoding, encryption, retransmission).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ike.pb.h"
#include "isakmpd/exchange/states.h"
#include "isakmpd/wire/wire.h"

namespace ike::isakmpd {

struct Failure {
  ipc::ErrorCode code = ipc::INTERNAL;
  std::string reason;                      // for ike cmd=list and syslog
  std::optional<wire::NotifyType> notify;  // to tell the peer, if any
};

struct Outcome {
  std::optional<std::vector<wire::Payload>> send;  // next message to the peer
  bool encrypt = false;
  bool done = false;         // the exchange completed (after sending |send|)
  bool need_skeyid = false;  // ask cpsd for SKEYID, then call OnSkeyid
  std::optional<Failure> failure;
  std::optional<Phase1State> phase1_state;  // the state to move to
  std::optional<Phase2State> phase2_state;

  static Outcome Send(std::vector<wire::Payload> payloads, bool encrypt = false) {
    Outcome o;
    o.send = std::move(payloads);
    o.encrypt = encrypt;
    return o;
  }
  static Outcome Fail(ipc::ErrorCode code, std::string reason,
                      std::optional<wire::NotifyType> notify = std::nullopt) {
    Outcome o;
    o.failure = Failure{code, std::move(reason), notify};
    return o;
  }
  static Outcome Wait() { return Outcome(); }
};

}  // namespace ike::isakmpd
