#include "engine/engine.hpp"

namespace pond {

Status ValidateTenantId(std::string_view id) {
  const bool ok = !id.empty() && id.size() <= 64 && std::isalnum(static_cast<unsigned char>(id[0])) &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
                  });
  return ok ? Status::Ok() : FieldInvalid("id", "must be 1-64 characters of a-z, 0-9, '_' or '-'");
}

Status Engine::Start() {
  ASSIGN_OR_RETURN(auto records, store_.ListTenants());
  for (TenantRecord& record : records) {
    ASSIGN_OR_RETURN(auto tenant_store, store_.OpenTenant(record.id));
    ASSIGN_OR_RETURN(auto tenant, TenantEngine::Open(record, std::move(tenant_store), clock_));
    std::lock_guard lock(mu_);
    tenants_[record.id] = std::move(tenant);
  }
  return Status::Ok();
}

void Engine::Stop() {
  std::map<std::string, std::shared_ptr<TenantEngine>, std::less<>> stopping;
  {
    std::lock_guard lock(mu_);
    stopping.swap(tenants_);
  }
  stopping.clear();  // each TenantEngine drains its queue as it goes
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
  tenant.created_at = clock_.Now();
  RETURN_IF_ERROR(store_.CreateTenant(tenant));
  ASSIGN_OR_RETURN(auto tenant_store, store_.OpenTenant(tenant.id));
  ASSIGN_OR_RETURN(auto engine, TenantEngine::Open(tenant, std::move(tenant_store), clock_));
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
