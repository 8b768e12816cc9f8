// cpsd's request handling: Envelope in, Envelope out, through the common
// dispatcher (common/ipc_dispatch.h: Ping, SetLogLevel, Refresh, and
// SkeyidRequest and DaemonStatusRequest here). No I/O apart from re-reading the key file on
// Refresh, so main.cc only wires it to the socket and the signals.
#pragma once

#include <functional>
#include <string>

#include "common/ipc_dispatch.h"
#include "common/result.h"
#include "cpsd/core/psk_store.h"
#include "ike.pb.h"

namespace ike::cpsd {

struct Response {
  ipc::Envelope reply;
  bool close = false;  // UNKNOWN_BODY: reply, then close the connection
};

// lssrc -l -s cpsd (issue 11.5): what cpsd counts. Keys are never counted
// by value or named: only whether one was found.
struct CpsdCounters {
  uint64_t skeyid_requests = 0;
  uint64_t psk_found = 0;    // a key for the peer's id or address
  uint64_t psk_missing = 0;  // UNKNOWN_PEER
  uint64_t refused = 0;      // any other refusal
  uint64_t reloads = 0;      // refreshes that loaded the key file
};

class CpsdService {
 public:
  using Loader = std::function<Result<PskStore>()>;
  // What only the daemon knows of itself, for lssrc -l.
  struct Vitals {
    Duration uptime{0};
    size_t ipc_clients = 0;
  };

  // |loader| re-reads the key file (PskStore::Load in the daemon, anything in
  // tests); |store| is the set already loaded at start-up.
  CpsdService(Loader loader, PskStore store, int pid);

  Response Handle(const ipc::Envelope& request);

  // Re-reads the keys; on failure the old keys stay in use and the error is
  // returned (one line, naming the file). Used by Refresh and by SIGHUP.
  Status Reload();

  const PskStore& store() const { return store_; }
  const CpsdCounters& counters() const { return counters_; }
  ipc::CpsdStatus LongStatus() const;
  // Asked at each DaemonStatusRequest; unset: uptime 0, no clients.
  void SetVitals(std::function<Vitals()> vitals) { vitals_ = std::move(vitals); }

 private:
  // Reload(), and what Refresh acknowledges.
  Result<std::string> Refresh();
  ipc::Answer OnSkeyid(const ipc::Envelope& request);
  ipc::Answer OnDaemonStatus() const;

  Loader loader_;
  PskStore store_;
  ipc::Dispatcher<> dispatch_;
  int pid_;
  CpsdCounters counters_;
  std::function<Vitals()> vitals_;
};

}  // namespace ike::cpsd
