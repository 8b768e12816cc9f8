// AllocateSpi requests to tmd and their replies (spi_client.h).
#include "isakmpd/service/spi_client.h"

#include <utility>

#include "common/ipc.h"
#include "common/log.h"

namespace ike::isakmpd {

SpiClient::SpiClient(SendFn send, Timers& timers, Duration timeout)
    : send_(std::move(send)), timers_(timers), timeout_(timeout) {}

SpiClient::~SpiClient() {
  for (const auto& [id, p] : pending_) timers_.Cancel(p.timer);
}

void SpiClient::Allocate(const IpAddress& local, const IpAddress& remote, uint8_t protocol,
                         std::function<void(std::optional<uint32_t>)> done) {
  const uint64_t id = next_id_++;
  ipc::Envelope e;
  e.set_version(ipc::kProtocolVersion);
  e.set_request_id(id);
  ipc::AllocateSpi* r = e.mutable_allocate_spi();
  r->set_local_address(local.ToString());
  r->set_remote_address(remote.ToString());
  r->set_protocol(static_cast<ipc::IpsecProtocol>(protocol));
  Pending& p = pending_[id];
  p.done = std::move(done);
  if (!send_(e)) {
    // Completed from the loop, as a reply would be: callers never see
    // |done| run inside Allocate.
    p.timer = timers_.Schedule(Duration(0), [this, id] { Finish(id, std::nullopt); });
    return;
  }
  p.timer = timers_.Schedule(timeout_, [this, id] {
    LOG_ERROR("tmd did not answer AllocateSpi %llu within %lld ms",
              static_cast<unsigned long long>(id - kFirstId),
              static_cast<long long>(timeout_.count()));
    Finish(id, std::nullopt);
  });
}

bool SpiClient::OnReply(const ipc::Envelope& e) {
  if (!e.has_allocate_spi_reply() && !e.has_error()) return false;
  if (e.request_id() < kFirstId) return false;
  auto it = pending_.find(e.request_id());
  if (it == pending_.end()) {
    // Ours, but late (timed out) or unknown: nothing waits for it. The SPI
    // tmd reserved lapses there on its own.
    return e.request_id() < next_id_;
  }
  timers_.Cancel(it->second.timer);
  if (e.has_error()) {
    LOG_ERROR("tmd refused an inbound SPI: %s", e.error().reason().c_str());
    Finish(e.request_id(), std::nullopt);
  } else {
    Finish(e.request_id(), e.allocate_spi_reply().spi());
  }
  return true;
}

void SpiClient::OnDisconnected() {
  std::unordered_map<uint64_t, Pending> lost;
  lost.swap(pending_);
  for (auto& [id, p] : lost) {
    timers_.Cancel(p.timer);
    p.done(std::nullopt);
  }
}

void SpiClient::Finish(uint64_t id, std::optional<uint32_t> spi) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  auto done = std::move(it->second.done);
  pending_.erase(it);
  done(spi);
}

}  // namespace ike::isakmpd
