#!/usr/bin/env bash
# Memory safety: runs the pg_regress suites against a PostgreSQL server built
# for valgrind (USE_VALGRIND, assertions, memory-context checking), with
# reframe built at -Og, every backend under memcheck.  Fails if valgrind
# reports any error in any process, or if a suite fails.
#
#   make valgrind-check          (or: bash scripts/valgrind-check.sh)
#   VG_SUITES="trees" bash scripts/valgrind-check.sh    (some suites only)
#
# XGBoost (libxgboost, and the OpenMP runtime it starts) is not built for
# valgrind: test/valgrind-xgboost.supp suppresses reports whose every frame
# of ours is below a call into it, and nothing of reframe's or PostgreSQL's.
#
# The server is built once from Debian's source of postgresql-15 into
# $REFRAME_VG_DIR (default /var/tmp/reframe-valgrind) and reused.  Under
# memcheck the suites take 20-40 minutes on two cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
dir=${REFRAME_VG_DIR:-/var/tmp/reframe-valgrind}
prefix=$dir/pg
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

bash scripts/setup.sh >/dev/null
need=""
for p in valgrind dpkg-dev libopenblas-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
[ -z "$need" ] || $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $need < /dev/null

mkdir -p "$dir"
if [ ! -x "$prefix/bin/postgres" ]; then
    # Debian's source of the installed major version
    if ! apt-cache showsrc postgresql-15 >/dev/null 2>&1 || [ -z "$(apt-cache showsrc postgresql-15 2>/dev/null)" ]; then
        sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
            $SUDO tee /etc/apt/sources.list.d/reframe-deb-src.sources >/dev/null
        $SUDO apt-get update -qq
    fi
    cd "$dir"
    rm -rf src && mkdir src && cd src
    # the newest source version that the mirror still serves
    for v in $(apt-cache showsrc postgresql-15 | sed -n 's/^Version: //p' | sort -Vr); do
        apt-get source -qq --download-only "postgresql-15=$v" >/dev/null 2>&1 && break
    done
    tar xjf postgresql-15_*.orig.tar.bz2
    cd postgresql-15*/
    ./configure -q --prefix="$prefix" --enable-cassert --enable-debug \
        --without-readline --without-zlib --without-icu \
        CFLAGS="-Og -g -fno-omit-frame-pointer" CPPFLAGS="-DUSE_VALGRIND"
    # the generated headers first: a parallel build from the top can race them
    make -s -C src/backend generated-headers >/dev/null
    make -s -j2 >/dev/null
    make -s install >/dev/null
    cp src/tools/valgrind.supp "$prefix/valgrind.supp"
    cd "$repo"
fi

# reframe against that server, unoptimised so that reports point at lines
build=$dir/reframe
rm -rf "$build" && mkdir -p "$build"
git ls-files -z | xargs -0 cp --parents -t "$build"
cd "$build"
make -s -j2 PG_CONFIG="$prefix/bin/pg_config" OPTFLAGS="-Og" >/dev/null
make -s install PG_CONFIG="$prefix/bin/pg_config" >/dev/null

# a cluster owned by an unprivileged user (postgres refuses root)
owner=postgres
id "$owner" >/dev/null 2>&1 || owner=$(id -un)
data=$dir/data
logs=$dir/logs
rm -rf "$data" "$logs" && mkdir -p "$logs"
chown -R "$owner" "$dir"
run() { if [ "$(id -un)" = "$owner" ]; then "$@"; else su "$owner" -s /bin/bash -c "$(printf '%q ' "$@")"; fi; }
run "$prefix/bin/initdb" -A trust -U postgres -D "$data" >/dev/null
port=54329
export OPENBLAS_NUM_THREADS=1
run env OPENBLAS_NUM_THREADS=1 valgrind --quiet --trace-children=yes --track-origins=yes \
    --read-inline-info=yes --leak-check=no --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \
    --suppressions="$prefix/valgrind.supp" --suppressions="$repo/test/valgrind-xgboost.supp" \
    --log-file="$logs/%p.log" \
    "$prefix/bin/postgres" -D "$data" -p "$port" -k /tmp -c max_parallel_workers_per_gather=0 \
    -c checkpoint_timeout=30min > "$logs/server.out" 2>&1 &
server=$!
until "$prefix/bin/pg_isready" -q -h /tmp -p "$port"; do
    kill -0 $server 2>/dev/null || { cat "$logs/server.out"; echo "valgrind-check: the server did not start"; exit 1; }
    sleep 2
done
status=0
suites=()
[ -z "${VG_SUITES:-}" ] || suites=(REGRESS="$VG_SUITES")
PGHOST=/tmp PGPORT=$port PGUSER=postgres make -s installcheck PG_CONFIG="$prefix/bin/pg_config" "${suites[@]}" || status=$?
run "$prefix/bin/pg_ctl" -D "$data" stop -m fast -w -t 300 >/dev/null || true
cd "$repo"

errors=$(cat "$logs"/*.log | grep -c VALGRINDERROR-BEGIN || true)
echo "valgrind: $errors errors in $(ls "$logs"/*.log | wc -l) process logs under $logs"
if [ "$errors" -gt 0 ]; then
    grep -l VALGRINDERROR-BEGIN "$logs"/*.log | head -3 | xargs -r sed -n '/VALGRINDERROR-BEGIN/,/VALGRINDERROR-END/p' | head -120
    status=1
fi
[ $status = 0 ] && echo "valgrind-check: ok" || echo "valgrind-check: FAILED"
exit $status
