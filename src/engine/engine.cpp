#include "engine/engine.hpp"

#include <pthread.h>

#include <set>

#include "core/log.hpp"

namespace pond {

Status ValidateTenantId(std::string_view id) {
  const bool ok = !id.empty() && id.size() <= 64 && std::isalnum(static_cast<unsigned char>(id[0])) &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
                  });
  return ok ? Status::Ok() : FieldInvalid("id", "must be 1-64 characters of a-z, 0-9, '_' or '-'");
}

Status Engine::Expect() {
  ASSIGN_OR_RETURN(auto records, store_.ListTenants());
  std::lock_guard lock(mu_);
  for (const TenantRecord& record : records) loading_.insert(record.id);
  expected_ = std::move(records);
  starting_ = true;
  return Status::Ok();
}

bool Engine::starting() const {
  std::lock_guard lock(mu_);
  return starting_;
}

Status Engine::Start() {
  if (!expected_) RETURN_IF_ERROR(Expect());
  std::vector<TenantRecord> records = std::move(*expected_);
  expected_.reset();
  const bool shared = store_.lease_ttl().count() > 0;
  // Renewing has a thread of its own and starts before the first load:
  // loading a tenant can take minutes (here, or on a takeover), and the
  // leases already taken must not lapse meanwhile.
  if (shared) {
    renewer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "pond-renew");
      Every([this] { (void)store_.RenewLeases(); });
    });
  }
  // Each tenant stays "loading" (callers told to come back) until Adopt has
  // loaded it or learnt that another node serves it.
  for (TenantRecord& record : records) RETURN_IF_ERROR(Adopt(record));
  {
    std::lock_guard lock(mu_);
    starting_ = false;
  }
  if (shared) {
    keeper_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "pond-leases");
      Every([this] { KeepLeases(); });
    });
  }
  return Status::Ok();
}

Status Engine::Adopt(const TenantRecord& record) {
  std::shared_ptr<TenantEngine> replaced;  // destroyed after the lock is let go: it drains its queue
  struct Loaded {  // however Adopt ends, the tenant is no longer loading
    Engine& engine;
    const std::string& id;
    ~Loaded() {
      std::lock_guard lock(engine.mu_);
      engine.loading_.erase(id);
    }
  } loaded{*this, record.id};
  auto tenant_store = store_.OpenTenant(record.id);
  if (ReasonOf(tenant_store.status()) == "not_owner") {
    Owner owner;
    for (const auto& [key, value] : tenant_store.status().context()) {
      if (key == "owner") owner.node = value;
      if (key == "address") owner.address = value;
    }
    std::lock_guard lock(mu_);
    if (auto it = tenants_.find(record.id); it != tenants_.end()) {
      Log(LogLevel::kWarn, "lease lost; tenant dropped", {{"tenant", record.id}, {"owner", owner.node}});
      replaced = std::move(it->second);
      tenants_.erase(it);
    }
    owners_[record.id] = std::move(owner);
    return Status::Ok();
  }
  if (!tenant_store.ok()) return tenant_store.status();
  {
    // The lease is ours: callers wait for the load instead of being sent
    // to the node that had it.
    std::lock_guard lock(mu_);
    owners_.erase(record.id);
    loading_.insert(record.id);
  }
  ASSIGN_OR_RETURN(auto tenant, TenantEngine::Open(record, std::move(tenant_store).value(), clock_, channels_));
  std::lock_guard lock(mu_);
  std::shared_ptr<TenantEngine>& slot = tenants_[record.id];
  replaced = std::move(slot);
  slot = std::move(tenant);
  return Status::Ok();
}

void Engine::KeepLeases() {
  auto held = store_.RenewLeases();
  auto records = store_.ListTenants();
  if (!held.ok() || !records.ok()) {
    // The store is out of reach: keep serving what is in memory; commits
    // fence themselves if the leases lapse meanwhile.
    Log(LogLevel::kWarn, "could not renew leases",
        {{"error", (held.ok() ? records.status() : held.status()).ToString()}});
    return;
  }
  const std::set<std::string, std::less<>> still(held->begin(), held->end());
  // Each tenant not served here well is opened afresh, or learnt to be
  // another node's: one that was never ours, one whose lease another node
  // took, one that broke (its store failed and could not be read back). A
  // served tenant is replaced only once its successor has loaded, so
  // callers never see it vanish.
  for (const TenantRecord& record : *records) {
    {
      std::lock_guard lock(mu_);
      if (deleting_.contains(record.id)) continue;
    }
    auto tenant = Tenant(record.id);
    if (tenant && still.contains(record.id) && !tenant->broken()) continue;
    if (tenant && tenant->broken()) Log(LogLevel::kWarn, "tenant broken; reopening it", {{"tenant", record.id}});
    if (Status s = Adopt(record); !s.ok()) {
      Log(LogLevel::kWarn, "could not open tenant", {{"tenant", record.id}, {"error", s.ToString()}});
    }
  }
}

void Engine::Every(const std::function<void()>& work) {
  const auto every = store_.lease_ttl() / 3;
  std::unique_lock lock(mu_);
  while (!wake_.wait_for(lock, every, [&] { return stopping_; })) {
    lock.unlock();
    work();
    lock.lock();
  }
}

void Engine::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  if (keeper_.joinable()) keeper_.join();
  std::map<std::string, std::shared_ptr<TenantEngine>, std::less<>> stopping;
  {
    std::lock_guard lock(mu_);
    stopping.swap(tenants_);
  }
  stopping.clear();  // each TenantEngine drains its queue as it goes
}

Status Engine::DeleteTenant(std::string_view id) {
  std::shared_ptr<TenantEngine> dropped;
  {
    std::lock_guard lock(mu_);
    auto it = tenants_.find(id);
    if (it == tenants_.end()) return NotFoundField("tenant", "no tenant '" + std::string(id) + "' served here");
    dropped = std::move(it->second);
    tenants_.erase(it);
    deleting_.emplace(id);
  }
  dropped.reset();  // drains its queue and stops its writer (requests in flight keep it until they end)
  Status deleted = store_.DeleteTenant(id);
  std::lock_guard lock(mu_);
  deleting_.erase(deleting_.find(id));
  return deleted;
}

bool Engine::Loading(std::string_view id) const {
  std::lock_guard lock(mu_);
  return loading_.contains(id);
}

std::optional<Engine::Owner> Engine::OwnerOf(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = owners_.find(id);
  if (it == owners_.end()) return std::nullopt;
  return it->second;
}

Result<Engine::Created> Engine::CreateTenant(TenantRecord tenant) {
  Status invalid = InvalidArgument("invalid tenant");
  if (Status s = ValidateTenantId(tenant.id); !s.ok()) invalid.AddFieldError("id", s.field_errors()[0].reason);
  if (tenant.name.empty()) tenant.name = tenant.id;
  if (tenant.name.size() > 256) invalid.AddFieldError("name", "must be at most 256 bytes");
  if (tenant.timezone.empty()) tenant.timezone = "Asia/Shanghai";  // CONTRACT.md default
  if (auto zone = TimeZone::Load(tenant.timezone); !zone.ok()) {
    invalid.AddFieldError("timezone", zone.status().field_errors()[0].reason);
  }
  if (!invalid.field_errors().empty()) return invalid;

  std::lock_guard lock(mu_);
  if (auto it = tenants_.find(tenant.id); it != tenants_.end()) {
    const TenantRecord& have = it->second->record();
    if (have.name == tenant.name && have.timezone == tenant.timezone) return Created{have, false};
    return AlreadyExists("tenant '" + tenant.id + "' exists with another name or time zone").With("tenant", tenant.id);
  }
  if (auto it = owners_.find(tenant.id); it != owners_.end()) {
    return Refusal("not_owner", "tenant '" + tenant.id + "' exists and is served by another node")
        .With("tenant", tenant.id)
        .With("owner", it->second.node)
        .With("address", it->second.address);
  }
  tenant.created_at = clock_.Now();
  RETURN_IF_ERROR(store_.CreateTenant(tenant));
  ASSIGN_OR_RETURN(auto tenant_store, store_.OpenTenant(tenant.id));
  ASSIGN_OR_RETURN(auto engine, TenantEngine::Open(tenant, std::move(tenant_store), clock_, channels_));
  tenants_[tenant.id] = std::move(engine);
  return Created{tenant, true};
}

std::shared_ptr<TenantEngine> Engine::Tenant(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = tenants_.find(id);
  return it == tenants_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<TenantEngine>> Engine::Tenants() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<TenantEngine>> out;
  for (const auto& [id, t] : tenants_) out.push_back(t);
  return out;
}

}  // namespace pond
