// MemoryTenantStore: a TenantStore kept in memory, for engine tests. It
// commits batches whole and replays them in TenantStore::Load's order, and
// can be told to fail the next commit (fault injection, as leveldb's
// SpecialEnv does). Not thread-safe beyond the TenantStore contract.
#pragma once

#include <algorithm>
#include <map>
#include <memory>

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
    std::map<int64_t, MemberRow> members;
    for (const WriteBatch& b : data_->commits) {
      for (const auto& r : b.stores) stores[r.id] = r;
      for (const auto& r : b.staff) staff[r.id] = r;
      for (const auto& r : b.products) products[r.sku] = r;
      for (const auto& r : b.categories) categories[r.id] = r;
      for (const auto& r : b.members) members[r.member_id] = r;
    }
    for (auto& [k, v] : stores) sink.OnStore(v);
    for (auto& [k, v] : staff) sink.OnStaff(v);
    for (auto& [k, v] : products) sink.OnProduct(v);
    for (auto& [k, v] : categories) sink.OnCategory(v);
    for (auto& [k, v] : members) sink.OnMember(v);
    for (const WriteBatch& b : data_->commits) for (const auto& r : b.identities) sink.OnIdentity(r);
    for (const WriteBatch& b : data_->commits) for (const auto& r : b.merges) sink.OnMerge(r);
    for (const WriteBatch& b : data_->commits) for (const auto& r : b.orders) sink.OnOrder(r);
    for (const WriteBatch& b : data_->commits) for (const auto& r : b.refunds) sink.OnRefund(r);
    for (const WriteBatch& b : data_->commits) for (const auto& r : b.idempotency) sink.OnIdempotency(r);
    return Status::Ok();
  }

 private:
  std::shared_ptr<MemoryTenantData> data_;
};

}  // namespace pond::testing
