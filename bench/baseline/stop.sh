#!/usr/bin/env bash
# Stops what start.sh started (the PIDs it recorded in run/pids).
set -uo pipefail
cd "$(dirname "$0")"
PIDS=run/pids
[ -f "$PIDS" ] || { echo "nothing recorded in $(pwd)/$PIDS" >&2; exit 0; }
# shellcheck disable=SC1090
. "$PIDS"
list="${node1:-} ${node2:-} ${redis:-}"
for pid in $list; do kill "$pid" 2>/dev/null || true; done
for _ in $(seq 1 50); do
  left=
  for pid in $list; do kill -0 "$pid" 2>/dev/null && left=1; done
  [ -z "$left" ] && break
  sleep 0.1
done
for pid in $list; do kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null; done
rm -f "$PIDS"
