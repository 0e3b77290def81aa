// The `pond` commands of CONTRACT.md "Command line": serve, import, demo,
// and key management. Each returns the process exit code and writes what a
// person reads to `out` (results) and `err` (progress, errors).
// app/main.cpp parses the command line into these options.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace pond {

struct ServeOptions {
  std::string data_dir = "data";
  std::string listen = "127.0.0.1:8080";
  std::string store_url;  // empty: the embedded store in data_dir
  std::string advertise;  // the address other nodes name for tenants this one serves; empty: http://<listen>
  std::string node;       // this node's name among those sharing a PostgreSQL store; empty: the advertised address
  double lease_ttl_seconds = 10;
  int threads = 2;
  int64_t max_body_bytes = 64 << 20;
  // "system", or "manual" / "manual@<RFC 3339>": business time that moves
  // only by POST /api/v1/clock, from the instant named (else from now).
  std::string clock = "system";
};
// Serves until SIGINT or SIGTERM.
int RunServe(const ServeOptions& options, std::ostream& out, std::ostream& err);

struct ImportOptions {
  std::string data_dir = "data";
  std::string store_url;  // empty: the embedded store in data_dir
  std::string tenant;
  std::vector<std::string> files;
  std::string csv_type;  // event type for CSV files without a "type" column
  size_t chunk_lines = 10'000;
  bool progress = false;  // live progress line (on when stderr is a terminal)
};
// Imports ndjson (or .csv) files; exit 0 when every line was accepted or a
// duplicate, 3 when some lines were rejected, 1 on failure.
int RunImport(const ImportOptions& options, std::ostream& out, std::ostream& err);

struct DemoCommandOptions {
  std::string data_dir = "data";
  std::string store_url;  // empty: the embedded store in data_dir
  std::string tenant = "demo";
  int64_t members = 10'000;
  uint64_t seed = 1;
  std::string end;  // RFC 3339; empty: the start of today in the tenant zone
  std::string timezone = "Asia/Shanghai";
  std::string ndjson_out;  // when set: write the events to this file instead of loading them
  bool progress = false;
};
// Creates (if needed) and fills a demo tenant, or writes its events as
// ndjson for `pond import`.
int RunDemo(const DemoCommandOptions& options, std::ostream& out, std::ostream& err);

struct KeyCreateOptions {
  std::string data_dir = "data";
  std::string store_url;  // empty: the embedded store in data_dir
  std::string tenant = "*";
  std::string role = "admin";
};
// Creates an API key and prints it once; also beside a running server.
int RunKeyCreate(const KeyCreateOptions& options, std::ostream& out, std::ostream& err);

struct KeyRevokeOptions {
  std::string data_dir = "data";
  std::string store_url;
  std::string id;  // the key's id: "pond_<id>_..."
};
// Revokes a key for good; a running server refuses it within seconds.
int RunKeyRevoke(const KeyRevokeOptions& options, std::ostream& out, std::ostream& err);

struct TenantCreateOptions {
  std::string data_dir = "data";
  std::string store_url;
  std::string id, name, timezone;  // an empty name or zone takes the id and Asia/Shanghai
};
// Creates a tenant without a server, for an offline `pond import`.
int RunTenantCreate(const TenantCreateOptions& options, std::ostream& out, std::ostream& err);

}  // namespace pond
