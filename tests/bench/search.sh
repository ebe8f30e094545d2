#!/usr/bin/env bash
# `make bench`, searches (docs/SEARCH.md "Measured"): for the demo and each
# search test target (tests/guests/search/*.toml), `bop search` against
# the single-fault sweeps (drop, delay 500 ms) and exhaustive pairs:
# reruns to the first confirmed bug, and reruns per minute.
#
#   tests/bench/search.sh [BOP]      (default target/release/bop)
#
# "reruns to find" is the search's own count (every rerun up to the first
# failing run of the bug's set, baselines included). A sweep's is the
# position of its first failing rerun. Exhaustive pairs are counted, not
# run: C(n, 2) drop pairs of the base run's n messages is what trying every
# pair costs in the worst case.
set -euo pipefail
cd "$(dirname "$0")/../.."
BOP=${1:-target/release/bop}
BUDGET=${BUDGET:-60}
PARALLEL=${PARALLEL:-2}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export BOP_STORE=$TMP/store

# The first failing probe of a sweep: "found: Kth of N" or "not found (N)".
sweep() { # base run, kind
  "$BOP" explore "$1" --id "sw-$1-$2" --sweep "$2" --parallel "$PARALLEL" >/dev/null 2>&1 || true
  jq -r '.probes as $p | ([range(0; $p | length)] | map(select($p[.].flipped and $p[.].verdict == "fail")) | first) as $k
    | if $k == null then "not found (\($p | length))" else "\($k + 1) of \($p | length)" end' \
    "$TMP/store/explorations/sw-$1-$2.json"
}

echo "bop search --budget $BUDGET --parallel $PARALLEL, $(nproc) cores, $(uname -r), $(date -u +%F)"
echo
echo '| target | bugs found (check) | reruns to find | search reruns, s, per minute | drop sweep | delay sweep | exhaustive drop pairs |'
echo '| --- | --- | --- | --- | --- | --- | --- |'
"$BOP" demo --id demo >/dev/null 2>&1 || true
for target in demo two window correct flaky; do
  if [ "$target" = demo ]; then what=demo; base=demo; else what=tests/guests/search/$target.toml; base=$target-base; fi
  t0=$(date +%s%N)
  "$BOP" search "$what" --id "$target" --budget "$BUDGET" --parallel "$PARALLEL" --json >"$TMP/$target.json" 2>/dev/null || true
  t1=$(date +%s%N)
  secs=$(echo "($t1-$t0)/1000000000" | bc -l)
  runs=$(jq .runs "$TMP/$target.json")
  bugs=$(jq -r '[.bugs[] | (.check | split(":")[0] | .[0:40])] | if length == 0 then "none" else join("; ") end' "$TMP/$target.json")
  found=$(jq -r '[.bugs[].runs_to_find | tostring] | if length == 0 then "-" else join(", ") end' "$TMP/$target.json")
  n=$("$BOP" export "$base" --format json | jq '.messages | length')
  printf '| %s | %s | %s | %d in %.0f s = %.0f/min | %s | %s | %d (%d messages) |\n' "$target" "$bugs" "$found" \
    "$runs" "$secs" "$(echo "$runs*60/$secs" | bc -l)" "$(sweep "$base" drop)" "$(sweep "$base" delay)" \
    "$((n * (n - 1) / 2))" "$n"
done
