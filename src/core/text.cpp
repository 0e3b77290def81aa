#include "core/text.hpp"

namespace pond {

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool HasControl(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F) return true;
  }
  return false;
}

std::string IdProblem(std::string_view id) {
  if (id.empty()) return "must not be empty";
  if (HasControl(id)) return "must not contain control characters";
  if (id.size() > kMaxIdChars && CodePoints(id) > kMaxIdChars) {
    return "must be at most " + std::to_string(kMaxIdChars) + " characters";
  }
  return "";
}

}  // namespace pond
