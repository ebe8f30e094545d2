#!/bin/sh
# The check of memcached.toml: a value acknowledged (STORED) must come back
# to a get that was answered (END); a set or get that got no answer is no
# lie (README "Verdicts").
# Usage: memcached.sh RUN_DIR
grep -q STORED "$1/set.log" || { echo "pass: the set was not acknowledged"; exit 0; }
grep -q '^END' "$1/get.log" || { echo "pass: the get got no answer"; exit 0; }
grep -q hello "$1/get.log" || { echo "FAIL acknowledged write lost: the get answered without it"; exit 1; }
echo pass
