// cpsd's request handling: Envelope in, Envelope out, through the common
// dispatcher (common/ipc_dispatch.h: Ping, SetLogLevel, Refresh, and
// SkeyidRequest here). No I/O apart from re-reading the key file on Refresh, so
// main.cc only wires it to the socket and the signals.
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

class CpsdService {
 public:
  using Loader = std::function<Result<PskStore>()>;

  // |loader| re-reads the key file (PskStore::Load in the daemon, anything in
  // tests); |store| is the set already loaded at start-up.
  CpsdService(Loader loader, PskStore store, int pid);

  Response Handle(const ipc::Envelope& request);

  // Re-reads the keys; on failure the old keys stay in use and the error is
  // returned (one line, naming the file). Used by Refresh and by SIGHUP.
  Status Reload();

  const PskStore& store() const { return store_; }

 private:
  // Reload(), and what Refresh acknowledges.
  Result<std::string> Refresh();
  ipc::Answer OnSkeyid(const ipc::Envelope& request);

  Loader loader_;
  PskStore store_;
  ipc::Dispatcher<> dispatch_;
};

}  // namespace ike::cpsd
