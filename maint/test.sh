#!/usr/bin/env bash
# `npm test`: the strict type-check and the whole suite (node's test runner), side by side.
#
# The test files run in three shards, one process each, instead of one process per file: each
# process pays about 1 to 3 s of CPU to load TypeScript and the Pulumi SDKs, which over ~50 files
# was half of the suite (maint/lib/testShard.ts runs each file as a suite of its own, in order).
# Two shards share the files that keep a core busy, dealt by their measured cost, heaviest first, so
# that they end together; the third runs the files that mostly wait (faults held for seconds on real
# PostgreSQL, Redis and gunicorn: a third of their wall time is CPU), beside them. Exit status:
# non-zero if the type-check or any test failed.
# The type-check is incremental (tsconfig.json keeps its state in node_modules/.cache/tsc): a
# repeated run re-checks only what changed.
set -uo pipefail
cd "$(dirname "$0")/.."

tsc_log=$(mktemp)
npx tsc -p . >"$tsc_log" 2>&1 &
tsc_pid=$!

# Measured cost of the heavy files, seconds (wall time for those that wait on real PostgreSQL,
# Redis and gunicorn, CPU time for the others); every other file counts 1.
declare -A cost=(
    [local-modes]=36 [local]=33 [local-cli]=30 [transitions]=30 [database-roles]=30 [local-standins]=4
    [e2e-contract]=3 [pgdump-sanitize]=14 [policy-cli]=12 [preflight]=11 [containers]=10
    [policy-runner]=10 [reliability]=10 [reliability-lab]=6 [release]=9 [policy-platform]=8 [connectivity]=7
    [policy-pack]=7 [synth-errors]=7 [app-local]=6 [platform]=5 [deployer-permissions]=5
    [synth-architecture]=5 [synth-stacks]=5 [kubernetes]=4 [memorystore]=4 [cost]=4 [app-logging]=4
    [settings-package]=25 [package]=65 [upgrade]=3 [edge]=3 [monitoring]=3 [policy-edge]=3 [workers]=3 [statics]=3 [first-deploy]=3 [manage]=3
)
# The files that mostly wait (wall seconds on a quiet machine; CPU a third of it or less): the third shard.
declare -A waits=([local-tasks]=55 [resilience]=45 [spot]=16 [connection-rollout]=12)
weighted=()
shard_c=()
for f in tests/*.test.ts; do
    name=$(basename "$f" .test.ts)
    if [ -n "${waits[$name]:-}" ]; then
        shard_c+=("$f")
    else
        weighted+=("${cost[$name]:-1} $f")
    fi
done
shard_a=() shard_b=()
load_a=0 load_b=0
while read -r weight file; do
    if [ "$load_a" -le "$load_b" ]; then
        shard_a+=("$file"); load_a=$((load_a + weight))
    else
        shard_b+=("$file"); load_b=$((load_b + weight))
    fi
done < <(printf '%s\n' "${weighted[@]}" | sort -k1,1nr -k2,2)

# Each shard loads TypeScript through tsx and skips parsing the source maps of node_modules
# (cli/lib/dependencySourceMaps.ts: about 0.3 s of CPU per process that loads the Pulumi SDKs).
run_shard() {
    node --import tsx --import ./cli/lib/dependencySourceMaps.ts --test-reporter=spec maint/lib/testShard.ts "$@"
}
log_b=$(mktemp) log_c=$(mktemp)
run_shard "${shard_b[@]}" >"$log_b" 2>&1 &
shard_b_pid=$!
run_shard "${shard_c[@]}" >"$log_c" 2>&1 &
shard_c_pid=$!
run_shard "${shard_a[@]}"
shard_a_status=$?
wait "$shard_b_pid"
shard_b_status=$?
wait "$shard_c_pid"
shard_c_status=$?
cat "$log_b" "$log_c"
rm -f "$log_b" "$log_c"

wait "$tsc_pid"
tsc_status=$?
if [ "$tsc_status" -ne 0 ]; then
    echo "tsc -p . failed:" >&2
    cat "$tsc_log" >&2
fi
rm -f "$tsc_log"
echo "shards: $((${#shard_a[@]} + ${#shard_b[@]} + ${#shard_c[@]})) files; first shard exit $shard_a_status, second shard exit $shard_b_status, waiting shard exit $shard_c_status; tsc exit $tsc_status"
[ "$shard_a_status" -eq 0 ] && [ "$shard_b_status" -eq 0 ] && [ "$shard_c_status" -eq 0 ] && [ "$tsc_status" -eq 0 ]
