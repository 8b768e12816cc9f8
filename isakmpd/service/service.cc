#include "isakmpd/service/service.h"

#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "common/log.h"
#include "common/memory.h"
#include "isakmpd/exchange/nat_traversal.h"

namespace ike::isakmpd {
namespace {

constexpr Duration kCpsdTimeout{5000};
constexpr Duration kTrimInterval{10000};

// Identifies our connection to tmd as isakmpd's (conventions.md).
ipc::Envelope MakePong() { return ipc::MakeReply(0, ipc::PongBody("isakmpd", getpid())); }

}  // namespace

IsakmpdService::IsakmpdService(EventLoop& loop) : started_(loop.Now()), loop_(loop) {
  tmd_requests_ = std::make_unique<TmdRequests>(
      [this](const ipc::Envelope& e) { return tmd_ != nullptr && tmd_->Send(e); }, loop_);
  manager_ = std::make_unique<SaManager>(SaManagerDeps{&loop_, &loop_, &random_, this, this, this,
                                                       &dh_pool_, tmd_requests_.get(), &key_log_});
  BuildDispatch();
}

// Both links answer the control requests; a body not listed gets
// Error{UNKNOWN_BODY} (common/ipc_dispatch.h).
void IsakmpdService::BuildDispatch() {
  using B = ipc::Envelope;
  // The database comes from tmd, which pushes it again on its refresh.
  auto refresh = [] { return Result<std::string>(std::string("isakmpd refreshed")); };
  control_dispatch_.OnControl(getpid(), refresh);
  control_dispatch_.On(B::kDaemonStatusRequest,
                       [this](const B&) { return ipc::Reply(DaemonStatus()); });
  tmd_dispatch_.OnControl(getpid(), refresh);
  tmd_dispatch_.On(B::kConfigPush, [this](const B& e) {
    ApplyDatabase(e.config_push().database());
    // Once the pushed copy (|e|) is gone too.
    loop_.Schedule(Duration(0), [] { ReturnFreedMemory(); });
    return ipc::NoReply();
  });
  tmd_dispatch_.On(B::kPhase1Request, [this](const B& e) {
    return ipc::Reply(manager_->StartPhase1(e.phase1_request()));
  });
  tmd_dispatch_.On(B::kPhase2Request, [this](const B& e) {
    return ipc::Reply(manager_->StartPhase2(e.phase2_request()));
  });
  tmd_dispatch_.On(B::kRemoveTunnel,
                   [this](const B& e) { return ipc::Reply(manager_->Remove(e.remove_tunnel())); });
  tmd_dispatch_.On(B::kDpdProbe,
                   [this](const B& e) { return ipc::Reply(manager_->Probe(e.dpd_probe())); });
  tmd_dispatch_.On(B::kTunnelAssigned, [this](const B& e) {
    manager_->AssignTunnel(e.tunnel_assigned());
    return ipc::NoReply();
  });
  // Replies to our requests (AllocateSpi, events we wait on) go to
  // TmdRequests; what it does not claim answers an event nobody waits for.
  for (auto body : {B::kAck, B::kAllocateSpiReply, B::kError}) {
    tmd_dispatch_.On(body, [this](const B& e) {
      tmd_requests_->OnReply(e);
      return ipc::NoReply();
    });
  }
}

IsakmpdService::~IsakmpdService() = default;

// The counters are the SA manager's; the links are ours.
ipc::Envelope IsakmpdService::DaemonStatus() const {
  ipc::Envelope e = ipc::DaemonStatusBody(
      "isakmpd", getpid(), std::chrono::duration_cast<Duration>(loop_.Now() - started_),
      control_ ? control_->connection_count() : 0);
  ipc::IsakmpdStatus* s = e.mutable_daemon_status_reply()->mutable_isakmpd();
  *s = manager_->LongStatus();
  s->set_tmd_connected(tmd_ && tmd_->connected());
  s->set_cpsd_connected(cpsd_ && cpsd_->connected());
  return e;
}

Status IsakmpdService::Start() {
  control_ = std::make_unique<ipc::Server>(
      loop_, ipc::SocketPath("isakmpd"),
      [this](const ipc::ConnectionPtr& c, const ipc::Envelope& e) { OnControl(c, e); });
  if (auto st = control_->Listen(); !st) return st;
  tmd_ = std::make_unique<ipc::Client>(
      loop_, ipc::SocketPath("tmd"), [this](const ipc::Envelope& e) { OnTmdMessage(e); },
      [this] {
        LOG_INFO("connected to tmd");
        tmd_->Send(MakePong());  // identifies this connection as isakmpd's
      },
      [this] {
        LOG_ERROR("lost the connection to tmd; reconnecting");
        tmd_requests_->OnDisconnected();  // the waiting Quick Modes go on by their own rules
        OnTmdLost();
      });
  cpsd_ = std::make_unique<ipc::Client>(
      loop_, ipc::SocketPath("cpsd"), [this](const ipc::Envelope& e) { OnCpsdMessage(e); },
      [] { LOG_INFO("connected to cpsd"); },
      [] { LOG_ERROR("lost the connection to cpsd; reconnecting"); });
  tmd_->Start();
  cpsd_->Start();
  loop_.Schedule(kTrimInterval, [this] { TrimTick(); });
  return Status::Ok();
}

void IsakmpdService::TrimTick() {
  if (stopping_) return;
  if (trim_.Observe(manager_->isakmp_sa_count() + manager_->quick_mode_count()))
    ReturnFreedMemory();
  loop_.Schedule(kTrimInterval, [this] { TrimTick(); });
}

namespace {
constexpr size_t kShutdownBurst = 200;     // datagrams per burst
constexpr Duration kShutdownPace{10};      // between bursts: 20,000/s
constexpr Duration kShutdownBudget{4000};  // then stop regardless
}  // namespace

// tmd owns the tunnel numbers and the kernel state of every SA here; a tmd
// that died took both with it (and a new one removes what it finds in the
// kernel). Keeping the SAs would leave the peer sending into SAs that no
// longer exist and our next activation refused as "already active", so they
// are deleted, the peers told (RFC 2408 3.15), and tmd starts from a clean
// slate on both ends.
void IsakmpdService::OnTmdLost() {
  if (stopping_) return;
  const size_t isakmp_sas = manager_->isakmp_sa_count();
  if (isakmp_sas == 0) return;
  LOG_ERROR(
      "tmd is gone, and with it the tunnel numbers and kernel state of our SAs: deleting %zu "
      "ISAKMP SAs and their IPsec SAs (Delete sent to each peer)",
      isakmp_sas);
  manager_->Shutdown();
}

void IsakmpdService::Stop() {
  if (stopping_) return;  // a second SIGTERM while the Deletes drain
  stopping_ = true;
  manager_->Shutdown();  // its Delete messages land in outbox_
  if (!outbox_.empty()) LOG_EVENT("stopping: sending %zu Delete messages", outbox_.size());
  DrainOutbox(loop_.Now() + kShutdownBudget);
}

void IsakmpdService::DrainOutbox(TimePoint deadline) {
  for (size_t sent = 0; sent < kShutdownBurst && !outbox_.empty(); ++sent) {
    const Outgoing& o = outbox_.front();
    SendNow(o.from, o.to, o.packet);
    outbox_.pop_front();
  }
  if (!outbox_.empty() && loop_.Now() < deadline) {
    loop_.Schedule(kShutdownPace, [this, deadline] { DrainOutbox(deadline); });
    return;
  }
  if (!outbox_.empty()) {
    LOG_ERROR("stopping: %zu Delete messages not sent within %lld ms", outbox_.size(),
              static_cast<long long>(kShutdownBudget.count()));
  }
  loop_.Stop();
}

void IsakmpdService::OnControl(const ipc::ConnectionPtr& conn, const ipc::Envelope& e) {
  ipc::Deliver(*conn, control_dispatch_.Dispatch(e));
}

void IsakmpdService::OnTmdMessage(const ipc::Envelope& e) {
  ipc::Answer answer = tmd_dispatch_.Dispatch(e);
  // The link to tmd stays open even after an unknown body: closing it would
  // only make the client reconnect and tmd push the database again.
  if (answer.reply) tmd_->Send(*answer.reply);
}

namespace {

bool IsUnspecified(const IpAddress& ip) {
  for (size_t i = 0; i < ip.size(); ++i) {
    if (ip.octets[i] != 0) return false;
  }
  return true;
}

}  // namespace

void IsakmpdService::ApplyDatabase(const db::TunnelDatabase& database) {
  // The level first: SetDatabase's lines (the key log warning) obey the
  // new one.
  ipc::ApplyLogLevel(database.settings().log_level());
  manager_->SetDatabase(database);
  std::set<IpAddress> wanted;
  for (const auto& text : database.settings().listen_address()) {
    if (auto ip = IpAddress::Parse(text)) wanted.insert(*ip);
  }
  for (const auto& t : database.ike_tunnel()) {
    if (auto ip = IpAddress::Parse(t.local_address())) wanted.insert(*ip);
  }
  std::set<int> any_families;  // a wildcard covers every address of its family
  for (const IpAddress& ip : wanted) {
    if (IsUnspecified(ip)) any_families.insert(ip.family);
  }
  const uint16_t ports[] = {manager_->ike_port(), nat_traversal::kPort};
  std::set<SocketKey> keys;
  std::set<std::pair<int, uint16_t>> any_keys;
  for (const IpAddress& ip : wanted) {
    for (uint16_t port : ports) {
      if (any_families.count(ip.family)) {
        any_keys.insert({ip.family, port});
        if (!any_sockets_.count({ip.family, port})) ListenAny(Endpoint{ip, port});
      } else {
        keys.insert({ip, port});
        if (!sockets_.count({ip, port})) Listen(Endpoint{ip, port});
      }
    }
  }
  for (auto it = sockets_.begin(); it != sockets_.end();)
    it = keys.count(it->first) ? std::next(it) : sockets_.erase(it);
  for (auto it = any_sockets_.begin(); it != any_sockets_.end();)
    it = any_keys.count(it->first) ? std::next(it) : any_sockets_.erase(it);
}

void IsakmpdService::OnDatagram(const Endpoint& local, const Endpoint& from, ByteView data) {
  if (local.port == nat_traversal::kPort) {
    // RFC 3948 section 2.2: IKE on port 4500 carries a 4-octet zero
    // non-ESP marker; anything else is ESP or a NAT keepalive, which we
    // do not carry in user space.
    if (data.size() < 4 || data[0] || data[1] || data[2] || data[3]) return;
    data = data.subspan(4);
  }
  manager_->OnPacket(local, from, data);
}

// The NAT-T port's socket hands the peer's ESP-in-UDP to the kernel's SAs
// (RFC 3948 2.2); a kernel that refuses leaves NAT-T tunnels without
// traffic, which the log must say.
void IsakmpdService::EnableEspInUdp(UdpSocket& socket) {
  Status s = socket.EnableEspInUdp();
  if (!s.ok())
    LOG_ERROR("%s: tunnels through a NAT will carry no traffic", s.error().message.c_str());
}

void IsakmpdService::HearIcmpErrors(UdpSocket& socket) {
  socket.OnError([this](const UdpError& e) { manager_->OnUnreachable(e.to, DescribeUdpError(e)); });
}

void IsakmpdService::Listen(const Endpoint& local) {
  auto socket = UdpSocket::Bind(loop_, local, [this, local](ByteView data, const Endpoint& from) {
    OnDatagram(local, from, data);
  });
  if (!socket) {
    LOG_ERROR("cannot listen on %s: %s", local.ToString().c_str(), socket.error().message.c_str());
    return;
  }
  if (local.port == nat_traversal::kPort) EnableEspInUdp(*socket.value());
  HearIcmpErrors(*socket.value());
  LOG_EVENT("listening on %s", local.ToString().c_str());
  sockets_[{local.address, local.port}] = std::move(socket.value());
}

void IsakmpdService::ListenAny(const Endpoint& any) {
  auto socket = UdpSocket::BindAny(
      loop_, any, [this](ByteView data, const Endpoint& from, const Endpoint& local) {
        OnDatagram(local, from, data);
      });
  const char* family = any.address.family == AF_INET6 ? "IPv6" : "IPv4";
  if (!socket) {
    LOG_ERROR("cannot listen on every local %s address, port %u: %s", family, any.port,
              socket.error().message.c_str());
    return;
  }
  if (any.port == nat_traversal::kPort) EnableEspInUdp(*socket.value());
  HearIcmpErrors(*socket.value());
  LOG_EVENT("listening on %s (every local %s address)", any.ToString().c_str(), family);
  any_sockets_[{any.address.family, any.port}] = std::move(socket.value());
}

bool IsakmpdService::SendPacket(const Endpoint& from, const Endpoint& to, ByteView packet) {
  if (stopping_) {
    outbox_.push_back({from, to, Bytes(packet.begin(), packet.end())});
    return true;
  }
  return SendNow(from, to, packet);
}

// RFC 3948 section 4: one octet 0xFF; the peer's kernel (its socket is an
// ESP-in-UDP one) drops it, and so do we (OnDatagram).
bool IsakmpdService::SendNatKeepalive(const Endpoint& from, const Endpoint& to) {
  static constexpr uint8_t kKeepalive = 0xff;
  if (stopping_) return true;  // the SAs are going
  return SendNow(from, to, ByteView(&kKeepalive, 1), /*add_marker=*/false);
}

bool IsakmpdService::SendNow(const Endpoint& from, const Endpoint& to, ByteView packet,
                             bool add_marker) {
  UdpSocket* own = nullptr;
  UdpSocket* any = nullptr;
  if (auto it = sockets_.find({from.address, from.port}); it != sockets_.end()) {
    own = it->second.get();
  } else if (auto w = any_sockets_.find({from.address.family, from.port});
             w != any_sockets_.end()) {
    any = w->second.get();
  } else {
    LOG_ERROR("no socket on %s to send to %s", from.ToString().c_str(), to.ToString().c_str());
    return false;
  }
  Bytes marked;
  if (add_marker && from.port == nat_traversal::kPort) {  // non-ESP marker (RFC 3948 2.2)
    marked.assign(4, 0);
    Append(marked, packet);
    packet = marked;
  }
  if (auto st = own != nullptr ? own->SendTo(packet, to) : any->SendFrom(packet, from.address, to);
      !st) {
    LOG_ERROR("send to %s failed: %s", to.ToString().c_str(), st.error().message.c_str());
    return false;
  }
  return true;
}

void IsakmpdService::Emit(ipc::Envelope event) {
  event.set_version(ipc::kProtocolVersion);
  event.set_request_id(0);
  if (!tmd_ || !tmd_->Send(event)) LOG_ERROR("tmd not connected; event dropped");
}

void IsakmpdService::EmitAndWait(ipc::Envelope event, std::function<void()> done) {
  if (!tmd_ || !tmd_->connected()) LOG_ERROR("tmd not connected; event dropped");
  tmd_requests_->Confirm(std::move(event), std::move(done));
}

void IsakmpdService::RequestSkeyid(const ipc::SkeyidRequest& request,
                                   std::function<void(Result<SecretBytes>)> done) {
  const uint64_t id = next_request_id_++;
  ipc::Envelope e;
  e.set_version(ipc::kProtocolVersion);
  e.set_request_id(id);
  *e.mutable_skeyid_request() = request;
  PendingSkeyid pending;
  pending.done = std::move(done);
  pending.timer = loop_.Schedule(kCpsdTimeout, [this, id] {
    FinishSkeyid(id, Error{"cpsd did not answer the SKEYID request within 5 s"});
  });
  pending_[id] = std::move(pending);
  if (!cpsd_->Send(e)) {
    loop_.Cancel(pending_[id].timer);
    pending_[id].timer = loop_.Schedule(Duration(0), [this, id] {
      FinishSkeyid(id, Error{"cpsd is not running (no connection to cpsd.sock)"});
    });
  }
}

void IsakmpdService::OnCpsdMessage(const ipc::Envelope& e) {
  if (e.has_skeyid_reply()) {
    const std::string& s = e.skeyid_reply().skeyid();
    return FinishSkeyid(e.request_id(), SecretBytes(Bytes(s.begin(), s.end())));
  }
  if (e.has_error()) return FinishSkeyid(e.request_id(), Error{e.error().reason()});
}

void IsakmpdService::FinishSkeyid(uint64_t id, Result<SecretBytes> result) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  auto done = std::move(it->second.done);
  loop_.Cancel(it->second.timer);
  pending_.erase(it);
  done(std::move(result));
}

}  // namespace ike::isakmpd
