// tmd's fake isakmpd link, shared by tests/unit/tmd_manager_test.cc and
// bench/tmd/tmd_scale.cc (which overrides Send to keep the wire bytes).
#pragma once

#include <vector>

#include "tmd/core/tunnel_manager.h"

namespace ike::testing {

// Records what tmd sends to isakmpd; |up| is what connected() answers.
class FakeIsakmpdLink : public tmd::IsakmpdLink {
 public:
  bool connected() const override { return up; }
  void Send(const ipc::Envelope& e) override { sent.push_back(e); }

  bool up = true;
  std::vector<ipc::Envelope> sent;
};

}  // namespace ike::testing
