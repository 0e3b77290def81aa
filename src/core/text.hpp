// Rules for text from outside that every module applies alike: ids (order
// ids, refund ids, SKUs, store ids, redemption ids) follow one rule
// wherever they arrive — an event, a redemption, a coupon's order — so an
// id accepted in one place is never refused, or read differently, in
// another (docs/api.md "Limits"). Pure functions; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pond {

// At most this many characters (code points) in an id.
inline constexpr size_t kMaxIdChars = 64;

// Unicode code points in UTF-8 text (the text is known to be valid UTF-8).
size_t CodePoints(std::string_view s);
// C0 controls, DEL and the C1 controls U+0080..U+009F: none belongs in a
// name or an id, and they break logs and CSV exports.
bool HasControl(std::string_view s);
// Why `id` is not an id ("must not be empty", "must not contain control
// characters", "must be at most 64 characters"), or "" when it is one.
std::string IdProblem(std::string_view id);

}  // namespace pond
