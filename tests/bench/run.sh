#!/usr/bin/env bash
# `make bench`: wall time of two workloads untraced, under bop, under
# strace -f and under strace -f --seccomp-bpf; median of REPS runs each,
# reported as ratios against the untraced run. Results go to stdout and to
# docs/PERFORMANCE.md's table is updated by hand from them.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${REPS:-5}
PINGPONG=${PINGPONG:-100000}
STATS=${STATS:-1000000}
cargo build -q --release --workspace --bins
BOP=target/release/bop
GUEST=$(pwd)/target/release/guest
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

time_it() { # prints seconds of one run of "$@"
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo "scale=4; ($t1-$t0)/1000000000" | bc
}

bench() { # name, then the workload command
  local name=$1; shift
  local base bop st stb
  base=$(for i in $(seq "$REPS"); do time_it "$@"; done | median)
  bop=$(for i in $(seq "$REPS"); do time_it "$BOP" run -q --store "$TMP/store" -- "$@"; done | median)
  st=$(for i in $(seq "$REPS"); do time_it strace -f -o "$TMP/strace.out" "$@"; done | median)
  stb=$(for i in $(seq "$REPS"); do time_it strace -f --seccomp-bpf -o "$TMP/strace.out" "$@"; done | median)
  printf '| %s | %.3f s | %.3f s (%.2fx) | %.3f s (%.2fx) | %.3f s (%.2fx) | %.2f |\n' "$name" \
    "$base" "$bop" "$(echo "$bop/$base" | bc -l)" "$st" "$(echo "$st/$base" | bc -l)" \
    "$stb" "$(echo "$stb/$base" | bc -l)" "$(echo "$st/$bop" | bc -l)"
}

echo "median of $REPS runs on $(nproc) cores, $(uname -r)"
echo
echo '| workload | untraced | bop run | strace -f | strace -f --seccomp-bpf | strace -f / bop |'
echo '| --- | --- | --- | --- | --- | --- |'
bench "TCP ping-pong, $PINGPONG 1-byte messages" "$GUEST" pingpong "$PINGPONG"
bench "$STATS stat() calls, no communication" "$GUEST" stats "$STATS"

# Exploration throughput: a drop sweep over every message of the demo.
"$BOP" demo --store "$TMP/sweep" --id base >/dev/null 2>&1
t0=$(date +%s%N)
"$BOP" explore --store "$TMP/sweep" base --id sw --sweep drop >/dev/null 2>&1
t1=$(date +%s%N)
n=$(ls -d "$TMP"/sweep/sw-m* | wc -l)
echo
printf 'demo drop sweep: %d reruns in %.1f s = %.0f runs per minute (parallel = %d cores)\n' "$n" \
  "$(echo "($t1-$t0)/1000000000" | bc -l)" "$(echo "$n*60000000000/($t1-$t0)" | bc -l)" "$(nproc)"
echo; bash tests/bench/search.sh "$BOP" # searches against sweeps and pairs (docs/SEARCH.md)
echo; cargo bench -q -p bop-tracker --bench build # graph build time and peak memory, 10^5 and 10^6 events
echo; bash tests/bench/frontend.sh # run page of 10^5 and 10^6 events in headless Chromium
echo; bash tests/bench/bigruns.sh # big runs: recording memory, index build, windows, serve RSS
