#include "http/auth.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

namespace pond {
namespace {
constexpr auto kRecheck = std::chrono::seconds(3);
constexpr std::array<std::string_view, 4> kRoleNames = {"admin", "operator", "analyst", "integration"};

bool Allows(Role role, Access access) {
  switch (role) {
    case Role::kAdmin: return true;
    case Role::kOperator: return access != Access::kAdmin;
    case Role::kIntegration: return access == Access::kRead || access == Access::kWrite;
    case Role::kAnalyst: return access == Access::kRead;
  }
  return false;
}

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}
}  // namespace

std::string_view RoleName(Role role) { return kRoleNames[static_cast<size_t>(role)]; }
std::optional<Role> RoleFromName(std::string_view name) {
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  }
  return std::nullopt;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return Hex(digest, len);
}

Status KeyRing::Load() {
  ASSIGN_OR_RETURN(auto keys, store_.ListApiKeys());
  std::lock_guard lock(mu_);
  keys_ = std::move(keys);
  return Status::Ok();
}

bool KeyRing::empty() const {
  std::lock_guard lock(mu_);
  return keys_.empty();
}

Result<std::string> KeyRing::Create(std::string tenant, Role role, Timestamp now) {
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) return Internal("no randomness for a key");
  const std::string id = Hex(raw, 6);
  const std::string secret = "pond_" + id + "_" + Hex(raw + 6, sizeof raw - 6);
  ApiKeyRecord record{id, Sha256Hex(secret), std::move(tenant), role, now};
  RETURN_IF_ERROR(store_.PutApiKey(record));
  std::lock_guard lock(mu_);
  keys_.push_back(std::move(record));
  return secret;
}

Status KeyRing::Revoke(std::string_view id) {
  RETURN_IF_ERROR(store_.DeleteApiKey(id));
  std::lock_guard lock(mu_);
  std::erase_if(keys_, [&](const ApiKeyRecord& k) { return k.id == id; });
  return Status::Ok();
}

std::vector<ApiKeyRecord> KeyRing::List() const {
  std::lock_guard lock(mu_);
  return keys_;
}

std::string KeyRing::IdOf(std::string_view key) {
  if (!key.starts_with("pond_")) return "";
  key.remove_prefix(5);
  const size_t underscore = key.find('_');
  return underscore == std::string_view::npos ? "" : std::string(key.substr(0, underscore));
}

Result<Role> KeyRing::Authorize(const std::string* authorization, bool loopback, std::string_view tenant,
                                Access access) const {
  if (!authorization) {
    if (loopback) return Role::kAdmin;
    return Unauthenticated("an API key is required: Authorization: Bearer <key>");
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization->compare(0, kBearer.size(), kBearer) != 0) {
    return Unauthenticated("Authorization must be 'Bearer <key>'");
  }
  const std::string hash = Sha256Hex(std::string_view(*authorization).substr(kBearer.size()));
  std::lock_guard lock(mu_);
  const ApiKeyRecord* key = Find(hash);
  const auto now = std::chrono::steady_clock::now();
  // Unknown keys at most once a second; known ones every few seconds, so a
  // revocation made elsewhere takes effect.
  if ((key == nullptr && now - reloaded_ >= std::chrono::seconds(1)) || now - reloaded_ >= kRecheck) {
    reloaded_ = now;
    if (auto keys = store_.ListApiKeys(); keys.ok()) {
      keys_ = std::move(keys).value();
      key = Find(hash);
    }
  }
  if (key == nullptr) return Unauthenticated("unknown API key");
  // A key scoped to one tenant sees nothing outside it, not even the list
  // of tenants.
  if (key->tenant != "*" && key->tenant != tenant) {
    return PermissionDenied(tenant.empty() ? "this key is scoped to one tenant"
                                           : "this key is not valid for tenant '" + std::string(tenant) + "'");
  }
  if (!Allows(key->role, access)) {
    return PermissionDenied("role '" + std::string(RoleName(key->role)) + "' may not do this");
  }
  return key->role;
}

const ApiKeyRecord* KeyRing::Find(const std::string& hash) const {
  for (const ApiKeyRecord& key : keys_) {
    if (key.secret_hash == hash) return &key;
  }
  return nullptr;
}

}  // namespace pond
