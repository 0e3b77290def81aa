#include "tags/tag_book.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

#include "core/json_writer.hpp"
#include "segments/segment_index.hpp"

namespace pond::tags {

namespace {

// The code point that starts at `v[i]` (UTF-8 was checked by the JSON
// parser); 0 past the end.
char32_t CodePointAt(std::string_view v, size_t i) {
  if (i >= v.size()) return 0;
  const auto b = static_cast<unsigned char>(v[i]);
  const int extra = b < 0x80 ? 0 : b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
  char32_t c = extra == 0 ? b : b & (0x3f >> extra);
  for (int k = 1; k <= extra && i + k < v.size(); ++k) c = (c << 6) | (static_cast<unsigned char>(v[i + k]) & 0x3f);
  return c;
}

// Spaces people cannot see: ASCII and Unicode blanks, the ideographic space
// of Chinese input methods, zero-width characters and the BOM.
bool Invisible(char32_t c) {
  return c == U' ' || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200d) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x2060 || c == 0x3000 || c == 0xfeff;
}

// Where the last code point of `v` starts.
size_t LastCodePoint(std::string_view v) {
  size_t i = v.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(v[i]) & 0xc0) == 0x80) --i;
  return i;
}

}  // namespace

// No control characters (they break CSV exports and logs), no blanks at the
// ends (two tags that look alike must not differ by an invisible space).
Status CheckText(std::string_view field, std::string_view v, size_t max_bytes, bool required) {
  if (required && v.empty()) return FieldInvalid(std::string(field), "is required");
  if (v.size() > max_bytes) {
    return FieldInvalid(std::string(field), "must be at most " + std::to_string(max_bytes) + " bytes");
  }
  if (std::any_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return FieldInvalid(std::string(field), "must not contain control characters");
  }
  if (!v.empty() && (Invisible(CodePointAt(v, 0)) || Invisible(CodePointAt(v, LastCodePoint(v))))) {
    return FieldInvalid(std::string(field), "must not start or end with a space");
  }
  return Status::Ok();
}

std::string_view TagKindName(TagKind kind) { return kind == TagKind::kRule ? "rule" : "manual"; }

Status CheckDefinition(const TagDefinition& def) {
  Status bad = InvalidArgument("invalid tag");
  auto add = [&](const Status& s) {
    for (const auto& e : s.field_errors()) bad.AddFieldError(e.field, e.reason);
  };
  add(CheckText("name", def.name, kMaxTagNameBytes, true));
  if (def.name.find('|') != std::string::npos) {
    bad.AddFieldError("name", "must not contain '|', which separates tags in exports");
  }
  if (segments::SystemTag(def.name)) {
    bad.AddFieldError("name", "starts with a system tag prefix (tier:, lifecycle:, rfm:, source:, home_store:)");
  }
  add(CheckText("group", def.group, kMaxGroupBytes, false));
  add(CheckText("description", def.description, kMaxDescriptionBytes, false));
  if (def.kind == TagKind::kRule && def.rule.empty()) bad.AddFieldError("rule", "is required for a rule tag");
  if (def.kind == TagKind::kManual && !def.rule.empty()) bad.AddFieldError("rule", "is only for rule tags");
  if (!bad.field_errors().empty()) return bad;
  return Status::Ok();
}

std::vector<TagDefinition> DefaultTags(Timestamp tenant_created_at) {
  // Miniso's customer base (DOMAIN.md §3): loves beauty 27%, snack lovers,
  // IP fans, weekend parents buying toys, bulk stockpilers. Repeat
  // purchases, not one basket, make a preference.
  auto rule = [&](std::string name, std::string expr, std::string description) {
    return TagDefinition{std::move(name),        "偏好", TagKind::kRule, std::move(expr),
                         std::move(description), "pond", tenant_created_at};
  };
  return {
      rule("爱美妆", "bought(\"beauty\", 365, 2)", "loves beauty: beauty in two or more orders in a year"),
      rule("零食吃货", "bought(\"snacks\", 180, 2)", "snack lover: snacks in two or more orders in half a year"),
      rule("IP粉丝", "bought(\"ip_goods\", 365, 2)", "IP fan: IP goods (blind boxes too) in two or more orders in a year"),
      rule("周末亲子", "bought(\"toys\", 365) and weekend_orders_365d >= 2",
           "weekend parent: bought toys in a year and shops on weekends"),
      rule("囤货达人", "max_units_365d >= 8", "bulk buyer: eight or more units in one order within a year"),
  };
}

TagBook::TagBook(Timestamp tenant_created_at) { Reset(DefaultTags(tenant_created_at)); }

const TagDefinition* TagBook::Find(std::string_view name) const {
  auto it = defs_.find(name);
  return it == defs_.end() ? nullptr : &it->second;
}

void TagBook::Put(TagDefinition def) {
  std::string name = def.name;
  defs_.insert_or_assign(std::move(name), std::move(def));
}

void TagBook::Remove(std::string_view name) {
  if (auto it = defs_.find(name); it != defs_.end()) defs_.erase(it);
}

void TagBook::Reset(std::vector<TagDefinition> defs) {
  defs_.clear();
  for (TagDefinition& d : defs) Put(std::move(d));
}

void TagBook::Record(TagOperation op) { operations_.push_back(std::move(op)); }

const TagOperation* TagBook::LastAdd(std::string_view tag, int64_t member) const {
  for (auto it = operations_.rbegin(); it != operations_.rend(); ++it) {
    if (it->tag != tag || !std::binary_search(it->members.begin(), it->members.end(), member)) continue;
    return it->add ? &*it : nullptr;
  }
  return nullptr;
}

std::vector<const TagOperation*> TagBook::OperationsOf(std::string_view tag, size_t limit) const {
  std::vector<const TagOperation*> out;
  for (auto it = operations_.rbegin(); it != operations_.rend() && out.size() < limit; ++it) {
    if (it->tag == tag) out.push_back(&*it);
  }
  return out;
}

std::string TagDefinitionsJson(const TagBook& book) {
  JsonWriter w;
  w.BeginObject().Key("tags").BeginArray();
  for (const auto& [name, d] : book.definitions()) {
    w.BeginObject().Field("name", d.name).Field("group", d.group).Field("kind", TagKindName(d.kind));
    if (d.kind == TagKind::kRule) w.Field("rule", d.rule);
    w.Field("description", d.description).Field("created_by", d.created_by);
    w.Field("created_at_us", d.created_at.micros()).EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

Result<std::vector<TagDefinition>> ParseTagDefinitions(std::string_view text) {
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object() || !v.as_object().contains("tags") || !v.as_object().at("tags").is_array()) {
    return InvalidArgument("tag definitions: not a {\"tags\": [...]} document");
  }
  std::vector<TagDefinition> out;
  for (const boost::json::value& t : v.as_object().at("tags").as_array()) {
    if (!t.is_object()) return InvalidArgument("tag definitions: an entry is not an object");
    const boost::json::object& o = t.as_object();
    auto text_of = [&](std::string_view key) -> std::string {
      const boost::json::value* f = o.if_contains(key);
      return f && f->is_string() ? std::string(f->as_string()) : std::string();
    };
    TagDefinition d;
    d.name = text_of("name");
    d.group = text_of("group");
    d.kind = text_of("kind") == "rule" ? TagKind::kRule : TagKind::kManual;
    d.rule = text_of("rule");
    d.description = text_of("description");
    d.created_by = text_of("created_by");
    if (const boost::json::value* at = o.if_contains("created_at_us"); at && at->is_int64()) {
      d.created_at = Timestamp::FromMicros(at->as_int64());
    }
    RETURN_IF_ERROR(CheckDefinition(d).With("tag", d.name));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace pond::tags
