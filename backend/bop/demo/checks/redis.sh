#!/bin/sh
# The check of redis.toml: judges what the client was told (README
# "Verdicts"). client.log holds, one line each, the SET's OK, INCR's value,
# WAIT's count of replicas that acknowledged, then the replica's two GET
# answers; a line is missing when that command's connection failed
# (unavailable: no answer, no lie). Replication is asynchronous, so a
# stale read is a violation only after WAIT said the replica had the
# writes; INCR of a new key answering anything but 1, or a read of a value
# never written, is one in any case. An error answer (MASTERDOWN, LOADING,
# ...) is not a lie.
# Usage: redis.sh RUN_DIR
log="$1/client.log"
[ -f "$log" ] || { echo "pass: the client got no answers"; exit 0; }
awk '
  function error(s) { return s ~ /^([(]error[)] )?[A-Z]+( |$)/ }
  function judge(n, key, want) {
    if (NR < n || line[n] == want || error(line[n])) return
    if (line[n] == "" && !acked) return
    print "FAIL read-your-writes: " key " read as [" line[n] "] after WAIT answered [" line[3] "]"
    exit 1
  }
  { line[NR] = $0 }
  END {
    if (NR >= 2 && line[1] == "OK" && line[2] ~ /^[0-9]+$/ && line[2] != "1") {
      print "FAIL exactly-once increment: INCR of a new key answered " line[2]
      exit 1
    }
    acked = (NR >= 3 && line[3] == "1")
    judge(4, "greeting", "hello")
    judge(5, "visits", "1")
    print "pass"
  }' "$log"
