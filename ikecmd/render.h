// Output of the ike command: the AIX `ike cmd=list` table (aix-ike.md 1.4),
// verbose blocks, the tunnel cache and dynamic filter tables. Pure: reply in,
// text out, so tests compare bytes.
#pragma once

#include <string>

#include "ike.pb.h"
#include "ikecmd/args.h"

namespace ike::cmd {

// Header plus one row per tunnel, phase 1 rows first; then one line per
// Failed tunnel with its reason. Nothing at all when there are no tunnels
// (IBM's Ansible role reads empty output as "no tunnels": aix-ike.md 1.4).
std::string RenderTable(const ipc::ListReply& reply);
// One "Label: value" block per tunnel, blank line between blocks.
// |now_unix| (0: the system clock) is what "Next Rekey: in N s" counts from.
// |states|: the vocabulary of the State field (issue 11.2); unspecified:
// the reply's (settings.state_names), AIX by default.
std::string RenderVerbose(const ipc::ListReply& reply, uint64_t now_unix = 0,
                          db::StateNames states = db::STATE_NAMES_UNSPECIFIED);
// The same fields as one JSON document: {"phase1": [...], "phase2": [...]},
// keys documented in the README and pinned by docs/list.schema.json.
std::string RenderJson(const ipc::ListReply& reply, uint64_t now_unix = 0);
// ike cmd=diagnose: for each listed tunnel that is not Active, where it
// stopped, since when, and the likely causes with what to check
// (tunneldb/diagnosis.h, issue 11.3).
std::string RenderDiagnose(const ipc::ListReply& reply, uint64_t now_unix = 0);
// Kernel tunnel cache (never keys) and dynamic filter rules.
std::string RenderCache(const ipc::ListReply& reply);
std::string RenderFilters(const ipc::ListReply& reply);
// Definitions (reply.database), numbered as activate's numlist= counts
// them, each with the status of its tunnel now or Inactive
// (reply.definition_status; no Status column when an older tmd sent none).
std::string RenderDatabase(const ipc::ListReply& reply);
// Moves one chunk of a listing (ListReply.more) to the end of |joined|'s
// list_reply: rows keep their order, the last chunk's |more| (false) stays,
// and so do the database, its definitions' statuses and the state names.
void AppendListChunk(ipc::ListReply* chunk, ipc::Envelope* joined);
// What list prints for |a| (table, verbose, cache, filters or db).
std::string RenderList(const ipc::ListReply& reply, const Arguments& a);

// "Phase 1 tunnel 1 and phase 2 tunnel 1 are being activated." per tunnel.
std::string RenderActivate(const ipc::ActivateReply& reply);
std::string RenderRemove(const ipc::RemoveReply& reply);

}  // namespace ike::cmd
