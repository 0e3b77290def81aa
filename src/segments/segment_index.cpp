#include "segments/segment_index.hpp"

#include <roaring/roaring.hh>

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/chunked_array.hpp"
#include "core/random.hpp"

namespace pond::segments {
namespace {

constexpr int32_t kNoDay = std::numeric_limits<int32_t>::min();
constexpr int kTextFields = 7;  // kTier .. kOwnerStaff

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

// One order, at its position in the tenant's order book; a member's are
// linked newest to oldest, so the history is one array with no allocation
// per member.
struct Purchase {
  int64_t net_fen = 0;
  int32_t day = 0;
  int32_t previous_of_member = -1;
  uint32_t categories_begin = 0;  // into Impl::purchase_categories
  uint32_t categories_count = 0;
};
constexpr int32_t kNoPurchase = -1;

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
  struct Numbers {
    int64_t points = 0;
    int64_t growth = 0;
    int32_t registered = kNoDay;  // day
    int32_t birthday = kNoDay;    // day
    int32_t latest_purchase = kNoPurchase;
    bool standing = false;        // mirrors `standing` to skip bitmap updates
  };
  ChunkedArray<Numbers> numbers;     // by member; chunked, so growth never copies
  ChunkedArray<Purchase> purchases;  // by order position
  ChunkedArray<uint32_t> purchase_categories;  // codes of `categories`
  TextColumn categories;                       // dictionary only

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
  }

  // --- evaluation ---------------------------------------------------------
  struct Query {
    const QueryContext& context;
    int32_t today;
  };

  // Members of `within` whose numeric value for `ref` exists and satisfies `keep`.
  template <typename Keep>
  Roaring ScanNumbers(const FieldRef& ref, const Query& q, const Roaring& within, Keep keep) const {
    Roaring out;
    std::vector<uint32_t> batch;
    batch.reserve(4096);
    auto flush = [&] {
      out.addMany(batch.size(), batch.data());
      batch.clear();
    };
    for (uint32_t m : within) {
      const std::optional<int64_t> v = NumberOf(ref, m, q);
      if (v && keep(*v)) {
        batch.push_back(m);
        if (batch.size() == 4096) flush();
      }
    }
    flush();
    return out;
  }

  // The member's value of a numeric field in hundredths (so it compares with
  // Value::hundredths), or nullopt when the member has none.
  std::optional<int64_t> NumberOf(const FieldRef& ref, uint32_t m, const Query& q) const {
    switch (ref.field) {
      case Field::kPoints: return numbers[m].points * 100;
      case Field::kGrowth: return numbers[m].growth * 100;
      case Field::kOrders:
      case Field::kSpend: {
        const int32_t first = q.today - ref.days + 1;
        int64_t count = 0, spend = 0;
        ForEachPurchaseOf(m, [&](const Purchase& p) {
          if (p.net_fen > 0 && p.day >= first && p.day <= q.today) {
            ++count;
            spend += p.net_fen;
          }
        });
        return ref.field == Field::kOrders ? count * 100 : spend;  // fen are hundredths of a yuan
      }
      case Field::kLastOrderDays: {
        int32_t last = kNoDay;
        ForEachPurchaseOf(m, [&](const Purchase& p) {
          if (p.net_fen > 0) last = std::max(last, p.day);
        });
        if (last == kNoDay) return std::nullopt;
        return int64_t{q.today - last} * 100;
      }
      case Field::kRegisteredDays:
        if (numbers[m].registered == kNoDay) return std::nullopt;
        return int64_t{q.today - numbers[m].registered} * 100;
      case Field::kBirthdayMonth:
        if (numbers[m].birthday == kNoDay) return std::nullopt;
        return int64_t{LocalDate::FromDays(numbers[m].birthday).month()} * 100;
      case Field::kAge: {
        if (numbers[m].birthday == kNoDay) return std::nullopt;
        const LocalDate b = LocalDate::FromDays(numbers[m].birthday);
        const LocalDate t = LocalDate::FromDays(q.today);
        int age = t.year() - b.year();
        if (t.month() < b.month() || (t.month() == b.month() && t.day() < b.day())) --age;
        return int64_t{age} * 100;
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
    switch (ref.field) {
      case Field::kTier: return one_of("tier", q.context.tier_ids);
      case Field::kLifecycle:
        return one_of("lifecycle stage", {"intro", "growth", "mature", "decline", "lost", "won_back"});
      case Field::kGender: return one_of("gender", {"female", "male", "unknown"});
      default: return Status::Ok();
    }
  }

  // Every evaluation answers the members of `within` that match: the
  // standing members at the top, fewer inside an `and`, so the scans of
  // numeric conditions and windows visit only members still in question.
  Result<Roaring> Eval(const Node& node, const Query& q, const Roaring& within) const {
    return std::visit([&](const auto& n) { return EvalKind(n, node, q, within); }, node.kind);
  }

  // Answered from bitmaps alone, without visiting members.
  static bool FromBitmaps(const Node& node) {
    if (const auto* c = std::get_if<Compare>(&node.kind)) return IsTextField(c->field.field);
    if (const auto* in = std::get_if<In>(&node.kind)) return IsTextField(in->field.field);
    return std::holds_alternative<Tag>(node.kind);
  }

  Result<Roaring> EvalKind(const Compare& c, const Node&, const Query& q, const Roaring& within) const {
    RETURN_IF_ERROR(CheckValue(c.field, c.value, q));
    if (IsTextField(c.field.field)) {
      Roaring eq = TextMembers(c.field.field, {&c.value}) & within;
      if (c.op == CompareOp::kEq) return eq;
      if (c.op == CompareOp::kNe) return HasText(c.field.field, within) - eq;
      return ExprError(c.value.position, std::string(FieldName(c.field.field)) + " supports only = and !=",
                        "= or !=");
    }
    const int64_t x = c.value.hundredths;
    return ScanNumbers(c.field, q, within, [&](int64_t v) { return CompareNumber(c.op, v, x); });
  }

  Result<Roaring> EvalKind(const In& in, const Node&, const Query& q, const Roaring& within) const {
    for (const Value& v : in.values) RETURN_IF_ERROR(CheckValue(in.field, v, q));
    if (IsTextField(in.field.field)) {
      std::vector<const Value*> values;
      for (const Value& v : in.values) values.push_back(&v);
      Roaring any = TextMembers(in.field.field, values) & within;
      return in.negated ? HasText(in.field.field, within) - any : any;
    }
    return ScanNumbers(in.field, q, within, [&](int64_t v) {
      const bool found = std::any_of(in.values.begin(), in.values.end(),
                                     [&](const Value& x) { return x.hundredths == v; });
      return found != in.negated;
    });
  }

  Result<Roaring> EvalKind(const Between& b, const Node&, const Query& q, const Roaring& within) const {
    RETURN_IF_ERROR(CheckValue(b.field, b.low, q));
    RETURN_IF_ERROR(CheckValue(b.field, b.high, q));
    if (IsTextField(b.field.field)) {
      return ExprError(b.low.position, std::string(FieldName(b.field.field)) + " has no order to be between",
                        "= != in");
    }
    return ScanNumbers(b.field, q, within, [&](int64_t v) {
      const bool inside = v >= b.low.hundredths && v <= b.high.hundredths;
      return inside != b.negated;
    });
  }

  Result<Roaring> EvalKind(const Tag& t, const Node& node, const Query&, const Roaring&) const {
    // Tags arrive with the tag store; until then no tag exists to match.
    return ExprError(node.position, "unknown tag \"" + t.name + "\"", "the name of an existing tag");
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
    Roaring out;
    if (codes.empty()) return out;
    const int32_t first = q.today - b.days + 1;
    for (uint32_t m : within) {
      bool has = false;
      ForEachPurchaseOf(m, [&](const Purchase& p) {
        if (has || p.net_fen <= 0 || p.day < first || p.day > q.today) return;
        for (uint32_t k = 0; k < p.categories_count && !has; ++k) {
          has = std::find(codes.begin(), codes.end(), purchase_categories[p.categories_begin + k]) != codes.end();
        }
      });
      if (has) out.add(m);
    }
    return out;
  }

  Result<Roaring> EvalKind(const And& a, const Node&, const Query& q, const Roaring& within) const {
    // Bitmap conditions first, then the scans over what is left.
    std::vector<const Node*> order;
    for (const NodePtr& child : a.children) order.push_back(child.get());
    std::stable_partition(order.begin(), order.end(), [](const Node* n) { return FromBitmaps(*n); });
    Roaring out = within;
    for (const Node* child : order) {
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
}

void SegmentIndex::SetPoints(MemberId member, int64_t points) {
  impl_->Reserve(member);
  impl_->numbers[static_cast<size_t>(member)].points = points;
}

void SegmentIndex::SetGrowth(MemberId member, int64_t growth) {
  impl_->Reserve(member);
  impl_->numbers[static_cast<size_t>(member)].growth = growth;
}

void SegmentIndex::SetRegistered(MemberId member, std::optional<LocalDate> day) {
  impl_->Reserve(member);
  impl_->numbers[static_cast<size_t>(member)].registered = day ? day->days() : kNoDay;
}

void SegmentIndex::SetBirthday(MemberId member, std::optional<LocalDate> birthday) {
  impl_->Reserve(member);
  impl_->numbers[static_cast<size_t>(member)].birthday = birthday ? birthday->days() : kNoDay;
}

void SegmentIndex::AddPurchase(MemberId member, int32_t order, LocalDate day, Money net,
                               std::span<const std::string_view> categories) {
  impl_->Reserve(member);
  Impl& i = *impl_;
  // Orders arrive in order-book order, so a purchase's index is its order's position.
  while (i.purchases.size() < static_cast<size_t>(order)) i.purchases.push_back(Purchase{});
  int32_t& latest = i.numbers[static_cast<size_t>(member)].latest_purchase;
  Purchase p{net.fen(), day.days(), latest, static_cast<uint32_t>(i.purchase_categories.size()), 0};
  for (std::string_view c : categories) {
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
  latest = order;
}

void SegmentIndex::SetPurchaseNet(int32_t order, Money net) {
  if (static_cast<size_t>(order) < impl_->purchases.size()) impl_->purchases[static_cast<size_t>(order)].net_fen = net.fen();
}

void SegmentIndex::Merge(MemberId survivor, MemberId merged) {
  Impl& i = *impl_;
  i.Reserve(std::max(survivor, merged));
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
  SetStanding(merged, false);
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
  bytes += i.numbers.size() * sizeof(Impl::Numbers);
  bytes += i.purchases.size() * sizeof(Purchase) + i.purchase_categories.size() * sizeof(uint32_t);
  return bytes;
}

}  // namespace pond::segments
