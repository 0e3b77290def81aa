#include "http/render.hpp"

#include "core/json_writer.hpp"
#include "loyalty/entitlements.hpp"

namespace pond {
namespace {

void WriteMember(JsonWriter& w, const TenantState& s, const Member& m, bool reveal_phones,
                 const segments::QueryContext& context) {
  const TimeZone& zone = s.zone();
  w.BeginObject().Field("member_id", m.id);
  w.Key("identities").BeginObject();
  for (int k = 0; k < kIdentityKinds; ++k) {
    const auto kind = static_cast<IdentityKind>(k);
    bool any = false;
    for (const Identity& i : m.identities) {
      if (i.kind != kind) continue;
      if (!any) w.Key(IdentityKindName(kind)).BeginArray();
      any = true;
      w.String(kind == IdentityKind::kPhone && !reveal_phones ? MaskPhone(i.value) : i.value);
    }
    if (any) w.EndArray();
  }
  w.EndObject();
  const MemberProfile& p = m.profile;
  auto opt = [&](const char* key, const std::optional<std::string>& v) {
    if (v) w.Field(key, *v);
  };
  opt("name", p.name);
  if (p.gender) w.Field("gender", GenderName(*p.gender));
  if (p.birthday) w.Field("birthday", p.birthday->ToString());
  opt("city", p.city);
  opt("home_store", p.home_store);
  opt("source", p.source);
  opt("owner_staff", p.owner_staff);
  if (p.registered_at) w.Field("registered_at", FormatRfc3339(*p.registered_at, zone));
  w.Field("created_at", FormatRfc3339(m.created_at, zone));
  // CONTRACT.md's member fields: tier, growth, points balance, lifecycle stage.
  const LoyaltyBook& loyalty = s.loyalty();
  const Account* account = loyalty.Find(m.id);
  w.Field("tier", loyalty.config().tiers[static_cast<size_t>(loyalty.TierOf(m.id))].id);
  w.Field("growth", account ? account->growth : 0);
  w.Key("points").BeginObject().Field("balance", account ? account->balance : 0).EndObject();
  w.Field("lifecycle", StageName(s.StageOfMember(m.id)));
  const PurchaseTotals& t = s.orders().Totals(m.id);
  w.Key("orders").BeginObject().Field("count", t.count).Field("paid_fen", t.paid.fen());
  w.Field("refunded_fen", t.refunded.fen()).Field("net_fen", (t.paid - t.refunded).fen());
  if (t.count) w.Field("last_paid_at", FormatRfc3339(t.last_paid_at, zone));
  w.EndObject();
  // Manual and rule tags; for manual ones also who put them on, and when.
  auto tags = s.segments().TagsOf(m.id, context);
  w.Key("tags").BeginArray();
  for (const std::string& tag : tags.ok() ? *tags : std::vector<std::string>()) w.String(tag);
  w.EndArray().Key("tagged").BeginArray();
  for (const std::string& tag : tags.ok() ? *tags : std::vector<std::string>()) {
    if (const tags::TagOperation* op = s.tags().LastAdd(tag, m.id)) {
      w.BeginObject().Field("tag", tag).Field("by", op->by).Field("at", FormatRfc3339(op->at, zone)).EndObject();
    }
  }
  w.EndArray();
  w.Key("merges").BeginArray();
  for (const MergeRecord& r : m.merges) {
    w.BeginObject().Field("merged_member_id", r.merged).Field("at", FormatRfc3339(r.at, zone));
    w.Field("reason", r.reason).EndObject();
  }
  w.EndArray();
}

void WriteEntry(JsonWriter& w, const TenantState& s, const LedgerEntry& e) {
  const std::string_view note = s.loyalty().NoteOf(e);
  w.BeginObject().Field("seq", e.tick).Field("kind", EntryKindName(e.kind));
  w.Field("at", FormatRfc3339(e.at, s.zone())).Field("points", e.points);
  if (e.growth) w.Field("growth", e.growth);
  if (e.unrecovered) w.Field("unrecovered", e.unrecovered);
  if (e.order >= 0) w.Field("order_id", s.orders().OrderId(e.order));
  if (!note.empty()) {
    w.Field(e.kind == EntryKind::kRedeem ? "redemption_id" : e.kind == EntryKind::kReverse ? "refund_id" : "reason", note);
  }
  if ((e.kind == EntryKind::kEarn || e.kind == EntryKind::kAdjust) && e.points > 0 && e.lot != kNeverExpires) {
    w.Field("expires_at", FormatRfc3339(e.lot, s.zone()));
  }
  w.EndObject();
}

bool Passes(const TenantState& s, const Member& m, const MemberFilter& f) {
  auto eq = [](const std::string& want, const std::optional<std::string>& have) {
    return want.empty() || (have && *have == want);
  };
  const MemberProfile& p = m.profile;
  if (!eq(f.city, p.city) || !eq(f.home_store, p.home_store) || !eq(f.source, p.source) ||
      !eq(f.owner_staff, p.owner_staff)) {
    return false;
  }
  if (f.gender && p.gender.value_or(Gender::kUnknown) != *f.gender) return false;
  if (f.has_orders && (s.orders().Totals(m.id).count > 0) != *f.has_orders) return false;
  return true;
}

}  // namespace

std::string TenantJson(const TenantState& s) {
  const TenantRecord& t = s.record();
  JsonWriter w;
  w.BeginObject().Field("id", t.id).Field("name", t.name).Field("timezone", t.timezone);
  w.Field("created_at", FormatRfc3339(t.created_at, s.zone())).EndObject();
  return w.Take();
}

std::string TenantSummaryJson(const TenantState& s) {
  JsonWriter w;
  w.BeginObject().Field("id", s.record().id).Field("name", s.record().name).Field("timezone", s.record().timezone);
  w.Field("created_at", FormatRfc3339(s.record().created_at, s.zone()));
  w.Key("counts").BeginObject().Field("members", s.members().standing_count());
  w.Field("merged_members", s.members().size() - s.members().standing_count());
  w.Field("orders", s.orders().order_count()).Field("refunds", s.orders().refund_count());
  w.Field("stores", static_cast<int64_t>(s.master().stores().size()));
  w.Field("staff", static_cast<int64_t>(s.master().staff().size()));
  w.Field("products", static_cast<int64_t>(s.master().products().size()));
  w.Field("categories", static_cast<int64_t>(s.master().categories().size()));
  w.EndObject().EndObject();
  return w.Take();
}

std::string MasterDataJson(const MasterData& master, std::string_view kind) {
  JsonWriter w;
  w.BeginObject();
  if (kind == "store") {
    w.Key("stores").BeginArray();
    for (const auto& [id, st] : master.stores()) {
      w.BeginObject().Field("id", st.id).Field("name", st.name).Field("city", st.city);
      if (st.lat) w.Key("lat").Double(*st.lat).Key("lng").Double(*st.lng);
      w.EndObject();
    }
  } else if (kind == "staff") {
    w.Key("staff").BeginArray();
    for (const auto& [id, st] : master.staff()) {
      w.BeginObject().Field("id", st.id).Field("name", st.name).Field("store", st.store).EndObject();
    }
  } else if (kind == "product") {
    w.Key("products").BeginArray();
    for (const auto& [id, p] : master.products()) {
      w.BeginObject().Field("sku", p.sku).Field("name", p.name).Field("category", p.category);
      w.Field("price_fen", p.price.fen()).EndObject();
    }
  } else {
    w.Key("categories").BeginArray();
    for (const auto& [id, c] : master.categories()) {
      w.BeginObject().Field("id", c.id).Field("name", c.name).Field("parent", c.parent).EndObject();
    }
  }
  w.EndArray().EndObject();
  return w.Take();
}

std::string MemberJson(const TenantState& s, MemberId id, MemberId requested, bool reveal_phones, Timestamp now) {
  JsonWriter w;
  WriteMember(w, s, *s.members().Get(id), reveal_phones, s.SegmentContext(now));
  if (requested && requested != id) w.Field("merged_member_id", requested);
  w.EndObject();
  return w.Take();
}

std::string MemberPageJson(const TenantState& s, const MemberFilter& filter, int64_t after, int64_t limit,
                           bool reveal_phones, Timestamp now) {
  JsonWriter w;
  const segments::QueryContext context = s.SegmentContext(now);  // once a page: it copies the tiers and categories
  w.BeginObject().Key("members").BeginArray();
  int64_t n = 0, last = after;
  for (MemberId id = after + 1; id <= s.members().size() && n < limit; ++id) {
    const Member& m = *s.members().Get(id);
    last = id;
    if (m.merged_into || !Passes(s, m, filter)) continue;
    WriteMember(w, s, m, reveal_phones, context);
    w.EndObject();
    ++n;
  }
  w.EndArray();
  if (last < s.members().size()) {
    w.Field("next_after", last);
  } else {
    w.Key("next_after").Null();
  }
  w.EndObject();
  return w.Take();
}

std::string MetricsText(Engine& engine) {
  std::string out;
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    std::atomic<int64_t> TenantMetrics::*field;
  };
  static const Family kFamilies[] = {
      {"pond_events_accepted_total", "counter", "Events applied.", &TenantMetrics::events_accepted},
      {"pond_events_duplicate_total", "counter", "Events seen before (natural key).", &TenantMetrics::events_duplicate},
      {"pond_events_rejected_total", "counter", "Event lines rejected.", &TenantMetrics::events_rejected},
      {"pond_commands_total", "counter", "Commands applied by the tenant writer.", &TenantMetrics::commands},
      {"pond_commits_total", "counter", "Group commits.", &TenantMetrics::commits},
      {"pond_commit_failures_total", "counter", "Commits the store refused.", &TenantMetrics::commit_failures},
      {"pond_commit_seconds_sum", "counter", "Time spent committing.", &TenantMetrics::commit_micros_total},
      {"pond_commit_seconds_max", "gauge", "Longest commit.", &TenantMetrics::commit_micros_max},
      {"pond_apply_seconds_sum", "counter", "Time spent applying commands to memory.",
       &TenantMetrics::apply_micros_total},
      {"pond_exclusive_seconds_max", "gauge", "Longest the writer kept readers out (one slice of commands).",
       &TenantMetrics::exclusive_micros_max},
      {"pond_exclusive_wait_seconds_sum", "counter", "Time the writer waited for readers to let go of the state.",
       &TenantMetrics::exclusive_wait_micros_total},
      {"pond_queue_depth", "gauge", "Commands waiting for the tenant writer.", &TenantMetrics::queue_depth},
      {"pond_members", "gauge", "Standing members.", &TenantMetrics::standing_members},
      {"pond_effects_delivered_total", "counter", "Effects their receiver took.", &TenantMetrics::effects_delivered},
      {"pond_effects_given_up_total", "counter", "Effects given up (refused, no channel, out of attempts).",
       &TenantMetrics::effects_given_up},
  };
  const auto tenants = engine.Tenants();
  for (const Family& f : kFamilies) {
    out += std::string("# HELP ") + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n";
    const bool seconds = std::string_view(f.name).find("seconds") != std::string_view::npos;
    for (const auto& t : tenants) {
      const int64_t v = (t->metrics().*f.field).load();
      out += std::string(f.name) + "{tenant=\"" + t->record().id + "\"} ";
      out += seconds ? std::to_string(static_cast<double>(v) / 1e6) : std::to_string(v);
      out += "\n";
    }
  }
  out += "# HELP pond_exclusive_hold_seconds How long the writer kept readers out, hold by hold.\n"
         "# TYPE pond_exclusive_hold_seconds histogram\n";
  for (const auto& t : tenants) {
    const TenantMetrics& m = t->metrics();
    const std::string tenant = "tenant=\"" + t->record().id + "\"";
    for (size_t i = 0; i < TenantMetrics::kHoldBucketMicros.size(); ++i) {
      std::string le = std::to_string(static_cast<double>(TenantMetrics::kHoldBucketMicros[i]) / 1e6);
      le.erase(le.find_last_not_of('0') + 1);  // 0.010000 -> 0.01
      out += "pond_exclusive_hold_seconds_bucket{" + tenant + ",le=\"" + le + "\"} " +
             std::to_string(m.holds_within[i].load()) + "\n";
    }
    out += "pond_exclusive_hold_seconds_bucket{" + tenant + ",le=\"+Inf\"} " + std::to_string(m.holds.load()) + "\n";
    out += "pond_exclusive_hold_seconds_sum{" + tenant + "} " +
           std::to_string(static_cast<double>(m.hold_micros_total.load()) / 1e6) + "\n";
    out += "pond_exclusive_hold_seconds_count{" + tenant + "} " + std::to_string(m.holds.load()) + "\n";
  }
  // Measured under the tenant's read lock when asked, so the writer pays nothing.
  out += "# HELP pond_segment_index_bytes Memory of the segment index (columns, bitmaps, purchase history).\n"
         "# TYPE pond_segment_index_bytes gauge\n";
  std::string per_member = "# HELP pond_segment_index_bytes_per_member The same per standing member.\n"
                           "# TYPE pond_segment_index_bytes_per_member gauge\n";
  for (const auto& t : tenants) {
    const auto [bytes, members] = t->Read([](const TenantState& s) {
      return std::pair(s.segments().MemoryBytes(), s.segments().standing_count());
    });
    const std::string label = "{tenant=\"" + t->record().id + "\"} ";
    out += "pond_segment_index_bytes" + label + std::to_string(bytes) + "\n";
    per_member += "pond_segment_index_bytes_per_member" + label +
                  std::to_string(members > 0 ? static_cast<int64_t>(bytes) / members : 0) + "\n";
  }
  return out + per_member;
}


std::string LedgerEntryJson(const TenantState& s, const LedgerEntry& e, int64_t balance) {
  JsonWriter w;
  w.BeginObject().Key("entry");
  WriteEntry(w, s, e);
  w.Field("balance", balance).EndObject();
  return w.Take();
}

std::string LoyaltyJson(const TenantState& s, MemberId id, Timestamp now, int64_t ledger_before, int64_t ledger_limit) {
  const LoyaltyBook& loyalty = s.loyalty();
  const LoyaltyConfig& config = loyalty.config();
  const Account* a = loyalty.Find(id);
  static const Account kNone;
  if (!a) a = &kNone;
  const int tier = loyalty.TierOf(id);
  JsonWriter w;
  w.BeginObject().Field("member_id", id);
  w.Key("tier").BeginObject().Field("id", config.tiers[static_cast<size_t>(tier)].id);
  w.Field("name", config.tiers[static_cast<size_t>(tier)].name).Key("history").BeginArray();
  loyalty.ForEachTierChangeOf(id, [&](const TierHistoryEntry& c) {
    w.BeginObject().Field("at", FormatRfc3339(c.at, s.zone())).Field("from", c.from).Field("to", c.to);
    w.Field("cause", c.cause).EndObject();
  });
  w.EndArray().EndObject();
  w.Field("growth", a->growth).Field("basis", GrowthBasisName(config.basis));
  w.Field("basis_value", loyalty.BasisValue(id, now));
  if (static_cast<size_t>(tier) + 1 < config.tiers.size()) {
    const TierRule& next = config.tiers[static_cast<size_t>(tier) + 1];
    w.Key("next_tier").BeginObject().Field("id", next.id).Field("name", next.name);
    w.Field("threshold", next.threshold);
    w.Field("missing", std::max<int64_t>(next.threshold - loyalty.BasisValue(id, now), 0)).EndObject();
  }
  w.Key("points").BeginObject().Field("balance", a->balance);
  w.Field("expiring_soon", loyalty.ExpiringSoon(id, now)).Field("expiring_soon_days", config.expiring_soon_days);
  w.Key("lots").BeginArray();
  for (const Lot& lot : a->lots) {
    w.BeginObject().Field("points", lot.points);
    if (lot.expires_at != kNeverExpires) w.Field("expires_at", FormatRfc3339(lot.expires_at, s.zone()));
    w.EndObject();
  }
  w.EndArray().EndObject();
  w.Key("lifecycle").BeginObject().Field("stage", StageName(s.StageOfMember(id)));
  w.Field("label", StageLabel(s.StageOfMember(id))).Key("history").BeginArray();
  s.lifecycle().ForEachChangeOf(id, [&](const StageChange& c) {
    w.BeginObject().Field("at", FormatRfc3339(c.at, s.zone())).Field("from", StageName(c.from));
    w.Field("to", StageName(c.to)).EndObject();
  });
  w.EndArray().EndObject();
  const RfmScore rfm = s.lifecycle().RfmOf(id);
  w.Key("rfm").BeginObject().Field("class", RfmClassName(rfm.cls)).Field("label", RfmClassLabel(rfm.cls));
  w.Field("r", int{rfm.r}).Field("f", int{rfm.f}).Field("m", int{rfm.m});
  if (auto as_of = s.lifecycle().rfm_as_of()) w.Field("as_of", as_of->ToString());
  w.EndObject();
  const Member* member = s.members().Get(id);
  const Entitlements ent = EntitlementsOf(config, tier, member->profile.birthday, s.zone().DateOf(now));
  w.Key("entitlements").BeginObject().Key("benefits").BeginArray();
  for (const Benefit* b : ent.benefits) {
    w.BeginObject().Field("id", b->id).Field("name", b->name).Field("kind", BenefitKindName(b->kind));
    if (!b->description.empty()) w.Field("description", b->description);
    w.EndObject();
  }
  w.EndArray();
  if (ent.member_day.enabled) {
    w.Key("member_day").BeginObject().Field("today", ent.member_day.today).Field("next", ent.member_day.next.ToString());
    w.Field("threshold_fen", ent.member_day.threshold.fen()).Field("off_fen", ent.member_day.off.fen()).EndObject();
  }
  if (ent.birthday.known) {
    w.Key("birthday").BeginObject().Field("today", ent.birthday.today).Field("next", ent.birthday.next.ToString());
    w.Field("points_multiplier_pct", ent.birthday.points_multiplier_pct);
    w.Field("coupon_off_fen", ent.birthday.coupon_off.fen()).Field("coupon_valid_days", ent.birthday.coupon_valid_days);
    w.EndObject();
  }
  w.EndObject();
  // A page of the ledger, newest first; `before` is the seq to continue from.
  w.Key("ledger").BeginArray();
  int64_t shown = 0, last_seq = 0;
  bool more = false;
  loyalty.ForEachEntryOf(id, [&](const LedgerEntry& e) {
    if (ledger_before && e.tick >= ledger_before) return;
    if (shown == ledger_limit) {
      more = true;
      return;
    }
    WriteEntry(w, s, e);
    ++shown;
    last_seq = e.tick;
  });
  w.EndArray();
  if (more) w.Field("next_before", last_seq);
  w.EndObject();
  return w.Take();
}


std::string TierDistributionJson(const TenantState& s) {
  const auto& tiers = s.loyalty().config().tiers;
  std::vector<int64_t> counts(tiers.size());
  for (MemberId m = 1; m <= s.members().size(); ++m) {
    if (s.members().Standing(m) == m) ++counts[static_cast<size_t>(s.loyalty().TierOf(m))];
  }
  JsonWriter w;
  w.BeginObject().Key("tiers").BeginArray();
  for (size_t i = 0; i < tiers.size(); ++i) {
    w.BeginObject().Field("id", tiers[i].id).Field("name", tiers[i].name).Field("members", counts[i]).EndObject();
  }
  w.EndArray().Field("members", s.members().standing_count()).EndObject();
  return w.Take();
}

std::string LifecycleDistributionJson(const TenantState& s) {
  std::vector<int64_t> counts(kStages);
  for (MemberId m = 1; m <= s.members().size(); ++m) {
    if (s.members().Standing(m) == m) ++counts[static_cast<size_t>(s.StageOfMember(m))];
  }
  JsonWriter w;
  w.BeginObject().Key("stages").BeginArray();
  for (int i = 0; i < kStages; ++i) {
    const auto stage = static_cast<Stage>(i);
    w.BeginObject().Field("stage", StageName(stage)).Field("label", StageLabel(stage));
    w.Field("members", counts[static_cast<size_t>(i)]).EndObject();
  }
  w.EndArray().Field("members", s.members().standing_count()).EndObject();
  return w.Take();
}

std::string LifecycleTransitionsJson(const TenantState& s, LocalDate from, LocalDate to) {
  const Timestamp begin = s.zone().StartOfDay(from), end = s.zone().StartOfDay(LocalDate::FromDays(to.days() + 1));
  std::vector<int64_t> counts(kStages * kStages);
  const ChunkedArray<StageChange>& changes = s.lifecycle().changes();
  for (size_t i = 0; i < changes.size(); ++i) {
    const StageChange& c = changes[i];
    if (c.at >= begin && c.at < end) ++counts[static_cast<size_t>(static_cast<int>(c.from) * kStages + static_cast<int>(c.to))];
  }
  JsonWriter w;
  w.BeginObject().Field("from", from.ToString()).Field("to", to.ToString()).Key("transitions").BeginArray();
  for (int i = 0; i < kStages * kStages; ++i) {
    if (!counts[static_cast<size_t>(i)]) continue;
    w.BeginObject().Field("from", StageName(static_cast<Stage>(i / kStages)));
    w.Field("to", StageName(static_cast<Stage>(i % kStages))).Field("count", counts[static_cast<size_t>(i)]).EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

}  // namespace pond
