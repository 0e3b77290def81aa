// `pond_bench_segments export`: the demo data set (what `pond demo`
// generates) as Pond's engine sees it, written as plain CSV for every
// system of the benchmark.
//
// The events go through TenantState — identities, loyalty (tiers, points,
// growth), refunds, lifecycle stages and RFM — so the attributes are Pond's
// own, not re-derived here. The full engine holds ~2.2 KB a member, too much
// for 10 M members at once, so the members are applied in shards of about
// 1 M, each in a fresh TenantState: the master data (emitted first) is
// applied to every shard, and a shard ends where a member event begins (a
// member's orders and refunds follow its member event), so no member spans
// two shards. Ids are global: a shard's members and order positions are
// offset by those of the shards before it.
//
// Files (header line first; empty field = no value):
//   members.csv           member_id,tier,lifecycle,gender,city,home_store,source,owner_staff,rfm,
//                         points,growth,registered_day,birthday_day,birth_year,birth_month,birth_day
//   orders.csv            order_pos,member_id,day,net_fen,units,weekend
//   order_categories.csv  order_pos,member_id,day,net_fen,category,ancestor — the order's distinct item
//                         categories (ancestor=0) plus their ancestors in the category tree that are not
//                         item categories themselves (ancestor=1), with the order's member, day and net
//                         repeated so that a SQL peer answers bought("food", N) from one table
//   member_tags.csv       member_id,tag — the five preference tags (kTagRules)
//   meta.json             today, its year/month/day, counts, the category tree
// Days are tenant-local LocalDate day numbers (Asia/Shanghai).
#include <algorithm>
#include <cassert>
#include <cinttypes>
#include <filesystem>
#include <memory>
#include <unordered_map>

#include "demo/demo_generator.hpp"
#include "engine/tenant_state.hpp"
#include "lifecycle/lifecycle.hpp"
#include "segments/expr.hpp"
#include "segments/segment_index.hpp"
#include "segments_bench.hpp"

namespace pond::bench {
namespace {

// The preference tags and their rules, as Pond documents them by default;
// each is evaluated by Pond's segment index on each shard.
struct TagRule {
  std::string_view name;
  std::string_view expr;
};
constexpr TagRule kTagRules[] = {
    {"爱美妆", R"(bought("beauty", 365, 2))"},
    {"零食吃货", R"(bought("snacks", 180, 2))"},
    {"IP粉丝", R"(bought("ip_goods", 365, 2))"},
    {"周末亲子", R"(bought("toys", 365) and weekend_orders_365d >= 2)"},
    {"囤货达人", R"(max_units_365d >= 8)"},
};
constexpr size_t kTags = std::size(kTagRules);

// A CSV file written through a large buffer. Values never hold a comma,
// quote or line break (checked), so nothing is quoted.
class CsvWriter {
 public:
  ~CsvWriter() {
    if (file_) std::fclose(file_);
  }
  Status Open(const std::string& path, std::string_view header) {
    file_ = std::fopen(path.c_str(), "w");
    if (!file_) return Unavailable("cannot write " + path);
    path_ = path;
    buffer_.append(header).push_back('\n');
    return Status::Ok();
  }
  CsvWriter& Text(std::string_view v) {
    if (v.find_first_of(",\"\n\r") != std::string_view::npos) unquotable_ = true;
    Separate();
    buffer_.append(v);
    return *this;
  }
  CsvWriter& Int(int64_t v) {
    Separate();
    char text[24];
    const int n = std::snprintf(text, sizeof text, "%" PRId64, v);
    buffer_.append(text, static_cast<size_t>(n));
    return *this;
  }
  CsvWriter& Empty() {
    Separate();
    return *this;
  }
  void EndRow() {
    buffer_.push_back('\n');
    first_ = true;
    ++rows_;
    if (buffer_.size() >= (1 << 20)) Flush();
  }
  Status Close() {
    Flush();
    const bool ok = !std::ferror(file_) && std::fclose(file_) == 0;
    file_ = nullptr;
    if (unquotable_) return Internal(path_ + ": a value holds a comma, quote or line break");
    return ok ? Status::Ok() : Unavailable("writing " + path_ + " failed");
  }
  int64_t rows() const { return rows_; }

 private:
  void Separate() {
    if (!first_) buffer_.push_back(',');
    first_ = false;
  }
  void Flush() {
    std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
    buffer_.clear();
  }
  std::FILE* file_ = nullptr;
  std::string path_;
  std::string buffer_;
  bool first_ = true;
  bool unquotable_ = false;  // the readers split on commas and never unquote
  int64_t rows_ = 0;
};

// The demo's category tree as bit masks, so an order's categories and their
// ancestors are two small integers.
class CategoryTable {
 public:
  void Add(const CategoryInfo& c) { parents_[c.id] = c.parent; }
  void AddProduct(const ProductInfo& p) { product_category_[p.sku] = p.category; }

  // Bit of `id`, registering unknown ids (categories outside the master data).
  int BitOf(std::string_view id) {
    for (size_t i = 0; i < ids_.size(); ++i) {
      if (ids_[i] == id) return static_cast<int>(i);
    }
    assert(ids_.size() < 32);
    ids_.emplace_back(id);
    return static_cast<int>(ids_.size() - 1);
  }
  // `id` and every category above it.
  uint32_t WithAncestors(std::string_view id) {
    uint32_t mask = 0;
    std::string current(id);
    for (int depth = 0; !current.empty() && depth < 16; ++depth) {
      mask |= 1u << BitOf(current);
      auto it = parents_.find(current);
      current = it == parents_.end() ? std::string() : it->second;
    }
    return mask;
  }
  // The category an item counts under (TenantState::CollectCategories: an
  // item without one takes its product's).
  std::string_view CategoryOf(const OrderItem& item) const {
    if (!item.category.empty()) return item.category;
    auto it = product_category_.find(item.sku);
    return it == product_category_.end() ? std::string_view() : std::string_view(it->second);
  }
  const std::string& Id(int bit) const { return ids_[static_cast<size_t>(bit)]; }
  int size() const { return static_cast<int>(ids_.size()); }
  const std::unordered_map<std::string, std::string>& parents() const { return parents_; }

 private:
  std::vector<std::string> ids_;
  std::unordered_map<std::string, std::string> parents_;
  std::unordered_map<std::string, std::string> product_category_;
};

// What the export keeps of an order besides what the order book holds.
struct OrderFacts {
  int32_t day = 0;
  int32_t units = 0;
  uint32_t direct = 0;  // categories of its items
  uint32_t all = 0;     // and their ancestors
};

// The rules of kTagRules computed straight from the exported rows, to check
// Pond's evaluation (and to stand in while the index cannot evaluate them).
class TagModel {
 public:
  TagModel(CategoryTable& categories, int32_t today)
      : today_(today),
        beauty_(1u << categories.BitOf("beauty")),
        snacks_(1u << categories.BitOf("snacks")),
        ip_goods_(1u << categories.BitOf("ip_goods")),
        toys_(1u << categories.BitOf("toys")) {}

  void Reset(int64_t members) { by_member_.assign(static_cast<size_t>(members) + 1, {}); }
  void AddOrder(MemberId member, const OrderFacts& o, Money net) {
    if (net.fen() <= 0) return;
    Counts& c = by_member_[static_cast<size_t>(member)];
    auto within = [&](int days) { return o.day >= today_ - days + 1 && o.day <= today_; };
    if (within(365)) {
      c.beauty_365 += (o.all & beauty_) != 0;
      c.ip_365 += (o.all & ip_goods_) != 0;
      c.toys_365 += (o.all & toys_) != 0;
      const int weekday = LocalDate::FromDays(o.day).weekday();
      c.weekend_365 += weekday >= 6;
      c.max_units_365 = std::max(c.max_units_365, o.units);
    }
    if (within(180)) c.snacks_180 += (o.all & snacks_) != 0;
  }
  bool Has(MemberId member, size_t tag) const {
    const Counts& c = by_member_[static_cast<size_t>(member)];
    switch (tag) {
      case 0: return c.beauty_365 >= 2;
      case 1: return c.snacks_180 >= 2;
      case 2: return c.ip_365 >= 2;
      case 3: return c.toys_365 >= 1 && c.weekend_365 >= 2;
      default: return c.max_units_365 >= 8;
    }
  }

 private:
  struct Counts {
    int32_t beauty_365 = 0, snacks_180 = 0, ip_365 = 0, toys_365 = 0, weekend_365 = 0, max_units_365 = 0;
  };
  int32_t today_;
  uint32_t beauty_, snacks_, ip_goods_, toys_;
  std::vector<Counts> by_member_;
};

struct Files {
  CsvWriter members, orders, categories, tags;
};

struct Totals {
  int64_t member_offset = 0;  // members of the shards written so far (standing or not)
  int64_t order_offset = 0;
  int64_t standing = 0;
  int64_t tag_rows[kTags] = {};
  bool tags_by_pond = true;
};

// Writes one applied shard and checks Pond's tags against the model.
Status WriteShard(TenantState& state, const std::vector<OrderFacts>& facts, CategoryTable& categories,
                  Timestamp end, Files& files, Totals& totals) {
  state.RunDue(end);  // lifecycle stages and RFM as of today
  state.TakePending();
  const TimeZone& zone = state.zone();
  const int32_t today = zone.DateOf(end).days();
  const MemberBook& members = state.members();
  const auto& tiers = state.loyalty().config().tiers;

  for (MemberId m = 1; m <= members.size(); ++m) {
    if (members.Standing(m) != m) continue;
    const MemberProfile& p = members.Get(m)->profile;
    auto text = [&](const std::optional<std::string>& v) -> CsvWriter& {
      return v ? files.members.Text(*v) : files.members.Empty();
    };
    const Account* account = state.loyalty().Find(m);
    files.members.Int(totals.member_offset + m)
        .Text(tiers[static_cast<size_t>(state.loyalty().TierOf(m))].id)
        .Text(StageName(state.StageOfMember(m)))
        .Text(p.gender ? GenderName(*p.gender) : std::string_view());
    text(p.city);
    text(p.home_store);
    text(p.source);
    text(p.owner_staff);
    files.members.Text(RfmClassName(state.lifecycle().RfmOf(m).cls))
        .Int(account ? account->balance : 0)
        .Int(account ? account->growth : 0);
    if (p.registered_at) {
      files.members.Int(zone.DateOf(*p.registered_at).days());
    } else {
      files.members.Empty();
    }
    if (p.birthday) {
      files.members.Int(p.birthday->days()).Int(p.birthday->year()).Int(p.birthday->month()).Int(p.birthday->day());
    } else {
      files.members.Empty().Empty().Empty().Empty();
    }
    files.members.EndRow();
    ++totals.standing;
  }

  TagModel model(categories, today);
  model.Reset(members.size());
  const OrderBook& orders = state.orders();
  if (static_cast<size_t>(orders.order_count()) != facts.size()) {
    return Internal("the shard's order book and the export disagree on its orders");
  }
  for (int32_t pos = 0; pos < orders.order_count(); ++pos) {
    const OrderRecord& o = orders.Order(pos);
    const OrderFacts& f = facts[static_cast<size_t>(pos)];
    if (f.day > today) return FailedPrecondition("an order is paid after the data set's end");
    const MemberId member = members.Standing(o.member);
    const int64_t global_pos = totals.order_offset + pos;
    const int64_t global_member = totals.member_offset + member;
    const int weekday = LocalDate::FromDays(f.day).weekday();
    files.orders.Int(global_pos).Int(global_member).Int(f.day).Int(o.net().fen()).Int(f.units).Int(weekday >= 6 ? 1 : 0);
    files.orders.EndRow();
    for (int bit = 0; bit < categories.size(); ++bit) {
      if (!(f.all & (1u << bit))) continue;
      files.categories.Int(global_pos).Int(global_member).Int(f.day).Int(o.net().fen()).Text(categories.Id(bit));
      files.categories.Int((f.direct & (1u << bit)) ? 0 : 1).EndRow();
    }
    model.AddOrder(member, f, o.net());
  }

  // Tags: Pond's segment index evaluates the rules on the shard; the model
  // must agree member for member.
  const segments::QueryContext context = state.SegmentContext(end);
  for (size_t t = 0; t < kTags; ++t) {
    std::vector<MemberId> expected;
    for (MemberId m = 1; m <= members.size(); ++m) {
      if (members.Standing(m) == m && model.Has(m, t)) expected.push_back(m);
    }
    std::vector<MemberId> holders = expected;
    auto expr = segments::ParseExpr(kTagRules[t].expr);
    Result<std::vector<MemberId>> matched =
        expr.ok() ? state.segments().Match(**expr, context, SIZE_MAX) : Result<std::vector<MemberId>>(expr.status());
    if (matched.ok()) {
      if (*matched != expected) {
        size_t i = 0;
        while (i < matched->size() && i < expected.size() && (*matched)[i] == expected[i]) ++i;
        std::fprintf(stderr,
                     "TAG MISMATCH %s = %s: pond matched %zu members, a direct count over the rows %zu; "
                     "first difference at local member %" PRId64 " (pond) / %" PRId64 " (rows)\n",
                     std::string(kTagRules[t].name).c_str(), std::string(kTagRules[t].expr).c_str(),
                     matched->size(), expected.size(), i < matched->size() ? (*matched)[i] : int64_t{-1},
                     i < expected.size() ? expected[i] : int64_t{-1});
        return Internal("Pond's segment index and the rows disagree on a tag");
      }
    } else {
      if (totals.tags_by_pond) {
        std::fprintf(stderr, "warning: Pond cannot evaluate tag %s = %s yet (%s); tags come from the rows\n",
                     std::string(kTagRules[t].name).c_str(), std::string(kTagRules[t].expr).c_str(),
                     matched.status().ToString().c_str());
      }
      totals.tags_by_pond = false;
    }
    for (MemberId m : holders) files.tags.Int(totals.member_offset + m).Text(kTagRules[t].name).EndRow();
    totals.tag_rows[t] += static_cast<int64_t>(holders.size());
  }

  totals.member_offset += members.size();
  totals.order_offset += orders.order_count();
  return Status::Ok();
}

}  // namespace

Status ExportDemo(const ExportOptions& options) {
  const int64_t started = NowNanos();
  auto zone = TimeZone::Load("Asia/Shanghai");
  if (!zone.ok()) return zone.status();
  auto end = ParseRfc3339(options.end);
  if (!end.ok()) return InvalidArgument("--end: " + end.status().message());
  std::filesystem::create_directories(options.dir);
  // A new data set makes the peers' cached databases stale.
  for (const char* stale : {"meta.json", "sqlite.db", "sqlite.loaded"}) std::filesystem::remove(options.dir + "/" + stale);
  std::filesystem::remove_all(options.dir + "/pg");

  DemoOptions demo;
  demo.members = options.members;
  demo.seed = options.seed;
  demo.zone = *zone;
  demo.end = *end;
  DemoGenerator generator(demo);

  Files files;
  RETURN_IF_ERROR(files.members.Open(options.dir + "/members.csv",
                                     "member_id,tier,lifecycle,gender,city,home_store,source,owner_staff,rfm,points,"
                                     "growth,registered_day,birthday_day,birth_year,birth_month,birth_day"));
  RETURN_IF_ERROR(files.orders.Open(options.dir + "/orders.csv", "order_pos,member_id,day,net_fen,units,weekend"));
  RETURN_IF_ERROR(files.categories.Open(options.dir + "/order_categories.csv",
                                        "order_pos,member_id,day,net_fen,category,ancestor"));
  RETURN_IF_ERROR(files.tags.Open(options.dir + "/member_tags.csv", "member_id,tag"));

  const TenantRecord record{"bench", "bench", "Asia/Shanghai", {}};
  auto state = std::make_unique<TenantState>(record, *zone);
  std::vector<Event> master;  // re-applied to every shard
  CategoryTable categories;
  std::vector<OrderFacts> facts;  // by the shard's order position
  Totals totals;
  int64_t shard_members = 0;

  std::vector<Event> batch;
  while (generator.Next(&batch, 10'000)) {
    for (Event& e : batch) {
      if (std::holds_alternative<MemberEvent>(e)) {
        if (shard_members == options.shard_members) {
          RETURN_IF_ERROR(WriteShard(*state, facts, categories, *end, files, totals));
          std::fprintf(stderr, "export: %" PRId64 " members, %" PRId64 " orders written (%.0f s)\n",
                       totals.standing, totals.order_offset, SecondsSince(started));
          state = std::make_unique<TenantState>(record, *zone);
          for (const Event& m : master) {
            if (auto r = state->Apply(m, *end); !r.ok()) return r.status();
          }
          facts.clear();
          shard_members = 0;
        }
        ++shard_members;
      } else if (const auto* c = std::get_if<CategoryInfo>(&e)) {
        categories.Add(*c);
        master.push_back(e);
      } else if (const auto* p = std::get_if<ProductInfo>(&e)) {
        categories.AddProduct(*p);
        master.push_back(e);
      } else if (!std::holds_alternative<OrderEvent>(e) && !std::holds_alternative<RefundEvent>(e)) {
        master.push_back(e);  // stores, staff
      }
      OrderFacts f;
      const auto* order = std::get_if<OrderEvent>(&e);
      if (order) {
        f.day = zone->DateOf(order->paid_at).days();
        for (const OrderItem& item : order->items) {
          f.units += item.qty;
          const std::string_view category = categories.CategoryOf(item);
          if (category.empty()) continue;
          f.direct |= 1u << categories.BitOf(category);
          f.all |= categories.WithAncestors(category);
        }
      }
      const int64_t orders_before = state->orders().order_count();
      auto applied = state->Apply(std::move(e), *end);
      if (!applied.ok()) return applied.status();
      if (order && state->orders().order_count() > orders_before) facts.push_back(f);
    }
    batch.clear();
    state->TakePending();  // no store: the rows are dropped
  }
  RETURN_IF_ERROR(WriteShard(*state, facts, categories, *end, files, totals));
  state.reset();
  RETURN_IF_ERROR(files.members.Close());
  RETURN_IF_ERROR(files.orders.Close());
  RETURN_IF_ERROR(files.categories.Close());
  RETURN_IF_ERROR(files.tags.Close());

  DataMeta meta;
  meta.demo_members = options.members;
  meta.members = totals.standing;
  meta.orders = totals.order_offset;
  meta.seed = static_cast<int64_t>(options.seed);
  meta.end = options.end;
  const LocalDate today = zone->DateOf(*end);
  meta.today = today.days();
  meta.year = today.year();
  meta.month = today.month();
  meta.day = today.day();
  for (const auto& [child, parent] : categories.parents()) {
    if (!parent.empty()) meta.category_parents.emplace_back(child, parent);
  }
  std::sort(meta.category_parents.begin(), meta.category_parents.end());
  RETURN_IF_ERROR(WriteMeta(options.dir + "/meta.json", meta));

  std::fprintf(stderr, "export: %" PRId64 " members, %" PRId64 " orders, %" PRId64 " category rows in %.0f s; tags by %s:",
               meta.members, meta.orders, files.categories.rows(), SecondsSince(started),
               totals.tags_by_pond ? "Pond's segment index (checked against the rows)" : "the rows (Pond could not)");
  for (size_t t = 0; t < kTags; ++t) {
    std::fprintf(stderr, " %s %" PRId64, std::string(kTagRules[t].name).c_str(), totals.tag_rows[t]);
  }
  std::fprintf(stderr, "\n");
  return Status::Ok();
}

}  // namespace pond::bench
