#!/bin/sh
# Start a throw-away PostgreSQL server for Baliza's storage tests.
#
#   eval "$(.ci/postgres.sh)"      # then: .venv/bin/pytest tests/node
#
# Idempotent: a server already answering on the port is reused, an existing data
# directory is started again, and the PostgreSQL binaries are installed with apt
# only when none are found. Works as root on a fresh Debian machine (initdb
# refuses root, so the server runs as the `postgres` system user, created if
# needed) and as an ordinary user. Only the last line goes to stdout, so the
# output can be eval'd; progress goes to stderr.
#
# Environment: BALIZA_PG_PORT (54329), BALIZA_PG_DIR (/tmp/baliza-pg),
# BALIZA_PG_STOP=1 to stop the server instead.
set -eu

PORT="${BALIZA_PG_PORT:-54329}"
PGDIR="${BALIZA_PG_DIR:-/tmp/baliza-pg}"
DATA="$PGDIR/data"
DB_USER=baliza
URL="postgresql+asyncpg://$DB_USER@127.0.0.1:$PORT/postgres"

say() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    # Prefer the newest versioned Debian directory, then whatever is on PATH.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    return 1
}

BINDIR="$(find_bindir || true)"
if [ -z "$BINDIR" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        say "no PostgreSQL binaries found and not root: install the postgresql package"
        exit 1
    fi
    say "installing PostgreSQL with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends postgresql >&2
    BINDIR="$(find_bindir)"
fi

# As root, run the server as an unprivileged user; otherwise as ourselves.
if [ "$(id -u)" -eq 0 ]; then
    RUN_AS=postgres
    if ! id "$RUN_AS" >/dev/null 2>&1; then
        say "creating system user $RUN_AS"
        useradd --system --home-dir "$PGDIR" --shell /usr/sbin/nologin "$RUN_AS"
    fi
    as_server_user() { runuser -u "$RUN_AS" -- "$@"; }
else
    RUN_AS="$(id -un)"
    as_server_user() { "$@"; }
fi

ready() { "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -d postgres; }

if [ "${BALIZA_PG_STOP:-0}" = "1" ]; then
    if [ -f "$DATA/postmaster.pid" ]; then
        as_server_user "$BINDIR/pg_ctl" -D "$DATA" -m fast -w stop >&2
    fi
    exit 0
fi

if ready; then
    say "server already running on 127.0.0.1:$PORT"
else
    mkdir -p "$PGDIR"
    chown "$RUN_AS" "$PGDIR" 2>/dev/null || true
    chmod 700 "$PGDIR"
    if [ ! -f "$DATA/PG_VERSION" ]; then
        say "initdb into $DATA (user $RUN_AS, superuser $DB_USER, trust auth)"
        # Trust is acceptable only because the server listens on loopback and
        # holds nothing but disposable test databases.
        as_server_user "$BINDIR/initdb" -D "$DATA" -U "$DB_USER" --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1 || {
            cat "$PGDIR/initdb.log" >&2
            exit 1
        }
    fi
    # A stale pid file from a killed server would make pg_ctl refuse to start.
    if [ -f "$DATA/postmaster.pid" ] && ! as_server_user "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
        rm -f "$DATA/postmaster.pid"
    fi
    say "starting server on 127.0.0.1:$PORT (log: $PGDIR/server.log)"
    # The socket goes into the data folder: /var/run/postgresql may not exist.
    as_server_user "$BINDIR/pg_ctl" -D "$DATA" -l "$PGDIR/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $PORT -k $DATA -c fsync=on -c max_connections=200" start >&2
    tries=0
    until ready; do
        tries=$((tries + 1))
        if [ "$tries" -gt 60 ]; then
            say "server did not become ready; last log lines:"
            tail -n 20 "$PGDIR/server.log" >&2 || true
            exit 1
        fi
        sleep 0.5
    done
fi

echo "export BALIZA_TEST_POSTGRES_URL=$URL"
