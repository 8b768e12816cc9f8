#include "common/log_sink.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace ike::internal {

void SyslogSink::Configure(std::string socket_path, std::string ident, int facility, pid_t pid) {
  std::lock_guard<std::mutex> lock(mu_);
  Disconnect();
  socket_path_ = std::move(socket_path);
  ident_ = std::move(ident);
  facility_ = facility;
  pid_ = pid;
}

// RFC 3164 as glibc's syslog(3) writes it for the local socket; rsyslogd
// and syslog-ng parse it and stamp their own reception time.
std::string SyslogSink::Format(int severity, std::string_view text) {
  const time_t now = time(nullptr);
  if (now != stamp_second_) {
    tm local{};
    localtime_r(&now, &local);
    strftime(stamp_, sizeof stamp_, "%h %e %T", &local);
    stamp_second_ = now;
  }
  std::string out;
  out.reserve(text.size() + ident_.size() + 40);
  out += '<';
  out += std::to_string(facility_ | severity);
  out += '>';
  out += stamp_;
  out += ' ';
  out += ident_;
  out += '[';
  out += std::to_string(pid_);
  out += "]: ";
  out += text;
  return out;
}

bool SyslogSink::Connect() {
  if (fd_ >= 0) return true;
  sockaddr_un addr{};
  if (socket_path_.size() >= sizeof addr.sun_path) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return false;
  }
  fd_ = fd;
  return true;
}

void SyslogSink::Disconnect() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool SyslogSink::SendQueued(bool wait) {
  if (dropped_ > 0) {
    std::string note = std::to_string(dropped_) +
                       " log lines dropped: the syslog daemon did not take them in time";
    queue_.push_front(Format(LOG_WARNING, note));
    dropped_ = 0;
  }
  bool reconnected = false;
  while (!queue_.empty()) {
    // No syslog daemon: lines are lost, as with syslog(3).
    if (!Connect()) {
      queue_.clear();
      return true;
    }
    const size_t n = std::min(queue_.size(), kBatch);
    std::vector<mmsghdr> msgs(n);
    std::vector<iovec> iov(n);
    for (size_t i = 0; i < n; ++i) {
      iov[i] = {queue_[i].data(), queue_[i].size()};
      msgs[i].msg_hdr = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int sent = sendmmsg(fd_, msgs.data(), static_cast<unsigned>(n),
                              MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT));
    if (sent > 0) {
      queue_.erase(queue_.begin(), queue_.begin() + sent);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;  // full: later
    // The daemon restarted (ECONNREFUSED, ENOTCONN) or the line is too long
    // (EMSGSIZE): reconnect once, then give the line up.
    Disconnect();
    if (!reconnected) {
      reconnected = true;
      continue;
    }
    queue_.pop_front();
    reconnected = false;
  }
  return true;
}

void SyslogSink::Submit(int severity, std::string_view text, bool urgent) {
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(Format(severity, text));
  const bool deferring = schedule_ && std::this_thread::get_id() == owner_ && !in_schedule_;
  if (!deferring || urgent) {
    SendQueued(/*wait=*/true);
    return;
  }
  if (queue_.size() >= kBatch) SendQueued(/*wait=*/false);
  while (queue_.size() > kMaxQueued) {
    queue_.pop_front();
    ++dropped_;
  }
  if (queue_.empty() || flush_pending_) return;
  flush_pending_ = true;
  // Outside the lock: scheduling may itself log.
  std::function<void(int)> schedule = schedule_;
  in_schedule_ = true;
  lock.unlock();
  schedule(0);
  lock.lock();
  in_schedule_ = false;
}

void SyslogSink::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  flush_pending_ = false;
  if (SendQueued(/*wait=*/false) || !schedule_) return;
  flush_pending_ = true;
  std::function<void(int)> schedule = schedule_;
  in_schedule_ = true;
  lock.unlock();
  schedule(kRetryMs);
  lock.lock();
  in_schedule_ = false;
}

void SyslogSink::DeferTo(std::function<void(int delay_ms)> schedule) {
  std::lock_guard<std::mutex> lock(mu_);
  if (schedule_ && owner_ != std::this_thread::get_id()) return;  // another loop defers
  schedule_ = std::move(schedule);
  owner_ = std::this_thread::get_id();
  flush_pending_ = false;
}

void SyslogSink::StopDeferring() {
  std::lock_guard<std::mutex> lock(mu_);
  if (owner_ != std::this_thread::get_id()) return;
  schedule_ = nullptr;
  owner_ = {};
  flush_pending_ = false;
  SendQueued(/*wait=*/true);
}

size_t SyslogSink::queued_for_test() {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

size_t SyslogSink::dropped_for_test() {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

}  // namespace ike::internal
