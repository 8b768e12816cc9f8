// The engine's steps, roles and suites as the IPC contract carries them
// (proto/ike.proto enums, issue 7 item 1): the events to tmd never carry
// names; tmd and ike print them through tunneldb/names.h. The state each step
// maps to is the IBM state of exchange/state_names.h (a test checks the two
// agree).
#pragma once

#include <cstdint>

#include "ike.pb.h"
#include "isakmpd/exchange/steps.h"
#include "isakmpd/exchange/suite.h"

namespace ike::isakmpd {

ipc::Role ToIpc(Role role);
ipc::ExchangeMode ToIpc(Phase1Mode mode);
// The IBM name of (mode, step, role) as the IPC enum; UNSPECIFIED for
// kFailed and kDeleted (tmd learns of those through NegotiationFailed and
// SaDeleted) and for steps the role never takes.
ipc::Phase1State ToIpc(Phase1Mode mode, Phase1Step step, Role role);
ipc::Phase2State ToIpc(QuickModeStep step);
// The same states in Cisco IOS's and ASA's names (issue 11.2), from the
// same table; UNSPECIFIED where Cisco has no name ("-", FAILED, DELETED).
ipc::IosPhase1State IosState(Phase1Mode mode, Phase1Step step, Role role);
ipc::AsaPhase1State AsaState(Phase1Mode mode, Phase1Step step, Role role);
ipc::IosPhase2State IosState(QuickModeStep step, Role role);

// The exchange message number a step has reached (sent or received), so that
// a later listing can name Cisco IOS/ASA states (MM_WAIT_MSG<n+1>): Main Mode
// 1..6, Aggressive Mode 1..3 (RFC 2409 5), Quick Mode 1..3 (RFC 2409 5.5);
// 0 before message 1.
uint32_t MessageNumber(Phase1Mode mode, Phase1Step step, Role role);
uint32_t MessageNumber(QuickModeStep step);

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
