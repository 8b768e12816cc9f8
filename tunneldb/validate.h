// Semantic checks of a parsed tunnel database (internal to ike_tunneldb).
#pragma once

#include <google/protobuf/text_format.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tunneldb.pb.h"

namespace ike::tunneldb {

// Where the parser saw each top-level object (settings, ike_tunnel[i], ...)
// of a database, so that an error can name file, line and column. One file
// (tmd, ikedb check): every object is where that file's tree says. A
// database put together from several files (ikedb put: the database and a
// fragment): each object carries the file it came from and its index there.
// The trees are borrowed and must outlive the map.
class SourceMap {
 public:
  struct Place {
    const std::string* file = nullptr;
    const google::protobuf::TextFormat::ParseInfoTree* tree = nullptr;  // may be null
    int index = -1;  // in that file's repeated field; -1 for settings
  };

  // One file: objects are found at their own index of |tree| (may be null).
  SourceMap(std::string_view file, const google::protobuf::TextFormat::ParseInfoTree* tree);
  // Several files: AddFile, then Append for every object in database order.
  SourceMap() = default;
  SourceMap(const SourceMap&) = delete;
  SourceMap& operator=(const SourceMap&) = delete;

  // Returns the file's number for Append.
  int AddFile(std::string_view file, const google::protobuf::TextFormat::ParseInfoTree* tree);
  // The next object of top-level field |field| ("settings", "ike_tunnel", ...)
  // came from file |file|, index |index| there (-1 for settings).
  void Append(std::string_view field, int file, int index);

  // Where object |index| of top-level field |field| came from. An object the
  // map does not know is placed in the first file without a line.
  Place Locate(std::string_view field, int index) const;

 private:
  struct Origin {
    int file;
    int index;
  };
  struct File {
    std::string name;
    const google::protobuf::TextFormat::ParseInfoTree* tree;
  };
  bool single_ = false;
  std::vector<File> files_;
  std::unordered_map<std::string, std::vector<Origin>> objects_;
};

// The first pass alone: the text-format parse (errors "file:line:col:
// message") and the UTF-8 check of every string, keeping where each field
// was in |tree|. No semantic checks and no defaults: a fragment for `ikedb
// put` need not stand alone. |database| is replaced and |tree| must be
// fresh; on errors their contents are unspecified.
std::vector<std::string> ParseSyntax(std::string_view text, std::string_view file_name,
                                     db::TunnelDatabase* database,
                                     google::protobuf::TextFormat::ParseInfoTree* tree);

// Returns one message per problem, each "file:line:col: object "name": field:
// reason" (line/column from |tree| when the parser recorded them, otherwise
// just "file: ..."). |tree| may be null. Checks the database as written,
// before defaults are applied.
std::vector<std::string> ValidateDatabase(const db::TunnelDatabase& database,
                                          const google::protobuf::TextFormat::ParseInfoTree* tree,
                                          std::string_view file_name);

// The same checks, each error placed through |sources|.
std::vector<std::string> ValidateDatabase(const db::TunnelDatabase& database,
                                          const SourceMap& sources);

}  // namespace ike::tunneldb
