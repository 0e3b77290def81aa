// Structured logs: one JSON object per line on stderr
// {"ts":"...","level":"info","msg":"...","k":"v",...}, so operators can grep
// and ship them. Thread-safe: each line is written with one call.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace pond {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void SetLogLevel(LogLevel level);
void Log(LogLevel level, std::string_view msg,
         std::initializer_list<std::pair<std::string_view, std::string>> fields = {});

}  // namespace pond
