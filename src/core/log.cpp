#include "core/log.hpp"

#include <unistd.h>

#include <atomic>

#include "core/clock.hpp"
#include "core/json_writer.hpp"

namespace pond {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};
constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void SetLogLevel(LogLevel level) { g_level = level; }

void Log(LogLevel level, std::string_view msg, std::initializer_list<std::pair<std::string_view, std::string>> fields) {
  if (level < g_level.load()) return;
  static const TimeZone kUtc = TimeZone::Fixed(0);
  JsonWriter w;
  w.BeginObject()
      .Field("ts", FormatRfc3339(SystemClock().Now(), kUtc))
      .Field("level", kNames[static_cast<int>(level)])
      .Field("msg", msg);
  for (const auto& [k, v] : fields) w.Field(k, v);
  w.EndObject();
  std::string line = w.Take();
  line.push_back('\n');
  // One write(2) per line keeps concurrent lines whole.
  [[maybe_unused]] ssize_t n = ::write(2, line.data(), line.size());
}

}  // namespace pond
