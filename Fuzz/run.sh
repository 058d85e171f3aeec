#!/usr/bin/env bash
# make fuzz: builds the fuzz package (Fuzz/, with libFuzzer and AddressSanitizer)
# and runs every fuzz target for a bounded time, one after the other, then
# prints what each did. Exits non-zero if any target crashed (or broke a
# property), naming the reproducer.
#
#   FUZZ_SECONDS         seconds per target (default 60)
#   FUZZ_TARGETS         which targets (default: record nfs nfs4 peer control portmap mdns)
#   FUZZ_RSS_LIMIT_MB    memory limit of the fuzzer process (default 2048)
#   FUZZ_MALLOC_LIMIT_MB largest single allocation allowed (default 256): an input
#                        is at most a few KiB, so anything near this is an
#                        allocation sized by a length an input claimed
#   FUZZ_TIMEOUT         seconds one input may take (default 10)
#
# Each target starts from a scratch copy of Fuzz/Corpus/<target>/ and
# Fuzz/Regressions/<target>/ in Fuzz/.work/<target>/corpus/, which keeps
# growing from run to run; the checked-in corpus is never written to.
# Reproducers land in Fuzz/.work/<target>/crashes/.
set -uo pipefail

cd "$(dirname "$0")"
SWIFT=${SWIFT:-swift}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-record nfs nfs4 peer control portmap mdns}
RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}
MALLOC_LIMIT_MB=${FUZZ_MALLOC_LIMIT_MB:-256}
TIMEOUT=${FUZZ_TIMEOUT:-10}
WORK=.work
SCRATCH=.build-fuzz

# lld: gold crashes instead of reporting some link errors. No manifest
# caching: it would keep flags from an earlier build.
BUILD=("$SWIFT" build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
    --disable-build-manifest-caching --scratch-path "$SCRATCH")
echo "building: ${BUILD[*]}"
mkdir -p "$WORK"
if ! "${BUILD[@]}" >"$WORK/build.log" 2>&1; then
    grep -v "Cannot export local symbol" "$WORK/build.log" | grep -E -A3 "error" | head -40
    echo "fuzz build failed (Fuzz/$WORK/build.log)" >&2
    exit 2
fi
grep "Build complete" "$WORK/build.log"
BIN=$("${BUILD[@]}" --show-bin-path)

binary() {
    case $1 in
        record) echo FuzzRecord ;;
        nfs) echo FuzzNFS ;;
        nfs4) echo FuzzNFS4 ;;
        peer) echo FuzzPeer ;;
        control) echo FuzzControl ;;
        portmap) echo FuzzPortmap ;;
        mdns) echo FuzzMDNS ;;
        *) echo "unknown fuzz target: $1" >&2; return 1 ;;
    esac
}

# Swift's own crash reporter would symbolicate a 90 MB debug binary for
# minutes; AddressSanitizer and libFuzzer report crashes themselves. The
# leak checker is off: the namespace and its thread pool live as long as
# the process by design, and Swift's runtime caches look like leaks.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=0

summary=()
failed=()
for target in $TARGETS; do
    name=$(binary "$target") || exit 2
    corpus=$WORK/$target/corpus
    crashes=$WORK/$target/crashes
    log=$WORK/$target/fuzz.log
    mkdir -p "$corpus" "$crashes"
    for seeds in Corpus/$target Regressions/$target; do
        [ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null
    done
    before=$(ls "$crashes" | sort)
    echo "fuzzing $target for ${SECONDS_PER_TARGET}s ($(ls "$corpus" | wc -l) inputs to start from)"
    "$BIN/$name" "$corpus" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$RSS_LIMIT_MB" \
        -malloc_limit_mb="$MALLOC_LIMIT_MB" -timeout="$TIMEOUT" -detect_leaks=0 -use_value_profile=1 \
        -print_final_stats=1 -artifact_prefix="$crashes/" >"$log" 2>&1
    status=$?
    new=$(comm -13 <(echo "$before") <(ls "$crashes" | sort) | grep -v '^$' || true)

    final_stat() { grep "^stat::$1:" "$log" | awk '{print $2}' | tail -1; }
    executions=$(final_stat number_of_executed_units)
    rate=$(final_stat average_exec_per_sec)
    rss=$(final_stat peak_rss_mb)
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    inputs=$(ls "$corpus" | wc -l)
    result=ok
    if [ "$status" -ne 0 ] || [ -n "$new" ]; then
        result=CRASH
        failed+=("$target")
        echo "---- $target failed (exit $status); end of $log:"
        grep -E "property violated|ERROR|SUMMARY|Test unit written|==[0-9]+==" "$log" | head -20
        for file in $new; do
            echo "reproducer: Fuzz/$crashes/$file"
            echo "  replay:   Fuzz/$SCRATCH/debug/$name Fuzz/$crashes/$file"
        done
    fi
    summary+=("$(printf '%-8s %7ss %12s %9s %9s %8s %8s  %s' "$target" "$SECONDS_PER_TARGET" "${executions:-?}" "${rate:-?}" "${coverage:-?}" "$inputs" "${rss:-?}MB" "$result")")
done

echo
printf '%-8s %8s %12s %9s %9s %8s %8s  %s\n' target time executions "exec/s" coverage corpus "peak rss" result
for line in "${summary[@]}"; do
    echo "$line"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo
    echo "crashed: ${failed[*]} (reproducers above; see Fuzz/README.md for what to do with them)"
    exit 1
fi
