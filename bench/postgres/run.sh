#!/usr/bin/env bash
# bench/postgres end to end: build pond_bench_postgres (Release, build-bench/),
# start a throwaway PostgreSQL 15 cluster with durable settings, run every
# phase, print the table (bench/postgres/README.md).
#
#   bench/postgres/run.sh [--members 100000] [--rounds 3] [--postings 200000] [--in-flight 64]
#                         [--insert-sample 20000] [--timeout SECONDS]
#
# The cluster lives in a fresh temp dir under ${TMPDIR:-/tmp} (it must be
# reachable by the postgres user: the server refuses to run as root, so as
# root it runs as `postgres`) and listens on a unix socket in that dir only,
# no TCP. fsync, synchronous_commit and full_page_writes stay on (the
# binary refuses to run otherwise): Pond acknowledges only durable writes,
# and so must its peers. The cluster is stopped and removed on any exit;
# the benchmark is bounded by --timeout (default 1200 s).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

bench_args=()
bins=()  # --bin PATH: a pond_bench_postgres built elsewhere (an older commit, say), run in turn on the same cluster
limit=1200
pg_bin=/usr/lib/postgresql/15/bin
while [ $# -gt 0 ]; do
  case "$1" in
    --members | --rounds | --postings | --in-flight | --insert-sample) bench_args+=("$1" "$2"); shift 2 ;;
    --timeout) limit="$2"; shift 2 ;;
    --bin) bins+=("$2"); shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# Debian packages, when missing (as the project's run.sh does).
missing=()
[ -f /usr/include/postgresql/libpq-fe.h ] || missing+=(libpq-dev)
[ -x "$pg_bin/initdb" ] || missing+=(postgresql-15)
"$root/bench/apt_install.sh" "${missing[@]}"

# Other Pond servers on the machine would take CPU from both sides.
if pgrep -a -x pond; then
  echo "warning: pond processes are running (above); the figures will be lower" >&2
fi

if [ ${#bins[@]} -eq 0 ]; then
  echo "==> build"
  cmake -S "$root" -B "$root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  timeout 3600 ninja -j2 -C "$root/build-bench" pond_bench_postgres >/dev/null
  bins=("$root/build-bench/bench/pond_bench_postgres")
fi

as_server=()
[ "$(id -u)" -eq 0 ] && as_server=(runuser -u postgres --)
dir=$(mktemp -d -t pond-bench-pg.XXXXXXXX)
stop_postgres() {
  if [ -f "$dir/data/postmaster.pid" ]; then
    if ! timeout 60 "${as_server[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1; then
      local pid
      pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
      [[ "$pid" =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
}
trap stop_postgres EXIT
trap 'exit 143' INT TERM

echo "==> PostgreSQL cluster in $dir"
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir"
  runuser -u postgres -- test -w "$dir" || { echo "the postgres user cannot reach $dir; set TMPDIR" >&2; exit 1; }
fi
chmod 700 "$dir"
timeout 120 "${as_server[@]}" "$pg_bin/initdb" -D "$dir/data" -A trust -U pond -E UTF8 --locale C \
  >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
# Durable as a production server is; memory and WAL room so that neither
# side meets a forced checkpoint (each phase starts after a CHECKPOINT).
cat >>"$dir/data/postgresql.conf" <<CONF

# bench/postgres/run.sh
listen_addresses = ''
unix_socket_directories = '$dir'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 300
shared_buffers = 1GB
max_wal_size = 8GB
CONF
timeout 120 "${as_server[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -t 60 -w start >/dev/null \
  || { tail -n 30 "$dir/server.log" >&2; exit 1; }

for bin in "${bins[@]}"; do
  echo "==> run $bin (tree at commit $(git -C "$root" rev-parse --short HEAD))"
  timeout "$limit" "$bin" --pg "host=$dir port=5432 user=pond" "${bench_args[@]}"
done
