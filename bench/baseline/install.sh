#!/usr/bin/env bash
# Installs what the baseline needs, once: Debian's redis-server and the npm packages of
# package-lock.json. start.sh calls it; so does bench/run.py before the verification benchmark.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq redis-server >&2 || { apt-get update -qq >&2 && apt-get install -y -qq redis-server >&2; }
fi
if ! command -v node >/dev/null 2>&1; then
  echo "node is not on PATH" >&2
  exit 1
fi
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund >&2
fi
