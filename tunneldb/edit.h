// Editing the tunnel database (issue 11.4): what `ikedb put`, `get` and
// `delete` do to tunnels.db, mirroring AIX's ikedb -p/-g/-d (aix-ike.md 2.2)
// on the text database. Pure: texts in, text out; the command reads the
// files and writes the result (atomically).
//
// Objects are found by kind and name (settings: by kind alone). An edit
// changes only the text of the objects it touches: comments, order and
// layout of the rest of the file are kept; a new object is appended in the
// form Get prints. Every result is checked with the validation tmd applies
// (Database::CheckText) before it is returned, so a file ikedb writes is one
// tmd loads on the next `refresh -g ike`.
//
// Errors are returned in Error::message, one line per problem:
// "file:line:col: object "name": field: reason", placed in the file the
// object came from (the fragment for what is being put, the database for
// the rest).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ike::tunneldb {

// The objects of tunnels.db, named as their fields there.
enum class Kind { kSettings, kIkeProtection, kIkeTunnel, kIpsecProtection, kIpsecTunnel };

// "ike_tunnel" -> kIkeTunnel; nullopt for anything else.
std::optional<Kind> KindFromName(std::string_view name);
const char* KindName(Kind kind);
// "settings, ike_protection, ike_tunnel, ipsec_protection, ipsec_tunnel".
const char* KindNames();

// A file's name (as errors show it) and contents.
struct TextFile {
  std::string name;
  std::string text;
};

enum class PutMode {
  kAddOnly,  // an object the database has is refused
  kReplace,  // ikedb put -F: it is replaced where it stands
};

// |database| with the objects of |fragment| in it. A fragment is a piece of
// tunnels.db: any objects, which may name objects only the database has.
// Settings are one object: a fragment's settings block replaces the
// database's whole block (kReplace; fields it leaves out go back to their
// defaults), as a tunnel replaces a tunnel: the result is what the fragment
// says, never a mix of the two. Returns the new database text.
Result<std::string> Put(const TextFile& database, const TextFile& fragment, PutMode mode);

// The selected objects as text that Put takes back: everything (no kind),
// every object of |kind| (empty |name|), or the one named |name|. Read as
// written, without defaults (`ikedb -g` shows what tmd resolved), from a
// database that need only parse. Naming an object that is not there is an
// error; a kind without objects gives empty text.
Result<std::string> Get(const TextFile& database, std::optional<Kind> kind, std::string_view name);

// |database| without object |name| of |kind| (settings: |name| empty; the
// defaults apply again). Refused while another object names it (an
// ike_protection by an ike_tunnel, an ike_tunnel or ipsec_protection by an
// ipsec_tunnel), one line per such object, both placed in the file. The
// object's lines go; comment lines above it stay (they may be about more).
Result<std::string> Delete(const TextFile& database, Kind kind, std::string_view name);

}  // namespace ike::tunneldb
