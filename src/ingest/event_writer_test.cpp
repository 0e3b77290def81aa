#include "ingest/event_writer.hpp"

#include <gtest/gtest.h>

#include "ingest/event_parser.hpp"

namespace pond {
namespace {

std::vector<Event> Samples() {
  const Timestamp t = *ParseRfc3339("2026-03-04T19:20:00+08:00");
  OrderEvent order;
  order.order_id = "POS-S001-000123";
  order.member = MemberRef{{{IdentityKind::kPhone, "13800000001"}, {IdentityKind::kPosId, "100023"}}, std::nullopt};
  order.channel = Channel::kMiniprogram;
  order.store = "S001";
  order.staff = "E0007";
  order.payment = "wechat_pay";
  order.paid_at = t;
  order.paid = Money::Fen(6800);
  order.items = {{"SKU-1", "food", 2, Money::Fen(3400)}, {"SKU-2", "", 1, Money::Fen(3400)}};
  MemberEvent member{
      MemberRef{{{IdentityKind::kUnionid, "o6_bmjr"}, {IdentityKind::kExternalUserid, "wmAbc"}}, std::nullopt},
      MemberProfile{"王小明", Gender::kFemale, LocalDate::FromYmd(1996, 2, 29), "深圳", "S001", "store_qr", "E0007",
                    t}};
  return {member,
          order,
          RefundEvent{"RF-1", "POS-S001-000123", Money::Fen(3400), t.PlusSeconds(3600)},
          StoreInfo{"S001", "深圳万象城店", "深圳", 22.5405, 113.9526},
          StoreInfo{"S002", "无坐标店", "上海", std::nullopt, std::nullopt},
          StaffInfo{"E0007", "李导购", "S001"},
          ProductInfo{"SKU-1", "坚果礼盒", "food", Money::Fen(1990)},
          CategoryInfo{"food", "食品", ""},
          CategoryInfo{"snacks", "零食", "food"}};
}

std::string Json(const Event& e) {
  std::string out;
  AppendEventJson(e, *TimeZone::Load("Asia/Shanghai"), out);
  return out;
}

TEST(EventWriterTest, WhatIsWrittenParsesBackToTheSameEvent) {
  for (const Event& e : Samples()) {
    const std::string text = Json(e);
    auto parsed = ParseEvent(text);
    ASSERT_TRUE(parsed.ok()) << text << "\n" << parsed.status().ToString();
    EXPECT_EQ(Json(*parsed), text);
  }
}

TEST(EventWriterTest, OrdersLookAsTheContractShowsThem) {
  EXPECT_EQ(Json(Samples()[2]), R"({"type":"refund","refund_id":"RF-1","order_id":"POS-S001-000123","amount_fen":3400,)"
                                R"("refunded_at":"2026-03-04T20:20:00+08:00"})");
}

}  // namespace
}  // namespace pond
