#!/usr/bin/env bash
# Upgrades: a database with models made under 0.1.0 runs ALTER EXTENSION
# reframe UPDATE; its models score exactly as before, and the upgraded
# extension has the same objects, definitions, comments and privileges as a
# fresh install of the new version.
DB=reframe_upgrade
. "$(dirname "$0")/lib.sh"
trap 'dropdb --force --if-exists reframe_upgrade >/dev/null 2>&1; dropdb --force --if-exists reframe_fresh >/dev/null 2>&1' EXIT
dropdb --force --if-exists "$DB" >/dev/null 2>&1
createdb "$DB" || fail "no database"
q "CREATE EXTENSION reframe VERSION '0.1.0'"
q "SET client_min_messages = warning;
   CREATE TABLE d AS SELECT i, sin(i)::float8 AS a, cos(i * 0.7)::float8 AS b, (ARRAY['x', 'y'])[1 + i % 2] AS k,
          (2 * sin(i) + cos(i * 0.7))::float8 AS r, sin(i) * cos(i * 0.7) > 0 AS y,
          array_remove(ARRAY[CASE WHEN sin(i) > 0 THEN 'pos' END, CASE WHEN cos(i * 0.7) > 0.5 THEN 'high' END], NULL) AS tags
     FROM generate_series(1, 1200) i;
   SELECT count(*) FROM (
     SELECT reframe.train('u_ridge', 'SELECT a, b, k, r FROM d', 'r') UNION ALL
     SELECT reframe.train('u_binary', 'SELECT a, b, k, y FROM d', 'y') UNION ALL
     SELECT reframe.train('u_labels', 'SELECT a, b, tags FROM d', 'tags') UNION ALL
     SELECT reframe.train('u_deep', 'SELECT a, b, k, r, y FROM d', 'r,y', NULL, '{\"hidden\": [8], \"epochs\": 5}')) t;
   CREATE TABLE before AS
   SELECT i, reframe.score('u_ridge', d) AS ridge, reframe.predict_proba('u_binary', d) AS binary,
          reframe.predict_labels('u_labels', d) AS labels, reframe.predict_all('u_deep', d) AS deep
     FROM d" >/dev/null || fail "training under 0.1.0"
q "ALTER EXTENSION reframe UPDATE" || fail "ALTER EXTENSION reframe UPDATE"
[ "$(q "SELECT extversion FROM pg_extension WHERE extname = 'reframe'")" = "0.3.0" ] || fail "not at 0.3.0"
same=$(q "SELECT count(*) FILTER (WHERE b.ridge = reframe.score('u_ridge', d) AND b.binary = reframe.predict_proba('u_binary', d)
                                   AND b.labels = reframe.predict_labels('u_labels', d, output => 'tags')
                                   AND b.deep = reframe.predict_all('u_deep', d)), count(*)
            FROM d JOIN before b USING (i)")
[ "$same" = "1200|1200" ] || fail "scores after the upgrade: $same identical"
q "SELECT count(*) FROM reframe.training" >/dev/null || fail "no progress view after the upgrade"

# the upgraded extension is the fresh one
describe='SELECT pg_describe_object(classid, objid, 0) || coalesce(
            (SELECT md5(pg_get_functiondef(objid)) FROM pg_proc p WHERE classid = $$pg_proc$$::regclass AND p.oid = objid AND p.prokind <> $$a$$), $$$$)
          || coalesce(obj_description(objid, classid::regclass::text), $$$$)
          || coalesce((SELECT relacl::text FROM pg_class WHERE classid = $$pg_class$$::regclass AND oid = objid), $$$$)
          || coalesce((SELECT pg_get_viewdef(objid) FROM pg_class WHERE classid = $$pg_class$$::regclass AND oid = objid AND relkind = $$v$$), $$$$)
          FROM pg_depend WHERE refclassid = $$pg_extension$$::regclass AND deptype = $$e$$
           AND refobjid = (SELECT oid FROM pg_extension WHERE extname = $$reframe$$)
          UNION ALL SELECT nspacl::text FROM pg_namespace WHERE nspname = $$reframe$$ ORDER BY 1'
upgraded=$(psql -X -A -t -q -d "$DB" -c "$describe")
createdb reframe_fresh && psql -X -q -d reframe_fresh -c "CREATE EXTENSION reframe" || fail "fresh install"
fresh=$(psql -X -A -t -q -d reframe_fresh -c "$describe")
[ -n "$fresh" ] || fail "nothing described"
if [ "$upgraded" != "$fresh" ]; then
    diff <(echo "$fresh") <(echo "$upgraded")
    fail "the upgraded extension differs from a fresh install (< fresh, > upgraded)"
fi
echo "upgrade: 4 models score identically on 1200 rows; $(echo "$fresh" | wc -l) objects as in a fresh install"
