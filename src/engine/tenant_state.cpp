#include "engine/tenant_state.hpp"

#include "core/hash_index.hpp"
#include "ingest/event_writer.hpp"

namespace pond {

TenantState::TenantState(TenantRecord record, TimeZone zone) : record_(std::move(record)), zone_(std::move(zone)) {}

Result<EventOutcome> TenantState::Apply(Event event, Timestamp now) {
  return std::visit(
      [&](auto&& e) -> Result<EventOutcome> {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, MemberEvent>) {
          return ApplyMember(e, now);
        } else if constexpr (std::is_same_v<T, OrderEvent>) {
          return ApplyOrder(std::move(e), now);
        } else if constexpr (std::is_same_v<T, RefundEvent>) {
          return ApplyRefund(std::move(e));
        } else if constexpr (std::is_same_v<T, StoreInfo>) {
          return ApplyMaster(std::move(e), pending_.stores);
        } else if constexpr (std::is_same_v<T, StaffInfo>) {
          return ApplyMaster(std::move(e), pending_.staff);
        } else if constexpr (std::is_same_v<T, ProductInfo>) {
          return ApplyMaster(std::move(e), pending_.products);
        } else {
          static_assert(std::is_same_v<T, CategoryInfo>);
          return ApplyMaster(std::move(e), pending_.categories);
        }
      },
      event);
}

void TenantState::Persist(const Resolution& res) {
  for (const MergeRecord& m : res.merges) {
    orders_.MergeMembers(m.survivor, m.merged);
    pending_.merges.push_back(MergeRow{m.survivor, m.merged, m.at, m.reason});
    dirty_members_.insert(m.merged);
  }
  if (res.created || !res.attached.empty() || !res.merges.empty()) dirty_members_.insert(res.member);
}

Result<EventOutcome> TenantState::ApplyMember(const MemberEvent& e, Timestamp now) {
  // A member event has no id of its own: its content is its natural key.
  static const TimeZone kUtc = TimeZone::Fixed(0);  // digests must not depend on the tenant's zone
  std::string text;
  AppendEventJson(e, kUtc, text);
  const uint64_t digest = HashKey(text);
  const std::string_view source = e.profile.source ? std::string_view(*e.profile.source) : "api";
  ASSIGN_OR_RETURN(Resolution res, members_.Resolve(e.member, now, source));
  Persist(res);
  const bool news = res.created || !res.attached.empty() || !res.merges.empty();
  // Seen before (perhaps by a member since merged into this one): applying
  // it again could overwrite what later events set, so it changes nothing.
  if (!news && members_.HasSeenEvent(res.member, digest)) return EventOutcome::kDuplicate;
  const bool changed = members_.UpdateProfile(res.member, e.profile);
  if (!news && !changed) return EventOutcome::kDuplicate;
  members_.RememberEvent(res.member, digest);
  dirty_members_.insert(res.member);
  return EventOutcome::kAccepted;
}

Result<EventOutcome> TenantState::ApplyOrder(OrderEvent&& e, Timestamp now) {
  if (orders_.HasOrder(e.order_id)) return EventOutcome::kDuplicate;
  ASSIGN_OR_RETURN(Resolution res, members_.Resolve(e.member, now, "order"));
  if (res.created) {
    // A member first met through an order registered when they paid.
    members_.UpdateProfile(res.member, MemberProfile{.registered_at = e.paid_at});
  }
  Persist(res);
  orders_.AddOrder(e, res.member);
  e.member = {};
  pending_.orders.push_back(OrderRow{res.member, std::move(e)});
  return EventOutcome::kAccepted;
}

Result<EventOutcome> TenantState::ApplyRefund(RefundEvent&& e) {
  if (orders_.HasRefund(e.refund_id)) return EventOutcome::kDuplicate;
  RETURN_IF_ERROR(orders_.CheckRefund(e));
  orders_.ApplyRefund(e);
  pending_.refunds.push_back(std::move(e));
  return EventOutcome::kAccepted;
}

template <typename Info>
Result<EventOutcome> TenantState::ApplyMaster(Info&& info, std::vector<Info>& rows) {
  if (!master_.Upsert(info)) return EventOutcome::kDuplicate;
  rows.push_back(std::move(info));
  return EventOutcome::kAccepted;
}

void TenantState::RememberIdempotent(IdempotencyRow row) {
  pending_.idempotency.push_back(row);
  idempotency_.insert_or_assign(row.key, std::move(row));
}

const IdempotencyRow* TenantState::FindIdempotent(const std::string& key) const {
  auto it = idempotency_.find(key);
  return it == idempotency_.end() ? nullptr : &it->second;
}

void TenantState::TakePending(WriteBatch& into) {
  for (MemberId id : dirty_members_) {
    const Member* m = members_.Get(id);
    pending_.members.push_back(
        MemberRow{m->id, m->profile, m->identities, m->event_digests, m->merged_into, m->created_at});
  }
  dirty_members_.clear();
  std::swap(pending_, into);
}

void TenantState::Loader::OnMember(MemberRow row) {
  Member m;
  m.id = row.member_id;
  m.profile = std::move(row.profile);
  m.identities = std::move(row.identities);
  m.event_digests = std::move(row.event_digests);
  m.created_at = row.created_at;
  // merged_into is restored by the merge rows, which also carry the history.
  s_.members_.LoadMember(std::move(m));
}

void TenantState::Loader::OnMerge(MergeRow row) {
  s_.members_.LoadMerge(MergeRecord{row.survivor, row.merged, row.at, std::move(row.reason)});
}

void TenantState::Loader::OnOrder(OrderRow row) {
  // Merges are loaded before orders, so the order lands on today's survivor.
  s_.orders_.AddOrder(row.order, s_.members_.Standing(row.member_id));
}

void TenantState::Loader::OnRefund(RefundEvent row) {
  if (s_.orders_.CheckRefund(row).ok()) s_.orders_.ApplyRefund(row);
}

void TenantState::Loader::OnIdempotency(IdempotencyRow row) {
  std::string key = row.key;
  s_.idempotency_.insert_or_assign(std::move(key), std::move(row));
}

}  // namespace pond
