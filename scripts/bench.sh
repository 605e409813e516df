#!/usr/bin/env bash
# The benchmark of issue 10: liquid-mesh against the original's stack (bench/baseline: Node.js
# socket.io with the Redis adapter, SimpleWebAuthn), in one run on this machine, release builds.
# Prints one table; nothing is asserted. `--quick` runs everything briefly (to check the harness),
# `--json FILE` also keeps every raw report.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p liquid-mesh --bin liquid-mesh -p liquid-mesh-tests --bin liquid-mesh-load
exec python3 bench/run.py "$@"
