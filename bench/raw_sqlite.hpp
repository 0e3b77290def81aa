// The ingest benchmark's "raw bulk load" peer: the demo's orders as the
// journal rows Pond stores for them (journal/codec.hpp), inserted straight
// into a fresh SQLite file with the embedded backend's journal table and
// durability pragmas, in transactions of `batch_size` rows. What plain
// SQLite does with the same bytes, without members, loyalty or group commit.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "journal/rows.hpp"

namespace pond::bench {

// AlreadyExists when `db_path` exists.
Status RawBulkLoadOrders(const std::string& db_path, const std::vector<OrderRow>& rows, size_t batch_size);

}  // namespace pond::bench
