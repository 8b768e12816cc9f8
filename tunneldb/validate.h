// Semantic checks of a parsed tunnel database (internal to ike_tunneldb).
#pragma once

#include <google/protobuf/text_format.h>

#include <string>
#include <string_view>
#include <vector>

#include "tunneldb.pb.h"

namespace ike::tunneldb {

// Returns one message per problem, each "file:line:col: object "name": field:
// reason" (line/column from |tree| when the parser recorded them, otherwise
// just "file: ..."). |tree| may be null. Checks the database as written,
// before defaults are applied.
std::vector<std::string> ValidateDatabase(const db::TunnelDatabase& database,
                                          const google::protobuf::TextFormat::ParseInfoTree* tree,
                                          std::string_view file_name);

}  // namespace ike::tunneldb
