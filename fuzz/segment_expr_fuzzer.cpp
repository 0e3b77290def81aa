// Feeds arbitrary bytes to the segment expression parser (the `expr` of
// POST .../segments/count and of saved segments) and checks what any input
// must give: no crash or sanitizer report; a rejection is InvalidArgument
// whose message starts "at position P: " with P in the `position` detail,
// inside the input, and names what was `expected`; an accepted expression
// writes back (ToText) as text that parses to the same tree, within the
// size limit (saved segments are stored as ToText).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "segments/expr.hpp"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

std::string Detail(const pond::Status& s, std::string_view key) {
  for (const auto& [k, v] : s.context()) {
    if (k == key) return v;
  }
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using pond::segments::ParseExpr;
  using pond::segments::ToText;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto expr = ParseExpr(text);
  if (!expr.ok()) {
    const pond::Status& s = expr.status();
    Check(s.code() == pond::StatusCode::kInvalidArgument);
    const std::string position = Detail(s, "position");
    Check(!position.empty() && position.find_first_not_of("0123456789") == std::string::npos);
    const unsigned long p = std::stoul(position);
    Check(p >= 1 && p <= size + 1);
    Check(s.message().starts_with("at position " + position + ": "));
    Check(!Detail(s, "expected").empty());
    return 0;
  }
  const std::string canonical = ToText(**expr);
  Check(canonical.size() <= pond::segments::kMaxExprBytes);
  auto again = ParseExpr(canonical);
  Check(again.ok());
  Check(ToText(**again) == canonical);
  return 0;
}
