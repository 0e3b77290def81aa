#include "ingest/event_parser.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace pond {

inline void PrintTo(const FieldError& e, std::ostream* os) { *os << "{\"" << e.field << "\", \"" << e.reason << "\"}"; }

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

FieldError E(std::string field, std::string reason) { return {std::move(field), std::move(reason)}; }

std::vector<FieldError> Errors(const Result<Event>& r) {
  EXPECT_FALSE(r.ok());
  if (r.ok()) return {};
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().field_errors();
}

std::vector<FieldError> Errors(std::string_view json, const ParseOptions& options = {}) {
  return Errors(ParseEvent(json, options));
}

template <typename T>
T Get(const Result<Event>& r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok() || !std::holds_alternative<T>(*r)) {
    ADD_FAILURE() << "not the expected event type";
    return T{};
  }
  return std::get<T>(*r);
}

// A valid order whose `paid_fen` and `items` a test replaces.
std::string Order(std::string_view tail) {
  return R"({"type":"order","order_id":"O-1","member":{"phone":"13800000001"},)"
         R"("paid_at":"2026-03-04T19:20:00+08:00",)" +
         std::string(tail) + "}";
}

constexpr int64_t kPaidAt = 1772623200;  // 2026-03-04T11:20:00Z

TEST(ParseEvent, OrderWithAllFields) {
  auto r = ParseEvent(R"({"type":"order","order_id":"POS-S001-000123","member":{"phone":"13800000001"},
    "channel":"store","store":"S001","staff":"E0007","payment":"wechat_pay",
    "paid_at":"2026-03-04T19:20:00+08:00","paid_fen":6800,
    "items":[{"sku":"SKU-1","category":"food","qty":2,"paid_fen":3400},{"sku":"SKU-2","qty":1,"paid_fen":3400}]})");
  const OrderEvent o = Get<OrderEvent>(r);
  EXPECT_EQ(o.order_id, "POS-S001-000123");
  EXPECT_THAT(o.member.identities, ElementsAre(Identity{IdentityKind::kPhone, "13800000001"}));
  EXPECT_FALSE(o.member.member_id);
  EXPECT_EQ(o.channel, Channel::kStore);
  EXPECT_EQ(o.store, "S001");
  EXPECT_EQ(o.staff, "E0007");
  EXPECT_EQ(o.payment, "wechat_pay");
  EXPECT_EQ(o.paid_at, Timestamp::FromSeconds(kPaidAt));
  EXPECT_EQ(o.paid, Money::Fen(6800));
  EXPECT_THAT(o.items, ElementsAre(OrderItem{"SKU-1", "food", 2, Money::Fen(3400)},
                                   OrderItem{"SKU-2", "", 1, Money::Fen(3400)}));
}

TEST(ParseEvent, OrderDefaultsAndNullMeansAbsent) {
  const OrderEvent o = Get<OrderEvent>(ParseEvent(Order(R"("paid_fen":0,"channel":null,"store":null,"items":null)")));
  EXPECT_EQ(o.channel, Channel::kOther);
  EXPECT_EQ(o.store, "");
  EXPECT_TRUE(o.items.empty());
  EXPECT_EQ(o.paid, Money::Fen(0));
  // No items at all: nothing to sum.
  EXPECT_TRUE(ParseEvent(Order(R"("paid_fen":500,"items":[])")).ok());
}

// A misspelt field is an error, not a loss: "nmae" would drop the name.
TEST(ParseEvent, UnknownFieldsAreErrorsNamingThem) {
  EXPECT_THAT(Errors(Order(R"("paid_fen":1,"coupon_codes":["X"])")),
              ElementsAre(E("coupon_codes", "is not a field of an order event")));
  EXPECT_THAT(Errors(R"({"type":"member","member":{"phone":"13800000001"},"nmae":"王小明"})"),
              ElementsAre(E("nmae", "is not a field of a member event")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":1,"items":[{"sku":"A","qty":1,"paid_fen":1,"price":1}])")),
              ElementsAre(E("items[0].price", "is not a field of an order item")));
  EXPECT_THAT(Errors(R"({"type":"refund","refund_id":"R","order_id":"O","amount_fen":1,
                        "refunded_at":"2026-03-05T10:00:00+08:00","reason":"x"})"),
              ElementsAre(E("reason", "is not a field of a refund event")));
  EXPECT_THAT(Errors(R"({"type":"store","id":"S1","adress":"x"})"), ElementsAre(E("adress", "is not a field of a store")));
}

// Instants before 2000 or from 2100 on are no history a brand has; years
// such as 9999 would render expiries that RFC 3339 cannot write.
TEST(ParseEvent, InstantsOutsideTheRangeAreRefused) {
  EXPECT_THAT(Errors(R"({"type":"order","order_id":"O","member":{"phone":"13800000001"},"paid_fen":1,
                        "paid_at":"9999-12-31T23:59:59+08:00"})"),
              ElementsAre(E("paid_at", "must be before 2100-01-01T00:00:00Z")));
  EXPECT_THAT(Errors(R"({"type":"order","order_id":"O","member":{"phone":"13800000001"},"paid_fen":1,
                        "paid_at":"0001-01-01T00:00:00+08:00"})"),
              ElementsAre(E("paid_at", "must not be before 2000-01-01T00:00:00Z")));
  EXPECT_THAT(Errors(R"({"type":"member","member":{"phone":"13800000001"},"registered_at":"1999-12-31T23:59:59Z"})"),
              ElementsAre(E("registered_at", "must not be before 2000-01-01T00:00:00Z")));
  EXPECT_TRUE(ParseEvent(R"({"type":"member","member":{"phone":"13800000001"},"registered_at":"2000-01-01T00:00:00Z"})").ok());
}

TEST(ParseEvent, MemberWithProfile) {
  auto r = ParseEvent(R"({"type":"member","member":{"unionid":"o6_bmjr-X","phone":"13800000001","member_id":42},
    "name":"王小明","gender":"female","birthday":"1995-11-22","city":"深圳","home_store":"S001",
    "source":"store_qr","owner_staff":"E0007","registered_at":"2026-01-02T10:00:00+08:00"})");
  const MemberEvent m = Get<MemberEvent>(r);
  // IdentityKind order, not the order the client wrote.
  EXPECT_THAT(m.member.identities, ElementsAre(Identity{IdentityKind::kPhone, "13800000001"},
                                               Identity{IdentityKind::kUnionid, "o6_bmjr-X"}));
  EXPECT_EQ(m.member.member_id, 42);
  EXPECT_EQ(m.profile.name, "王小明");
  EXPECT_EQ(m.profile.gender, Gender::kFemale);
  EXPECT_EQ(m.profile.birthday, LocalDate::FromYmd(1995, 11, 22));
  EXPECT_EQ(m.profile.city, "深圳");
  EXPECT_EQ(m.profile.home_store, "S001");
  EXPECT_EQ(m.profile.source, "store_qr");
  EXPECT_EQ(m.profile.owner_staff, "E0007");
  EXPECT_EQ(m.profile.registered_at, Timestamp::FromSeconds(1767319200));
}

TEST(ParseEvent, MemberWithoutProfileLeavesEverythingAbsent) {
  const MemberEvent m = Get<MemberEvent>(
      ParseEvent(R"({"type":"member","member":{"pos_id":"100023","external_userid":"wmAbC"},"name":null})"));
  EXPECT_THAT(m.member.identities,
              ElementsAre(Identity{IdentityKind::kExternalUserid, "wmAbC"}, Identity{IdentityKind::kPosId, "100023"}));
  EXPECT_EQ(m.profile, MemberProfile{});
}

TEST(ParseEvent, PhoneForms) {
  auto phone = [](std::string_view p) {
    auto r = ParseEvent(R"({"type":"member","member":{"phone":")" + std::string(p) + R"("}})");
    return r.ok() ? std::get<MemberEvent>(*r).member.identities.at(0).value : std::string("error");
  };
  EXPECT_EQ(phone("13800000001"), "13800000001");
  EXPECT_EQ(phone("19912345678"), "19912345678");
  EXPECT_EQ(phone("+8613800000001"), "13800000001");  // one person, one member
  EXPECT_EQ(phone("+447911123456"), "+447911123456");
  EXPECT_EQ(phone("+123456"), "+123456");
  EXPECT_EQ(phone("+123456789012345"), "+123456789012345");
  for (const char* bad : {"12800000001", "1380000000", "138000000012", "138 0000 0001", "138-0000-0001", "+12345",
                          "+1234567890123456", "+0123456789", "", "phone"}) {
    EXPECT_THAT(
        Errors(R"({"type":"member","member":{"phone":")" + std::string(bad) + R"("}})"),
        ElementsAre(E("member.phone", "must be an 11-digit mainland mobile number or E.164 (+ and 6 to 15 digits)")))
        << bad;
  }
}

TEST(ParseEvent, MemberReferenceErrors) {
  EXPECT_THAT(Errors(R"({"type":"member"})"), ElementsAre(E("member", "is required")));
  EXPECT_THAT(Errors(R"({"type":"member","member":"13800000001"})"), ElementsAre(E("member", "must be an object")));
  EXPECT_THAT(Errors(R"({"type":"order","order_id":"O","member":{},"paid_at":"2026-03-04T19:20:00Z","paid_fen":1})"),
              ElementsAre(E("member",
                            "must have at least one identity (phone, unionid, external_userid, pos_id, "
                            "member_id)")));
  EXPECT_THAT(Errors(R"({"type":"member","member":{"phone":null}})"),
              ElementsAre(E("member",
                            "must have at least one identity (phone, unionid, external_userid, pos_id, "
                            "member_id)")));
  EXPECT_THAT(
      Errors(R"({"type":"member","member":{"email":"a@b.c","phone":"13800000001"}})"),
      ElementsAre(E("member.email",
                    "unknown identity 'email' (expected one of phone, unionid, external_userid, pos_id, member_id)")));
  EXPECT_THAT(
      Errors(R"({"type":"member","member":{"unionid":"o6 b","external_userid":"wm!","pos_id":"10 0",
                       "member_id":0}})"),
      UnorderedElementsAre(E("member.unionid", "must be 1 to 128 characters of A-Z, a-z, 0-9, '_' and '-'"),
                           E("member.external_userid", "must be 1 to 128 characters of A-Z, a-z, 0-9, '_' and '-'"),
                           E("member.pos_id", "must be 1 to 64 printable ASCII characters without spaces"),
                           E("member.member_id", "must be > 0")));
  EXPECT_THAT(Errors(R"({"type":"member","member":{"unionid":")" + std::string(129, 'a') + R"("}})"),
              ElementsAre(E("member.unionid", "must be 1 to 128 characters of A-Z, a-z, 0-9, '_' and '-'")));
  EXPECT_TRUE(ParseEvent(R"({"type":"member","member":{"unionid":")" + std::string(128, 'a') + R"("}})").ok());
  EXPECT_THAT(Errors(R"({"type":"member","member":{"member_id":99999999999999999999}})"),
              ElementsAre(E("member.member_id", "must be <= 9223372036854775807")));
  EXPECT_THAT(Errors(R"({"type":"member","member":{"phone":13800000001,"member_id":"42"}})"),
              UnorderedElementsAre(E("member.phone", "must be a string"), E("member.member_id", "must be an integer")));
}

TEST(ParseEvent, MemberIdAsStringWithNumbersAsStrings) {
  const ParseOptions strings{.numbers_as_strings = true};
  const MemberEvent m = Get<MemberEvent>(ParseEvent(R"({"type":"member","member":{"member_id":"42"}})", strings));
  EXPECT_EQ(m.member.member_id, 42);
  EXPECT_TRUE(m.member.identities.empty());
  EXPECT_THAT(Errors(R"({"type":"member","member":{"member_id":"4x2"}})", strings),
              ElementsAre(E("member.member_id", "must be an integer")));
}

TEST(ParseEvent, ProfileFieldErrors) {
  const std::string name64 = [] {
    std::string s;
    for (int i = 0; i < 64; ++i) s += "王";
    return s;
  }();
  EXPECT_TRUE(ParseEvent(R"({"type":"member","member":{"member_id":1},"name":")" + name64 + R"("})").ok());
  EXPECT_THAT(
      Errors(R"({"type":"member","member":{"member_id":1},"name":")" + name64 + R"(王","gender":"f",
        "birthday":"1899-12-31","city":"","home_store":7,"source":"a\tb",
        "registered_at":"2026-01-02T10:00:00"})"),
      UnorderedElementsAre(E("name", "must be at most 64 characters"),
                           E("gender", "unknown gender 'f' (expected one of female, male, unknown)"),
                           E("birthday", "must not be before 1900"), E("city", "must not be empty"),
                           E("home_store", "must be a string"), E("source", "must not contain control characters"),
                           E("registered_at", "must be an RFC 3339 time: missing UTC offset (Z or +08:00)")));
  EXPECT_THAT(Errors(R"({"type":"member","member":{"member_id":1},"birthday":"1995-02-30"})"),
              ElementsAre(E("birthday", "is not a calendar date")));
  EXPECT_THAT(Errors(R"({"type":"member","member":{"member_id":1},"birthday":"19951122"})"),
              ElementsAre(E("birthday", "must be a date YYYY-MM-DD")));
  EXPECT_THAT(Errors(R"({"type":"member","member":{"member_id":1},"owner_staff":"\u0085x"})"),
              ElementsAre(E("owner_staff", "must not contain control characters")));
}

TEST(ParseEvent, EveryErrorOfAnOrderIsReported) {
  EXPECT_THAT(
      Errors(R"({"type":"order","member":{"phone":"1380000"},"channel":"xyz","store":5,
      "paid_at":"yesterday","paid_fen":68.5,
      "items":[{"qty":2,"paid_fen":3400},{"sku":"S","qty":0,"paid_fen":-1},7]})"),
      UnorderedElementsAre(
          E("order_id", "is required"),
          E("member.phone", "must be an 11-digit mainland mobile number or E.164 (+ and 6 to 15 digits)"),
          E("channel",
            "unknown channel 'xyz' (expected one of store, miniprogram, official_account, wecom, tmall, jd, "
            "pdd, douyin, app, other)"),
          E("store", "must be a string"), E("paid_at", "must be an RFC 3339 time: expected YYYY-MM-DD at the start"),
          E("paid_fen", "must be an integer number of fen"), E("items[0].sku", "is required"),
          E("items[1].qty", "must be > 0"), E("items[1].paid_fen", "must be >= 0"),
          E("items[2]", "must be an object")));
}

TEST(ParseEvent, StatusMessageNamesTheFirstErrorAndCountsTheRest) {
  auto r = ParseEvent(R"({"type":"refund","refund_id":"R","amount_fen":0})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "invalid event: order_id is required (and 2 more)");
}

TEST(ParseEvent, PaidFenRules) {
  EXPECT_THAT(Errors(Order(R"("paid_fen":-1)")), ElementsAre(E("paid_fen", "must be >= 0")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":1000000000001)")), ElementsAre(E("paid_fen", "is too large")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":99999999999999999999)")), ElementsAre(E("paid_fen", "is too large")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":-99999999999999999999)")), ElementsAre(E("paid_fen", "must be >= 0")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":1e400)")), ElementsAre(E("paid_fen", "is too large")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":68.5)")), ElementsAre(E("paid_fen", "must be an integer number of fen")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":"6800")")), ElementsAre(E("paid_fen", "must be an integer number of fen")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":true)")), ElementsAre(E("paid_fen", "must be an integer number of fen")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":null)")), ElementsAre(E("paid_fen", "is required")));
  EXPECT_THAT(Errors(Order(R"("x":1)")), ElementsAre(E("x", "is not a field of an order event"),
                                                     E("paid_fen", "is required")));
  EXPECT_EQ(Get<OrderEvent>(ParseEvent(Order(R"("paid_fen":1000000000000)"))).paid, Money::Fen(1'000'000'000'000));
  // JSON has one number type: 6800.0 is the integer 6800.
  EXPECT_EQ(Get<OrderEvent>(ParseEvent(Order(R"("paid_fen":6800.0)"))).paid, Money::Fen(6800));
  EXPECT_EQ(Get<OrderEvent>(ParseEvent(Order(R"("paid_fen":6.8e3)"))).paid, Money::Fen(6800));
}

TEST(ParseEvent, ItemRules) {
  EXPECT_THAT(
      Errors(Order(R"("paid_fen":100,"items":[{"sku":"A","qty":1,"paid_fen":60},{"sku":"B","qty":1,"paid_fen":30}])")),
      ElementsAre(E("items", "sum of items[].paid_fen (90) must equal paid_fen (100)")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":100,"items":[{"sku":"A","qty":100001,"paid_fen":100}])")),
              ElementsAre(E("items[0].qty", "must be <= 100000")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":100,"items":[{"sku":"A","qty":2.5,"paid_fen":100}])")),
              ElementsAre(E("items[0].qty", "must be an integer")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":100,"items":[{"sku":"","category":7,"paid_fen":100}])")),
              UnorderedElementsAre(E("items[0].sku", "must not be empty"), E("items[0].category", "must be a string"),
                                   E("items[0].qty", "is required")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":100,"items":{"sku":"A"})")), ElementsAre(E("items", "must be an array")));
  // A sum over unreadable amounts would only add noise.
  EXPECT_THAT(Errors(Order(R"("paid_fen":100,"items":[{"sku":"A","qty":1}])")),
              ElementsAre(E("items[0].paid_fen", "is required")));
  EXPECT_EQ(Get<OrderEvent>(ParseEvent(Order(R"("paid_fen":100,"items":[{"sku":"A","qty":100000,"paid_fen":100}])")))
                .items.at(0)
                .qty,
            100000);

  std::string items = "[";
  for (int i = 0; i < 1001; ++i) items += std::string(i ? "," : "") + R"({"sku":"A","qty":1,"paid_fen":1})";
  EXPECT_THAT(Errors(Order(R"("paid_fen":1001,"items":)" + items + "]")),
              ElementsAre(E("items", "must have at most 1000 items")));
  items = "[";
  for (int i = 0; i < 1000; ++i) items += std::string(i ? "," : "") + R"({"sku":"A","qty":1,"paid_fen":1})";
  EXPECT_EQ(Get<OrderEvent>(ParseEvent(Order(R"("paid_fen":1000,"items":)" + items + "]"))).items.size(), 1000u);
}

TEST(ParseEvent, TextLimits) {
  EXPECT_TRUE(ParseEvent(Order(R"("paid_fen":1,"payment":")" + std::string(64, 'p') + "\"")).ok());
  EXPECT_THAT(Errors(Order(R"("paid_fen":1,"payment":")" + std::string(65, 'p') + "\"")),
              ElementsAre(E("payment", "must be at most 64 characters")));
  EXPECT_THAT(
      Errors(R"({"type":"refund","refund_id":"R\u0001","order_id":"","amount_fen":1,
                       "refunded_at":"2026-03-05T10:00:00+08:00"})"),
      UnorderedElementsAre(E("refund_id", "must not contain control characters"), E("order_id", "must not be empty")));
}

TEST(ParseEvent, Refund) {
  const RefundEvent r = Get<RefundEvent>(ParseEvent(
      R"({"type":"refund","refund_id":"RF-1","order_id":"POS-1","amount_fen":3400,"refunded_at":"2026-03-05T10:00:00+08:00"})"));
  EXPECT_EQ(r.refund_id, "RF-1");
  EXPECT_EQ(r.order_id, "POS-1");
  EXPECT_EQ(r.amount, Money::Fen(3400));
  EXPECT_EQ(r.refunded_at, Timestamp::FromSeconds(1772676000));
  EXPECT_THAT(Errors(R"({"type":"refund"})"),
              UnorderedElementsAre(E("refund_id", "is required"), E("order_id", "is required"),
                                   E("amount_fen", "is required"), E("refunded_at", "is required")));
  EXPECT_THAT(
      Errors(R"({"type":"refund","refund_id":"R","order_id":"O","amount_fen":0,"refunded_at":"2026-03-05T10:00:00Z"})"),
      ElementsAre(E("amount_fen", "must be > 0")));
}

TEST(ParseEvent, MasterData) {
  EXPECT_EQ(Get<StoreInfo>(
                ParseEvent(R"({"type":"store","id":"S001","name":"深圳湾店","city":"深圳","lat":22.5,"lng":113})")),
            (StoreInfo{"S001", "深圳湾店", "深圳", 22.5, 113.0}));
  EXPECT_EQ(Get<StoreInfo>(ParseEvent(R"({"type":"store","id":"S002"})")), (StoreInfo{"S002", "", "", {}, {}}));
  EXPECT_EQ(Get<StaffInfo>(ParseEvent(R"({"type":"staff","id":"E7","name":"李雷","store":"S001"})")),
            (StaffInfo{"E7", "李雷", "S001"}));
  EXPECT_EQ(Get<ProductInfo>(
                ParseEvent(R"({"type":"product","sku":"SKU-1","name":"薯片","category":"food","price_fen":990})")),
            (ProductInfo{"SKU-1", "薯片", "food", Money::Fen(990)}));
  EXPECT_EQ(Get<ProductInfo>(ParseEvent(R"({"type":"product","sku":"SKU-2"})")).price, Money::Fen(0));
  EXPECT_EQ(Get<CategoryInfo>(ParseEvent(R"({"type":"category","id":"chips","name":"薯片","parent":"food"})")),
            (CategoryInfo{"chips", "薯片", "food"}));

  EXPECT_THAT(Errors(R"({"type":"store","lat":91,"lng":"113"})"),
              UnorderedElementsAre(E("id", "is required"), E("lat", "must be between -90 and 90"),
                                   E("lng", "must be a number")));
  EXPECT_THAT(Errors(R"({"type":"store","id":"S","lat":22.5})"),
              ElementsAre(E("lng", "is required when lat is given")));
  EXPECT_THAT(
      Errors(R"({"type":"store","id":"S","lng":-180.5})"),
      UnorderedElementsAre(E("lng", "must be between -180 and 180"), E("lat", "is required when lng is given")));
  EXPECT_THAT(Errors(R"({"type":"staff","name":"x"})"), ElementsAre(E("id", "is required")));
  EXPECT_THAT(Errors(R"({"type":"product","sku":"A","price_fen":-1})"), ElementsAre(E("price_fen", "must be >= 0")));
  EXPECT_THAT(Errors(R"({"type":"category","id":"c","name":")" + std::string(129, 'n') + "\"}"),
              ElementsAre(E("name", "must be at most 128 characters")));
}

TEST(ParseEvent, NumbersAsStrings) {
  const ParseOptions strings{.numbers_as_strings = true};
  const OrderEvent o = Get<OrderEvent>(ParseEvent(
      Order(R"("paid_fen":"6800","store":"","items":[{"sku":"A","category":"","qty":"2","paid_fen":"6800"}])"),
      strings));
  EXPECT_EQ(o.paid, Money::Fen(6800));
  EXPECT_EQ(o.items.at(0).qty, 2);
  EXPECT_EQ(o.store, "");
  EXPECT_THAT(Errors(Order(R"("paid_fen":"")"), strings), ElementsAre(E("paid_fen", "is required")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":"68.00")"), strings),
              ElementsAre(E("paid_fen", "must be an integer number of fen")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":" 6800")"), strings),
              ElementsAre(E("paid_fen", "must be an integer number of fen")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":"-5")"), strings), ElementsAre(E("paid_fen", "must be >= 0")));
  EXPECT_THAT(Errors(Order(R"("paid_fen":"99999999999999999999")"), strings),
              ElementsAre(E("paid_fen", "is too large")));
  EXPECT_EQ(Get<StoreInfo>(ParseEvent(R"({"type":"store","id":"S","lat":"22.5","lng":"-113.25"})", strings)),
            (StoreInfo{"S", "", "", 22.5, -113.25}));
  EXPECT_THAT(Errors(R"({"type":"store","id":"S","lat":"north","lng":"1e999"})", strings),
              UnorderedElementsAre(E("lat", "must be a number"), E("lng", "must be between -180 and 180")));
  // Profile fields: an empty cell is no value, not an empty one.
  EXPECT_EQ(
      Get<MemberEvent>(ParseEvent(R"({"type":"member","member":{"member_id":"1","phone":""},"city":""})", strings))
          .profile.city,
      std::nullopt);
}

TEST(ParseEvent, TypeErrors) {
  EXPECT_THAT(Errors(R"({"order_id":"O"})"), ElementsAre(E("type", "is required")));
  EXPECT_THAT(Errors(R"({"type":7})"), ElementsAre(E("type", "must be a string")));
  EXPECT_THAT(Errors(R"({"type":"orders"})"),
              ElementsAre(E("type",
                            "unknown event type 'orders' (expected one of member, order, refund, store, "
                            "staff, product, category)")));
  EXPECT_THAT(Errors(R"({"type":")" + std::string(100, 'x') + R"("})"),
              ElementsAre(E("type", "unknown event type '" + std::string(40, 'x') +
                                        "...' (expected one of member, order, refund, store, staff, product, "
                                        "category)")));
  EXPECT_THAT(Errors(R"([{"type":"order"}])"), ElementsAre(E("", "must be a JSON object")));
  EXPECT_THAT(Errors("42"), ElementsAre(E("", "must be a JSON object")));
}

TEST(ParseEvent, MalformedJsonNamesTheByte) {
  EXPECT_THAT(Errors(R"({"a":1,})"), ElementsAre(E("", "malformed JSON at byte 7: syntax error")));
  EXPECT_THAT(Errors(R"({"type":"order"} x)"), ElementsAre(E("", "malformed JSON at byte 17: extra data")));
  EXPECT_THAT(Errors(R"({"type":)"), ElementsAre(E("", "malformed JSON at byte 8: incomplete JSON")));
  EXPECT_THAT(Errors(""), ElementsAre(E("", "malformed JSON at byte 0: incomplete JSON")));
}

TEST(ParseEvent, InvalidUtf8NamesTheByte) {
  EXPECT_THAT(Errors("{\"type\":\"member\",\"name\":\"\xff\"}"), ElementsAre(E("", "invalid UTF-8 at byte 25")));
  EXPECT_THAT(Errors("{\"type\":\"\xC0\x80\"}"), ElementsAre(E("", "invalid UTF-8 at byte 9")));          // overlong
  EXPECT_THAT(Errors("{\"type\":\"\xED\xA0\x80\"}"), ElementsAre(E("", "invalid UTF-8 at byte 9")));      // surrogate
  EXPECT_THAT(Errors("{\"type\":\"\xF4\x90\x80\x80\"}"), ElementsAre(E("", "invalid UTF-8 at byte 9")));  // > U+10FFFF
  EXPECT_THAT(Errors("{\"type\":\"\xE7\x8E\"}"), ElementsAre(E("", "invalid UTF-8 at byte 9")));          // truncated
  EXPECT_THAT(Errors("{\"name\":\"abcdefgh王\xE7"), ElementsAre(E("", "invalid UTF-8 at byte 20")));      // at the end
  // Four-byte characters (emoji) are fine and count as one character.
  EXPECT_TRUE(ParseEvent(R"({"type":"member","member":{"member_id":1},"name":"🐟🐟"})").ok());
}

TEST(ParseEventBatch, NdjsonWithBlankLinesAndCrlf) {
  const std::string body = "\n" + Order(R"("paid_fen":1)") + "\r\n  \r\n" + R"({"type":"refund"})" + "\n\n" +
                           R"({"type":"product","sku":"A"})";
  auto r = ParseEventBatch(body, 10);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].line, 2);
  EXPECT_TRUE((*r)[0].event.ok());
  EXPECT_EQ((*r)[1].line, 4);
  EXPECT_FALSE((*r)[1].event.ok());
  EXPECT_EQ((*r)[2].line, 6);
  EXPECT_EQ(Get<ProductInfo>((*r)[2].event).sku, "A");
}

TEST(ParseEventBatch, NdjsonBadLineDoesNotSpoilOthers) {
  auto r = ParseEventBatch("{\"type\":\"product\",\"sku\":\"A\"}\n{\"type\":\"x\xff\"}\n{\"type\":\n", 10);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_TRUE((*r)[0].event.ok());
  EXPECT_THAT(Errors((*r)[1].event), ElementsAre(E("", "invalid UTF-8 at byte 10")));
  EXPECT_THAT(Errors((*r)[2].event), ElementsAre(E("", "malformed JSON at byte 8: incomplete JSON")));
}

TEST(ParseEventBatch, ArrayElementsAreNumbered) {
  auto r = ParseEventBatch(R"(  [{"type":"product","sku":"A"}, 5, {"type":"store"}])", 3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].line, 1);
  EXPECT_TRUE((*r)[0].event.ok());
  EXPECT_EQ((*r)[1].line, 2);
  EXPECT_THAT(Errors((*r)[1].event), ElementsAre(E("", "must be a JSON object")));
  EXPECT_EQ((*r)[2].line, 3);
  EXPECT_THAT(Errors((*r)[2].event), ElementsAre(E("id", "is required")));
  EXPECT_TRUE(ParseEventBatch("[]", 3)->empty());
}

TEST(ParseEventBatch, BodyLevelErrors) {
  auto whole = [](std::string_view body) {
    auto r = ParseEventBatch(body, 10);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return std::vector<FieldError>{};
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    return r.status().field_errors();
  };
  // The body as a whole could not be read: named "body", and unreadable (400).
  EXPECT_THAT(whole(R"([{"type":"product","sku":"A"},])"),
              ElementsAre(E("body", "malformed JSON at byte 30: syntax error")));
  EXPECT_THAT(whole("[{\"type\":\"\xff\"}]"), ElementsAre(E("body", "invalid UTF-8 at byte 10")));
  EXPECT_THAT(whole(" \r\n\n"),
              ElementsAre(E("body", "is empty: expected a JSON array of events or one JSON object per line")));
  EXPECT_THAT(whole("type,order_id\norder,1\n"),
              ElementsAre(E("body", "must be a JSON array of events or one JSON object per line (ndjson)")));
  EXPECT_TRUE(IsUnreadable(ParseEventBatch("[", 10).status()));
  // A byte order mark is not data.
  EXPECT_TRUE(ParseEventBatch("\xEF\xBB\xBF{\"type\":\"product\",\"sku\":\"A\"}", 1).ok());
}

TEST(ParseEventBatch, TooManyEvents) {
  const std::string line = R"({"type":"product","sku":"A"})";
  EXPECT_TRUE(ParseEventBatch(line + "\n\n" + line + "\n", 2).ok());
  auto r = ParseEventBatch(line + "\n" + line + "\n" + line, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("3 events; at most 2"));
  auto a = ParseEventBatch("[" + line + "," + line + "," + line + "]", 2);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kResourceExhausted);
}

TEST(NdjsonEventReader, ReadsLinesWithNumbers) {
  std::istringstream in(
      "\xEF\xBB\xBF{\"type\":\"product\",\"sku\":\"A\"}\r\n\n   \n{\"type\":\"refund\"}\n"
      "{\"type\":\"category\",\"id\":\"c\"}");
  NdjsonEventReader reader(in);
  ParsedLine line{0, Event{}};
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(line.line, 1);
  EXPECT_EQ(Get<ProductInfo>(line.event).sku, "A");
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(line.line, 4);
  EXPECT_FALSE(line.event.ok());
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(line.line, 5);
  EXPECT_EQ(Get<CategoryInfo>(line.event).id, "c");
  EXPECT_FALSE(reader.Next(&line));
  EXPECT_FALSE(reader.Next(&line));
}

TEST(NdjsonEventReader, OverlongLineIsAnErrorForThatLineOnly) {
  const size_t max = NdjsonEventReader::kMaxLineBytes;
  // Exactly at the limit: padding inside the JSON text is still JSON.
  const std::string prefix = R"({"type":"product","sku":"A")";
  const std::string at_limit = prefix + std::string(max - prefix.size() - 1, ' ') + "}";
  ASSERT_EQ(at_limit.size(), max);
  std::istringstream in(at_limit + "\n" + at_limit + " \n{\"type\":\"product\",\"sku\":\"B\"}\n" + at_limit);
  NdjsonEventReader reader(in);
  ParsedLine line{0, Event{}};
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(line.line, 1);
  EXPECT_TRUE(line.event.ok());
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(line.line, 2);
  EXPECT_THAT(Errors(line.event), ElementsAre(E("", "line is longer than 1048576 bytes")));
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(line.line, 3);
  EXPECT_EQ(Get<ProductInfo>(line.event).sku, "B");
  ASSERT_TRUE(reader.Next(&line));  // the last line, without a newline, exactly at the limit
  EXPECT_EQ(line.line, 4);
  EXPECT_TRUE(line.event.ok());
  EXPECT_FALSE(reader.Next(&line));
}

TEST(NdjsonEventReader, LinesOfEveryLengthAroundItsReadChunk) {
  // The reader reads lines in 16 KiB chunks; a line must not split or merge
  // at a chunk edge, with LF, CRLF or no newline at all.
  const std::string prefix = R"({"type":"product","sku":"A")";
  for (size_t length : {size_t{16382}, size_t{16383}, size_t{16384}, size_t{16385}, size_t{32767}, size_t{32768}}) {
    for (std::string_view newline : {"\n", "\r\n", ""}) {
      const std::string event = prefix + std::string(length - prefix.size() - 1, ' ') + "}";
      std::istringstream in(event + "\n" + event + std::string(newline));
      NdjsonEventReader reader(in);
      ParsedLine line{0, Event{}};
      for (int expected = 1; expected <= 2; ++expected) {
        ASSERT_TRUE(reader.Next(&line)) << length;
        EXPECT_EQ(line.line, expected);
        EXPECT_TRUE(line.event.ok()) << length << " " << line.event.status().ToString();
      }
      EXPECT_FALSE(reader.Next(&line));
    }
  }
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

TEST(ParseEvent, OrdersMayNameTheCouponsTheyUsed) {
  constexpr std::string_view kOrder =
      R"({"type":"order","order_id":"O-1","member":{"phone":"13800000001"},"paid_at":"2026-03-04T19:20:00+08:00",)"
      R"("paid_fen":6800,"coupons":)";
  auto ok = ParseEvent(std::string(kOrder) + R"(["7K2M9QW4XR8T1VBZ","AB12"]})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(std::get<OrderEvent>(*ok).coupons, (std::vector<std::string>{"7K2M9QW4XR8T1VBZ", "AB12"}));
  EXPECT_THAT(Errors(std::string(kOrder) + R"("AB12"})"),
              ElementsAre(FieldError{"coupons", "must be an array of coupon codes"}));
  EXPECT_THAT(Errors(std::string(kOrder) + R"(["AB12", 5, "", "AB12"]})"),
              ElementsAre(FieldError{"coupons[1]", "must be a string"}, FieldError{"coupons[2]", "must not be empty"},
                          FieldError{"coupons[3]", "repeats a code"}));
}

}  // namespace
}  // namespace pond
