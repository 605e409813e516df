#!/usr/bin/env bash
# Starts the baseline: one redis-server on BASE_PORT+2 and two server.mjs on BASE_PORT and
# BASE_PORT+1, waits until both answer HTTP, prints one JSON line and exits, leaving them running.
#   bash start.sh [BASE_PORT]      (default 45000; stop with: bash stop.sh)
# BASELINE_ARGS adds arguments to both servers (e.g. BASELINE_ARGS=--no-reload).
set -euo pipefail
cd "$(dirname "$0")"
BASE=${1:-45000}
P1=$BASE P2=$((BASE + 1)) PR=$((BASE + 2))
RUN=run
PIDS=$RUN/pids

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

if [ -f "$PIDS" ]; then
  # shellcheck disable=SC1090
  . "$PIDS"
  if alive "${node1:-}" || alive "${node2:-}" || alive "${redis:-}"; then
    echo "baseline already running ($(tr '\n' ' ' < "$PIDS")); run: bash stop.sh" >&2
    exit 1
  fi
fi

bash ./install.sh

# Thousands of sockets per process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

mkdir -p "$RUN"
redis-server --port "$PR" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --protected-mode no --loglevel warning </dev/null >"$RUN/redis.log" 2>&1 &
REDIS=$!
echo "redis=$REDIS" > "$PIDS"

cleanup_on_failure() {
  echo "baseline failed to start; logs in $(pwd)/$RUN" >&2
  tail -n 20 "$RUN"/*.log >&2 || true
  kill "$REDIS" ${NODE1:-} ${NODE2:-} 2>/dev/null || true
  rm -f "$PIDS"
  exit 1
}

# Redis first: the servers connect to it before they listen.
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PR") 2>/dev/null; then break; fi
  alive "$REDIS" || cleanup_on_failure
  sleep 0.1
done

# shellcheck disable=SC2086
node server.mjs --port "$P1" --redis "redis://127.0.0.1:$PR" ${BASELINE_ARGS:-} </dev/null >"$RUN/node1.log" 2>&1 &
NODE1=$!
# shellcheck disable=SC2086
node server.mjs --port "$P2" --redis "redis://127.0.0.1:$PR" ${BASELINE_ARGS:-} </dev/null >"$RUN/node2.log" 2>&1 &
NODE2=$!
printf 'node1=%s\nnode2=%s\nredis=%s\n' "$NODE1" "$NODE2" "$REDIS" > "$PIDS"

for pair in "$P1:$NODE1" "$P2:$NODE2"; do
  port=${pair%%:*} pid=${pair##*:}
  ok=
  for _ in $(seq 1 300); do
    # Our process answers, not something else on the port.
    if curl -sf "http://127.0.0.1:$port/health" 2>/dev/null | grep -q "\"pid\":$pid[,}]"; then ok=1; break; fi
    alive "$NODE1" && alive "$NODE2" && alive "$REDIS" || break
    sleep 0.1
  done
  [ -n "$ok" ] || cleanup_on_failure
done

printf '{"nodes": ["http://127.0.0.1:%s","http://127.0.0.1:%s"], "pids": {"node1":%s,"node2":%s,"redis":%s}}\n' \
  "$P1" "$P2" "$NODE1" "$NODE2" "$REDIS"
