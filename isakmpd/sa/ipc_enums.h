// The engine's states, roles and suites as the IPC contract carries them
// (proto/ike.proto enums, issue 7 item 1): the events to tmd never carry
// names, tmd and ike print them through tunneldb/names.h.
#pragma once

#include <cstdint>

#include "ike.pb.h"
#include "isakmpd/exchange/states.h"
#include "isakmpd/exchange/suite.h"

namespace ike::isakmpd {

ipc::Role ToIpc(Role role);
ipc::Phase1State ToIpc(Phase1State state);
ipc::Phase2State ToIpc(Phase2State state);

// The Quick Mode message number a state has reached (RFC 2409 5.5: the
// initiator sends 1 and 3, the responder 2): INIT 1, KEP 2, DONE 3.
uint32_t Phase2MessageNumber(Phase2State state);

// The negotiated phase 1 suite: encryption, key length, hash, auth method
// and group as the tunneldb.proto enums (their values are the RFC 2409
// Appendix A numbers the attributes carry).
void SetSuite(const IkeSuite& suite, ipc::Phase1Established* out);
// One direction of an ESP SA: transform id and authentication algorithm
// (RFC 2407 4.4.4, 4.5) and the encryption key length.
void SetSuite(const EspSuite& suite, ipc::ChildSa* out);
// DH_GROUP_NONE without PFS.
db::DhGroup PfsGroup(const EspSuite& suite);

}  // namespace ike::isakmpd
