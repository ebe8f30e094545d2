#!/bin/sh
# The check of postgres.toml: client.log exists only when the INSERT was
# acknowledged and the SELECT answered (psql stops at the first error, the
# SELECT's output is moved into place only when it succeeded): then it must
# hold the row. Also removes the node's data directory.
# Usage: postgres.sh RUN_DIR
rm -rf "$(cat "$1/pgdir")"
[ -f "$1/client.log" ] || { echo "pass: the client got no answer"; exit 0; }
grep -qx hello "$1/client.log" || { echo "FAIL acknowledged write lost: the SELECT did not return it"; exit 1; }
echo pass
