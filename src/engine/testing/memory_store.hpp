// MemoryTenantStore: a TenantStore kept in memory, for engine and API tests. It
// commits batches whole and replays them in TenantStore::Load's order, and
// can be told to fail the next commit (fault injection, as leveldb's
// SpecialEnv does). Not thread-safe beyond the TenantStore contract.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "engine/store.hpp"

namespace pond::testing {

struct MemoryTenantData {
  std::vector<WriteBatch> commits;
  int fail_next_commits = 0;
};

class MemoryTenantStore final : public TenantStore {
 public:
  explicit MemoryTenantStore(std::shared_ptr<MemoryTenantData> data) : data_(std::move(data)) {}

  Status Commit(const WriteBatch& batch) override {
    if (data_->fail_next_commits > 0) {
      --data_->fail_next_commits;
      return Unavailable("injected commit failure");
    }
    data_->commits.push_back(batch);
    return Status::Ok();
  }

  Status Load(LoadSink& sink) override {
    // Upserts collapse to their last version, as a table would.
    std::map<std::string, StoreInfo> stores;
    std::map<std::string, StaffInfo> staff;
    std::map<std::string, ProductInfo> products;
    std::map<std::string, CategoryInfo> categories;
    std::map<std::string, std::string> settings;
    std::map<int64_t, MemberRow> members;
    std::map<std::string, IdempotencyRow> idempotency;  // by key, as the backends keep and load them
    // Orders, refunds and journal rows in insertion order; the variant's
    // alternatives are in store.hpp's order for equal ticks.
    std::vector<std::pair<int64_t, std::variant<OrderRow, RefundRow, JournalRow>>> by_tick;
    for (const WriteBatch& b : data_->commits) {
      for (const auto& r : b.stores) stores[r.id] = r;
      for (const auto& r : b.staff) staff[r.id] = r;
      for (const auto& r : b.products) products[r.sku] = r;
      for (const auto& r : b.categories) categories[r.id] = r;
      for (const auto& r : b.settings) settings[r.key] = r.value;
      for (const auto& r : b.members) members[r.member_id] = r;
      for (const auto& r : b.idempotency) idempotency[r.key] = r;
      for (const auto& r : b.orders) by_tick.emplace_back(r.loyalty.tick, r);
      for (const auto& r : b.refunds) by_tick.emplace_back(r.loyalty.tick, r);
      for (const auto& r : b.journal) by_tick.emplace_back(r.tick, r);
    }
    // Stable, so rows of one table and tick stay in insertion order.
    std::stable_sort(by_tick.begin(), by_tick.end(), [](const auto& a, const auto& b) {
      return std::pair(a.first, a.second.index()) < std::pair(b.first, b.second.index());
    });
    for (auto& [k, v] : stores) sink.OnStore(v);
    for (auto& [k, v] : staff) sink.OnStaff(v);
    for (auto& [k, v] : products) sink.OnProduct(v);
    for (auto& [k, v] : categories) sink.OnCategory(v);
    for (auto& [k, v] : settings) sink.OnSetting({k, v});
    for (auto& [k, v] : members) sink.OnMember(v);
    for (const WriteBatch& b : data_->commits) for (const auto& r : b.merges) sink.OnMerge(r);
    for (auto& [tick, row] : by_tick) {
      if (auto* order = std::get_if<OrderRow>(&row)) {
        sink.OnOrder(std::move(*order));
      } else if (auto* refund = std::get_if<RefundRow>(&row)) {
        sink.OnRefund(std::move(*refund));
      } else {
        sink.OnJournal(std::move(std::get<JournalRow>(row)));
      }
    }
    for (const WriteBatch& b : data_->commits) for (const auto& r : b.tag_operations) sink.OnTagOperation(r);
    for (const WriteBatch& b : data_->commits) for (const auto& r : b.snapshots) sink.OnSnapshot(r);
    for (const WriteBatch& b : data_->commits) for (const auto& r : b.coupon_events) sink.OnCouponEvent(r);
    for (const WriteBatch& b : data_->commits) for (const auto& r : b.activity_events) sink.OnActivityEvent(r);
    for (auto& [k, v] : idempotency) sink.OnIdempotency(v);
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
