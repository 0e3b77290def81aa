// Engine: the set of tenants this node serves, each with its own
// TenantEngine (one writer per tenant; tenants run in parallel).
//
// Creating a tenant validates it, records it in the store's catalog and
// starts its writer. Thread-safety: every method may be called from any
// thread; TenantEngine pointers stay valid while shared.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "engine/store.hpp"
#include "engine/tenant_engine.hpp"

namespace pond {

class Engine {
 public:
  Engine(Store& store, const Clock& clock) : store_(store), clock_(clock) {}
  ~Engine() { Stop(); }

  // Opens every tenant in the catalog.
  Status Start();
  // Drains and stops every tenant's writer.
  void Stop();

  struct Created {
    TenantRecord tenant;
    bool created = false;  // false: an identical tenant was already there
  };
  // Validates and creates a tenant; an identical existing one is returned
  // with created=false (a safe retry); a different one with that id is
  // AlreadyExists. Empty name defaults to the id, empty zone to Asia/Shanghai.
  Result<Created> CreateTenant(TenantRecord tenant);

  // The tenant's engine, or nullptr when unknown.
  std::shared_ptr<TenantEngine> Tenant(std::string_view id) const;
  std::vector<std::shared_ptr<TenantEngine>> Tenants() const;

  Store& store() { return store_; }
  const Clock& clock() const { return clock_; }

 private:
  Store& store_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<TenantEngine>, std::less<>> tenants_;
};

// Checks a tenant id: 1–64 of [a-z0-9_-], starting with a letter or digit.
Status ValidateTenantId(std::string_view id);

}  // namespace pond
