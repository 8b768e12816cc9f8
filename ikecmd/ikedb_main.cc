// ikedb: the tunnel database tool (aix-ike.md 2), on the text database
// $IKE_CONFDIR/tunnels.db. The edits are tunneldb/edit.h, the command line
// ikedb_args.h, the files db_file.h; this is the shell around them.
//   put [-F] FILE, get [TYPE [NAME]], delete TYPE NAME, check [FILE], -g
// Exit 0 on success, 1 on a bad argument or a refused/invalid database, 2
// when tmd cannot answer (-g).
#include <google/protobuf/text_format.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "common/ipc.h"
#include "ikecmd/db_file.h"
#include "ikecmd/ikedb_args.h"
#include "tunneldb/database.h"
#include "tunneldb/edit.h"

namespace {

using namespace ike;

int Fail(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  return 1;
}

std::string DbPath() { return ipc::ConfDir() + "/tunnels.db"; }

int Tmd() {
  ipc::Envelope request;
  request.set_version(ipc::kProtocolVersion);
  request.set_request_id(1);
  request.mutable_list_request()->set_db(true);
  Result<ipc::Envelope> r = ipc::Call(ipc::SocketPath("tmd"), request, Duration(10000));
  if (!r.ok())
    return std::fprintf(stderr, "ikedb: cannot reach tmd: %s\n", r.error().message.c_str()), 2;
  if (r->has_error()) return std::fprintf(stderr, "ikedb: %s\n", r->error().reason().c_str()), 2;
  std::string text;
  google::protobuf::TextFormat::PrintToString(r->list_reply().database(), &text);
  std::fputs(text.c_str(), stdout);
  return 0;
}

int Check(const std::string& path) {
  Result<std::string> text = cmd::ReadDbFile(path);
  if (!text.ok()) return Fail("ikedb: " + text.error().message);
  std::vector<std::string> errors = tunneldb::Database::CheckText(*text, path);
  for (const std::string& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (!errors.empty()) return 1;
  std::printf("%s: ok\n", path.c_str());
  return 0;
}

int Get(const cmd::DbArguments& a) {
  const std::string path = DbPath();
  Result<std::string> text = cmd::ReadDbFile(path);
  if (!text.ok()) return Fail("ikedb: " + text.error().message);
  Result<std::string> out = tunneldb::Get({path, *text}, a.kind, a.name);
  if (!out.ok()) return Fail(out.error().message);
  std::fputs(out->c_str(), stdout);
  return 0;
}

Result<tunneldb::TextFile> Fragment(const std::string& file) {
  if (file == "-") {
    return tunneldb::TextFile{"(stdin)", std::string(std::istreambuf_iterator<char>(std::cin),
                                                     std::istreambuf_iterator<char>())};
  }
  Result<std::string> text = cmd::ReadDbFile(file);
  if (!text.ok()) return text.error();
  return tunneldb::TextFile{file, *text};
}

// put and delete: read, edit, write under the lock.
int Edit(const cmd::DbArguments& a) {
  const std::string path = DbPath();
  Result<tunneldb::TextFile> fragment = tunneldb::TextFile{};
  if (a.action == cmd::DbAction::kPut) {
    fragment = Fragment(a.file);
    if (!fragment.ok()) return Fail("ikedb: " + fragment.error().message);
  }
  Result<cmd::DbLock> lock = cmd::DbLock::Take(path);
  if (!lock.ok()) return Fail("ikedb: " + lock.error().message);
  Result<std::string> text =
      cmd::ReadDbFile(path, /*missing_is_empty=*/a.action == cmd::DbAction::kPut);
  if (!text.ok()) return Fail("ikedb: " + text.error().message);
  const tunneldb::TextFile db{path, *text};
  Result<std::string> edited =
      a.action == cmd::DbAction::kPut
          ? tunneldb::Put(db, *fragment,
                          a.force ? tunneldb::PutMode::kReplace : tunneldb::PutMode::kAddOnly)
          : tunneldb::Delete(db, *a.kind, a.name);
  if (!edited.ok()) return Fail(edited.error().message + "\nikedb: " + path + " not changed");
  if (Status s = cmd::WriteDbFileAtomically(path, *edited); !s.ok())
    return Fail("ikedb: " + s.error().message + "; not changed");
  std::printf("%s: written; `refresh -g ike` makes tmd use it\n", path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Result<cmd::DbArguments> a =
      cmd::ParseDbArguments(std::vector<std::string>(argv + 1, argv + argc));
  if (!a.ok()) {
    std::fprintf(stderr, "ikedb: %s\n%s", a.error().message.c_str(), cmd::DbUsage());
    return 1;
  }
  switch (a->action) {
    case cmd::DbAction::kHelp:
      std::fputs(cmd::DbUsage(), stdout);
      return 0;
    case cmd::DbAction::kTmd:
      return Tmd();
    case cmd::DbAction::kCheck:
      return Check(a->file.empty() ? DbPath() : a->file);
    case cmd::DbAction::kGet:
      return Get(*a);
    case cmd::DbAction::kPut:
    case cmd::DbAction::kDelete:
      return Edit(*a);
  }
  return 1;
}
