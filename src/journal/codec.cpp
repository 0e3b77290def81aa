#include "journal/codec.hpp"

#include <limits>

#include "core/id_list.hpp"
#include "journal/bytes.hpp"
#include "journal/list_codec.hpp"

namespace pond::journal {
namespace {

constexpr uint8_t kFormat = 1;

// Starts a payload: clears it and writes the format byte.
ByteWriter Begin(std::string& payload) {
  payload.clear();
  ByteWriter w(payload);
  w.Byte(kFormat);
  return w;
}

// Starts reading a payload; fails it unless its format is known.
ByteReader Open(std::string_view payload) {
  ByteReader r(payload);
  if (r.Byte() != kFormat) r.Fail();
  return r;
}

Timestamp Time(ByteReader& r) { return Timestamp::FromMicros(r.Int()); }

std::optional<int64_t> OptTime(const std::optional<Timestamp>& t) {
  return t ? std::optional<int64_t>(t->micros()) : std::nullopt;
}

// An int that must fit a narrower type; out of range fails the reader.
template <typename T>
T Narrow(ByteReader& r, int64_t v) {
  if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) r.Fail();
  return static_cast<T>(v);
}

template <typename Enum>
Enum EnumOf(ByteReader& r, int count) {
  const uint8_t v = r.Byte();
  if (v >= count) r.Fail();
  return static_cast<Enum>(v);
}

}  // namespace

std::string_view KindName(uint16_t kind) {
  switch (static_cast<Kind>(kind)) {
    case Kind::kStore: return "store";
    case Kind::kStaff: return "staff";
    case Kind::kProduct: return "product";
    case Kind::kCategory: return "category";
    case Kind::kSetting: return "setting";
    case Kind::kMember: return "member";
    case Kind::kIdempotency: return "idempotency";
    case Kind::kMerge: return "merge";
    case Kind::kOrder: return "order";
    case Kind::kRefund: return "refund";
    case Kind::kLoyalty: return "loyalty";
    case Kind::kTagOperation: return "tag_operation";
    case Kind::kSnapshot: return "snapshot";
    case Kind::kCouponEvent: return "coupon_event";
    case Kind::kActivityEvent: return "activity_event";
    case Kind::kAudit: return "audit";
    case Kind::kEffect: return "effect";
    case Kind::kEffectOutcome: return "effect_outcome";
  }
  return "";
}

std::string IdKey(int64_t id) {
  std::string key(8, '\0');
  for (int b = 0; b < 8; ++b) key[static_cast<size_t>(b)] = static_cast<char>(static_cast<uint64_t>(id) >> (56 - 8 * b));
  return key;
}

std::optional<int64_t> IdFromKey(std::string_view key) {
  if (key.size() != 8) return std::nullopt;
  uint64_t id = 0;
  for (char c : key) id = (id << 8) | static_cast<uint8_t>(c);
  return static_cast<int64_t>(id);
}

// Master data: keyed by id (sku), the other fields in the payload.
void Encode(const StoreInfo& row, std::string& key, std::string& payload) {
  key = row.id;
  Begin(payload).Bytes(row.name).Bytes(row.city).OptDouble(row.lat).OptDouble(row.lng);
}
bool Decode(int64_t, std::string_view key, std::string_view payload, StoreInfo& row) {
  ByteReader r = Open(payload);
  row.id = key;
  row.name = r.Bytes();
  row.city = r.Bytes();
  row.lat = r.OptDouble();
  row.lng = r.OptDouble();
  return r.Done();
}

void Encode(const StaffInfo& row, std::string& key, std::string& payload) {
  key = row.id;
  Begin(payload).Bytes(row.name).Bytes(row.store);
}
bool Decode(int64_t, std::string_view key, std::string_view payload, StaffInfo& row) {
  ByteReader r = Open(payload);
  row.id = key;
  row.name = r.Bytes();
  row.store = r.Bytes();
  return r.Done();
}

void Encode(const ProductInfo& row, std::string& key, std::string& payload) {
  key = row.sku;
  Begin(payload).Bytes(row.name).Bytes(row.category).Int(row.price.fen());
}
bool Decode(int64_t, std::string_view key, std::string_view payload, ProductInfo& row) {
  ByteReader r = Open(payload);
  row.sku = key;
  row.name = r.Bytes();
  row.category = r.Bytes();
  row.price = Money::Fen(r.Int());
  return r.Done();
}

void Encode(const CategoryInfo& row, std::string& key, std::string& payload) {
  key = row.id;
  Begin(payload).Bytes(row.name).Bytes(row.parent);
}
bool Decode(int64_t, std::string_view key, std::string_view payload, CategoryInfo& row) {
  ByteReader r = Open(payload);
  row.id = key;
  row.name = r.Bytes();
  row.parent = r.Bytes();
  return r.Done();
}

// A setting's payload is its JSON document, readable in the store as it is.
void Encode(const SettingRow& row, std::string& key, std::string& payload) {
  key = row.key;
  payload = row.value;
}
bool Decode(int64_t, std::string_view key, std::string_view payload, SettingRow& row) {
  row.key = key;
  row.value = payload;
  return true;
}

void Encode(const MemberRow& row, std::string& key, std::string& payload) {
  key = IdKey(row.member_id);
  const MemberProfile& p = row.profile;
  std::string identities, digests;
  EncodeIdentities(row.identities, identities);
  EncodeDigests(row.event_digests, digests);
  Begin(payload)
      .OptBytes(p.name)
      .OptInt(p.gender ? std::optional<int64_t>(static_cast<int64_t>(*p.gender)) : std::nullopt)
      .OptInt(p.birthday ? std::optional<int64_t>(p.birthday->days()) : std::nullopt)
      .OptBytes(p.city)
      .OptBytes(p.home_store)
      .OptBytes(p.source)
      .OptBytes(p.owner_staff)
      .OptInt(OptTime(p.registered_at))
      .Int(row.merged_into)
      .Int(row.created_at.micros())
      .Bytes(identities)
      .Bytes(digests);
}
bool Decode(int64_t, std::string_view key, std::string_view payload, MemberRow& row) {
  const std::optional<int64_t> id = IdFromKey(key);
  if (!id) return false;
  row.member_id = *id;
  ByteReader r = Open(payload);
  MemberProfile& p = row.profile;
  p.name = r.OptBytes();
  if (std::optional<int64_t> g = r.OptInt()) {
    if (*g < 0 || *g > static_cast<int64_t>(Gender::kMale)) r.Fail();
    p.gender = static_cast<Gender>(*g);
  } else {
    p.gender.reset();
  }
  if (std::optional<int64_t> d = r.OptInt()) {
    p.birthday = LocalDate::FromDays(Narrow<int32_t>(r, *d));
  } else {
    p.birthday.reset();
  }
  p.city = r.OptBytes();
  p.home_store = r.OptBytes();
  p.source = r.OptBytes();
  p.owner_staff = r.OptBytes();
  if (std::optional<int64_t> at = r.OptInt()) {
    p.registered_at = Timestamp::FromMicros(*at);
  } else {
    p.registered_at.reset();
  }
  row.merged_into = r.Int();
  row.created_at = Time(r);
  const std::string_view identities = r.View();
  const std::string_view digests = r.View();
  return r.Done() && DecodeIdentities(identities, row.identities) && DecodeDigests(digests, row.event_digests);
}

void Encode(const IdempotencyRow& row, std::string& key, std::string& payload) {
  key = row.key;
  Begin(payload).Int(row.status).Bytes(row.body).Int(row.at.micros()).Varint(row.request_digest);
}
bool Decode(int64_t, std::string_view key, std::string_view payload, IdempotencyRow& row) {
  ByteReader r = Open(payload);
  row.key = key;
  row.status = Narrow<int>(r, r.Int());
  row.body = r.Bytes();
  row.at = Time(r);
  row.request_digest = r.Varint();
  return r.Done();
}

void Encode(const MergeRow& row, std::string& key, std::string& payload) {
  key = IdKey(row.merged);
  Begin(payload).Int(row.survivor).Int(row.at.micros()).Bytes(row.reason);
}
bool Decode(int64_t, std::string_view key, std::string_view payload, MergeRow& row) {
  const std::optional<int64_t> merged = IdFromKey(key);
  if (!merged) return false;
  row.merged = *merged;
  ByteReader r = Open(payload);
  row.survivor = r.Int();
  row.at = Time(r);
  row.reason = r.Bytes();
  return r.Done();
}

// An order takes back nothing, so it has no `unrecovered`.
void Encode(const OrderRow& row, std::string& key, std::string& payload) {
  const OrderEvent& o = row.order;
  key = o.order_id;
  std::string items;
  EncodeItems(o.items, items);
  const LoyaltyEffect& e = row.loyalty;
  Begin(payload)
      .Int(row.member_id)
      .Byte(static_cast<uint8_t>(o.channel))
      .Bytes(o.store)
      .Bytes(o.staff)
      .Bytes(o.payment)
      .Int(o.paid_at.micros())
      .Int(o.paid.fen())
      .Bytes(items)
      .Int(e.points)
      .Int(e.growth)
      .Int(e.rate_bp)
      .Int(e.growth_per_yuan)
      .Int(e.lot.micros());
}
bool Decode(int64_t tick, std::string_view key, std::string_view payload, OrderRow& row) {
  OrderEvent& o = row.order;
  o.order_id = key;
  ByteReader r = Open(payload);
  row.member_id = r.Int();
  o.channel = EnumOf<Channel>(r, kChannels);
  o.store = r.Bytes();
  o.staff = r.Bytes();
  o.payment = r.Bytes();
  o.paid_at = Time(r);
  o.paid = Money::Fen(r.Int());
  const std::string_view items = r.View();
  LoyaltyEffect& e = row.loyalty;
  e.tick = tick;
  e.points = r.Int();
  e.growth = r.Int();
  e.rate_bp = r.Int();
  e.growth_per_yuan = r.Int();
  e.lot = Time(r);
  return r.Done() && DecodeItems(items, o.items);
}

// A refund reuses its order's earning terms, so it stores none of its own.
void Encode(const RefundRow& row, std::string& key, std::string& payload) {
  key = row.refund.refund_id;
  const LoyaltyEffect& e = row.loyalty;
  Begin(payload)
      .Bytes(row.refund.order_id)
      .Int(row.refund.amount.fen())
      .Int(row.refund.refunded_at.micros())
      .Int(e.points)
      .Int(e.growth)
      .Int(e.unrecovered)
      .Int(e.lot.micros());
}
bool Decode(int64_t tick, std::string_view key, std::string_view payload, RefundRow& row) {
  row.refund.refund_id = key;
  ByteReader r = Open(payload);
  row.refund.order_id = r.Bytes();
  row.refund.amount = Money::Fen(r.Int());
  row.refund.refunded_at = Time(r);
  LoyaltyEffect& e = row.loyalty;
  e.tick = tick;
  e.points = r.Int();
  e.growth = r.Int();
  e.unrecovered = r.Int();
  e.lot = Time(r);
  return r.Done();
}

void Encode(const LoyaltyRow& row, std::string& key, std::string& payload) {
  key = IdKey(row.member_id);
  Begin(payload)
      .Byte(static_cast<uint8_t>(row.kind))
      .Int(row.at.micros())
      .Int(row.points)
      .Int(row.lot.micros())
      .Bytes(row.from)
      .Bytes(row.to)
      .Bytes(row.note);
}
bool Decode(int64_t tick, std::string_view key, std::string_view payload, LoyaltyRow& row) {
  const std::optional<int64_t> member = IdFromKey(key);
  if (!member) return false;
  row.tick = tick;
  row.member_id = *member;
  ByteReader r = Open(payload);
  row.kind = EnumOf<LoyaltyKind>(r, kLoyaltyKinds);
  row.at = Time(r);
  row.points = r.Int();
  row.lot = Time(r);
  row.from = r.Bytes();
  row.to = r.Bytes();
  row.note = r.Bytes();
  return r.Done();
}

void Encode(const tags::TagOperation& row, std::string& key, std::string& payload) {
  key = IdKey(row.id);
  Begin(payload)
      .Bytes(row.tag)
      .Byte(row.add ? 1 : 0)
      .Bytes(row.by)
      .Int(row.at.micros())
      .Bytes(row.note)
      .Bytes(EncodeIdList(row.members));
}
bool Decode(int64_t, std::string_view key, std::string_view payload, tags::TagOperation& row) {
  const std::optional<int64_t> id = IdFromKey(key);
  if (!id) return false;
  row.id = *id;
  ByteReader r = Open(payload);
  row.tag = r.Bytes();
  row.add = r.Present();
  row.by = r.Bytes();
  row.at = Time(r);
  row.note = r.Bytes();
  const std::string_view members = r.View();
  if (!r.Done()) return false;
  Result<std::vector<int64_t>> ids = DecodeIdList(members);
  if (!ids.ok()) return false;
  row.members = std::move(ids).value();
  return true;
}

void Encode(const SnapshotRow& row, std::string& key, std::string& payload) {
  key = IdKey(row.id);
  Begin(payload)
      .Bytes(row.name)
      .Bytes(row.expr)
      .Bytes(row.by)
      .Int(row.at.micros())
      .Int(row.count)
      .Bytes(row.members);
}
bool Decode(int64_t, std::string_view key, std::string_view payload, SnapshotRow& row) {
  const std::optional<int64_t> id = IdFromKey(key);
  if (!id) return false;
  row.id = *id;
  ByteReader r = Open(payload);
  row.name = r.Bytes();
  row.expr = r.Bytes();
  row.by = r.Bytes();
  row.at = Time(r);
  row.count = r.Int();
  row.members = r.Bytes();
  return r.Done();
}

void Encode(const CouponEventRow& row, std::string& key, std::string& payload) {
  key = IdKey(row.id);
  Begin(payload)
      .Bytes(row.kind)
      .Bytes(row.code)
      .Int(row.template_id)
      .Int(row.member)
      .Bytes(row.occasion)
      .Bytes(row.order_id)
      .Int(row.at.micros())
      .Int(row.until.micros());
}
bool Decode(int64_t, std::string_view key, std::string_view payload, CouponEventRow& row) {
  const std::optional<int64_t> id = IdFromKey(key);
  if (!id) return false;
  row.id = *id;
  ByteReader r = Open(payload);
  row.kind = r.Bytes();
  row.code = r.Bytes();
  row.template_id = r.Int();
  row.member = r.Int();
  row.occasion = r.Bytes();
  row.order_id = r.Bytes();
  row.at = Time(r);
  row.until = Time(r);
  return r.Done();
}

void Encode(const ActivityEventRow& row, std::string& key, std::string& payload) {
  key = IdKey(row.id);
  Begin(payload)
      .Int(row.activity_id)
      .Bytes(row.kind)
      .Int(row.member)
      .Int(row.ref)
      .Int(row.at.micros())
      .Bytes(row.detail);
}
bool Decode(int64_t, std::string_view key, std::string_view payload, ActivityEventRow& row) {
  const std::optional<int64_t> id = IdFromKey(key);
  if (!id) return false;
  row.id = *id;
  ByteReader r = Open(payload);
  row.activity_id = r.Int();
  row.kind = r.Bytes();
  row.member = r.Int();
  row.ref = r.Int();
  row.at = Time(r);
  row.detail = r.Bytes();
  return r.Done();
}

void Encode(const AuditRow& row, std::string& key, std::string& payload) {
  key = IdKey(row.id);
  Begin(payload)
      .Int(row.at.micros())
      .Byte(row.actor_kind)
      .Bytes(row.actor_id)
      .Bytes(row.actor_by)
      .Bytes(row.action)
      .Bytes(row.target)
      .Bytes(row.request_id)
      .Bytes(row.detail);
}
bool Decode(int64_t, std::string_view key, std::string_view payload, AuditRow& row) {
  const std::optional<int64_t> id = IdFromKey(key);
  if (!id) return false;
  row.id = *id;
  ByteReader r = Open(payload);
  row.at = Time(r);
  row.actor_kind = r.Byte();
  if (row.actor_kind > 3) r.Fail();
  row.actor_id = r.Bytes();
  row.actor_by = r.Bytes();
  row.action = r.Bytes();
  row.target = r.Bytes();
  row.request_id = r.Bytes();
  row.detail = r.Bytes();
  return r.Done();
}

void Encode(const EffectRow& row, std::string& key, std::string& payload) {
  key = IdKey(row.id);
  Begin(payload).Bytes(row.channel).Bytes(row.payload).Int(row.at.micros());
}
bool Decode(int64_t, std::string_view key, std::string_view payload, EffectRow& row) {
  const std::optional<int64_t> id = IdFromKey(key);
  if (!id) return false;
  row.id = *id;
  ByteReader r = Open(payload);
  row.channel = r.Bytes();
  row.payload = r.Bytes();
  row.at = Time(r);
  return r.Done();
}

void Encode(const EffectOutcomeRow& row, std::string& key, std::string& payload) {
  key = IdKey(row.id);
  Begin(payload).Byte(row.delivered ? 1 : 0).Int(row.attempts).Bytes(row.detail).Int(row.at.micros());
}
bool Decode(int64_t, std::string_view key, std::string_view payload, EffectOutcomeRow& row) {
  const std::optional<int64_t> id = IdFromKey(key);
  if (!id) return false;
  row.id = *id;
  ByteReader r = Open(payload);
  const uint8_t delivered = r.Byte();
  if (delivered > 1) r.Fail();
  row.delivered = delivered == 1;
  const int64_t attempts = r.Int();
  if (attempts < 0 || attempts > INT32_MAX) r.Fail();
  row.attempts = static_cast<int32_t>(attempts);
  row.detail = r.Bytes();
  row.at = Time(r);
  return r.Done();
}

}  // namespace pond::journal
