#!/usr/bin/env bash
# `npm test`: the strict type-check and the whole suite (node's test runner), side by side.
# Test files run two at a time (the machines have 2 cores); the slowest start first so that no
# long file is left running alone at the end. Exit status: non-zero if either part failed.
set -uo pipefail
cd "$(dirname "$0")/.."

tsc_log=$(mktemp)
npx tsc -p . >"$tsc_log" 2>&1 &
tsc_pid=$!

# Slowest first (measured one by one); every other test file follows in name order.
slow=(e2e-contract reliability preflight policy-cli policy-platform deployer-permissions policy-pack connectivity)
files=()
for name in "${slow[@]}"; do
    [ -f "tests/$name.test.ts" ] && files+=("tests/$name.test.ts")
done
for f in tests/*.test.ts; do
    case " ${files[*]} " in *" $f "*) ;; *) files+=("$f") ;; esac
done

node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
tests_status=$?

wait "$tsc_pid"
tsc_status=$?
if [ "$tsc_status" -ne 0 ]; then
    echo "tsc -p . failed:" >&2
    cat "$tsc_log" >&2
fi
rm -f "$tsc_log"
[ "$tests_status" -eq 0 ] && [ "$tsc_status" -eq 0 ]
