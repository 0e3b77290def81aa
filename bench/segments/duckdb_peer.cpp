// DuckDB's side of bench/segments: the suite's SQL handed to
// duckdb_peer.mjs (DuckDB from npm @duckdb/node-api, the version pinned in
// package.json), whose JSON answer is read back. The script loads the files
// itself and times each question with the same repeat policy as the other
// peers; see its header for the schema.
#include <cstdio>
#include <fstream>

#include <boost/json.hpp>

#include "segments_bench.hpp"

namespace pond::bench {

Status RunDuckdb(const RunOptions& options, const DataMeta&, const std::vector<Question>& suite,
                 SystemResult* out) {
  out->system = "duckdb";
  boost::json::array questions;
  for (const Question& q : suite) questions.push_back(boost::json::object{{"name", q.name}, {"sql", q.sql}});
  const std::string questions_path = options.dir + "/questions.json";
  {
    std::ofstream file(questions_path, std::ios::trunc);
    file << boost::json::serialize(questions) << "\n";
    if (!file) return Unavailable("cannot write " + questions_path);
  }
  const std::string command = options.node + " " + options.duckdb_script + " --dir " + options.dir +
                              " --questions " + questions_path + " --repeat " + std::to_string(options.repeat);
  std::FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return Unavailable("cannot run " + command);
  std::string text;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
  if (pclose(pipe) != 0) return Internal("failed: " + command);

  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return Internal("duckdb_peer.mjs printed no JSON object: " + text.substr(0, 200));
  try {
    const boost::json::object& o = v.as_object();
    out->notes = std::string(o.at("notes").as_string());
    const boost::json::object& answers = o.at("questions").as_object();
    for (const Question& q : suite) {
      const boost::json::object& a = answers.at(q.name).as_object();
      Timing t;
      if (const auto* error = a.if_contains("error")) {
        t.error = std::string(error->as_string());
      } else {
        t.count = a.at("count").to_number<int64_t>();
        t.p50_ms = a.at("p50_ms").to_number<double>();
        t.p99_ms = a.at("p99_ms").to_number<double>();
        t.runs = a.at("runs").to_number<int>();
      }
      out->timings.push_back(std::move(t));
    }
  } catch (const std::exception& e) {
    return Internal(std::string("duckdb_peer.mjs answered unexpectedly: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace pond::bench
