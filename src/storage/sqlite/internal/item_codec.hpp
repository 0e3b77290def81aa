// The compact encoding of an order's items, stored in orders.items (a BLOB).
//
// Layout (format 1), all integers as LEB128 varints, signed ones zigzagged:
//   format:u8 = 1 | count | count × ( sku_len, sku bytes, category_len,
//   category bytes, zigzag(qty), zigzag(paid_fen) )
// A typical two-item order takes ~30 bytes. The leading format byte lets a
// later encoding coexist with rows already written. Pure functions; safe from
// any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "events/event.hpp"

namespace pond::sqlite_internal {

// Replaces the contents of `out` with the encoding of `items`; reusing `out`
// across rows avoids an allocation per order.
void EncodeItems(const std::vector<OrderItem>& items, std::string& out);

// Decodes `data` into `items` (replacing them). False when the bytes are not
// a well-formed format-1 encoding; `items` is then unspecified.
bool DecodeItems(std::string_view data, std::vector<OrderItem>& items);

}  // namespace pond::sqlite_internal
