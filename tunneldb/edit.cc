// ikedb put/get/delete on the text of tunnels.db. Objects are handled
// through reflection on the five top-level fields of ike.db.TunnelDatabase
// (all but settings are repeated messages with a `name`), so the three
// edits share one set of helpers whatever the kind.
//
// The text is edited in place: the parser's location tree gives each
// top-level object's range, which is replaced or cut out; new objects are
// appended. The edited database is validated as a message, with every
// error placed in the file its object came from (SourceMap); the text to be
// written must then parse back to that very message and pass
// Database::CheckText, tmd's own check.
#include "tunneldb/edit.h"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <array>
#include <memory>
#include <unordered_map>
#include <vector>

#include "tunneldb/database.h"
#include "tunneldb/validate.h"

namespace ike::tunneldb {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::TextFormat;
using google::protobuf::util::MessageDifferencer;

constexpr std::array kKinds = {Kind::kSettings, Kind::kIkeProtection, Kind::kIkeTunnel,
                               Kind::kIpsecProtection, Kind::kIpsecTunnel};

const FieldDescriptor* FieldOf(Kind kind) {
  return db::TunnelDatabase::descriptor()->FindFieldByName(KindName(kind));
}

const Reflection& Refl() { return *db::TunnelDatabase::GetReflection(); }

int Count(const db::TunnelDatabase& d, Kind kind) {
  if (kind == Kind::kSettings) return d.has_settings() ? 1 : 0;
  return Refl().FieldSize(d, FieldOf(kind));
}

// Object |i| of |kind| (settings: i is ignored).
const Message& ObjectAt(const db::TunnelDatabase& d, Kind kind, int i) {
  if (kind == Kind::kSettings) return d.settings();
  return Refl().GetRepeatedMessage(d, FieldOf(kind), i);
}

std::string NameOf(const Message& m) {
  const FieldDescriptor* f = m.GetDescriptor()->FindFieldByName("name");
  return f == nullptr ? std::string() : m.GetReflection()->GetString(m, f);
}

// Index of the object of |kind| named |name|, or -1.
int Find(const db::TunnelDatabase& d, Kind kind, std::string_view name) {
  if (kind == Kind::kSettings) return d.has_settings() ? 0 : -1;
  for (int i = 0; i < Count(d, kind); ++i)
    if (NameOf(ObjectAt(d, kind, i)) == name) return i;
  return -1;
}

// `ike_tunnel "to-b"`, or `settings`.
std::string Describe(Kind kind, const std::string& name) {
  if (kind == Kind::kSettings) return "settings";
  return std::string(KindName(kind)) + " \"" + name + "\"";
}

// Text of |d| as Get prints it: strings as UTF-8 (CheckUtf8 holds for every
// database that reaches here), two-space indent, fields in schema order.
std::string Print(const db::TunnelDatabase& d) {
  TextFormat::Printer printer;
  printer.SetUseUtf8StringEscaping(true);
  std::string out;
  printer.PrintToString(d, &out);
  return out;
}

// One object as a database of its own, the form Put appends.
db::TunnelDatabase Alone(Kind kind, const Message& object) {
  db::TunnelDatabase one;
  if (kind == Kind::kSettings) {
    *one.mutable_settings() = static_cast<const db::Settings&>(object);
  } else {
    Refl().AddMessage(&one, FieldOf(kind))->CopyFrom(object);
  }
  return one;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

// A file parsed (syntax only) with the byte offset of every line, to turn
// the parser's locations into ranges of the text.
struct Parsed {
  const TextFile* file = nullptr;
  db::TunnelDatabase database;
  TextFormat::ParseInfoTree tree;
  std::vector<size_t> line_starts;
};

bool ParseFile(const TextFile& file, Parsed* out, std::vector<std::string>* errors) {
  out->file = &file;
  std::vector<std::string> e = ParseSyntax(file.text, file.name, &out->database, &out->tree);
  errors->insert(errors->end(), e.begin(), e.end());
  out->line_starts = {0};
  for (size_t i = 0; i < file.text.size(); ++i)
    if (file.text[i] == '\n') out->line_starts.push_back(i + 1);
  return e.empty();
}

TextFormat::ParseLocationRange RangeOf(const Parsed& p, Kind kind, int i) {
  const FieldDescriptor* f = FieldOf(kind);
  return p.tree.GetLocationRange(f, f->is_repeated() ? i : -1);
}

// "file:line:col" where object |i| of |kind| starts, or "file".
std::string Where(const Parsed& p, Kind kind, int i) {
  const TextFormat::ParseLocation at = RangeOf(p, kind, i).start;
  if (at.line < 0) return p.file->name;
  return p.file->name + ":" + std::to_string(at.line + 1) + ":" + std::to_string(at.column + 1);
}

// Byte offset of a parser location. The tokenizer counts a tab as reaching
// the next multiple of 8 columns, so the line is walked the same way.
size_t Offset(const Parsed& p, TextFormat::ParseLocation at) {
  const std::string& text = p.file->text;
  if (at.line < 0 || static_cast<size_t>(at.line) >= p.line_starts.size()) return text.size();
  size_t i = p.line_starts[at.line];
  for (int column = 0; column < at.column && i < text.size() && text[i] != '\n'; ++i)
    column = text[i] == '\t' ? column + 8 - column % 8 : column + 1;
  return i;
}

// A piece of the database text to replace.
struct Splice {
  size_t begin;
  size_t end;
  std::string text;
};

// The text of object |i| of |kind|, from its field name to its closing
// brace; a cut (|whole_lines|) also takes a `;` or `,` after it and, when
// nothing else shares its lines, the lines themselves.
Splice SpanOf(const Parsed& p, Kind kind, int i, bool whole_lines) {
  const TextFormat::ParseLocationRange r = RangeOf(p, kind, i);
  const std::string& text = p.file->text;
  size_t begin = Offset(p, r.start), end = Offset(p, r.end);
  if (!whole_lines) return {begin, end, ""};
  auto blank = [&](size_t k) { return text[k] == ' ' || text[k] == '\t'; };
  while (end < text.size() && blank(end)) ++end;
  if (end < text.size() && (text[end] == ';' || text[end] == ',')) ++end;
  size_t b = begin;
  while (b > 0 && blank(b - 1)) --b;
  size_t e = end;
  while (e < text.size() && blank(e)) ++e;
  if ((b == 0 || text[b - 1] == '\n') && (e == text.size() || text[e] == '\n'))
    return {b, std::min(e + 1, text.size()), ""};
  return {begin, end, ""};
}

// |text| with the splices applied (they must not overlap) and |tail| added
// on a line of its own.
std::string Apply(std::string text, std::vector<Splice> splices, const std::string& tail) {
  std::sort(splices.begin(), splices.end(),
            [](const Splice& a, const Splice& b) { return a.begin > b.begin; });
  for (const Splice& s : splices) text.replace(s.begin, s.end - s.begin, s.text);
  if (!tail.empty() && !text.empty() && text.back() != '\n') text += '\n';
  return text + tail;
}

// The final gate: the text to be written must parse back to exactly the
// database that was validated, and pass tmd's own check. Either failing is
// a bug in the splicing, reported rather than written.
Result<std::string> Checked(const std::string& file, std::string text,
                            const db::TunnelDatabase& expected) {
  db::TunnelDatabase reread;
  TextFormat::ParseInfoTree tree;
  std::vector<std::string> errors = ParseSyntax(text, file, &reread, &tree);
  if (errors.empty() && !MessageDifferencer::Equals(reread, expected))
    errors.push_back(file + ": the edited text does not say what was validated");
  if (errors.empty()) errors = Database::CheckText(text, file);
  if (errors.empty()) return text;
  return Error{"ikedb: internal error: the edited database would not load, nothing written:\n" +
               Join(errors)};
}

// Where each object of the edited database came from: the database (file
// 0) or the fragment (file 1), as the editing loops record it.
struct Origins {
  // Per kind, per object of the result: {file, index}.
  std::array<std::vector<std::pair<int, int>>, kKinds.size()> of;

  void Fill(SourceMap* map) const {
    for (Kind kind : kKinds)
      for (auto [file, index] : of[static_cast<size_t>(kind)])
        map->Append(KindName(kind), file, kind == Kind::kSettings ? -1 : index);
  }
};

// Put, one kind at a time (Merge): the fragment's objects go into a copy of
// the database, each recorded with its origin and its text edit; refusals
// are collected, so one run lists them all.
class Merger {
 public:
  Merger(const Parsed& base, const Parsed& fragment, PutMode mode)
      : base_(base), fragment_(fragment), mode_(mode), result_(base.database) {}

  void Merge(Kind kind) {
    auto& origins = origins_.of[static_cast<size_t>(kind)];
    // Names in the database (the first of a name twice; validation reports
    // the second): a 20,000-tunnel fragment into a 20,000-tunnel database
    // stays linear.
    std::unordered_map<std::string, int> in_base;
    for (int i = 0; i < Count(base_.database, kind); ++i) {
      origins.push_back({0, i});
      in_base.emplace(NameOf(ObjectAt(base_.database, kind, i)), i);
    }
    std::unordered_map<std::string, int> seen;  // name -> index in the fragment
    for (int j = 0; j < Count(fragment_.database, kind); ++j) {
      const Message& object = ObjectAt(fragment_.database, kind, j);
      const std::string name = NameOf(object);
      if (kind != Kind::kSettings && !name.empty() && !seen.emplace(name, j).second) {
        errors_.push_back(Where(fragment_, kind, j) + ": " + Describe(kind, name) +
                          ": name: defined twice in this file (first at " +
                          Where(fragment_, kind, seen[name]) + ")");
        continue;
      }
      auto found = in_base.find(name);
      const int at =
          (name.empty() && kind != Kind::kSettings) || found == in_base.end() ? -1 : found->second;
      if (at < 0) {
        Add(kind, object, j);
      } else if (mode_ == PutMode::kReplace) {
        Replace(kind, object, j, at);
      } else {
        errors_.push_back(Where(fragment_, kind, j) + ": " + Describe(kind, name) +
                          ": already in " + Where(base_, kind, at) + "; put -F replaces it");
      }
    }
  }

  const std::vector<std::string>& errors() const { return errors_; }
  const db::TunnelDatabase& result() const { return result_; }
  const Origins& origins() const { return origins_; }
  std::string Text() const { return Apply(base_.file->text, splices_, tail_); }

 private:
  void Add(Kind kind, const Message& object, int j) {
    if (kind == Kind::kSettings) {
      *result_.mutable_settings() = fragment_.database.settings();
    } else {
      Refl().AddMessage(&result_, FieldOf(kind))->CopyFrom(object);
    }
    origins_.of[static_cast<size_t>(kind)].push_back({1, j});
    tail_ += Print(Alone(kind, object));
  }

  void Replace(Kind kind, const Message& object, int j, int at) {
    if (kind == Kind::kSettings) {
      *result_.mutable_settings() = fragment_.database.settings();
    } else {
      Refl().MutableRepeatedMessage(&result_, FieldOf(kind), at)->CopyFrom(object);
    }
    origins_.of[static_cast<size_t>(kind)][at] = {1, j};
    Splice s = SpanOf(base_, kind, at, /*whole_lines=*/false);
    s.text = Print(Alone(kind, object));
    if (!s.text.empty() && s.text.back() == '\n') s.text.pop_back();  // the span ends at '}'
    splices_.push_back(std::move(s));
  }

  const Parsed& base_;
  const Parsed& fragment_;
  const PutMode mode_;
  db::TunnelDatabase result_;
  Origins origins_;
  std::vector<Splice> splices_;
  std::string tail_;
  std::vector<std::string> errors_;
};

// Validates |result| (whose objects came from |files| as |origins| says).
std::vector<std::string> Validate(const db::TunnelDatabase& result,
                                  const std::vector<const Parsed*>& files, const Origins& origins) {
  SourceMap map;
  for (const Parsed* p : files) map.AddFile(p->file->name, &p->tree);
  origins.Fill(&map);
  return ValidateDatabase(result, map);
}

// The objects that name object |name| of |kind|: {kind, index}.
std::vector<std::pair<Kind, int>> Referrers(const db::TunnelDatabase& d, Kind kind,
                                            const std::string& name) {
  std::vector<std::pair<Kind, int>> out;
  for (int i = 0; i < d.ike_tunnel_size(); ++i) {
    if (kind == Kind::kIkeProtection && d.ike_tunnel(i).protection() == name)
      out.push_back({Kind::kIkeTunnel, i});
  }
  for (int i = 0; i < d.ipsec_tunnel_size(); ++i) {
    const db::IpsecTunnel& t = d.ipsec_tunnel(i);
    if ((kind == Kind::kIkeTunnel && t.ike_tunnel() == name) ||
        (kind == Kind::kIpsecProtection && t.protection() == name))
      out.push_back({Kind::kIpsecTunnel, i});
  }
  return out;
}

// |d| without object |at| of |kind|.
void Remove(db::TunnelDatabase* d, Kind kind, int at) {
  if (kind == Kind::kSettings) {
    d->clear_settings();
    return;
  }
  const FieldDescriptor* f = FieldOf(kind);
  const int last = Refl().FieldSize(*d, f) - 1;
  for (int i = at; i < last; ++i) Refl().SwapElements(d, f, i, i + 1);  // keep the order
  Refl().RemoveLast(d, f);
}

}  // namespace

std::optional<Kind> KindFromName(std::string_view name) {
  for (Kind kind : kKinds)
    if (name == KindName(kind)) return kind;
  return std::nullopt;
}

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kSettings:
      return "settings";
    case Kind::kIkeProtection:
      return "ike_protection";
    case Kind::kIkeTunnel:
      return "ike_tunnel";
    case Kind::kIpsecProtection:
      return "ipsec_protection";
    case Kind::kIpsecTunnel:
      return "ipsec_tunnel";
  }
  return "?";
}

const char* KindNames() {
  return "settings, ike_protection, ike_tunnel, ipsec_protection, ipsec_tunnel";
}

Result<std::string> Put(const TextFile& database, const TextFile& fragment, PutMode mode) {
  std::vector<std::string> errors;
  auto base = std::make_unique<Parsed>();
  auto piece = std::make_unique<Parsed>();
  const bool ok = ParseFile(database, base.get(), &errors);
  if (!ParseFile(fragment, piece.get(), &errors) || !ok) return Error{Join(errors)};
  bool empty = true;
  for (Kind kind : kKinds) empty = empty && Count(piece->database, kind) == 0;
  if (empty) return Error{fragment.name + ": nothing to put (no " + KindNames() + ")"};

  Merger merger(*base, *piece, mode);
  for (Kind kind : kKinds) merger.Merge(kind);
  if (!merger.errors().empty()) return Error{Join(merger.errors())};
  errors = Validate(merger.result(), {base.get(), piece.get()}, merger.origins());
  if (!errors.empty()) return Error{Join(errors)};
  return Checked(database.name, merger.Text(), merger.result());
}

Result<std::string> Get(const TextFile& database, std::optional<Kind> kind, std::string_view name) {
  std::vector<std::string> errors;
  if (kind == Kind::kSettings && !name.empty()) return Error{"settings have no name"};
  auto p = std::make_unique<Parsed>();
  if (!ParseFile(database, p.get(), &errors)) return Error{Join(errors)};
  if (!kind) return Print(p->database);
  if (name.empty()) {
    db::TunnelDatabase some;
    for (int i = 0; i < Count(p->database, *kind); ++i)
      some.MergeFrom(Alone(*kind, ObjectAt(p->database, *kind, i)));
    return Print(some);
  }
  const int at = Find(p->database, *kind, name);
  if (at < 0) {
    return Error{database.name + ": no " + KindName(*kind) + " named \"" + std::string(name) +
                 "\""};
  }
  return Print(Alone(*kind, ObjectAt(p->database, *kind, at)));
}

Result<std::string> Delete(const TextFile& database, Kind kind, std::string_view name) {
  if (kind == Kind::kSettings && !name.empty()) return Error{"settings have no name"};
  if (kind != Kind::kSettings && name.empty())
    return Error{std::string("delete ") + KindName(kind) + ": which one? (a NAME is needed)"};
  std::vector<std::string> errors;
  auto p = std::make_unique<Parsed>();
  if (!ParseFile(database, p.get(), &errors)) return Error{Join(errors)};
  const int at = Find(p->database, kind, name);
  if (at < 0) {
    if (kind == Kind::kSettings) return Error{database.name + ": no settings to delete"};
    return Error{database.name + ": no " + KindName(kind) + " named \"" + std::string(name) + "\""};
  }
  const std::string object = Describe(kind, std::string(name));
  for (auto [k, i] : Referrers(p->database, kind, std::string(name))) {
    errors.push_back(Where(*p, kind, at) + ": " + object + ": still used by " +
                     Describe(k, NameOf(ObjectAt(p->database, k, i))) + " (" + Where(*p, k, i) +
                     "); delete or change that first");
  }
  if (!errors.empty()) return Error{Join(errors)};

  db::TunnelDatabase result = p->database;
  Remove(&result, kind, at);
  Origins origins;
  for (Kind k : kKinds)
    for (int i = 0; i < Count(p->database, k); ++i)
      if (k != kind || i != at) origins.of[static_cast<size_t>(k)].push_back({0, i});
  errors = Validate(result, {p.get()}, origins);
  if (!errors.empty()) return Error{Join(errors)};
  return Checked(database.name,
                 Apply(database.text, {SpanOf(*p, kind, at, /*whole_lines=*/true)}, ""), result);
}

}  // namespace ike::tunneldb
