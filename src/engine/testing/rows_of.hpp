// RowsOf<Row>(batch): the rows of one kind a batch holds, decoded, in the
// order they were recorded; for tests that look at what a command wrote.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "engine/store.hpp"
#include "journal/codec.hpp"

namespace pond::testing {

template <typename Row>
std::vector<Row> RowsOf(const WriteBatch& batch) {
  const auto kind = static_cast<RowKind>(journal::RowKindOf<Row>::value);
  std::vector<Row> out;
  auto decode = [&](int64_t tick, const std::string& key, const std::string& payload) {
    Row row;
    if (journal::Decode(tick, key, payload, row)) {
      out.push_back(std::move(row));
    } else {
      ADD_FAILURE() << "a " << journal::KindName(kind) << " row does not decode";
    }
  };
  for (const JournalRow& r : batch.journal) {
    if (r.kind == kind) decode(r.tick, r.key, r.payload);
  }
  for (const StateRow& r : batch.state) {
    if (r.kind == kind && !r.erase) decode(0, r.key, r.payload);
  }
  return out;
}

template <typename Row>
std::vector<Row> RowsOf(const std::vector<WriteBatch>& batches) {
  std::vector<Row> out;
  for (const WriteBatch& b : batches) {
    for (Row& row : RowsOf<Row>(b)) out.push_back(std::move(row));
  }
  return out;
}

}  // namespace pond::testing
