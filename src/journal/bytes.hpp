// The field encoding of row payloads (codec.hpp): integers as LEB128
// varints, signed ones zigzagged so small negatives stay short; text and
// nested byte strings as a varint length and the bytes. A payload is a
// sequence of fields in an order its codec fixes; nothing names them, so a
// codec changes its layout only behind a new leading format byte.
// Pure functions and plain classes; safe from any thread.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pond::journal {

inline uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Appends fields to `out`.
class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}

  ByteWriter& Byte(uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  ByteWriter& Varint(uint64_t v) {
    for (; v >= 0x80; v >>= 7) out_.push_back(static_cast<char>(static_cast<uint8_t>(v) | 0x80));
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  ByteWriter& Int(int64_t v) { return Varint(ZigZag(v)); }
  // Eight little-endian bytes of the IEEE-754 bits.
  ByteWriter& Double(double d) {
    const auto bits = std::bit_cast<uint64_t>(d);
    for (int b = 0; b < 8; ++b) out_.push_back(static_cast<char>(bits >> (8 * b)));
    return *this;
  }
  ByteWriter& Bytes(std::string_view s) {
    Varint(s.size());
    out_.append(s);
    return *this;
  }
  // An optional as a presence byte and, when present, the value.
  ByteWriter& OptBytes(const std::optional<std::string>& s) { return s ? Byte(1).Bytes(*s) : Byte(0); }
  ByteWriter& OptInt(std::optional<int64_t> v) { return v ? Byte(1).Int(*v) : Byte(0); }
  ByteWriter& OptDouble(std::optional<double> v) { return v ? Byte(1).Double(*v) : Byte(0); }

 private:
  std::string& out_;
};

// Reads fields back, failing sticky on the first malformed one: a caller
// reads every field and checks Done() once at the end.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  uint8_t Byte() {
    if (pos_ >= data_.size()) return static_cast<uint8_t>(Fail());
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return Fail();
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
    }
    return Fail();
  }
  int64_t Int() { return UnZigZag(Varint()); }
  double Double() {
    if (remaining() < 8) return static_cast<double>(Fail());
    uint64_t bits = 0;
    for (int b = 0; b < 8; ++b) bits |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_++])) << (8 * b);
    return std::bit_cast<double>(bits);
  }
  // A view into the data being read: valid as long as it is.
  std::string_view View() {
    const uint64_t n = Varint();
    if (!ok_ || n > remaining()) {
      Fail();
      return {};
    }
    const std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string Bytes() { return std::string(View()); }
  // The presence byte of an optional: 0 or 1.
  bool Present() {
    const uint8_t b = Byte();
    if (b > 1) Fail();
    return b == 1;
  }
  std::optional<std::string> OptBytes() { return Present() ? std::optional<std::string>(Bytes()) : std::nullopt; }
  std::optional<int64_t> OptInt() { return Present() ? std::optional<int64_t>(Int()) : std::nullopt; }
  std::optional<double> OptDouble() { return Present() ? std::optional<double>(Double()) : std::nullopt; }

  size_t remaining() const { return data_.size() - pos_; }
  bool ok() const { return ok_; }
  // True when every field read was well formed and nothing is left over.
  bool Done() const { return ok_ && pos_ == data_.size(); }
  // Marks the data malformed (a value out of its range).
  uint64_t Fail() {
    ok_ = false;
    return 0;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace pond::journal
