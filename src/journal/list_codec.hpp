// The compact encodings of lists inside rows: an order's items, a
// member's identities and the digests of the member
// events it has seen, each nested as bytes in its row's payload (codec.hpp).
//
// Items (format 1), all integers as LEB128 varints, signed ones zigzagged:
//   format:u8 = 1 | count | count × ( sku_len, sku bytes, category_len,
//   category bytes, zigzag(qty), zigzag(paid_fen) )
// A typical two-item order takes ~30 bytes. The leading format byte lets a
// later encoding coexist with rows already written.
// Identities (format 1): format:u8 = 1 | count | count × ( kind:u8,
// value_len, value bytes ). Digests: 8 little-endian bytes each.
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.hpp"

namespace pond::journal {

// Replaces the contents of `out` with the encoding of `items`; reusing `out`
// across rows avoids an allocation per order.
void EncodeItems(const std::vector<OrderItem>& items, std::string& out);

// Decodes `data` into `items` (replacing them). False when the bytes are not
// a well-formed format-1 encoding; `items` is then unspecified.
bool DecodeItems(std::string_view data, std::vector<OrderItem>& items);

// The same for a member's identities and event digests.
void EncodeIdentities(const std::vector<Identity>& identities, std::string& out);
bool DecodeIdentities(std::string_view data, std::vector<Identity>& identities);
void EncodeDigests(const std::vector<uint64_t>& digests, std::string& out);
bool DecodeDigests(std::string_view data, std::vector<uint64_t>& digests);

}  // namespace pond::journal
