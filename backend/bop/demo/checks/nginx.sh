#!/bin/sh
# The check of nginx.toml: every answer the client got is one backend's
# page or an error page. A fail-over that sends both requests to one
# backend, or no answer at all, is no lie (README "Verdicts").
# Usage: nginx.sh RUN_DIR
log="$1/client.log"
[ -f "$log" ] || { echo "pass: the client got no answers"; exit 0; }
bad=$(tr -d '\r' < "$log" | grep -vx -e 'backend a' -e 'backend b' -e '</html>' -e '' | head -n 1)
[ -z "$bad" ] || { echo "FAIL wrong page: $bad"; exit 1; }
echo pass
