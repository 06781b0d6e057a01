#!/usr/bin/env bash
# `npm test`: the strict type-check and the whole suite (node's test runner), side by side.
#
# The test files run in four shards, one process each, instead of one process per file: each
# process pays about 1 to 3 s of CPU to load TypeScript and the Pulumi SDKs, which over ~50 files
# was half of the suite (maint/lib/testShard.ts runs each file as a suite of its own, in order).
# Two shards share the files that keep a core busy, two those that mostly wait (faults held for
# seconds on real PostgreSQL, Redis and gunicorn), each pair dealt by measured cost, heaviest first,
# so that they end together. Exit status: non-zero if the type-check or any test failed.
# The type-check is incremental (tsconfig.json keeps its state in node_modules/.cache/tsc): a
# repeated run re-checks only what changed.
set -uo pipefail
cd "$(dirname "$0")/.."

tsc_log=$(mktemp)
npx tsc -p . >"$tsc_log" 2>&1 &
tsc_pid=$!

# Measured cost of the heavy files, seconds of wall time on a quiet machine; every other file counts 1.
declare -A cost=(
    [package]=61 [transitions]=39 [local-cli]=33 [containers]=10 [reliability-lab]=11 [reliability]=8
    [manage]=6 [preflight]=6 [identities]=5 [pgdump-sanitize]=4 [workflows]=4 [dns]=4 [policy-runner]=4
    [required-apis]=4 [deployer-permissions]=3 [policy-pack]=3 [bootstrap]=3 [policy-cli]=3 [release]=3
    [policy-platform]=3 [connectivity]=3 [synth-errors]=3 [app-local]=3 [platform]=3 [upgrade]=3
)
# The files that mostly wait on real PostgreSQL, Redis and gunicorn (faults held for seconds: a
# third to a half of their wall time is CPU), with their wall seconds: two shards of their own.
declare -A waits=(
    [local-tasks]=65 [local-modes]=57 [resilience]=47 [local]=38 [connection-rollout]=17 [spot]=15
    [settings-package]=14 [database-roles]=12
)
# Deals "<weight> <file>" lines (read from stdin, heaviest first) to the shards named by "$@": the
# next file goes to the shard with the least weight so far, so that they end together.
deal() {
    local -A load=()
    local shard weight file best
    for shard in "$@"; do load[$shard]=0; done
    while read -r weight file; do
        best=$1
        for shard in "$@"; do
            if [ "${load[$shard]}" -lt "${load[$best]}" ]; then best=$shard; fi
        done
        load[$best]=$((load[$best] + weight))
        echo "$best $file"
    done
}
busy=() waiting=()
for f in tests/*.test.ts; do
    name=$(basename "$f" .test.ts)
    if [ -n "${waits[$name]:-}" ]; then
        waiting+=("${waits[$name]} $f")
    else
        busy+=("${cost[$name]:-1} $f")
    fi
done
declare -A files=()
while read -r shard file; do files[$shard]+="$file "; done < <(
    printf '%s\n' "${busy[@]}" | sort -k1,1nr -k2,2 | deal a b
    printf '%s\n' "${waiting[@]}" | sort -k1,1nr -k2,2 | deal c d
)

# Each shard loads TypeScript through tsx and skips parsing the source maps of node_modules
# (cli/lib/dependencySourceMaps.ts: about 0.3 s of CPU per process that loads the Pulumi SDKs).
run_shard() {
    # shellcheck disable=SC2086 # the file list is split on purpose (paths without spaces)
    node --import tsx --import ./cli/lib/dependencySourceMaps.ts --test-reporter=spec maint/lib/testShard.ts $1
}
declare -A pids=() logs=() status=()
for shard in b c d; do
    logs[$shard]=$(mktemp)
    run_shard "${files[$shard]}" >"${logs[$shard]}" 2>&1 &
    pids[$shard]=$!
done
run_shard "${files[a]}"
status[a]=$?
for shard in b c d; do
    wait "${pids[$shard]}"
    status[$shard]=$?
    cat "${logs[$shard]}"
    rm -f "${logs[$shard]}"
done

wait "$tsc_pid"
tsc_status=$?
if [ "$tsc_status" -ne 0 ]; then
    echo "tsc -p . failed:" >&2
    cat "$tsc_log" >&2
fi
rm -f "$tsc_log"
count=0
for shard in a b c d; do count=$((count + $(wc -w <<<"${files[$shard]:-}"))); done
echo "shards: $count files; exit a ${status[a]}, b ${status[b]} (busy), c ${status[c]}, d ${status[d]} (waiting); tsc exit $tsc_status"
[ "${status[a]}" -eq 0 ] && [ "${status[b]}" -eq 0 ] && [ "${status[c]}" -eq 0 ] && [ "${status[d]}" -eq 0 ] && [ "$tsc_status" -eq 0 ]
