// isakmpd's client for inbound SPIs (issue 7, hole 4.f): tmd's kernel
// interface knows every live SPI, so isakmpd asks it (AllocateSpi over the
// tmd connection, proto/ike.proto) instead of drawing its own. The engine
// reaches it through its SpiAllocator port (isakmpd/sa/ports.h), which this
// implements; IsakmpdService hands it tmd's replies.
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

class SpiClient : public SpiAllocator {
 public:
  // Queues an envelope on isakmpd's tmd connection; false when tmd is not
  // connected (ipc::Client::Send).
  using SendFn = std::function<bool(const ipc::Envelope&)>;
  // A reply that does not come within |timeout| completes the request with
  // nullopt; the exchange waiting for it then fails by its own rules.
  static constexpr Duration kDefaultTimeout{5000};

  // |timers| must outlive the client.
  SpiClient(SendFn send, Timers& timers, Duration timeout = kDefaultTimeout);
  ~SpiClient();
  SpiClient(const SpiClient&) = delete;
  SpiClient& operator=(const SpiClient&) = delete;

  // Asks tmd for an inbound SPI to |local| (our address: the SA's
  // destination). |protocol| is the RFC 2407 4.4.1 protocol id (2 AH, 3
  // ESP). |done| runs exactly once, later (never inside Allocate): with the
  // SPI, or with nullopt on an Error reply, a timeout, a lost connection or
  // when tmd is not connected.
  void Allocate(const IpAddress& local, const IpAddress& remote, uint8_t protocol,
                std::function<void(std::optional<uint32_t>)> done) override;

  // Every AllocateSpiReply and Error isakmpd receives from tmd: true when it
  // answered one of our requests (and was consumed), false otherwise. A
  // reply after the timeout is consumed and dropped.
  bool OnReply(const ipc::Envelope& envelope);
  // The tmd connection closed: every outstanding request gets nullopt.
  void OnDisconnected();

  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    std::function<void(std::optional<uint32_t>)> done;
    TimerId timer = 0;
  };
  void Finish(uint64_t id, std::optional<uint32_t> spi);

  SendFn send_;
  Timers& timers_;
  Duration timeout_;
  std::unordered_map<uint64_t, Pending> pending_;
  // Its own id range, apart from the ids tmd's requests carry (tmd's
  // replies to isakmpd answer only isakmpd's requests, but a distinct range
  // keeps a stray reply from completing the wrong request).
  static constexpr uint64_t kFirstId = uint64_t{1} << 62;
  uint64_t next_id_ = kFirstId;
};

}  // namespace ike::isakmpd
