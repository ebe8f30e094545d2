# Helpers of the benchmark scripts (sourced): a free TCP port on
# 127.0.0.1, and waiting until something listens on one.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
wait_port() {
  local i
  for i in $(seq 500); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
    sleep 0.02
  done
  echo "nothing listens on port $1" >&2
  return 1
}
