// Pond's side of bench/segments: a SegmentIndex built straight from the
// exported files (what the engine reports to it while applying events:
// segment_index.hpp's writer calls, then Compact and StartDay as after a
// restart), then Count timed on one thread. And "pond-live": the same data
// set generated again and sent event by event through a TenantState, as
// the server applies `POST /events`, then the same questions on its index.
#include <cinttypes>
#include <optional>
#include <string>

#include "demo/demo_generator.hpp"
#include "engine/tenant_state.hpp"
#include "segments/expr.hpp"
#include "segments/segment_index.hpp"
#include "segments_bench.hpp"

namespace pond::bench {
namespace {

using segments::Field;
using segments::SegmentIndex;

std::optional<LocalDate> DayOrNone(std::string_view field) {
  if (field.empty()) return std::nullopt;
  return LocalDate::FromDays(static_cast<int32_t>(ToInt(field)));
}

Status LoadMembers(const std::string& dir, SegmentIndex& index) {
  CsvReader csv;
  RETURN_IF_ERROR(csv.Open(dir + "/members.csv"));
  static constexpr Field kText[] = {Field::kTier, Field::kLifecycle, Field::kGender, Field::kCity,
                                    Field::kHomeStore, Field::kSource, Field::kOwnerStaff, Field::kRfm};
  std::vector<std::string_view> f;
  while (csv.Next(&f)) {
    if (f.size() != 16) return InvalidArgument("members.csv: a row without 16 fields");
    const MemberId member = ToInt(f[0]);
    index.SetStanding(member, true);
    for (size_t i = 0; i < std::size(kText); ++i) index.SetText(member, kText[i], f[1 + i]);
    index.SetPoints(member, ToInt(f[9]));
    index.SetGrowth(member, ToInt(f[10]));
    index.SetRegistered(member, DayOrNone(f[11]));
    index.SetBirthday(member, DayOrNone(f[12]));
  }
  return Status::Ok();
}

// Orders in position order with their item categories (not the ancestors
// the export adds for the SQL peers: the index knows the tree itself).
Status LoadOrders(const std::string& dir, SegmentIndex& index) {
  CsvReader orders, categories;
  RETURN_IF_ERROR(orders.Open(dir + "/orders.csv"));
  RETURN_IF_ERROR(categories.Open(dir + "/order_categories.csv"));
  std::vector<std::string_view> o, c;
  bool more_categories = categories.Next(&c);
  std::vector<std::string> names;
  std::vector<std::string_view> views;
  while (orders.Next(&o)) {
    if (o.size() != 6) return InvalidArgument("orders.csv: a row without 6 fields");
    const int64_t pos = ToInt(o[0]);
    names.clear();
    for (; more_categories && ToInt(c[0]) == pos; more_categories = categories.Next(&c)) {
      if (c.size() != 6) return InvalidArgument("order_categories.csv: a row without 6 fields");
      if (c[5] == "0") names.emplace_back(c[4]);
    }
    views.assign(names.begin(), names.end());
    index.AddPurchase(ToInt(o[1]), static_cast<int32_t>(pos), LocalDate::FromDays(static_cast<int32_t>(ToInt(o[2]))),
                      Money::Fen(ToInt(o[3])), static_cast<int32_t>(ToInt(o[4])), views);
  }
  if (more_categories) return InvalidArgument("order_categories.csv: rows of an order not in orders.csv");
  return Status::Ok();
}

Status LoadTags(const std::string& dir, SegmentIndex& index) {
  CsvReader csv;
  RETURN_IF_ERROR(csv.Open(dir + "/member_tags.csv"));
  std::vector<std::string_view> f;
  while (csv.Next(&f)) {
    if (f.size() != 2) return InvalidArgument("member_tags.csv: a row without 2 fields");
    index.SetTag(ToInt(f[0]), f[1], true);
  }
  return Status::Ok();
}

// Times each question of the suite on `index`, in suite order.
void AskAll(const RunOptions& options, const std::vector<Question>& suite, const SegmentIndex& index,
            const segments::QueryContext& context, SystemResult* out) {
  const RepeatPolicy policy{.warmups = 3, .max_runs = options.repeat, .min_runs = options.repeat,
                            .budget_seconds = 0};
  for (const Question& q : suite) {
    auto expr = segments::ParseExpr(q.expr);
    if (!expr.ok()) {
      out->timings.push_back(Timing{.error = "parse: " + expr.status().ToString()});
      continue;
    }
    const segments::Node& node = **expr;
    out->timings.push_back(TimeQuestion([&]() { return index.Count(node, context); }, policy));
    std::fprintf(stderr, "%s: %s %.2f ms\n", out->system.c_str(), q.name.c_str(), out->timings.back().p50_ms);
  }
}

}  // namespace

Status RunPond(const RunOptions& options, const DataMeta& meta, const std::vector<Question>& suite,
               SystemResult* out) {
  out->system = "pond";
  const int64_t start = NowNanos();
  SegmentIndex index;
  RETURN_IF_ERROR(LoadMembers(options.dir, index));
  RETURN_IF_ERROR(LoadOrders(options.dir, index));
  RETURN_IF_ERROR(LoadTags(options.dir, index));
  // As TenantState does after a load and as each day begins.
  index.Compact();
  index.StartDay(LocalDate::FromDays(meta.today));
  const double load_seconds = SecondsSince(start);
  const size_t bytes = index.MemoryBytes();
  char notes[256];
  std::snprintf(notes, sizeof notes,
                "pond: index built from the CSV files in %.1f s; MemoryBytes %.1f MB = %.1f bytes per member "
                "(target <= 300); %" PRId64 " standing",
                load_seconds, static_cast<double>(bytes) / 1e6,
                static_cast<double>(bytes) / static_cast<double>(meta.members), index.standing_count());
  out->notes = notes;

  segments::QueryContext context;
  context.today = LocalDate::FromDays(meta.today);
  context.tier_ids = {"standard", "silver", "gold"};
  context.category_parents = meta.category_parents;
  AskAll(options, suite, index, context, out);
  return Status::Ok();
}

Status RunPondLive(const RunOptions& options, const DataMeta& meta, const std::vector<Question>& suite,
                   SystemResult* out) {
  out->system = "pond-live";
  if (meta.demo_members > kMostLiveMembers) {
    return FailedPrecondition("pond-live: " + std::to_string(meta.demo_members) + " members do not fit one "
                              "TenantState here (at most " + std::to_string(kMostLiveMembers) + ")");
  }
  auto zone = TimeZone::Load("Asia/Shanghai");
  if (!zone.ok()) return zone.status();
  auto end = ParseRfc3339(meta.end);
  if (!end.ok()) return end.status();
  // A tenant created on a running server: its first day run comes with the
  // scheduler's next pass, up to a minute later, so every event arrives
  // before it (as after `POST /tenants`, or `pond demo`).
  TenantState state(TenantRecord{"bench", "bench", "Asia/Shanghai", {}}, *zone);
  DemoOptions demo;
  demo.members = meta.demo_members;
  demo.seed = static_cast<uint64_t>(meta.seed);
  demo.zone = *zone;
  demo.end = *end;
  DemoGenerator generator(demo);
  std::vector<Event> batch;
  WriteBatch rows;
  int64_t events = 0;
  double applying = 0;
  while (generator.Next(&batch, 10'000)) {
    const int64_t start = NowNanos();
    for (Event& e : batch) {
      if (auto r = state.Apply(std::move(e), *end); !r.ok()) return r.status();
    }
    state.TakePending(rows);  // what the server commits to its store; dropped here
    applying += SecondsSince(start);
    events += static_cast<int64_t>(batch.size());
    batch.clear();
    rows = WriteBatch();
  }
  const size_t bytes = state.segments().MemoryBytes();
  char notes[320];
  std::snprintf(notes, sizeof notes,
                "pond-live: %" PRId64 " events applied through TenantState::Apply (what POST /events runs on the "
                "tenant's writer, without the store) in %.1f s = %.0f events/s; index MemoryBytes %.1f bytes per "
                "member; %" PRId64 " standing",
                events, applying, static_cast<double>(events) / applying,
                static_cast<double>(bytes) / static_cast<double>(meta.members), state.segments().standing_count());
  out->notes = notes;
  AskAll(options, suite, state.segments(), state.SegmentContext(*end), out);
  return Status::Ok();
}

}  // namespace pond::bench
