#include "segments/segment_index.hpp"

#include <roaring/roaring.hh>

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/chunked_array.hpp"
#include "core/random.hpp"
#include "lifecycle/lifecycle.hpp"

namespace pond::segments {
namespace {

constexpr int32_t kNoDay = std::numeric_limits<int32_t>::min();
constexpr int kTextFields = 8;  // kTier .. kRfm

// Text fields come first in Field, so their value is their slot.
int TextSlot(Field f) { return static_cast<int>(f); }

// Values of one text attribute: a dictionary, each member's code (0 = none)
// and one bitmap per code.
// Lets the dictionaries be searched with a string_view, without building a string.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

struct TextColumn {
  std::unordered_map<std::string, uint32_t, TextHash, std::equal_to<>> codes;  // value -> code (from 1)
  std::vector<std::string> values{std::string()};   // by code; [0] is none
  std::vector<Roaring> members{Roaring()};          // by code; [0] unused
  ChunkedArray<uint32_t> code_of;                   // by member

  uint32_t CodeFor(std::string_view value) {
    if (auto it = codes.find(value); it != codes.end()) return it->second;
    const auto code = static_cast<uint32_t>(members.size());
    codes.emplace(std::string(value), code);
    members.emplace_back();
    values.emplace_back(value);
    return code;
  }
  std::optional<uint32_t> Find(std::string_view value) const {
    auto it = codes.find(value);
    return it == codes.end() ? std::nullopt : std::optional<uint32_t>(it->second);
  }
};

// One order with net, day, units and categories. A member's purchases are
// linked, so the history is one array with no allocation per member; new
// ones are appended, and Compact lays each member's side by side in member
// order, so that a scan over ascending members reads the array in order.
struct Purchase {
  int64_t net_fen = 0;
  int32_t day = 0;
  int32_t previous_of_member = -1;
  uint32_t categories_begin = 0;  // into Impl::purchase_categories
  uint16_t categories_count = 0;
  uint16_t units = 0;  // saturates: max_units_Nd compares against far smaller numbers
};
static_assert(sizeof(Purchase) == 24);
constexpr int32_t kNoPurchase = -1;

int32_t Narrow(int64_t v) {
  return static_cast<int32_t>(std::clamp<int64_t>(v, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
}

bool OnWeekend(int32_t day) { return LocalDate::FromDays(day).weekday() >= 6; }

// The windows whose orders and spend every member keeps ready, as of the
// index's day (StartDay): the ones operators ask for most. Other windows,
// and any question on another day, walk the purchases instead.
constexpr std::array<int32_t, 4> kKeptWindows = {7, 30, 90, 365};

int KeptWindowSlot(int32_t days) {
  for (size_t w = 0; w < kKeptWindows.size(); ++w) {
    if (kKeptWindows[w] == days) return static_cast<int>(w);
  }
  return -1;
}

// A member's orders and net spend within each kept window. Narrow, to keep
// a member's bytes down: a total that would not fit stays at its kFull
// mark, and questions about it walk the purchases.
struct WindowTotals {
  static constexpr int32_t kFullSpend = std::numeric_limits<int32_t>::max();
  static constexpr uint16_t kFullOrders = std::numeric_limits<uint16_t>::max();
  std::array<int32_t, kKeptWindows.size()> spend_fen{};
  std::array<uint16_t, kKeptWindows.size()> orders{};

  // Adds `count` orders of `fen` in all to window w (negative: takes them out).
  void Add(size_t w, int64_t count, int64_t fen) {
    if (orders[w] != kFullOrders) {
      const int64_t n = int64_t{orders[w]} + count;
      orders[w] = n < 0 || n >= kFullOrders ? kFullOrders : static_cast<uint16_t>(n);
    }
    if (spend_fen[w] != kFullSpend) {
      const int64_t s = int64_t{spend_fen[w]} + fen;
      spend_fen[w] = s < 0 || s >= kFullSpend ? kFullSpend : static_cast<int32_t>(s);
    }
  }

  // Takes in a merged member's totals.
  void Absorb(const WindowTotals& other) {
    for (size_t w = 0; w < kKeptWindows.size(); ++w) {
      if (other.orders[w] == kFullOrders) orders[w] = kFullOrders;
      if (other.spend_fen[w] == kFullSpend) spend_fen[w] = kFullSpend;
      Add(w, other.orders[w], other.spend_fen[w]);
    }
  }
};
static_assert(sizeof(WindowTotals) == 24);

// Bitmaps by an integer key (a day, a bin of days): hashed, because the
// writer looks one up for every purchase, and walked key by key over a
// range by the readers.
struct KeyedBitmaps {
  std::unordered_map<int32_t, Roaring> by_key;
  int32_t min_key = std::numeric_limits<int32_t>::max();
  int32_t max_key = std::numeric_limits<int32_t>::min();

  Roaring& At(int32_t key) {
    min_key = std::min(min_key, key);
    max_key = std::max(max_key, key);
    return by_key[key];
  }
  Roaring* Find(int32_t key) {
    auto it = by_key.find(key);
    return it == by_key.end() ? nullptr : &it->second;
  }
  // f(key, bitmap) for each key in [lo, hi] that has one, in key order.
  template <typename F>
  void ForEachIn(int64_t lo, int64_t hi, F&& f) const {
    for (int64_t k = std::max<int64_t>(lo, min_key); k <= std::min<int64_t>(hi, max_key); ++k) {
      if (auto it = by_key.find(static_cast<int32_t>(k)); it != by_key.end()) f(it->first, it->second);
    }
  }
  size_t Bytes() const {
    size_t bytes = 0;
    for (const auto& [key, members] : by_key) bytes += members.getSizeInBytes(false) + 48;  // + the hash node
    return bytes;
  }
};

// Members by the 32-day bin of a day column (last purchase, birthday,
// registration): a range of days is then the union of the bins inside it
// plus the members of the two edge bins whose day falls inside, so
// last_order_days, registered_days and age need no visit of every member.
struct DayBins {
  static int32_t BinOf(int32_t day) { return day >> 5; }  // floor: birthdays before 1970 are negative
  KeyedBitmaps bins;

  void Move(uint32_t m, int32_t from, int32_t to) {
    if (from == to || (from != kNoDay && to != kNoDay && BinOf(from) == BinOf(to))) return;
    if (from != kNoDay) bins.At(BinOf(from)).remove(m);
    if (to != kNoDay) bins.At(BinOf(to)).add(m);
  }
};

int AgeOn(int32_t birthday, LocalDate today) {
  const LocalDate b = LocalDate::FromDays(birthday);
  int age = today.year() - b.year();
  if (today.month() < b.month() || (today.month() == b.month() && today.day() < b.day())) --age;
  return age;
}

// The latest birthday of someone at least `age` years old on `today`: age
// falls as the birthday moves later, so a binary search finds it.
int64_t LatestBirthdayAged(int64_t age, LocalDate today) {
  int64_t lo = today.days() - 200'000, hi = today.days() + 200'000;  // AgeOn(lo) >= age > AgeOn(hi + 1) for sane ages
  if (AgeOn(static_cast<int32_t>(lo), today) < age) return lo - 1;
  if (AgeOn(static_cast<int32_t>(hi), today) >= age) return hi;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo + 1) / 2;
    if (AgeOn(static_cast<int32_t>(mid), today) >= age) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

// System tags: a prefix naming the attribute, then its value.
constexpr std::array<std::pair<std::string_view, Field>, 5> kSystemTagPrefixes = {{
    {"tier:", Field::kTier},
    {"lifecycle:", Field::kLifecycle},
    {"rfm:", Field::kRfm},
    {"source:", Field::kSource},
    {"home_store:", Field::kHomeStore},
}};

// A rule tag's last answer and what it was computed against; readers
// refresh it under `mu`.
struct RuleCache {
  std::mutex mu;
  bool valid = false;
  Roaring members;
  int32_t day = 0;
  uint64_t seen = 0;  // position in the touch log up to which `members` is current
  std::vector<std::string> tier_ids;
  std::vector<std::pair<std::string, std::string>> category_parents;
};

struct TagEntry {
  Roaring manual;  // a manual tag's holders
  NodePtr rule;    // a rule tag's expression
  bool time_dependent = false;  // the rule's answer can change when the day turns
  std::unique_ptr<RuleCache> cache = std::make_unique<RuleCache>();
};

// Whether a node reads the date (windows, ages, days since): then a cached
// answer is stale the next day.
bool ReadsDate(const FieldRef& f) {
  switch (f.field) {
    case Field::kOrders:
    case Field::kSpend:
    case Field::kWeekendOrders:
    case Field::kMaxUnits:
    case Field::kLastOrderDays:
    case Field::kRegisteredDays:
    case Field::kAge: return true;
    default: return false;
  }
}

// Calls f(tag) for every tag() in the tree.
template <typename F>
void ForEachTagRef(const Node& node, F&& f) {
  std::visit(
      [&](const auto& n) {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, Tag>) {
          f(n, node);
        } else if constexpr (std::is_same_v<T, And> || std::is_same_v<T, Or>) {
          for (const NodePtr& c : n.children) ForEachTagRef(*c, f);
        } else if constexpr (std::is_same_v<T, Not>) {
          ForEachTagRef(*n.child, f);
        }
      },
      node.kind);
}

bool ReadsDateDirectly(const Node& node) {
  return std::visit(
      [&](const auto& n) -> bool {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, Compare> || std::is_same_v<T, In> || std::is_same_v<T, Between>) {
          return ReadsDate(n.field);
        } else if constexpr (std::is_same_v<T, Bought>) {
          return true;
        } else if constexpr (std::is_same_v<T, And> || std::is_same_v<T, Or>) {
          return std::any_of(n.children.begin(), n.children.end(), [](const NodePtr& c) { return ReadsDateDirectly(*c); });
        } else if constexpr (std::is_same_v<T, Not>) {
          return ReadsDateDirectly(*n.child);
        } else {
          return false;
        }
      },
      node.kind);
}

template <typename T>
void Grow(ChunkedArray<T>& v, size_t index, T fill) {
  if (index >= v.size()) v.resize(index + 1, fill);
}

bool CompareNumber(CompareOp op, int64_t v, int64_t x) {
  switch (op) {
    case CompareOp::kEq: return v == x;
    case CompareOp::kNe: return v != x;
    case CompareOp::kLt: return v < x;
    case CompareOp::kLe: return v <= x;
    case CompareOp::kGt: return v > x;
    case CompareOp::kGe: return v >= x;
  }
  return false;
}

}  // namespace

struct SegmentIndex::Impl {
  Roaring standing;
  std::array<TextColumn, kTextFields> text;
  // A member's numbers side by side: an order updates points, growth and
  // the purchase list together, one cache line instead of four arrays.
  // 32 bytes, so a member's record never straddles a cache line and is
  // found with a shift. Points and growth beyond ±2^31 (no brand's
  // member comes near) are held at the int32 limit.
  struct Numbers {
    int32_t points = 0;
    int32_t growth = 0;
    int32_t registered = kNoDay;  // day
    int32_t birthday = kNoDay;    // day
    int32_t latest_purchase = kNoPurchase;
    int32_t last_day = kNoDay;    // of the latest purchase with net above zero (SetLastDay)
    bool standing = false;        // mirrors `standing` to skip bitmap updates
    char padding[7] = {};
  };
  static_assert(sizeof(Numbers) == 32);
  DayBins last_day_bins, birthday_bins, registered_bins;
  ChunkedArray<WindowTotals> windows;  // by member, as of windows_day
  int32_t windows_day = kNoDay;        // kNoDay: not kept (before the first StartDay)
  ChunkedArray<Numbers> numbers;     // by member; chunked, so growth never copies
  ChunkedArray<Purchase> purchases;            // by slot
  ChunkedArray<int32_t> slot_of_order;         // by order position; -1 for none
  size_t compacted = 0;                        // purchases laid out by member (the rest appended since)
  ChunkedArray<uint32_t> purchase_categories;  // codes of `categories`
  TextColumn categories;                       // dictionary only
  // By category code, by day: the members with a purchase of it that day
  // whose net is above zero, so bought(c, N) is a union of bitmaps.
  std::vector<KeyedBitmaps> bought_on;

  void MarkBought(uint32_t m, const Purchase& p) {
    if (p.net_fen <= 0) return;
    for (uint32_t k = 0; k < p.categories_count; ++k) {
      const uint32_t code = purchase_categories[p.categories_begin + k];
      if (code >= bought_on.size()) bought_on.resize(code + 1);
      bought_on[code].At(p.day).add(m);
    }
  }

  // After `p` lost its net: the member leaves the days of its categories
  // unless another purchase of the same day still holds them.
  void UnmarkBought(uint32_t m, const Purchase& p) {
    for (uint32_t k = 0; k < p.categories_count; ++k) {
      const uint32_t code = purchase_categories[p.categories_begin + k];
      bool still = false;
      ForEachPurchaseOf(m, [&](const Purchase& other) {
        if (still || other.net_fen <= 0 || other.day != p.day) return;
        for (uint32_t j = 0; j < other.categories_count && !still; ++j) {
          still = purchase_categories[other.categories_begin + j] == code;
        }
      });
      if (!still && code < bought_on.size()) {
        if (Roaring* day = bought_on[code].Find(p.day)) day->remove(m);
      }
    }
  }
  std::map<std::string, TagEntry, std::less<>> tags;  // by name

  // The members changed since rule caches were last refreshed, in order
  // (consecutive repeats dropped); positions count from the first ever
  // touch. Cleared when it grows long: caches older than its start then
  // compute afresh, which costs about as much as replaying it.
  std::vector<uint32_t> touched;
  uint64_t touched_base = 0;  // position of touched[0]
  // The furthest position a cache has read: entries before it are final.
  // Raised by readers (under the shared lock, so atomically), read by the
  // writer (under the exclusive lock).
  mutable std::atomic<uint64_t> touched_read{0};

  void Touch(uint32_t m) {
    const uint64_t end = touched_base + touched.size();
    if (!touched.empty() && touched.back() == m && touched_read.load(std::memory_order_relaxed) < end) return;
    if (touched.size() >= std::max<size_t>(size_t{1} << 16, numbers.size() / 8)) {
      touched_base += touched.size();
      touched.clear();
    }
    touched.push_back(m);
  }

  template <typename F>
  void ForEachPurchaseOf(uint32_t m, F&& f) const {
    for (int32_t i = numbers[m].latest_purchase; i != kNoPurchase; i = purchases[static_cast<size_t>(i)].previous_of_member) {
      f(purchases[static_cast<size_t>(i)]);
    }
  }

  // Every column holds member `m` afterwards. Called by every setter, so the
  // common case (already there) is one comparison.
  void Reserve(MemberId m) {
    const auto i = static_cast<size_t>(m);
    if (i < numbers.size()) return;
    for (TextColumn& t : text) Grow<uint32_t>(t.code_of, i, 0);
    numbers.resize(i + 1);
    windows.resize(i + 1);
  }

  // Counts a purchase in (sign 1) or out of (-1) the member's kept windows.
  void CountInWindows(uint32_t m, const Purchase& p, int sign) {
    if (windows_day == kNoDay || p.net_fen <= 0 || p.day > windows_day) return;
    for (size_t w = 0; w < kKeptWindows.size(); ++w) {
      if (windows_day - p.day < kKeptWindows[w]) windows[m].Add(w, sign, sign * p.net_fen);
    }
  }

  void SetLastDay(uint32_t m, int32_t day) {
    last_day_bins.Move(m, numbers[m].last_day, day);
    numbers[m].last_day = day;
  }

  int32_t LastDayOf(uint32_t m) const {
    int32_t last = kNoDay;
    ForEachPurchaseOf(m, [&](const Purchase& p) {
      if (p.net_fen > 0) last = std::max(last, p.day);
    });
    return last;
  }

  // Sets a member's number; a change is a touch, for the rule tags.
  template <typename T>
  void SetNumber(MemberId member, T Numbers::*field, T value) {
    Reserve(member);
    T& slot = numbers[static_cast<size_t>(member)].*field;
    if (slot == value) return;
    slot = value;
    Touch(static_cast<uint32_t>(member));
  }

  // --- evaluation ---------------------------------------------------------
  struct Query {
    const QueryContext& context;
    int32_t today;
  };

  // A condition on a day column answered from its bins: last_order_days,
  // registered_days and age compared with whole numbers (not `!=`, which
  // scans). The day range it means, or nullopt.
  struct BinnedQuestion {
    const DayBins* bins;
    int32_t Numbers::*day;
    int64_t lo, hi;  // days, both included
  };
  static bool BinnedField(Field f) {
    return f == Field::kLastOrderDays || f == Field::kRegisteredDays || f == Field::kAge;
  }
  static bool BinnableShape(const Node& node) {
    if (const auto* c = std::get_if<Compare>(&node.kind)) {
      return BinnedField(c->field.field) && c->op != CompareOp::kNe && c->value.hundredths % 100 == 0;
    }
    if (const auto* b = std::get_if<Between>(&node.kind)) {
      return BinnedField(b->field.field) && !b->negated && b->low.hundredths % 100 == 0 &&
             b->high.hundredths % 100 == 0;
    }
    return false;
  }

  std::optional<BinnedQuestion> Binned(const Node& node, const Query& q) const {
    if (!BinnableShape(node)) return std::nullopt;
    const FieldRef* field = nullptr;
    constexpr int64_t kInf = int64_t{1} << 40;
    int64_t vlo = -kInf, vhi = kInf;  // whole values, both included
    if (const auto* c = std::get_if<Compare>(&node.kind)) {
      const int64_t x = c->value.hundredths;
      if (c->op == CompareOp::kNe || x % 100 != 0) return std::nullopt;
      field = &c->field;
      const int64_t v = x / 100;
      switch (c->op) {
        case CompareOp::kEq: vlo = vhi = v; break;
        case CompareOp::kLt: vhi = v - 1; break;
        case CompareOp::kLe: vhi = v; break;
        case CompareOp::kGt: vlo = v + 1; break;
        case CompareOp::kGe: vlo = v; break;
        case CompareOp::kNe: break;
      }
    } else if (const auto* b = std::get_if<Between>(&node.kind)) {
      if (b->negated || b->low.hundredths % 100 != 0 || b->high.hundredths % 100 != 0) return std::nullopt;
      field = &b->field;
      vlo = b->low.hundredths / 100;
      vhi = b->high.hundredths / 100;
    } else {
      return std::nullopt;
    }
    switch (field->field) {
      case Field::kLastOrderDays: return BinnedQuestion{&last_day_bins, &Numbers::last_day, q.today - vhi, q.today - vlo};
      case Field::kRegisteredDays:
        return BinnedQuestion{&registered_bins, &Numbers::registered, q.today - vhi, q.today - vlo};
      case Field::kAge: {
        const LocalDate today = LocalDate::FromDays(q.today);
        const int64_t lo = vhi >= kInf ? -kInf : LatestBirthdayAged(vhi + 1, today) + 1;
        const int64_t hi = vlo <= -kInf ? kInf : LatestBirthdayAged(vlo, today);
        return BinnedQuestion{&birthday_bins, &Numbers::birthday, lo, hi};
      }
      default: return std::nullopt;
    }
  }

  // Members of `within` whose day lies in the question's range: from the
  // bins, or by a look at each candidate when the candidates are far fewer
  // than the members of the bins.
  Roaring DayRange(const BinnedQuestion& b, const Roaring& within) const {
    if (b.lo > b.hi) return Roaring();
    const int64_t lo = std::max<int64_t>(b.lo, kNoDay + 1), hi = std::min<int64_t>(b.hi, std::numeric_limits<int32_t>::max());
    auto inside = [&](uint32_t m) {
      const int32_t d = numbers[m].*b.day;
      return d != kNoDay && d >= lo && d <= hi;
    };
    const int64_t first_bin = DayBins::BinOf(static_cast<int32_t>(lo)), last_bin = DayBins::BinOf(static_cast<int32_t>(hi));
    uint64_t in_bins = 0;
    b.bins->bins.ForEachIn(first_bin, last_bin, [&](int32_t, const Roaring& r) { in_bins += r.cardinality(); });
    if (within.cardinality() * 4 < in_bins) return Filter(within, inside);
    std::vector<const Roaring*> whole;
    Roaring out;
    b.bins->bins.ForEachIn(first_bin, last_bin, [&](int32_t bin, const Roaring& r) {
      const int64_t first = int64_t{bin} * 32, last = first + 31;
      if (first >= lo && last <= hi) {
        whole.push_back(&r);
      } else {
        out |= Filter(r & within, inside);
      }
    });
    if (!whole.empty()) out |= Roaring::fastunion(whole.size(), whole.data()) & within;
    return out;
  }

  // The members of `within` that `keep(member)` keeps, read from the
  // bitmap a few thousand at a time.
  template <typename Keep>
  static Roaring Filter(const Roaring& within, Keep keep) {
    Roaring out;
    std::array<uint32_t, 4096> in;
    std::vector<uint32_t> kept;
    kept.reserve(in.size());
    roaring_uint32_iterator_t it;
    roaring_init_iterator(&within.roaring, &it);
    while (uint32_t n = roaring_read_uint32_iterator(&it, in.data(), static_cast<uint32_t>(in.size()))) {
      kept.clear();
      for (uint32_t i = 0; i < n; ++i) {
        if (keep(in[i])) kept.push_back(in[i]);
      }
      out.addMany(kept.size(), kept.data());
    }
    return out;
  }


  // The member's value of a numeric field in hundredths (so it compares with
  // Value::hundredths), or nullopt when the member has none.
  std::optional<int64_t> NumberOf(const FieldRef& ref, uint32_t m, const Query& q) const {
    switch (ref.field) {
      case Field::kPoints: return int64_t{numbers[m].points} * 100;
      case Field::kGrowth: return int64_t{numbers[m].growth} * 100;
      case Field::kOrders:
      case Field::kSpend:
      case Field::kWeekendOrders:
      case Field::kMaxUnits: {
        const int slot = q.today == windows_day ? KeptWindowSlot(ref.days) : -1;
        if (slot >= 0 && ref.field == Field::kOrders && windows[m].orders[slot] != WindowTotals::kFullOrders) {
          return int64_t{windows[m].orders[slot]} * 100;
        }
        if (slot >= 0 && ref.field == Field::kSpend && windows[m].spend_fen[slot] != WindowTotals::kFullSpend) {
          return windows[m].spend_fen[slot];
        }
        const int32_t first = q.today - ref.days + 1;
        int64_t count = 0, spend = 0, weekend = 0, max_units = 0;
        ForEachPurchaseOf(m, [&](const Purchase& p) {
          if (p.net_fen > 0 && p.day >= first && p.day <= q.today) {
            ++count;
            spend += p.net_fen;
            weekend += OnWeekend(p.day) ? 1 : 0;
            max_units = std::max<int64_t>(max_units, p.units);
          }
        });
        switch (ref.field) {
          case Field::kOrders: return count * 100;
          case Field::kWeekendOrders: return weekend * 100;
          case Field::kMaxUnits: return max_units * 100;
          default: return spend;  // fen are hundredths of a yuan
        }
      }
      case Field::kLastOrderDays:
        if (numbers[m].last_day == kNoDay) return std::nullopt;
        return int64_t{q.today - numbers[m].last_day} * 100;
      case Field::kRegisteredDays:
        if (numbers[m].registered == kNoDay) return std::nullopt;
        return int64_t{q.today - numbers[m].registered} * 100;
      case Field::kBirthdayMonth:
        if (numbers[m].birthday == kNoDay) return std::nullopt;
        return int64_t{LocalDate::FromDays(numbers[m].birthday).month()} * 100;
      case Field::kAge:
        if (numbers[m].birthday == kNoDay) return std::nullopt;
        return int64_t{AgeOn(numbers[m].birthday, LocalDate::FromDays(q.today))} * 100;
      default: return std::nullopt;  // text fields never reach here
    }
  }

  // Members holding any of `values` (unknown values hold nobody).
  Roaring TextMembers(Field f, const std::vector<const Value*>& values) const {
    const TextColumn& t = text[static_cast<size_t>(TextSlot(f))];
    Roaring out;
    for (const Value* v : values) {
      if (auto code = t.Find(v->text)) out |= t.members[*code];
    }
    return out;
  }

  Roaring HasText(Field f, const Roaring& within) const {
    const TextColumn& t = text[static_cast<size_t>(TextSlot(f))];
    Roaring out;
    for (size_t code = 1; code < t.members.size(); ++code) out |= t.members[code];
    return out & within;
  }

  Status CheckValue(const FieldRef& ref, const Value& v, const Query& q) const {
    if (IsTextField(ref.field) != v.is_text) {
      return ExprError(v.position, std::string(FieldName(ref.field)) + " compares " +
                                        (IsTextField(ref.field) ? "text" : "numbers"),
                        IsTextField(ref.field) ? "a \"string\"" : "a number");
    }
    auto one_of = [&](std::string_view what, const std::vector<std::string>& allowed) -> Status {
      if (std::find(allowed.begin(), allowed.end(), v.text) != allowed.end()) return Status::Ok();
      std::string list;
      for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return ExprError(v.position, "unknown " + std::string(what) + " \"" + v.text + "\"", "one of: " + list);
    };
    // The parser checked the fixed sets of values already; system tags
    // ("lifecycle:...") come here unchecked.
    auto names = [](int count, auto name_of, auto as) {
      std::vector<std::string> out;
      for (int i = 0; i < count; ++i) out.emplace_back(name_of(static_cast<decltype(as)>(i)));
      return out;
    };
    switch (ref.field) {
      case Field::kTier: return one_of("tier", q.context.tier_ids);
      case Field::kLifecycle: return one_of("lifecycle stage", names(kStages, StageName, Stage{}));
      case Field::kRfm: return one_of("RFM class", names(kRfmClasses, RfmClassName, RfmClass{}));
      default: return Status::Ok();
    }
  }

  // Every evaluation answers the members of `within` that match: the
  // standing members at the top, fewer inside an `and`, so the scans of
  // numeric conditions and windows visit only members still in question.
  Result<Roaring> Eval(const Node& node, const Query& q, const Roaring& within) const {
    return std::visit([&](const auto& n) { return EvalKind(n, node, q, within); }, node.kind);
  }

  // What a condition costs per candidate: 0 answered from bitmaps alone,
  // 1 a look at the member's numbers, 2 a walk of its purchases. A
  // compound costs what its dearest part does.
  static int Cost(const Node& node) {
    auto field_cost = [](const FieldRef& f) {
      if (IsTextField(f.field)) return 0;
      const bool walks = f.field == Field::kOrders || f.field == Field::kSpend || f.field == Field::kWeekendOrders ||
                         f.field == Field::kMaxUnits || f.field == Field::kLastOrderDays;
      return walks ? 2 : 1;
    };
    return std::visit(
        [&](const auto& n) -> int {
          using T = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<T, Compare> || std::is_same_v<T, In> || std::is_same_v<T, Between>) {
            return BinnableShape(node) ? 0 : field_cost(n.field);
          } else if constexpr (std::is_same_v<T, Tag>) {
            return 0;
          } else if constexpr (std::is_same_v<T, Bought>) {
            return n.min_orders <= 1 ? 0 : 2;  // a union of bitmaps; more than one order walks as well
          } else if constexpr (std::is_same_v<T, Not>) {
            return Cost(*n.child);
          } else {
            int most = 0;
            for (const NodePtr& c : n.children) most = std::max(most, Cost(*c));
            return most;
          }
        },
        node.kind);
  }

  Result<Roaring> EvalKind(const Compare& c, const Node& node, const Query& q, const Roaring& within) const {
    RETURN_IF_ERROR(CheckValue(c.field, c.value, q));
    if (IsTextField(c.field.field)) {
      Roaring eq = TextMembers(c.field.field, {&c.value}) & within;
      if (c.op == CompareOp::kEq) return eq;
      if (c.op == CompareOp::kNe) return HasText(c.field.field, within) - eq;
      return ExprError(c.value.position, std::string(FieldName(c.field.field)) + " supports only = and !=",
                        "= or !=");
    }
    return ScanOne(node, q, within);
  }

  // A number condition: from day bins when it can be, else member by member.
  Result<Roaring> ScanOne(const Node& node, const Query& q, const Roaring& within) const {
    ASSIGN_OR_RETURN(ScanLeaf leaf, Prepare(node, q));
    if (auto binned = Binned(node, q)) return DayRange(*binned, within);
    return Filter(within, [&](uint32_t m) { return Holds(leaf, m, q); });
  }

  Result<Roaring> EvalKind(const In& in, const Node& node, const Query& q, const Roaring& within) const {
    for (const Value& v : in.values) RETURN_IF_ERROR(CheckValue(in.field, v, q));
    if (IsTextField(in.field.field)) {
      std::vector<const Value*> values;
      for (const Value& v : in.values) values.push_back(&v);
      Roaring any = TextMembers(in.field.field, values) & within;
      return in.negated ? HasText(in.field.field, within) - any : any;
    }
    return ScanOne(node, q, within);
  }

  Result<Roaring> EvalKind(const Between& b, const Node& node, const Query& q, const Roaring& within) const {
    RETURN_IF_ERROR(CheckValue(b.field, b.low, q));
    RETURN_IF_ERROR(CheckValue(b.field, b.high, q));
    if (IsTextField(b.field.field)) {
      return ExprError(b.low.position, std::string(FieldName(b.field.field)) + " has no order to be between",
                        "= != in");
    }
    return ScanOne(node, q, within);
  }

  Result<Roaring> EvalKind(const Tag& t, const Node& node, const Query& q, const Roaring& within) const {
    const size_t at = t.name_position ? t.name_position : node.position;
    if (auto system = SystemTag(t.name)) {
      const Value value{true, std::string(system->second), 0, at};
      RETURN_IF_ERROR(CheckValue(FieldRef{system->first, 0}, value, q));
      return TextMembers(system->first, {&value}) & within;
    }
    auto it = tags.find(t.name);
    if (it == tags.end()) {
      return ExprError(at, "unknown tag \"" + t.name + "\"", "the name of an existing tag",
                       "system tags are written like \"tier:gold\", \"lifecycle:mature\", \"rfm:important_value\", "
                       "\"source:store_qr\" or \"home_store:S001\"");
    }
    if (!it->second.rule) return it->second.manual & within;
    return RuleMembers(it->second, q, within);
  }

  // A rule tag's members among `within`, refreshing its cache first: for
  // the members touched since, or wholly when it is stale (never computed,
  // another day for a rule reading the date, other tiers or categories, or
  // older than the touch log).
  Result<Roaring> RuleMembers(const TagEntry& tag, const Query& q, const Roaring& within) const {
    RuleCache& c = *tag.cache;
    std::lock_guard lock(c.mu);
    const uint64_t end = touched_base + touched.size();
    const bool stale = !c.valid || (tag.time_dependent && c.day != q.today) || c.seen < touched_base ||
                       c.tier_ids != q.context.tier_ids || c.category_parents != q.context.category_parents;
    if (stale) {
      c.valid = false;
      ASSIGN_OR_RETURN(c.members, Eval(*tag.rule, q, standing));
    } else if (c.seen < end) {
      Roaring changed;
      changed.addMany(static_cast<size_t>(end - c.seen), touched.data() + (c.seen - touched_base));
      ASSIGN_OR_RETURN(Roaring now, Eval(*tag.rule, q, changed & standing));
      c.members -= changed;
      c.members |= now;
    }
    c.valid = true;
    c.day = q.today;
    c.seen = end;
    for (uint64_t read = touched_read.load(); read < end && !touched_read.compare_exchange_weak(read, end);) {
    }
    c.tier_ids = q.context.tier_ids;
    c.category_parents = q.context.category_parents;
    return c.members & within;
  }

  // Whether rule tag `from` reaches tag `name` through the rules it reads.
  bool Reaches(const Node& from, std::string_view name, int depth = 0) const {
    bool found = false;
    ForEachTagRef(from, [&](const Tag& t, const Node&) {
      if (found || depth > 1000) return;
      if (t.name == name) {
        found = true;
        return;
      }
      auto it = tags.find(t.name);
      if (it != tags.end() && it->second.rule) found = Reaches(*it->second.rule, name, depth + 1);
    });
    return found;
  }

  bool TimeDependent(const Node& rule, int depth = 0) const {
    if (ReadsDateDirectly(rule)) return true;
    bool found = false;
    ForEachTagRef(rule, [&](const Tag& t, const Node&) {
      auto it = tags.find(t.name);
      if (!found && depth < 1000 && it != tags.end() && it->second.rule) found = TimeDependent(*it->second.rule, depth + 1);
    });
    return found;
  }

  // After any change of definitions: no cached answer can be trusted.
  void Redefined() {
    for (auto& [name, tag] : tags) {
      tag.cache->valid = false;
      if (tag.rule) tag.time_dependent = TimeDependent(*tag.rule);
    }
  }

  // Codes of `category` and every category under it that anyone bought.
  std::vector<uint32_t> CategoryCodes(const std::string& category, const QueryContext& context) const {
    std::vector<std::string> tree = {category};
    for (size_t i = 0; i < tree.size(); ++i) {  // each category enters once, so cycles end too
      for (const auto& [child, parent] : context.category_parents) {
        if (parent == tree[i] && std::find(tree.begin(), tree.end(), child) == tree.end()) tree.push_back(child);
      }
    }
    std::vector<uint32_t> codes;
    for (const std::string& c : tree) {
      if (auto code = categories.Find(c)) codes.push_back(*code);
    }
    return codes;
  }

  Result<Roaring> EvalKind(const Bought& b, const Node&, const Query& q, const Roaring& within) const {
    const std::vector<uint32_t> codes = CategoryCodes(b.category, q.context);
    const int32_t first = q.today - b.days + 1;
    std::vector<const Roaring*> days;
    for (uint32_t code : codes) {
      if (code >= bought_on.size()) continue;
      bought_on[code].ForEachIn(first, q.today, [&](int32_t, const Roaring& r) { days.push_back(&r); });
    }
    Roaring any = days.empty() ? Roaring() : Roaring::fastunion(days.size(), days.data());
    any &= within;
    if (b.min_orders <= 1) return any;
    return Filter(any, [&](uint32_t m) {
      int32_t orders = 0;
      ForEachPurchaseOf(m, [&](const Purchase& p) {
        if (orders >= b.min_orders || p.net_fen <= 0 || p.day < first || p.day > q.today) return;
        for (uint32_t k = 0; k < p.categories_count; ++k) {
          if (std::find(codes.begin(), codes.end(), purchase_categories[p.categories_begin + k]) != codes.end()) {
            ++orders;
            break;
          }
        }
      });
      return orders >= b.min_orders;
    });
  }

  // A condition on a number, tested member by member, checked once per
  // question.
  struct ScanLeaf {
    const Node* node = nullptr;  // a Compare, In or Between on a number
    bool negated = false;        // under a `not`
  };

  bool IsScanLeaf(const Node& node, const Query& q) const {
    if (const auto* n = std::get_if<Not>(&node.kind)) return IsScanLeaf(*n->child, q);
    if (Binned(node, q)) return false;
    if (const auto* c = std::get_if<Compare>(&node.kind)) return !IsTextField(c->field.field);
    if (const auto* in = std::get_if<In>(&node.kind)) return !IsTextField(in->field.field);
    if (const auto* b = std::get_if<Between>(&node.kind)) return !IsTextField(b->field.field);
    return false;
  }

  // Checks the leaf's values against the tenant and prepares it.
  Result<ScanLeaf> Prepare(const Node& node, const Query& q) const {
    ScanLeaf leaf;
    const Node* n = &node;
    for (; const auto* inner = std::get_if<Not>(&n->kind); n = inner->child.get()) leaf.negated = !leaf.negated;
    leaf.node = n;
    if (const auto* c = std::get_if<Compare>(&n->kind)) RETURN_IF_ERROR(CheckValue(c->field, c->value, q));
    if (const auto* in = std::get_if<In>(&n->kind)) {
      for (const Value& v : in->values) RETURN_IF_ERROR(CheckValue(in->field, v, q));
    }
    if (const auto* b = std::get_if<Between>(&n->kind)) {
      RETURN_IF_ERROR(CheckValue(b->field, b->low, q));
      RETURN_IF_ERROR(CheckValue(b->field, b->high, q));
    }
    return leaf;
  }

  bool Holds(const ScanLeaf& leaf, uint32_t m, const Query& q) const {
    const Node& n = *leaf.node;
    bool holds = false;
    if (const auto* c = std::get_if<Compare>(&n.kind)) {
      const std::optional<int64_t> v = NumberOf(c->field, m, q);
      holds = v && CompareNumber(c->op, *v, c->value.hundredths);
    } else if (const auto* in = std::get_if<In>(&n.kind)) {
      const std::optional<int64_t> v = NumberOf(in->field, m, q);
      holds = v && std::any_of(in->values.begin(), in->values.end(),
                               [&](const Value& x) { return x.hundredths == *v; }) != in->negated;
    } else {
      const Between& b = std::get<Between>(n.kind);
      const std::optional<int64_t> v = NumberOf(b.field, m, q);
      holds = v && (*v >= b.low.hundredths && *v <= b.high.hundredths) != b.negated;
    }
    return holds != leaf.negated;
  }

  Result<Roaring> EvalKind(const And& a, const Node&, const Query& q, const Roaring& within) const {
    // Bitmap conditions first; then every condition tested member by member
    // in one pass over what they left, cheapest first; then the rest
    // (or/and inside) over what is left after that.
    std::vector<const Node*> bitmaps, rest;
    std::vector<ScanLeaf> leaves;
    for (const NodePtr& child : a.children) {
      if (IsScanLeaf(*child, q)) {
        ASSIGN_OR_RETURN(ScanLeaf leaf, Prepare(*child, q));
        leaves.push_back(std::move(leaf));
      } else {
        (Cost(*child) == 0 ? bitmaps : rest).push_back(child.get());
      }
    }
    std::stable_sort(leaves.begin(), leaves.end(),
                     [](const ScanLeaf& x, const ScanLeaf& y) { return Cost(*x.node) < Cost(*y.node); });
    std::stable_sort(rest.begin(), rest.end(), [](const Node* x, const Node* y) { return Cost(*x) < Cost(*y); });
    // Day ranges after the plain bitmaps: they cost less on fewer candidates.
    std::stable_partition(bitmaps.begin(), bitmaps.end(), [](const Node* n) { return !BinnableShape(*n); });
    Roaring out = within;
    for (const Node* child : bitmaps) {
      ASSIGN_OR_RETURN(out, Eval(*child, q, out));
    }
    if (!leaves.empty()) {
      out = Filter(out, [&](uint32_t m) {
        return std::all_of(leaves.begin(), leaves.end(), [&](const ScanLeaf& leaf) { return Holds(leaf, m, q); });
      });
    }
    for (const Node* child : rest) {
      ASSIGN_OR_RETURN(out, Eval(*child, q, out));
    }
    return out;
  }

  Result<Roaring> EvalKind(const Or& o, const Node&, const Query& q, const Roaring& within) const {
    Roaring out;
    for (const NodePtr& child : o.children) {
      ASSIGN_OR_RETURN(Roaring part, Eval(*child, q, within));
      out |= part;
    }
    return out;
  }

  Result<Roaring> EvalKind(const Not& n, const Node&, const Query& q, const Roaring& within) const {
    ASSIGN_OR_RETURN(Roaring inner, Eval(*n.child, q, within));
    return within - inner;
  }
};

SegmentIndex::SegmentIndex() : impl_(std::make_unique<Impl>()) {}
SegmentIndex::~SegmentIndex() = default;
SegmentIndex::SegmentIndex(SegmentIndex&&) noexcept = default;
SegmentIndex& SegmentIndex::operator=(SegmentIndex&&) noexcept = default;

void SegmentIndex::SetStanding(MemberId member, bool standing) {
  impl_->Reserve(member);
  const auto m = static_cast<uint32_t>(member);
  bool& flag = impl_->numbers[m].standing;
  if (flag == standing) return;  // re-reported, as most calls are
  flag = standing;
  standing ? impl_->standing.add(m) : impl_->standing.remove(m);
  impl_->Touch(m);
}

void SegmentIndex::SetText(MemberId member, Field field, std::string_view value) {
  impl_->Reserve(member);
  TextColumn& t = impl_->text[static_cast<size_t>(TextSlot(field))];
  const auto m = static_cast<uint32_t>(member);
  uint32_t& code = t.code_of[m];
  // The writer re-reports every attribute of a member it touches; most are unchanged.
  if (t.values[code] == value) return;
  if (code != 0) t.members[code].remove(m);
  code = value.empty() ? 0 : t.CodeFor(value);
  if (code != 0) t.members[code].add(m);
  impl_->Touch(m);
}

void SegmentIndex::SetPoints(MemberId member, int64_t points) {
  impl_->SetNumber(member, &Impl::Numbers::points, Narrow(points));
}

void SegmentIndex::SetGrowth(MemberId member, int64_t growth) {
  impl_->SetNumber(member, &Impl::Numbers::growth, Narrow(growth));
}

void SegmentIndex::SetRegistered(MemberId member, std::optional<LocalDate> day) {
  impl_->Reserve(member);
  const auto m = static_cast<uint32_t>(member);
  impl_->registered_bins.Move(m, impl_->numbers[m].registered, day ? day->days() : kNoDay);
  impl_->SetNumber(member, &Impl::Numbers::registered, day ? day->days() : kNoDay);
}

void SegmentIndex::SetBirthday(MemberId member, std::optional<LocalDate> birthday) {
  impl_->Reserve(member);
  const auto m = static_cast<uint32_t>(member);
  impl_->birthday_bins.Move(m, impl_->numbers[m].birthday, birthday ? birthday->days() : kNoDay);
  impl_->SetNumber(member, &Impl::Numbers::birthday, birthday ? birthday->days() : kNoDay);
}

void SegmentIndex::AddPurchase(MemberId member, int32_t order, LocalDate day, Money net, int32_t units,
                               std::span<const std::string_view> categories) {
  impl_->Reserve(member);
  Impl& i = *impl_;
  Grow<int32_t>(i.slot_of_order, static_cast<size_t>(order), kNoPurchase);
  const auto slot = static_cast<int32_t>(i.purchases.size());
  i.slot_of_order[static_cast<size_t>(order)] = slot;
  int32_t& latest = i.numbers[static_cast<size_t>(member)].latest_purchase;
  Purchase p{net.fen(), day.days(), latest, static_cast<uint32_t>(i.purchase_categories.size()), 0,
             static_cast<uint16_t>(std::clamp<int32_t>(units, 0, std::numeric_limits<uint16_t>::max()))};
  for (std::string_view c : categories) {
    if (p.categories_count == std::numeric_limits<uint16_t>::max()) break;
    const uint32_t code = i.categories.CodeFor(c);
    bool seen = false;
    for (uint32_t k = 0; k < p.categories_count && !seen; ++k) {
      seen = i.purchase_categories[p.categories_begin + k] == code;
    }
    if (seen) continue;
    i.purchase_categories.push_back(code);
    ++p.categories_count;
  }
  i.purchases.push_back(p);
  latest = slot;
  const auto m = static_cast<uint32_t>(member);
  i.CountInWindows(m, p, 1);
  i.MarkBought(m, p);
  if (p.net_fen > 0 && p.day > i.numbers[m].last_day) i.SetLastDay(m, p.day);
  i.Touch(m);
}

void SegmentIndex::SetPurchaseNet(MemberId member, int32_t order, Money net) {
  Impl& i = *impl_;
  if (static_cast<size_t>(order) >= i.slot_of_order.size() || i.slot_of_order[static_cast<size_t>(order)] < 0) return;
  Purchase& p = i.purchases[static_cast<size_t>(i.slot_of_order[static_cast<size_t>(order)])];
  const auto m = static_cast<uint32_t>(member);
  i.CountInWindows(m, p, -1);
  const bool had = p.net_fen > 0;
  p.net_fen = net.fen();
  i.CountInWindows(m, p, 1);
  if (had && p.net_fen <= 0) i.UnmarkBought(m, p);
  if (!had) i.MarkBought(m, p);
  i.SetLastDay(m, i.LastDayOf(m));
  i.Touch(m);
}

void SegmentIndex::Compact() {
  Impl& i = *impl_;
  // Which order each slot holds, to re-point slot_of_order.
  ChunkedArray<int32_t> order_of_slot;
  order_of_slot.resize(i.purchases.size(), kNoPurchase);
  for (size_t order = 0; order < i.slot_of_order.size(); ++order) {
    if (i.slot_of_order[order] >= 0) order_of_slot[static_cast<size_t>(i.slot_of_order[order])] = static_cast<int32_t>(order);
  }
  ChunkedArray<Purchase> packed;
  ChunkedArray<uint32_t> packed_categories;
  for (size_t m = 0; m < i.numbers.size(); ++m) {
    int32_t& latest = i.numbers[m].latest_purchase;
    const int32_t first = latest == kNoPurchase ? kNoPurchase : static_cast<int32_t>(packed.size());
    for (int32_t old = latest; old != kNoPurchase; old = i.purchases[static_cast<size_t>(old)].previous_of_member) {
      Purchase p = i.purchases[static_cast<size_t>(old)];
      const auto slot = static_cast<int32_t>(packed.size());
      p.previous_of_member = p.previous_of_member == kNoPurchase ? kNoPurchase : slot + 1;
      const uint32_t begin = p.categories_begin;
      p.categories_begin = static_cast<uint32_t>(packed_categories.size());
      for (uint32_t k = 0; k < p.categories_count; ++k) packed_categories.push_back(i.purchase_categories[begin + k]);
      packed.push_back(p);
      const int32_t order = order_of_slot[static_cast<size_t>(old)];
      if (order >= 0) i.slot_of_order[static_cast<size_t>(order)] = slot;
    }
    latest = first;
  }
  i.purchases = std::move(packed);
  i.purchase_categories = std::move(packed_categories);
  i.compacted = i.purchases.size();
}

void SegmentIndex::StartDay(LocalDate today) {
  Impl& i = *impl_;
  i.windows_day = today.days();
  for (size_t m = 0; m < i.numbers.size(); ++m) {
    i.windows[m] = WindowTotals{};
    i.ForEachPurchaseOf(static_cast<uint32_t>(m), [&](const Purchase& p) { i.CountInWindows(static_cast<uint32_t>(m), p, 1); });
  }
}

size_t SegmentIndex::purchases_since_compaction() const { return impl_->purchases.size() - impl_->compacted; }

void SegmentIndex::Merge(MemberId survivor, MemberId merged) {
  Impl& i = *impl_;
  i.Reserve(std::max(survivor, merged));
  i.ForEachPurchaseOf(static_cast<uint32_t>(merged),
                      [&](const Purchase& p) { i.MarkBought(static_cast<uint32_t>(survivor), p); });
  int32_t& from = i.numbers[static_cast<size_t>(merged)].latest_purchase;
  int32_t& into = i.numbers[static_cast<size_t>(survivor)].latest_purchase;
  if (from != kNoPurchase) {
    // Splice: the merged member's oldest purchase now leads on to the survivor's.
    int32_t tail = from;
    while (i.purchases[static_cast<size_t>(tail)].previous_of_member != kNoPurchase) {
      tail = i.purchases[static_cast<size_t>(tail)].previous_of_member;
    }
    i.purchases[static_cast<size_t>(tail)].previous_of_member = into;
    into = from;
    from = kNoPurchase;
  }
  const auto s = static_cast<size_t>(survivor), g = static_cast<size_t>(merged);
  if (i.numbers[g].last_day > i.numbers[s].last_day) i.SetLastDay(static_cast<uint32_t>(s), i.numbers[g].last_day);
  i.SetLastDay(static_cast<uint32_t>(g), kNoDay);
  i.windows[s].Absorb(i.windows[g]);
  i.windows[g] = WindowTotals{};
  SetStanding(merged, false);
  i.Touch(static_cast<uint32_t>(survivor));
}

void SegmentIndex::DefineTag(const std::string& name, NodePtr rule) {
  TagEntry& tag = impl_->tags[name];
  tag.manual = Roaring();
  tag.rule = std::move(rule);
  impl_->Redefined();
}

void SegmentIndex::RemoveTag(std::string_view name) {
  if (auto it = impl_->tags.find(name); it != impl_->tags.end()) impl_->tags.erase(it);
  impl_->Redefined();
}

bool SegmentIndex::SetTag(MemberId member, std::string_view tag, bool on) {
  auto it = impl_->tags.find(tag);
  if (it == impl_->tags.end()) {
    it = impl_->tags.emplace(std::string(tag), TagEntry{}).first;
    impl_->Redefined();
  }
  const auto m = static_cast<uint32_t>(member);
  const bool changed = on ? it->second.manual.addChecked(m) : it->second.manual.removeChecked(m);
  if (changed) impl_->Touch(m);
  return changed;
}

bool SegmentIndex::HasTag(std::string_view name) const {
  return SystemTag(name) || impl_->tags.find(name) != impl_->tags.end();
}

Status SegmentIndex::CheckRule(std::string_view name, const Node& rule, const QueryContext& context) const {
  Status loop = Status::Ok();
  ForEachTagRef(rule, [&](const Tag& t, const Node& node) {
    if (!loop.ok()) return;
    auto it = impl_->tags.find(t.name);
    const bool back = t.name == name || (it != impl_->tags.end() && it->second.rule && impl_->Reaches(*it->second.rule, name));
    if (back) {
      loop = ExprError(t.name_position ? t.name_position : node.position, "tag \"" + t.name + "\" refers back to \"" + std::string(name) + "\"",
                       "a tag that does not depend on this one");
    }
  });
  RETURN_IF_ERROR(loop);
  // Evaluating over nobody checks every value and tag without the cost.
  return impl_->Eval(rule, Impl::Query{context, context.today.days()}, Roaring()).status();
}

Result<int64_t> SegmentIndex::TagCount(std::string_view name, const QueryContext& context) const {
  Node node{Tag{std::string(name)}, 1};
  return Count(node, context);
}

Result<std::vector<std::string>> SegmentIndex::TagsOf(MemberId member, const QueryContext& context) const {
  std::vector<std::string> out;
  const auto m = static_cast<uint32_t>(member);
  Roaring one;
  one.add(m);
  const Impl::Query q{context, context.today.days()};
  for (const auto& [name, tag] : impl_->tags) {
    bool holds = false;
    if (tag.rule) {
      ASSIGN_OR_RETURN(Roaring r, impl_->RuleMembers(tag, q, one));
      holds = !r.isEmpty();
    } else {
      holds = tag.manual.contains(m);
    }
    if (holds) out.push_back(name);
  }
  return out;
}

std::vector<std::string> SegmentIndex::ManualTagsOf(MemberId member) const {
  std::vector<std::string> out;
  for (const auto& [name, tag] : impl_->tags) {
    if (!tag.rule && tag.manual.contains(static_cast<uint32_t>(member))) out.push_back(name);
  }
  return out;
}

std::vector<std::string> SegmentIndex::RulesReading(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [rule_name, tag] : impl_->tags) {
    if (!tag.rule) continue;
    bool reads = false;
    ForEachTagRef(*tag.rule, [&](const Tag& t, const Node&) { reads = reads || t.name == name; });
    if (reads) out.push_back(rule_name);
  }
  return out;
}

std::vector<std::pair<std::string, int64_t>> SegmentIndex::SystemTags() const {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& [prefix, field] : kSystemTagPrefixes) {
    const TextColumn& t = impl_->text[static_cast<size_t>(TextSlot(field))];
    for (size_t code = 1; code < t.members.size(); ++code) {
      const auto n = static_cast<int64_t>(t.members[code].and_cardinality(impl_->standing));
      if (n > 0) out.emplace_back(std::string(prefix) + t.values[code], n);
    }
  }
  return out;
}

std::optional<std::pair<Field, std::string_view>> SystemTag(std::string_view name) {
  for (const auto& [prefix, field] : kSystemTagPrefixes) {
    if (name.substr(0, prefix.size()) == prefix) {
      return std::pair{field, name.substr(prefix.size())};
    }
  }
  return std::nullopt;
}

Result<int64_t> SegmentIndex::Count(const Node& expr, const QueryContext& context) const {
  ASSIGN_OR_RETURN(Roaring matched, impl_->Eval(expr, Impl::Query{context, context.today.days()}, impl_->standing));
  return static_cast<int64_t>(matched.cardinality());
}

Result<std::vector<MemberId>> SegmentIndex::Match(const Node& expr, const QueryContext& context,
                                                  size_t limit) const {
  ASSIGN_OR_RETURN(Roaring matched, impl_->Eval(expr, Impl::Query{context, context.today.days()}, impl_->standing));
  std::vector<MemberId> out;
  for (uint32_t m : matched) {
    if (out.size() == limit) break;
    out.push_back(static_cast<MemberId>(m));
  }
  return out;
}

Result<SegmentIndex::Sample> SegmentIndex::SampleOf(const Node& expr, const QueryContext& context, size_t size,
                                                     uint64_t seed) const {
  ASSIGN_OR_RETURN(Roaring matched, impl_->Eval(expr, Impl::Query{context, context.today.days()}, impl_->standing));
  Sample out;
  out.count = static_cast<int64_t>(matched.cardinality());
  // Floyd's algorithm: `size` distinct ranks, each subset equally likely.
  const auto n = static_cast<uint64_t>(out.count);
  const uint64_t k = std::min<uint64_t>(size, n);
  std::vector<uint64_t> ranks;
  Random rng(seed);
  for (uint64_t j = n - k; j < n; ++j) {
    const uint64_t t = rng.Uniform(j + 1);
    ranks.push_back(std::find(ranks.begin(), ranks.end(), t) == ranks.end() ? t : j);
  }
  for (uint64_t r : ranks) {
    uint32_t member = 0;
    if (matched.select(static_cast<uint32_t>(r), &member)) out.members.push_back(static_cast<MemberId>(member));
  }
  std::sort(out.members.begin(), out.members.end());
  return out;
}

int64_t SegmentIndex::standing_count() const { return static_cast<int64_t>(impl_->standing.cardinality()); }

size_t SegmentIndex::MemoryBytes() const {
  const Impl& i = *impl_;
  size_t bytes = i.standing.getSizeInBytes(false);
  for (const TextColumn& t : i.text) {
    bytes += t.code_of.size() * sizeof(uint32_t);
    for (const Roaring& r : t.members) bytes += r.getSizeInBytes(false);
    for (const auto& [value, code] : t.codes) bytes += value.capacity() + sizeof(code) + 32;
  }
  bytes += i.numbers.size() * sizeof(Impl::Numbers) + i.windows.size() * sizeof(WindowTotals);
  bytes += i.purchases.size() * sizeof(Purchase) + i.purchase_categories.size() * sizeof(uint32_t);
  bytes += i.slot_of_order.size() * sizeof(int32_t);
  for (const DayBins* b : {&i.last_day_bins, &i.birthday_bins, &i.registered_bins}) bytes += b->bins.Bytes();
  for (const KeyedBitmaps& by_day : i.bought_on) bytes += by_day.Bytes();
  for (const auto& [name, tag] : i.tags) {
    bytes += name.capacity() + tag.manual.getSizeInBytes(false) + tag.cache->members.getSizeInBytes(false);
  }
  bytes += i.touched.capacity() * sizeof(uint32_t);
  return bytes;
}

}  // namespace pond::segments
