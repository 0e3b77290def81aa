#include "engine/modules/activities_module.hpp"

#include <algorithm>
#include <array>

#include "activities/activity_json.hpp"
#include "core/id_list.hpp"
#include "core/log.hpp"
#include "engine/modules/coupons_module.hpp"
#include "journal/codec.hpp"

namespace pond {
namespace {

// The occasion of the coupon a claim gives, and the redemption id of the
// points it spends: one per claim, so neither can happen twice.
std::string ClaimOccasion(int64_t activity_id, int64_t claim_id) {
  return "activity:" + std::to_string(activity_id) + ":claim:" + std::to_string(claim_id);
}

constexpr std::string_view kActivitiesSetting = "activities";
constexpr std::array<uint16_t, 1> kJournalKinds = {static_cast<uint16_t>(journal::Kind::kActivityEvent)};
constexpr std::array<std::string_view, 1> kSettings = {kActivitiesSetting};

}  // namespace

Result<const activities::Activity*> ActivitiesModule::CreateActivity(activities::Activity a, Timestamp now) {
  RETURN_IF_ERROR(activities::CheckActivity(a));
  Status bad = InvalidArgument("the activity refers to what is not there");
  if (a.template_id != 0 && Coupons(tenant_).FindCouponTemplate(a.template_id) == nullptr) {
    bad.AddFieldError("template_id", "no such coupon template");
  }
  for (size_t i = 0; i < a.prizes.size(); ++i) {
    if (a.prizes[i].template_id != 0 && Coupons(tenant_).FindCouponTemplate(a.prizes[i].template_id) == nullptr) {
      bad.AddFieldError("prizes[" + std::to_string(i) + "].template_id", "no such coupon template");
    }
  }
  if (a.snapshot_id != 0 &&
      std::none_of(tenant_.snapshots().begin(), tenant_.snapshots().end(), [&](const SnapshotRow& s) { return s.id == a.snapshot_id; })) {
    bad.AddFieldError("snapshot_id", "no such snapshot");
  }
  const tags::TagDefinition* tag = a.helper_tag.empty() ? nullptr : tenant_.tags().Find(a.helper_tag);
  if (tag != nullptr && tag->kind != tags::TagKind::kManual) {
    bad.AddFieldError("helper_tag", "is a rule tag; helpers need a manual one");
  }
  if (!bad.field_errors().empty()) return bad;
  if (a.kind == activities::ActivityKind::kBargain && tag == nullptr) {
    // DOMAIN.md §7: helpers are tagged and reached later.
    tags::TagDefinition def;
    def.name = a.helper_tag;
    def.group = "活动";
    def.description = "Members who helped a bargain (砍价)";
    def.created_by = "pond";
    def.created_at = now;
    if (Status s = tenant_.PutTag(std::move(def), true, now); !s.ok()) return s.AddFieldError("helper_tag", s.message());
  }
  const activities::Activity& made = book_.Add(std::move(a));
  PersistActivities();
  return &made;
}

Result<const activities::Activity*> ActivitiesModule::CancelActivity(int64_t id, Timestamp now) {
  ASSIGN_OR_RETURN(const activities::Activity* a, book_.Cancel(id, now));
  PersistActivities();
  return a;
}

void ActivitiesModule::PersistActivities() {
  tenant_.Put(SettingRow{std::string(kActivitiesSetting), activities::ActivitiesJson(book_.activities())});
}

void ActivitiesModule::RecordActivity(ActivityEventRow row) {
  row.id = next_event_++;
  tenant_.Journal(row);
}

Status ActivitiesModule::RefuseClaim(int64_t activity_id, MemberId member, int64_t bargain, Status why, Timestamp now) {
  std::string reason = ReasonOf(why);
  if (!reason.empty()) {
    book_.CountRefusal(activity_id, reason, bargain != 0);
    RecordActivity({0, activity_id, "refused", member, bargain, now, std::move(reason)});
  }
  return why;
}

bool ActivitiesModule::InSnapshot(int64_t snapshot_id, MemberId member) {
  auto cached = snapshot_members_.find(snapshot_id);
  if (cached == snapshot_members_.end()) {
    std::vector<int64_t> ids;
    for (const SnapshotRow& row : tenant_.snapshots()) {
      if (row.id != snapshot_id) continue;
      if (auto decoded = DecodeIdList(row.members); decoded.ok()) ids = std::move(decoded).value();
    }
    std::sort(ids.begin(), ids.end());
    cached = snapshot_members_.emplace(snapshot_id, std::move(ids)).first;
  }
  // A member merged since the snapshot was frozen is in it through the
  // number it had then.
  auto in = [&](MemberId m) { return std::binary_search(cached->second.begin(), cached->second.end(), m); };
  if (in(member)) return true;
  const std::vector<MemberId> merged = tenant_.members().MergedInto(member);
  return std::any_of(merged.begin(), merged.end(), in);
}

Status ActivitiesModule::CheckClaimer(const activities::Activity& a, MemberId member, Timestamp now) {
  // Outside the window the book answers not_started or ended.
  if (now < a.starts_at || now >= a.ends_at) return Status::Ok();
  if (a.snapshot_id != 0 && !InSnapshot(a.snapshot_id, member)) {
    return Refusal("not_eligible", "the member is not in the activity's audience");
  }
  if (a.purchase_required) {
    bool bought = false;
    tenant_.orders().ForEachOrderOf(member, [&](const OrderRecord& o) {
      bought |= o.paid_at >= a.starts_at && o.paid_at < a.ends_at && o.net().fen() > 0;
    });
    if (!bought) return Refusal("not_eligible", "the member has paid no order during the activity");
  }
  if (a.kind == activities::ActivityKind::kPointsMall) {
    const Account* account = tenant_.loyalty().Find(member);
    if (account == nullptr || account->balance < a.points) {
      return Refusal("insufficient_points", "the claim costs " + std::to_string(a.points) + " points");
    }
  }
  if (a.template_id != 0) {
    // The coupon must be there to give before anything is taken or spent.
    RETURN_IF_ERROR(Coupons(tenant_).wallet().CanIssue(*Coupons(tenant_).FindCouponTemplate(a.template_id), member, now, tenant_.members().MergedInto(member)));
  }
  return Status::Ok();
}

Result<const activities::Claim*> ActivitiesModule::ClaimActivity(int64_t activity_id, MemberId member, int64_t group,
                                                            Timestamp now) {
  const activities::Activity* a = book_.Find(activity_id);
  if (a == nullptr) return NotFoundField("id", "no activity " + std::to_string(activity_id));
  member = tenant_.members().Standing(member);
  if (member == 0) return NotFoundField("member", "no such member");
  if (Status s = CheckClaimer(*a, member, now); !s.ok()) return RefuseClaim(a->id, member, 0, std::move(s), now);
  auto taken = book_.Take(a->id, member, group, now, tenant_.members().MergedInto(member));
  if (!taken.ok()) return RefuseClaim(a->id, member, 0, taken.status(), now);
  const int64_t claim_id = (*taken)->id;
  const std::string occasion = ClaimOccasion(a->id, claim_id);
  const int64_t template_id = a->template_id != 0 ? a->template_id
                              : (*taken)->prize >= 0 ? a->prizes[static_cast<size_t>((*taken)->prize)].template_id
                                                     : 0;
  std::string coupon;
  if (template_id != 0) {
    auto code = coupons::NewCouponCode();
    auto issued = code.ok() ? Coupons(tenant_).IssueCoupon(template_id, member, occasion, *code, now)
                            : Result<coupons::Wallet::Issued>(code.status());
    if (issued.ok()) {
      coupon = issued->coupon->code;
      book_.SetCoupon(claim_id, coupon);
    } else {
      // A prize's coupon template ran out before the prize did: the prize
      // is won and shown without a coupon; logged for the operator.
      Log(LogLevel::kWarn, "an activity's coupon was not issued",
          {{"tenant", tenant_.record().id}, {"activity", std::to_string(a->id)}, {"error", issued.status().ToString()}});
    }
  }
  if (a->kind == activities::ActivityKind::kPointsMall) {
    // CheckClaimer saw the balance, and nothing ran since.
    if (auto spent = tenant_.Redeem(member, a->points, occasion, now); !spent.ok()) {
      Log(LogLevel::kError, "a checked points claim did not spend",
          {{"tenant", tenant_.record().id}, {"activity", std::to_string(a->id)}, {"error", spent.status().ToString()}});
    }
  }
  RecordActivity({0, a->id, "take", member, group, now, std::move(coupon)});
  tenant_.Publish(ClaimMade{member, a->id, claim_id, now});
  return book_.FindClaim(claim_id);
}

Result<const activities::Claim*> ActivitiesModule::HelpBargain(int64_t claim_id, const MemberRef& helper, Timestamp now) {
  const activities::Claim* claim = book_.FindClaim(claim_id);
  const activities::Activity* a = claim ? book_.Find(claim->activity_id) : nullptr;
  if (a == nullptr || a->kind != activities::ActivityKind::kBargain) {
    return NotFoundField("claim", "no bargain " + std::to_string(claim_id));
  }
  MemberId member = tenant_.members().Find(helper);
  if (member == 0) {
    // A friend who is not yet a member registers by helping (DOMAIN.md
    // §7: bargains acquire members), with bargain as the source — but not
    // for a bargain that is over, the one refusal a newcomer can meet.
    if (book_.StateOf(*claim, now) != activities::ClaimState::kWaiting) {
      return RefuseClaim(a->id, 0, claim_id, Refusal("bargain_closed", "the bargain is over"), now);
    }
    MemberEvent joined{helper, {}};
    joined.profile.source = "bargain";
    joined.profile.registered_at = now;
    RETURN_IF_ERROR(tenant_.Apply(Event(std::move(joined)), now).status());
    member = tenant_.members().Find(helper);
  }
  member = tenant_.members().Standing(member);
  auto helped = book_.Help(claim_id, member, now, tenant_.members().MergedInto(member));
  if (!helped.ok()) return RefuseClaim(a->id, member, claim_id, helped.status(), now);
  // Records a tagging only when the helper did not hold the tag yet.
  (void)tenant_.TagMembers(a->helper_tag, true, {member}, "activity:" + std::to_string(a->id), "bargain helper", now);
  RecordActivity({0, a->id, "help", member, claim_id, now, ""});
  return *helped;
}

Status ActivitiesModule::ReplayActivity(const ActivityEventRow& row) {
  if (row.kind == "take") {
    ASSIGN_OR_RETURN(const activities::Claim* c, book_.Take(row.activity_id, row.member, row.ref, row.at));
    if (!row.detail.empty()) book_.SetCoupon(c->id, row.detail);
    return Status::Ok();
  }
  if (row.kind == "help") return book_.Help(row.ref, row.member, row.at).status();
  if (row.kind == "refused") {
    book_.CountRefusal(row.activity_id, row.detail, row.ref != 0);
    return Status::Ok();
  }
  return InvalidArgument("unknown activity change '" + row.kind + "'");
}

std::span<const uint16_t> ActivitiesModule::journal_kinds() const { return kJournalKinds; }
std::span<const std::string_view> ActivitiesModule::settings() const { return kSettings; }

Status ActivitiesModule::Replay(const JournalRow& row) {
  ActivityEventRow event;
  if (!journal::Decode(row.tick, row.key, row.payload, event)) return Internal("its bytes are not a well-formed encoding");
  RETURN_IF_ERROR(ReplayActivity(event));
  next_event_ = std::max(next_event_, event.id + 1);
  return Status::Ok();
}

Status ActivitiesModule::LoadSetting(std::string_view, std::string_view value) {
  ASSIGN_OR_RETURN(auto activities, activities::ParseActivities(value));
  // The book is empty here: settings load before any claim.
  for (activities::Activity& a : activities) book_.Add(std::move(a));
  return Status::Ok();
}

}  // namespace pond
