#!/usr/bin/env bash
# Fail when a test run's output (file $1) holds a stack trace: `deno task test` must print none
# when everything passes (a test that injects a fault captures what it provokes). Used by .ci/run
# after `deno task ci`; run it by hand as `deno task test 2>&1 | tee out; bash dev/stack_traces.sh out`.
set -euo pipefail
frames="$(sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -nE '^\s+at (async )?\S.*:[0-9]+:[0-9]+\)?$' || true)"
if [ -n "$frames" ]; then
  echo "The run printed $(wc -l <<<"$frames") stack-trace lines; the first ones:"
  head -n 20 <<<"$frames"
  exit 1
fi
echo "No stack trace in the run's output."
