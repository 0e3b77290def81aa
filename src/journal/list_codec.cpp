#include "journal/list_codec.hpp"

#include "journal/bytes.hpp"

#include <cstdint>
#include <limits>

namespace pond::journal {
namespace {

constexpr uint8_t kFormat = 1;
// The smallest encoded item: four one-byte varints.
constexpr size_t kMinItemBytes = 4;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

char* PutVarint(uint64_t v, char* p) {
  for (; v >= 0x80; v >>= 7) *p++ = static_cast<char>(static_cast<uint8_t>(v) | 0x80);
  *p++ = static_cast<char>(v);
  return p;
}

size_t BytesSize(std::string_view s) { return VarintSize(s.size()) + s.size(); }

char* PutBytes(std::string_view s, char* p) {
  p = PutVarint(s.size(), p);
  s.copy(p, s.size());
  return p + s.size();
}

}  // namespace

void EncodeItems(const std::vector<OrderItem>& items, std::string& out) {
  // Sized first and written through a pointer: this runs once per order on
  // the commit path, where per-byte appends showed up in profiles.
  size_t size = 1 + VarintSize(items.size());
  for (const OrderItem& item : items) {
    size += BytesSize(item.sku) + BytesSize(item.category) + VarintSize(ZigZag(item.qty)) +
            VarintSize(ZigZag(item.paid.fen()));
  }
  out.resize(size);
  char* p = out.data();
  *p++ = static_cast<char>(kFormat);
  p = PutVarint(items.size(), p);
  for (const OrderItem& item : items) {
    p = PutBytes(item.sku, p);
    p = PutBytes(item.category, p);
    p = PutVarint(ZigZag(item.qty), p);
    p = PutVarint(ZigZag(item.paid.fen()), p);
  }
}

bool DecodeItems(std::string_view data, std::vector<OrderItem>& items) {
  ByteReader in(data);
  if (in.Byte() != kFormat) return false;
  const uint64_t count = in.Varint();
  // Bound the reservation by what the bytes can hold, so a corrupt count
  // cannot ask for gigabytes.
  if (!in.ok() || count > in.remaining() / kMinItemBytes) return false;
  items.clear();
  items.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    OrderItem& item = items.emplace_back();
    item.sku = in.Bytes();
    item.category = in.Bytes();
    const int64_t qty = UnZigZag(in.Varint());
    if (qty < std::numeric_limits<int32_t>::min() || qty > std::numeric_limits<int32_t>::max()) return false;
    item.qty = static_cast<int32_t>(qty);
    item.paid = Money::Fen(UnZigZag(in.Varint()));
  }
  return in.ok() && in.remaining() == 0;
}

void EncodeIdentities(const std::vector<Identity>& identities, std::string& out) {
  size_t size = 1 + VarintSize(identities.size());
  for (const Identity& i : identities) size += 1 + BytesSize(i.value);
  out.resize(size);
  char* p = out.data();
  *p++ = static_cast<char>(kFormat);
  p = PutVarint(identities.size(), p);
  for (const Identity& i : identities) {
    *p++ = static_cast<char>(i.kind);
    p = PutBytes(i.value, p);
  }
}

bool DecodeIdentities(std::string_view data, std::vector<Identity>& identities) {
  ByteReader in(data);
  if (in.Byte() != kFormat) return false;
  const uint64_t count = in.Varint();
  if (!in.ok() || count > in.remaining() / 2) return false;  // a kind byte and a length at least
  identities.clear();
  identities.reserve(count);
  for (uint64_t n = 0; n < count; ++n) {
    const uint8_t kind = in.Byte();
    if (kind >= kIdentityKinds) return false;
    identities.push_back({static_cast<IdentityKind>(kind), in.Bytes()});
  }
  return in.ok() && in.remaining() == 0;
}

void EncodeDigests(const std::vector<uint64_t>& digests, std::string& out) {
  out.resize(8 * digests.size());
  char* p = out.data();
  for (uint64_t d : digests) {
    for (int b = 0; b < 8; ++b) *p++ = static_cast<char>(d >> (8 * b));
  }
}

bool DecodeDigests(std::string_view data, std::vector<uint64_t>& digests) {
  if (data.size() % 8 != 0) return false;
  digests.clear();
  for (size_t at = 0; at < data.size(); at += 8) {
    uint64_t d = 0;
    for (int b = 0; b < 8; ++b) d |= static_cast<uint64_t>(static_cast<uint8_t>(data[at + b])) << (8 * b);
    digests.push_back(d);
  }
  return true;
}

}  // namespace pond::journal
