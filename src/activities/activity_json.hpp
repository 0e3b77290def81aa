// Activities as JSON: the body of `POST .../activities` (CONTRACT.md,
// extended) and the tenant setting "activities" that stores them. One
// format for both:
//
//   {"kind":"flash_sale","name":"周五秒杀","sku":"SKU-1","price_fen":990,
//    "stock":100,"per_member_limit":1,
//    "starts_at":"2026-11-27T20:00:00+08:00","ends_at":"2026-11-27T22:00:00+08:00",
//    "list_price_fen":2990,                        group buy, bargain
//    "group_size":3,"group_hours":24,              group buy
//    "helpers":5,"bargain_hours":24,"helper_tag":"bargain_helper",  bargain
//    "prizes":[{"name":"演唱会门票","stock":300,"weight":1,"template_id":0}],
//    "none_weight":99,"snapshot_id":7,"purchase_required":true,     lucky draw
//    "points":500,"template_id":3,                 points mall
//    "seed":"9f1c0b7e55aa0d13"}                    16 hex digits
//
// plus "id" in the stored form. A name absent from a request defaults to
// the kind's name; per_member_limit to 1; group_hours and bargain_hours to
// 24; helper_tag to "bargain_helper"; the seed to 64 bits from the kernel.
// Unknown fields are refused.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "activities/activity.hpp"
#include "core/json_writer.hpp"
#include "core/status.hpp"
#include "core/time.hpp"

namespace pond::activities {

// Parses and checks an activity (CheckActivity); every bad field is named.
// "id" is read only when `with_id` (the stored form); a request without
// a seed gets a fresh one.
Result<Activity> ParseActivity(std::string_view json, bool with_id = false);

// Writes `a` as an object (times in `zone`); the seed only when
// `with_seed` (the API shows it once the activity has ended, so no one
// can foresee a draw).
void WriteActivity(JsonWriter& w, const Activity& a, const TimeZone& zone, bool with_seed);

// A seed or a roll as 16 lowercase hex digits, the form the API shows.
std::string Hex16(uint64_t v);

// The stored setting: {"activities":[...]}.
std::string ActivitiesJson(const std::vector<Activity>& activities);
Result<std::vector<Activity>> ParseActivities(std::string_view json);

}  // namespace pond::activities
