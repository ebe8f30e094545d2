#!/usr/bin/env bash
# Big runs (issue 16), called by tests/bench/run.sh: for ping-pongs of
# 10^5 and 10^6 events (ROUNDS round trips = 4 events each), the peak RSS
# of `bop run` while recording, then, on a `bop serve` of the store, the
# index build time (first window of a run whose index was removed), window
# query times zoomed in (1/1000 of the run, detail) and zoomed out (the
# whole run, level of detail), find times (a text found nowhere, a rare
# one, one in every send: the first page, then next and previous pages
# from the middle of the run), and the server's peak RSS with every run
# open at once. Prints markdown tables; nothing is asserted.
set -euo pipefail
cd "$(dirname "$0")/../.."
BOP=${BOP:-target/release/bop}
GUEST=${GUEST:-$(pwd)/target/release/guest}
ROUNDS=${ROUNDS:-"25000 250000"}
TMP=$(mktemp -d)
SERVE=
cleanup() { [ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null; [ -z "${KEEP:-}" ] && rm -rf "$TMP"; true; }
trap cleanup EXIT

ms() { awk -v s="$1" 'BEGIN { printf "%.0f ms", s * 1000 }'; }
t_of() { curl -s -o /dev/null -w '%{time_total}' "http://$ADDR$1"; }

echo '| events | bop run peak RSS | index.sqlite + find.sqlite / events.jsonl | index build (first window) | window zoomed in | window zoomed out (LOD) |'
echo '| --- | --- | --- | --- | --- | --- |'
rows=()
finds=()
# KEEP=DIR records into DIR once and reuses its runs on later calls (to
# time the server side of two builds on the same runs; RSS is then 0).
if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; rm -rf "$TMP"; TMP=$KEEP; fi
for r in $ROUNDS; do
  id="pp$r"
  if [ -f "$TMP/store/$id/manifest.json" ]; then rows+=("$id 0"); continue; fi
  /usr/bin/time -f '%M' -o "$TMP/rss" "$BOP" run -q --store "$TMP/store" --id "$id" -- \
    "$GUEST" pingpong "$r" >/dev/null 2>&1
  rows+=("$id $(cat "$TMP/rss")")
done
# The index build is timed through the server: remove one index per run.
for row in "${rows[@]}"; do
  set -- $row
  [ -f "$TMP/store/$1/index.sqlite" ] && cp "$TMP/store/$1/index.sqlite" "$TMP/$1.index"
  [ -f "$TMP/store/$1/find.sqlite" ] && cp "$TMP/store/$1/find.sqlite" "$TMP/$1.find"
  rm -f "$TMP/store/$1/index.sqlite" "$TMP/store/$1/find.sqlite"
done
"$BOP" serve --store "$TMP/store" --addr 127.0.0.1:0 >"$TMP/serve.out" 2>/dev/null &
SERVE=$!
for _ in $(seq 50); do grep -q listening "$TMP/serve.out" 2>/dev/null && break; sleep 0.1; done
ADDR=$(sed -n 's|.*http://\([^/]*\)/.*|\1|p' "$TMP/serve.out" | head -1)
for row in "${rows[@]}"; do
  set -- $row
  id=$1 rss=$2
  n=$(python3 -c "import json;print(json.load(open('$TMP/store/$id/manifest.json'))['counts']['events'])")
  build=$(t_of "/api/runs/$id/window?columns=1000")
  ext=$(curl -s "http://$ADDR/api/runs/$id/window?columns=1&lanes=" |
    python3 -c "import json,sys;e=json.load(sys.stdin)['extent']['time'];print(e[0],e[1])")
  set -- $ext
  lo=$1 hi=$2 w=$(( ($2 - $1) / 1000 ))
  zin=0 zout=0
  for k in 1 2 3 4 5; do
    x0=$(( lo + (hi - lo) * k / 7 ))
    zin=$(awk -v a="$zin" -v b="$(t_of "/api/runs/$id/window?x0=$x0&x1=$((x0 + w))")" 'BEGIN{print a+b/5}')
    zout=$(awk -v a="$zout" -v b="$(t_of "/api/runs/$id/window?columns=2000")" 'BEGIN{print a+b/5}')
  done
  size=$(cat "$TMP/$id.index" "$TMP/$id.find" 2>/dev/null | wc -c) log=$(stat -c %s "$TMP/store/$id/events.jsonl")
  printf '| %s | %d MB | %d MB / %d MB | %s | %s | %s |\n' "$n" $((rss / 1024)) \
    $((size / 1048576)) $((log / 1048576)) "$(ms "$build")" "$(ms "$zin")" "$(ms "$zout")"
  mid=$((n / 2))
  finds+=("| $n | $(ms "$(t_of "/api/runs/$id/find?q=no-such-text")") \
| $(ms "$(t_of "/api/runs/$id/find?q=exit_group")") \
| $(ms "$(t_of "/api/runs/$id/find?q=sendto")") \
| $(ms "$(t_of "/api/runs/$id/find?q=sendto&after=$mid&limit=1")") \
| $(ms "$(t_of "/api/runs/$id/find?q=sendto&before=$mid&limit=1")") \
| $(ms "$(t_of "/api/runs/$id/find?q=t0")") |")
done
echo
echo '| events | find, no match | find, rare (exit_group) | find, every send (first page) | next send from the middle | previous send from the middle | find "t0" (two letters) |'
echo '| --- | --- | --- | --- | --- | --- | --- |'
printf '%s\n' "${finds[@]}"
peak=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$SERVE/status")
echo
echo "bop serve peak RSS with all ${#rows[@]} runs open (index builds included): $peak MB"
# Several users at once: 8 concurrent clients, each zooming in and out of every run.
pids=()
for c in $(seq 8); do
  (for row in "${rows[@]}"; do set -- $row
     curl -s -o /dev/null "http://$ADDR/api/runs/$1/window?columns=4000&scale=logical"
     curl -s -o /dev/null "http://$ADDR/api/runs/$1/window?x0=$((c * 1000000))&x1=$((c * 1000000 + 2000000))"
   done) &
  pids+=($!)
done
wait "${pids[@]}"
peak=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$SERVE/status")
echo "bop serve peak RSS after 8 concurrent clients on every run: $peak MB"
