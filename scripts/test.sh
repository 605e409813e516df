#!/usr/bin/env bash
# The whole test suite, on a fresh machine: starts (installing if needed) what the tests need,
# then runs every test of the workspace. Tests whose dependencies are missing fail, not skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL for the second half of every storage test.
eval "$(scripts/postgres.sh)"

# Real JavaScript clients from npm: socket.io-client and @algorandfoundation/liquid-client.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing Node.js (Debian packages)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
fi
npm ci --prefix tests/js --no-audit --no-fund --loglevel=error

# Debian's Chromium for the browser end-to-end test (never a browser a tool downloads).
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Chromium (Debian package)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
fi

# The multi-process test runs the node binary itself; cargo builds binaries only for their own
# package's tests, so build it first.
cargo build --locked -p liquid-mesh --bin liquid-mesh
# A panic in a background task (a node's, a bridge's) does not fail the test that caused it;
# the suite does.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked "$@" 2>&1 | tee "$log"
if grep -n "panicked at" "$log"; then
  echo "a task panicked during the tests (above)" >&2
  exit 1
fi
