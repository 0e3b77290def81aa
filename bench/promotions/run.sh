#!/usr/bin/env bash
# bench/promotions end to end: build, start Pond and Redis on loopback in a
# scratch directory, time redemptions and flash-sale claims on both, then kill
# Pond with SIGKILL, restart it on the same data and check that everything it
# had acknowledged is still there. Prints the table; exits non-zero when a
# verification fails (oversell, a lost or doubled redemption, counts that
# disagree), not when a target is missed.
#
#   bench/promotions/run.sh [--members 100000] [--stock N] [--connections 64]
#                           [--redis-fsync always,everysec] [--threads 2]
#                           [--timeout SECONDS] [--keep] [--pond-bin PATH]
#
# --pond-bin benchmarks that Pond executable (another build, an older commit)
# instead of building build/pond.
# --timeout (default 1800) bounds each step (the run, the recheck after the
# restart); every wait is bounded too. Both
# servers are stopped on any exit; the scratch directory is removed unless
# --keep is given (it holds Pond's data, Redis's append-only file and logs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

members=100000
stock=()
connections=64
fsync="always,everysec"
threads=2
limit=1800
keep=0
pond_bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --members) members="$2"; shift 2 ;;
    --stock) stock=(--stock "$2"); shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --redis-fsync) fsync="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --timeout) limit="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --pond-bin) pond_bin="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# The peer's Debian package, when missing (as bench/segments/run.sh does).
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  "$root/bench/apt_install.sh" redis-server
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/pond-bench-promotions.XXXXXX")"
pond_pid=""
redis_pid=""

# Whether a server we started still runs (an exited child stays a zombie,
# which `kill -0` still finds, until it is waited for).
running() {
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null || true)"
  [ -n "$state" ] && [ "${state:0:1}" != Z ]
}

# Stops one server by its pid: TERM, up to 10 s, then KILL.
stop() {
  local pid="$1"
  [ -n "$pid" ] || return 0
  if running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      running "$pid" || break
      sleep 0.1
    done
    if running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop "$pond_pid"
  stop "$redis_pid"
  if [ "$keep" -eq 1 ]; then echo "==> kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts Pond on $work/pond at a free port; sets pond_pid and pond_addr.
start_pond() {
  : >"$work/pond.out"
  "$pond_bin" serve --data "$work/pond" --listen 127.0.0.1:0 --threads "$threads" \
    >"$work/pond.out" 2>>"$work/pond.log" &
  pond_pid=$!
  pond_addr=""
  for _ in $(seq 300); do
    pond_addr="$(sed -n 's|^pond listening on http://||p' "$work/pond.out" | head -n 1)"
    [ -n "$pond_addr" ] && return 0
    running "$pond_pid" || break
    sleep 0.1
  done
  echo "pond did not start; its log:" >&2
  tail -n 20 "$work/pond.log" >&2
  exit 1
}

# Starts Redis on a random free loopback port, durable like Pond: every
# write in the append-only file, fsynced before the reply (README.md says
# why each setting). Sets redis_pid and redis_port.
start_redis() {
  mkdir -p "$work/redis"
  for _ in 1 2 3 4 5; do
    redis_port=$((20000 + RANDOM % 40000))
    redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work/redis" --logfile "$work/redis/redis.log" \
      --daemonize no --appendonly yes --appendfsync always --save "" --auto-aof-rewrite-percentage 0 &
    redis_pid=$!
    for _ in $(seq 100); do
      running "$redis_pid" || break
      [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = "PONG" ] && return 0
      sleep 0.1
    done
    stop "$redis_pid"  # most likely the port was taken: try another
  done
  echo "redis-server did not start; its log:" >&2
  tail -n 20 "$work/redis/redis.log" >&2
  exit 1
}

echo "==> build"
targets=(pond_bench_promotions)
[ -n "$pond_bin" ] || targets+=(pond)
[ -f "$root/build/build.ninja" ] || cmake -S "$root" -B "$root/build" -G Ninja >/dev/null
if ! cmake --build "$root/build" --target "${targets[@]}" >"$work/build.log" 2>&1; then
  tail -n 30 "$work/build.log" >&2
  exit 1
fi
pond_bin="${pond_bin:-$root/build/pond}"
bench="$root/build/bench/pond_bench_promotions"

start_pond
start_redis
echo "==> pond on $pond_addr (data $work/pond), $(redis-server --version | cut -d' ' -f1-3) on 127.0.0.1:$redis_port"

status=0
timeout "$limit" "$bench" run --pond "$pond_addr" --redis "127.0.0.1:$redis_port" --members "$members" "${stock[@]}" \
  --connections "$connections" --redis-fsync "$fsync" --timeout "$limit" --state "$work/acknowledged.txt" || status=$?

if [ -f "$work/acknowledged.txt" ]; then
  echo
  echo "==> durability: kill -9 pond, restart it on the same data, read back what it acknowledged"
  kill -KILL "$pond_pid"
  wait "$pond_pid" 2>/dev/null || true
  start_pond
  timeout "$limit" "$bench" recheck --pond "$pond_addr" --state "$work/acknowledged.txt" --timeout "$limit" || status=1
fi
exit "$status"
