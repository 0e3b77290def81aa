// The segment expression language (CONTRACT.md "Segments", docs/segments.md):
// its syntax tree and its parser. Pure: no tenant data; whether a tier id,
// a tag or a category exists is decided when the tree is compiled against a
// tenant (segments/segment_index.hpp).
//
//   expr     := or
//   or       := and ("or" and)*
//   and      := not ("and" not)*
//   not      := "not" not | primary
//   primary  := "(" expr ")" | call | condition
//   call     := "tag" "(" string ")"
//             | "bought" "(" string "," integer ["," integer] ")"
//   field    := name | name "." name     (the second: a field a module adds)
//   condition:= field op value | field ["not"] "in" "(" value ("," value)* ")"
//             | field ["not"] "between" value "and" value
//   op       := "=" | "!=" | "<" | "<=" | ">" | ">="
//   value    := string | number
//
// Keywords and field names are case-insensitive; strings are double-quoted
// UTF-8 with \" and \\ escapes and no control characters. Numbers are
// decimal, optionally negative, with at most 15 digits before the point and
// at most two after it (yuan for spend fields, whole numbers elsewhere).
// `and` binds tighter than `or`; a chain `a and b and c` is one And node,
// while parentheses keep their nesting: `(a and b) and c` is an And inside
// an And.
//
// Besides the syntax the parser checks what needs no tenant data: a text
// field takes strings and only = != in / not in, a number field numbers;
// whole numbers except for spend_Nd; windows (orders_Nd, spend_Nd,
// weekend_orders_Nd, max_units_Nd, bought) of 1..3650 days; bought's
// minimum number of orders 1..1000; birthday_month 1..12; lifecycle, gender
// and rfm values from their fixed sets; non-empty tag names and categories;
// between low <= high.
//
// Thread-safety: parsing is a pure function; trees are plain values.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.hpp"

namespace pond::segments {

// Text fields come first and without gaps (kTier .. kRfm): a text field's
// enum value is its column slot in segments/segment_index.cpp.
enum class Field : uint8_t {
  kTier,            // string: a tier id of the tenant's loyalty config
  kLifecycle,       // string: intro|growth|mature|decline|lost|won_back
  kGender,          // string: male|female|unknown
  kCity,            // string
  kHomeStore,       // string
  kSource,          // string
  kOwnerStaff,      // string
  kRfm,             // string: an RFM class as lifecycle/lifecycle.hpp names it, none|important_value|...
  kPoints,          // number: points balance
  kGrowth,          // number: growth value
  kOrders,          // number: orders in the last `days` days (orders_Nd)
  kSpend,           // number, yuan: net spend in the last `days` days (spend_Nd)
  kWeekendOrders,   // number: orders on a Saturday or Sunday in the last `days` days (weekend_orders_Nd)
  kMaxUnits,        // number: most units in one order in the last `days` days, 0 if none (max_units_Nd)
  kLastOrderDays,   // number: days since the last order; members without orders never match
  kRegisteredDays,  // number: days since registration; members without a date never match
  kBirthdayMonth,   // number 1..12; members without a birthday never match
  kAge,             // number: whole years today; members without a birthday never match
  kModule,          // number a module of the tenant adds, named "module.field" (FieldRef::name); whether the
                    // tenant has it is checked against the index, like a tier id
};

// Whether a field compares strings or numbers.
bool IsTextField(Field f);
// The field's name as written in expressions ("orders_Nd" for kOrders).
std::string_view FieldName(Field f);

struct FieldRef {
  Field field = Field::kTier;
  int32_t days = 0;  // kOrders, kSpend, kWeekendOrders, kMaxUnits: the window, 1..3650
  std::string name;  // kModule: "coupons.unused", lower case
};
// A condition's field as written: "orders_90d", "coupons.unused".
std::string FieldText(const FieldRef& f);

// A literal. Numbers are held in hundredths so that "99.5" yuan is exact:
// 99.5 -> 9950. A whole number n is n * 100.
struct Value {
  bool is_text = false;
  std::string text;
  int64_t hundredths = 0;
  size_t position = 0;  // of the literal's first character
};

enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Compare {
  FieldRef field;
  CompareOp op = CompareOp::kEq;
  Value value;
};
struct In {  // field [not] in (values)
  FieldRef field;
  bool negated = false;
  std::vector<Value> values;
};
struct Between {  // field [not] between low and high, both ends included
  FieldRef field;
  bool negated = false;
  Value low, high;
};
struct Tag {
  std::string name;
  size_t name_position = 0;  // of the quoted name, where a check against the tenant points
};
// bought(category, days [, min_orders]): at least `min_orders` orders within
// `days` days that contain the category.
struct Bought {
  std::string category;
  int32_t days = 0;
  int32_t min_orders = 1;  // 1..1000
};
struct And {
  std::vector<NodePtr> children;  // two or more
};
struct Or {
  std::vector<NodePtr> children;  // two or more
};
struct Not {
  NodePtr child;
};

struct Node {
  std::variant<Compare, In, Between, Tag, Bought, And, Or, Not> kind;
  // 1-based character (code point) position where the node's own text
  // starts: the field of a condition, `tag`, `bought` or `not`; for And/Or
  // the start of the first operand, its '(' if it has one.
  size_t position = 0;
};

// Limits that keep a hostile expression from exhausting the server.
inline constexpr size_t kMaxExprBytes = 16 * 1024;
inline constexpr int kMaxDepth = 64;  // nesting of parentheses and `not`
inline constexpr size_t kMaxConditions = 100;  // comparisons, in/between, tag() and bought() together
// The input, and the tree written back by ToText, are at most kMaxExprBytes:
// checking the canonical text too means whatever parses can be saved as
// ToText and parsed again.

// Parses `text`. On error: InvalidArgument whose message reads
// "at position P: <reason>" and whose details carry `position` (1-based
// character position), `expected` (what would have been valid there) and,
// where one helps, `hint`.
Result<NodePtr> ParseExpr(std::string_view text);

// An error in the format ParseExpr uses, for checks made after parsing
// (segments/segment_index.cpp checks values against the tenant).
Status ExprError(size_t position, std::string_view reason, std::string_view expected, std::string_view hint = {});

// The tree written back as canonical text: lower-case keywords and field
// names, one space around operators, numbers without trailing zeros or with
// two decimals (99.50), bought's third argument only when it is not 1,
// parentheses only where and/or/not need them. For a
// tree from ParseExpr, parsing the text gives the same tree (the same
// ToText; positions aside) within the same limits.
std::string ToText(const Node& node);

}  // namespace pond::segments
