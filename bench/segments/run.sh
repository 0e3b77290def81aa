#!/usr/bin/env bash
# bench/segments for one data-set size, end to end: build, export (skipped
# when the directory already holds the same data set), load and ask every
# system, print the table. Exits non-zero when systems disagree on a count.
#
#   bench/segments/run.sh [--members 1000000] [--dir D] [--systems pond,pond-live,sqlite,postgres,duckdb]
#                         [--repeat 30] [--reload] [--timeout SECONDS] [--questions 9,15]
#
# D defaults to ${TMPDIR:-/tmp}/pond-bench-segments/m<members>; it must be
# reachable by the postgres user (the server refuses to run as root, so as
# root the cluster runs as `postgres`). Talks only to local unix sockets;
# the PostgreSQL cluster it starts is stopped on any exit. Each step is
# bounded by --timeout (default 4 hours).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

members=1000000
seed=1
end="2026-11-20T00:00:00+08:00"
dir=""
systems="pond,pond-live,sqlite,postgres,duckdb"
repeat=30
reload=()
questions=()
limit=14400
pg_bin=/usr/lib/postgresql/15/bin
while [ $# -gt 0 ]; do
  case "$1" in
    --members) members="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --systems) systems="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --reload) reload=(--reload); shift ;;
    --questions) questions=(--questions "$2"); shift 2 ;;
    --timeout) limit="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
dir="${dir:-${TMPDIR:-/tmp}/pond-bench-segments/m$members}"
mkdir -p "$dir"

# The peers' Debian packages, when missing (as the project's run.sh does).
missing=()
[ -f /usr/include/postgresql/libpq-fe.h ] || missing+=(libpq-dev)
[ -x "$pg_bin/initdb" ] || missing+=(postgresql-15)
command -v node >/dev/null || missing+=(nodejs npm)
"$root/bench/apt_install.sh" "${missing[@]}"
if [[ "$systems" == *duckdb* ]] && [ ! -d "$here/node_modules/@duckdb/node-api" ]; then
  (cd "$here" && npm install --no-audit --no-fund --no-package-lock)
fi

stop_postgres() {
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    local as=()
    [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$pg_bin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}
trap stop_postgres EXIT INT TERM

echo "==> build"
cmake -S "$root" -B "$root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -j1 -C "$root/build-bench" pond_bench_segments >/dev/null
bin="$root/build-bench/bench/pond_bench_segments"

echo "==> export $members members to $dir"
timeout "$limit" "$bin" export --members "$members" --seed "$seed" --end "$end" --dir "$dir"

echo "==> run $systems"
timeout "$limit" "$bin" run --dir "$dir" --systems "$systems" --repeat "$repeat" --pg-bin "$pg_bin" "${reload[@]}" "${questions[@]}"
