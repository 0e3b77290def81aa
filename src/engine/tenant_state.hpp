// TenantState: everything Pond knows about one tenant in memory — members
// and identities, orders, master data, idempotency records — and the rules
// that apply an event to it.
//
// Apply() changes the state and appends the rows that make the change
// durable to a pending WriteBatch, which the tenant engine takes and commits
// (TakePending). The state is rebuilt from those rows on start (Loader), so
// applying and loading must agree: every change goes through the same
// domain books either way.
//
// Not thread-safe: the tenant engine applies from its writer thread under an
// exclusive lock and lets readers in under a shared lock.
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/status.hpp"
#include "core/time.hpp"
#include "engine/store.hpp"
#include "events/event.hpp"
#include "masterdata/master_data.hpp"
#include "members/member_book.hpp"
#include "orders/order_book.hpp"

namespace pond {

enum class EventOutcome { kAccepted, kDuplicate };

class TenantState {
 public:
  TenantState(TenantRecord record, TimeZone zone);

  // Applies one event at `now`. Accepted when it changed something,
  // Duplicate when its natural key was seen (or it changes nothing); an error
  // names the field and leaves the state as it was.
  // The event is taken by value: its strings move into the rows.
  Result<EventOutcome> Apply(Event event, Timestamp now);

  // Remembers the answer to an idempotent request, durably with the batch.
  void RememberIdempotent(IdempotencyRow row);
  const IdempotencyRow* FindIdempotent(const std::string& key) const;

  // Hands over the rows of everything applied since the last call by
  // swapping them into `into`, which must be empty (its memory is reused).
  void TakePending(WriteBatch& into);
  WriteBatch TakePending() {
    WriteBatch out;
    TakePending(out);
    return out;
  }

  const TenantRecord& record() const { return record_; }
  const TimeZone& zone() const { return zone_; }
  const MemberBook& members() const { return members_; }
  const OrderBook& orders() const { return orders_; }
  const MasterData& master() const { return master_; }

  // Feeds stored rows back in; see TenantStore::Load for the order.
  class Loader final : public LoadSink {
   public:
    explicit Loader(TenantState& state) : s_(state) {}
    void OnStore(StoreInfo row) override { s_.master_.Upsert(row); }
    void OnStaff(StaffInfo row) override { s_.master_.Upsert(row); }
    void OnProduct(ProductInfo row) override { s_.master_.Upsert(row); }
    void OnCategory(CategoryInfo row) override { s_.master_.Upsert(row); }
    void OnMember(MemberRow row) override;
    void OnMerge(MergeRow row) override;
    void OnOrder(OrderRow row) override;
    void OnRefund(RefundEvent row) override;
    void OnIdempotency(IdempotencyRow row) override;

   private:
    TenantState& s_;
  };

 private:
  Result<EventOutcome> ApplyMember(const MemberEvent& e, Timestamp now);
  Result<EventOutcome> ApplyOrder(OrderEvent&& e, Timestamp now);
  Result<EventOutcome> ApplyRefund(RefundEvent&& e);
  template <typename Info>
  Result<EventOutcome> ApplyMaster(Info&& info, std::vector<Info>& rows);
  // Records what a resolution did: identity and merge rows, merged histories.
  void Persist(const Resolution& res);

  TenantRecord record_;
  TimeZone zone_;
  MemberBook members_;
  OrderBook orders_;
  MasterData master_;
  std::unordered_map<std::string, IdempotencyRow> idempotency_;
  WriteBatch pending_;
  std::unordered_set<MemberId> dirty_members_;  // rows to write at TakePending
};

}  // namespace pond
