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

for t in build/tests/test_*; do
    [ -x "$t" ] || continue
    [ -n "$only" ] && [[ "$t" != *"$only"* ]] && continue
    out=$("$t" --jobs=2 2>&1)
    rc=$?
    syn=$(printf '%s\n' "$out" | sed -n 's/.*Synthesis: Tested: \([0-9]*\) | Passing: \([0-9]*\).*/\1 \2/p' | tail -n1)
    if [ -z "$syn" ]; then
        printf '%s\n' "$out"
        echo "FAIL: $t produced no Criterion summary (rc=$rc)"
        failed=$((failed + 1)); failures+=("$t"); continue
    fi
    set -- $syn
    p=$2; f=$(( $1 - $2 ))
    [ $rc -ne 0 ] && [ $f -eq 0 ] && f=1
    passed=$((passed + p)); failed=$((failed + f))
    if [ $f -ne 0 ]; then printf '%s\n' "$out"; failures+=("$t"); fi
    echo "unit   $(basename "$t"): $p passed, $f failed"
done

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

[ ${#failures[@]} -gt 0 ] && echo "failing: ${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
