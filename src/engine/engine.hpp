// Engine: the set of tenants this node serves, each with its own
// TenantEngine (one writer per tenant; tenants run in parallel).
//
// Creating a tenant validates it, records it in the store's catalog and
// starts its writer. On a store several nodes share (store.hpp, "Ownership")
// the node serves the tenants whose lease it holds: a thread renews the
// leases every third of their TTL, and another drops a tenant whose lease
// another node took and takes over every tenant nobody holds (its lease
// expired, its node died) by loading it from the store. A tenant that broke (its store
// failed and could not be read back) is dropped and opened afresh the same
// way. Thread-safety: every method may be called from any thread;
// TenantEngine pointers stay valid while shared.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "engine/store.hpp"
#include "engine/tenant_engine.hpp"

namespace pond {

class Engine {
 public:
  Engine(Store& store, const Clock& clock) : store_(store), clock_(clock) {}
  ~Engine() { Stop(); }

  // Reads the catalog and marks every tenant in it as loading, so that a
  // server listening before Start answers their callers 503 (come back),
  // never 404 (no such tenant). Start does this itself when not called.
  Status Expect();
  // Opens every tenant in the catalog (on a shared store: every tenant
  // nobody else holds) and, on a shared store, starts keeping the leases.
  Status Start();
  // From Expect (or Start) until Start has loaded the tenants: /healthz
  // says the node is not ready.
  bool starting() const;
  // Drains and stops every tenant's writer, letting their leases go.
  void Stop();

  struct Created {
    TenantRecord tenant;
    bool created = false;  // false: an identical tenant was already there
  };
  // Validates and creates a tenant; an identical existing one is returned
  // with created=false (a safe retry); a different one with that id is
  // AlreadyExists. Empty name defaults to the id, empty zone to Asia/Shanghai.
  Result<Created> CreateTenant(TenantRecord tenant);

  // Deletes a tenant served here: stops its writer, then deletes it and
  // all its data from the store (Store::DeleteTenant). NotFound naming
  // "tenant" when this node does not serve it.
  Status DeleteTenant(std::string_view id);
  // The tenant's engine, or nullptr when unknown or served by another node.
  std::shared_ptr<TenantEngine> Tenant(std::string_view id) const;
  std::vector<std::shared_ptr<TenantEngine>> Tenants() const;

  // The node serving a tenant this one does not, as its lease named it when
  // last looked at.
  struct Owner {
    std::string node;
    std::string address;
  };
  std::optional<Owner> OwnerOf(std::string_view id) const;
  // True while the tenant is being loaded here (at start, or taken over);
  // it is served once loaded.
  bool Loading(std::string_view id) const;

  Store& store() { return store_; }
  const Clock& clock() const { return clock_; }
  // The channels tenants' effects leave through (engine/outbox.hpp); set
  // up before Start.
  EffectChannels& channels() { return channels_; }

 private:
  // Opens `record` when its lease is free (in place of a broken engine of
  // it); when another node holds it, remembers that node and drops ours.
  Status Adopt(const TenantRecord& record);
  // One round of the keeper thread: renews the leases, then adopts every
  // tenant not served here well (Adopt).
  void KeepLeases();
  // Runs `work` every third of the lease TTL until Stop.
  void Every(const std::function<void()>& work);

  Store& store_;
  const Clock& clock_;
  EffectChannels channels_;
  mutable std::mutex mu_;  // guards the maps, loading_ and stopping_
  std::map<std::string, std::shared_ptr<TenantEngine>, std::less<>> tenants_;
  std::map<std::string, Owner, std::less<>> owners_;
  std::set<std::string, std::less<>> loading_;
  std::set<std::string, std::less<>> deleting_;  // not to be adopted while their data goes
  std::optional<std::vector<TenantRecord>> expected_;  // the catalog as Expect read it
  bool starting_ = false;  // from Expect until Start has loaded every tenant
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread renewer_, keeper_;
};

// Checks a tenant id: 1–64 of [a-z0-9_-], starting with a letter or digit.
Status ValidateTenantId(std::string_view id);

}  // namespace pond
