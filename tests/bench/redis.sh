#!/usr/bin/env bash
# A real redis-server under redis-benchmark (N requests of SET and GET
# from 8 clients), as one command, so that it runs the same way
# untraced, under bop and under strace. Usage: redis.sh N DIR
set -euo pipefail
n=$1 dir=$2
source "$(dirname "$0")/ports.sh"
port=$(free_port)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
  --loglevel warning & server=$!
# Bounded: a server that died or never answers fails the run (and the
# benchmark says which) instead of looping forever.
deadline=$((SECONDS + 20))
until redis-cli -p "$port" ping >/dev/null 2>&1; do
  if ! kill -0 "$server" 2>/dev/null; then
    echo "redis.sh: redis-server exited before it answered a ping on port $port" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "redis.sh: redis-server did not answer a ping on port $port within 20 s" >&2
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    exit 1
  fi
  sleep 0.02
done
redis-benchmark -p "$port" -n "$n" -c 8 -t set,get -q >/dev/null
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$server"
wait "$server" 2>/dev/null || true
