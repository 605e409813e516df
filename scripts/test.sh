#!/usr/bin/env bash
# The whole test suite, on a fresh machine: starts (installing if needed) what the tests need,
# then runs every test of the workspace. PostgreSQL tests fail, not skip, without their server.
set -euo pipefail
cd "$(dirname "$0")/.."

eval "$(scripts/postgres.sh)"
cargo test --workspace --locked "$@"
