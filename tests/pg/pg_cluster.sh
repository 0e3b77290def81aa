#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests (ctest fixture `pg`, see
# tests/CMakeLists.txt).
#
#   tests/pg/pg_cluster.sh start STATE_DIR   initdb in a fresh temp dir, serve on a
#                                            free 127.0.0.1 port; writes STATE_DIR/dir
#                                            (the temp dir) and STATE_DIR/url
#                                            (postgresql://pond@127.0.0.1:PORT/postgres)
#   tests/pg/pg_cluster.sh stop STATE_DIR    stop that cluster and remove it; safe when
#                                            start failed or never ran
#   tests/pg/pg_cluster.sh pause STATE_DIR   stop the server as a crash would (-m immediate),
#                                            keeping its data (an outage, for tests)
#   tests/pg/pg_cluster.sh resume STATE_DIR  start it again on the same port
#
# The cluster listens on loopback only (and on a unix socket inside its temp
# dir), trusts local connections as role `pond`, and runs with fsync off: the
# tests kill Pond, never PostgreSQL, and the cluster is deleted afterwards.
# PostgreSQL refuses to run as root, so as root the server runs as the
# `postgres` system user (as bench/segments/run.sh does). Every step is
# bounded in time.
set -euo pipefail

pg_bin=${POND_PG_BIN:-/usr/lib/postgresql/15/bin}
start_timeout=60   # seconds for pg_ctl start / stop to finish
stop_timeout=30

usage() {
  echo "usage: $0 start|stop|pause|resume STATE_DIR" >&2
  exit 2
}

# The prefix that runs a command as the user the server runs as.
as_server=()
if [ "$(id -u)" -eq 0 ]; then
  as_server=(runuser -u postgres --)
fi

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

stop_cluster() {
  local state=$1 dir=""
  [ -f "$state/dir" ] && dir=$(cat "$state/dir")
  if [ -n "$dir" ] && [ -d "$dir" ]; then
    # Only ever delete what start made: a mktemp dir named pond-pg.*.
    case "$(basename "$dir")" in
      pond-pg.*) ;;
      *) echo "pg_cluster: $state/dir names $dir, not a pond-pg.* temp dir; leaving it" >&2; return 1 ;;
    esac
    if [ -f "$dir/data/postmaster.pid" ]; then
      if ! "${as_server[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -t "$stop_timeout" -w stop >/dev/null 2>&1; then
        # pg_ctl gave up: end the postmaster this script started, by its pid.
        local pid
        pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
        if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
          echo "pg_cluster: pg_ctl stop failed; killing postmaster $pid" >&2
          kill -KILL "$pid" 2>/dev/null || true
        fi
      fi
    fi
    rm -rf "$dir"
  fi
  rm -f "$state/dir" "$state/url"
  rmdir "$state" 2>/dev/null || true
}

# cleanup_failed_start STATUS STATE_DIR: the EXIT trap while starting.
cleanup_failed_start() {
  if [ "$1" -ne 0 ]; then
    echo "pg_cluster: start failed; cleaning up" >&2
    stop_cluster "$2" || true
  fi
}

start_cluster() {
  local state=$1
  # A cluster left behind by an interrupted run goes first.
  stop_cluster "$state"
  [ -x "$pg_bin/initdb" ] || { echo "pg_cluster: no $pg_bin/initdb (install postgresql-15)" >&2; return 1; }
  mkdir -p "$state"
  local dir
  dir=$(mktemp -d -t pond-pg.XXXXXXXX)
  # Written first, so that stop finds the dir whatever fails next.
  echo "$dir" >"$state/dir"
  # Any failure from here on (set -e, or ctest's timeout) removes it again.
  trap 'cleanup_failed_start $? "$state"' EXIT
  trap 'exit 143' TERM INT

  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "pg_cluster: the postgres user cannot reach $dir (TMPDIR=${TMPDIR:-}); use a TMPDIR it can enter" >&2
      false
    fi
  fi
  chmod 700 "$dir"

  timeout 120 "${as_server[@]}" "$pg_bin/initdb" -D "$dir/data" -A trust -U pond --no-sync -E UTF8 --locale C \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; false; }
  cat >>"$dir/data/postgresql.conf" <<CONF

# tests/pg/pg_cluster.sh: a throwaway cluster for the tests
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
full_page_writes = off
max_connections = 200
CONF

  # The port is free when picked but could be taken before the server binds
  # it, so a failed start tries again on another.
  local port="" attempt started=no
  for attempt in 1 2 3; do
    port=$(free_port)
    if "${as_server[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" -t "$start_timeout" -w start \
      >/dev/null 2>&1; then
      started=yes
      break
    fi
    echo "pg_cluster: start on port $port failed (attempt $attempt)" >&2
    "${as_server[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -t "$stop_timeout" -w stop >/dev/null 2>&1 || true
  done
  if [ "$started" != yes ]; then
    tail -n 30 "$dir/server.log" >&2 || true
    false
  fi
  echo "postgresql://pond@127.0.0.1:$port/postgres" >"$state/url"
  trap - EXIT TERM INT
  echo "pg_cluster: PostgreSQL 15 on 127.0.0.1:$port, data in $dir"
}

pause_cluster() {
  local dir
  dir=$(cat "$1/dir")
  "${as_server[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -t "$stop_timeout" -w stop >/dev/null
}

resume_cluster() {
  local dir url port
  dir=$(cat "$1/dir")
  url=$(cat "$1/url")
  port=${url##*:}
  port=${port%%/*}
  "${as_server[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" -t "$start_timeout" -w start \
    >/dev/null
}

[ $# -eq 2 ] || usage
state=$(realpath -m "$2")
case "$1" in
  start) start_cluster "$state" ;;
  stop) stop_cluster "$state" ;;
  pause) pause_cluster "$state" ;;
  resume) resume_cluster "$state" ;;
  *) usage ;;
esac
