// isakmpd's requests to tmd over the tmd connection, and their replies:
//   - AllocateSpi (issue 7, hole 4.f): tmd's kernel interface knows every
//     live SPI, so isakmpd asks it for each inbound SPI instead of drawing
//     its own (the engine's SpiAllocator port, isakmpd/sa/ports.h);
//   - confirmed events: a Phase2Established whose inbound SA must be in the
//     kernel before the message that lets the peer send on it leaves
//     (EventSink::EmitAndWait; tmd answers Ack or Error once it acted).
// IsakmpdService hands it tmd's replies.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>

#include "common/address.h"
#include "common/clock.h"
#include "ike.pb.h"
#include "isakmpd/sa/ports.h"

namespace ike::isakmpd {

class TmdRequests : public SpiAllocator {
 public:
  // Queues an envelope on isakmpd's tmd connection; false when tmd is not
  // connected (ipc::Client::Send).
  using SendFn = std::function<bool(const ipc::Envelope&)>;
  // A reply that does not come within |spi_timeout| completes the request
  // with nullopt; the exchange waiting for it then fails by its own rules.
  static constexpr Duration kDefaultTimeout{5000};
  // tmd acts on an event within milliseconds; a busy or wedged tmd must not
  // hold a message back for longer than this (the peer retransmits after
  // seconds).
  static constexpr Duration kDefaultConfirmTimeout{500};

  // |timers| must outlive the client.
  TmdRequests(SendFn send, Timers& timers, Duration spi_timeout = kDefaultTimeout,
              Duration confirm_timeout = kDefaultConfirmTimeout);
  ~TmdRequests();
  TmdRequests(const TmdRequests&) = delete;
  TmdRequests& operator=(const TmdRequests&) = delete;

  // Asks tmd for an inbound SPI to |local| (our address: the SA's
  // destination). |protocol| is the RFC 2407 4.4.1 protocol id (2 AH, 3
  // ESP). |done| runs exactly once, later (never inside Allocate): with the
  // SPI, or with nullopt on an Error reply, a timeout, a lost connection or
  // when tmd is not connected.
  void Allocate(const IpAddress& local, const IpAddress& remote, uint8_t protocol,
                std::function<void(std::optional<uint32_t>)> done) override;
  // Sends |event| with a request id; |done| runs exactly once, later: when
  // tmd answers it (Ack or Error alike: tmd logs its own failures), on the
  // confirm timeout, on a lost connection or when tmd is not connected.
  void Confirm(ipc::Envelope event, std::function<void()> done);

  // Every Ack, AllocateSpiReply and Error isakmpd receives from tmd: true
  // when it answered one of our requests (and was consumed), false
  // otherwise. A reply after the timeout is consumed and dropped.
  bool OnReply(const ipc::Envelope& envelope);
  // The tmd connection closed: every outstanding request ends (nullopt).
  void OnDisconnected();

  size_t pending() const { return pending_.size(); }

 private:
  // |reply| is tmd's answer, or nullptr when there is none.
  using Done = std::function<void(const ipc::Envelope* reply)>;
  struct Pending {
    Done done;
    TimerId timer = 0;
  };
  void Send(ipc::Envelope& request, Duration timeout, const char* what, Done done);
  void Finish(uint64_t id, const ipc::Envelope* reply);

  SendFn send_;
  Timers& timers_;
  Duration spi_timeout_;
  Duration confirm_timeout_;
  std::unordered_map<uint64_t, Pending> pending_;
  // Its own id range, apart from the ids tmd's requests carry (tmd's
  // replies to isakmpd answer only isakmpd's requests, but a distinct range
  // keeps a stray reply from completing the wrong request).
  static constexpr uint64_t kFirstId = uint64_t{1} << 62;
  uint64_t next_id_ = kFirstId;
};

}  // namespace ike::isakmpd
