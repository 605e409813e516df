#!/usr/bin/env bash
# Prints one JSON line with the CPU seconds (utime+stime, from /proc/<pid>/stat) and RSS of the
# processes start.sh recorded, for a benchmark to take before and after a run.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck disable=SC1091
. run/pids
tick=$(getconf CLK_TCK)
out=
for name in node1 node2 redis; do
  pid=${!name}
  # Fields after the command name (which may contain spaces): utime is 14th, stime 15th overall.
  read -r -a f <<< "$(sed 's/^.*) //' "/proc/$pid/stat")"
  cpu=$(awk -v u="${f[11]}" -v s="${f[12]}" -v t="$tick" 'BEGIN { printf "%.2f", (u + s) / t }')
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
  out="$out${out:+,}\"$name\":{\"pid\":$pid,\"cpu_seconds\":$cpu,\"rss_kb\":$rss}"
done
echo "{$out}"
