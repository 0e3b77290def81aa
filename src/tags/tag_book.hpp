// TagBook: a tenant's tag definitions and the record of manual tagging
// (docs/segments.md "Tags"): who put which tag on or off whom, and when.
//
// Which members hold a tag is the segment index's business
// (segments/segment_index.hpp); this book keeps what people read and audit:
// names, groups, descriptions, rules as written, and the operations. A rule
// tag's rule is checked against the tenant by the engine before it gets
// here; the book checks what needs no tenant data.
//
// Thread-safety: none; the tenant's writer owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "core/time.hpp"

namespace pond::tags {

enum class TagKind : uint8_t { kManual, kRule };
std::string_view TagKindName(TagKind kind);  // "manual", "rule"

struct TagDefinition {
  std::string name;
  std::string group;        // a folder for people: "偏好", "活动", ... ; may be empty
  TagKind kind = TagKind::kManual;
  std::string rule;         // kRule: the expression in canonical form
  std::string description;
  std::string created_by;   // "pond" for the defaults
  Timestamp created_at;
};

// One request's manual tagging: the members whose holding it changed.
struct TagOperation {
  int64_t id = 0;  // ascending in the order applied
  std::string tag;
  bool add = true;
  std::string by;  // who: the `by` the caller named, else its API key; "merge" for merges
  Timestamp at;
  std::string note;
  std::vector<int64_t> members;  // ascending, distinct
  bool operator==(const TagOperation&) const = default;
};

// Limits a person never meets and a hostile request cannot pass.
inline constexpr size_t kMaxTagNameBytes = 100;
inline constexpr size_t kMaxGroupBytes = 100;
inline constexpr size_t kMaxDescriptionBytes = 1000;
inline constexpr size_t kMaxTags = 10'000;

// Text a person typed (a name, a group, a note): at most `max_bytes`, no
// control characters, no blanks at the ends. Errors name `field`.
Status CheckText(std::string_view field, std::string_view v, size_t max_bytes, bool required);

// Checks a definition's own fields (not the rule's meaning). Errors name
// the field: name, group, description, rule.
Status CheckDefinition(const TagDefinition& def);

// The preference tags a tenant starts with (DOMAIN.md §3), as rule tags in
// group "偏好", created with the tenant; docs/segments.md lists them.
std::vector<TagDefinition> DefaultTags(Timestamp tenant_created_at = {});

class TagBook {
 public:
  // Starts with DefaultTags(tenant_created_at).
  explicit TagBook(Timestamp tenant_created_at = {});

  const std::map<std::string, TagDefinition, std::less<>>& definitions() const { return defs_; }
  const TagDefinition* Find(std::string_view name) const;
  // Inserts or replaces the definition of def.name.
  void Put(TagDefinition def);
  void Remove(std::string_view name);
  // Replaces every definition (a stored document being loaded).
  void Reset(std::vector<TagDefinition> defs);

  // Appends an operation; its id must be above every earlier one.
  void Record(TagOperation op);
  int64_t next_operation_id() const { return operations_.empty() ? 1 : operations_.back().id + 1; }
  // The latest operation that put `tag` on `member` (while the member holds
  // it), or nullptr.
  const TagOperation* LastAdd(std::string_view tag, int64_t member) const;
  // A tag's operations, newest first, at most `limit`.
  std::vector<const TagOperation*> OperationsOf(std::string_view tag, size_t limit) const;

 private:
  std::map<std::string, TagDefinition, std::less<>> defs_;
  std::vector<TagOperation> operations_;
};

// The definitions as one JSON document (the tenant setting "tags") and back.
std::string TagDefinitionsJson(const TagBook& book);
Result<std::vector<TagDefinition>> ParseTagDefinitions(std::string_view json);

}  // namespace pond::tags
