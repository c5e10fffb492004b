#!/usr/bin/env bash
# Runs every test: cmocka suites, fuzz-regression replays, end-to-end tests.
# Prints a summary per suite and ends with one line "N passed, N failed";
# exits non-zero if anything failed. Usage: tests/run.sh [BUILD_DIR]
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$(cd "${1:-build}" && pwd)
export EG_BUILD=$BUILD EG_BIN=$BUILD/asan/bin EG_TOOLS=$BUILD/asan/tools
export EG_PYTHON=/usr/bin/python3 NODE_PATH=$ROOT/tests/e2e/node_modules
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 suppressions=$ROOT/tests/tsan.supp}
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/egtests.XXXXXX")
passed=0
failed=0

summary() { # suite passed failed
    printf '%-40s %4d passed, %d failed\n' "$1" "$2" "$3"
    passed=$((passed + $2))
    failed=$((failed + $3))
}

echo "== cmocka suites"
# ASan builds of every suite, then ThreadSanitizer builds of the cross-thread ones.
for t in "$BUILD"/asan/test/test_* "$BUILD"/tsan/test/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    case $t in "$BUILD"/tsan/*) name=$name-tsan ;; esac
    log=$LOGDIR/$name.log
    timeout 300 "$t" >"$log" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    p=${p:-0}
    f=${f:-0}
    # A crash or sanitizer report leaves no summary, or a non-zero exit.
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    summary "$name" "$p" "$f"
    [ "$rc" -eq 0 ] || { echo "--- $name output:"; grep -v '^\[       OK \]\|^\[ RUN      \]' "$log" | tail -60; }
done

echo "== fuzz regression replays"
for t in "$BUILD"/asan/replay/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    dirs=()
    for d in tests/fuzz/regressions/$name tests/fuzz/seeds/$name; do [ -d "$d" ] && dirs+=("$d"); done
    if [ ${#dirs[@]} -eq 0 ]; then continue; fi
    if timeout 300 "$t" "${dirs[@]}" >"$LOGDIR/$name.log" 2>&1; then
        summary "$name (replay)" 1 0
    else
        summary "$name (replay)" 0 1
        tail -40 "$LOGDIR/$name.log"
    fi
done

run_e2e() { # file label: runs one end-to-end file (bounded), counts its ok / not ok lines
    local log=$LOGDIR/${2// /-}.log rc p f
    timeout 600 bash "$1" >"$log" 2>&1
    rc=$?
    p=$(grep -c '^ok ' "$log")
    f=$(grep -c '^not ok ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    summary "$2" "$p" "$f"
    [ "$rc" -eq 0 ] || { echo "--- $2 output:"; grep -v '^ok ' "$log" | tail -60; }
}

echo "== end-to-end tests (one worker)"
for t in tests/e2e/test_*.sh; do
    case $t in */test_quickstart.sh) continue ;; esac # right after test_make_run: the same demo ports
    [ -f "$t" ] && EGBROKER_WORKERS=1 run_e2e "$t" "$(basename "$t" .sh)"
    case $t in */test_make_run.sh) EGBROKER_WORKERS=1 run_e2e tests/e2e/test_quickstart.sh test_quickstart ;; esac
done

# The data plane partitions sessions over workers (docs/design-threads.md): the suites that
# drive sessions, routing, shared subscriptions and enforcement run again with 3 workers, and
# those of TLS and WebSockets, whose connections move to their session's worker at CONNECT.
# (Log formats and the Event Grid compatibility refusals do not depend on the workers: they run
# once, which keeps make test under 10 minutes on 2 cores.)
echo "== end-to-end tests with 3 workers (EGBROKER_WORKERS=3)"
for name in test_broker_paho test_broker_mqttjs test_broker_mosquitto test_broker_tls test_broker_ws test_enforcement_connect \
    test_enforcement_live test_durability_enforced test_ops_events test_ops_metrics test_quotas; do
    EGBROKER_WORKERS=3 run_e2e "tests/e2e/$name.sh" "$name (3 workers)"
done

# The worker threads under ThreadSanitizer: the broker built with -fsanitize=thread, 3 workers,
# driven by the client suites (a data race aborts it, and its exit is checked).
# The enforcement suites also need egcontrol and egctl: the sanitizer builds of those, beside it.
# (The quotas' shared session count runs under ThreadSanitizer in test_realm.)
echo "== end-to-end tests with 3 workers under ThreadSanitizer"
TSAN_BIN=$LOGDIR/tsan-bin
mkdir -p "$TSAN_BIN"
ln -sf "$BUILD"/asan/bin/* "$TSAN_BIN"/
ln -sf "$BUILD/tsan/bin/egbroker" "$TSAN_BIN/egbroker"
for name in test_broker_paho test_broker_mqttjs test_broker_mosquitto test_broker_tls test_broker_ws \
    test_enforcement_live test_durability test_durability_enforced test_ops_events test_ops_metrics; do
    EG_BIN=$TSAN_BIN EGBROKER_WORKERS=3 run_e2e "tests/e2e/$name.sh" "$name (3 workers, tsan)"
done

echo "logs: $LOGDIR"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
