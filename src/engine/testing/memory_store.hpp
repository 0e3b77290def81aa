// MemoryTenantStore: a TenantStore kept in memory, for engine and API tests. It
// commits batches whole and replays them in TenantStore::Load's order, and
// can be told to fail the next commit (fault injection, as leveldb's
// SpecialEnv does). Not thread-safe beyond the TenantStore contract.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/store.hpp"

namespace pond::testing {

struct MemoryTenantData {
  std::vector<WriteBatch> commits;
  // Set from any thread (a command on the writer, the test's own).
  std::atomic<int> fail_next_commits{0};
  // Runs at the start of every Commit, on the committer's thread (a test
  // holds a commit there to see what gathers behind it).
  std::function<void()> before_commit;
};

class MemoryTenantStore final : public TenantStore {
 public:
  explicit MemoryTenantStore(std::shared_ptr<MemoryTenantData> data) : data_(std::move(data)) {}

  Status Commit(const WriteBatch& batch) override {
    if (data_->before_commit) data_->before_commit();
    if (data_->fail_next_commits > 0) {
      --data_->fail_next_commits;
      return Unavailable("injected commit failure");
    }
    data_->commits.push_back(batch);
    return Status::Ok();
  }

  Status Load(LoadSink& sink) override {
    // State rows collapse to their last version, as a table would; keys
    // compare as bytes (std::string compares chars as unsigned).
    std::map<std::pair<RowKind, std::string>, std::string> state;
    std::map<int64_t, JournalRow> journal;
    for (const WriteBatch& b : data_->commits) {
      for (const JournalRow& r : b.journal) {
        if (!journal.emplace(r.tick, r).second) return Internal("tick used twice: " + std::to_string(r.tick));
      }
      for (const StateRow& r : b.state) {
        if (r.erase) {
          state.erase({r.kind, r.key});
        } else {
          state[{r.kind, r.key}] = r.payload;
        }
      }
    }
    for (auto& [key, payload] : state) RETURN_IF_ERROR(sink.OnState({key.first, key.second, payload}));
    for (auto& [tick, row] : journal) RETURN_IF_ERROR(sink.OnJournal(row));
    return Status::Ok();
  }

 private:
  std::shared_ptr<MemoryTenantData> data_;
};

// A Store whose tenants are MemoryTenantStores; the catalog lives in memory.
class MemoryStore final : public Store {
 public:
  Result<std::vector<TenantRecord>> ListTenants() override { return tenants_; }
  Status CreateTenant(const TenantRecord& tenant) override {
    for (const auto& t : tenants_) {
      if (t.id == tenant.id) return AlreadyExists("tenant exists");
    }
    tenants_.push_back(tenant);
    data_[tenant.id] = std::make_shared<MemoryTenantData>();
    return Status::Ok();
  }
  Result<std::unique_ptr<TenantStore>> OpenTenant(std::string_view id) override {
    auto it = data_.find(std::string(id));
    if (it == data_.end()) return NotFound("no tenant");
    return std::unique_ptr<TenantStore>(std::make_unique<MemoryTenantStore>(it->second));
  }
  Status DeleteTenant(std::string_view id) override {
    if (!std::erase_if(tenants_, [&](const TenantRecord& t) { return t.id == id; })) return NotFound("no such tenant");
    data_.erase(std::string(id));
    std::erase_if(keys_, [&](const ApiKeyRecord& k) { return k.tenant == id; });
    return Status::Ok();
  }
  Status PutApiKey(const ApiKeyRecord& key) override {
    keys_.push_back(key);
    return Status::Ok();
  }
  Result<std::vector<ApiKeyRecord>> ListApiKeys() override { return keys_; }
  Status DeleteApiKey(std::string_view id) override {
    return std::erase_if(keys_, [&](const ApiKeyRecord& k) { return k.id == id; }) ? Status::Ok()
                                                                                     : NotFound("no such key");
  }
  Status Ping() override { return Status::Ok(); }
  MemoryTenantData& data(const std::string& tenant) { return *data_.at(tenant); }

 private:
  std::vector<TenantRecord> tenants_;
  std::map<std::string, std::shared_ptr<MemoryTenantData>> data_;
  std::vector<ApiKeyRecord> keys_;
};

}  // namespace pond::testing
