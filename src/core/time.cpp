#include "core/time.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>

namespace pond {
namespace {

// Howard Hinnant's civil-from-days algorithms (public domain description).
constexpr int32_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

struct Ymd {
  int y, m, d;
};

constexpr Ymd CivilFromDays(int32_t z) {
  z += 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int y = static_cast<int>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), static_cast<int>(m), static_cast<int>(d)};
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

uint32_t ReadBe32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
int64_t ReadBe64(const unsigned char* p) {
  return static_cast<int64_t>((uint64_t{ReadBe32(p)} << 32) | ReadBe32(p + 4));
}

}  // namespace

bool IsValidYmd(int year, int month, int day) {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

LocalDate LocalDate::FromYmd(int year, int month, int day) { return LocalDate(DaysFromCivil(year, month, day)); }
int LocalDate::year() const { return CivilFromDays(days_).y; }
int LocalDate::month() const { return CivilFromDays(days_).m; }
int LocalDate::day() const { return CivilFromDays(days_).d; }
int LocalDate::weekday() const {
  // 1970-01-01 was a Thursday (ISO 4).
  return static_cast<int>(((static_cast<int64_t>(days_) % 7 + 7 + 3) % 7) + 1);
}
std::string LocalDate::ToString() const {
  const Ymd c = CivilFromDays(days_);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", c.y, c.m, c.d);
  return buf;
}

Result<TimeZone> TimeZone::Load(std::string_view name) {
  // IANA names are letters, digits, '/', '_', '-', '+'; refusing anything else
  // also keeps a name from walking out of the zone directory.
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.find("..") != std::string_view::npos ||
      !std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+';
      })) {
    return FieldInvalid("timezone", "is not an IANA time zone name");
  }
  std::ifstream in("/usr/share/zoneinfo/" + std::string(name), std::ios::binary);
  if (!in) return FieldInvalid("timezone", "unknown time zone '" + std::string(name) + "'");
  std::vector<unsigned char> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&] { return FieldInvalid("timezone", "zone file for '" + std::string(name) + "' is not TZif"); };
  if (buf.size() < 44 || std::string_view(reinterpret_cast<const char*>(buf.data()), 4) != "TZif") return bad();

  // TZif (RFC 8536): a v1 block with 32-bit times, then for v2+ a second
  // header and block with 64-bit times, which we use when present.
  auto parse_block = [&](size_t at, int time_size, Data* data, size_t* end) -> bool {
    if (at + 44 > buf.size()) return false;
    const unsigned char* h = buf.data() + at + 20;
    const uint32_t isutcnt = ReadBe32(h), isstdcnt = ReadBe32(h + 4), leapcnt = ReadBe32(h + 8),
                   timecnt = ReadBe32(h + 12), typecnt = ReadBe32(h + 16), charcnt = ReadBe32(h + 20);
    size_t p = at + 44;
    const size_t need = timecnt * time_size + timecnt + typecnt * 6 + charcnt + leapcnt * (time_size + 4) +
                        isstdcnt + isutcnt;
    if (typecnt == 0 || p + need > buf.size()) return false;
    std::vector<int64_t> times(timecnt);
    for (uint32_t i = 0; i < timecnt; ++i) {
      times[i] = time_size == 8 ? ReadBe64(&buf[p + i * 8]) : static_cast<int32_t>(ReadBe32(&buf[p + i * 4]));
    }
    p += timecnt * time_size;
    std::vector<uint8_t> idx(buf.begin() + p, buf.begin() + p + timecnt);
    p += timecnt;
    std::vector<int32_t> type_offset(typecnt);
    for (uint32_t i = 0; i < typecnt; ++i) type_offset[i] = static_cast<int32_t>(ReadBe32(&buf[p + i * 6]));
    p += typecnt * 6;
    data->initial_offset = type_offset[0];
    for (uint32_t i = 0; i < timecnt; ++i) {
      if (idx[i] >= typecnt) return false;
      data->transitions.push_back(times[i]);
      data->offsets.push_back(type_offset[idx[i]]);
    }
    *end = p + charcnt + leapcnt * (time_size + 4) + isstdcnt + isutcnt;
    return true;
  };
  auto data = std::make_shared<Data>();
  size_t end = 0;
  if (!parse_block(0, 4, data.get(), &end)) return bad();
  if (buf[4] >= '2') {
    auto v2 = std::make_shared<Data>();
    size_t end2 = 0;
    if (parse_block(end, 8, v2.get(), &end2)) data = v2;
  }
  // Zone files ship transitions up to 2037 (Debian builds "fat" files); past
  // the last one the last offset holds. Zones with DST after 2037 would need
  // the POSIX TZ footer, which no calendar rule of ours reaches yet.
  TimeZone tz;
  tz.name_ = std::string(name);
  tz.data_ = std::move(data);
  return tz;
}

TimeZone TimeZone::Fixed(int offset_seconds) {
  TimeZone tz;
  char buf[32];
  std::snprintf(buf, sizeof buf, "UTC%+d", offset_seconds);
  tz.name_ = buf;
  auto data = std::make_shared<Data>();
  data->initial_offset = offset_seconds;
  tz.data_ = std::move(data);
  return tz;
}

int TimeZone::OffsetAt(Timestamp t) const {
  if (!data_) return 0;
  const int64_t s = t.seconds();
  const auto& tr = data_->transitions;
  // Most instants are past the last transition (zones without DST, or the
  // present): answer those without a search.
  if (!tr.empty() && s >= tr.back()) return data_->offsets.back();
  auto it = std::upper_bound(tr.begin(), tr.end(), s);
  if (it == tr.begin()) return data_->initial_offset;
  return data_->offsets[static_cast<size_t>(it - tr.begin()) - 1];
}

LocalDateTime TimeZone::ToLocal(Timestamp t) const {
  const int64_t local = t.seconds() + OffsetAt(t);
  const int64_t days = FloorDiv(local, 86400);
  return {LocalDate::FromDays(static_cast<int32_t>(days)), static_cast<int>(local - days * 86400)};
}

Timestamp TimeZone::StartOfDay(LocalDate d) const {
  // Guess with the offset at UTC midnight, then correct once: offsets change
  // at most a few hours around the guess.
  const int64_t midnight_utc = int64_t{d.days()} * 86400;
  int64_t guess = midnight_utc - OffsetAt(Timestamp::FromSeconds(midnight_utc));
  guess = midnight_utc - OffsetAt(Timestamp::FromSeconds(guess));
  // A day that starts inside a DST gap begins at the first instant after it.
  while (DateOf(Timestamp::FromSeconds(guess)) < d) guess += 1800;
  while (DateOf(Timestamp::FromSeconds(guess - 1)) == d) guess -= 1800;
  return Timestamp::FromSeconds(guess);
}

Result<int64_t> ParseDurationSeconds(std::string_view text) {
  auto bad = [&](std::string why) { return InvalidArgument("'" + std::string(text) + "' " + why); };
  if (text.size() < 3 || text[0] != 'P') return bad("is not an ISO 8601 duration such as P3DT2H");
  constexpr int64_t kMaxSeconds = int64_t{100} * 366 * 86400;
  int64_t total = 0;
  bool in_time = false, any = false;
  std::string_view order = "D";  // the units still allowed, in order
  for (size_t i = 1; i < text.size();) {
    if (text[i] == 'T') {
      if (in_time || i + 1 == text.size()) return bad("has a misplaced T");
      in_time = true;
      order = "HMS";
      ++i;
      continue;
    }
    int64_t n = 0;
    const size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && n <= kMaxSeconds) n = n * 10 + (text[i++] - '0');
    if (i == start || i == text.size()) return bad("needs a number and a unit (D, or H, M, S after T)");
    const size_t unit = order.find(text[i]);
    if (unit == std::string_view::npos) return bad("has a unit out of place: days come before T, hours, minutes and seconds after");
    static constexpr int64_t kDay[] = {86400}, kTime[] = {3600, 60, 1};
    const int64_t scale = in_time ? kTime[unit + 3 - order.size()] : kDay[0];
    if (n > kMaxSeconds / scale) return bad("is longer than 100 years");
    total += n * scale;
    if (total > kMaxSeconds) return bad("is longer than 100 years");
    order = order.substr(unit + 1);
    any = true;
    ++i;
  }
  if (!any) return bad("names no days, hours, minutes or seconds");
  return total;
}

Result<Timestamp> ParseRfc3339(std::string_view s) {
  auto bad = [&](const char* why) { return InvalidArgument(std::string("must be an RFC 3339 time: ") + why); };
  int y, mo, d, h, mi, se;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) || s[7] != '-' ||
      !Digits(s, 8, 2, &d)) {
    return bad("expected YYYY-MM-DD at the start");
  }
  if (!IsValidYmd(y, mo, d)) return bad("no such date");
  if (s.size() < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Digits(s, 11, 2, &h) || s[13] != ':' ||
      !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &se)) {
    return bad("expected THH:MM:SS after the date");
  }
  if (h > 23 || mi > 59 || se > 60) return bad("time of day out of range");
  if (se == 60) se = 59;  // leap second: hold at :59
  size_t p = 19;
  int64_t micros = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    int digits = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      if (digits < 6) micros = micros * 10 + (s[p] - '0');
      ++digits;
      ++p;
    }
    if (digits == 0) return bad("expected digits after '.'");
    for (int i = digits; i < 6; ++i) micros *= 10;
  }
  if (p >= s.size()) return bad("missing UTC offset (Z or +08:00)");
  int offset = 0;
  if (s[p] == 'Z' || s[p] == 'z') {
    ++p;
  } else if (s[p] == '+' || s[p] == '-') {
    int oh, om;
    if (!Digits(s, p + 1, 2, &oh) || p + 3 >= s.size() || s[p + 3] != ':' || !Digits(s, p + 4, 2, &om) ||
        oh > 23 || om > 59) {
      return bad("offset must look like +08:00");
    }
    offset = (oh * 3600 + om * 60) * (s[p] == '-' ? -1 : 1);
    p += 6;
  } else {
    return bad("missing UTC offset (Z or +08:00)");
  }
  if (p != s.size()) return bad("unexpected characters after the offset");
  const int64_t secs = int64_t{DaysFromCivil(y, mo, d)} * 86400 + h * 3600 + mi * 60 + se - offset;
  return Timestamp::FromMicros(secs * 1'000'000 + micros);
}

std::string InstantRangeProblem(Timestamp t) {
  if (t < kEarliestInstant) return "must not be before 2000-01-01T00:00:00Z";
  if (t >= kLatestInstant) return "must be before 2100-01-01T00:00:00Z";
  return "";
}

std::string FutureProblem(Timestamp t, Timestamp now) {
  return t > now.PlusSeconds(86'400) ? "must not be more than a day in the future" : "";
}

std::string FormatRfc3339(Timestamp t, const TimeZone& zone) {
  const int off = zone.OffsetAt(t) / 60 * 60;
  const int64_t local_seconds = t.seconds() + off;
  const int64_t local_days = FloorDiv(local_seconds, 86'400);
  const LocalDateTime l{LocalDate::FromDays(static_cast<int32_t>(local_days)),
                        static_cast<int>(local_seconds - local_days * 86'400)};
  const Ymd c = CivilFromDays(l.date.days());
  const int64_t frac = t.micros() - t.seconds() * 1'000'000;
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", c.y, c.m, c.d, l.seconds_of_day / 3600,
                        l.seconds_of_day / 60 % 60, l.seconds_of_day % 60);
  if (frac) n += std::snprintf(buf + n, sizeof buf - n, ".%06lld", static_cast<long long>(frac));
  const int aoff = off < 0 ? -off : off;
  if (off == 0 && zone.name() == "UTC") {
    std::snprintf(buf + n, sizeof buf - n, "Z");
  } else {
    std::snprintf(buf + n, sizeof buf - n, "%c%02d:%02d", off < 0 ? '-' : '+', aoff / 3600, aoff / 60 % 60);
  }
  return buf;
}

Result<LocalDate> ParseDate(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || !Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &m) || s[7] != '-' ||
      !Digits(s, 8, 2, &d)) {
    return InvalidArgument("must be a date YYYY-MM-DD");
  }
  if (!IsValidYmd(y, m, d)) return InvalidArgument("is not a calendar date");
  return LocalDate::FromYmd(y, m, d);
}

}  // namespace pond
