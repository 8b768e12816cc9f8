// Small helpers shared by the files that handle isakmpd's events.
#pragma once

#include <cstdio>
#include <string>

#include "common/bytes.h"
#include "ike.pb.h"
#include "tmd/core/compact.h"
#include "tmd/core/tunnel_manager.h"

namespace ike::tmd {

// Overwrites key bytes once the kernel has them (style.md: secrets never kept).
inline void WipeKeys(ipc::Phase2Established& e) {
  for (ipc::ChildSa& sa : *e.mutable_sa()) {
    SecureWipe(sa.mutable_encryption_key());
    SecureWipe(sa.mutable_integrity_key());
  }
}

// Responder side: tmd's number for what isakmpd reported with tunnel 0.
inline void SendAssigned(IsakmpdLink& link, uint64_t handle, uint32_t phase, uint32_t number) {
  ipc::Envelope e;
  e.set_version(1);
  e.set_request_id(0);
  ipc::TunnelAssigned* a = e.mutable_tunnel_assigned();
  a->set_handle(handle);
  a->set_phase(phase);
  a->set_tunnel(number);
  link.Send(e);
}

// "in 0x0000abcd out 0x0000ef01", how log lines name an SA pair.
inline std::string SpiPair(uint32_t in, uint32_t out) {
  char text[48];
  std::snprintf(text, sizeof text, "in 0x%08x out 0x%08x", in, out);
  return text;
}

// Empty event fields keep what the definition said (the offer).
template <typename E>
void Keep(E* field, E value) {
  if (value != E{}) *field = value;
}
template <typename T>
void Keep(CompactText<T>* field, const std::string& value) {
  if (!value.empty()) field->Set(value);
}

}  // namespace ike::tmd
