#include "core/id_list.hpp"

namespace pond {

void IdListWriter::Add(int64_t id) {
  auto gap = static_cast<uint64_t>(id - previous_);
  previous_ = id;
  while (gap >= 0x80) {
    out_.push_back(static_cast<char>(0x80 | (gap & 0x7f)));
    gap >>= 7;
  }
  out_.push_back(static_cast<char>(gap));
}

Result<bool> IdListReader::Next(int64_t& id) {
  if (at_ == bytes_.size()) return false;
  uint64_t gap = 0;
  for (int shift = 0;; shift += 7) {
    if (at_ == bytes_.size() || shift > 56) return InvalidArgument("id list: a truncated or overlong number");
    const auto byte = static_cast<uint8_t>(bytes_[at_++]);
    gap |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (gap == 0 || gap > static_cast<uint64_t>(INT64_MAX - previous_)) {
    return InvalidArgument("id list: ids are not ascending");
  }
  previous_ += static_cast<int64_t>(gap);
  id = previous_;
  return true;
}

std::string EncodeIdList(std::span<const int64_t> ids) {
  IdListWriter out(ids.size() + 8);
  for (int64_t id : ids) out.Add(id);
  return std::move(out).Take();
}

Result<std::vector<int64_t>> DecodeIdList(std::string_view bytes) {
  std::vector<int64_t> out;
  IdListReader in(bytes);
  for (int64_t id = 0;;) {
    ASSIGN_OR_RETURN(bool more, in.Next(id));
    if (!more) return out;
    out.push_back(id);
  }
}

}  // namespace pond
