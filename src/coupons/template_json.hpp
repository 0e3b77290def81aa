// Coupon templates as JSON: the body of `POST .../coupon-templates`
// (CONTRACT.md, extended) and the tenant setting "coupon_templates" that
// stores them. One format for both:
//
//   {"name":"满68减10","kind":"cash_off","threshold_fen":6800,"off_fen":1000,
//    "valid_days":7,"stock":1000,"per_member_limit":1,
//    "percent_off":12, "sku":"SKU-9", "exchange_price_fen":100,
//    "scope":{"categories":["food"],"skus":[],"stores":["S001"],"channels":["store"]},
//    "valid_from":"2026-11-01T00:00:00+08:00","valid_to":"...",
//    "per_day_limit":1,"stackable":false,"restore_on_refund":false,
//    "face_value_fen":1000,"cost_fen":600}
//
// plus "id" in the stored form. Unknown fields are refused, so a typo
// ("threshhold_fen") is an error rather than a silently different coupon.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.hpp"
#include "core/status.hpp"
#include "core/time.hpp"
#include "coupons/coupon_template.hpp"

namespace pond::coupons {

// Parses and checks a template (CheckTemplate); every bad field is named.
// "id" is read only when `with_id` (the stored form).
Result<CouponTemplate> ParseTemplate(std::string_view json, bool with_id = false);

// Writes `t` as an object (times in `zone`).
void WriteTemplate(JsonWriter& w, const CouponTemplate& t, const TimeZone& zone);

// The stored setting: {"templates":[...]}.
std::string TemplatesJson(const std::vector<CouponTemplate>& templates);
Result<std::vector<CouponTemplate>> ParseTemplates(std::string_view json);

}  // namespace pond::coupons
