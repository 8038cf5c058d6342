#!/usr/bin/env bash
# One copy of a model for every backend (issue 27): a cluster of its own
# with reframe in shared_preload_libraries and a 24 MB reframe.model_cache_size.
# - backends score from one shared copy, equal to a copy loaded from a
#   TEMP copy of the table (never shared);
# - a change of the model (a threshold set, a deploy) reaches a session
#   that holds the shared copy at its next transaction;
# - 16 clients (half of them a new connection per query) score sums while
#   versions 1 and 2 are deployed in turn and another model is retrained,
#   scored and dropped: every sum is one version's, no server restart;
# - afterwards no backend holds a copy, and the cache stays within its size;
# - two databases with the same table OIDs (one a copy of the other) keep
#   copies of their own;
# - a parallel query scores a version not yet shared;
# - the least recently used copy is evicted when a new one needs room;
# - a version cut short by hand is read again by a new connection (before:
#   the copy shared earlier); a model forged as a TEMP table
#   by a role with default rights is never shared;
# - a model of more than half the cache is scored from a private copy,
#   correctly, evicts nothing, and keeps no shared memory.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DB=reframe_shared
. "$here/lib.sh"

bin=/usr/lib/postgresql/15/bin
dir=$(mktemp -d /tmp/reframe-shared.XXXXXX)
chmod 755 "$dir"
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
port=$((20000 + RANDOM % 20000))
stop() { as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop > /dev/null 2>&1; rm -rf "$dir"; }
trap stop EXIT
as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres > /dev/null || fail "initdb"
cat >> "$dir/data/postgresql.conf" <<EOF
port = $port
listen_addresses = ''
unix_socket_directories = '$dir'
shared_preload_libraries = 'reframe'
reframe.model_cache_size = 24
max_connections = 60
EOF
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start > /dev/null || { cat "$dir/log"; fail "start"; }
export PGHOST=$dir PGPORT=$port PGUSER=postgres
createdb "$DB" || fail "createdb"
before=$(q "SELECT pg_postmaster_start_time()")

q "CREATE EXTENSION reframe" > /dev/null
q "SET client_min_messages = warning;
   CREATE TABLE letters AS
   SELECT i, ARRAY[sin(i), cos(i * 0.3), sin(i * 0.7), cos(i * 1.7)]::float8[] AS x,
          chr(65 + (abs(hashint4(i)) % 26)) AS k, sin(i) + cos(i * 0.3) > 0.2 AS b
     FROM generate_series(1, 8000) i;" > /dev/null
# versions 1 and 2, and the sums of their scores loaded privately: from a
# copy of the model table in a TEMP table, which is never shared
q "SET client_min_messages = warning;
   SELECT 1 FROM reframe.train('m', 'SELECT x, k FROM letters', 'k', options => '{\"model\": \"trees\", \"rounds\": 40}');
   SELECT 1 FROM reframe.train('m', 'SELECT x, k FROM letters', 'k', options => '{\"model\": \"trees\", \"rounds\": 60}');
   SELECT 1 FROM reframe.train('b', 'SELECT x, b FROM letters', 'b', options => '{\"model\": \"linear\"}');
   SELECT reframe.deploy('m', 1);" > /dev/null
sums=$(q "CREATE TEMP TABLE m_private OF reframe.model_row (PRIMARY KEY (version, block, part));
          INSERT INTO m_private SELECT * FROM m;
          CREATE TEMP TABLE b_private OF reframe.model_row (PRIMARY KEY (version, block, part));
          INSERT INTO b_private SELECT * FROM b;
          CREATE TABLE expected AS
          SELECT 1 AS version, sum(reframe.score('pg_temp.m_private@1', l, 'C')) AS s,
                 count(*) FILTER (WHERE reframe.predict('pg_temp.b_private', l) = 'true') AS positives
            FROM letters l WHERE i <= 500;
          INSERT INTO expected SELECT 2, sum(reframe.score('pg_temp.m_private@2', l, 'C')), 0 FROM letters l WHERE i <= 500;
          SELECT count(*) FROM reframe.model_cache();" | tail -1)
[ "$sums" = 0 ] || fail "a TEMP model table was shared: $sums copies"

# every backend scores from one copy, equal to the private one
for c in 1 2 3; do
    q "SELECT abs(sum(reframe.score('m', l, 'C')) - (SELECT s FROM expected WHERE version = 1)) < 1e-12 FROM letters l WHERE i <= 500" |
        grep -qx t || fail "connection $c scored the shared copy differently"
done
copies=$(q "SELECT count(*) || ' ' || sum(backends) FROM reframe.model_cache() WHERE model = 'm'::regclass AND version = 1")
[ "$copies" = "1 0" ] || fail "three connections made '$copies' (copies, backends holding them), not one copy held by none"

# a change reaches a session holding the shared copy at its next transaction
out=$(psql -X -A -t -q -d "$DB" <<'SQL'
SELECT count(*) FILTER (WHERE reframe.predict('b', l) = 'true') = (SELECT positives FROM expected WHERE version = 1) FROM letters l WHERE i <= 500;
\! psql -X -q -d reframe_shared -c "SELECT reframe.set_threshold('b', 0.999999)" > /dev/null
SELECT count(*) FILTER (WHERE reframe.predict('b', l) = 'true') = count(*) FILTER (WHERE (reframe.predict_proba('b', l))[2] >= 0.999999)
       AND count(*) FILTER (WHERE reframe.predict('b', l) = 'true') < (SELECT positives FROM expected WHERE version = 1)
  FROM letters l WHERE i <= 500;
\! psql -X -q -d reframe_shared -c "SELECT reframe.deploy('m', 2)" > /dev/null
SELECT abs(sum(reframe.score('m', l, 'C')) - (SELECT s FROM expected WHERE version = 2)) < 1e-12 FROM letters l WHERE i <= 500;
\! psql -X -q -d reframe_shared -c "SELECT reframe.deploy('m', 1)" > /dev/null
SQL
)
[ "$(echo "$out" | tr '\n' ' ')" = "t t t " ] || fail "a session holding the shared copy missed a change: $out"

# 16 clients while versions flip and a model is retrained, scored and dropped
end=$((SECONDS + 12))
work=$dir/work
mkdir -p "$work"; chmod 777 "$work"
query="SELECT round(sum(reframe.score('m', l, 'C'))::numeric, 9) FROM letters l WHERE i <= 500;"
for ((c = 0; c < 16; c++)); do
    if ((c % 2)); then
        # a new connection per query
        (while ((SECONDS < end)); do psql -X -A -t -q -d "$DB" -c "$query" 2>&1; done > "$work/client$c") &
    else
        (while ((SECONDS < end)); do echo "$query"; sleep 0.05; done | psql -X -A -t -q -d "$DB" > "$work/client$c" 2>&1) &
    fi
done
(while ((SECONDS < end)); do
    psql -X -q -d "$DB" -c "SELECT reframe.deploy('m', 2)" -c "SELECT reframe.deploy('m', 1)" > /dev/null 2>&1
    psql -X -q -d "$DB" -c "SET client_min_messages = warning" \
        -c "SELECT 1 FROM reframe.train('tmp', 'SELECT x, b FROM letters WHERE i <= 2000', 'b', options => '{\"model\": \"trees\", \"rounds\": 5}')" \
        -c "SELECT count(reframe.score('tmp', l)) FROM letters l WHERE i <= 100" \
        -c "SELECT reframe.drop_model('tmp')" > /dev/null 2>&1
  done) &
wait
q "SELECT round(s::numeric, 9) FROM expected" > "$work/allowed"
sums=$(cat "$work"/client* | wc -l)
wrong=$(cat "$work"/client* | grep -vxF -f "$work/allowed" | sort | uniq -c | head -5)
[ -z "$wrong" ] || fail "a sum that is no version's, or an error: $wrong"
[ "$sums" -gt 100 ] || fail "only $sums sums"
after=$(q "SELECT pg_postmaster_start_time()")
[ "$before" = "$after" ] || fail "the server restarted"

# no backend holds a copy once the clients are gone; the cache within its size
held=$(q "SELECT coalesce(sum(backends), 0) || ' ' || (coalesce(sum(bytes), 0) <= 24 * 1024 * 1024) FROM reframe.model_cache()")
[ "$held" = "0 true" ] || fail "after the clients: '$held' (backends holding copies, within the size)"

# two databases, one copied from the other: the same table OIDs, each its
# own copies (the copy's threshold set first, then the original's model
# shared, then the copy's scored)
createdb -T "$DB" "${DB}_copy" || fail "createdb -T"
psql -X -q -d "${DB}_copy" -c "SELECT reframe.set_threshold('b', 0.3)" > /dev/null || fail "set_threshold in the copy"
here=$(q "SELECT count(*) FILTER (WHERE reframe.predict('b', l) = 'true') =
                 count(*) FILTER (WHERE (reframe.predict_proba('b', l))[2] >= 0.999999)
          FROM letters l WHERE i <= 500")
copy=$(psql -X -A -t -q -d "${DB}_copy" -c "SELECT count(*) FILTER (WHERE reframe.predict('b', l) = 'true') =
                                                  count(*) FILTER (WHERE (reframe.predict_proba('b', l))[2] >= 0.3)
                                             FROM letters l WHERE i <= 500")
dropdb "${DB}_copy"
[ "$here $copy" = "t t" ] || fail "two databases with the same table OIDs shared a copy: '$here $copy'"

# a model larger than the cache: a private copy, scored right
copies=$(q "SELECT count(*) FROM reframe.model_cache()")
q "SET client_min_messages = warning;
   SELECT 1 FROM reframe.train('big', 'SELECT x, k FROM letters', 'k', options => '{\"model\": \"trees\", \"rounds\": 120, \"max_depth\": 8, \"validation\": 0}');" > /dev/null
q "CREATE TEMP TABLE big_private OF reframe.model_row (PRIMARY KEY (version, block, part));
   INSERT INTO big_private SELECT * FROM big;
   CREATE TABLE big_expected AS SELECT sum(reframe.score('pg_temp.big_private', l, 'C')) AS s FROM letters l WHERE i <= 300;" > /dev/null
ok=$(q "SELECT abs(sum(reframe.score('big', l, 'C')) - (SELECT s FROM big_expected)) < 1e-12 FROM letters l WHERE i <= 300")
[ "$ok" = t ] || fail "the model larger than the cache scored differently"
shared_big=$(q "SELECT count(*) FROM reframe.model_cache() WHERE model = 'big'::regclass")
[ "$shared_big" = 0 ] || fail "a model larger than the cache is listed in it"
# ... and evicted no copy to try (the copies no backend holds now)
kept=$(q "SELECT count(*) FROM reframe.model_cache()")
[ "$kept" = "$copies" ] || fail "the large model's load evicted copies: $copies before, $kept after"
# ... and keeps no shared memory for the backends that loaded it: after ten
# connections that each scored it (and exited), a new model is still shared
for ((c = 0; c < 10; c++)); do
    q "SELECT count(reframe.score('big', l, 'C')) FROM letters l WHERE i <= 3" > /dev/null
done
q "SET client_min_messages = warning;
   SELECT 1 FROM reframe.train('after', 'SELECT x, k FROM letters', 'k', options => '{\"model\": \"trees\", \"rounds\": 40}');" > /dev/null
q "SELECT count(reframe.score('after', l, 'C')) FROM letters l WHERE i <= 3" > /dev/null
after_shared=$(q "SELECT count(*) FROM reframe.model_cache() WHERE model = 'after'::regclass")
[ "$after_shared" = 1 ] || fail "after ten loads of the large model a new model is not shared: shared memory was kept"
# least recently used first: four versions of 8 MB in the 24 MB cache,
# scored in turn: the first is evicted, the last is there
for v in 1 2 3 4; do
    q "SET client_min_messages = warning;
       SELECT 1 FROM reframe.train('ev', 'SELECT x, k FROM letters', 'k', options => '{\"model\": \"trees\", \"rounds\": 40, \"max_depth\": 8, \"validation\": 0}');" > /dev/null
done
# (a parallel query's first score of a version: its leader and workers
# load or share it with the statement's snapshot, as any backend does)
par=$(q "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
         SET max_parallel_workers_per_gather = 2;
         SELECT round(sum(reframe.score('ev@1', l, 'C'))::numeric, 8) FROM letters l" | tail -1)
ser=$(q "SELECT round(sum(reframe.score('ev@1', l, 'C'))::numeric, 8) FROM letters l")
[ -n "$par" ] && [ "$par" = "$ser" ] || fail "a parallel query scored '$par', a serial one '$ser'"
for v in 1 2 3 4; do
    q "SELECT count(reframe.score('ev@$v', l, 'C')) FROM letters l WHERE i <= 3" > /dev/null
done
lru=$(q "SELECT bool_and(version <> 1) AND bool_or(version = 4) AND sum(bytes) <= 24 * 1024 * 1024
         FROM reframe.model_cache() WHERE model = 'ev'::regclass")
[ "$lru" = t ] || fail "after versions 1 to 4 of 8 MB the cache holds version 1 or not version 4: $(q "SELECT string_agg(version::text, ',') FROM reframe.model_cache() WHERE model = 'ev'::regclass")"
# a shared version's rows edited by hand: the next statement reads them (a
# block cut short is the corrupt-model error, not the copy shared before)
q "UPDATE ev SET data = data[1:2] WHERE version = 3 AND block <> ''" > /dev/null
edited=$(psql -X -A -t -q -d "$DB" -c "SELECT count(reframe.score('ev@3', l, 'C')) FROM letters l WHERE i <= 3" 2>&1)
grep -q 'is corrupt' <<<"$edited" || fail "a version cut short by hand scored from its shared copy: $edited"

# a model forged as a TEMP table by a role with default rights: an error or
# a score, never shared, never a restart
out=$(psql -X -A -t -q -d "$DB" 2>&1 <<'SQL'
CREATE ROLE shared_forger;
SET ROLE shared_forger;
CREATE TEMP TABLE evil OF reframe.model_row (PRIMARY KEY (version, block, part));
INSERT INTO evil (version, block, part, shape, data, spec, created, deployed)
SELECT 1, '', 0, NULL::int[], NULL::float8[],
       '{"format": 1, "task": "multiclass", "targets": ["y"],
         "encoder": {"columns": [{"kind": "numeric", "name": "x", "length": 1, "missing": []}], "inputs": 1, "width": 1},
         "network": {"family": "linear", "inputs": 1, "hidden": [],
                     "heads": [{"name": "y", "kind": "multiclass", "loss": "cross_entropy", "outputs": 2, "classes": ["a", "b"]}]}}',
       now(), true
UNION ALL SELECT 1, 'encoder.shift', 0, '{1}', '{0}', NULL::jsonb, now(), NULL
UNION ALL SELECT 1, 'encoder.scale', 0, '{1}', '{1}', NULL, now(), NULL
UNION ALL SELECT 1, 'head.y.weight', 0, '{2,1}', '{1,-1}', NULL, now(), NULL
UNION ALL SELECT 1, 'head.y.bias', 0, '{2}', '{0,0}', NULL, now(), NULL;
CREATE TEMP TABLE evil_cut OF reframe.model_row (PRIMARY KEY (version, block, part));
INSERT INTO evil_cut SELECT * FROM evil;
UPDATE evil_cut SET data = '{1}' WHERE block = 'head.y.weight';
SELECT reframe.predict('pg_temp.evil', ARRAY[1]::float8[]);
SELECT reframe.predict('pg_temp.evil_cut', ARRAY[1]::float8[]);
SELECT 'shared ' || count(*) FROM reframe.model_cache() c JOIN pg_class k ON k.oid = c.model WHERE k.relpersistence = 't';
SQL
)
grep -qx 'a' <<<"$out" && grep -q 'is corrupt' <<<"$out" && grep -qx 'shared 0' <<<"$out" ||
    fail "a forged TEMP model: $out"
after=$(q "SELECT pg_postmaster_start_time()")
[ "$before" = "$after" ] || fail "the server restarted"

bytes=$(q "SELECT pg_size_pretty(coalesce(sum(bytes), 0)) FROM reframe.model_cache()")
echo "shared_cache: $sums sums by 16 clients while versions flipped and a model was retrained and dropped, each one version's; one shared copy for three connections; a copied database its own copies; the model larger than the cache scored right from a private copy; the least recently used version evicted; the cache holds $bytes of its 24 MB"
