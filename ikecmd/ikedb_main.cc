// ikedb: the tunnel database tool (aix-ike.md 2), reduced to what the text
// database needs:
//   ikedb -g        print the database tmd is using (text format)
//   ikedb -c [FILE] check FILE (default $IKE_CONFDIR/tunnels.db); print every
//                   error, exit 1 if there is any
#include <google/protobuf/text_format.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "common/ipc.h"
#include "tunneldb/database.h"

namespace {

using namespace ike;

int Get() {
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
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::fprintf(stderr, "ikedb: %s: cannot open\n", path.c_str()), 1;
  std::ostringstream text;
  text << in.rdbuf();
  std::vector<std::string> errors = tunneldb::Database::CheckText(text.str(), path);
  for (const std::string& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (!errors.empty()) return 1;
  std::printf("%s: ok\n", path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string op = argc > 1 ? argv[1] : "";
  if (op == "-g" && argc == 2) return Get();
  if (op == "-c" && argc <= 3) return Check(argc == 3 ? argv[2] : ipc::ConfDir() + "/tunnels.db");
  std::fprintf(stderr, "usage: ikedb -g\n       ikedb -c [tunnels.db]\n");
  return 1;
}
