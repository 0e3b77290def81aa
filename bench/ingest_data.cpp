#include "ingest_data.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include "cli/feeder.hpp"
#include "demo/demo_generator.hpp"
#include "ingest/event_parser.hpp"
#include "ingest/event_writer.hpp"

namespace pond::bench {

IngestDataSet BuildIngestDataSet(int64_t members) {
  const TimeZone zone = *TimeZone::Load("Asia/Shanghai");
  DemoOptions demo;
  demo.members = members;
  demo.seed = 1;
  demo.zone = zone;
  demo.end = *ParseRfc3339("2026-11-01T00:00:00+08:00");
  DemoGenerator generator(demo);

  IngestDataSet data;
  data.members = members;
  data.chunks.emplace_back();
  size_t lines_in_chunk = 0;
  int64_t member_number = 0;
  std::vector<Event> batch;
  while (generator.Next(&batch, 10'000)) {
    for (const Event& e : batch) {
      if (std::holds_alternative<MemberEvent>(e)) ++member_number;
      if (const auto* o = std::get_if<OrderEvent>(&e)) data.rows.push_back(OrderRow{member_number, *o});
      AppendEventJson(e, zone, data.chunks.back());
      data.chunks.back().push_back('\n');
      ++data.events;
      if (++lines_in_chunk == kIngestChunkLines) {
        data.chunks.emplace_back();
        lines_in_chunk = 0;
      }
    }
    batch.clear();
  }
  return data;
}

Result<IngestResult> FeedChunks(TenantEngine& tenant, const std::vector<std::string>& chunks) {
  Feeder feeder(tenant);
  int line = 0;
  for (const std::string& text : chunks) {
    auto parsed = ParseEventBatch(text, kIngestChunkLines + 1);
    if (!parsed.ok()) return parsed.status();  // ~Feeder waits for the chunks in flight
    for (ParsedLine& l : *parsed) l.line += line;
    line += static_cast<int>(parsed->size());
    feeder.Submit(std::move(parsed).value());
  }
  return feeder.Finish();
}

double SecondsSince(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

CpuSeconds ProcessCpu() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return {s(u.ru_utime), s(u.ru_stime)};
}

std::string ThreadCpu() {
  std::string out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    FILE* f = std::fopen((task.path() / "stat").c_str(), "r");
    if (!f) continue;
    char line[1024] = {};
    const size_t n = std::fread(line, 1, sizeof line - 1, f);
    std::fclose(f);
    line[n] = 0;
    // pid (comm) state ppid ... utime is field 14, stime 15; comm may hold spaces.
    const char* open = std::strchr(line, '(');
    const char* close = std::strrchr(line, ')');
    if (!open || !close) continue;
    unsigned long long utime = 0, stime = 0;
    if (std::sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) continue;
    const auto tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    char text[128];
    std::snprintf(text, sizeof text, " %.*s %.1f+%.1f s", static_cast<int>(close - open - 1), open + 1,
                  static_cast<double>(utime) / tick, static_cast<double>(stime) / tick);
    out += text;
  }
  return out;
}

}  // namespace pond::bench
