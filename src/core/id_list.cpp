#include "core/id_list.hpp"

namespace pond {

std::string EncodeIdList(std::span<const int64_t> ids) {
  std::string out;
  out.reserve(ids.size() + 8);
  int64_t previous = 0;
  for (int64_t id : ids) {
    auto gap = static_cast<uint64_t>(id - previous);
    previous = id;
    while (gap >= 0x80) {
      out.push_back(static_cast<char>(0x80 | (gap & 0x7f)));
      gap >>= 7;
    }
    out.push_back(static_cast<char>(gap));
  }
  return out;
}

Result<std::vector<int64_t>> DecodeIdList(std::string_view bytes) {
  std::vector<int64_t> out;
  int64_t previous = 0;
  for (size_t i = 0; i < bytes.size();) {
    uint64_t gap = 0;
    for (int shift = 0;; shift += 7) {
      if (i == bytes.size() || shift > 56) return InvalidArgument("id list: a truncated or overlong number");
      const auto byte = static_cast<uint8_t>(bytes[i++]);
      gap |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) break;
    }
    if (gap == 0 || gap > static_cast<uint64_t>(INT64_MAX - previous)) {
      return InvalidArgument("id list: ids are not ascending");
    }
    previous += static_cast<int64_t>(gap);
    out.push_back(previous);
  }
  return out;
}

}  // namespace pond
