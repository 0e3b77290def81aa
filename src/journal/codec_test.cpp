// Every row kind round-trips through its codec with random contents, and a
// damaged payload (cut short, with bytes left over, of an unknown format) is
// refused rather than read as something else.
#include "journal/codec.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/id_list.hpp"

namespace pond::journal {
namespace {

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  int64_t Int() {
    switch (Below(4)) {
      case 0: return 0;
      case 1: return static_cast<int64_t>(Below(300)) - 150;
      case 2: return static_cast<int64_t>(rng_());
      default: return Below(2) ? INT64_MAX : INT64_MIN;
    }
  }
  int64_t Id() { return 1 + static_cast<int64_t>(Below(2) ? Below(1000) : rng_() >> 2); }
  uint64_t Below(uint64_t n) { return rng_() % n; }
  std::string Text() {
    static const std::string kPieces[] = {"", "a", "门店", "\xff\x00", std::string(200, 'x'), "SKU-1", "\n\t\"'"};
    std::string s;
    for (uint64_t n = Below(3); n > 0; --n) s += kPieces[Below(std::size(kPieces))];
    return s;
  }
  std::optional<std::string> OptText() { return Below(2) ? std::optional<std::string>(Text()) : std::nullopt; }
  Timestamp Time() { return Timestamp::FromMicros(Int()); }
  Money Fen() { return Money::Fen(Int()); }

 private:
  std::mt19937_64 rng_;
};

template <typename Row>
void ExpectRoundTrip(const Row& row, int64_t tick = 0) {
  std::string key, payload;
  Encode(row, key, payload);
  Row back;
  ASSERT_TRUE(Decode(tick, key, payload, back)) << KindName(static_cast<uint16_t>(RowKindOf<Row>::value));
  EXPECT_TRUE(back == row) << KindName(static_cast<uint16_t>(RowKindOf<Row>::value));
  if constexpr (!std::is_same_v<Row, SettingRow>) {
    for (size_t n = 0; n < payload.size(); ++n) {
      EXPECT_FALSE(Decode(tick, key, std::string_view(payload).substr(0, n), back)) << "cut to " << n;
    }
    EXPECT_FALSE(Decode(tick, key, payload + '\0', back)) << "a byte left over";
    std::string other = payload;
    other[0] = 2;
    EXPECT_FALSE(Decode(tick, key, other, back)) << "format 2";
  }
}

TEST(CodecTest, EveryKindRoundTripsAndRefusesDamage) {
  Gen g(7);
  for (int i = 0; i < 200; ++i) {
    ExpectRoundTrip(StoreInfo{g.Text(), g.Text(), g.Text(), g.Below(2) ? std::optional<double>(-33.5) : std::nullopt,
                              g.Below(2) ? std::optional<double>(121.47) : std::nullopt});
    ExpectRoundTrip(StaffInfo{g.Text(), g.Text(), g.Text()});
    ExpectRoundTrip(ProductInfo{g.Text(), g.Text(), g.Text(), g.Fen()});
    ExpectRoundTrip(CategoryInfo{g.Text(), g.Text(), g.Text()});
    ExpectRoundTrip(SettingRow{g.Text(), g.Text()});

    MemberRow m;
    m.member_id = g.Id();
    m.profile.name = g.OptText();
    if (g.Below(2)) m.profile.gender = static_cast<Gender>(g.Below(3));
    if (g.Below(2)) m.profile.birthday = LocalDate::FromDays(static_cast<int32_t>(g.Below(40000)) - 20000);
    m.profile.city = g.OptText();
    m.profile.home_store = g.OptText();
    m.profile.source = g.OptText();
    m.profile.owner_staff = g.OptText();
    if (g.Below(2)) m.profile.registered_at = g.Time();
    for (uint64_t n = g.Below(4); n > 0; --n) m.identities.push_back({static_cast<IdentityKind>(g.Below(4)), g.Text()});
    for (uint64_t n = g.Below(4); n > 0; --n) m.event_digests.push_back(static_cast<uint64_t>(g.Int()));
    m.merged_into = g.Below(2) ? g.Id() : 0;
    m.created_at = g.Time();
    ExpectRoundTrip(m);

    ExpectRoundTrip(IdempotencyRow{g.Text(), static_cast<int>(g.Below(600)), g.Text(), g.Time(),
                                   static_cast<uint64_t>(g.Int())});
    ExpectRoundTrip(MergeRow{g.Id(), g.Id(), g.Time(), g.Text()});

    const int64_t tick = g.Int();
    OrderRow o;
    o.member_id = g.Id();
    o.order.order_id = g.Text();
    o.order.channel = static_cast<Channel>(g.Below(kChannels));
    o.order.store = g.Text();
    o.order.staff = g.Text();
    o.order.payment = g.Text();
    o.order.paid_at = g.Time();
    o.order.paid = g.Fen();
    for (uint64_t n = g.Below(3); n > 0; --n) {
      o.order.items.push_back({g.Text(), g.Text(), static_cast<int32_t>(g.Below(100)) - 50, g.Fen()});
    }
    o.loyalty = {tick, g.Int(), g.Int(), 0, g.Int(), g.Int(), g.Time()};
    ExpectRoundTrip(o, tick);

    RefundRow r{{g.Text(), g.Text(), g.Fen(), g.Time()}, {tick, g.Int(), g.Int(), g.Int(), 0, 0, g.Time()}};
    ExpectRoundTrip(r, tick);

    ExpectRoundTrip(LoyaltyRow{tick, g.Id(), static_cast<LoyaltyKind>(g.Below(kLoyaltyKinds)), g.Time(), g.Int(),
                               g.Time(), g.Text(), g.Text(), g.Text()},
                    tick);

    std::vector<int64_t> ids;
    for (int64_t id = 1; id < 500; id += 1 + static_cast<int64_t>(g.Below(50))) ids.push_back(id);
    ExpectRoundTrip(tags::TagOperation{g.Id(), g.Text(), g.Below(2) == 1, g.Text(), g.Time(), g.Text(), ids});
    ExpectRoundTrip(SnapshotRow{g.Id(), g.Text(), g.Text(), g.Text(), g.Time(), g.Int(), EncodeIdList(ids)});
    ExpectRoundTrip(CouponEventRow{g.Id(), g.Text(), g.Text(), g.Int(), g.Int(), g.Text(), g.Text(), g.Time(),
                                   g.Time()});
    ExpectRoundTrip(ActivityEventRow{g.Id(), g.Int(), g.Text(), g.Int(), g.Int(), g.Time(), g.Text()});
    ExpectRoundTrip(AuditRow{g.Id(), g.Time(), static_cast<uint8_t>(g.Below(4)), g.Text(), g.Text(), g.Text(),
                             g.Text(), g.Text(), g.Text()});
    ExpectRoundTrip(EffectRow{g.Id(), g.Text(), g.Text(), g.Time()});
    ExpectRoundTrip(EffectOutcomeRow{g.Id(), g.Below(2) == 1, static_cast<int32_t>(g.Below(1000)), g.Text(), g.Time()});
  }
}

TEST(CodecTest, OutOfRangeValuesAreRefused) {
  MemberRow m;
  m.member_id = 3;
  m.profile.gender = static_cast<Gender>(7);
  std::string key, payload;
  Encode(m, key, payload);
  EXPECT_FALSE(Decode(0, key, payload, m)) << "a gender no member has";
  EXPECT_FALSE(Decode(0, "short", payload, m)) << "a member key is 8 bytes";

  LoyaltyRow l;
  l.kind = static_cast<LoyaltyKind>(kLoyaltyKinds);
  Encode(l, key, payload);
  EXPECT_FALSE(Decode(1, key, payload, l));

  tags::TagOperation op{1, "vip", true, "", Timestamp(), "", {5, 3}};  // not ascending
  Encode(op, key, payload);
  EXPECT_FALSE(Decode(1, key, payload, op));
}

TEST(CodecTest, IdKeysSortAsTheirNumbers) {
  std::vector<int64_t> ids = {0, 1, 255, 256, 65536, int64_t{1} << 40, INT64_MAX};
  for (size_t i = 0; i + 1 < ids.size(); ++i) EXPECT_LT(IdKey(ids[i]), IdKey(ids[i + 1])) << ids[i];
  for (int64_t id : ids) EXPECT_EQ(IdFromKey(IdKey(id)), id);
  EXPECT_EQ(IdFromKey("1234567"), std::nullopt);
}

TEST(CodecTest, KindsHaveOneNameEach) {
  std::set<std::string_view> names;
  for (uint32_t k = 0; k <= UINT16_MAX; ++k) {
    const std::string_view name = KindName(static_cast<uint16_t>(k));
    if (!name.empty()) {
      EXPECT_TRUE(names.insert(name).second) << name;
    }
  }
  EXPECT_TRUE(names.contains("order"));
}

}  // namespace
}  // namespace pond::journal
