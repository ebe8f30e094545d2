# Helpers shared by the benchmark scripts (sourced; needs $TMP).

# The median of the numbers on stdin, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

time_it() { # seconds of one run of "$@"; a failed run is an error
  local t0 t1
  t0=$(date +%s%N)
  if ! "$@" >"$TMP/out" 2>&1; then
    echo "failed: $*" >&2
    tail -5 "$TMP/out" >&2
    return 1
  fi
  t1=$(date +%s%N)
  echo "scale=4; ($t1-$t0)/1000000000" | bc
}
