#!/usr/bin/env bash
# Sourced by the Citus suite and benchmark: citus_start PORT starts a
# throwaway coordinator on PORT and workers on PORT+1 and PORT+2 (Citus
# preloaded, reframe's prerequisites in place), in $CITUS_BASE;
# citus_stop stops them and removes the directory.  as_pg runs a command as
# the postgres user (as root) or as the caller.
CITUS_BIN=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else bash -c "$*"; fi; }

citus_start() {
    local port=$1 p
    CITUS_BASE=$(mktemp -d /tmp/reframe-citus.XXXXXX)
    chmod 755 "$CITUS_BASE"
    [ "$(id -u)" = 0 ] && chown postgres "$CITUS_BASE"
    CITUS_PORTS="$port $((port + 1)) $((port + 2))"
    for p in $CITUS_PORTS; do
        as_pg "$CITUS_BIN/initdb -D $CITUS_BASE/$p -U postgres --no-sync -A trust" > "$CITUS_BASE/initdb-$p.log" 2>&1 ||
            { cat "$CITUS_BASE/initdb-$p.log"; return 1; }
        cat >> "$CITUS_BASE/$p/postgresql.conf" <<CONF
port = $p
unix_socket_directories = '$CITUS_BASE'
listen_addresses = '127.0.0.1'
shared_preload_libraries = 'citus,reframe'
max_prepared_transactions = 20
fsync = off
max_worker_processes = 16
shared_buffers = ${CITUS_SHARED_BUFFERS:-128MB}
CONF
        as_pg "$CITUS_BIN/pg_ctl -D $CITUS_BASE/$p -l $CITUS_BASE/$p.log -w start" > /dev/null ||
            { cat "$CITUS_BASE/$p.log"; return 1; }
        as_pg "psql -X -q -h $CITUS_BASE -p $p -U postgres -d postgres -c 'CREATE EXTENSION citus'" || return 1
    done
    as_pg "psql -X -q -h $CITUS_BASE -p $port -U postgres -d postgres" > /dev/null <<SQL || return 1
SELECT citus_set_coordinator_host('127.0.0.1', $port);
SELECT citus_add_node('127.0.0.1', $((port + 1)));
SELECT citus_add_node('127.0.0.1', $((port + 2)));
SQL
}

citus_stop() {
    local p
    # REFRAME_CITUS_KEEP=1 leaves the cluster running, for a developer
    if [ -n "${REFRAME_CITUS_KEEP:-}" ]; then
        echo "citus: cluster kept in $CITUS_BASE"
        return
    fi
    for p in $CITUS_PORTS; do
        as_pg "$CITUS_BIN/pg_ctl -D $CITUS_BASE/$p -m immediate stop" > /dev/null 2>&1
    done
    rm -rf "$CITUS_BASE"
}
