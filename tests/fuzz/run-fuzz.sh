#!/bin/bash
# make fuzz: runs every libFuzzer harness (build-fuzz/fuzz_NAME, built by make fuzz-build) for
# FUZZ_TIME seconds, FUZZ_JOBS at a time, each on a scratch copy of its corpus in the
# repository (tests/fuzz/corpus/NAME) plus its regression inputs (tests/fuzz/regressions/NAME);
# then merges what it found back into tests/fuzz/corpus/NAME with -merge=1 (only inputs that
# add coverage the corpus did not have, so the corpus grows but stays small), measures the
# merged corpus's coverage, and prints a summary.
#
#   tests/fuzz/run-fuzz.sh [NAME...]      (default: every harness built)
#
# Environment:
#   FUZZ_TIME=600     seconds per harness (the default is the issue's 10 minutes)
#   FUZZ_JOBS=2       harnesses at once (this is a 2-core machine shared with others: never
#                     more than 2)
#   FUZZ_MERGE=1      0: leave the repository's corpus alone
#   FUZZ_OUT=build-fuzz/runs/DATE   logs, scratch corpora, findings, summary.md
#
# A finding (crash, sanitizer report, broken property, timeout, out of memory) ends that
# harness's run early (libFuzzer's default) and keeps its input in FUZZ_OUT/NAME/; the summary
# names it, and the exit status is 1. Keep the input as a regression case: copy it to
# tests/fuzz/regressions/NAME/, which tests/run.sh replays in make check.
set -u
cd "$(dirname "$0")/../.."

FUZZ_TIME=${FUZZ_TIME:-600}
FUZZ_JOBS=${FUZZ_JOBS:-2}
FUZZ_MERGE=${FUZZ_MERGE:-1}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${FUZZ_OUT:-build-fuzz/runs/$STAMP}
[ "$FUZZ_JOBS" -ge 1 ] 2>/dev/null || FUZZ_JOBS=1
[ "$FUZZ_JOBS" -gt 2 ] && FUZZ_JOBS=2

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in build-fuzz/fuzz_*; do
        [ -x "$f" ] && [ -f "$f" ] && names+=("${f#build-fuzz/fuzz_}")
    done
fi
[ ${#names[@]} -gt 0 ] || { echo "run-fuzz: no harness built (make fuzz-build)" >&2; exit 2; }
for n in "${names[@]}"; do
    [ -x "build-fuzz/fuzz_$n" ] || { echo "run-fuzz: no build-fuzz/fuzz_$n" >&2; exit 2; }
done
mkdir -p "$OUT"
echo "run-fuzz: ${#names[@]} harnesses, ${FUZZ_TIME} s each, $FUZZ_JOBS at a time; output in $OUT" >&2

# One harness: fuzz, then merge and measure. Everything it writes is under $OUT/$n.
fuzz_one() {
    local n=$1 bin=build-fuzz/fuzz_$1 d=$OUT/$1 start
    mkdir -p "$d/corpus" "$d/findings"
    [ -d "tests/fuzz/corpus/$n" ] && cp -r "tests/fuzz/corpus/$n/." "$d/corpus/"
    [ -d "tests/fuzz/regressions/$n" ] && cp -r "tests/fuzz/regressions/$n/." "$d/corpus/"
    ls "tests/fuzz/corpus/$n" 2>/dev/null | wc -l >"$d/corpus_before"
    start=$(date +%s)
    "$bin" -max_total_time="$FUZZ_TIME" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$d/findings/" "$d/corpus" >"$d/fuzz.log" 2>&1
    echo $? >"$d/rc"
    echo $(( $(date +%s) - start )) >"$d/seconds"
    if [ "$FUZZ_MERGE" = 1 ]; then
        mkdir -p "tests/fuzz/corpus/$n"
        "$bin" -merge=1 -timeout=10 -rss_limit_mb=2048 "tests/fuzz/corpus/$n" "$d/corpus" \
            >"$d/merge.log" 2>&1
    fi
    ls "tests/fuzz/corpus/$n" 2>/dev/null | wc -l >"$d/corpus_after"
    # Coverage of the corpus as it now is in the repository (what make check starts from).
    "$bin" -runs=0 "tests/fuzz/corpus/$n" >"$d/coverage.log" 2>&1
}

for n in "${names[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do wait -n; done
    echo "run-fuzz: $n started $(date +%H:%M:%S)" >&2
    fuzz_one "$n" &
done
wait

# "#123 DONE cov: 45 ft: 67 ..." -> "45 67" (the last such line of a log)
cov_of() { sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p' "$1" 2>/dev/null | tail -n 1; }
stat_of() { sed -n "s/^stat::$2: *//p" "$1" 2>/dev/null | tail -n 1; }

found=0
{
    echo "# Fuzzing run $STAMP"
    echo
    echo "$(nproc) CPUs, $(uname -r); ${FUZZ_TIME} s per harness, $FUZZ_JOBS at a time;" \
         "commit $(git describe --always --dirty 2>/dev/null || echo unknown)."
    echo "cov/ft: libFuzzer's edge coverage and features, at the end of the run and for the"
    echo "corpus in the repository after the merge."
    echo
    echo "| harness | seconds | executions | exec/s | cov / ft at the end | corpus files before -> after | cov / ft of the merged corpus | findings |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
    for n in "${names[@]}"; do
        d=$OUT/$n
        rc=$(cat "$d/rc" 2>/dev/null || echo '?')
        runs=$(stat_of "$d/fuzz.log" number_of_executed_units)
        eps=$(stat_of "$d/fuzz.log" average_exec_per_sec)
        read -r cov ft <<<"$(cov_of "$d/fuzz.log")"
        read -r mcov mft <<<"$(cov_of "$d/coverage.log")"
        what="none"
        if [ "$rc" != 0 ]; then
            found=1
            what="rc $rc: $(ls "$d/findings" 2>/dev/null | tr '\n' ' ')"
            reason=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|property failed' "$d/fuzz.log" | cut -c1-120)
            [ -n "$reason" ] && what="$what ($reason)"
        fi
        printf '| %s | %s | %s | %s | %s / %s | %s -> %s | %s / %s | %s |\n' "$n" \
            "$(cat "$d/seconds" 2>/dev/null)" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" \
            "$(cat "$d/corpus_before")" "$(cat "$d/corpus_after")" "${mcov:-?}" "${mft:-?}" "$what"
    done
    echo
    [ "$found" = 1 ] && echo "Findings are kept in $OUT/NAME/findings/; replay one with build-fuzz/fuzz_NAME FILE."
    [ "$FUZZ_MERGE" = 1 ] && echo "New corpus files: git status tests/fuzz/corpus"
} | tee "$OUT/summary.md"
exit $found
