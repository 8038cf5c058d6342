# Shared by the production tests: run inside pg_virtualenv (PGHOST, PGPORT,
# PGUSER set); each test uses a database of its own, named by $DB.
set -uo pipefail

fail() { echo "FAIL: $*"; exit 1; }

# one statement, unaligned, tuples only; errors stop the test
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

# waits up to $1 seconds until the query $2 returns t
wait_for() {
    local limit=$1 query=$2 i
    for ((i = 0; i < limit * 10; i++)); do
        [ "$(psql -X -A -t -q -d "$DB" -c "$query" 2>/dev/null)" = "t" ] && return 0
        sleep 0.1
    done
    return 1
}

# the test's database goes when it ends, with any session still in it
trap 'dropdb --force --if-exists "$DB" >/dev/null 2>&1' EXIT

# run_fuzz SCRIPT [psql args...]: runs a fuzz script of this folder and
# shows its output; fails if the server restarted since $before (its start
# time, taken now unless the caller took it), if the script stopped, or if a
# line it printed starts with INTERNAL (a call that ended in anything but an
# ordinary error).
run_fuzz() {
    local script=$1 out status after
    shift
    before=${before:-$(q "SELECT pg_postmaster_start_time()")}
    out=$(psql -X -A -t -q -d "$DB" "$@" -f "$(dirname "$0")/$script" 2>&1)
    status=$?
    echo "$out" | grep -v '^INTERNAL'
    after=$(q "SELECT pg_postmaster_start_time()") || fail "server gone after $script"
    [ "$before" = "$after" ] || fail "the server restarted during $script ($before, then $after)"
    [ $status = 0 ] || fail "$script stopped (status $status): $(echo "$out" | tail -5)"
    if grep -q '^INTERNAL' <<<"$out"; then
        grep '^INTERNAL' <<<"$out"
        fail "$script: calls ended in internal errors"
    fi
}

fresh_db() {
    dropdb --force --if-exists "$DB" >/dev/null 2>&1
    createdb "$DB" && psql -X -q -d "$DB" -c "SET client_min_messages = warning; CREATE EXTENSION reframe;"
}
