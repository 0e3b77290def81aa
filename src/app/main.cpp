// pond: the executable. Parses the command line (CONTRACT.md "Command line")
// into the options of cli/commands.hpp and runs the command.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Pond: private-domain customer operations engine"};
  app.require_subcommand(1);
  const bool tty = ::isatty(2) == 1;

  pond::ServeOptions serve;
  auto* s = app.add_subcommand("serve", "Serve the API on the embedded store in --data");
  s->add_option("--data", serve.data_dir, "Data directory")->capture_default_str();
  s->add_option("--listen", serve.listen, "host:port (port 0 picks a free one)")->capture_default_str();
  s->add_option("--store", serve.store_url, "Store URL (postgresql://...) instead of the embedded store");
  s->add_option("--advertise", serve.advertise, "Address other nodes give for tenants this node serves");
  s->add_option("--node", serve.node, "Name of this node among those sharing the store (default: its address)");
  s->add_option("--lease-ttl", serve.lease_ttl_seconds, "Seconds a tenant's lease outlives its node (PostgreSQL)")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  s->add_option("--threads", serve.threads, "HTTP threads")->check(CLI::Range(1, 64))->capture_default_str();
  s->add_option("--clock", serve.clock,
                "system, or manual[@RFC 3339 instant]: business time that moves only by POST /api/v1/clock")
      ->capture_default_str();
  s->add_option("--max-body-bytes", serve.max_body_bytes, "Largest request body")->check(CLI::Range(1024, 1 << 30));

  pond::ImportOptions import;
  auto* i = app.add_subcommand("import", "Import ndjson or CSV event files, as the events endpoint does");
  i->add_option("--data", import.data_dir, "Data directory")->capture_default_str();
  i->add_option("--store", import.store_url, "Store URL (postgresql://...) instead of the embedded store");
  i->add_option("--tenant", import.tenant, "Tenant id")->required();
  i->add_option("--type", import.csv_type, "Event type of CSV files without a 'type' column");
  i->add_option("files", import.files, "Files (.csv for CSV, anything else ndjson)")->required()->check(CLI::ExistingFile);

  pond::DemoCommandOptions demo;
  auto* d = app.add_subcommand("demo", "Create and fill a realistic, reproducible demo tenant");
  d->add_option("--data", demo.data_dir, "Data directory")->capture_default_str();
  d->add_option("--store", demo.store_url, "Store URL (postgresql://...) instead of the embedded store");
  d->add_option("--tenant", demo.tenant, "Tenant id")->capture_default_str();
  d->add_option("--members", demo.members, "Members")->check(CLI::Range(int64_t{1}, int64_t{100'000'000}))->capture_default_str();
  d->add_option("--seed", demo.seed, "Random seed")->capture_default_str();
  d->add_option("--end", demo.end, "End of the year of orders (RFC 3339); default: start of today");
  d->add_option("--timezone", demo.timezone, "Tenant time zone")->capture_default_str();
  d->add_option("--ndjson", demo.ndjson_out, "Write the events to this ndjson file instead of loading them");

  pond::KeyCreateOptions key;
  auto* k = app.add_subcommand("keys", "Manage API keys")->require_subcommand(1);
  auto* kc = k->add_subcommand("create", "Create an API key (printed once)");
  kc->add_option("--data", key.data_dir, "Data directory")->capture_default_str();
  kc->add_option("--store", key.store_url, "Store URL (postgresql://...) instead of the embedded store");
  kc->add_option("--tenant", key.tenant, "Tenant the key is valid for, * for all")->capture_default_str();
  kc->add_option("--role", key.role, "admin, operator, analyst or integration")->capture_default_str();

  pond::KeyRevokeOptions revoke;
  auto* kr = k->add_subcommand("revoke", "Revoke an API key (also beside a running server)");
  kr->add_option("--data", revoke.data_dir, "Data directory")->capture_default_str();
  kr->add_option("--store", revoke.store_url, "Store URL (postgresql://...) instead of the embedded store");
  kr->add_option("--id", revoke.id, "The key's id (pond_<id>_...)")->required();

  pond::TenantCreateOptions tenant;
  auto* t = app.add_subcommand("tenants", "Manage tenants")->require_subcommand(1);
  auto* tc = t->add_subcommand("create", "Create a tenant (no server running: for pond import)");
  tc->add_option("--data", tenant.data_dir, "Data directory")->capture_default_str();
  tc->add_option("--store", tenant.store_url, "Store URL (postgresql://...) instead of the embedded store");
  tc->add_option("--id", tenant.id, "Tenant id")->required();
  tc->add_option("--name", tenant.name, "Name");
  tc->add_option("--timezone", tenant.timezone, "IANA time zone (default Asia/Shanghai)");

  CLI11_PARSE(app, argc, argv);
  if (s->parsed()) return pond::RunServe(serve, std::cout, std::cerr);
  if (i->parsed()) {
    import.progress = tty;
    return pond::RunImport(import, std::cout, std::cerr);
  }
  if (d->parsed()) {
    demo.progress = tty;
    return pond::RunDemo(demo, std::cout, std::cerr);
  }
  if (kc->parsed()) return pond::RunKeyCreate(key, std::cout, std::cerr);
  if (kr->parsed()) return pond::RunKeyRevoke(revoke, std::cout, std::cerr);
  if (tc->parsed()) return pond::RunTenantCreate(tenant, std::cout, std::cerr);
  return 1;
}
