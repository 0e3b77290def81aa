#include "cli/commands.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "cli/feeder.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "demo/demo_generator.hpp"
#include "engine/engine.hpp"
#include "engine/scheduler.hpp"
#include "http/api.hpp"
#include "http/auth.hpp"
#include "ingest/csv.hpp"
#include "ingest/event_parser.hpp"
#include "ingest/event_writer.hpp"
#include "storage/postgres/postgres_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace pond {
namespace {

// One process owns a data directory at a time: a second writer would change
// the store behind the first one's in-memory state.
class DataDirLock {
 public:
  Status Acquire(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Unavailable("cannot create data directory " + dir + ": " + ec.message());
    fd_ = ::open((dir + "/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return Unavailable("cannot open " + dir + "/LOCK");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      return FailedPrecondition("data directory " + dir +
                                " is in use by another pond process (stop it, or send events to its API)");
    }
    return Status::Ok();
  }
  ~DataDirLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_ = -1;
};

struct Opened {
  DataDirLock lock;
  std::unique_ptr<Store> store;
  std::unique_ptr<Engine> engine;
};

// The embedded store in `data_dir` (locked against a second process), or
// the PostgreSQL store at `store_url`, where leases keep nodes apart.
// `catalog_only`: the caller touches only the catalog (API keys), whose
// own transactions are safe beside a running server, so no lock is taken.
Status OpenStore(const std::string& data_dir, const PostgresOptions& postgres, Opened* o, bool catalog_only = false) {
  const std::string& store_url = postgres.url;
  if (store_url.empty()) {
    if (!catalog_only) RETURN_IF_ERROR(o->lock.Acquire(data_dir));
    ASSIGN_OR_RETURN(o->store, OpenSqliteStore(data_dir));
    return Status::Ok();
  }
  if (!store_url.starts_with("postgresql://") && !store_url.starts_with("postgres://")) {
    return FieldInvalid("--store", "must be a postgresql:// URL");
  }
  ASSIGN_OR_RETURN(o->store, OpenPostgresStore(postgres));
  return Status::Ok();
}

Status Open(const std::string& data_dir, const std::string& store_url, const Clock& clock, Opened* o) {
  RETURN_IF_ERROR(OpenStore(data_dir, {.url = store_url}, o));
  o->engine = std::make_unique<Engine>(*o->store, clock);
  return o->engine->Start();
}

int Fail(std::ostream& err, const Status& s) {
  err << "pond: " << s.message();
  for (const auto& f : s.field_errors()) err << "\n  " << (f.field.empty() ? "" : f.field + ": ") << f.reason;
  err << "\n";
  return 1;
}

bool IsLoopback(const std::string& listen) {
  return listen.rfind("127.", 0) == 0 || listen.rfind("localhost:", 0) == 0 || listen.rfind("[::1]:", 0) == 0;
}

// A live progress line: lines, rate, ETA from bytes read of the total.
class Progress {
 public:
  Progress(std::ostream& err, bool on, int64_t total_bytes) : err_(err), on_(on), total_(total_bytes) {}
  void Update(int64_t lines, int64_t bytes) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? static_cast<double>(lines) / secs : 0;
    char buf[160];
    if (total_ > 0 && bytes > 0) {
      const double eta = secs * static_cast<double>(total_ - bytes) / static_cast<double>(bytes);
      std::snprintf(buf, sizeof buf, "\r%lld lines  %.0f lines/s  %3.0f%%  ETA %.0fs   ", static_cast<long long>(lines),
                    rate, 100.0 * static_cast<double>(bytes) / static_cast<double>(total_), eta);
    } else {
      std::snprintf(buf, sizeof buf, "\r%lld lines  %.0f lines/s   ", static_cast<long long>(lines), rate);
    }
    err_ << buf << std::flush;
  }
  void Done() {
    if (on_) err_ << "\n";
  }

 private:
  std::ostream& err_;
  bool on_;
  int64_t total_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_;
};

// Prints the outcome and the rejected lines grouped by reason.
void Summarize(std::ostream& out, const std::string& what, const IngestResult& r, double seconds) {
  out << what << ": " << r.accepted << " accepted, " << r.duplicates << " duplicates, " << r.rejected.size()
      << " rejected";
  if (seconds > 0) {
    out << " in " << static_cast<int64_t>(seconds * 1000) << " ms ("
        << static_cast<int64_t>(static_cast<double>(r.accepted + r.duplicates + static_cast<int64_t>(r.rejected.size())) / seconds)
        << " lines/s)";
  }
  out << "\n";
  std::map<std::string, std::vector<int>> by_reason;
  for (const RejectedLine& l : r.rejected) {
    for (const FieldError& e : l.errors) by_reason[(e.field.empty() ? "" : e.field + ": ") + e.reason].push_back(l.line);
  }
  for (const auto& [reason, lines] : by_reason) {
    out << "  " << lines.size() << " × " << reason << " (line";
    for (size_t i = 0; i < lines.size() && i < 5; ++i) out << (i ? ", " : " ") << lines[i];
    if (lines.size() > 5) out << ", …";
    out << ")\n";
  }
}

std::atomic<bool> g_stop{false};

}  // namespace

int RunServe(const ServeOptions& options, std::ostream& out, std::ostream& err) {
  // Block the stop signals before any thread exists, so every thread
  // inherits the mask and only sigwait below receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (options.store_url.empty() && !(options.node.empty() && options.advertise.empty())) {
    return Fail(err, FieldInvalid(options.node.empty() ? "--advertise" : "--node",
                                  "only with --store: nodes share a PostgreSQL store, not a data directory"));
  }
  if (!options.advertise.empty() && !options.advertise.starts_with("http://") &&
      !options.advertise.starts_with("https://")) {
    return Fail(err, FieldInvalid("--advertise", "must be an http:// or https:// address"));
  }
  SystemClock system_clock;
  std::unique_ptr<ManualClock> manual_clock;
  if (options.clock.starts_with("manual")) {
    Timestamp start = system_clock.Now();
    if (options.clock.starts_with("manual@")) {
      Result<Timestamp> at = ParseRfc3339(std::string_view(options.clock).substr(7));
      if (!at.ok()) return Fail(err, FieldInvalid("--clock", "manual@ needs an RFC 3339 instant: " + at.status().message()));
      start = *at;
    } else if (options.clock != "manual") {
      return Fail(err, FieldInvalid("--clock", "must be system, manual or manual@<RFC 3339 instant>"));
    }
    manual_clock = std::make_unique<ManualClock>(start);
  } else if (options.clock != "system") {
    return Fail(err, FieldInvalid("--clock", "must be system, manual or manual@<RFC 3339 instant>"));
  }
  const Clock& clock = manual_clock ? static_cast<const Clock&>(*manual_clock) : system_clock;
  Opened o;
  const PostgresOptions postgres{
      .url = options.store_url,
      .node = options.node,
      .lease_ttl = std::chrono::milliseconds(static_cast<int64_t>(options.lease_ttl_seconds * 1000))};
  if (Status s = OpenStore(options.data_dir, postgres, &o); !s.ok()) return Fail(err, s);
  o.engine = std::make_unique<Engine>(*o.store, clock);
  KeyRing keys(*o.store);
  if (Status s = keys.Load(); !s.ok()) return Fail(err, s);
  if (!IsLoopback(options.listen) && keys.empty()) {
    return Fail(err, FailedPrecondition("refusing to listen on " + options.listen +
                                        " without API keys: create one with `pond keys create --data " +
                                        options.data_dir + "`, or listen on 127.0.0.1"));
  }
  HttpServerOptions http;
  http.listen = options.listen;
  http.threads = options.threads;
  http.max_body_bytes = static_cast<size_t>(options.max_body_bytes);
  // The tenants are known before the server listens, so none is answered
  // 404 while they load.
  if (Status s = o.engine->Expect(); !s.ok()) return Fail(err, s);
  HttpServer server(http, MakeApiHandler(*o.engine, keys, ApiOptions{.manual_clock = manual_clock.get()}));
  if (Status s = server.Start(); !s.ok()) return Fail(err, s);
  // Tenants are opened once the address is known, so the leases this node
  // takes name where it serves them.
  o.store->Advertise(options.advertise.empty() ? "http://" + server.address() : options.advertise);
  if (Status s = o.engine->Start(); !s.ok()) {
    server.Stop();
    return Fail(err, s);
  }
  // Timed loyalty work (expiry, reviews, lifecycle) runs once per tenant-zone
  // day; checking every minute starts it soon after midnight.
  auto scheduler = std::make_unique<Scheduler>(*o.engine, std::chrono::minutes(1));

  // Signals are waited for synchronously so no handler runs inside a lock.
  out << "pond listening on http://" << server.address() << "\n" << std::flush;
  Log(LogLevel::kInfo, "serving",
      {{"address", server.address()}, {"store", options.store_url.empty() ? options.data_dir : "postgresql"}});
  int sig = 0;
  sigwait(&set, &sig);
  Log(LogLevel::kInfo, "stopping", {{"signal", std::to_string(sig)}});
  server.Stop();
  scheduler.reset();
  o.engine->Stop();
  return 0;
}

int RunImport(const ImportOptions& options, std::ostream& out, std::ostream& err) {
  SystemClock clock;
  Opened o;
  if (Status s = Open(options.data_dir, options.store_url, clock, &o); !s.ok()) return Fail(err, s);
  auto tenant = o.engine->Tenant(options.tenant);
  if (auto owner = o.engine->OwnerOf(options.tenant)) {
    return Fail(err, FailedPrecondition("tenant '" + options.tenant + "' is served by node " + owner->node +
                                        (owner->address.empty() ? "" : " at " + owner->address) +
                                        "; send the events to its API"));
  }
  if (!tenant) return Fail(err, NotFound("no tenant '" + options.tenant + "' (create it with POST /api/v1/tenants)"));
  bool any_rejected = false;
  for (const std::string& file : options.files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Fail(err, NotFound("cannot read " + file));
    std::error_code ec;
    const auto total = static_cast<int64_t>(std::filesystem::file_size(file, ec));
    const bool csv = file.size() > 4 && file.compare(file.size() - 4, 4, ".csv") == 0;
    Progress progress(err, options.progress, ec ? 0 : total);
    const auto start = std::chrono::steady_clock::now();
    Feeder feeder(*tenant);
    std::vector<ParsedLine> chunk;
    int64_t lines = 0;
    auto drain = [&](auto& reader) {
      ParsedLine line{0, Event{}};
      while (reader.Next(&line)) {
        chunk.push_back(std::move(line));
        if (chunk.size() >= options.chunk_lines) {
          lines += static_cast<int64_t>(chunk.size());
          feeder.Submit(std::move(chunk));
          chunk.clear();
          progress.Update(lines, static_cast<int64_t>(in.tellg()));
        }
      }
    };
    if (csv) {
      CsvEventReader reader(in, options.csv_type);
      if (Status s = reader.ReadHeader(); !s.ok()) return Fail(err, s.With("file", file));
      drain(reader);
    } else {
      NdjsonEventReader reader(in);
      drain(reader);
    }
    if (!chunk.empty()) feeder.Submit(std::move(chunk));
    auto result = feeder.Finish();
    progress.Done();
    if (!result.ok()) return Fail(err, result.status());
    any_rejected |= !result->rejected.empty();
    Summarize(out, file, *result,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return any_rejected ? 3 : 0;
}

// Writes the demo events as ndjson: the same data, for `pond import` or a peer.
int WriteDemoNdjson(DemoGenerator& generator, const TimeZone& zone, const std::string& path, std::ostream& out,
                    std::ostream& err) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return Fail(err, Unavailable("cannot write " + path));
  std::vector<Event> events;
  std::string text;
  int64_t lines = 0;
  while (generator.Next(&events, 10'000)) {
    text.clear();
    for (const Event& e : events) {
      AppendEventJson(e, zone, text);
      text.push_back('\n');
    }
    lines += static_cast<int64_t>(events.size());
    events.clear();
    file.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  file.close();
  if (!file) return Fail(err, Unavailable("writing " + path + " failed"));
  out << path << ": " << lines << " events (" << generator.members_emitted() << " members, "
      << generator.orders_emitted() << " orders, " << generator.refunds_emitted() << " refunds)\n";
  return 0;
}

int RunDemo(const DemoCommandOptions& options, std::ostream& out, std::ostream& err) {
  auto zone = TimeZone::Load(options.timezone);
  if (!zone.ok()) return Fail(err, zone.status());
  SystemClock clock;
  DemoOptions demo;
  demo.members = options.members;
  demo.seed = options.seed;
  demo.zone = *zone;
  if (options.end.empty()) {
    demo.end = zone->StartOfDay(zone->DateOf(clock.Now()));
  } else {
    auto end = ParseRfc3339(options.end);
    if (!end.ok()) return Fail(err, FieldInvalid("--end", end.status().message()));
    demo.end = *end;
  }
  DemoGenerator generator(demo);
  if (!options.ndjson_out.empty()) return WriteDemoNdjson(generator, *zone, options.ndjson_out, out, err);

  Opened o;
  if (Status s = Open(options.data_dir, options.store_url, clock, &o); !s.ok()) return Fail(err, s);
  auto created = o.engine->CreateTenant(TenantRecord{options.tenant, "Demo " + options.tenant, options.timezone, {}});
  if (!created.ok()) return Fail(err, created.status());
  auto tenant = o.engine->Tenant(options.tenant);
  Progress progress(err, options.progress, 0);
  const auto start = std::chrono::steady_clock::now();
  Feeder feeder(*tenant);
  int64_t n = 0;
  for (;;) {
    std::vector<Event> events;
    const bool more = generator.Next(&events, 10'000);
    std::vector<ParsedLine> chunk;
    chunk.reserve(events.size());
    for (Event& e : events) chunk.push_back(ParsedLine{static_cast<int>(++n), std::move(e)});
    if (!chunk.empty()) feeder.Submit(std::move(chunk));
    progress.Update(n, 0);
    if (!more) break;
  }
  auto result = feeder.Finish();
  progress.Done();
  if (!result.ok()) return Fail(err, result.status());
  Summarize(out, "demo tenant '" + options.tenant + "'", *result,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  out << generator.members_emitted() << " members, " << generator.orders_emitted() << " orders, "
      << generator.refunds_emitted() << " refunds\n";
  return result->rejected.empty() ? 0 : 3;
}

int RunKeyCreate(const KeyCreateOptions& options, std::ostream& out, std::ostream& err) {
  SystemClock clock;
  Opened o;
  // Beside a running server too: it reads a key it does not know on first use.
  if (Status s = OpenStore(options.data_dir, {.url = options.store_url}, &o, true); !s.ok()) return Fail(err, s);
  auto role = RoleFromName(options.role);
  if (!role) return Fail(err, FieldInvalid("--role", "must be admin, operator, analyst or integration"));
  if (options.tenant != "*") {
    if (Status s = ValidateTenantId(options.tenant); !s.ok()) return Fail(err, FieldInvalid("--tenant", s.message()));
    auto tenants = o.store->ListTenants();
    if (!tenants.ok()) return Fail(err, tenants.status());
    if (std::none_of(tenants->begin(), tenants->end(), [&](const TenantRecord& t) { return t.id == options.tenant; })) {
      return Fail(err, FieldInvalid("--tenant", "no tenant '" + options.tenant + "' (create it first, or use *)"));
    }
  }
  KeyRing keys(*o.store);
  auto secret = keys.Create(options.tenant, *role, clock.Now());
  if (!secret.ok()) return Fail(err, secret.status());
  out << *secret << "\n";
  err << "role " << options.role << ", tenant " << options.tenant << ". Keep the key: it is stored only as a hash.\n";
  return 0;
}

int RunKeyRevoke(const KeyRevokeOptions& options, std::ostream& out, std::ostream& err) {
  Opened o;
  // Beside a running server too: it re-reads the keys every few seconds.
  if (Status s = OpenStore(options.data_dir, {.url = options.store_url}, &o, true); !s.ok()) return Fail(err, s);
  if (Status s = o.store->DeleteApiKey(options.id); !s.ok()) {
    return Fail(err, s.code() == StatusCode::kNotFound ? FieldInvalid("--id", "no key '" + options.id + "'") : s);
  }
  out << "revoked " << options.id << "\n";
  return 0;
}

int RunTenantCreate(const TenantCreateOptions& options, std::ostream& out, std::ostream& err) {
  SystemClock clock;
  Opened o;
  if (Status s = Open(options.data_dir, options.store_url, clock, &o); !s.ok()) {
    if (s.code() == StatusCode::kFailedPrecondition) s = FailedPrecondition(s.message() + "; beside a running server, POST /api/v1/tenants");
    return Fail(err, s);
  }
  auto created = o.engine->CreateTenant(TenantRecord{options.id, options.name, options.timezone, {}});
  if (!created.ok()) return Fail(err, created.status());
  out << "tenant " << options.id << " created\n";
  return 0;
}

}  // namespace pond
