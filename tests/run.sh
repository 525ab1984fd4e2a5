#!/bin/bash
# Runs the whole suite: Criterion unit tests, then the namespace integration tests.
# Every test adds to one tally; the last line is "N passed, N failed" and the exit status is 0
# only when nothing failed.
#
# Integration scripts print "PASS: what" / "FAIL: what" lines, one per assertion group; a script
# that exits non-zero without printing a FAIL line counts as one failure.
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
failures=()
only="${1:-}"

# Runs every Criterion binary matching GLOB and adds its results to the tally. What follows the
# glob goes to env(1) before the binary: variables, then possibly a command that runs it (qemu).
# run_criterion LABEL GLOB [ENV=VALUE...] [RUNNER...]
run_criterion() {
    local label=$1 glob=$2; shift 2
    local t out rc syn p f
    for t in $glob; do
        [ -x "$t" ] || continue
        [ -n "$only" ] && [[ "$t" != *"$only"* ]] && continue
        out=$(env "$@" "$t" --jobs=2 "${CRITERION_ARGS[@]}" 2>&1)
        rc=$?
        syn=$(printf '%s\n' "$out" | sed -n 's/.*Synthesis: Tested: \([0-9]*\) | Passing: \([0-9]*\).*/\1 \2/p' | tail -n1)
        if [ -z "$syn" ]; then
            printf '%s\n' "$out"
            echo "FAIL: $t produced no Criterion summary (rc=$rc)"
            failed=$((failed + 1)); failures+=("$t"); continue
        fi
        p=${syn#* }; f=$(( ${syn% *} - p ))
        [ $rc -ne 0 ] && [ $f -eq 0 ] && f=1
        passed=$((passed + p)); failed=$((failed + f))
        if [ $f -ne 0 ]; then printf '%s\n' "$out"; failures+=("$t"); fi
        printf '%-6s %s: %d passed, %d failed\n' "$label" "$(basename "$t")" "$p" "$f"
    done
}

CRITERION_ARGS=()      # more options for the Criterion binaries
run_criterion unit 'build/tests/test_*'

# --- the Raspberry Pi builds' unit tests under emulation (make ARCH=arm64 unit / ARCH=armhf) ---
# qemu-user runs each ARM test binary on this machine's kernel, as the CPUs of a Pi 4
# (Cortex-A72: ARMv8.0, no LSE atomics, so the code takes the Pi's paths) and of a Pi 2
# (Cortex-A7, the oldest core Debian's armhf runs on). QEMU_CPU is read again by the qemu that
# binfmt_misc starts when arm64 Criterion re-executes a test binary for each test.
# Left out under emulation, by name: the two QoS tests that read class statistics back through
# a netlink dump of tc classes, which qemu-user refuses (sendto fails with EOPNOTSUPP: it
# translates link, address and route messages only); the four other QoS tests run, tc and
# network namespaces included.
# The two emulated suites run side by side (each keeps about one CPU busy, and they take a
# minute and a half each here); their output and tallies are added in order once both end.
CRITERION_ARGS=('--filter=!(qos_tree/builds_the_brief_tree|qos_tree/shapes_to_the_configured_rates)')
cross_tmp=$(mktemp -d)
run_cross() {   # run_cross ARCH QEMU_CPU QEMU: in a subshell, its tally left in $cross_tmp/ARCH
    local arch=$1
    # A cross build whose libraries this machine could not install is skipped (make check
    # says why).
    tools/install-deps.sh --cross-ready "$arch" || return 0
    ( passed=0; failed=0; failures=()
      run_criterion "$arch" "build-$arch/tests/test_*" QEMU_CPU="$2" "$3" >"$cross_tmp/$arch.out" 2>&1
      echo "$passed $failed ${failures[*]}" >"$cross_tmp/$arch.tally" ) &
}
run_cross arm64 cortex-a72 qemu-aarch64
run_cross armhf cortex-a7 qemu-arm
wait
for arch in arm64 armhf; do
    [ -f "$cross_tmp/$arch.tally" ] || continue
    cat "$cross_tmp/$arch.out"
    read -r p f fl <"$cross_tmp/$arch.tally"
    passed=$((passed + p)); failed=$((failed + f))
    [ -n "$fl" ] && failures+=($fl)
done
rm -rf "$cross_tmp"
CRITERION_ARGS=()

if [ "$(id -u)" = 0 ]; then
    for t in tests/integration/test_*.sh; do
        [ -f "$t" ] || continue
        [ -n "$only" ] && [[ "$t" != *"$only"* ]] && continue
        log=$(mktemp)
        start=$(date +%s)
        timeout 300 bash "$t" >"$log" 2>&1
        rc=$?
        p=$(grep -c '^PASS:' "$log"); f=$(grep -c '^FAIL:' "$log")
        [ $rc -ne 0 ] && [ $f -eq 0 ] && f=1
        passed=$((passed + p)); failed=$((failed + f))
        if [ $f -ne 0 ]; then
            echo "---- $t (rc=$rc) ----"; tail -n 60 "$log"; echo "----"
            failures+=("$t")
        fi
        echo "integ  $(basename "$t"): $p passed, $f failed ($(( $(date +%s) - start ))s)"
        rm -f "$log"
    done
else
    echo "integration tests need root: skipped"
fi

# --- fuzzers and sanitized unit tests (make fuzz-build sanitize; skipped when not built) ---
# Each fuzzer runs FUZZ_SECONDS (default 3) on a scratch copy of tests/fuzz/corpus/NAME, so the
# repository's seeds are never rewritten, two at a time; it counts as one PASS or one FAIL. A
# crash, sanitizer report or broken property keeps its input in build-fuzz/artifacts/, to be
# replayed with: build-fuzz/fuzz_NAME build-fuzz/artifacts/NAME-crash-...
fuzz_jobs=$(nproc 2>/dev/null || echo 2)
[ "$fuzz_jobs" -gt 2 ] && fuzz_jobs=2
fuzz_tmp=$(mktemp -d)
fuzzers=()
for f in build-fuzz/fuzz_*; do
    [ -x "$f" ] && [ -f "$f" ] || continue
    n=${f#build-fuzz/fuzz_}
    [ -n "$only" ] && [[ "$f" != *"$only"* ]] && continue
    fuzzers+=("$n")
    mkdir -p "$fuzz_tmp/$n" build-fuzz/artifacts
    [ -d "tests/fuzz/corpus/$n" ] && cp -r "tests/fuzz/corpus/$n/." "$fuzz_tmp/$n/"
    while [ "$(jobs -rp | wc -l)" -ge "$fuzz_jobs" ]; do wait -n; done
    ( "$f" -max_total_time="${FUZZ_SECONDS:-3}" -timeout=10 -rss_limit_mb=1024 \
          -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$n-" "$fuzz_tmp/$n" \
          >"$fuzz_tmp/$n.log" 2>&1
      echo $? >"$fuzz_tmp/$n.rc" ) &
done
wait
for n in "${fuzzers[@]}"; do
    rc=$(cat "$fuzz_tmp/$n.rc" 2>/dev/null || echo 1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$fuzz_tmp/$n.log" | tail -n1)
    if [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        echo "fuzz   $n: ${runs:-?} runs, no finding"
    else
        failed=$((failed + 1)); failures+=("build-fuzz/fuzz_$n")
        echo "---- fuzz_$n (rc=$rc) ----"; tail -n 40 "$fuzz_tmp/$n.log"; echo "----"
        echo "fuzz   $n: FAIL (input kept in build-fuzz/artifacts/)"
    fi
done
rm -rf "$fuzz_tmp"

# Every input a fuzzer once crashed on (tests/fuzz/regressions/NAME/, kept when the bug was
# fixed) replayed through its harness: each file runs once; one PASS or FAIL per harness.
for d in tests/fuzz/regressions/*/; do
    [ -d "$d" ] || continue
    n=$(basename "$d")
    f=build-fuzz/fuzz_$n
    [ -n "$only" ] && [[ "$f" != *"$only"* ]] && continue
    inputs=("$d"*)
    [ -e "${inputs[0]}" ] || continue
    if [ ! -x "$f" ]; then
        echo "regress $n: skipped (no $f: make fuzz-build)"
        continue
    fi
    out=$("$f" -runs=1 -timeout=10 -rss_limit_mb=1024 "${inputs[@]}" 2>&1)
    rc=$?
    if [ $rc = 0 ]; then
        passed=$((passed + 1))
        echo "regress $n: ${#inputs[@]} inputs replayed, no finding"
    else
        failed=$((failed + 1)); failures+=("$d")
        echo "---- regress $n (rc=$rc) ----"; printf '%s\n' "$out" | tail -n 40; echo "----"
        echo "regress $n: FAIL"
    fi
done

# The unit tests again, built with ASan and UBSan (any report fails the test that hit it).
run_criterion asan 'build-asan/tests/test_*' UBSAN_OPTIONS=print_stacktrace=1

# The tests that depend on what the compiler makes of the code, built with clang -O2 as well
# (make clang-race; see the Makefile).
run_criterion clang 'build-clang/tests/test_*'

[ ${#failures[@]} -gt 0 ] && echo "failing: ${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
