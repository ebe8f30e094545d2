#!/usr/bin/env bash
# `make bench`, faults with the fast path on (docs/FASTPATH.md "Faults",
# docs/PERFORMANCE.md): `bop rerun` with a 20 ms delay on one message of
# `fastpath fault-trio` (a faulted pair of processes, and a second pair
# making ROUNDS 4-byte round trips that the plan cannot act on), from a
# baseline recorded with the fast path (the rerun inherits it: the second
# pair is admitted to the fast path) against one recorded with
# --no-fast-path (every call stops). Paired, A B A B: each repetition
# times untraced, the fast rerun and the ptrace rerun one after the
# other, and `bop run` of the same guest with no plan (what the fast
# path costs without faults, for reference); the ratios are medians of
# the per-repetition ratios.
#
#   tests/bench/faults.sh [BIN]      (default target/release)
#
# REPS=N (default 5), ROUNDS=N (default 20000).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(cd "${1:-target/release}" && pwd)
BOP=$BIN/bop
REPS=${REPS:-5}
ROUNDS=${ROUNDS:-20000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export BOP_STORE=$TMP/store
GUEST=("$BIN/fastpath" fault-trio 5 "$ROUNDS")

. tests/bench/lib.sh

"$BOP" run -q --id fast -- "${GUEST[@]}" >/dev/null 2>&1
"$BOP" run -q --id slow --no-fast-path -- "${GUEST[@]}" >/dev/null 2>&1
# The third 8-byte message: the faulted pair's data, named as the plan names it.
MSG=$("$BOP" export fast --format json | jq -r '[.messages[] | select(.bytes == 8) | .id] | sort | .[2]')
: >"$TMP/times"
for r in $(seq "$REPS"); do
  u=$(time_it "${GUEST[@]}")
  f=$(time_it "$BOP" rerun -q fast --id "f$r" --delay "$MSG=20")
  p=$(time_it "$BOP" rerun -q slow --id "p$r" --delay "$MSG=20")
  n=$(time_it "$BOP" run -q --id "n$r" -- "${GUEST[@]}")
  echo "$u $f $p $n" >>"$TMP/times"
done
# The fault fired in both, and only the fast rerun used the fast path.
for id in "f$REPS" "p$REPS"; do
  jq -e '.faults[0].fired' "$TMP/store/$id/manifest.json" >/dev/null || { echo "$id: not fired" >&2; exit 1; }
done
fastprocs=$(jq -r '.fast_path.processes // [] | join(", ")' "$TMP/store/f$REPS/manifest.json")
col() { awk "{print \$$1}" "$TMP/times" | median; }
rat() { awk "{print \$$1/\$$2}" "$TMP/times" | median; }
echo "$(date -u +%F) $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg);" \
  "$REPS paired repetitions, medians of the per-repetition ratios"
echo "fault: delay $MSG by 20 ms; processes on the fast path in the fast rerun: $fastprocs"
echo
echo '| workload | untraced | rerun, fast path | rerun, --no-fast-path | run, no plan | fast / untraced | --no-fast-path / untraced | --no-fast-path / fast | fast rerun / run |'
echo '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'
printf '| fault-trio, %s round trips + a delayed message | %.3f s | %.3f s | %.3f s | %.3f s | **%.2fx** | %.2fx | **%.2f** | %.2f |\n' \
  "$ROUNDS" "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)" "$(rat 2 1)" "$(rat 3 1)" "$(rat 3 2)" "$(rat 2 4)"
