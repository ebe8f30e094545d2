#!/usr/bin/env bash
# The bundled demo (backend/bop/demo/kv.toml) as one command, so that it
# runs the same way untraced, under bop and under strace: a replica, a
# primary, the client's workload, then the nodes are stopped.
# Usage: kv.sh BIN_DIR HISTORY_FILE
set -euo pipefail
bin=$1 history=$2
source "$(dirname "$0")/ports.sh"
replica=$(free_port) primary=$(free_port)
"$bin/bop-kv" replica --port "$replica" & r=$!
wait_port "$replica"
"$bin/bop-kv" primary --port "$primary" --replica "$replica" & p=$!
wait_port "$primary"
"$bin/bop-kv" client --primary "$primary" --replica "$replica" --history "$history"
kill "$p" "$r"
wait "$p" "$r" 2>/dev/null || true
