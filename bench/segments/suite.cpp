// The question suite of bench/segments: realistic segment questions of 2 to
// 10 conditions, each as Pond's expression and as one SQL text that SQLite,
// PostgreSQL and DuckDB all run (schemas in README.md).
//
// The SQL keeps Pond's semantics (segments/segment_index.hpp) exactly:
//   - NULL stands for "no value", so a comparison never matches a member
//     without one, as in Pond; `not X` is written NOT EXISTS (never NOT over
//     a possibly NULL comparison), so it keeps members without a value.
//   - Days are LocalDate day numbers: "within N days" of today T is
//     day BETWEEN T - N + 1 AND T; only orders with net_fen > 0 count.
//   - spend in yuan compares the net sum in fen against yuan * 100.
//   - age between A and B is a range of birthday_day (exact for whole
//     years, see BornBetween), so the peers can use an index on it.
//   - last_order_days <= K over the 365-day window is exact because no
//     order is paid after today (the export checks it).
// Placeholders: {T} today, {M} today's month, {born:A-B} the birthday range
// of ages A..B.
#include "segments_bench.hpp"

#include "core/time.hpp"

namespace pond::bench {
namespace {

// The latest birthday of someone who is `age` or older today (a Feb 29
// today in a year that has none falls back to Feb 28).
LocalDate LatestBirthdayForAge(const DataMeta& meta, int age) {
  const int year = meta.year - age;
  if (IsValidYmd(year, meta.month, meta.day)) return LocalDate::FromYmd(year, meta.month, meta.day);
  return LocalDate::FromYmd(year, meta.month, meta.day - 1);
}

// birthday_day bounds for ages low..high (both included): age >= low means
// born on or before LatestBirthdayForAge(low); age <= high means born after
// LatestBirthdayForAge(high + 1).
std::string BornBetween(const DataMeta& meta, int low, int high) {
  return std::to_string(LatestBirthdayForAge(meta, high + 1).days() + 1) + " AND " +
         std::to_string(LatestBirthdayForAge(meta, low).days());
}

std::string Substitute(std::string sql, const DataMeta& meta) {
  for (size_t at = sql.find('{'); at != std::string::npos; at = sql.find('{', at)) {
    const size_t close = sql.find('}', at);
    const std::string key = sql.substr(at + 1, close - at - 1);
    std::string value;
    if (key == "T") {
      value = std::to_string(meta.today);
    } else if (key == "M") {
      value = std::to_string(meta.month);
    } else if (key.starts_with("born:")) {
      const size_t dash = key.find('-');
      value = BornBetween(meta, std::stoi(key.substr(5, dash - 5)), std::stoi(key.substr(dash + 1)));
    }
    sql.replace(at, close - at + 1, value);
    at += value.size();
  }
  return sql;
}

// Subqueries the questions share.
std::string Tag(std::string_view name) {
  return "EXISTS (SELECT 1 FROM member_tags g WHERE g.tag = '" + std::string(name) +
         "' AND g.member_id = m.member_id)";
}
std::string Bought(std::string_view category, int days) {
  return "EXISTS (SELECT 1 FROM order_categories c WHERE c.member_id = m.member_id AND c.category = '" +
         std::string(category) + "' AND c.net_fen > 0 AND c.day BETWEEN {T} - " + std::to_string(days - 1) +
         " AND {T})";
}
// An aggregate ("count(*)", "sum(o.net_fen)") of the member's orders within `days`.
std::string Window(std::string_view aggregate, int days) {
  return "(SELECT " + std::string(aggregate) +
         " FROM orders o WHERE o.member_id = m.member_id AND o.net_fen > 0 AND o.day BETWEEN {T} - " +
         std::to_string(days - 1) + " AND {T})";
}
const std::string kLastOrderDay =
    "(SELECT max(o.day) FROM orders o WHERE o.member_id = m.member_id AND o.net_fen > 0)";
const std::string kCount = "SELECT count(*) FROM members m WHERE ";

}  // namespace

std::vector<Question> BuildSuite(const DataMeta& meta) {
  const std::string month = std::to_string(meta.month);
  std::vector<Question> suite = {
      {"winback", 2, R"(orders_365d >= 4 and last_order_days <= 120)",
       "SELECT count(*) FROM (SELECT o.member_id FROM orders o WHERE o.net_fen > 0 AND o.day BETWEEN {T} - 364 "
       "AND {T} GROUP BY o.member_id HAVING count(*) >= 4 AND max(o.day) >= {T} - 120) w"},
      {"gold beauty S001 birthday month", 4,
       R"(tier = "gold" and tag("爱美妆") and home_store = "S001" and birthday_month = )" + month,
       kCount + "m.tier = 'gold' AND m.home_store = 'S001' AND m.birth_month = {M} AND " + Tag("爱美妆")},
      {"snacks 90 not 30", 3, R"(tier in ("silver", "gold") and bought("snacks", 90) and not bought("snacks", 30))",
       kCount + "m.tier IN ('silver', 'gold') AND " + Bought("snacks", 90) + " AND NOT " + Bought("snacks", 30)},
      {"decline high-frequency", 2, R"(lifecycle = "decline" and orders_365d >= 4)",
       kCount + "m.lifecycle = 'decline' AND " + Window("count(*)", 365) + " >= 4"},
      {"young women beauty 深圳", 4,
       R"(city = "深圳" and gender = "female" and age between 20 and 30 and tag("爱美妆"))",
       kCount + "m.city = '深圳' AND m.gender = 'female' AND m.birthday_day BETWEEN {born:20-30} AND " +
           Tag("爱美妆")},
      {"weekend parents spending", 3,
       R"(tag("周末亲子") and spend_90d >= 200 and lifecycle in ("growth", "mature"))",
       kCount + "m.lifecycle IN ('growth', 'mature') AND " + Tag("周末亲子") + " AND " +
           Window("sum(o.net_fen)", 90) + " >= 20000"},
      {"points reminder", 3, R"(points >= 1000 and last_order_days > 60 and tier != "standard")",
       kCount + "m.points >= 1000 AND m.tier <> 'standard' AND " + kLastOrderDay + " < {T} - 60"},
      {"new not converted", 2, R"(registered_days <= 90 and orders_365d = 0)",
       kCount + "m.registered_day >= {T} - 90 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.member_id = "
                "m.member_id AND o.net_fen > 0 AND o.day BETWEEN {T} - 364 AND {T})"},
      {"8 conditions", 8,
       R"(tier in ("silver", "gold") and lifecycle in ("mature", "growth") and gender = "female" and )"
       R"(age between 20 and 40 and tag("爱美妆") and spend_365d >= 500 and last_order_days <= 60 and )"
       R"(not tag("囤货达人"))",
       kCount + "m.tier IN ('silver', 'gold') AND m.lifecycle IN ('mature', 'growth') AND m.gender = 'female' "
                "AND m.birthday_day BETWEEN {born:20-40} AND " +
           Tag("爱美妆") + " AND NOT " + Tag("囤货达人") + " AND " + Window("sum(o.net_fen)", 365) +
           " >= 50000 AND " + kLastOrderDay + " >= {T} - 60"},
      {"10 conditions", 10,
       R"(source = "store_qr" and city in ("深圳", "广州", "上海") and tier = "gold" and )"
       R"(points between 500 and 5000 and growth >= 6000 and registered_days >= 180 and orders_90d >= 2 and )"
       R"(spend_90d >= 300 and bought("beauty", 90) and not bought("snacks", 90))",
       kCount + "m.source = 'store_qr' AND m.city IN ('深圳', '广州', '上海') AND m.tier = 'gold' AND "
                "m.points BETWEEN 500 AND 5000 AND m.growth >= 6000 AND m.registered_day <= {T} - 180 AND " +
           Window("count(*)", 90) + " >= 2 AND " + Window("sum(o.net_fen)", 90) + " >= 30000 AND " +
           Bought("beauty", 90) + " AND NOT " + Bought("snacks", 90)},
      {"IP fans blind boxes", 2, R"(tag("IP粉丝") and bought("blind_box", 30))",
       kCount + Tag("IP粉丝") + " AND " + Bought("blind_box", 30)},
      {"RFM keep/retain S001-S003", 2,
       R"(rfm in ("important_keep", "important_retain") and home_store in ("S001", "S002", "S003"))",
       kCount + "m.rfm IN ('important_keep', 'important_retain') AND m.home_store IN ('S001', 'S002', 'S003')"},
      {"snack or bulk, staff E0001-4", 3,
       R"((tag("零食吃货") or tag("囤货达人")) and owner_staff in ("E0001", "E0002", "E0003", "E0004"))",
       kCount + "m.owner_staff IN ('E0001', 'E0002', 'E0003', 'E0004') AND EXISTS (SELECT 1 FROM member_tags g "
                "WHERE g.tag IN ('零食吃货', '囤货达人') AND g.member_id = m.member_id)"},
      {"深圳 gold (bitmaps only)", 2, R"(city = "深圳" and tier = "gold")",
       kCount + "m.city = '深圳' AND m.tier = 'gold'"},
      {"weekend bulk 90d", 2, R"(weekend_orders_90d >= 2 and max_units_90d >= 4)",
       "SELECT count(*) FROM (SELECT o.member_id FROM orders o WHERE o.net_fen > 0 AND o.day BETWEEN {T} - 89 "
       "AND {T} GROUP BY o.member_id HAVING sum(o.weekend) >= 2 AND max(o.units) >= 4) w"},
  };
  for (Question& q : suite) q.sql = Substitute(q.sql, meta);
  for (size_t i = 0; i < suite.size(); ++i) suite[i].number = static_cast<int>(i + 1);
  return suite;
}

}  // namespace pond::bench
