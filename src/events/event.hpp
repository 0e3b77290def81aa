// Events: what the outside world tells a tenant — members, orders, refunds
// and master data (stores, staff, products, categories) — as validated plain
// data. CONTRACT.md "Events (ingestion)" defines the wire form; the parser in
// ingest/ produces these, the tenant engine applies them. Plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/money.hpp"
#include "core/time.hpp"

namespace pond {

// The ways the outside world names a member (DOMAIN.md §1).
enum class IdentityKind : uint8_t { kPhone = 0, kUnionid = 1, kExternalUserid = 2, kPosId = 3 };
inline constexpr int kIdentityKinds = 4;

// "phone", "unionid", "external_userid", "pos_id".
std::string_view IdentityKindName(IdentityKind kind);
std::optional<IdentityKind> IdentityKindFromName(std::string_view name);

struct Identity {
  IdentityKind kind;
  std::string value;
  bool operator==(const Identity&) const = default;
};

// A tenant's dense member number (1, 2, ...), shared by every book.
using MemberId = int64_t;

// `{"phone":...}`, `{"member_id":42}`...: at least one of them.
struct MemberRef {
  std::vector<Identity> identities;
  std::optional<int64_t> member_id;
  bool operator==(const MemberRef&) const = default;
};

enum class Gender : uint8_t { kUnknown = 0, kFemale = 1, kMale = 2 };
std::string_view GenderName(Gender g);
std::optional<Gender> GenderFromName(std::string_view name);

// CONTRACT.md: the channels an order can come through.
enum class Channel : uint8_t {
  kStore = 0, kMiniprogram, kOfficialAccount, kWecom, kTmall, kJd, kPdd, kDouyin, kApp, kOther
};
inline constexpr int kChannels = 10;
std::string_view ChannelName(Channel c);
std::optional<Channel> ChannelFromName(std::string_view name);

// Profile fields a member event may set; absent fields leave what is there.
struct MemberProfile {
  std::optional<std::string> name;
  std::optional<Gender> gender;
  std::optional<LocalDate> birthday;
  std::optional<std::string> city;
  std::optional<std::string> home_store;
  std::optional<std::string> source;  // first touchpoint, free text
  std::optional<std::string> owner_staff;
  std::optional<Timestamp> registered_at;
  bool operator==(const MemberProfile&) const = default;
};

struct MemberEvent {
  MemberRef member;
  MemberProfile profile;
};

struct OrderItem {
  std::string sku;
  std::string category;  // may be empty: then the product's category applies
  int32_t qty = 0;
  Money paid;
  bool operator==(const OrderItem&) const = default;
};

struct OrderEvent {
  std::string order_id;
  MemberRef member;
  Channel channel = Channel::kOther;
  std::string store;
  std::string staff;
  std::string payment;
  Timestamp paid_at;
  Money paid;
  std::vector<OrderItem> items;
  // Codes of the member's coupons the order used (an extension of
  // CONTRACT.md): redeemed with the order, given back by a full refund
  // when their template says so. Not stored with the order: the wallet
  // records the redemption.
  std::vector<std::string> coupons;
  bool operator==(const OrderEvent&) const = default;
};

struct RefundEvent {
  std::string refund_id;
  std::string order_id;
  Money amount;
  Timestamp refunded_at;
  bool operator==(const RefundEvent&) const = default;
};

// Master data.
struct StoreInfo {
  std::string id;
  std::string name;
  std::string city;
  std::optional<double> lat;  // WGS-84 degrees
  std::optional<double> lng;
  bool operator==(const StoreInfo&) const = default;
};
struct StaffInfo {
  std::string id;
  std::string name;
  std::string store;
  bool operator==(const StaffInfo&) const = default;
};
struct ProductInfo {
  std::string sku;
  std::string name;
  std::string category;
  Money price;
  bool operator==(const ProductInfo&) const = default;
};
struct CategoryInfo {
  std::string id;
  std::string name;
  std::string parent;  // empty for a top-level category
  bool operator==(const CategoryInfo&) const = default;
};

using Event = std::variant<MemberEvent, OrderEvent, RefundEvent, StoreInfo, StaffInfo, ProductInfo, CategoryInfo>;

// "member", "order", "refund", "store", "staff", "product", "category".
std::string_view EventTypeName(const Event& e);

}  // namespace pond
