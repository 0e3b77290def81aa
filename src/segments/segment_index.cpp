#include "segments/segment_index.hpp"

#include <roaring/roaring.hh>

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <map>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/chunked_array.hpp"
#include "core/huge_pages.hpp"
#include "core/random.hpp"
#include "lifecycle/lifecycle.hpp"
#include "segments/bitmap_chunks.hpp"
#include "segments/ladder.hpp"

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
  int32_t net_fen = 0;  // saturates at ±21 million yuan, beyond any one order of a shop
  int32_t day = 0;
  int32_t order = 0;    // position in the tenant's order book, for refunds
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

// Bitmaps by an integer key (a day): hashed, because the
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

// The bounds of the ladders (ladder.hpp): the values operators put in
// questions, so that most ranges are read from rungs alone. A range ending
// elsewhere looks at one rung's share of the members.
//
// Money in fen: above zero, then yuan of the 1-2-3-5 series.
std::vector<int64_t> SpendBounds() {
  std::vector<int64_t> b = {1};
  for (int64_t decade = 10; decade <= 10'000; decade *= 10) {
    for (int64_t step : {1, 2, 3, 5}) b.push_back(step * decade * 100);
  }
  return b;
}
const std::vector<int64_t> kOrderBounds = {1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50};
const std::vector<int64_t> kPointBounds = {0, 1, 100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000, 20000, 50000, 100000};
// Days since (last order, registration): each with the day before, so that
// both `<= 30` and `> 30` / `>= 31`... read exact rungs.
const std::vector<int32_t> kLastOrderDays = {6, 7, 13, 14, 29, 30, 59, 60, 89, 90, 119, 120, 179, 180, 364, 365};
const std::vector<int32_t> kRegisteredDays = {6, 7, 29, 30, 89, 90, 179, 180, 364, 365};
// Ages, each with the next: `age between 20 and 40` reads the rungs of 20
// and 41.
const std::vector<int32_t> kAges = {18, 19, 20, 21, 25, 26, 30, 31, 35, 36, 40, 41, 45, 46, 50, 51, 55, 56, 60, 61};

// A day ladder's bounds on `today`: everyone with a day, then the given
// days before today.
std::vector<int64_t> DaysBeforeBounds(const std::vector<int32_t>& days_before, int32_t today) {
  std::vector<int64_t> b = {Ladder::kMinBound};
  for (int32_t d : days_before) b.push_back(today - d);
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return b;
}

// The birthday ladder's bounds: rung "younger than a" starts the day after
// the latest birthday of someone aged a.
std::vector<int64_t> AgeBounds(LocalDate today) {
  std::vector<int64_t> b = {Ladder::kMinBound};
  for (int32_t a : kAges) b.push_back(LatestBirthdayAged(a, today) + 1);
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return b;
}

std::optional<int64_t> DayValue(int32_t day) { return day == kNoDay ? std::nullopt : std::optional<int64_t>(day); }

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
  // Replaced, never changed in place: a reader keeps the answer it took
  // while another reader refreshes.
  std::shared_ptr<const Roaring> members = std::make_shared<Roaring>();
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
    int32_t last_day = kNoDay;    // of the latest purchase with net above zero (SetLastDay)
    // The member's latest purchase: [live_layout] in `purchases`, the other
    // in the layout under way (Layout), so a layout finishes with a flip.
    std::array<int32_t, 2> latest{kNoPurchase, kNoPurchase};
    bool standing = false;        // mirrors `standing` to skip bitmap updates
    char padding[3] = {};
  };
  static_assert(sizeof(Numbers) == 32);
  ChunkedArray<WindowTotals> windows;  // by member, as of windows_day
  int32_t windows_day = kNoDay;        // kNoDay: not kept (before the first StartDay)
  ChunkedArray<Numbers> numbers;     // by member; chunked, so growth never copies
  // Range-encoded bitmaps of the numbers questions ask about most. Points
  // and growth are kept from the start; the kept windows' and the days'
  // ladders are rebuilt as each day starts (StartDay: the windows move and
  // the days' bounds are relative to today) and kept current in between.
  Ladder points_ladder{std::numeric_limits<int32_t>::min()}, growth_ladder{std::numeric_limits<int32_t>::min()};
  std::array<Ladder, kKeptWindows.size()> orders_ladders{Ladder(0), Ladder(0), Ladder(0), Ladder(0)};
  std::array<Ladder, kKeptWindows.size()> spend_ladders{Ladder(0), Ladder(0), Ladder(0), Ladder(0)};
  Ladder last_day_ladder, registered_ladder, birthday_ladder;
  // The next day's kept windows and days' ladders, built a run of members
  // at a time (BeginDay, StepDay) while the writer goes on, then swapped in
  // whole. Members below `next` are built, and the writer keeps them
  // current as it changes them (Restage); the others are built from what
  // they hold when their turn comes.
  struct Staging {
    int32_t day = kNoDay;
    uint32_t next = 0;
    ChunkedArray<WindowTotals> windows;
    std::array<Ladder, kKeptWindows.size()> orders_ladders{Ladder(0), Ladder(0), Ladder(0), Ladder(0)};
    std::array<Ladder, kKeptWindows.size()> spend_ladders{Ladder(0), Ladder(0), Ladder(0), Ladder(0)};
    Ladder last_day_ladder, registered_ladder, birthday_ladder;
  };
  std::unique_ptr<Staging> staging;  // none between days
  ChunkedArray<Purchase> purchases;            // by slot
  size_t compacted = 0;                        // purchases laid out by member (the rest appended since)
  uint8_t live_layout = 0;                     // which of Numbers::latest `purchases` goes with
  // The purchases laid out again a run of members at a time (BeginCompact,
  // StepCompact) while the writer goes on, then swapped in whole: members
  // below `next` are copied, and copied again when the writer changes
  // their purchases (Relayout; the earlier copy is left unused).
  struct Layout {
    ChunkedArray<Purchase> purchases;
    ChunkedArray<uint32_t> categories;
    uint32_t next = 0;
  };
  std::unique_ptr<Layout> layout;  // none between layouts

  int32_t& Latest(uint32_t m) { return numbers[m].latest[live_layout]; }
  int32_t Latest(uint32_t m) const { return numbers[m].latest[live_layout]; }

  // Copies member m's purchases, latest first, to the end of the layout.
  void LayOut(uint32_t m) {
    Layout& l = *layout;
    int32_t& first = numbers[m].latest[live_layout ^ 1];
    first = Latest(m) == kNoPurchase ? kNoPurchase : static_cast<int32_t>(l.purchases.size());
    for (int32_t old = Latest(m); old != kNoPurchase; old = purchases[static_cast<size_t>(old)].previous_of_member) {
      Purchase p = purchases[static_cast<size_t>(old)];
      const auto slot = static_cast<int32_t>(l.purchases.size());
      p.previous_of_member = p.previous_of_member == kNoPurchase ? kNoPurchase : slot + 1;
      const uint32_t begin = p.categories_begin;
      p.categories_begin = static_cast<uint32_t>(l.categories.size());
      for (uint32_t k = 0; k < p.categories_count; ++k) l.categories.push_back(purchase_categories[begin + k]);
      l.purchases.push_back(p);
    }
  }
  void Relayout(uint32_t m) {
    if (layout && m < layout->next) LayOut(m);
  }
  // Member m's purchases changed: whatever is being built beside the live
  // copy (a day's windows, a layout) takes it again if it has it already.
  void Rebuild(uint32_t m) {
    Restage(m);
    Relayout(m);
  }
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

  // Number fields the tenant's modules add (Field::kModule), by slot.
  // Few (one or two a module), so a field is found by walking them.
  static constexpr int64_t kNoValue = std::numeric_limits<int64_t>::min();
  struct ModuleColumn {
    std::string name;
    std::optional<int64_t> missing;  // the value of members never given one
    ChunkedArray<int64_t> values;    // by member; kNoValue: none
  };
  std::vector<ModuleColumn> module_fields;

  const ModuleColumn* ModuleField(std::string_view name) const {
    for (const ModuleColumn& c : module_fields) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  // Every module field `node` names is one of the tenant's: checked before
  // a question is answered, an error pointing at the field.
  Status CheckModuleFields(const Node& node) const {
    const FieldRef* field = nullptr;
    if (const auto* c = std::get_if<Compare>(&node.kind)) field = &c->field;
    if (const auto* in = std::get_if<In>(&node.kind)) field = &in->field;
    if (const auto* b = std::get_if<Between>(&node.kind)) field = &b->field;
    if (field && field->field == Field::kModule && ModuleField(field->name) == nullptr) {
      std::string list;
      for (const ModuleColumn& c : module_fields) list += (list.empty() ? "" : ", ") + c.name;
      return ExprError(node.position, "unknown field '" + field->name + "'",
                       list.empty() ? "a field: this tenant's modules add none"
                                    : "a field of this tenant's modules: " + list);
    }
    if (const auto* a = std::get_if<And>(&node.kind)) {
      for (const NodePtr& c : a->children) RETURN_IF_ERROR(CheckModuleFields(*c));
    }
    if (const auto* o = std::get_if<Or>(&node.kind)) {
      for (const NodePtr& c : o->children) RETURN_IF_ERROR(CheckModuleFields(*c));
    }
    if (const auto* n = std::get_if<Not>(&node.kind)) RETURN_IF_ERROR(CheckModuleFields(*n->child));
    return Status::Ok();
  }

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
    for (int32_t i = Latest(m); i != kNoPurchase; i = purchases[static_cast<size_t>(i)].previous_of_member) {
      f(purchases[static_cast<size_t>(i)]);
    }
  }

  // Every column holds member `m` afterwards. Called by every setter, so the
  // common case (already there) is one comparison.
  void Reserve(MemberId m) {
    const auto i = static_cast<size_t>(m);
    if (i < numbers.size()) return;
    for (TextColumn& t : text) Grow<uint32_t>(t.code_of, i, 0);
    for (size_t n = numbers.size(); n <= i; ++n) {  // new members start at 0 points and growth
      points_ladder.Move(static_cast<uint32_t>(n), std::nullopt, 0);
      growth_ladder.Move(static_cast<uint32_t>(n), std::nullopt, 0);
    }
    numbers.resize(i + 1);
    windows.resize(i + 1);
  }

  Impl() {
    points_ladder.Reset(kPointBounds);
    growth_ladder.Reset(kPointBounds);
  }

  // Counts a purchase in (sign 1) or out of (-1) the member's kept windows.
  void CountInWindows(uint32_t m, const Purchase& p, int sign) {
    if (windows_day == kNoDay || p.net_fen <= 0 || p.day > windows_day) return;
    WindowTotals now = windows[m];
    for (size_t w = 0; w < kKeptWindows.size(); ++w) {
      if (windows_day - p.day < kKeptWindows[w]) now.Add(w, sign, int64_t{sign} * p.net_fen);
    }
    SetWindows(m, now);
  }

  // A member's kept totals, moved on their ladders. A saturated total
  // (its kFull mark) leaves the rungs for the ladder's unsure members,
  // whom questions look at one by one.
  void SetWindows(uint32_t m, const WindowTotals& now) {
    const WindowTotals was = windows[m];
    windows[m] = now;
    MoveOnLadders(orders_ladders, spend_ladders, m, &was, now);
  }

  // `was` nullptr: the member is on none of the ladders yet.
  static void MoveOnLadders(std::array<Ladder, kKeptWindows.size()>& orders,
                            std::array<Ladder, kKeptWindows.size()>& spend, uint32_t m, const WindowTotals* was,
                            const WindowTotals& now) {
    auto move = [m](Ladder& ladder, std::optional<int64_t> from, int64_t to, int64_t full) {
      if (from == to) return;
      if (to == full) {
        ladder.MarkUnsure(m);
      } else {
        ladder.Move(m, from == full ? std::nullopt : from, to);
      }
    };
    for (size_t w = 0; w < kKeptWindows.size(); ++w) {
      move(orders[w], was ? std::optional<int64_t>(was->orders[w]) : std::nullopt, now.orders[w],
           WindowTotals::kFullOrders);
      move(spend[w], was ? std::optional<int64_t>(was->spend_fen[w]) : std::nullopt, now.spend_fen[w],
           WindowTotals::kFullSpend);
    }
  }

  // A member's kept totals as of `day`, from its purchases.
  WindowTotals TotalsAsOf(uint32_t m, int32_t day) const {
    WindowTotals t;
    ForEachPurchaseOf(m, [&](const Purchase& p) {
      if (p.net_fen <= 0 || p.day > day) return;
      for (size_t w = 0; w < kKeptWindows.size(); ++w) {
        if (day - p.day < kKeptWindows[w]) t.Add(w, 1, p.net_fen);
      }
    });
    return t;
  }

  // Builds the next member's share of the next day (staging->next).
  void StageNext() {
    Staging& st = *staging;
    const uint32_t m = st.next++;
    if (st.windows.size() <= m) st.windows.resize(size_t{m} + 1);
    st.windows[m] = TotalsAsOf(m, st.day);
    MoveOnLadders(st.orders_ladders, st.spend_ladders, m, nullptr, st.windows[m]);
    st.last_day_ladder.Move(m, std::nullopt, DayValue(numbers[m].last_day));
    st.registered_ladder.Move(m, std::nullopt, DayValue(numbers[m].registered));
    st.birthday_ladder.Move(m, std::nullopt, DayValue(numbers[m].birthday));
  }

  // A built member's purchases changed: its totals for the next day again.
  void Restage(uint32_t m) {
    if (!staging || m >= staging->next) return;
    Staging& st = *staging;
    const WindowTotals was = st.windows[m];
    st.windows[m] = TotalsAsOf(m, st.day);
    MoveOnLadders(st.orders_ladders, st.spend_ladders, m, &was, st.windows[m]);
  }

  // The next day's copy of a days' ladder, when member m is built there.
  Ladder* StagedOf(const Ladder& ladder, uint32_t m) {
    if (!staging || m >= staging->next) return nullptr;
    if (&ladder == &last_day_ladder) return &staging->last_day_ladder;
    if (&ladder == &registered_ladder) return &staging->registered_ladder;
    if (&ladder == &birthday_ladder) return &staging->birthday_ladder;
    return nullptr;  // points and growth do not depend on the day
  }

  // Orders (kOrders) or spend in fen in kept window w as of windows_day:
  // the kept total, or a walk of the purchases when it is saturated.
  int64_t WindowTotal(uint32_t m, size_t w, Field field) const {
    if (field == Field::kOrders && windows[m].orders[w] != WindowTotals::kFullOrders) return windows[m].orders[w];
    if (field == Field::kSpend && windows[m].spend_fen[w] != WindowTotals::kFullSpend) return windows[m].spend_fen[w];
    const Walked walked = Walk(m, windows_day - kKeptWindows[w] + 1, windows_day);
    return field == Field::kOrders ? walked.orders : walked.spend;
  }

  // A member's orders with net above zero on days [first, last].
  struct Walked {
    int64_t orders = 0, spend = 0, weekend = 0, max_units = 0;
  };
  Walked Walk(uint32_t m, int32_t first, int32_t last) const {
    Walked out;
    ForEachPurchaseOf(m, [&](const Purchase& p) {
      if (p.net_fen > 0 && p.day >= first && p.day <= last) {
        ++out.orders;
        out.spend += p.net_fen;
        out.weekend += OnWeekend(p.day) ? 1 : 0;
        out.max_units = std::max<int64_t>(out.max_units, p.units);
      }
    });
    return out;
  }

  void SetLastDay(uint32_t m, int32_t day) {
    last_day_ladder.Move(m, DayValue(numbers[m].last_day), DayValue(day));
    if (Ladder* next = StagedOf(last_day_ladder, m)) next->Move(m, DayValue(numbers[m].last_day), DayValue(day));
    numbers[m].last_day = day;
  }

  int32_t LastDayOf(uint32_t m) const {
    int32_t last = kNoDay;
    ForEachPurchaseOf(m, [&](const Purchase& p) {
      if (p.net_fen > 0) last = std::max(last, p.day);
    });
    return last;
  }

  // Sets a member's number and moves it on its ladder; a change is a
  // touch, for the rule tags. A day column's kNoDay is no value.
  void SetNumber(MemberId member, int32_t Numbers::*field, int32_t value, Ladder& ladder, bool is_day) {
    Reserve(member);
    const auto m = static_cast<uint32_t>(member);
    int32_t& slot = numbers[m].*field;
    if (slot == value) return;
    ladder.Move(m, is_day ? DayValue(slot) : slot, is_day ? DayValue(value) : value);
    if (Ladder* next = StagedOf(ladder, m)) next->Move(m, DayValue(slot), DayValue(value));
    slot = value;
    Touch(m);
  }

  // --- evaluation ---------------------------------------------------------
  struct Query {
    const QueryContext& context;
    int32_t today;
  };

  // A number condition read from a ladder: its range in the ladder's
  // values (fen, whole counts or points, days), both ends included.
  struct LadderQuestion {
    const Ladder* ladder;
    int64_t lo, hi;
  };

  // The range of whole values in [L, H] hundredths, for a field counted in
  // `unit` hundredths; open ends stay open.
  static std::pair<int64_t, int64_t> WholeRange(int64_t L, int64_t H, int64_t unit) {
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
    auto floor_div = [](int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); };
    const int64_t lo = L == kMin ? kMin : -floor_div(-L, unit);  // ceil
    const int64_t hi = H == kMax ? kMax : floor_div(H, unit);
    return {lo, hi};
  }

  // A number condition that holds on one range of values: its field and
  // the range in hundredths, both ends included (open ends at the int64
  // limits). Not `!=`, `not between` or `in`.
  struct NumberRange {
    const FieldRef* field;
    int64_t L, H;
  };
  static std::optional<NumberRange> RangeOf(const Node& node) {
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
    if (const auto* c = std::get_if<Compare>(&node.kind)) {
      const int64_t x = c->value.hundredths;
      switch (c->op) {
        case CompareOp::kEq: return NumberRange{&c->field, x, x};
        case CompareOp::kLt: return NumberRange{&c->field, kMin, x - 1};
        case CompareOp::kLe: return NumberRange{&c->field, kMin, x};
        case CompareOp::kGt: return NumberRange{&c->field, x + 1, kMax};
        case CompareOp::kGe: return NumberRange{&c->field, x, kMax};
        case CompareOp::kNe: return std::nullopt;
      }
    }
    if (const auto* b = std::get_if<Between>(&node.kind); b && !b->negated) {
      return NumberRange{&b->field, b->low.hundredths, b->high.hundredths};
    }
    return std::nullopt;
  }

  // The ladder and range for a condition, or nullopt when it has none:
  // `!=`, `not between`, `in`, fields without a ladder (weekend orders,
  // most units, birthday month), windows not kept for this day, ladders
  // not built yet.
  std::optional<LadderQuestion> OnLadder(const Node& node, const Query& q) const {
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
    const std::optional<NumberRange> range = RangeOf(node);
    if (!range) return std::nullopt;
    const FieldRef* field = range->field;
    const int64_t L = range->L, H = range->H;
    const int slot = q.today == windows_day ? KeptWindowSlot(field->days) : -1;
    const Ladder* ladder = nullptr;
    int64_t unit = 100;
    switch (field->field) {
      case Field::kPoints: ladder = &points_ladder; break;
      case Field::kGrowth: ladder = &growth_ladder; break;
      case Field::kOrders: ladder = slot >= 0 ? &orders_ladders[static_cast<size_t>(slot)] : nullptr; break;
      case Field::kSpend:
        ladder = slot >= 0 ? &spend_ladders[static_cast<size_t>(slot)] : nullptr;
        unit = 1;  // fen are hundredths of a yuan
        break;
      case Field::kLastOrderDays: ladder = &last_day_ladder; break;
      case Field::kRegisteredDays: ladder = &registered_ladder; break;
      case Field::kAge: ladder = &birthday_ladder; break;
      default: return std::nullopt;
    }
    if (ladder == nullptr || !ladder->ready()) return std::nullopt;
    auto [lo, hi] = WholeRange(L, H, unit);
    if (lo > hi) return LadderQuestion{ladder, 1, 0};
    switch (field->field) {
      case Field::kLastOrderDays:
      case Field::kRegisteredDays: {  // days since: a day range
        const int64_t first = hi == kMax ? kMin : q.today - hi, last = lo == kMin ? kMax : q.today - lo;
        return LadderQuestion{ladder, first, last};
      }
      case Field::kAge: {  // born after the latest birthday of age hi + 1, on or before that of age lo
        const LocalDate today = LocalDate::FromDays(q.today);
        const int64_t first = hi == kMax ? kMin : LatestBirthdayAged(std::min<int64_t>(hi, 100'000) + 1, today) + 1;
        const int64_t last = lo == kMin ? kMax : LatestBirthdayAged(std::max<int64_t>(lo, -100'000), today);
        return LadderQuestion{ladder, first, last};
      }
      default: return LadderQuestion{ladder, lo, hi};
    }
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
        if (slot >= 0 && ref.field == Field::kOrders) return WindowTotal(m, static_cast<size_t>(slot), ref.field) * 100;
        if (slot >= 0 && ref.field == Field::kSpend) return WindowTotal(m, static_cast<size_t>(slot), ref.field);
        const Walked walked = Walk(m, q.today - ref.days + 1, q.today);
        switch (ref.field) {
          case Field::kOrders: return walked.orders * 100;
          case Field::kWeekendOrders: return walked.weekend * 100;
          case Field::kMaxUnits: return walked.max_units * 100;
          default: return walked.spend;  // fen are hundredths of a yuan
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
      case Field::kModule: {
        const ModuleColumn* column = ModuleField(ref.name);  // CheckModuleFields found it
        if (column == nullptr) return std::nullopt;
        const int64_t v = m < column->values.size() ? column->values[m] : kNoValue;
        if (v == kNoValue) return column->missing ? std::optional(*column->missing * 100) : std::nullopt;
        return v * 100;
      }
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
      return ExprError(v.position, FieldText(ref) + " compares " +
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

  // What a condition costs per member looked at: 0 answered from bitmaps
  // alone, 1 a look at the member's numbers, 2 a walk of its purchases. A
  // compound costs what its dearest part does.
  static int Cost(const Node& node) {
    auto field_cost = [](const FieldRef& f) {
      if (IsTextField(f.field)) return 0;
      const bool walks = f.field == Field::kOrders || f.field == Field::kSpend || f.field == Field::kWeekendOrders ||
                         f.field == Field::kMaxUnits;
      return walks ? 2 : 1;
    };
    return std::visit(
        [&](const auto& n) -> int {
          using T = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<T, Compare> || std::is_same_v<T, In> || std::is_same_v<T, Between>) {
            return field_cost(n.field);
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

  // A number condition: from its ladder when it has one, else member by member.
  Result<Roaring> ScanOne(const Node& node, const Query& q, const Roaring& within) const {
    const Node* one = &node;
    return AndOf(std::span(&one, 1), q, within, nullptr);
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
      RETURN_IF_ERROR(CheckValue(FieldRef{system->first, 0, {}}, value, q));
      return TextMembers(system->first, {&value}) & within;
    }
    auto it = tags.find(t.name);
    if (it == tags.end()) {
      return ExprError(at, "unknown tag \"" + t.name + "\"", "the name of an existing tag",
                       "system tags are written like \"tier:gold\", \"lifecycle:mature\", \"rfm:important_value\", "
                       "\"source:store_qr\" or \"home_store:S001\"");
    }
    if (!it->second.rule) return it->second.manual & within;
    ASSIGN_OR_RETURN(std::shared_ptr<const Roaring> members, RuleMembers(it->second, q));
    return *members & within;
  }

  // A rule tag's members among `within`, refreshing its cache first: for
  // the members touched since, or wholly when it is stale (never computed,
  // another day for a rule reading the date, other tiers or categories, or
  // older than the touch log).
  Result<std::shared_ptr<const Roaring>> RuleMembers(const TagEntry& tag, const Query& q) const {
    RuleCache& c = *tag.cache;
    std::lock_guard lock(c.mu);
    const uint64_t end = touched_base + touched.size();
    const bool stale = !c.valid || (tag.time_dependent && c.day != q.today) || c.seen < touched_base ||
                       c.tier_ids != q.context.tier_ids || c.category_parents != q.context.category_parents;
    if (stale) {
      c.valid = false;
      ASSIGN_OR_RETURN(Roaring all, Eval(*tag.rule, q, standing));
      c.members = std::make_shared<const Roaring>(std::move(all));
    } else if (c.seen < end) {
      Roaring changed;
      changed.addMany(static_cast<size_t>(end - c.seen), touched.data() + (c.seen - touched_base));
      ASSIGN_OR_RETURN(Roaring now, Eval(*tag.rule, q, changed & standing));
      auto members = std::make_shared<Roaring>(*c.members - changed);
      *members |= now;
      c.members = std::move(members);
    }
    c.valid = true;
    c.day = q.today;
    c.seen = end;
    for (uint64_t read = touched_read.load(); read < end && !touched_read.compare_exchange_weak(read, end);) {
    }
    c.tier_ids = q.context.tier_ids;
    c.category_parents = q.context.category_parents;
    return c.members;
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

  Result<Roaring> EvalKind(const Bought&, const Node& node, const Query& q, const Roaring& within) const {
    const Node* one = &node;
    return AndOf(std::span(&one, 1), q, within, nullptr);
  }

  // The members who bought in category `codes` (and under) on a day of
  // [first, last]: one bitmap, the union of the day bitmaps.
  Roaring BoughtAny(const std::vector<uint32_t>& codes, int32_t first, int32_t last) const {
    std::vector<const Roaring*> days;
    for (uint32_t code : codes) {
      if (code >= bought_on.size()) continue;
      bought_on[code].ForEachIn(first, last, [&](int32_t, const Roaring& r) { days.push_back(&r); });
    }
    return days.empty() ? Roaring() : Roaring::fastunion(days.size(), days.data());
  }

  // Whether member `m` has `min_orders` orders with net above zero on days
  // [first, last] holding an item of `codes`.
  bool BoughtAtLeast(uint32_t m, const std::vector<uint32_t>& codes, int32_t first, int32_t last, int32_t min_orders) const {
    int32_t orders = 0;
    ForEachPurchaseOf(m, [&](const Purchase& p) {
      if (orders >= min_orders || p.net_fen <= 0 || p.day < first || p.day > last) return;
      for (uint32_t k = 0; k < p.categories_count; ++k) {
        if (std::find(codes.begin(), codes.end(), purchase_categories[p.categories_begin + k]) != codes.end()) {
          ++orders;
          break;
        }
      }
    });
    return orders >= min_orders;
  }

  // A condition on a number, tested member by member, checked once per
  // question.
  struct ScanLeaf {
    const Node* node = nullptr;  // a Compare, In or Between on a number
    bool negated = false;        // under a `not`
  };

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
    std::vector<const Node*> children;
    for (const NodePtr& child : a.children) children.push_back(child.get());
    return AndOf(children, q, within, nullptr);
  }

  // --- an `and` read 65 536 members at a time ------------------------------
  // The conditions of an `and` that bitmaps, ladders and looks at single
  // members answer are evaluated together, chunk by chunk, on plain words:
  // no bitmap is built for any step, and a member leaves as soon as one
  // condition fails it. The others (or, nested and, `!=` on text) follow on
  // what is left.

  // One condition, as the members of a chunk it holds ("cond").
  struct Operand {
    bool everyone = false;              // cond starts as everyone still in question,
    std::vector<const Roaring*> any;    // else as those on any of these (none: nobody)
    const Roaring* minus = nullptr;     // less those on this,
    const Roaring* unsure = nullptr;    // plus those on this, each looked at
    // keep(m) then decides for members of cond: every one (look_all), or
    // those not on low_next and those on high_edge (a ladder's inexact
    // ends; nullptr: every one).
    std::function<bool(uint32_t)> keep;
    bool look_all = false, look_low = false, look_high = false;
    const Roaring* low_next = nullptr;
    const Roaring* high_edge = nullptr;
    bool negated = false;  // the `and` keeps the members not in cond
    int rank = 0;          // bitmaps, then ladders, then looks (by cost)
    double share = 1;      // of members in question it keeps, roughly: the most selective go first
    std::vector<std::shared_ptr<const Roaring>> held;  // bitmaps it owns (unions, rule answers)
  };

  // The condition as an Operand, or nullopt when it is not one.
  using MaybeOperand = std::optional<Operand>;

  Result<MaybeOperand> Fuse(const Node& node, const Query& q) const {
    if (const auto* n = std::get_if<Not>(&node.kind)) {
      ASSIGN_OR_RETURN(MaybeOperand inner, Fuse(*n->child, q));
      if (inner) inner->negated = !inner->negated;
      return inner;
    }
    Operand op;
    auto value_members = [&](Field f, const Value& v) {
      const TextColumn& t = text[static_cast<size_t>(TextSlot(f))];
      if (auto code = t.Find(v.text)) op.any.push_back(&t.members[*code]);
    };
    if (const auto* c = std::get_if<Compare>(&node.kind); c && IsTextField(c->field.field)) {
      if (c->op != CompareOp::kEq) return MaybeOperand();
      RETURN_IF_ERROR(CheckValue(c->field, c->value, q));
      value_members(c->field.field, c->value);
      return MaybeOperand(std::move(op));
    }
    if (const auto* in = std::get_if<In>(&node.kind); in && IsTextField(in->field.field)) {
      if (in->negated) return MaybeOperand();
      for (const Value& v : in->values) RETURN_IF_ERROR(CheckValue(in->field, v, q));
      for (const Value& v : in->values) value_members(in->field.field, v);
      return MaybeOperand(std::move(op));
    }
    if (const auto* b = std::get_if<Between>(&node.kind); b && IsTextField(b->field.field)) return MaybeOperand();
    if (std::holds_alternative<Compare>(node.kind) || std::holds_alternative<In>(node.kind) ||
        std::holds_alternative<Between>(node.kind)) {
      ASSIGN_OR_RETURN(ScanLeaf leaf, Prepare(node, q));
      op.keep = [this, leaf, &q](uint32_t m) { return Holds(leaf, m, q); };
      const auto ladder = OnLadder(node, q);
      if (!ladder) {
        op.look_all = true;
        op.rank = 1 + Cost(node);
        const Roaring* recent = OrderedWithin(node, q);
        op.everyone = recent == nullptr;
        if (recent) op.any.push_back(recent);
        return MaybeOperand(std::move(op));
      }
      op.rank = 1;
      const Ladder::Span span = ladder->ladder->SpanOf(ladder->lo, ladder->hi);
      if (span.none) return MaybeOperand(std::move(op));  // nobody
      op.everyone = span.at_least == nullptr;
      if (span.at_least) op.any.push_back(span.at_least);
      op.minus = span.above;
      op.unsure = span.unsure;
      op.look_low = !span.low_exact;
      op.low_next = span.low_edge_next;
      op.look_high = !span.high_exact;
      op.high_edge = span.high_edge;
      return MaybeOperand(std::move(op));
    }
    if (const auto* t = std::get_if<Tag>(&node.kind)) {
      const size_t at = t->name_position ? t->name_position : node.position;
      if (auto system = SystemTag(t->name)) {
        const Value value{true, std::string(system->second), 0, at};
        RETURN_IF_ERROR(CheckValue(FieldRef{system->first, 0, {}}, value, q));
        value_members(system->first, value);
        return MaybeOperand(std::move(op));
      }
      auto it = tags.find(t->name);
      if (it == tags.end()) return MaybeOperand();  // Eval names the unknown tag
      if (!it->second.rule) {
        op.any.push_back(&it->second.manual);
        return MaybeOperand(std::move(op));
      }
      ASSIGN_OR_RETURN(std::shared_ptr<const Roaring> members, RuleMembers(it->second, q));
      op.any.push_back(members.get());
      op.held.push_back(std::move(members));
      return MaybeOperand(std::move(op));
    }
    if (const auto* b = std::get_if<Bought>(&node.kind)) {
      std::vector<uint32_t> codes = CategoryCodes(b->category, q.context);
      const int32_t first = q.today - b->days + 1, last = q.today;
      auto any = std::make_shared<const Roaring>(BoughtAny(codes, first, last));
      op.any.push_back(any.get());
      op.held.push_back(std::move(any));
      if (b->min_orders > 1) {
        op.rank = 3;
        op.look_all = true;
        op.keep = [this, codes = std::move(codes), first, last, k = b->min_orders](uint32_t m) {
          return BoughtAtLeast(m, codes, first, last, k);
        };
      }
      return MaybeOperand(std::move(op));
    }
    return MaybeOperand();
  }

  // For a window condition that only members with an order in the window
  // can meet (`weekend_orders_90d >= 2`, `max_units_30d > 3`,
  // `spend_7d > 0`): the members whose last order may lie in it, a
  // superset read from the last-order ladder. nullptr when there is none.
  const Roaring* OrderedWithin(const Node& node, const Query& q) const {
    const std::optional<NumberRange> range = RangeOf(node);
    if (!range || range->L <= 0 || !last_day_ladder.ready()) return nullptr;
    const Field f = range->field->field;
    if (f != Field::kOrders && f != Field::kSpend && f != Field::kWeekendOrders && f != Field::kMaxUnits) return nullptr;
    const Ladder::Span span = last_day_ladder.SpanOf(int64_t{q.today} - range->field->days + 1,
                                                     std::numeric_limits<int64_t>::max());
    return span.at_least;
  }

  // Scratch words for one chunk.
  struct ChunkScratch {
    ChunkWords acc, cond, look, decoded, unsure;
  };

  // Narrows `acc` (chunk `key`) to the members `op` leaves.
  void Apply(const Operand& op, uint16_t key, ChunkScratch& s) const {
    uint64_t* acc = s.acc.data();
    uint64_t* cond = s.cond.data();
    if (op.everyone) {
      std::copy(s.acc.begin(), s.acc.end(), s.cond.begin());
    } else {
      s.cond.fill(0);
      for (const Roaring* r : op.any) {
        if (const uint64_t* w = ChunkOf(*r, key, s.decoded)) {
          for (size_t i = 0; i < kChunkWords; ++i) cond[i] |= w[i] & acc[i];
        }
      }
    }
    if (op.minus) {
      if (const uint64_t* w = ChunkOf(*op.minus, key, s.decoded)) {
        for (size_t i = 0; i < kChunkWords; ++i) cond[i] &= ~w[i];
      }
    }
    const uint64_t* unsure = op.unsure ? ChunkOf(*op.unsure, key, s.unsure) : nullptr;
    if (unsure) {
      for (size_t i = 0; i < kChunkWords; ++i) cond[i] |= unsure[i] & acc[i];
    }
    if (op.keep && (op.look_all || op.look_low || op.look_high || unsure)) {
      uint64_t* look = s.look.data();
      if (op.look_all) {
        std::copy(s.cond.begin(), s.cond.end(), s.look.begin());
      } else {
        s.look.fill(0);
        auto add = [&](const Roaring* edge, bool on_edge) {
          const uint64_t* w = edge ? ChunkOf(*edge, key, s.decoded) : nullptr;
          for (size_t i = 0; i < kChunkWords; ++i) {
            const uint64_t e = edge == nullptr ? ~uint64_t{0} : w == nullptr ? (on_edge ? 0 : ~uint64_t{0}) : (on_edge ? w[i] : ~w[i]);
            look[i] |= cond[i] & e;
          }
        };
        if (op.look_low) add(op.low_next, false);
        if (op.look_high) add(op.high_edge, true);
        if (unsure) {
          for (size_t i = 0; i < kChunkWords; ++i) look[i] |= unsure[i] & cond[i];
        }
      }
      const uint32_t base = uint32_t{key} << 16;
      for (size_t i = 0; i < kChunkWords; ++i) {
        for (uint64_t bits = look[i]; bits != 0; bits &= bits - 1) {
          const int b = __builtin_ctzll(bits);
          if (!op.keep(base | static_cast<uint32_t>(i * 64 + static_cast<size_t>(b)))) cond[i] &= ~(uint64_t{1} << b);
        }
      }
    }
    if (op.negated) {
      for (size_t i = 0; i < kChunkWords; ++i) acc[i] &= ~cond[i];
    } else {
      std::copy(s.cond.begin(), s.cond.end(), s.acc.begin());
    }
  }

  // The members of `within` matching every one of `children`. With `count`
  // set, only their number is wanted: it is stored there, and the bitmap
  // returned is left empty when no building was needed for it.
  Result<Roaring> AndOf(std::span<const Node* const> children, const Query& q, const Roaring& within,
                        uint64_t* count) const {
    std::vector<Operand> ops;
    std::vector<const Node*> rest;
    for (const Node* child : children) {
      ASSIGN_OR_RETURN(MaybeOperand op, Fuse(*child, q));
      if (op) {
        ops.push_back(std::move(*op));
      } else {
        rest.push_back(child);
      }
    }
    const double in_question = std::max<double>(1, static_cast<double>(within.cardinality()));
    for (Operand& op : ops) {
      if (op.everyone) continue;
      double held = 0;
      for (const Roaring* r : op.any) held += static_cast<double>(r->cardinality());
      op.share = std::min(1.0, held / in_question);
      if (op.negated) op.share = 1 - op.share;
    }
    std::stable_sort(ops.begin(), ops.end(), [](const Operand& x, const Operand& y) {
      return x.rank != y.rank ? x.rank < y.rank : x.share < y.share;
    });
    std::stable_sort(rest.begin(), rest.end(), [](const Node* x, const Node* y) { return Cost(*x) < Cost(*y); });

    const bool count_only = count != nullptr && rest.empty();
    uint64_t matched = 0;
    Roaring out;
    auto scratch = std::make_unique<ChunkScratch>();
    for (uint16_t key : ChunkKeys(within)) {
      const uint64_t* w = ChunkOf(within, key, scratch->decoded);
      std::copy(w, w + kChunkWords, scratch->acc.begin());
      for (const Operand& op : ops) {
        Apply(op, key, *scratch);
        uint64_t left = 0;
        for (uint64_t word : scratch->acc) left |= word;
        if (left == 0) break;
      }
      if (count_only) {
        matched += PopCount(scratch->acc.data());
      } else {
        AppendChunk(out, key, scratch->acc.data());
      }
    }
    for (const Node* child : rest) {
      ASSIGN_OR_RETURN(out, Eval(*child, q, out));
    }
    if (count != nullptr) *count = count_only ? matched : out.cardinality();
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

int SegmentIndex::DefineNumberField(std::string name, std::optional<int64_t> missing) {
  for (size_t i = 0; i < impl_->module_fields.size(); ++i) {
    if (impl_->module_fields[i].name == name) return static_cast<int>(i);
  }
  impl_->module_fields.push_back({std::move(name), missing, {}});
  return static_cast<int>(impl_->module_fields.size() - 1);
}

void SegmentIndex::SetNumber(MemberId member, int field, std::optional<int64_t> value) {
  ChunkedArray<int64_t>& values = impl_->module_fields.at(static_cast<size_t>(field)).values;
  const auto m = static_cast<uint32_t>(member);
  const int64_t v = value.value_or(Impl::kNoValue);
  if (m >= values.size()) {
    if (v == Impl::kNoValue) return;
    const size_t from = values.size();
    values.resize(m + 1);
    for (size_t i = from; i <= m; ++i) values[i] = Impl::kNoValue;
  }
  if (values[m] == v) return;
  values[m] = v;
  impl_->Touch(m);
}

void SegmentIndex::SetPoints(MemberId member, int64_t points) {
  impl_->SetNumber(member, &Impl::Numbers::points, Narrow(points), impl_->points_ladder, false);
}

void SegmentIndex::SetGrowth(MemberId member, int64_t growth) {
  impl_->SetNumber(member, &Impl::Numbers::growth, Narrow(growth), impl_->growth_ladder, false);
}

void SegmentIndex::SetRegistered(MemberId member, std::optional<LocalDate> day) {
  impl_->SetNumber(member, &Impl::Numbers::registered, day ? day->days() : kNoDay, impl_->registered_ladder, true);
}

void SegmentIndex::SetBirthday(MemberId member, std::optional<LocalDate> birthday) {
  impl_->SetNumber(member, &Impl::Numbers::birthday, birthday ? birthday->days() : kNoDay, impl_->birthday_ladder,
                   true);
}

void SegmentIndex::AddPurchase(MemberId member, int32_t order, LocalDate day, Money net, int32_t units,
                               std::span<const std::string_view> categories) {
  impl_->Reserve(member);
  Impl& i = *impl_;
  const auto slot = static_cast<int32_t>(i.purchases.size());
  int32_t& latest = i.Latest(static_cast<uint32_t>(member));
  Purchase p{Narrow(net.fen()), day.days(), order, latest, static_cast<uint32_t>(i.purchase_categories.size()), 0,
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
  i.Rebuild(m);
  i.MarkBought(m, p);
  if (p.net_fen > 0 && p.day > i.numbers[m].last_day) i.SetLastDay(m, p.day);
  i.Touch(m);
}

void SegmentIndex::SetPurchaseNet(MemberId member, int32_t order, Money net) {
  Impl& i = *impl_;
  if (static_cast<size_t>(member) >= i.numbers.size()) return;
  const auto m = static_cast<uint32_t>(member);
  // A member has a handful of orders: the walk finds it without an index by order.
  int32_t slot = i.Latest(m);
  while (slot != kNoPurchase && i.purchases[static_cast<size_t>(slot)].order != order) {
    slot = i.purchases[static_cast<size_t>(slot)].previous_of_member;
  }
  if (slot == kNoPurchase) return;
  Purchase& p = i.purchases[static_cast<size_t>(slot)];
  i.CountInWindows(m, p, -1);
  const bool had = p.net_fen > 0;
  p.net_fen = Narrow(net.fen());
  i.CountInWindows(m, p, 1);
  i.Rebuild(m);
  if (had && p.net_fen <= 0) i.UnmarkBought(m, p);
  if (!had) i.MarkBought(m, p);
  i.SetLastDay(m, i.LastDayOf(m));
  i.Touch(m);
}

void SegmentIndex::Compact() {
  BeginCompact();
  while (!StepCompact(SIZE_MAX)) {
  }
}

void SegmentIndex::BeginCompact() {
  if (!impl_->layout) impl_->layout = std::make_unique<Impl::Layout>();
}

bool SegmentIndex::StepCompact(size_t members) {
  Impl& i = *impl_;
  if (!i.layout) return true;
  Impl::Layout& l = *i.layout;
  for (size_t n = 0; n < members && l.next < i.numbers.size(); ++n) i.LayOut(l.next++);
  if (l.next < i.numbers.size()) return false;
  // The columns swapped out are hundreds of megabytes at 10 M members:
  // freed off the writer.
  FreeLater(std::exchange(i.purchases, std::move(l.purchases)));
  FreeLater(std::exchange(i.purchase_categories, std::move(l.categories)));
  i.compacted = i.purchases.size();
  i.live_layout ^= 1;
  i.layout.reset();
  return true;
}

void SegmentIndex::StartDay(LocalDate today) {
  BeginDay(today);
  while (!StepDay(SIZE_MAX)) {
  }
}

void SegmentIndex::BeginDay(LocalDate today) {
  Impl& i = *impl_;
  if (i.windows_day == today.days() || (i.staging && i.staging->day == today.days())) return;
  // Yesterday's totals answer no question of today's: until today's are
  // in, questions walk the purchases, and the writer stops keeping them.
  i.windows_day = kNoDay;
  i.staging = std::make_unique<Impl::Staging>();
  Impl::Staging& st = *i.staging;
  st.day = today.days();
  for (Ladder& l : st.orders_ladders) l.Reset(kOrderBounds);
  for (Ladder& l : st.spend_ladders) l.Reset(SpendBounds());
  st.last_day_ladder.Reset(DaysBeforeBounds(kLastOrderDays, today.days()));
  st.registered_ladder.Reset(DaysBeforeBounds(kRegisteredDays, today.days()));
  st.birthday_ladder.Reset(AgeBounds(today));
}

bool SegmentIndex::StepDay(size_t members) {
  Impl& i = *impl_;
  if (!i.staging) return true;
  Impl::Staging& st = *i.staging;
  for (size_t n = 0; n < members && st.next < i.numbers.size(); ++n) i.StageNext();
  if (st.next < i.numbers.size()) return false;
  st.windows.resize(i.numbers.size());  // the live columns grow with every member
  FreeLater(std::exchange(i.windows, std::move(st.windows)));  // 240 MB at 10 M members
  i.orders_ladders = std::move(st.orders_ladders);
  i.spend_ladders = std::move(st.spend_ladders);
  i.last_day_ladder = std::move(st.last_day_ladder);
  i.registered_ladder = std::move(st.registered_ladder);
  i.birthday_ladder = std::move(st.birthday_ladder);
  i.windows_day = st.day;
  i.staging.reset();
  return true;
}

size_t SegmentIndex::purchases_since_compaction() const { return impl_->purchases.size() - impl_->compacted; }

void SegmentIndex::KeepCurrent(LocalDate today) {
  Impl& i = *impl_;
  // A day that began without a day run (events come first, or no
  // scheduler) is built a little with each change: the writer never
  // stops for all of it. kNoDay (none yet) is below every day.
  if (i.windows_day < today.days()) {
    BeginDay(today);
    StepDay(kStepWithAChange);
  }
  // Relaid once a quarter of the others arrived since (the day run lays
  // them out at an eighth, so a steady tenant's layouts stay at night):
  // over a history that arrives wholly live each purchase is copied about
  // five times, and the newest fifth at most (what windows read most)
  // waits for its layout. Measured on bench/segments' 200 k members sent in
  // time order: a walk of the 90-day window then costs up to 2.7x a loaded
  // one's (4x when half may wait, 1.3x when an eighth may), and a layout
  // takes 75 ms a million purchases, so a seldom one is preferred.
  constexpr size_t kFewest = size_t{1} << 16;
  if (purchases_since_compaction() > std::max(kFewest, i.compacted / 4)) BeginCompact();
  StepCompact(kStepWithAChange);
}

void SegmentIndex::Merge(MemberId survivor, MemberId merged) {
  Impl& i = *impl_;
  i.Reserve(std::max(survivor, merged));
  i.ForEachPurchaseOf(static_cast<uint32_t>(merged),
                      [&](const Purchase& p) { i.MarkBought(static_cast<uint32_t>(survivor), p); });
  int32_t& from = i.Latest(static_cast<uint32_t>(merged));
  int32_t& into = i.Latest(static_cast<uint32_t>(survivor));
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
  WindowTotals both = i.windows[s];
  both.Absorb(i.windows[g]);
  i.SetWindows(static_cast<uint32_t>(s), both);
  i.SetWindows(static_cast<uint32_t>(g), WindowTotals{});
  i.Rebuild(static_cast<uint32_t>(s));
  i.Rebuild(static_cast<uint32_t>(g));
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
  RETURN_IF_ERROR(impl_->CheckModuleFields(rule));
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
  const Impl::Query q{context, context.today.days()};
  for (const auto& [name, tag] : impl_->tags) {
    bool holds = false;
    if (tag.rule) {
      ASSIGN_OR_RETURN(std::shared_ptr<const Roaring> r, impl_->RuleMembers(tag, q));
      holds = r->contains(m);
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

namespace {
// Count's parts: an `and` at the top is counted chunk by chunk, without
// building its answer.
std::vector<const Node*> TopParts(const Node& expr) {
  std::vector<const Node*> parts;
  if (const auto* a = std::get_if<And>(&expr.kind)) {
    for (const NodePtr& child : a->children) parts.push_back(child.get());
  } else {
    parts.push_back(&expr);
  }
  return parts;
}
}  // namespace

Result<int64_t> SegmentIndex::Count(const Node& expr, const QueryContext& context) const {
  RETURN_IF_ERROR(impl_->CheckModuleFields(expr));
  uint64_t count = 0;
  RETURN_IF_ERROR(
      impl_->AndOf(TopParts(expr), Impl::Query{context, context.today.days()}, impl_->standing, &count).status());
  return static_cast<int64_t>(count);
}

namespace {
// The ids [from, to) as a bitmap (clamped to the index's 32-bit ids).
Roaring RangeOf(MemberId from, MemberId to) {
  const auto clamp = [](MemberId m) { return static_cast<uint64_t>(std::clamp<MemberId>(m, 0, UINT32_MAX)); };
  Roaring range;
  if (clamp(from) < clamp(to)) range.addRange(clamp(from), clamp(to));
  return range;
}
}  // namespace

Result<int64_t> SegmentIndex::CountIn(const Node& expr, const QueryContext& context, MemberId from,
                                      MemberId to) const {
  RETURN_IF_ERROR(impl_->CheckModuleFields(expr));
  Roaring within = RangeOf(from, to);
  within &= impl_->standing;
  uint64_t count = 0;
  RETURN_IF_ERROR(impl_->AndOf(TopParts(expr), Impl::Query{context, context.today.days()}, within, &count).status());
  return static_cast<int64_t>(count);
}

Result<std::vector<MemberId>> SegmentIndex::MatchIn(const Node& expr, const QueryContext& context, MemberId from,
                                                    MemberId to) const {
  RETURN_IF_ERROR(impl_->CheckModuleFields(expr));
  Roaring within = RangeOf(from, to);
  within &= impl_->standing;
  ASSIGN_OR_RETURN(Roaring matched, impl_->Eval(expr, Impl::Query{context, context.today.days()}, within));
  std::vector<MemberId> out;
  out.reserve(matched.cardinality());
  for (uint32_t m : matched) out.push_back(static_cast<MemberId>(m));
  return out;
}

Result<std::vector<MemberId>> SegmentIndex::Match(const Node& expr, const QueryContext& context,
                                                  size_t limit) const {
  RETURN_IF_ERROR(impl_->CheckModuleFields(expr));
  ASSIGN_OR_RETURN(Roaring matched, impl_->Eval(expr, Impl::Query{context, context.today.days()}, impl_->standing));
  std::vector<MemberId> out;
  for (uint32_t m : matched) {
    if (out.size() == limit) break;
    out.push_back(static_cast<MemberId>(m));
  }
  return out;
}

std::vector<uint64_t> SegmentIndex::SampleRanks(uint64_t n, size_t size, uint64_t seed) {
  const uint64_t k = std::min<uint64_t>(size, n);
  std::vector<uint64_t> ranks;
  Random rng(seed);
  for (uint64_t j = n - k; j < n; ++j) {
    const uint64_t t = rng.Uniform(j + 1);
    ranks.push_back(std::find(ranks.begin(), ranks.end(), t) == ranks.end() ? t : j);
  }
  std::sort(ranks.begin(), ranks.end());
  return ranks;
}

Result<std::vector<MemberId>> SegmentIndex::AtRanksIn(const Node& expr, const QueryContext& context, MemberId from,
                                                      MemberId to, std::span<const uint64_t> ranks) const {
  RETURN_IF_ERROR(impl_->CheckModuleFields(expr));
  Roaring within = RangeOf(from, to);
  within &= impl_->standing;
  ASSIGN_OR_RETURN(Roaring matched, impl_->Eval(expr, Impl::Query{context, context.today.days()}, within));
  std::vector<MemberId> out;
  for (uint64_t r : ranks) {
    uint32_t member = 0;
    if (r < matched.cardinality() && matched.select(static_cast<uint32_t>(r), &member)) out.push_back(member);
  }
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
  for (const Ladder* l : {&i.points_ladder, &i.growth_ladder, &i.last_day_ladder, &i.registered_ladder, &i.birthday_ladder}) {
    bytes += l->Bytes();
  }
  for (size_t w = 0; w < kKeptWindows.size(); ++w) bytes += i.orders_ladders[w].Bytes() + i.spend_ladders[w].Bytes();
  for (const KeyedBitmaps& by_day : i.bought_on) bytes += by_day.Bytes();
  for (const auto& [name, tag] : i.tags) {
    bytes += name.capacity() + tag.manual.getSizeInBytes(false) + tag.cache->members->getSizeInBytes(false);
  }
  bytes += i.touched.capacity() * sizeof(uint32_t);
  if (i.layout) bytes += i.layout->purchases.size() * sizeof(Purchase) + i.layout->categories.size() * sizeof(uint32_t);
  if (i.staging) {
    bytes += i.staging->windows.size() * sizeof(WindowTotals);
    for (size_t w = 0; w < kKeptWindows.size(); ++w) {
      bytes += i.staging->orders_ladders[w].Bytes() + i.staging->spend_ladders[w].Bytes();
    }
    for (const Ladder* l : {&i.staging->last_day_ladder, &i.staging->registered_ladder, &i.staging->birthday_ladder}) {
      bytes += l->Bytes();
    }
  }
  for (const Impl::ModuleColumn& c : i.module_fields) bytes += c.values.size() * sizeof(int64_t);
  return bytes;
}

}  // namespace pond::segments
