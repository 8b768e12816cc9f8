#include "cpsd/core/psk_store.h"

#include <fcntl.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ikev1/keymat.h"
#include "tunneldb.pb.h"

namespace ike::cpsd {
namespace {

namespace pb = google::protobuf;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Position(const std::string& name, int line, int column) {
  // The tokenizer counts from 0; editors count from 1.
  return name + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": ";
}

// The parser quotes offending tokens ("found \"x\"", "got: x"); when the
// syntax error sits in a secret that token is the key, so it is cut off.
std::string RedactToken(const std::string& message) {
  for (const char* marker : {", found ", "got: "}) {
    size_t at = message.find(marker);
    if (at == std::string::npos) continue;
    std::string kept = message.substr(0, at);
    while (!kept.empty() && (kept.back() == ' ' || kept.back() == ',')) kept.pop_back();
    return kept + " (token not shown)";
  }
  return message;
}

class FirstErrorCollector : public pb::io::ErrorCollector {
 public:
  explicit FirstErrorCollector(std::string name) : name_(std::move(name)) {}
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    if (first_.empty()) first_ = Position(name_, line, column) + RedactToken(message);
  }
  void AddWarning(int, pb::io::ColumnNumber, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string name_;
  std::string first_;
};

// Decodes one entry's secret; |field_error| names the field on failure and
// never echoes the secret itself.
bool DecodeSecret(const db::PresharedKey& key, Bytes* out, std::string* field_error) {
  switch (key.secret_case()) {
    case db::PresharedKey::kText:
      *out = Bytes(key.text().begin(), key.text().end());
      if (out->empty()) *field_error = "text: the pre-shared key is empty";
      break;
    case db::PresharedKey::kHex:
      if (!FromHex(key.hex(), out)) {
        *field_error = "hex: not an even number of hexadecimal digits";
      } else if (out->empty()) {
        *field_error = "hex: the pre-shared key is empty";
      }
      break;
    default:
      *field_error = "no secret: set text or hex";
  }
  return field_error->empty();
}

Result<crypto::HashAlg> PrfFor(db::IkeHash hash) {
  switch (hash) {
    case db::SHA1:
      return crypto::HashAlg::kSha1;
    case db::SHA2_256:
      return crypto::HashAlg::kSha256;
    case db::SHA2_384:
      return crypto::HashAlg::kSha384;
    case db::SHA2_512:
      return crypto::HashAlg::kSha512;
    default:
      return Error{"prf: unsupported hash " + std::to_string(hash)};
  }
}

// RFC 2409 section 5 via RFC 2408 3.13: nonce data is 8 to 256 octets.
std::string CheckNonce(const char* field, const std::string& nonce) {
  if (nonce.size() >= 8 && nonce.size() <= 256) return "";
  return std::string(field) + ": nonce length " + std::to_string(nonce.size()) +
         " outside 8..256 octets";
}

Result<std::string> ReadKeyFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Error{path + ": cannot open: " + std::strerror(errno)};
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return Error{path + ": cannot stat: " + std::strerror(err)};
  }
  // Checked on the open descriptor so the file cannot be swapped in between.
  std::string refused = CheckKeyFilePermissions(path, st.st_mode, st.st_uid, geteuid());
  if (!refused.empty()) {
    close(fd);
    return Error{refused};
  }
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  int err = errno;
  close(fd);
  if (n < 0) return Error{path + ": cannot read: " + std::strerror(err)};
  return text;
}

}  // namespace

std::string CheckKeyFilePermissions(std::string_view name, mode_t mode, uid_t owner,
                                    uid_t our_uid) {
  std::string prefix = std::string(name) + ": ";
  if (!S_ISREG(mode)) return prefix + "not a regular file";
  if (owner != 0 && owner != our_uid) {
    return prefix + "owned by uid " + std::to_string(owner) + ", must be owned by root";
  }
  if ((mode & 077) != 0) {
    char octal[8];
    snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode & 07777));
    return prefix + "mode " + octal + " is too open, must be 0600";
  }
  return "";
}

Result<PskStore> PskStore::Load(const std::string& path) {
  Result<std::string> text = ReadKeyFile(path);
  if (!text.ok()) return text.error();
  Result<PskStore> store = Parse(*text, path);
  // The raw file content holds every key; do not leave it in freed memory.
  SecureWipe(&*text);
  return store;
}

Result<PskStore> PskStore::Parse(std::string_view text, const std::string& name) {
  db::PresharedKeyFile file;
  FirstErrorCollector errors(name);
  pb::TextFormat::ParseInfoTree tree;
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &file)) {
    return Error{errors.first().empty() ? name + ": does not parse" : errors.first()};
  }
  const pb::FieldDescriptor* key_field = db::PresharedKeyFile::descriptor()->FindFieldByName("key");
  PskStore store;
  store.source_ = name;
  std::map<std::string, int> first_line;
  for (int i = 0; i < file.key_size(); ++i) {
    const db::PresharedKey& key = file.key(i);
    pb::TextFormat::ParseLocation at = tree.GetLocation(key_field, i);
    std::string where = Position(name, at.line, at.column) + "key[" + std::to_string(i) + "].";
    std::string id = Lower(key.remote_id());
    if (id.empty()) return Error{where + "remote_id: is empty"};
    if (auto dup = first_line.find(id); dup != first_line.end()) {
      return Error{where + "remote_id: duplicate \"" + key.remote_id() + "\" (first on line " +
                   std::to_string(dup->second + 1) + ")"};
    }
    Bytes secret;
    std::string field_error;
    if (!DecodeSecret(key, &secret, &field_error)) return Error{where + field_error};
    first_line[id] = at.line;
    store.keys_.emplace(id, SecretBytes(std::move(secret)));
  }
  // The parsed message still holds the secrets as strings; clear them.
  for (auto& key : *file.mutable_key()) {
    std::string* secret = key.has_text() ? key.mutable_text() : key.mutable_hex();
    SecureWipe(secret);
  }
  return store;
}

const SecretBytes* PskStore::Find(std::string_view remote_id,
                                  std::string_view remote_address) const {
  for (std::string_view candidate : {remote_id, remote_address}) {
    if (candidate.empty()) continue;
    auto it = keys_.find(Lower(candidate));
    if (it != keys_.end()) return &it->second;
  }
  return nullptr;
}

SkeyidOutcome PskStore::ComputeSkeyid(const ipc::SkeyidRequest& request) const {
  SkeyidOutcome out;
  Result<crypto::HashAlg> prf = PrfFor(request.prf());
  std::string bad = !prf.ok() ? prf.error().message : CheckNonce("ni", request.ni());
  if (bad.empty()) bad = CheckNonce("nr", request.nr());
  if (!bad.empty()) {
    out.code = ipc::BAD_ARGUMENT;
    out.reason = bad;
    return out;
  }
  const SecretBytes* psk = Find(request.remote_id(), request.remote_address());
  if (psk == nullptr) {
    const std::string& peer = request.remote_address();
    const std::string& id = request.remote_id().empty() ? peer : request.remote_id();
    out.code = ipc::UNKNOWN_PEER;
    out.reason = "no pre-shared key for peer " + (peer.empty() ? std::string("?") : peer) +
                 " (id " + id + ") in " + source_;
    return out;
  }
  out.skeyid = keymat::SkeyidPsk(*prf, psk->view(), View(request.ni()), View(request.nr()));
  return out;
}

}  // namespace ike::cpsd
