// A model of a tenant's store for randomized tests (leveldb's ModelDB):
// TenantModel holds what a TenantStore must hold after the batches it
// accepted, kept the obvious way, and hands it over in Load's order;
// RandomPlan makes batches of both shapes — journal rows of any kind with
// awkward keys and payloads, state puts and erases over a small pool of
// keys, repeats of a key within a batch — some repeating a tick stored
// already, and keeps the model of the ones a store accepted. Shared by the
// conformance suite (every backend) and the backends' own fault-injection
// tests. Header-only; for tests. Not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/random.hpp"
#include "engine/store.hpp"
#include "storage/conformance/store_testing.hpp"

namespace pond::store_testing {

struct TenantModel {
  std::map<std::pair<RowKind, std::string>, std::string> state;
  std::map<int64_t, JournalRow> journal;

  // Records a batch the store accepted.
  void Apply(const WriteBatch& b) {
    for (const JournalRow& r : b.journal) journal[r.tick] = r;
    for (const StateRow& r : b.state) {
      if (r.erase) {
        state.erase({r.kind, r.key});
      } else {
        state[{r.kind, r.key}] = r.payload;
      }
    }
  }

  // What Load must hand over, in its order.
  Loaded Expected() const {
    Loaded out;
    for (const auto& [key, payload] : state) out.state.push_back(Put(key.first, key.second, payload));
    for (const auto& [tick, row] : journal) out.journal.push_back(row);
    return out;
  }
};

inline void ExpectSameRows(const Loaded& got, const Loaded& want) {
  EXPECT_EQ(Keys(got.state), Keys(want.state));
  EXPECT_EQ(Keys(got.journal), Keys(want.journal));
}

class RandomPlan {
 public:
  explicit RandomPlan(uint64_t seed) : rng_(seed) {}

  // The next batch, and whether it repeats a tick already stored (then a
  // store must refuse all of it). Its journal rows come in a shuffled order.
  std::pair<WriteBatch, bool> Next(double repeat_chance) {
    WriteBatch b;
    for (int64_t n = rng_.Range(0, 6); n > 0; --n) {
      next_tick_ += rng_.Range(1, 3);
      b.journal.push_back(J(next_tick_, Kind(), Bytes(), Payload()));
    }
    for (int64_t n = rng_.Range(0, 5); n > 0; --n) {
      const RowKind kind = Kind();
      std::string key = "k" + std::to_string(rng_.Range(0, 7)) + (rng_.Chance(0.3) ? Awkward(0) : "");
      b.state.push_back(rng_.Chance(0.2) ? Erase(kind, std::move(key)) : Put(kind, std::move(key), Payload()));
    }
    const bool repeat = !model_.journal.empty() && rng_.Chance(repeat_chance);
    if (repeat) {
      auto it = model_.journal.begin();
      std::advance(it, rng_.Uniform(model_.journal.size()));
      b.journal.push_back(J(it->first, Kind(), Bytes(), Payload()));
    }
    for (size_t i = b.journal.size(); i > 1; --i) std::swap(b.journal[i - 1], b.journal[rng_.Uniform(i)]);
    return {std::move(b), repeat};
  }

  void Accept(const WriteBatch& b) { model_.Apply(b); }
  Loaded Expected() const { return model_.Expected(); }
  Random& rng() { return rng_; }

 private:
  // A few kinds, so keys collide within a kind; and the extremes.
  RowKind Kind() {
    static constexpr RowKind kKinds[] = {0, 1, 6, 101, 65535};
    return kKinds[rng_.Uniform(std::size(kKinds))];
  }
  std::string Bytes() {
    std::string s(static_cast<size_t>(rng_.Range(0, 24)), '\0');
    for (char& c : s) c = static_cast<char>(rng_.Uniform(256));
    return s;
  }
  std::string Payload() { return rng_.Chance(0.02) ? std::string(100'000, 'x') + Bytes() : Bytes(); }

  Random rng_;
  TenantModel model_;
  int64_t next_tick_ = 0;
};

}  // namespace pond::store_testing
