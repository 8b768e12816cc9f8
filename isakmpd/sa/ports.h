// The SA manager's view of the outside world: small interfaces the daemon
// implements with real sockets and IPC, and tests with fakes.
#pragma once

#include <functional>

#include "common/address.h"
#include "common/bytes.h"
#include "common/result.h"
#include "ike.pb.h"

namespace ike::isakmpd {

class PacketSink {
 public:
  virtual ~PacketSink() = default;
  // Sends from our socket bound to |from| (false if we have none there).
  virtual bool SendPacket(const Endpoint& from, const Endpoint& to, ByteView packet) = 0;
};

// Events for tmd (StateChange, Phase1Established, ...), request_id 0.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Emit(ipc::Envelope event) = 0;
};

// cpsd: computes SKEYID for pre-shared keys. |done| runs later on the event
// loop, exactly once (with an error on time-out or if cpsd is unreachable).
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  virtual void RequestSkeyid(const ipc::SkeyidRequest& request,
                             std::function<void(Result<SecretBytes>)> done) = 0;
};

}  // namespace ike::isakmpd
