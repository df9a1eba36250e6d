#!/usr/bin/env bash
# Finds the PostgreSQL the tests use and prints its connection string:
# HOOKHOST_TEST_DATABASE_URL if set; else the server on 127.0.0.1:5432 if
# one answers (the project's machines run one, trust authentication,
# database `test`); else installs Debian's `postgresql` package and starts a
# throwaway cluster on 127.0.0.1:55432 in $HOOKHOST_PG_DIR (printed on the
# second line: stop it with `pg_ctl -D <dir> stop`). Fails when none can be
# had: the PostgreSQL tests are never skipped.
set -euo pipefail

if [ -n "${HOOKHOST_TEST_DATABASE_URL:-}" ]; then
    echo "$HOOKHOST_TEST_DATABASE_URL"
    exit 0
fi

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if answers 5432; then
    echo "postgres://postgres@127.0.0.1:5432/test"
    exit 0
fi

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(bindir)" ]; then
    echo "test-postgres: no PostgreSQL answers; installing Debian's postgresql" >&2
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
fi
bin="$(bindir)"
dir="${HOOKHOST_PG_DIR:-/tmp/hookhost-test-pg}"
port=55432
if ! answers "$port"; then
    rm -rf "$dir"
    mkdir -p "$dir"
    # initdb refuses to run as root: the cluster belongs to `postgres`.
    run=()
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$dir"
        run=(runuser -u postgres --)
    fi
    "${run[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres >&2
    "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >&2
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
echo "$dir/data"
