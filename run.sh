#!/usr/bin/env bash
# The README's two commands:
#   ./run.sh start   install what is missing, build, load a demo tenant, serve on 127.0.0.1:8080
#   ./run.sh test    install what is missing, build, run every test (what CI runs)
# Works on a fresh Debian 12; installs with apt (through sudo when not root).
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build, the tests and the fuzzer need (ARCHITECTURE.md
# says why each is there). PostgreSQL 15 is the second storage backend: libpq
# to build it, the server and psql for the tests' throwaway cluster
# (tests/pg/pg_cluster.sh, on a free loopback port; a default cluster the
# package may start on 5432 is left alone).
PACKAGES=(
  cmake ninja-build ccache g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libssl-dev libcli11-dev libgtest-dev libjemalloc-dev libroaring-dev
  tzdata python3 clang libclang-rt-14-dev libxlsxwriter-dev
  postgresql-15 postgresql-client-15 libpq-dev
)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "==> installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

build() {
  local werror=OFF
  [ "${CI:-}" = "true" ] && werror=ON
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOND_WERROR="$werror" >/dev/null
  ninja -C build
}

start() {
  local data=${POND_DATA:-data} listen=${POND_LISTEN:-127.0.0.1:8080}
  if [ ! -e "$data/tenants/demo.db" ]; then
    echo "==> loading the demo tenant into $data/ (100,000 members, a year of orders)"
    build/pond demo --data "$data" --tenant demo --members "${POND_DEMO_MEMBERS:-100000}" --seed 1
  fi
  cat <<MSG
==> Pond is starting on http://$listen
    tenant:   http://$listen/api/v1/tenants/demo
    a member: http://$listen/api/v1/tenants/demo/members/1
    members:  http://$listen/api/v1/tenants/demo/members?limit=20&city=%E6%B7%B1%E5%9C%B3
    stores:   http://$listen/api/v1/tenants/demo/stores
    API:      http://$listen/api/v1/openapi.json   metrics: http://$listen/metrics
    Ctrl-C stops it; data stays in $data/.
MSG
  exec build/pond serve --data "$data" --listen "$listen"
}

# fuzz NAME SECONDS: runs fuzz target NAME_fuzzer from a scratch copy of its
# seed corpus, so the checked-in seeds stay small.
fuzz() {
  local corpus
  corpus=$(mktemp -d)
  cp "fuzz/corpus/$1"/* "$corpus"/
  "build-fuzz/fuzz/$1_fuzzer" -max_total_time="$2" -print_final_stats=0 "$corpus" "fuzz/corpus/$1" 2>&1 | tail -n 2
  rm -rf "$corpus"
}

run_tests() {
  echo "==> fuzzing the parsers of outside input (bounded)"
  CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOND_FUZZ=ON >/dev/null
  ninja -C build-fuzz event_parser_fuzzer loyalty_config_fuzzer segment_expr_fuzzer coupon_template_fuzzer activity_fuzzer
  fuzz event_parser "${POND_FUZZ_SECONDS:-40}"
  fuzz loyalty_config "${POND_FUZZ_SECONDS:-20}"
  fuzz segment_expr "${POND_FUZZ_SECONDS:-30}"
  fuzz coupon_template "${POND_FUZZ_SECONDS:-20}"
  fuzz activity "${POND_FUZZ_SECONDS:-15}"

  # The domain, engine and storage tests again under AddressSanitizer and
  # UBSan (the HTTP layer's Beast build is left out to keep CI's time).
  # storage_postgres needs the ctest fixture `pg`; ctest adds its setup and
  # cleanup tests (pg_cluster_start/stop) to a run filtered with -R by itself.
  echo "==> unit tests under address and undefined-behaviour sanitizers"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPOND_SANITIZE=ON >/dev/null
  local sanitized=(core members orders loyalty coupons activities lifecycle masterdata segments tags exports ingest engine storage_sqlite storage_postgres storage_conformance)
  local targets=()
  for m in "${sanitized[@]}"; do targets+=("pond_${m}_test"); done
  ninja -C build-asan "${targets[@]}" >/dev/null
  ctest --test-dir build-asan -j2 --output-on-failure -R "^($(IFS='|'; echo "${sanitized[*]}"))\$"

  # The engine's threads (writer, committer, readers under the shared lock)
  # under ThreadSanitizer. The two long single-threaded randomized tests are
  # left out: they share no memory across threads, and the runs above cover
  # them.
  echo "==> engine tests under the thread sanitizer"
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOND_TSAN=ON >/dev/null
  ninja -C build-tsan pond_engine_test >/dev/null
  # die_after_fork=0: the outbox crash test forks a child that starts the
  # engine, and by then the process has a thread (core/huge_pages.cpp's
  # warmer, started by an earlier test) that TSan would die for.
  TSAN_OPTIONS=halt_on_error=1:die_after_fork=0 build-tsan/src/engine/pond_engine_test --gtest_brief=1 \
    --gtest_filter=-TenantStateTest.ReloadedStateMatchesLiveStateAfterRandomEvents:LoyaltyFlowTest.EngineAgreesWithTheRulesOverYearsWithRestarts

  echo "==> unit and end-to-end tests"
  ctest --test-dir build --output-on-failure -j2
}

case "${1:-}" in
  start) install_missing; build; start ;;
  test) install_missing; build; run_tests ;;
  *) echo "usage: $0 start|test" >&2; exit 2 ;;
esac
