#!/usr/bin/env bash
# `make bench`: wall time of each workload untraced, under `bop run` (fast
# path on, the default), under `bop run --no-fast-path` and under
# `strace -f`, measured in pairs: each repetition runs the four one after
# the other (A B C D A B C D ...), so that a load change on the machine
# hits all four alike, and the ratios reported are the medians of the
# per-repetition ratios. Results go to stdout; docs/PERFORMANCE.md is
# updated by hand from them.
#
# BENCH_QUICK=1: one repetition of small workloads (a smoke test of the
# script, about a minute; the numbers mean little). REPS=N repetitions
# (default 3). ONLY=REGEX runs the workloads whose name matches.
# Sizes: ROUNDS, DATAGRAMS, REQUESTS, STATS.
set -euo pipefail
cd "$(dirname "$0")/../.."
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
  REPS=${REPS:-1} ROUNDS=${ROUNDS:-2000} DATAGRAMS=${DATAGRAMS:-5000}
  REQUESTS=${REQUESTS:-2000} STATS=${STATS:-100000}
else
  REPS=${REPS:-3} ROUNDS=${ROUNDS:-20000} DATAGRAMS=${DATAGRAMS:-20000}
  REQUESTS=${REQUESTS:-5000} STATS=${STATS:-300000}
fi
ONLY=${ONLY:-.}
# BENCH_BIN=DIR: the binaries of DIR (a debug build, for a smoke run)
# instead of a release build made here.
if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$(cd "$BENCH_BIN" && pwd)
else
  cargo build -q --release --workspace --bins --lib
  BIN=$(pwd)/target/release
fi
BOP=$BIN/bop
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PYTHON=$(command -v /usr/bin/python3 || command -v python3 || true)

. tests/bench/lib.sh

# The four ways to run a workload command.
untraced() { "$@"; }
bop_fast() { rm -rf "$TMP/store"; "$BOP" run -q --store "$TMP/store" -- "$@"; }
bop_ptrace() { rm -rf "$TMP/store"; "$BOP" run -q --no-fast-path --store "$TMP/store" -- "$@"; }
strace_f() { strace -f -o "$TMP/strace.out" "$@"; }

ratio() { echo "$1/$2" | bc -l; }

# Seconds the last `bop run` into $TMP/store spent recording: from its
# manifest's start to the end of the traced tree (before the graph, the
# manifest's facts and the window index are built).
recorded() {
  awk -F'[:,]' '/"started_ms"/ {s=$2} /"ended_ms"/ {e=$2} END {printf "%.4f\n", (e-s)/1000}' \
    "$TMP"/store/*/manifest.json
}

bench() { # name, then the workload command
  local name=$1; shift
  [[ $name =~ $ONLY ]] || return 0
  local u f rf p s r
  : >"$TMP/times"
  for r in $(seq "$REPS"); do
    u=$(time_it untraced "$@"); f=$(time_it bop_fast "$@"); rf=$(recorded)
    p=$(time_it bop_ptrace "$@"); s=$(time_it strace_f "$@")
    echo "$u $f $p $s $rf" >>"$TMP/times"
  done
  col() { awk "{print \$$1}" "$TMP/times" | median; }
  rat() { awk "{print \$$1/\$$2}" "$TMP/times" | median; }
  printf '| %s | %.3f s | %.3f s (%.3f s) | %.3f s | %.3f s | **%.2fx** (%.2fx) | %.2fx | %.2fx | %.2f |\n' "$name" \
    "$(col 1)" "$(col 2)" "$(col 5)" "$(col 3)" "$(col 4)" "$(rat 2 1)" "$(rat 5 1)" "$(rat 3 1)" \
    "$(rat 4 1)" "$(rat 4 2)"
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "$(date -u +%Y-%m-%d) $(nproc) cores, $(uname -r), load average $load at the start;" \
  "$REPS paired repetitions, medians of the per-repetition ratios"
echo
echo '(in parentheses: the recording alone, from the manifest: start to the end of the traced tree, before the graph and the window index are built)'
echo
echo '| workload | untraced | bop run (recording) | bop run --no-fast-path | strace -f | bop / untraced (recording / untraced) | --no-fast-path / untraced | strace -f / untraced | strace -f / bop |'
echo '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'
if [ -n "$PYTHON" ]; then
  bench "socketpair ping-pong, $ROUNDS round trips (Python)" "$PYTHON" tests/bench/pingpong.py "$ROUNDS"
fi
bench "socketpair ping-pong, $ROUNDS round trips (Rust)" "$BIN/fastpath" socketpair "$ROUNDS"
bench "TCP ping-pong, $ROUNDS 1-byte round trips" "$BIN/guest" pingpong "$ROUNDS"
bench "UDP flood, $DATAGRAMS 16-byte datagrams" "$BIN/fastpath" udp-flood "$DATAGRAMS"
bench "the demo (kv.toml as one command)" bash tests/bench/kv.sh "$BIN" "$TMP/history.txt"
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
  bench "redis-server under redis-benchmark, $REQUESTS SET + GET" \
    bash tests/bench/redis.sh "$REQUESTS" "$TMP"
else
  echo "(redis-server or redis-benchmark missing: redis not measured)"
fi
bench "$STATS stat() calls, no communication" "$BIN/guest" stats "$STATS"
[ "$QUICK" = 1 ] && exit 0

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
echo; bash tests/bench/faults.sh "$BIN" # a rerun with a fault, fast path on against off (docs/FASTPATH.md)
echo; cargo bench -q -p bop-tracker --bench build # graph build time and peak memory, 10^5 and 10^6 events
echo; bash tests/bench/frontend.sh # run page of 10^5 and 10^6 events in headless Chromium
echo; bash tests/bench/compare.sh # comparison page of two 10^5- and 10^6-event runs: fresh, kept, RSS
echo; bash tests/bench/bigruns.sh # big runs: recording memory, index build, windows, serve RSS
