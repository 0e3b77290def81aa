// A list of ascending ids (members of a tag operation or of a snapshot) as
// compact bytes for the store: each id as the gap from the one before,
// in LEB128 varints. Dense audiences take one byte a member; 10 M members
// of a snapshot fit in ~10 MB instead of 80.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace pond {

// `ids` must be ascending and positive (ids are compared, not checked).
std::string EncodeIdList(std::span<const int64_t> ids);
// InvalidArgument for bytes EncodeIdList did not write (truncated, overlong,
// or not ascending).
Result<std::vector<int64_t>> DecodeIdList(std::string_view bytes);

}  // namespace pond
