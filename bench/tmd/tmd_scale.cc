// tmd_scale: how tmd's core scales with the number of tunnels (issue 3).
//
// A real TunnelManager with the state-only kernel is driven through N
// activations (Main Mode + Quick Mode, the bench/run topology: N phase 1
// tunnels from 2001:db8:a::<i> to one gateway 2001:db8:b::1, N phase 2
// tunnels 2001:db8:1::<i> <-> 2001:db8:2::<i>) by a fake isakmpd that answers
// as the real one does: Ack, state changes, Phase1Established,
// Phase2Established with two child SAs. It reports per N:
//   heap_b/tunnel  heap growth (mallinfo2) from before the activation to all
//                  Active, per tunnel (one phase 1 + one phase 2 + kernel state)
//   cpu_us/tunnel  CPU inside tmd's code for one tunnel: the activation, the
//                  events (decoded from their wire bytes, as tmd's socket does)
//                  and the requests it encodes for isakmpd
//   list_tmd_ms    ike cmd=list in tmd: rows built and serialized, in chunks
//                  of 500 rows (list_max_chunk_ms: the longest chunk)
//   list_ike_ms    the ike command: parse the chunks, join, render the table
//
//   tmd_scale [--n 2000,20000] [--log]   (--log: keep the events log level)
#include <google/protobuf/arena.h>
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "common/log.h"
#include "ikecmd/render.h"
#include "tests/lib/fakes.h"
#include "tests/lib/tmd_fakes.h"
#include "tmd/core/tunnel_manager.h"

namespace ike::tmd {
namespace {

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

size_t HeapInUse() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

std::string Hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%x", v);
  return buf;
}

// bench/run's generated database for host A (the initiator).
std::string DatabaseText(uint32_t n) {
  std::string t =
      "ike_protection { name: \"p1\" mode: MAIN proposal { encryption: AES_CBC key_length: 128 "
      "hash: SHA2_256 auth_method: PRESHARED_KEY dh_group: ECP_256 } }\n"
      "ipsec_protection { name: \"p2\" proposal { encryption: ESP_AES_CBC key_length: 128 "
      "integrity: HMAC_SHA2_256 } pfs_group: ECP_256 }\n";
  for (uint32_t i = 1; i <= n; ++i) {
    const std::string k = "k" + std::to_string(i), c = "c" + std::to_string(i);
    t += "ike_tunnel { name: \"" + k + "\" local_address: \"2001:db8:a::" + Hex(i) +
         "\" remote_address: \"2001:db8:b::1\" protection: \"p1\" }\n";
    t += "ipsec_tunnel { name: \"" + c + "\" ike_tunnel: \"" + k +
         "\" local { address: \"2001:db8:1::" + Hex(i) +
         "\" } remote { address: \"2001:db8:2::" + Hex(i) +
         "\" } protection: \"p2\" autostart: true }\n";
  }
  return t;
}

using testing::FixedClock;

// Takes tmd's requests as wire bytes (the encoding is tmd's work, timed);
// answers them outside the timed part.
class FakeIsakmpd : public testing::FakeIsakmpdLink {
 public:
  void Send(const ipc::Envelope& e) override { requests.push_back(e.SerializeAsString()); }

  // isakmpd's answers to one request, as wire bytes.
  std::vector<std::string> Answer(const std::string& bytes) {
    ipc::Envelope q;
    q.ParseFromString(bytes);
    std::vector<std::string> out;
    if (q.request_id() == 0) return out;  // TunnelAssigned and the like
    ipc::Envelope ack;
    ack.set_version(1);
    ack.set_request_id(q.request_id());
    ack.mutable_ack();
    out.push_back(ack.SerializeAsString());
    if (q.has_phase1_request()) Phase1(q.phase1_request(), &out);
    if (q.has_phase2_request()) Phase2(q.phase2_request(), &out);
    return out;
  }

  std::deque<std::string> requests;

 private:
  static std::string Event(const ipc::Envelope& e) { return e.SerializeAsString(); }

  void Phase1(const ipc::Phase1Request& r, std::vector<std::string>* out) {
    const uint64_t handle = ++next_handle_;
    char icookie[17], rcookie[17];
    std::snprintf(icookie, sizeof icookie, "%016llx", 0x1000000000000000ull + handle);
    std::snprintf(rcookie, sizeof rcookie, "%016llx", 0x2000000000000000ull + handle);
    const ipc::Phase1State states[] = {ipc::PHASE1_INIT, ipc::PHASE1_WAIT_SA, ipc::PHASE1_WAIT_KE,
                                       ipc::PHASE1_IN_KE, ipc::PHASE1_DONE};
    for (int i = 0; i + 1 < 5; ++i) {
      ipc::Envelope e;
      auto* s = e.mutable_state_change();
      s->set_phase(1);
      s->set_tunnel(r.tunnel());
      s->set_handle(handle);
      s->set_old_phase1(states[i]);
      s->set_new_phase1(states[i + 1]);
      s->set_icookie(icookie);
      s->set_rcookie(i == 0 ? "0000000000000000" : rcookie);
      s->set_peer(r.definition().remote_address());
      out->push_back(Event(e));
    }
    ipc::Envelope e;
    auto* p = e.mutable_phase1_established();
    p->set_tunnel(r.tunnel());
    p->set_handle(handle);
    p->set_name(r.definition().name());
    p->set_role(ipc::INITIATOR);
    p->set_mode(ipc::MAIN);
    p->set_local_address(r.definition().local_address());
    p->set_remote_address(r.definition().remote_address());
    p->set_local_id(r.definition().local_address());
    p->set_remote_id(r.definition().remote_address());
    p->set_icookie(icookie);
    p->set_rcookie(rcookie);
    p->set_encryption(db::AES_CBC);
    p->set_key_length(128);
    p->set_hash(db::SHA2_256);
    p->set_auth_method(db::PRESHARED_KEY);
    p->set_dh_group(db::ECP_256);
    p->set_lifetime_seconds(28800);
    out->push_back(Event(e));
  }

  void Phase2(const ipc::Phase2Request& r, std::vector<std::string>* out) {
    const uint64_t handle = ++next_handle_;
    ipc::Envelope sc;
    auto* s = sc.mutable_state_change();
    s->set_phase(2);
    s->set_tunnel(r.tunnel());
    s->set_handle(handle);
    s->set_old_phase2(ipc::PHASE2_INIT);
    s->set_new_phase2(ipc::PHASE2_DONE);
    s->set_peer(r.phase1_definition().remote_address());
    out->push_back(Event(sc));
    ipc::Envelope e;
    auto* p = e.mutable_phase2_established();
    p->set_tunnel(r.tunnel());
    p->set_phase1_tunnel(r.phase1_tunnel());
    p->set_handle(handle);
    p->set_name(r.definition().name());
    p->set_role(ipc::INITIATOR);
    const std::string l = r.definition().local().address(), rm = r.definition().remote().address();
    p->set_local_id(l + "-" + l);
    p->set_remote_id(rm + "-" + rm);
    const std::string me = r.phase1_definition().local_address();
    const std::string peer = r.phase1_definition().remote_address();
    for (int dir = 0; dir < 2; ++dir) {
      ipc::ChildSa* sa = p->add_sa();
      sa->set_direction(dir == 0 ? ipc::INBOUND : ipc::OUTBOUND);
      sa->set_spi(static_cast<uint32_t>(0x10000000 + handle * 2 + dir));
      sa->set_source(dir == 0 ? peer : me);
      sa->set_destination(dir == 0 ? me : peer);
      sa->set_encryption(db::ESP_AES_CBC);
      sa->set_encryption_key_bits(128);
      sa->set_encryption_key(std::string(16, 'K'));
      sa->set_integrity(db::HMAC_SHA2_256);
      sa->set_integrity_key(std::string(32, 'I'));
    }
    p->set_pfs_group(db::ECP_256);
    p->set_lifetime_seconds(3600);
    out->push_back(Event(e));
  }

  uint64_t next_handle_ = 0;
};

struct ListTiming {
  double tmd_ms = 0;        // all chunks: rows built and serialized
  double max_chunk_ms = 0;  // the longest tmd holds its loop for one chunk
  double ike_ms = 0;        // the ike command: parse, join, render
  size_t chunks = 0, bytes = 0, lines = 0;
};

// One ike cmd=list as tmd serves it (chunks of 500 rows, the service's
// kListChunkRows) and as the ike command renders it.
ListTiming TimeList(const TunnelManager& manager) {
  ListTiming t;
  ipc::ListRequest request;
  ListCursor cursor;
  std::vector<std::string> frames;
  for (bool more = true; more;) {
    const double c0 = CpuSeconds();
    google::protobuf::Arena arena;  // as TmdService::ContinueListing does
    auto* reply = google::protobuf::Arena::CreateMessage<ipc::Envelope>(&arena);
    more = manager.ListChunk(request, &cursor, 500, reply->mutable_list_reply());
    reply->mutable_list_reply()->set_more(more);
    frames.push_back(reply->SerializeAsString());
    const double ms = (CpuSeconds() - c0) * 1e3;
    t.tmd_ms += ms;
    t.max_chunk_ms = std::max(t.max_chunk_ms, ms);
    t.bytes += frames.back().size();
  }
  t.chunks = frames.size();
  const double c0 = CpuSeconds();
  ipc::Envelope joined;
  for (const std::string& f : frames) {
    ipc::Envelope part;
    part.ParseFromString(f);
    cmd::AppendListChunk(part.mutable_list_reply(), &joined);
  }
  std::string text = cmd::RenderTable(joined.list_reply());
  t.ike_ms = (CpuSeconds() - c0) * 1e3;
  for (char ch : text) t.lines += ch == '\n';
  return t;
}

int Run(uint32_t n) {
  Result<Database> d = Database::Parse(DatabaseText(n), "tunnels.db");
  if (!d.ok()) {
    std::fprintf(stderr, "tmd_scale: %s\n", d.error().message.c_str());
    return 1;
  }
  auto database = std::make_shared<const Database>(std::move(d.value()));
  FixedClock clock;
  FakeIsakmpd isakmpd;
  StateOnlyKernel kernel;
  TunnelManager manager(kernel, isakmpd, clock);
  manager.SetDatabase(database);
  malloc_trim(0);
  const size_t heap0 = HeapInUse();
  double tmd_cpu = 0;
  double c0 = CpuSeconds();
  ipc::Envelope activated = manager.Activate(ipc::ActivateRequest());
  tmd_cpu += CpuSeconds() - c0;
  if (!activated.has_activate_reply()) {
    std::fprintf(stderr, "tmd_scale: activate failed: %s\n", activated.error().reason().c_str());
    return 1;
  }
  while (!isakmpd.requests.empty()) {
    std::string request = std::move(isakmpd.requests.front());
    isakmpd.requests.pop_front();
    for (const std::string& bytes : isakmpd.Answer(request)) {
      c0 = CpuSeconds();
      ipc::Envelope e;
      e.ParseFromString(bytes);
      manager.OnIsakmpdMessage(e);
      tmd_cpu += CpuSeconds() - c0;
    }
  }
  const size_t heap1 = HeapInUse();
  ipc::ListReply check = manager.List(ipc::ListRequest()).list_reply();
  uint32_t active = 0;
  for (const auto& p : check.phase1()) active += p.tunnel_status() == ipc::ACTIVE;
  for (const auto& p : check.phase2()) active += p.tunnel_status() == ipc::ACTIVE;
  ListTiming best;
  for (int i = 0; i < 3; ++i) {
    ListTiming t = TimeList(manager);
    if (i == 0 || t.tmd_ms + t.ike_ms < best.tmd_ms + best.ike_ms) best = t;
  }
  std::printf(
      "n=%u active=%u/%u heap_b/tunnel=%.0f cpu_us/tunnel=%.1f kernel_sas=%zu rules=%zu "
      "list_tmd_ms=%.2f list_chunks=%zu list_max_chunk_ms=%.3f list_bytes=%zu list_ike_ms=%.2f "
      "lines=%zu\n",
      n, active, 2 * n, static_cast<double>(heap1 - heap0) / n, tmd_cpu * 1e6 / n,
      kernel.sa_count(), kernel.policy_count(), best.tmd_ms, best.chunks, best.max_chunk_ms,
      best.bytes, best.ike_ms, best.lines);
  return active == 2 * n ? 0 : 1;
}

}  // namespace
}  // namespace ike::tmd

int main(int argc, char** argv) {
  std::vector<uint32_t> ns = {2000, 20000};
  bool log = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--n" && i + 1 < argc) {
      ns.clear();
      for (const char* p = argv[++i]; *p;) {
        char* end;
        ns.push_back(static_cast<uint32_t>(std::strtoul(p, &end, 10)));
        p = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0') break;
      }
    } else if (a == "--log") {
      log = true;
    } else {
      std::fprintf(stderr, "usage: tmd_scale [--n 2000,20000] [--log]\n");
      return 2;
    }
  }
  if (!log) ike::SetLogLevel(ike::LogLevel::kNone);
  int rc = 0;
  for (uint32_t n : ns) rc |= ike::tmd::Run(n);
  return rc;
}
