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

// The same a few ids at a time, for lists built or read in slices (a
// snapshot's million members): never a whole list of 8-byte ids at once.
class IdListWriter {
 public:
  IdListWriter() = default;
  explicit IdListWriter(size_t expected) { out_.reserve(expected); }  // one byte each, when dense
  void Add(int64_t id);  // ascending and positive, as EncodeIdList's
  const std::string& bytes() const { return out_; }
  std::string Take() && { return std::move(out_); }

 private:
  std::string out_;
  int64_t previous_ = 0;
};

// Reads `bytes` from a place a previous reader of the same bytes reached
// (`at`, `previous`), so a slice can stop and the next go on.
class IdListReader {
 public:
  explicit IdListReader(std::string_view bytes, size_t at = 0, int64_t previous = 0)
      : bytes_(bytes), at_(at), previous_(previous) {}
  // The next id into `id`: true, or false at the end; errors as DecodeIdList's.
  Result<bool> Next(int64_t& id);
  size_t at() const { return at_; }
  int64_t previous() const { return previous_; }

 private:
  std::string_view bytes_;
  size_t at_;
  int64_t previous_;
};

}  // namespace pond
