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

fresh_db() {
    dropdb --force --if-exists "$DB" >/dev/null 2>&1
    createdb "$DB" && psql -X -q -d "$DB" -c "SET client_min_messages = warning; CREATE EXTENSION reframe;"
}
