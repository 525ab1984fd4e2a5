#!/bin/bash
# Instructions per message of the transport's AEAD on arm64 and armhf, libsodium against
# OpenSSL, counted under qemu-user (docs/PERFORMANCE.md, "The Pi's cipher"). No ARM machine
# needed, and counts, unlike times, do not depend on this machine or its load.
#
#   bench/run-aead-count.sh [SIZE...]        (default: 64 1400 65536)
#
# For each architecture (arm64 as a Pi 4's Cortex-A72, armhf as a Cortex-A7: both with NEON),
# implementation (sodium, openssl, and build: what AEAD= and the short-message rule of
# include/vpn/aead.h pick) and size, bench_aead runs under qemu with -d in_asm,exec,nochain;
# bench/lib-insn-count.py adds up the instructions executed. The count for COUNT messages less
# the count for none (loading, start-up, one set-up seal), divided by COUNT, is the cost of one
# message: exact to the instruction. Opens are counted at 1,400 bytes only (a full transport
# datagram; OpenSSL's path opens at most 2,048). Builds what it needs (make ARCH=...). Prints a
# Markdown table and writes it to bench/results/aead-count-DATE.md. About 3 minutes on an idle
# 2-core machine (each run logs the start-up's 2.4 million blocks too).
set -eu
cd "$(dirname "$0")/.."
SIZES=${*:-64 1400 65536}
out=bench/results/aead-count-$(date +%Y%m%d-%H%M%S).md
AEAD_MIN=$(sed -n 's/.*AEAD_OPENSSL_MIN = \([0-9]*\).*/\1/p' include/vpn/aead.h)

count() {   # count QEMU CPU BINARY ARGS...: instructions executed
    local qemu=$1 cpu=$2; shift 2
    "$qemu" -cpu "$cpu" -d in_asm,exec,nochain -D /dev/stderr "$@" 2>&1 >/dev/null |
        python3 bench/lib-insn-count.py
}

{
echo "| arch | operation | bytes | libsodium instr/msg | OpenSSL instr/msg | build instr/msg | libsodium / OpenSSL |"
echo "|---|---|---|---|---|---|---|"
} | tee "$out"
for spec in "arm64 qemu-aarch64 cortex-a72" "armhf qemu-arm cortex-a7"; do
    set -- $spec
    arch=$1 qemu=$2 cpu=$3
    bin=build-$arch/bench/bench_aead
    make -s ARCH="$arch" "$bin" >/dev/null
    for op in seal open; do
        for size in $SIZES; do
            [ "$op" = open ] && [ "$size" != 1400 ] && continue
            n=$(( size >= 16384 ? 4 : 50 ))
            row="| $arch | $op | $size |"
            per=()
            for impl in sodium openssl build; do
                base=$(count "$qemu" "$cpu" "$bin" "$impl" "$op" "$size" 0)
                all=$(count "$qemu" "$cpu" "$bin" "$impl" "$op" "$size" "$n")
                per+=($(( (all - base) / n )))
            done
            ratio=$(python3 -c "print(f'{${per[0]} / ${per[1]}:.2f}')")
            echo "$row ${per[0]} ($(python3 -c "print(f'{${per[0]} / $size:.1f}')")/B) |" \
                 "${per[1]} ($(python3 -c "print(f'{${per[1]} / $size:.1f}')")/B) | ${per[2]} | $ratio |"
        done
    done | tee -a "$out"
    echo "$arch build: $("$qemu" -cpu "$cpu" "$bin" build seal "$AEAD_MIN" 0 | cut -d' ' -f1) from" \
         "$AEAD_MIN bytes, libsodium below" >>"$out.notes"
done
{ echo; cat "$out.notes"; } | tee -a "$out"
rm -f "$out.notes"
echo "written to $out"
