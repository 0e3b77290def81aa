// Time: instants, calendar dates and IANA time zones.
//
// `Timestamp` is an instant (microseconds since the Unix epoch, UTC).
// `LocalDate` is a calendar day with no zone (days since 1970-01-01).
// `TimeZone` maps instants to local wall time for a tenant's calendar rules
// (birthdays, Wednesdays, month ends); it reads the system's TZif files
// (Debian's tzdata) and is immutable after loading, so it is shared freely
// between threads.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace pond {

class Timestamp {
 public:
  constexpr Timestamp() = default;
  static constexpr Timestamp FromMicros(int64_t us) { return Timestamp(us); }
  static constexpr Timestamp FromSeconds(int64_t s) { return Timestamp(s * 1'000'000); }
  constexpr int64_t micros() const { return us_; }
  // Seconds since the epoch, rounded toward negative infinity.
  constexpr int64_t seconds() const { return us_ >= 0 ? us_ / 1'000'000 : -((-us_ + 999'999) / 1'000'000); }
  constexpr Timestamp PlusSeconds(int64_t s) const { return Timestamp(us_ + s * 1'000'000); }
  constexpr auto operator<=>(const Timestamp&) const = default;

 private:
  constexpr explicit Timestamp(int64_t us) : us_(us) {}
  int64_t us_ = 0;
};

// A proleptic Gregorian calendar day.
class LocalDate {
 public:
  constexpr LocalDate() = default;
  static LocalDate FromYmd(int year, int month, int day);
  static constexpr LocalDate FromDays(int32_t days) { return LocalDate(days); }
  constexpr int32_t days() const { return days_; }
  int year() const;
  int month() const;  // 1..12
  int day() const;    // 1..31
  int weekday() const;  // ISO: 1 = Monday .. 7 = Sunday
  constexpr auto operator<=>(const LocalDate&) const = default;
  std::string ToString() const;  // "2026-03-04"

 private:
  constexpr explicit LocalDate(int32_t days) : days_(days) {}
  int32_t days_ = 0;
};

bool IsValidYmd(int year, int month, int day);

// Broken-down local wall time.
struct LocalDateTime {
  LocalDate date;
  int seconds_of_day = 0;  // 0..86399
};

class TimeZone {
 public:
  // Loads an IANA zone ("Asia/Shanghai") from the system zone database.
  static Result<TimeZone> Load(std::string_view name);
  // A fixed offset from UTC, for tests and for zone-less inputs.
  static TimeZone Fixed(int offset_seconds);

  const std::string& name() const { return name_; }
  // Offset from UTC in effect at `t`, in seconds (Shanghai: +28800).
  int OffsetAt(Timestamp t) const;
  LocalDateTime ToLocal(Timestamp t) const;
  LocalDate DateOf(Timestamp t) const { return ToLocal(t).date; }
  // The instant local midnight of `d` begins (the first instant of the day).
  Timestamp StartOfDay(LocalDate d) const;

 private:
  struct Data {
    std::vector<int64_t> transitions;  // UTC seconds, ascending
    std::vector<int32_t> offsets;      // offset in effect from transitions[i]
    int32_t initial_offset = 0;
  };
  std::string name_;
  std::shared_ptr<const Data> data_;
};

// The instants any input may name (docs/api.md "Limits"): none before
// 2000-01-01T00:00:00Z (no brand's member history is older, and early
// instants fall into zones' local mean time, whose offsets RFC 3339 cannot
// write), none from 2100-01-01T00:00:00Z on. Facts that have happened
// (paid_at, refunded_at, registered_at) are also refused later than a day
// after the server's now (FutureProblem).
inline constexpr Timestamp kEarliestInstant = Timestamp::FromSeconds(946'684'800);
inline constexpr Timestamp kLatestInstant = Timestamp::FromSeconds(4'102'444'800);
// The reason `t` is outside [kEarliestInstant, kLatestInstant), or "".
std::string InstantRangeProblem(Timestamp t);
// The reason a time that has happened cannot be one at `now`: more than a
// day after it (a day covers clocks of tills that run ahead), or "".
std::string FutureProblem(Timestamp t, Timestamp now);

// RFC 3339 with an explicit offset or Z: "2026-03-04T19:20:00+08:00",
// fractional seconds allowed. Returns InvalidArgument with the reason.
Result<Timestamp> ParseRfc3339(std::string_view text);
// "2026-03-04T19:20:00+08:00" in `zone` (fractions only when non-zero). An
// offset with seconds (a zone's local mean time before 1900) is written to
// the whole minute, with the wall time to match, so the text still names `t`.
std::string FormatRfc3339(Timestamp t, const TimeZone& zone);
// "YYYY-MM-DD".
Result<LocalDate> ParseDate(std::string_view text);
// An ISO 8601 duration of days, hours, minutes and seconds ("P3DT2H",
// "PT90M", "PT0.5S" is refused: whole seconds only), in seconds. Years,
// months and weeks are refused: their length depends on the calendar.
// InvalidArgument with the reason; at most 100 years.
Result<int64_t> ParseDurationSeconds(std::string_view text);

}  // namespace pond
