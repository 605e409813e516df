#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback for the test suite and prints its URL.
# Installs Debian's server package when it is missing. Idempotent: a running cluster is reused.
#   eval "$(scripts/postgres.sh)"   # exports LIQUID_MESH_TEST_POSTGRES
set -euo pipefail

PORT="${LIQUID_MESH_PG_PORT:-55432}"
DIR="${LIQUID_MESH_PG_DIR:-/tmp/liquid-mesh-pg}"

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/postgres" ]; then
  echo "installing PostgreSQL server (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

# initdb and postgres refuse to run as root; run them as an unprivileged user.
run_as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$DIR" postgres
  run_as=(runuser -u postgres --)
fi

if ! "${run_as[@]}" "$bindir/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
  if [ ! -f "$DIR/PG_VERSION" ]; then
    rm -rf "$DIR"
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    "${run_as[@]}" "$bindir/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  "${run_as[@]}" "$bindir/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
    -o "-h 127.0.0.1 -p $PORT -k $DIR -c max_connections=400 -c fsync=off" start >&2
fi

echo "export LIQUID_MESH_TEST_POSTGRES=postgres://postgres@127.0.0.1:$PORT/postgres"
