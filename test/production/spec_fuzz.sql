-- Mutated models: a role with PostgreSQL's default rights forges model
-- tables (a temporary table of reframe.model_row) from trained models of
-- every kind, mutates their spec and blocks at random, and calls every
-- scoring, insight and export function on each.  Every call must end in a
-- result or an ordinary error -- never an internal one -- and the server
-- must survive, which spec_fuzz.sh checks from outside.  :seed makes a run
-- repeatable; :mutations sets its length.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
\o /dev/null

-- one table with every kind of column the encoder knows
CREATE TABLE sf AS
SELECT i,
       sin(i)::float8 AS a,
       CASE WHEN i % 7 = 0 THEN NULL ELSE cos(i * 0.7)::float8 END AS b,
       (ARRAY['x', 'y', 'z'])[1 + i % 3] AS k,
       'u' || (i * 7919 % 500) AS many,
       i % 2 = 0 AS flag,
       timestamp '2024-01-01' + i * interval '5 hours' AS t,
       ARRAY[sin(i * 0.3), cos(i * 0.3)]::float8[] AS v,
       sin(i) + 0.3 * cos(i * 1.7) > 0 AS y,
       (2 * sin(i) + cos(i * 0.7))::float8 AS r,
       CASE WHEN sin(i) > 0.3 THEN 'hi' WHEN sin(i) > -0.3 THEN 'mid' ELSE 'lo' END AS m,
       CASE WHEN sin(i) > 0 THEN 'up' ELSE 'down' END AS l1,
       CASE WHEN sin(i) > 0 THEN 'up/' ELSE 'down/' END || (ARRAY['p', 'q'])[1 + i % 2] AS l2,
       array_remove(ARRAY[CASE WHEN sin(i) > 0 THEN 'pos' END, CASE WHEN i % 3 = 0 THEN 'third' END], NULL) AS tags,
       i / 8 AS q
  FROM generate_series(1, 240) i;

SELECT 1 FROM reframe.train('s_reg', 'SELECT a, b, k, flag, t, v, r FROM sf', 'r', NULL, '{"l2": 0.01}');
SELECT 1 FROM reframe.train('s_bin', 'SELECT a, b, k, many, y FROM sf', 'y', NULL, '{"l2": 0.01, "threshold": "f1"}');
SELECT 1 FROM reframe.train('s_multi', 'SELECT a, b, k, m FROM sf', 'm', NULL, '{"l2": 0.01, "class_weight": "balanced"}');
SELECT 1 FROM reframe.train('s_labels', 'SELECT a, b, tags FROM sf', 'tags', NULL, '{"l2": 0.01}');
SELECT 1 FROM reframe.train('s_hier', 'SELECT a, b, l1, l2 FROM sf', 'l1,l2', 'hierarchical', '{"l2": 0.01}');
SELECT 1 FROM reframe.train('s_bins', 'SELECT a, b, r FROM sf', 'r', NULL, '{"bins": [-1, 0, 1], "l2": 0.01}');
SELECT 1 FROM reframe.train('s_deep', 'SELECT a, b, k, r, y, m FROM sf', 'r,y,m', 'multitask',
                            '{"hidden": [4], "max_iter": 20}');
SELECT 1 FROM reframe.train('s_soft', 'SELECT a, b, r, y FROM sf', 'r,y', 'multitask',
                            '{"hidden": [3], "sharing": "soft", "max_iter": 10}');
SELECT 1 FROM reframe.train('s_trees', 'SELECT a, b, k, flag, t, y FROM sf', 'y', NULL, '{"model": "trees", "rounds": 4}');
SELECT 1 FROM reframe.train('s_tmulti', 'SELECT a, b, k, m FROM sf', 'm', NULL, '{"model": "trees", "rounds": 3}');
SELECT 1 FROM reframe.train('s_treg', 'SELECT a, b, v, r FROM sf', 'r', NULL, '{"model": "trees", "rounds": 3, "max_depth": 3}');
SELECT 1 FROM reframe.train('s_thier', 'SELECT a, b, l1, l2 FROM sf', 'l1,l2', 'hierarchical', '{"model": "trees", "rounds": 2}');
SELECT 1 FROM reframe.train('s_tlabels', 'SELECT a, b, tags FROM sf', 'tags', NULL, '{"model": "trees", "rounds": 2}');
SELECT 1 FROM reframe.create_blend('s_blend', '{"s_reg": 1, "s_bin": 2, "s_multi:hi": -1}');

CREATE TABLE sf_models (name text PRIMARY KEY);
INSERT INTO sf_models SELECT relname FROM pg_class WHERE relname LIKE 's\_%' AND reloftype = 'reframe.model_row'::regtype;

-- the forging role: PostgreSQL's default rights, and SELECT on the data
CREATE ROLE sf_forger;
GRANT SELECT ON sf, sf_models TO sf_forger;
DO $$ DECLARE n text; BEGIN
    FOR n IN SELECT name FROM sf_models LOOP
        EXECUTE format('GRANT SELECT ON %I TO sf_forger', n);
    END LOOP;
END $$;
GRANT CREATE ON SCHEMA public TO sf_forger;

CREATE FUNCTION sf_pick(VARIADIC xs text[]) RETURNS text LANGUAGE sql VOLATILE
    AS $$ SELECT xs[1 + floor(random() * cardinality(xs))::int] $$;

-- every path in a JSON document, containers and leaves
CREATE FUNCTION sf_paths(j jsonb, p text[] DEFAULT '{}') RETURNS SETOF text[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k text;
    i int;
BEGIN
    IF p <> '{}' THEN
        RETURN NEXT p;
    END IF;
    IF jsonb_typeof(j) = 'object' THEN
        FOR k IN SELECT jsonb_object_keys(j) LOOP
            RETURN QUERY SELECT * FROM sf_paths(j -> k, p || k);
        END LOOP;
    ELSIF jsonb_typeof(j) = 'array' THEN
        FOR i IN 0 .. jsonb_array_length(j) - 1 LOOP
            RETURN QUERY SELECT * FROM sf_paths(j -> i, p || i::text);
        END LOOP;
    END IF;
END $$;

CREATE FUNCTION sf_value() RETURNS jsonb LANGUAGE sql VOLATILE AS $$
    SELECT sf_pick('-1', '0', '1', '2', '3', '7', '1.5', '-0.5', '1e300', '-1e300', '1e-320', '2147483647',
                   '2147483648', '-2147483649', '4294967297', '9e18', '"NaN"', '"Infinity"', '"x"', '""',
                   'null', 'true', 'false', '[]', '{}', '[1, 2, 3]', '["a"]', '["a", "a"]', '[-1]', '[0, 0, 0]',
                   '[1e300]', '[[1]]', '{"x": 1}', '"linear"', '"trees"', '"neural"', '"multiclass"',
                   '"binary"', '"regression"', '"multilabel"', '"category"', '"array"', '"time"',
                   '"numeric"', '"boolean"', '"raw"', '"log"', '"cross_entropy"', '"squared"', '"blend"',
                   '"s_reg"', '"s_blend"', '"pg_temp.sf_evil"')::jsonb
$$;

-- One random change to a forged model's spec (the header row).
CREATE FUNCTION sf_mutate_spec() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    spec jsonb;
    paths text[][];
    p text[];
    n int;
    op text;
    target jsonb;
BEGIN
    SELECT s.spec INTO spec FROM sf_evil s WHERE block = '' LIMIT 1;
    IF spec IS NULL THEN
        RETURN 'no header';
    END IF;
    -- the parts that scoring reads, more often than reports
    SELECT array_agg(x) INTO paths FROM (
        SELECT array_to_string(x, chr(31)) AS x FROM sf_paths(spec) x
         WHERE x[1] NOT IN ('metrics', 'training', 'options', 'drift') OR random() < 0.1) s;
    IF paths IS NULL THEN
        RETURN 'empty spec';
    END IF;
    p := string_to_array(paths[1 + floor(random() * array_length(paths, 1))::int], chr(31));
    target := spec #> p;
    op := sf_pick('delete', 'set', 'set', 'set', 'shorten', 'lengthen', 'retype', 'scale');
    IF op = 'delete' THEN
        spec := spec #- p;
    ELSIF op = 'set' THEN
        spec := jsonb_set(spec, p, sf_value());
    ELSIF op = 'shorten' AND jsonb_typeof(target) = 'array' AND jsonb_array_length(target) > 0 THEN
        spec := spec #- (p || '-1'::text);
    ELSIF op = 'lengthen' AND jsonb_typeof(target) = 'array' THEN
        spec := jsonb_insert(spec, p || '-1'::text,
                             CASE WHEN jsonb_array_length(target) > 0 AND random() < 0.6 THEN target -> -1 ELSE sf_value() END, true);
    ELSIF op = 'retype' THEN
        spec := jsonb_set(spec, p, CASE jsonb_typeof(target)
                                       WHEN 'number' THEN to_jsonb(target::text)
                                       WHEN 'string' THEN jsonb_build_array(target)
                                       WHEN 'array' THEN jsonb_build_object('x', target)
                                       ELSE '0'::jsonb END);
    ELSIF op = 'scale' AND jsonb_typeof(target) = 'number' THEN
        spec := jsonb_set(spec, p, to_jsonb((target::text::numeric * sf_pick('-1', '2', '1000', '0', '1e9')::numeric)));
    ELSE
        spec := jsonb_set(spec, p, sf_value());
        op := 'set';
    END IF;
    UPDATE sf_evil SET spec = mutate.spec FROM (SELECT spec) mutate WHERE block = '';
    RETURN op || ' ' || array_to_string(p, '.');
END $$;

-- One random change to a forged model's blocks.
CREATE FUNCTION sf_mutate_block() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    b text;
    pt int;
    n int;
    op text := sf_pick('delete', 'shorten', 'lengthen', 'value', 'value', 'value', 'shape', 'shape', 'part',
                       'duplicate', 'rename', 'null', 'matrix', 'empty', 'header', 'version');
BEGIN
    SELECT block, part, cardinality(data) INTO b, pt, n FROM sf_evil WHERE block <> '' ORDER BY random() LIMIT 1;
    IF b IS NULL THEN
        RETURN 'no blocks';
    END IF;
    CASE op
        WHEN 'delete' THEN
            DELETE FROM sf_evil WHERE block = b AND part = pt;
        WHEN 'shorten' THEN
            UPDATE sf_evil SET data = data[1:greatest(n - 1 - floor(random() * 3)::int, 0)] WHERE block = b AND part = pt;
        WHEN 'lengthen' THEN
            UPDATE sf_evil SET data = data || ARRAY[1.0, 2.0, -3.0]::float8[] WHERE block = b AND part = pt AND array_ndims(data) = 1;
        WHEN 'value' THEN
            UPDATE sf_evil SET data[1 + floor(random() * greatest(n, 1))::int] =
                       sf_pick('NaN', 'Infinity', '-Infinity', '1e308', '-1e308', '-1', '-2', '0', '1e9',
                               '2147483648', '-2147483649', '0.5', '99', '1e-320')::float8
             WHERE block = b AND part = pt AND array_ndims(data) = 1;
        WHEN 'shape' THEN
            UPDATE sf_evil SET shape = sf_pick('{}', '{1}', '{0}', '{-1}', '{2147483647,2}', '{3,3,3}',
                                               ARRAY[shape[2], shape[1]]::text,
                                               ARRAY[least(coalesce(shape[1], 1), 2147483646) + 1, shape[2]]::text,
                                               ARRAY[shape[1], least(coalesce(shape[2], 0), 2147483646) + 1]::text)::int[]
             WHERE block = b;
        WHEN 'part' THEN
            UPDATE sf_evil SET part = part + sf_pick('1', '2', '-1', '100')::int WHERE block = b AND part = pt;
        WHEN 'duplicate' THEN
            INSERT INTO sf_evil SELECT version, block, part + 1, shape, data, spec, created, deployed
              FROM sf_evil WHERE block = b AND part = pt ON CONFLICT DO NOTHING;
        WHEN 'rename' THEN
            UPDATE sf_evil SET block = sf_pick('encoder.shift', 'encoder.scale', 'trees.index', 'trees.nodes',
                                               'head.r.weight', 'head.y.bias', 'layer.0.weight', 'x', b || 'x')
             WHERE block = b AND NOT EXISTS (SELECT 1 FROM sf_evil e2 WHERE e2.block IN ('encoder.shift', 'encoder.scale',
                       'trees.index', 'trees.nodes', 'head.r.weight', 'head.y.bias', 'layer.0.weight', 'x', b || 'x'));
        WHEN 'null' THEN
            UPDATE sf_evil SET data = NULL WHERE block = b AND part = pt;
        WHEN 'matrix' THEN
            UPDATE sf_evil SET data = '{{1,2},{3,4}}' WHERE block = b AND part = pt;
        WHEN 'empty' THEN
            UPDATE sf_evil SET data = '{}' WHERE block = b AND part = pt;
        WHEN 'header' THEN
            UPDATE sf_evil SET deployed = sf_pick('true', 'false', NULL)::bool, spec = CASE WHEN random() < 0.3 THEN NULL ELSE spec END
             WHERE block = '';
        WHEN 'version' THEN
            UPDATE sf_evil SET version = version + 1 WHERE block = b AND part = pt;
    END CASE;
    RETURN op || ' ' || b || '[' || pt || ']';
EXCEPTION WHEN unique_violation THEN
    RETURN op || ' ' || b || '[' || pt || '] (taken)';
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO sf_forger;

CREATE TABLE sf_result (model text, mutation text, fn text, sqlstate text, message text);
GRANT INSERT, SELECT ON sf_result TO sf_forger;

SET ROLE sf_forger;
SELECT setseed(:seed);
CREATE TEMP TABLE sf_evil OF reframe.model_row (PRIMARY KEY (version, block, part));

DO $$
DECLARE
    base text;
    mutation text;
    call text;
    calls text[] := ARRAY[
        'SELECT reframe.score(%1$L, s) FROM sf s WHERE i %% 17 = 3',
        'SELECT reframe.score(%1$L, ARRAY[0.5, -1, 2]::float8[]) FROM sf s WHERE i = 9',
        'SELECT reframe.score(%1$L, s, ''hi'') FROM sf s WHERE i = 11',
        'SELECT reframe.predict(%1$L, s) FROM sf s WHERE i %% 17 = 3',
        'SELECT reframe.predict(%1$L, s, ''l1'') FROM sf s WHERE i = 5',
        'SELECT reframe.predict_proba(%1$L, s) FROM sf s WHERE i %% 31 = 3',
        'SELECT reframe.predict_labels(%1$L, s) FROM sf s WHERE i %% 31 = 3',
        'SELECT reframe.predict_labels(%1$L, s, NULL, 2, true) FROM sf s WHERE i = 8',
        'SELECT reframe.predict_all(%1$L, s) FROM sf s WHERE i %% 31 = 3',
        'SELECT reframe.classes(%1$L)',
        'SELECT reframe.explain(%1$L, s) FROM sf s WHERE i = 13',
        'SELECT count(*) FROM reframe.importance(%1$L)',
        'SELECT count(*) FROM reframe.weights(%1$L)',
        'SELECT count(*) FROM reframe.loss_history(%1$L)',
        'SELECT length(reframe.export(%1$L))',
        'SELECT reframe.evaluate(%1$L, ''SELECT * FROM sf WHERE i %% 3 = 0'')',
        'SELECT count(*) FROM reframe.models'];
    -- slower ones, after a tenth of the mutations
    occasional text[] := ARRAY[
        'SELECT length(reframe.report(%1$L, ''SELECT * FROM sf WHERE i <= 60''))',
        'SELECT count(*) FROM reframe.explain_all(%1$L, ''SELECT * FROM sf WHERE i <= 20'')',
        'SELECT reframe.set_threshold(%1$L, 0.4)',
        'SELECT reframe.deploy(%1$L, 1)'];
    st text;
    msg text;
BEGIN
    FOR n IN 1 .. current_setting('sf.mutations')::int LOOP
        SELECT name INTO base FROM sf_models ORDER BY random() LIMIT 1;
        TRUNCATE sf_evil;
        EXECUTE format('INSERT INTO sf_evil SELECT * FROM %I WHERE version = 1', base);
        mutation := '';
        FOR k IN 1 .. 1 + floor(random() * 3)::int LOOP
            mutation := mutation || CASE WHEN random() < 0.6 THEN sf_mutate_spec() ELSE sf_mutate_block() END || '; ';
        END LOOP;
        FOREACH call IN ARRAY calls || CASE WHEN random() < 0.1 THEN occasional ELSE '{}' END LOOP
            RAISE LOG 'spec fuzz %: % with %-> %', n, base, mutation, call;
            BEGIN
                EXECUTE format(call, 'pg_temp.sf_evil');
                INSERT INTO sf_result VALUES (base, mutation, call, '00000', NULL);
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
                INSERT INTO sf_result VALUES (base, mutation, call, st, msg);
            END;
        END LOOP;
    END LOOP;
END $$;
RESET ROLE;

\o
-- what the mutations did: how many calls scored, how many failed, and how
SELECT count(DISTINCT mutation) AS mutations, count(*) AS calls, count(*) FILTER (WHERE sqlstate = '00000') AS ok,
       count(*) FILTER (WHERE sqlstate = 'XX001') AS corrupt
  FROM sf_result;
-- anything but an ordinary error; spec_fuzz.sh fails on a line here
SELECT 'INTERNAL ' || sqlstate || ': ' || message || ' <- ' || model || ': ' || mutation || ' -> ' || left(fn, 60)
  FROM sf_result WHERE sqlstate LIKE 'XX%' AND sqlstate <> 'XX001' OR sqlstate LIKE '58%'
 LIMIT 30;
