// isakmpd's requests to tmd and their replies (tmd_requests.h).
#include "isakmpd/service/tmd_requests.h"

#include <utility>

#include "common/ipc.h"
#include "common/log.h"

namespace ike::isakmpd {

TmdRequests::TmdRequests(SendFn send, Timers& timers, Duration spi_timeout,
                         Duration confirm_timeout)
    : send_(std::move(send)),
      timers_(timers),
      spi_timeout_(spi_timeout),
      confirm_timeout_(confirm_timeout) {}

TmdRequests::~TmdRequests() {
  for (const auto& [id, p] : pending_) timers_.Cancel(p.timer);
}

void TmdRequests::Allocate(const IpAddress& local, const IpAddress& remote, uint8_t protocol,
                           std::function<void(std::optional<uint32_t>)> done) {
  ipc::Envelope e;
  ipc::AllocateSpi* r = e.mutable_allocate_spi();
  r->set_local_address(local.ToString());
  r->set_remote_address(remote.ToString());
  r->set_protocol(static_cast<ipc::IpsecProtocol>(protocol));
  Send(e, spi_timeout_, "AllocateSpi", [done = std::move(done)](const ipc::Envelope* reply) {
    if (reply == nullptr) return done(std::nullopt);
    if (reply->has_error()) {
      LOG_ERROR("tmd refused an inbound SPI: %s", reply->error().reason().c_str());
      return done(std::nullopt);
    }
    if (!reply->has_allocate_spi_reply()) return done(std::nullopt);
    done(reply->allocate_spi_reply().spi());
  });
}

void TmdRequests::Confirm(ipc::Envelope event, std::function<void()> done) {
  Send(event, confirm_timeout_, "an event",
       [done = std::move(done)](const ipc::Envelope*) { done(); });
}

void TmdRequests::Send(ipc::Envelope& request, Duration timeout, const char* what, Done done) {
  const uint64_t id = next_id_++;
  request.set_version(ipc::kProtocolVersion);
  request.set_request_id(id);
  Pending& p = pending_[id];
  p.done = std::move(done);
  if (!send_(request)) {
    // Completed from the loop, as a reply would be: callers never see
    // |done| run inside the call.
    p.timer = timers_.Schedule(Duration(0), [this, id] { Finish(id, nullptr); });
    return;
  }
  p.timer = timers_.Schedule(timeout, [this, id, timeout, what] {
    LOG_ERROR("tmd did not answer %s (request %llu) within %lld ms", what,
              static_cast<unsigned long long>(id - kFirstId),
              static_cast<long long>(timeout.count()));
    Finish(id, nullptr);
  });
}

bool TmdRequests::OnReply(const ipc::Envelope& e) {
  if (!e.has_allocate_spi_reply() && !e.has_error() && !e.has_ack()) return false;
  if (e.request_id() < kFirstId) return false;
  auto it = pending_.find(e.request_id());
  if (it == pending_.end()) {
    // Ours, but late (timed out) or unknown: nothing waits for it. An SPI
    // tmd reserved lapses there on its own.
    return e.request_id() < next_id_;
  }
  timers_.Cancel(it->second.timer);
  Finish(e.request_id(), &e);
  return true;
}

void TmdRequests::OnDisconnected() {
  std::unordered_map<uint64_t, Pending> lost;
  lost.swap(pending_);
  for (auto& [id, p] : lost) {
    timers_.Cancel(p.timer);
    p.done(nullptr);
  }
}

void TmdRequests::Finish(uint64_t id, const ipc::Envelope* reply) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  auto done = std::move(it->second.done);
  pending_.erase(it);
  done(reply);
}

}  // namespace ike::isakmpd
