// KeyRing: API keys and who may do what (CONTRACT.md "Access").
//
// A key is "pond_<id>_<secret>"; only the SHA-256 of the whole key is
// stored. A key carries a tenant scope ("*" = all tenants) and a role:
//   admin        everything, including tenants and keys
//   operator     read a tenant, write its events and master data
//   analyst      read a tenant
//   integration  write a tenant's events and master data, read its members
// A request from loopback without a key acts as admin, so a local start needs
// no set-up. Keys made elsewhere (`pond keys create --store`, another node
// sharing a PostgreSQL store) are read in when a request brings a key the
// ring does not know, at most once a second so unknown keys cannot flood
// the store; and every few seconds whatever key comes, so a key revoked
// elsewhere (`pond keys revoke`, another node) stops working within them. Thread-safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "engine/store.hpp"

namespace pond {

// What a request needs: reading; writing what systems send (events, master
// data, redemptions); an operator's action on members (points adjustments),
// which a system key may not take; or administration.
enum class Access { kRead, kWrite, kOperate, kAdmin };

std::string_view RoleName(Role role);
std::optional<Role> RoleFromName(std::string_view name);

class KeyRing {
 public:
  explicit KeyRing(Store& store) : store_(store) {}
  // Loads the stored keys.
  Status Load();
  bool empty() const;
  // Creates a key; returns the full secret key, which is shown only once.
  Result<std::string> Create(std::string tenant, Role role, Timestamp now);
  // Revokes key `id` (NotFound when unknown); it is refused from then on.
  Status Revoke(std::string_view id);
  // The keys as stored (hashes, never secrets), in id order.
  std::vector<ApiKeyRecord> List() const;
  // The id of a full key "pond_<id>_<secret>"; empty when it has no such form.
  static std::string IdOf(std::string_view key);

  // Decides a request. `authorization` is the Authorization header or null;
  // `tenant` is empty for requests outside a tenant. Unauthenticated (401)
  // for a missing or unknown key off loopback, PermissionDenied (403) for a
  // key outside its tenant or role. Returns the caller's role.
  Result<Role> Authorize(const std::string* authorization, bool loopback, std::string_view tenant,
                         Access access) const;

 private:
  // The key whose secret hashes to `hash`, or null; mu_ held.
  const ApiKeyRecord* Find(const std::string& hash) const;

  Store& store_;
  mutable std::mutex mu_;
  mutable std::vector<ApiKeyRecord> keys_;
  mutable std::chrono::steady_clock::time_point reloaded_;  // the last read-in of the stored keys
};

// Hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace pond
