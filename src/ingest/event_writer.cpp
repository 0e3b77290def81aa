#include "ingest/event_writer.hpp"

#include "core/json_writer.hpp"

namespace pond {
namespace {

void WriteRef(JsonWriter& w, const MemberRef& ref) {
  w.Key("member").BeginObject();
  for (const Identity& i : ref.identities) w.Field(IdentityKindName(i.kind), i.value);
  if (ref.member_id) w.Field("member_id", *ref.member_id);
  w.EndObject();
}

template <typename T>
void Opt(JsonWriter& w, const char* key, const std::optional<T>& v) {
  if (v) w.Field(key, *v);
}

}  // namespace

void AppendEventJson(const Event& event, const TimeZone& zone, std::string& out) {
  JsonWriter w;
  w.BeginObject().Field("type", EventTypeName(event));
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, MemberEvent>) {
          WriteRef(w, e.member);
          const MemberProfile& p = e.profile;
          Opt(w, "name", p.name);
          if (p.gender) w.Field("gender", GenderName(*p.gender));
          if (p.birthday) w.Field("birthday", p.birthday->ToString());
          Opt(w, "city", p.city);
          Opt(w, "home_store", p.home_store);
          Opt(w, "source", p.source);
          Opt(w, "owner_staff", p.owner_staff);
          if (p.registered_at) w.Field("registered_at", FormatRfc3339(*p.registered_at, zone));
        } else if constexpr (std::is_same_v<T, OrderEvent>) {
          w.Field("order_id", e.order_id);
          WriteRef(w, e.member);
          w.Field("channel", ChannelName(e.channel));
          if (!e.store.empty()) w.Field("store", e.store);
          if (!e.staff.empty()) w.Field("staff", e.staff);
          if (!e.payment.empty()) w.Field("payment", e.payment);
          w.Field("paid_at", FormatRfc3339(e.paid_at, zone)).Field("paid_fen", e.paid.fen());
          w.Key("items").BeginArray();
          for (const OrderItem& i : e.items) {
            w.BeginObject().Field("sku", i.sku);
            if (!i.category.empty()) w.Field("category", i.category);
            w.Field("qty", i.qty).Field("paid_fen", i.paid.fen()).EndObject();
          }
          w.EndArray();
        } else if constexpr (std::is_same_v<T, RefundEvent>) {
          w.Field("refund_id", e.refund_id).Field("order_id", e.order_id).Field("amount_fen", e.amount.fen());
          w.Field("refunded_at", FormatRfc3339(e.refunded_at, zone));
        } else if constexpr (std::is_same_v<T, StoreInfo>) {
          w.Field("id", e.id).Field("name", e.name).Field("city", e.city);
          if (e.lat) w.Key("lat").Double(*e.lat).Key("lng").Double(*e.lng);
        } else if constexpr (std::is_same_v<T, StaffInfo>) {
          w.Field("id", e.id).Field("name", e.name).Field("store", e.store);
        } else if constexpr (std::is_same_v<T, ProductInfo>) {
          w.Field("sku", e.sku).Field("name", e.name).Field("category", e.category).Field("price_fen", e.price.fen());
        } else {
          w.Field("id", e.id).Field("name", e.name);
          if (!e.parent.empty()) w.Field("parent", e.parent);
        }
      },
      event);
  w.EndObject();
  out += w.str();
}

}  // namespace pond
