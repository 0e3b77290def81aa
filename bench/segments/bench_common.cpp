// Timing, meta.json and CSV reading shared by every system of bench/segments.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "segments_bench.hpp"

namespace pond::bench {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double SecondsSince(int64_t start_nanos) { return static_cast<double>(NowNanos() - start_nanos) / 1e9; }

int64_t ToInt(std::string_view field) {
  int64_t v = 0;
  std::from_chars(field.data(), field.data() + field.size(), v);
  return v;
}

Timing TimeQuestion(const std::function<Result<int64_t>()>& ask, const RepeatPolicy& policy) {
  Timing t;
  auto once = [&](double* ms) -> bool {
    const int64_t start = NowNanos();
    Result<int64_t> n = ask();
    *ms = SecondsSince(start) * 1e3;
    if (!n.ok()) {
      t.error = n.status().ToString();
      return false;
    }
    if (t.count >= 0 && *n != t.count) {
      t.error = "counted " + std::to_string(*n) + " after " + std::to_string(t.count);
      return false;
    }
    t.count = *n;
    return true;
  };
  double ms = 0;
  for (int i = 0; i < policy.warmups; ++i) {
    if (!once(&ms)) return t;
  }
  std::vector<double> samples;
  double spent = 0;
  while (static_cast<int>(samples.size()) < policy.max_runs &&
         (static_cast<int>(samples.size()) < policy.min_runs || spent < policy.budget_seconds * 1e3)) {
    if (!once(&ms)) return t;
    samples.push_back(ms);
    spent += ms;
  }
  std::sort(samples.begin(), samples.end());
  // Nearest rank: p50 of 30 runs is the 15th, p99 the 30th (the slowest).
  auto rank = [&](double p) {
    const auto k = static_cast<size_t>(std::ceil(p * static_cast<double>(samples.size())));
    return samples[std::clamp<size_t>(k, 1, samples.size()) - 1];
  };
  t.p50_ms = rank(0.50);
  t.p99_ms = rank(0.99);
  t.runs = static_cast<int>(samples.size());
  return t;
}

Status WriteMeta(const std::string& path, const DataMeta& meta) {
  boost::json::object o;
  o["demo_members"] = meta.demo_members;
  o["members"] = meta.members;
  o["orders"] = meta.orders;
  o["seed"] = meta.seed;
  o["end"] = meta.end;
  o["today"] = meta.today;
  o["year"] = meta.year;
  o["month"] = meta.month;
  o["day"] = meta.day;
  boost::json::object parents;
  for (const auto& [child, parent] : meta.category_parents) parents[child] = parent;
  o["category_parents"] = std::move(parents);
  std::ofstream file(path, std::ios::trunc);
  file << boost::json::serialize(o) << "\n";
  file.close();
  return file ? Status::Ok() : Unavailable("cannot write " + path);
}

Result<DataMeta> ReadMeta(const std::string& path) {
  std::ifstream file(path);
  if (!file) return NotFound("no " + path + ": run `pond_bench_segments export` first");
  std::stringstream text;
  text << file.rdbuf();
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text.str(), ec);
  if (ec || !v.is_object()) return InvalidArgument(path + " is not a JSON object");
  const boost::json::object& o = v.as_object();
  DataMeta meta;
  try {
    meta.demo_members = o.at("demo_members").to_number<int64_t>();
    meta.members = o.at("members").to_number<int64_t>();
    meta.orders = o.at("orders").to_number<int64_t>();
    meta.seed = o.at("seed").to_number<int64_t>();
    meta.end = std::string(o.at("end").as_string());
    meta.today = o.at("today").to_number<int32_t>();
    meta.year = o.at("year").to_number<int>();
    meta.month = o.at("month").to_number<int>();
    meta.day = o.at("day").to_number<int>();
    for (const auto& [child, parent] : o.at("category_parents").as_object()) {
      meta.category_parents.emplace_back(std::string(child), std::string(parent.as_string()));
    }
  } catch (const std::exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
  return meta;
}

CsvReader::~CsvReader() {
  if (file_) std::fclose(file_);
  std::free(line_);
}

Status CsvReader::Open(const std::string& path) {
  file_ = std::fopen(path.c_str(), "r");
  if (!file_) return NotFound("cannot open " + path);
  static constexpr size_t kBuffer = 1 << 20;
  std::setvbuf(file_, nullptr, _IOFBF, kBuffer);
  std::vector<std::string_view> header;
  if (!Next(&header)) return InvalidArgument(path + " has no header");
  return Status::Ok();
}

bool CsvReader::Next(std::vector<std::string_view>* fields) {
  ssize_t n = getline(&line_, &capacity_, file_);
  if (n <= 0) return false;
  if (line_[n - 1] == '\n') --n;
  fields->clear();
  std::string_view rest(line_, static_cast<size_t>(n));
  for (;;) {
    const size_t comma = rest.find(',');
    fields->push_back(rest.substr(0, comma));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return true;
}

}  // namespace pond::bench
