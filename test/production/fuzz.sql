-- Thousands of malformed calls at every public function.  Each call runs in
-- its own subtransaction; a failure must be an ordinary error, never an
-- internal one (SQLSTATE class XX, as elog(ERROR) gives) -- and the server
-- must survive, which fuzz.sh checks from outside.  :seed makes a run
-- repeatable.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
\o /dev/null
SELECT setseed(:seed), set_config('fuzz.calls', :'calls', false);

CREATE TABLE fz AS
SELECT i, sin(i)::float8 AS a, cos(i * 0.7)::float8 AS b, (ARRAY['x', 'y', 'z'])[1 + i % 3] AS k,
       sin(i) > 0 AS y, (2 * sin(i) + cos(i * 0.7))::float8 AS r,
       CASE WHEN sin(i) > 0.3 THEN 'hi' WHEN sin(i) > -0.3 THEN 'mid' ELSE 'lo' END AS m,
       CASE WHEN sin(i) > 0 THEN 'up' ELSE 'down' END AS l1,
       CASE WHEN sin(i) > 0 THEN 'up/' ELSE 'down/' END || (ARRAY['p', 'q'])[1 + i % 2] AS l2,
       array_remove(ARRAY[CASE WHEN sin(i) > 0 THEN 'pos' END, CASE WHEN i % 3 = 0 THEN 'third' END], NULL) AS tags,
       i / 5 AS q
  FROM generate_series(1, 60) i;
-- the same column names with other types
CREATE TABLE fz_types AS SELECT 'text'::text AS a, true AS b, 42 AS k, 'no'::text AS y, ARRAY[1] AS r FROM generate_series(1, 3);
SELECT 1 FROM reframe.train('f_reg', 'SELECT a, b, k, r FROM fz', 'r');
SELECT 1 FROM reframe.train('f_bin', 'SELECT a, b, k, y FROM fz', 'y');
SELECT 1 FROM reframe.train('f_multi', 'SELECT a, b, m FROM fz', 'm');
SELECT 1 FROM reframe.train('f_labels', 'SELECT a, b, tags FROM fz', 'tags');
SELECT 1 FROM reframe.train('f_hier', 'SELECT a, b, l1, l2 FROM fz', 'l1,l2', 'hierarchical');
SELECT 1 FROM reframe.train('f_deep', 'SELECT a, b, k, r, y, tags FROM fz', 'r,y,tags', NULL, '{"hidden": [4], "epochs": 3}');
SELECT 1 FROM reframe.train('f_bins', 'SELECT a, b, r FROM fz', 'r', NULL, '{"bins": [0]}');
SELECT 1 FROM reframe.train('f_trees', 'SELECT a, b, k, y FROM fz', 'y', NULL, '{"model": "trees", "rounds": 5}');
SELECT 1 FROM reframe.train('f_htrees', 'SELECT a, b, l1, l2 FROM fz', 'l1,l2', 'hierarchical', '{"model": "trees", "rounds": 3}');
SELECT 1 FROM reframe.create_blend('f_blend', '{"f_reg": 1, "f_bin": 2}');

CREATE TABLE fuzz_result (fn text, sqlstate text, message text, call text);

CREATE FUNCTION pick(VARIADIC xs text[]) RETURNS text LANGUAGE sql VOLATILE
    AS $$ SELECT xs[1 + floor(random() * cardinality(xs))::int] $$;

-- a float array literal: random length, NaN, infinities, NULLs, odd shapes
CREATE FUNCTION fuzz_array() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n int := (ARRAY[0, 1, 2, 3, 3, 3, 4, 5, 7, 100, 5000])[1 + floor(random() * 11)::int];
    el text[] := '{}';
BEGIN
    IF random() < 0.05 THEN
        RETURN pick('NULL', '''{{1,2},{3,4}}''', '''[5:7]={1,2,3}''', '''{}''', '''{{}}''',
                    '''{1,2,3}''::int[]::float8[]', 'ARRAY[NULL]::float8[]');
    END IF;
    FOR i IN 1..n LOOP
        el := el || pick('0', '1', '-1.5', '1e308', '-1e308', '1e-320', 'NaN', 'Infinity', '-Infinity', 'NULL',
                         (random() * 10 - 5)::text, (random() * 10 - 5)::text, (random() * 10 - 5)::text);
    END LOOP;
    RETURN format('''{%s}''', array_to_string(el, ','));
END $$;

CREATE FUNCTION fuzz_name() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT pick('f_trees', 'f_htrees', 'f_trees', 'f_htrees', 'f_reg', 'f_bin', 'f_multi', 'f_labels', 'f_hier', 'f_deep', 'f_bins', 'f_blend', 'f_reg',
                'f_bin', 'f_deep', 'f_reg', 'f_bin', 'f_multi', 'f_labels', 'f_hier', 'f_deep', 'f_bins',
                'f_multi', 'f_labels', 'f_hier', 'f_deep', 'f_bins', 'f_deep', '', 'no_such', 'fz', 'fz_types', 'pg_catalog.pg_class', 'a"b', '"',
                'x''; DROP TABLE fz; --', repeat('n', 300), 'a.b.c.d', 'public.', '.f_reg', 'public.f_reg',
                ' f_reg', 'F_REG', '"f_reg"', E'f_reg\n', 'reframe.models', 'f_reg@1', 'f_reg@0',
                'f_reg@99999999999', '"f_reg"@1', 'f_reg@', NULL)
$$;

CREATE FUNCTION fuzz_text() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT pick('r', 'y', 'm', 'tags', 'l2', 'x', 'hi', 'pos', 'true', 'false', '', 'up/p', 'no_such',
                'a"b', '; DROP TABLE fz', repeat('o', 500), NULL, NULL)
$$;

CREATE FUNCTION fuzz_options() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    key text := pick('l2', 'max_iter', 'tol', 'validation', 'seed', 'hidden', 'epochs', 'batch_size',
                     'learning_rate', 'patience', 'bins', 'threshold', 'class_weight', 'task_weights', 'tasks',
                     'group', 'features', 'exclude', 'loss', 'huber_delta', 'sharing', 'sharing_strength',
                     'deploy', 'verbose', 'max_categories', 'nonsense', '', 'L2', 'model', 'rounds', 'max_depth',
                     'min_child_weight', 'subsample', 'colsample', 'max_bins', 'objective',
                     'weight', 'classes', 'search', 'trials', 'time_budget', 'split_by', 'split_seed',
                     'streaming', 'sample', 'split', 'warm_start', 'warm_start');
    val text := pick('0', '-1', '1', '2', '0.5', '1e308', '-1e308', '1e-320', '2147483648', '99999999999',
                     '"x"', '""', 'null', 'true', '[]', '[0]', '[-3]', '[1, 0]', '[1e9]', '[2147483647, 2]',
                     '["a"]', '{}', '{"r": -1}', '{"x": 1}', '{"quantiles": 0}', '{"quantiles": 100000}',
                     '"balanced"', '"f1"', '"soft"', '"r"', '["a", "b", "k"]', '[[1]]', '{"y": "binary"}',
                     '"huber"', '"always"', '"if_better"', '"trees"', '"neural"', '"ndcg"', '16', '10000',
                     '"w"', '"a"', '["p", "q", "r"]', '["p", "p"]', '{"l2": [0.1, 1]}', '{"max_depth": {"min": 1, "max": 3}}',
                     '{"l2": {"min": -1, "max": 1, "log": true}}', '{"l2": []}', '{"model": ["x"]}', '0.0001', '"auto"',
                     '"time"', '"random"');
BEGIN
    IF random() < 0.08 THEN
        RETURN pick('''[]''', '''1''', '''"x"''', '''null''', 'NULL', '''{"a": {"b": {"c": [1, [2, [3]]]}}}''',
                    quote_literal(repeat('[', 3000) || repeat(']', 3000)),
                    quote_literal('{"hidden": ' || repeat('[', 200) || '1' || repeat(']', 200) || '}'));
    END IF;
    RETURN quote_literal(format('{"%s": %s}', key, val));
END $$;

CREATE FUNCTION gen_random_bytes_fz(n int) RETURNS bytea LANGUAGE sql VOLATILE AS $$
    SELECT string_agg(set_byte('\x00'::bytea, 0, floor(random() * 256)::int), ''::bytea) FROM generate_series(1, n)
$$;

CREATE FUNCTION fuzz_bytea() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT pick('NULL', '''\x''::bytea', '''\x00''::bytea', '''\xffffffffffffffff''::bytea',
                quote_literal(encode(gen_random_bytes_fz((1 + floor(random() * 64))::int), 'hex')) || '::bytea',
                '(SELECT reframe.auc_accum(NULL, 0.5, true))',
                'decode(''0100000000000000ffffffff'', ''hex'')',
                -- roc_auc/ndcg headers: magic, param, count, capacity, then pairs; sizes that wrap
                format('decode(''32414652%s%s%s%s'', ''hex'')', pick('0000000000000000', 'ffffffffffffffff', '0500000000000000'),
                       pick('0000000000000010', '0100000000000000', 'ffffffffffffffff', '0200000000000000'),
                       pick('0100000000000010', '0100000000000000', '0200000000000000', 'ffffffffffffff0f'),
                       repeat(pick('00', '7f', 'ff'), pick('0', '16', '32', '15')::int)),
                quote_literal('\x' || repeat('7f', 16 * (1 + floor(random() * 8))::int)) || '::bytea')
$$;


CREATE FUNCTION fuzz_call() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    fn text := pick('score', 'predict', 'predict_proba', 'predict_labels', 'predict_all', 'classes',
                    'score', 'predict_all', 'train', 'train', 'evaluate', 'deploy', 'weights', 'set_threshold',
                    'create_blend', 'drop_model', 'model_table', 'sgemm', 'state', 'state', 'aggregate', 'export',
                    'explain', 'explain', 'importance', 'curve', 'curve', 'cross_validate', 'split_fraction', 'loss_history',
                    'report', 'explain_all', 'trials', 'deploy', 'drift', 'retrain', 'sample_keep',
                    'evaluate_row', 'evaluation');
    features text;
BEGIN
    features := CASE floor(random() * 4)::int
        WHEN 0 THEN fuzz_array() || '::float8[]'
        WHEN 1 THEN fuzz_array() || '::real[]'
        WHEN 2 THEN pick('f', '(SELECT t FROM fz_types t LIMIT 1)', 'ROW(1, ''x'')', 'ROW()', 'NULL::record',
                         '(SELECT x FROM (SELECT a, b FROM fz LIMIT 1) x)', '(SELECT x FROM (SELECT b, a, b AS c FROM fz LIMIT 1) x)',
                         '(SELECT x FROM (SELECT NULL::float8 AS a, ''NaN''::float8 AS b, NULL AS k FROM fz LIMIT 1) x)')
        ELSE 'f' END;
    CASE fn
        WHEN 'score', 'predict', 'predict_proba', 'predict_all' THEN
            RETURN format('SELECT reframe.%s(%L, %s%s) FROM fz f WHERE i = %s', fn, fuzz_name(), features,
                          CASE WHEN fn = 'predict_all' THEN '' ELSE format(', %L', fuzz_text()) END, 1 + floor(random() * 60));
        WHEN 'predict_labels' THEN
            RETURN format('SELECT reframe.predict_labels(%L, %s, %s, %s, %s, %L) FROM fz f WHERE i = 7', fuzz_name(), features,
                          pick('NULL', '0', '1', '-1', '2', '''NaN''', '''Infinity''', '0.5'),
                          pick('NULL', '0', '-1', '1', '3', '2147483647'), pick('true', 'false', 'NULL'), fuzz_text());
        WHEN 'classes' THEN
            RETURN format('SELECT reframe.classes(%L, %L)', fuzz_name(), fuzz_text());
        WHEN 'train' THEN
            RETURN format('SELECT * FROM reframe.train(%L, %L, %L, %L, %s)',
                          pick('t_new', 't_new', 'f_reg', 'f_bin', 'f_deep', 'fz', '', 'a"b', 'x''; DROP TABLE fz; --', NULL, 'no_schema.t'),
                          pick('fz', 'SELECT a, b, r, y FROM fz', 'SELECT a, b, tags, m FROM fz', 'fz_types', 'no_such',
                               'SELECT 1; DROP TABLE fz', 'SELECT', 'VALUES (1, 2)', 'SELECT a, b, r FROM fz WHERE false',
                               'SELECT ''NaN''::float8 AS a, r FROM fz', 'SELECT a, ''Infinity''::float8 AS r FROM fz',
                               'SELECT a, NULL::float8 AS r FROM fz', 'SELECT a, b, y FROM fz WHERE y',
                               'SELECT a, ARRAY[a, b] AS v, r FROM fz', 'SELECT i AS a, r FROM fz', 'WITH d AS (DELETE FROM fz RETURNING *) SELECT * FROM d',
                               'SELECT a, b, r, y, abs(b) AS w FROM fz', 'SELECT a, b, r, y, b AS w FROM fz', 'SELECT a, b, r, NULL::float8 AS w FROM fz',
                               'SELECT a, b, ARRAY[abs(a), 1 - abs(a)] AS r FROM fz', 'SELECT a, b, ARRAY[a, b, NULL] AS r FROM fz',
                               'SELECT a, b, ARRAY[]::float8[] AS r FROM fz', 'SELECT a, b, abs(a) AS y FROM fz', 'SELECT a, b, a * 3 AS y FROM fz',
                               NULL),
                          pick('r', 'y', 'm', 'tags', 'r,y', 'y,y', 'a', 'k', 'l1,l2', 'no_such', '', ',', 'r,', '"r"', 'r,tags,m', NULL),
                          pick(NULL, NULL, 'regression', 'binary', 'multiclass', 'multilabel', 'hierarchical', 'multitask', 'nope', ''),
                          pick('''{}''', '''{"validation": 0}''', '''{"hidden": [3], "epochs": 2}''', fuzz_options(), fuzz_options(),
                               '''{"model": "trees", "rounds": 3}''', '''{"model": "trees", "rounds": 2, "max_depth": 16}''',
                               '''{"model": "trees", "rounds": 2, "objective": "ndcg", "group": "i"}''',
                               '''{"weight": "w", "validation": 0}''', '''{"classes": ["p", "q"], "validation": 0}''',
                               '''{"classes": ["p", "q"], "model": "trees", "rounds": 2}''', '''{"weight": "w", "model": "trees", "rounds": 2}''',
                               '''{"search": {"l2": [0.1, 1]}, "trials": 1}''', '''{"model": "auto", "trials": 1, "time_budget": 0.001}'''));
        WHEN 'evaluate' THEN
            RETURN format('SELECT reframe.evaluate(%L, %L, %s)', fuzz_name(),
                          pick('fz', 'fz_types', 'SELECT a, b FROM fz', 'SELECT * FROM fz WHERE false', 'SELECT 1; SELECT 2', 'no_such', NULL),
                          pick('''{}''', fuzz_options(), 'NULL', '''{"group": "q"}''', '''{"k": [0]}''', '''{"weight": "a"}''',
                               '''{"weight": "k"}''', '''{"weight": 1}'''));
        WHEN 'deploy' THEN
            RETURN format('SELECT reframe.deploy(%L, %s)', fuzz_name(), pick('NULL', '0', '-1', '1', '2', '2147483647', '-2147483648'));
        WHEN 'trials' THEN
            RETURN format('SELECT count(*) FROM reframe.trials(%L, %s)', fuzz_name(), pick('NULL', '0', '-1', '1', '99'));
        WHEN 'weights' THEN
            RETURN format('SELECT count(*) FROM reframe.weights(%L, %s)', fuzz_name(), pick('NULL', '0', '-1', '1', '99'));
        WHEN 'set_threshold' THEN
            RETURN format('SELECT reframe.set_threshold(%L, %s, %L)', fuzz_name(),
                          pick('NULL', '0', '1', '0.5', '-1', '2', '''NaN''', '''Infinity''', '''-Infinity'''), fuzz_text());
        WHEN 'create_blend' THEN
            RETURN format('SELECT reframe.create_blend(%L, %s)', pick('b_new', 'f_blend', 'f_reg', 'fz', '', NULL, 'a"b'),
                          pick('''{}''', '''[]''', 'NULL', '''{"f_reg": "x"}''', '''{"f_reg": 1e308, "f_bin": -1e308}''',
                               '''{"no_such": 1}''', '''{"f_blend": 1}''', '''{"f_multi": 1}''', '''{"f_reg": NaN}''',
                               '''{"fz": 1}''', '''{"f_reg": 1, "f_reg": 2}''', fuzz_options()));
        WHEN 'drop_model' THEN
            RETURN format('SELECT reframe.drop_model(%L)', pick('fz', 'fz_types', 'no_such', '', NULL, 'pg_catalog.pg_class', 'reframe.models', 'a"b'));
        WHEN 'explain' THEN
            RETURN format('SELECT reframe.explain(%L, %s, %L) FROM fz f WHERE i = %s', fuzz_name(), features, fuzz_text(),
                          1 + floor(random() * 60));
        WHEN 'explain_all' THEN
            RETURN format('SELECT count(*) FROM reframe.explain_all(%L, %L, %L)', fuzz_name(),
                          pick('SELECT * FROM fz WHERE i < 20', 'fz_types', 'no_such', '', NULL, 'SELECT 1'), fuzz_text());
        WHEN 'importance' THEN
            RETURN format('SELECT count(*) FROM reframe.importance(%L, %s)', fuzz_name(), pick('NULL', '0', '-1', '1', '99'));
        WHEN 'curve' THEN
            RETURN format('SELECT reframe.%s(%s, %s) FROM (VALUES (0.5::float8, true), (%s, false), (NULL, NULL)) v(a, b)',
                          pick('roc_curve', 'pr_curve', 'calibration', 'lift'), pick('a', '''NaN''::float8', '-a', 'a * 3', '''Infinity''::float8'),
                          pick('b', 'NOT b', 'true', 'NULL::bool'), pick('0.1', '''NaN''', '-1', '2', '1e308', 'NULL'));
        WHEN 'cross_validate' THEN
            RETURN format('SELECT reframe.cross_validate(%L, %L, %L, %s, %s)',
                          pick('SELECT a, b, r FROM fz', 'SELECT a, b, y FROM fz', 'fz', 'no_such', '', NULL, 'SELECT a, r FROM fz WHERE i < 3'),
                          pick('r', 'y', 'm', 'nope', '', NULL), pick(NULL, 'regression', 'binary', 'bogus'),
                          pick('''{}''', '''{"l2": "auto"}''', '''{"model": "trees", "rounds": 2}''', '''{"validation": 0.3}''', fuzz_options()),
                          pick('2', '3', '0', '-1', '101', 'NULL', '2147483647'));
        WHEN 'split_fraction' THEN
            RETURN format('SELECT reframe.split_fraction(%L, %s)', fuzz_text(), pick('0', '-1', '9223372036854775807', 'NULL'));
        WHEN 'loss_history' THEN
            RETURN format('SELECT count(*) FROM reframe.loss_history(%L, %s)', fuzz_name(), pick('NULL', '0', '1', '99'));
        WHEN 'report' THEN
            RETURN format('SELECT length(reframe.report(%L, %L))', fuzz_name(),
                          pick(NULL, 'fz', 'SELECT * FROM fz WHERE i < 30', 'no_such', '', 'SELECT 1'));
        WHEN 'drift' THEN
            RETURN format('SELECT count(*) FROM reframe.drift(%L, %L, %s)', fuzz_name(),
                          pick('fz', 'SELECT * FROM fz WHERE i < 30', 'SELECT a FROM fz', 'fz_types', 'no_such', '', NULL, 'SELECT 1'),
                          pick('NULL', '0', '1', '2', '-1', '2147483647'));
        WHEN 'retrain' THEN
            RETURN format('SELECT reframe.retrain(%L, %L, %s)', fuzz_name(),
                          pick(NULL, NULL, 'fz', 'SELECT a, b, r FROM fz', 'no_such', ''),
                          pick('''{}''', '''{"if": {"drift": 0.2}}''', '''{"if": {"new_rows": 1}}''', '''{"if": {"drift": -1}}''',
                               '''{"if": []}''', '''{"if": {"x": 1}}''', '''{"if": {"drift": "a"}}''', 'NULL', '''[]''', fuzz_options()));
        WHEN 'sample_keep' THEN
            RETURN format('SELECT reframe.sample_keep(%2$L, s) FROM (SELECT %1$s FROM fz_types) s',
                          pick('*', 'a', 'b, a', '1 AS one, NULL::text AS n'),
                          pick('1 0 0 0.5 -1 -1 1 0 1 0 0 0 0', '1 0 0 0.5 -1 -1 2 0 1 1 1 0 0 0', '1 0 0 2 -1 -1 1 0 1 0 0 0 0',
                               '1 0 0 0.5 99 -1 1 0 1 0 0 0 0', '1 0 0 0.5 -1 -1 1 0 1 0 4 100000 1', '2', '', '1 9223372036854775807',
                               '1 0 0 0.5 -1 -1 1 -5 1 0 0 0 0', '1 0 0 NaN -1 -1 1 0 1 0 0 0 0', fuzz_text()));
        WHEN 'evaluate_row' THEN
            RETURN format('SELECT reframe.evaluate_row(%2$L::jsonb, s) FROM (SELECT %1$s FROM fz) s',
                          pick('*', 'a, b, k, y', 'y, k, b, a', 'a, b, m', '1 AS one, NULL::text AS n', 'b, b, b, b, b'),
                          format('{"model": %s, "features": %s, "targets": %s, "weight": %s%s}',
                                 to_json(coalesce(fuzz_name(), 'f_bin')), pick('[0, 1, 2]', '[0, 1]', '[]', '[-1, 0, 1]', '[0, 0, 0]', '[99, 1, 2]', '"x"'),
                                 pick('[3]', '[2]', '[[3]]', '[-1]', '[3, 4]', '[]', '[[0, 1, 2, 3]]', '[null]'),
                                 pick('-1', '-1', '0', '3', '99', '-2', '1.5', 'null'), pick('', '', ', "weight_name": "w"', ', "weight_name": 1')));
        WHEN 'evaluation' THEN
            RETURN format('SELECT length(reframe.evaluation(%L::bytea, c)) FROM (VALUES (%s::float8[]), (%s::float8[])) v(c)',
                          pick('\x564546520100000000000000000000000000000002000000030000000000000000000000000000000000e03f',
                               '\x564546520100000000000000000000000000000001000000010000000000000000000000000000000000e03f',
                               '\x564546520100000000000000000000000000000000000000010000000000000000000000000000000000f07f',
                               '\x564546520100000003000000000000000000000002000000030000000000000006000000000000000000e03f',
                               '\x56454652', '\x', '\x564546520200000000000000000000000000000002000000030000000000000000000000000000000000e03f'),
                          pick('ARRAY[1, 1, 1, 0.2, 0.3, 0.5]', 'ARRAY[1, 1, 2, 0.2, 0.3, 0.5]', 'ARRAY[1, 1, 0.5, 0.9, 2]', 'ARRAY[1, 1, 0.5, ''NaN'', 2]',
                               'ARRAY[0, 0]', 'ARRAY[-1, 0, 0, 0, 0, 0]', 'ARRAY[1, -1, 1, 0.2, 0.3, 0.5]', 'ARRAY[1, 1, ''NaN'', 0.2, 0.3, 0.5]',
                               'ARRAY[1, ''Infinity'', 1, 0.2, 0.3, 0.5]', 'ARRAY[1, 1, 5, 0.2, 0.3, 0.5]', 'ARRAY[]::float8[]', 'NULL', 'ARRAY[ARRAY[1, 2], ARRAY[3, 4]]'),
                          pick('ARRAY[1, 1, 1, 0.2, 0.3, 0.5]', 'ARRAY[1, 1, 0, 0.4]', 'ARRAY[2, 1, 1, 0.2, 0.3, 0.5]', 'NULL'));
        WHEN 'export' THEN
            RETURN format('SELECT length(reframe.export(%L, %L))', fuzz_name(), pick('xgboost', 'xgboost', 'onnx', '', NULL));
        WHEN 'model_table' THEN
            RETURN format('SELECT reframe.model_table(%L)', fuzz_name());
        WHEN 'sgemm' THEN
            RETURN format('SELECT reframe.blas_sgemm_gflops(%s)', pick('NULL', '0', '-1', '1', '2', '2147483647', '100000', '-2147483648'));
        WHEN 'state' THEN
            RETURN pick(format('SELECT reframe.auc_final(%s)', fuzz_bytea()),
                        format('SELECT reframe.auc_combine(%s, %s)', fuzz_bytea(), fuzz_bytea()),
                        format('SELECT reframe.auc_accum(%s, %s, %s)', fuzz_bytea(), pick('0.5', '''NaN''', 'NULL', '''Infinity'''), pick('true', 'NULL')),
                        format('SELECT reframe.ndcg_final(%s)', fuzz_bytea()),
                        format('SELECT reframe.ndcg_accum(%s, 0.5, 1, %s)', fuzz_bytea(), pick('0', '-1', '1', '2147483647', 'NULL')),
                        format('SELECT reframe.sum_combine(%s::float8[], %s::float8[])', fuzz_array(), fuzz_array()),
                        format('SELECT reframe.counts_combine(%s::float8[], %s::float8[])', fuzz_array(), fuzz_array()),
                        format('SELECT reframe.bin_counts_accum(%s::float8[], %s, %s::float8[])', fuzz_array(),
                               pick('0.5', 'NULL', '''NaN''', '''-Infinity'''), fuzz_array()),
                        format('SELECT reframe.category_counts_accum(%s::float8[], %s, %s)', fuzz_array(), pick('''a''', 'NULL', ''''''),
                               pick('''{a,b}''::text[]', '''{}''::text[]', 'NULL::text[]', '''{a,NULL}''::text[]', '''{{a}}''::text[]')),
                        format('SELECT reframe.bin_counts(a, %s::float8[]) FROM fz', fuzz_array()),
                        format('SELECT reframe.rmse_final(%s::float8[])', fuzz_array()),
                        format('SELECT reframe.mean_final(%s::float8[])', fuzz_array()),
                        format('SELECT reframe.r2_final(%s::float8[])', fuzz_array()),
                        format('SELECT reframe.r2_combine(%s::float8[], %s::float8[])', fuzz_array(), fuzz_array()),
                        format('SELECT reframe.r2_accum(%s::float8[], 1, 2)', fuzz_array()),
                        format('SELECT reframe.sq_err_accum(%s::float8[], 1, 2)', fuzz_array()),
                        format('SELECT reframe.log_loss_accum(%s::float8[], %s, true)', fuzz_array(), pick('0.5', '0', '1', '2', '-1', '''NaN''')),
                        format('SELECT reframe.cross_entropy_accum(%s::float8[], %s::float8[], %s)', fuzz_array(), fuzz_array(),
                               pick('0', '1', '-1', '2147483647', 'NULL')),
                        format('SELECT reframe.accuracy_accum(%s::float8[], 1, 2)', fuzz_array()),
                        format('SELECT reframe.moments_combine(%s, %s)', fuzz_bytea(), fuzz_bytea()),
                        format('SELECT reframe.gradient_combine(%s, %s)', fuzz_bytea(), fuzz_bytea()),
                        format('SELECT reframe.gradient(%s, %s::float8[], %s, %s, %s) FROM fz', fuzz_bytea(), fuzz_array(),
                               pick('ARRAY[a]', 'NULL', 'ARRAY[''NaN''::float8]', 'ARRAY[a, a]', 'ARRAY[3.0]', 'ARRAY[NULL::float8]'),
                               pick('NULL::text[]', '''{x}''::text[]', '''{x,NULL,y}''::text[]', '''{{x}}''::text[]'), pick('1', 'NULL', '-1')),
                        format('SELECT reframe.moments_accum(%s, %s, %s::float8[], ARRAY[1.0], NULL, 1)', fuzz_bytea(), fuzz_bytea(), fuzz_array()),
                        format('SELECT reframe.moments(%s, %s::float8[], %s, %s, %s) FROM fz', fuzz_bytea(), fuzz_array(),
                               pick('ARRAY[a]', 'NULL', 'ARRAY[''NaN''::float8]', 'ARRAY[2.0]'),
                               pick('NULL::text[]', '''{x}''::text[]', '''{{x,y}}''::text[]'), pick('1', 'NULL', '-1')));
        ELSE
            RETURN pick(format('SELECT reframe.cross_entropy(%s::float8[], %s) FROM fz', fuzz_array(), pick('0', '1', '-1', '5', 'NULL', 'i')),
                        format('SELECT reframe.roc_auc(%s, y) FROM fz', pick('a', '''NaN''::float8', 'NULL::float8', '''Infinity''::float8')),
                        format('SELECT reframe.ndcg(a, %s, %s) FROM fz', pick('r', '-r', '''NaN''::float8', 'NULL::float8', '1e308::float8'),
                               pick('0', '-1', '1', '10', '2147483647', 'NULL')),
                        format('SELECT reframe.log_loss(%s, y) FROM fz', pick('a', '0::float8', '1::float8', '''NaN''::float8')),
                        format('SELECT reframe.r2(%s, r) FROM fz WHERE i < %s', pick('a', 'r', '''Infinity''::float8'), pick('0', '2', '61')),
                        format('SELECT reframe.accuracy(%s, y) FROM fz', pick('y', 'NULL::bool', 'a > 0')),
                        format(pick('SELECT reframe.rmse(a, r, %s) FROM fz', 'SELECT reframe.mae(a, r, %s) FROM fz',
                                    'SELECT reframe.log_loss(abs(a), y, %s) FROM fz', 'SELECT reframe.log_loss(abs(a), abs(b), %s) FROM fz',
                                    'SELECT reframe.accuracy(k, k, %s) FROM fz', 'SELECT reframe.cross_entropy(ARRAY[0.5, 0.5], 1, %s) FROM fz'),
                               pick('1', '0', '-1', '''NaN''', '''Infinity''', 'NULL', 'a', 'b')),
                        format('SELECT reframe.log_loss(%s, %s) FROM fz', pick('a', 'abs(a)', '''NaN''::float8'), pick('b', 'abs(b)', '2::float8', '''NaN''::float8')),
                        format('SELECT reframe.brier(%s, %s, %s) FROM fz', pick('abs(a)', '2::float8'), pick('abs(b)', '-1::float8'),
                               pick('1', '0', '-1', '''NaN''', '''Infinity''', 'NULL', 'a')));
    END CASE;
END $$;

DO $$
DECLARE
    call text;
    st text;
    msg text;
BEGIN
    FOR n IN 1..current_setting('fuzz.calls')::int LOOP
        call := fuzz_call();
        BEGIN
            EXECUTE call;
            INSERT INTO fuzz_result VALUES (split_part(split_part(call, '(', 1), 'reframe.', 2), '00000', NULL, call);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            INSERT INTO fuzz_result VALUES (split_part(split_part(call, '(', 1), 'reframe.', 2), st, msg, call);
        END;
    END LOOP;
END $$;

\o
-- what the calls did, by function
SELECT fn, count(*) AS calls, count(*) FILTER (WHERE sqlstate = '00000') AS ok,
       count(DISTINCT sqlstate) FILTER (WHERE sqlstate <> '00000') AS error_kinds
  FROM fuzz_result GROUP BY fn ORDER BY fn;
-- anything but an ordinary error; fuzz.sh fails on a line here
SELECT 'INTERNAL ' || sqlstate || ': ' || message || ' <- ' || left(call, 300)
  FROM fuzz_result WHERE sqlstate LIKE 'XX%' OR sqlstate LIKE '58%'
 GROUP BY sqlstate, message, call LIMIT 30;
-- the data the calls could have damaged is intact
SELECT 'INTERNAL fz lost rows' WHERE (SELECT count(*) FROM fz) <> 60;
