// Test helpers shared by the storage backends' tests (the conformance suite
// beside this file and each backend's own tests): journal and state rows to
// write, a LoadSink that records what Load hands over and checks its order,
// and temp directories. A backend stores kind, key and payload without
// knowing any kind, so these rows are made of arbitrary numbers and bytes:
// what the engine's kinds encode is tested by journal/codec_test.cpp.
// Header-only; for tests, never for production code. Not thread-safe.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/store.hpp"

namespace pond::store_testing {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pond_store_test_XXXXXX";
    const char* made = mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Comparable views of the rows.
inline auto Key(const JournalRow& r) { return std::tuple(r.tick, r.kind, r.key, r.payload); }
inline auto Key(const StateRow& r) { return std::tuple(r.kind, r.key, r.payload); }
template <typename T>
auto Keys(const std::vector<T>& rows) {
  std::vector<decltype(Key(rows.front()))> out;
  for (const T& r : rows) out.push_back(Key(r));
  return out;
}

// Everything Load handed over, in the order it came.
struct Loaded {
  std::vector<StateRow> state;
  std::vector<JournalRow> journal;
};

// Records Load's rows and fails the test when they break its documented
// order: every state row before any journal row, state rows by kind and
// then key (bytes compared unsigned, as std::string compares), journal rows
// by strictly growing tick.
class RecordingSink final : public LoadSink {
 public:
  explicit RecordingSink(Loaded& out) : out_(out) {}
  Status OnState(StateRow row) override {
    EXPECT_TRUE(out_.journal.empty()) << "a state row after the journal";
    EXPECT_FALSE(row.erase);
    if (!out_.state.empty()) {
      const StateRow& last = out_.state.back();
      EXPECT_LT(std::tie(last.kind, last.key), std::tie(row.kind, row.key)) << "state rows out of order";
    }
    out_.state.push_back(std::move(row));
    return Status::Ok();
  }
  Status OnJournal(JournalRow row) override {
    if (!out_.journal.empty()) {
      EXPECT_LT(out_.journal.back().tick, row.tick) << "journal rows out of tick order";
    }
    out_.journal.push_back(std::move(row));
    return Status::Ok();
  }

 private:
  Loaded& out_;
};

// Everything `tenant` holds; a failed Load fails the test.
inline Loaded LoadAll(TenantStore& tenant) {
  Loaded out;
  RecordingSink sink(out);
  Status s = tenant.Load(sink);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

inline JournalRow J(int64_t tick, RowKind kind, std::string key, std::string payload) {
  return {tick, kind, std::move(key), std::move(payload)};
}
inline StateRow Put(RowKind kind, std::string key, std::string payload) {
  return {kind, std::move(key), std::move(payload), false};
}
inline StateRow Erase(RowKind kind, std::string key) { return {kind, std::move(key), {}, true}; }

// Bytes a text column would mangle: NUL, high bytes, invalid UTF-8, quotes,
// backslashes, COPY's delimiters.
inline std::string Awkward(int n) { return std::string("\0\xff\x80\t\n\\'\",", 9) + std::to_string(n); }

// Creates tenant `id` in `store` and returns the id; a failure fails the test.
inline std::string ExistingTenant(Store& store, const std::string& id) {
  Status s = store.CreateTenant({id, "Tea House 茶馆", "Asia/Shanghai", Timestamp::FromSeconds(1'700'000'000)});
  EXPECT_TRUE(s.ok()) << s.ToString();
  return id;
}

// The tenant's store; null (and the test failed) when it does not open.
inline std::unique_ptr<TenantStore> MustOpenTenant(Store& store, const std::string& id) {
  auto tenant = store.OpenTenant(id);
  EXPECT_TRUE(tenant.ok()) << tenant.status().ToString();
  return tenant.ok() ? std::move(tenant).value() : nullptr;
}

// A batch of both shapes: journal rows out of tick order, empty and awkward
// keys and payloads, state rows of several kinds.
inline WriteBatch FullBatch() {
  WriteBatch b;
  b.journal = {J(3, 101, "O-1", "order bytes"), J(1, 100, Awkward(1), Awkward(2)), J(2, 65535, "", ""),
               J(5, 0, std::string(1, '\0'), std::string(300, 'p'))};
  b.state = {Put(6, std::string("\0\0\0\0\0\0\0\x07", 8), "member 7"), Put(5, "loyalty", "{\"json\":true}"),
             Put(1, "S1", Awkward(3)), Put(7, "", "")};
  return b;
}

}  // namespace pond::store_testing
