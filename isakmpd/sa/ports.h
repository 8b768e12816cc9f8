// The SA manager's view of the outside world: small interfaces the daemon
// implements with real sockets and IPC, and tests with fakes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

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
  // RFC 3948 section 4: a NAT keepalive, the one octet 0xFF from |from|
  // (port 4500) to |to|, without the non-ESP marker IKE carries there.
  // The default hands it to SendPacket as it is.
  virtual bool SendNatKeepalive(const Endpoint& from, const Endpoint& to) {
    static constexpr uint8_t kKeepalive = 0xff;
    return SendPacket(from, to, ByteView(&kKeepalive, 1));
  }
};

// Events for tmd (StateChange, Phase1Established, ...): Emit's carry
// request_id 0, EmitAndWait's one tmd answers (proto/ike.proto).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Emit(ipc::Envelope event) = 0;
  // A Phase2Established whose inbound SA must be in the kernel before the
  // message that lets the peer send on it leaves (sa_phase2.cc): |done|
  // runs once tmd acted on it (it answers a request id Ack or Error), or
  // when it cannot answer (not connected, gone, or too slow). The service
  // runs |done| later, on the loop; the default, for sinks without a tmd,
  // at once: callers accept both.
  virtual void EmitAndWait(ipc::Envelope event, std::function<void()> done) {
    Emit(std::move(event));
    done();
  }
};

// cpsd: computes SKEYID for pre-shared keys. |done| runs later on the event
// loop, exactly once (with an error on time-out or if cpsd is unreachable).
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  virtual void RequestSkeyid(const ipc::SkeyidRequest& request,
                             std::function<void(Result<SecretBytes>)> done) = 0;
};

// Inbound SPIs (hole f): tmd's kernel interface knows every live SPI (with
// XFRM later: ALLOCSPI). |done| runs later on the event loop (or at once),
// with nullopt if no SPI could be had; the SA manager calls it at most once
// per request that matters, ignores a second answer and answers for an
// exchange that is gone, and gives up on its own after a time-out.
class SpiAllocator {
 public:
  virtual ~SpiAllocator() = default;
  // |protocol|: the IPsec protocol id (3 = ESP, RFC 2407 4.4.1).
  // |local| is the inbound SA's destination, |remote| its source (the
  // peer): XFRM_MSG_ALLOCSPI keys its larval SA by both.
  virtual void Allocate(const IpAddress& local, const IpAddress& remote, uint8_t protocol,
                        std::function<void(std::optional<uint32_t>)> done) = 0;
};

// settings.ike_key_log (troubleshooting, README "Key log for Wireshark"):
// where the SA manager sends each phase 1 SA's line for Wireshark's
// ikev1_decryption_table. The line carries the IKE encryption key: an
// implementation writes it to |path| and nowhere else (never to a log), and
// reports its own failures without the line.
class KeyLogSink {
 public:
  virtual ~KeyLogSink() = default;
  // |path|: settings.ike_key_log, never empty; |line|: "icookie,key\n" in
  // lower-case hex. Called once per phase 1 SA, when its keys exist.
  virtual void AppendKeyLine(const std::string& path, const SecretBytes& line) = 0;
};

}  // namespace ike::isakmpd
