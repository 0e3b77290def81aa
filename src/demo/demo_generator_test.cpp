#include "demo/demo_generator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace pond {
namespace {

constexpr int64_t kDay = 86400;

Timestamp End() { return ParseRfc3339("2026-03-31T23:00:00+08:00").value(); }

DemoOptions Options(int64_t members, uint64_t seed) {
  DemoOptions o;
  o.members = members;
  o.seed = seed;
  o.end = End();
  o.zone = TimeZone::Fixed(8 * 3600);  // Asia/Shanghai has no DST since 1991
  return o;
}

std::vector<Event> Generate(DemoOptions options, size_t chunk) {
  DemoGenerator gen(std::move(options));
  std::vector<Event> all, batch;
  while (gen.Next(&batch, chunk)) {
    EXPECT_LE(batch.size(), chunk);
    all.insert(all.end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
    batch.clear();
  }
  return all;
}

// FNV-1a over every field of every event.
class Digest {
 public:
  void Add(std::string_view s) {
    Add(static_cast<uint64_t>(s.size()));
    for (unsigned char c : s) Byte(c);
  }
  void Add(uint64_t v) {
    for (int k = 0; k < 8; ++k) Byte(static_cast<unsigned char>(v >> (8 * k)));
  }
  void Add(int64_t v) { Add(static_cast<uint64_t>(v)); }
  void Add(double v) { Add(static_cast<int64_t>(v * 1e6)); }
  void Add(const MemberRef& m) {
    Add(static_cast<uint64_t>(m.identities.size()));
    for (const Identity& id : m.identities) {
      Add(static_cast<uint64_t>(id.kind));
      Add(id.value);
    }
    Add(m.member_id.value_or(-1));
  }
  template <typename T>
  void AddOpt(const std::optional<T>& v) {
    Add(uint64_t{v.has_value()});
    if (v) Add(*v);
  }
  void Add(const Event& e) {
    Add(static_cast<uint64_t>(e.index()));
    if (const auto* m = std::get_if<MemberEvent>(&e)) {
      Add(m->member);
      const MemberProfile& p = m->profile;
      AddOpt(p.name);
      Add(static_cast<int64_t>(p.gender ? static_cast<int>(*p.gender) : -1));
      Add(static_cast<int64_t>(p.birthday ? p.birthday->days() : -99999));
      AddOpt(p.city);
      AddOpt(p.home_store);
      AddOpt(p.source);
      AddOpt(p.owner_staff);
      Add(p.registered_at ? p.registered_at->micros() : -1);
    } else if (const auto* o = std::get_if<OrderEvent>(&e)) {
      Add(o->order_id);
      Add(o->member);
      Add(static_cast<uint64_t>(o->channel));
      Add(o->store);
      Add(o->staff);
      Add(o->payment);
      Add(o->paid_at.micros());
      Add(o->paid.fen());
      for (const OrderItem& it : o->items) {
        Add(it.sku);
        Add(it.category);
        Add(static_cast<int64_t>(it.qty));
        Add(it.paid.fen());
      }
    } else if (const auto* r = std::get_if<RefundEvent>(&e)) {
      Add(r->refund_id);
      Add(r->order_id);
      Add(r->amount.fen());
      Add(r->refunded_at.micros());
    } else if (const auto* s = std::get_if<StoreInfo>(&e)) {
      Add(s->id);
      Add(s->name);
      Add(s->city);
      AddOpt(s->lat);
      AddOpt(s->lng);
    } else if (const auto* st = std::get_if<StaffInfo>(&e)) {
      Add(st->id);
      Add(st->name);
      Add(st->store);
    } else if (const auto* p = std::get_if<ProductInfo>(&e)) {
      Add(p->sku);
      Add(p->name);
      Add(p->category);
      Add(p->price.fen());
    } else if (const auto* c = std::get_if<CategoryInfo>(&e)) {
      Add(c->id);
      Add(c->name);
      Add(c->parent);
    }
  }
  uint64_t value() const { return h_; }

 private:
  void Byte(unsigned char c) { h_ = (h_ ^ c) * 0x100000001b3ULL; }
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

uint64_t DigestOf(const std::vector<Event>& events) {
  Digest d;
  for (const Event& e : events) d.Add(e);
  return d.value();
}

// The 20,000-member stream most tests inspect, generated once.
const std::vector<Event>& Stream20k() {
  static const std::vector<Event> events = Generate(Options(20000, 7), 5000);
  return events;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
bool AllBase64Url(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}
const std::string* FindIdentity(const MemberRef& m, IdentityKind kind) {
  for (const Identity& id : m.identities) {
    if (id.kind == kind) return &id.value;
  }
  return nullptr;
}

TEST(DemoGenerator, SameSeedGivesTheSameStreamWhateverTheChunking) {
  const uint64_t whole = DigestOf(Generate(Options(2000, 42), std::numeric_limits<size_t>::max()));
  EXPECT_EQ(DigestOf(Generate(Options(2000, 42), 1)), whole);
  EXPECT_EQ(DigestOf(Generate(Options(2000, 42), 7)), whole);
  EXPECT_EQ(DigestOf(Generate(Options(2000, 42), 1000)), whole);
}

TEST(DemoGenerator, DifferentSeedGivesADifferentStream) {
  const std::vector<Event> a = Generate(Options(2000, 1), 1000);
  const std::vector<Event> b = Generate(Options(2000, 2), 1000);
  EXPECT_NE(DigestOf(a), DigestOf(b));
  // Not only somewhere: the first member differs in its identities.
  auto first_member = [](const std::vector<Event>& v) {
    for (const Event& e : v) {
      if (const auto* m = std::get_if<MemberEvent>(&e)) return m->member.identities.front().value;
    }
    return std::string();
  };
  EXPECT_NE(first_member(a), first_member(b));
}

TEST(DemoGenerator, AMemberIsTheSameWhateverTheMemberCount) {
  // Member i depends only on (seed, i): a longer run starts with a shorter one.
  const std::vector<Event> small = Generate(Options(100, 3), 64);
  const std::vector<Event> large = Generate(Options(300, 3), 64);
  ASSERT_LT(small.size(), large.size());
  EXPECT_EQ(DigestOf(small), DigestOf(std::vector<Event>(large.begin(), large.begin() + small.size())));
}

TEST(DemoGenerator, NextReportsTheEndAndCounts) {
  DemoGenerator gen(Options(50, 1));
  std::vector<Event> out;
  EXPECT_TRUE(gen.Next(&out, 0));
  EXPECT_TRUE(out.empty());
  out.push_back(CategoryInfo{"x", "x", ""});  // Next appends, never clears
  ASSERT_TRUE(gen.Next(&out, 3));
  EXPECT_EQ(out.size(), 4u);
  EXPECT_EQ(std::get<CategoryInfo>(out[0]).id, "x");
  while (gen.Next(&out, 100)) {
  }
  EXPECT_FALSE(gen.Next(&out, 100));
  EXPECT_FALSE(gen.Next(&out, 0));
  int64_t members = 0, orders = 0, refunds = 0;
  for (const Event& e : out) {
    members += std::holds_alternative<MemberEvent>(e);
    orders += std::holds_alternative<OrderEvent>(e);
    refunds += std::holds_alternative<RefundEvent>(e);
  }
  EXPECT_EQ(gen.members_emitted(), 50);
  EXPECT_EQ(members, 50);
  EXPECT_EQ(gen.orders_emitted(), orders);
  EXPECT_EQ(gen.refunds_emitted(), refunds);
  EXPECT_GT(orders, 50);

  // No members: master data only.
  const std::vector<Event> master = Generate(Options(0, 1), 100);
  EXPECT_GT(master.size(), 400u);
  for (const Event& e : master) EXPECT_GE(e.index(), 3u) << EventTypeName(e);
}

TEST(DemoGenerator, MasterDataIsASmallRealisticCatalogue) {
  const std::vector<Event> master = Generate(Options(0, 9), 1000);
  std::map<std::string, std::string> category_parent;
  std::map<std::string, std::string> store_city;
  std::map<std::string, std::string> staff_store;
  std::set<std::string> skus, cities;
  std::map<std::string, int> staff_per_store;
  for (const Event& e : master) {
    if (const auto* c = std::get_if<CategoryInfo>(&e)) {
      EXPECT_TRUE(store_city.empty() && skus.empty()) << "categories come first";
      if (!c->parent.empty()) {
        EXPECT_TRUE(category_parent.count(c->parent)) << c->id << " before its parent";
      }
      EXPECT_TRUE(category_parent.emplace(c->id, c->parent).second) << c->id;
      EXPECT_FALSE(c->name.empty());
    } else if (const auto* s = std::get_if<StoreInfo>(&e)) {
      EXPECT_TRUE(store_city.emplace(s->id, s->city).second) << s->id;
      cities.insert(s->city);
      ASSERT_TRUE(s->lat && s->lng);
      EXPECT_TRUE(*s->lat > 18 && *s->lat < 54 && *s->lng > 73 && *s->lng < 135) << s->id;  // within China
      EXPECT_EQ(s->name.rfind(s->city, 0), 0u) << s->name << " starts with its city";
    } else if (const auto* st = std::get_if<StaffInfo>(&e)) {
      EXPECT_TRUE(store_city.count(st->store)) << st->id;
      EXPECT_TRUE(staff_store.emplace(st->id, st->store).second) << st->id;
      ++staff_per_store[st->store];
    } else if (const auto* p = std::get_if<ProductInfo>(&e)) {
      EXPECT_TRUE(skus.insert(p->sku).second) << p->sku;
      EXPECT_TRUE(category_parent.count(p->category)) << p->sku;
      EXPECT_GE(p->price.fen(), 990);
      EXPECT_LE(p->price.fen(), 19900);
      EXPECT_FALSE(p->name.empty());
    } else {
      ADD_FAILURE() << "master data only: " << EventTypeName(e);
    }
  }
  for (const char* id : {"beauty", "snacks", "ip_goods", "toys", "home", "stationery", "digital", "bags", "food"}) {
    EXPECT_TRUE(category_parent.count(id)) << id;
  }
  EXPECT_EQ(category_parent["snacks"], "food");
  EXPECT_EQ(store_city.size(), 40u);
  EXPECT_EQ(store_city.begin()->first, "S001");
  EXPECT_EQ(cities.size(), 12u);
  EXPECT_TRUE(cities.count("深圳") && cities.count("西安"));
  EXPECT_EQ(staff_store.size(), 160u);
  EXPECT_EQ(staff_store.begin()->first, "E0001");
  for (const auto& [store, n] : staff_per_store) EXPECT_EQ(n, 4) << store;
  EXPECT_EQ(skus.size(), 300u);
  EXPECT_EQ(*skus.begin(), "SKU-00001");
}

TEST(DemoGenerator, StreamIsAlwaysValidToApplyInOrder) {
  const std::vector<Event>& events = Stream20k();
  const Timestamp end = End();
  const TimeZone zone = TimeZone::Fixed(8 * 3600);
  std::unordered_map<std::string, std::string> product_category, staff_store, store_city;
  std::unordered_set<std::string> identities, order_ids, refund_ids;
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> member_orders;  // id → paid, paid_at
  const MemberEvent* member = nullptr;
  std::set<std::pair<int, std::string>> member_identities;
  bool seen_member = false, seen_refund_of_member = false;
  int64_t last_paid_at = 0;
  int64_t failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    if (!ok && ++failures <= 20) ADD_FAILURE() << what;
  };
  for (const Event& e : events) {
    if (const auto* st = std::get_if<StoreInfo>(&e)) {
      check(!seen_member, "master data after a member");
      store_city[st->id] = st->city;
    } else if (const auto* sf = std::get_if<StaffInfo>(&e)) {
      check(!seen_member, "master data after a member");
      staff_store[sf->id] = sf->store;
    } else if (const auto* product = std::get_if<ProductInfo>(&e)) {
      check(!seen_member, "master data after a member");
      product_category[product->sku] = product->category;
    } else if (std::holds_alternative<CategoryInfo>(e)) {
      check(!seen_member, "master data after a member");
    } else if (const auto* m = std::get_if<MemberEvent>(&e)) {
      seen_member = true;
      member = m;
      member_orders.clear();
      member_identities.clear();
      seen_refund_of_member = false;
      last_paid_at = 0;
      const MemberProfile& p = m->profile;
      const std::string* phone = FindIdentity(m->member, IdentityKind::kPhone);
      check(phone != nullptr, "member without a phone");
      if (phone != nullptr) {
        check(phone->size() == 11 && AllDigits(*phone) && (*phone)[0] == '1' &&
                  std::string_view("3589").find((*phone)[1]) != std::string_view::npos,
              "bad phone " + *phone);
      }
      for (const Identity& id : m->member.identities) {
        check(identities.insert(std::string(IdentityKindName(id.kind)) + ":" + id.value).second,
              "identity shared by two members: " + id.value);
        member_identities.emplace(static_cast<int>(id.kind), id.value);
        switch (id.kind) {
          case IdentityKind::kUnionid:
            check(id.value.size() == 28 && id.value.rfind("o6_", 0) == 0 && AllBase64Url(id.value.substr(3)),
                  "bad unionid " + id.value);
            break;
          case IdentityKind::kExternalUserid:
            check(id.value.size() == 32 && id.value.rfind("wm", 0) == 0 && AllBase64Url(id.value),
                  "bad external_userid " + id.value);
            break;
          case IdentityKind::kPosId:
            check(AllDigits(id.value), "bad pos_id " + id.value);
            break;
          case IdentityKind::kPhone:
            break;
        }
      }
      check(p.home_store && store_city.count(*p.home_store), "member without a known home store");
      if (p.home_store) check(p.city == store_city[*p.home_store], "member city is not its home store's");
      if (p.owner_staff) check(staff_store[*p.owner_staff] == *p.home_store, "owner staff of another store");
      check(p.name && !p.name->empty() && p.gender && p.source && p.registered_at, "incomplete profile");
      if (p.registered_at) {
        check(*p.registered_at <= end && *p.registered_at >= end.PlusSeconds(-731 * kDay),
              "registered_at out of range");
      }
    } else if (const auto* o = std::get_if<OrderEvent>(&e)) {
      check(member != nullptr, "order before any member");
      check(!seen_refund_of_member, "order after its member's refunds");
      check(order_ids.insert(o->order_id).second, "duplicate order_id " + o->order_id);
      check(o->member.identities.size() == 1 && !o->member.member_id, "order names one identity");
      for (const Identity& id : o->member.identities) {
        check(member_identities.count({static_cast<int>(id.kind), id.value}) > 0,
              "order " + o->order_id + " names another member");
      }
      check(o->paid_at <= end && o->paid_at >= end.PlusSeconds(-366 * kDay), "paid_at outside the year");
      if (member != nullptr) check(o->paid_at >= *member->profile.registered_at, "order before registration");
      check(o->paid_at.seconds() >= last_paid_at, "orders out of time order");
      last_paid_at = o->paid_at.seconds();
      check(!o->items.empty() && o->items.size() <= 6, "1–6 lines");
      int64_t sum = 0;
      for (const OrderItem& it : o->items) {
        sum += it.paid.fen();
        check(it.qty > 0 && it.paid.fen() > 0, "empty line");
        check(product_category.count(it.sku) && product_category[it.sku] == it.category, "unknown sku " + it.sku);
      }
      check(sum == o->paid.fen(), "items do not sum to paid in " + o->order_id);
      if (!o->store.empty()) check(store_city.count(o->store) > 0, "unknown store " + o->store);
      if (!o->staff.empty()) check(staff_store[o->staff] == o->store, "staff of another store");
      check(!o->payment.empty(), "no payment");
      if (o->channel == Channel::kStore) {
        check(o->order_id.rfind("POS-" + o->store + "-", 0) == 0, "store order id " + o->order_id);
        const int sod = zone.ToLocal(o->paid_at).seconds_of_day;
        check(sod >= 10 * 3600 && sod < 22 * 3600, "store order outside opening hours");
      }
      member_orders[o->order_id] = {o->paid.fen(), o->paid_at.micros()};
    } else if (const auto* r = std::get_if<RefundEvent>(&e)) {
      seen_refund_of_member = true;
      check(refund_ids.insert(r->refund_id).second, "duplicate refund_id " + r->refund_id);
      auto it = member_orders.find(r->order_id);
      check(it != member_orders.end(), "refund before its order or of another member's order");
      if (it != member_orders.end()) {
        check(r->amount.fen() > 0 && r->amount.fen() <= it->second.first, "refund above paid");
        check(r->refunded_at.micros() >= it->second.second, "refund before payment");
        check(r->refunded_at.micros() <= it->second.second + 14 * kDay * 1'000'000, "refund after 14 days");
      }
      check(r->refunded_at <= end, "refund after end");
    }
  }
  EXPECT_EQ(failures, 0);
  EXPECT_GE(identities.size(), 20000u);
}

// Aggregates over the 20,000-member stream.
struct Stats {
  int64_t members = 0, buyers = 0, orders = 0, refunds = 0, lines = 0;
  int64_t female = 0, male = 0, unknown_gender = 0, birthdays = 0, age_20_35 = 0, feb29 = 0;
  int64_t min_age = 1000, max_age = -1;
  int64_t unionid = 0, ext = 0, pos = 0, owner = 0;
  int64_t store_orders = 0, miniprogram_orders = 0, wechat_pay = 0, weekend = 0, daytime = 0;
  int64_t ref_phone = 0, ref_pos = 0, ref_unionid = 0, ref_ext = 0;
  int64_t toy_orders = 0, toy_weekend = 0;
  int64_t max_orders = 0;
  int64_t beauty_top = 0, beauty_top_spend = 0, other_spend = 0;
  int64_t won_back = 0, lapsed = 0;
  std::map<std::string, int64_t> sources;
};

Stats Compute(const std::vector<Event>& events) {
  Stats s;
  const TimeZone zone = TimeZone::Fixed(8 * 3600);
  const Timestamp end = End();
  const int end_year = zone.DateOf(end).year();
  std::map<std::string, int64_t> spend_by_category;
  std::vector<int64_t> times;
  int64_t spend = 0;
  auto close_member = [&]() {
    if (times.empty()) return;
    ++s.buyers;
    s.max_orders = std::max<int64_t>(s.max_orders, static_cast<int64_t>(times.size()));
    auto top = std::max_element(spend_by_category.begin(), spend_by_category.end(),
                                [](const auto& a, const auto& b) { return a.second < b.second; });
    if (top->first == "beauty") {
      ++s.beauty_top;
      s.beauty_top_spend += spend;
    } else {
      s.other_spend += spend;
    }
    const int64_t days_since_last = (end.seconds() - times.back()) / kDay;
    if (days_since_last <= 90 && times.size() >= 2 && times.back() - times[times.size() - 2] > 180 * kDay) {
      ++s.won_back;
    }
    if (days_since_last > 100 && times.size() >= 2) ++s.lapsed;
  };
  for (const Event& e : events) {
    if (const auto* m = std::get_if<MemberEvent>(&e)) {
      close_member();
      times.clear();
      spend_by_category.clear();
      spend = 0;
      ++s.members;
      const MemberProfile& p = m->profile;
      s.female += p.gender == Gender::kFemale;
      s.male += p.gender == Gender::kMale;
      s.unknown_gender += p.gender == Gender::kUnknown;
      if (p.birthday) {
        ++s.birthdays;
        const int64_t age = end_year - p.birthday->year();
        s.min_age = std::min(s.min_age, age);
        s.max_age = std::max(s.max_age, age);
        s.age_20_35 += age >= 20 && age <= 35;
        s.feb29 += p.birthday->month() == 2 && p.birthday->day() == 29;
      }
      s.unionid += FindIdentity(m->member, IdentityKind::kUnionid) != nullptr;
      s.ext += FindIdentity(m->member, IdentityKind::kExternalUserid) != nullptr;
      s.pos += FindIdentity(m->member, IdentityKind::kPosId) != nullptr;
      s.owner += p.owner_staff.has_value();
      ++s.sources[*p.source];
    } else if (const auto* o = std::get_if<OrderEvent>(&e)) {
      ++s.orders;
      times.push_back(o->paid_at.seconds());
      spend += o->paid.fen();
      s.lines += static_cast<int64_t>(o->items.size());
      int64_t toy_lines = 0;
      for (const OrderItem& it : o->items) {
        spend_by_category[it.category] += it.paid.fen();
        toy_lines += it.category == "toys";
      }
      const LocalDateTime local = zone.ToLocal(o->paid_at);
      const bool weekend = local.date.weekday() >= 6;
      s.weekend += weekend;
      s.daytime += local.seconds_of_day >= 10 * 3600 && local.seconds_of_day < 22 * 3600;
      if (toy_lines * 2 > static_cast<int64_t>(o->items.size())) {
        ++s.toy_orders;
        s.toy_weekend += weekend;
      }
      s.store_orders += o->channel == Channel::kStore;
      s.miniprogram_orders += o->channel == Channel::kMiniprogram;
      s.wechat_pay += o->payment == "wechat_pay";
      switch (o->member.identities.front().kind) {
        case IdentityKind::kPhone:
          ++s.ref_phone;
          break;
        case IdentityKind::kPosId:
          ++s.ref_pos;
          break;
        case IdentityKind::kUnionid:
          ++s.ref_unionid;
          break;
        case IdentityKind::kExternalUserid:
          ++s.ref_ext;
          break;
      }
    } else if (std::holds_alternative<RefundEvent>(e)) {
      ++s.refunds;
    }
  }
  close_member();
  return s;
}

double Share(int64_t part, int64_t whole) { return static_cast<double>(part) / static_cast<double>(whole); }

TEST(DemoGenerator, DistributionsAreAsDocumented) {
  const Stats s = Compute(Stream20k());
  ASSERT_EQ(s.members, 20000);
  const double m = static_cast<double>(s.members);
  // Identities and profile.
  EXPECT_NEAR(s.unionid / m, 0.61, 0.05);
  EXPECT_NEAR(s.ext / m, 0.35, 0.04);
  EXPECT_NEAR(s.pos / m, 0.40, 0.04);
  EXPECT_NEAR(s.owner / m, 0.50, 0.04);
  EXPECT_NEAR(s.female / m, 0.65, 0.03);
  EXPECT_NEAR(s.male / m, 0.30, 0.03);
  EXPECT_NEAR(s.unknown_gender / m, 0.05, 0.02);
  EXPECT_NEAR(s.birthdays / m, 0.85, 0.03);
  EXPECT_GE(s.min_age, 16);
  EXPECT_LE(s.max_age, 60);
  EXPECT_GT(Share(s.age_20_35, s.birthdays), 0.55);
  EXPECT_GT(s.feb29, 0) << "leap-year birthdays include Feb 29";
  EXPECT_NEAR(Share(s.sources.at("store_qr"), s.members), 0.28, 0.03);
  EXPECT_NEAR(Share(s.sources.at("staff_contact_code"), s.members), 0.18, 0.03);
  EXPECT_EQ(s.sources.size(), 10u);

  // Lifecycle and volume.
  EXPECT_NEAR(1.0 - s.buyers / m, 0.15, 0.05) << "intro share";
  EXPECT_GE(s.orders / m, 3.0);
  EXPECT_LE(s.orders / m, 8.0);
  EXPECT_GE(s.max_orders, 30) << "a long tail of frequent buyers";
  EXPECT_LE(s.max_orders, 60);
  EXPECT_NEAR(Share(s.won_back, s.members), 0.07, 0.03);
  EXPECT_GT(Share(s.lapsed, s.members), 0.08) << "churners stop buying";

  // Preferences: beauty lovers ~27% and the biggest spenders.
  const double beauty = Share(s.beauty_top, s.buyers);
  EXPECT_GE(beauty, 0.20);
  EXPECT_LE(beauty, 0.35);
  const double beauty_avg = Share(s.beauty_top_spend, s.beauty_top);
  const double other_avg = Share(s.other_spend, s.buyers - s.beauty_top);
  EXPECT_GT(beauty_avg, 1.3 * other_avg);
  EXPECT_GT(Share(s.toy_weekend, s.toy_orders), 0.55) << "weekend parents buy toys on Sat/Sun";

  // Orders.
  EXPECT_NEAR(Share(s.store_orders, s.orders), 0.60, 0.06);
  EXPECT_NEAR(Share(s.miniprogram_orders, s.orders), 0.25, 0.05);
  EXPECT_NEAR(Share(s.wechat_pay, s.orders), 0.70, 0.06);
  EXPECT_NEAR(Share(s.refunds, s.orders), 0.03, 0.012);
  EXPECT_GT(Share(s.weekend, s.orders), 0.33) << "weekends busier than weekdays";
  EXPECT_LT(Share(s.weekend, s.orders), 0.50);
  EXPECT_GT(Share(s.daytime, s.orders), 0.85) << "mostly 10:00–22:00";
  const double lines = Share(s.lines, s.orders);
  EXPECT_GT(lines, 1.8);
  EXPECT_LT(lines, 3.5);
  EXPECT_GT(Share(s.ref_phone, s.orders), 0.6);
  EXPECT_GT(Share(s.ref_pos, s.orders), 0.03);
  EXPECT_GT(Share(s.ref_unionid, s.orders), 0.03);
  EXPECT_GT(s.ref_ext, 0);
}

TEST(DemoGenerator, WorksInARealZone) {
  auto zone = TimeZone::Load("Asia/Shanghai");
  if (!zone.ok()) GTEST_SKIP() << "no zone database";
  DemoOptions o = Options(500, 5);
  o.zone = *zone;
  const std::vector<Event> a = Generate(o, 100);
  o.zone = TimeZone::Fixed(8 * 3600);
  EXPECT_EQ(DigestOf(a), DigestOf(Generate(o, 100))) << "Shanghai is UTC+8 throughout the data's years";
}

}  // namespace
}  // namespace pond
