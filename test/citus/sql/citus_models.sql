-- Models on a Citus cluster: model tables are reference tables, scored on
-- the workers, invalidated on every node when a retraining commits.
CREATE EXTENSION IF NOT EXISTS reframe;
SET client_min_messages = warning;
CREATE TABLE events (id int, x1 float8, x2 float8, cat text, y float8, label boolean);
SELECT create_distributed_table('events', 'id');
INSERT INTO events
SELECT i, (i % 97) / 97.0, ((i * 7) % 89) / 89.0, 'c' || (i % 5),
       2 * ((i % 97) / 97.0) - ((i * 7) % 89) / 89.0 + (i % 5) * 0.1 + ((i * 13) % 11 - 5) / 50.0,
       (i % 97) / 97.0 + ((i * 13) % 11 - 5) / 20.0 > 0.5
FROM generate_series(1, 4000) i;
-- the same rows in a plain table on the coordinator: scored there, locally
CREATE TABLE events_local AS SELECT * FROM events;
SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = 'events_local'::regclass;

-- the worker task queries of a statement, shard numbers masked
CREATE FUNCTION task_queries(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF, VERBOSE) ' || q LOOP
        IF line ~ 'Query: ' THEN
            RETURN NEXT regexp_replace(regexp_replace(line, '^.*Query: ', ''), '_[0-9]{6,}', '_N', 'g');
        END IF;
    END LOOP;
END $$;

-- 1. a model table is a reference table on every node, without user action
SELECT version, train_rows + validation_rows AS rows, deployed FROM reframe.train('lin', 'events', 'y',
       options => '{"features": ["x1", "x2", "cat"]}');
SELECT partmethod, repmodel FROM pg_dist_partition WHERE logicalrelid = 'lin'::regclass;
SELECT count(DISTINCT n.nodeport) AS nodes_with_a_copy
FROM pg_dist_placement p JOIN pg_dist_shard s USING (shardid) JOIN pg_dist_node n USING (groupid)
WHERE s.logicalrelid = 'lin'::regclass;
SELECT result AS reframe_model_changed_on_worker_shards
FROM run_command_on_workers($$SELECT count(*) FROM pg_trigger
                              WHERE tgrelid::regclass::text ~ '^lin_[0-9]+$' AND tgname ~ '^reframe_model_changed_[0-9]+$'$$);

-- 2. scoring a distributed table runs on the workers and equals local scoring
SELECT * FROM task_queries($$SELECT id FROM events e ORDER BY reframe.score('lin', e) DESC LIMIT 5$$) LIMIT 1;
CREATE TABLE top1 AS SELECT id FROM events e ORDER BY reframe.score('lin', e) DESC, id LIMIT 5;
SELECT array_agg(id ORDER BY id) = (SELECT array_agg(id ORDER BY id) FROM
       (SELECT id FROM events_local e ORDER BY reframe.score('lin', e) DESC, id LIMIT 5) l) AS same_top5
FROM top1;
SELECT max(abs(d.s - l.s)) AS largest_difference FROM
  (SELECT id, reframe.score('lin', e) s FROM events e) d JOIN
  (SELECT id, reframe.score('lin', e) s FROM events_local e) l USING (id);
-- a subquery's or CTE's row crosses the nodes as an anonymous ROW(...): read by position
SELECT * FROM task_queries($$SELECT avg(reframe.score('lin', s)) FROM (SELECT x1, x2, cat FROM events) s$$) LIMIT 1;
CREATE TABLE local_avg AS SELECT avg(reframe.score('lin', l)) AS a FROM events_local l;
CREATE TABLE row_avgs AS
SELECT 'subquery' AS source, avg(reframe.score('lin', s)) AS a FROM (SELECT x1, x2, cat FROM events) s;
INSERT INTO row_avgs
WITH f AS (SELECT x1, x2, cat FROM events) SELECT 'cte', avg(reframe.score('lin', f)) FROM f;
SELECT source, abs(r.a - l.a) < 1e-9 AS scores_as_locally FROM row_avgs r, local_avg l ORDER BY source;
DROP TABLE local_avg, row_avgs;

-- 3. right after a retraining commits, the workers score the new version:
-- one connection per worker, so the same worker backends, which have
-- version 1 cached, score before and after
SET citus.max_adaptive_executor_pool_size = 1;
CREATE TABLE pids AS SELECT DISTINCT pg_backend_pid() AS pid FROM events;
SELECT count(*) AS worker_backends FROM pids;
CREATE TABLE v1 AS SELECT id, reframe.score('lin', e) s FROM events e;
SELECT version, deployed FROM reframe.train('lin', 'events', 'y',
       options => '{"features": ["x1", "x2"]}');
SELECT count(*) FILTER (WHERE abs(d.s - l.s) < 1e-12) AS equal_to_local,
       count(*) FILTER (WHERE abs(d.s - v1.s) > 1e-6) AS changed_from_v1
FROM (SELECT id, reframe.score('lin', e) s FROM events e) d
JOIN (SELECT id, reframe.score('lin', e) s FROM events_local e) l USING (id)
JOIN v1 USING (id);
SELECT count(*) AS same_worker_backends FROM (SELECT DISTINCT pg_backend_pid() AS pid FROM events) p JOIN pids USING (pid);
-- and after deploying version 1 back, version 1 again
SELECT reframe.deploy('lin', 1);
SELECT max(abs(d.s - v1.s)) AS difference_from_v1
FROM (SELECT id, reframe.score('lin', e) s FROM events e) d JOIN v1 USING (id);
-- in a transaction that is rolled back, the workers never see the version
BEGIN;
SELECT version, deployed FROM reframe.train('lin', 'events', 'y', options => '{"features": ["x2"]}');
ROLLBACK;
SELECT max(abs(d.s - v1.s)) AS difference_from_v1
FROM (SELECT id, reframe.score('lin', e) s FROM events e) d JOIN v1 USING (id);

-- 4. filters and metric aggregates run on the workers too
SELECT version FROM reframe.train('clf', 'events', 'label',
       options => '{"features": ["x1", "x2", "cat"]}');
SELECT * FROM task_queries($$SELECT count(*) FROM events e WHERE reframe.predict('clf', e) = 'true'$$) LIMIT 1;
SELECT (SELECT count(*) FROM events e WHERE reframe.predict('clf', e) = 'true') =
       (SELECT count(*) FROM events_local e WHERE reframe.predict('clf', e) = 'true') AS same_count;
SELECT * FROM task_queries($$SELECT reframe.rmse(reframe.score('lin', e), y) FROM events e$$) LIMIT 1;
SELECT abs((SELECT reframe.rmse(reframe.score('lin', e), y) FROM events e) -
           (SELECT reframe.rmse(reframe.score('lin', e), y) FROM events_local e)) < 1e-12 AS same_rmse,
       (SELECT reframe.accuracy(reframe.predict('clf', e), label::text) FROM events e) =
       (SELECT reframe.accuracy(reframe.predict('clf', e), label::text) FROM events_local e) AS same_accuracy;
-- over the label's own type (was XX000 on the workers: the polymorphic form)
SELECT * FROM task_queries($$SELECT reframe.accuracy(reframe.predict('clf', e)::boolean, label) FROM events e$$) LIMIT 1;
SELECT (SELECT reframe.accuracy(reframe.predict('clf', e)::boolean, label) FROM events e) =
       (SELECT reframe.accuracy(reframe.predict('clf', e), label::text) FROM events_local e) AS same_boolean_accuracy,
       (SELECT reframe.accuracy((x1 > 0)::int, (y > 0)::int) FROM events e) =
       (SELECT reframe.accuracy((x1 > 0)::int, (y > 0)::int) FROM events_local e) AS same_integer_accuracy;
-- evaluate on a distributed source: each worker scores its rows into
-- cells (reframe.evaluate_row) and sums them into the metrics
-- (reframe.evaluation); only the sums come to the coordinator
SELECT * FROM task_queries($$SELECT reframe.evaluation('\x'::bytea, reframe.evaluate_row('{}', e)) FROM events e$$) LIMIT 1;
-- the same figures as the local read (summed in another order: 1e-12), but
-- the ROC AUC, which comes from 2048 bins of the scores' logits
CREATE FUNCTION evaluation_gap(m text, q text, opts jsonb DEFAULT '{}')
RETURNS TABLE (on_workers boolean, same_counts boolean, differing text) LANGUAGE plpgsql AS $$
DECLARE d jsonb := reframe.evaluate(m, format(q, 'events'), opts);
        l jsonb := reframe.evaluate(m, format(q, 'events_local'), opts);
BEGIN
  RETURN QUERY
  SELECT coalesce((d ->> 'on_workers')::boolean, false), d - 'on_workers' - 'metrics' - 'selection' = l - 'metrics' - 'selection',
         coalesce(string_agg(key, ', ' ORDER BY key), '')
  FROM (SELECT 'selection' AS key, d #> '{selection,value}' AS dv, l #> '{selection,value}' AS lv
        UNION ALL
        SELECT key, dm.value, lm.value FROM jsonb_each(d -> 'metrics') dm JOIN jsonb_each(l -> 'metrics') lm USING (key)
        WHERE key <> 'roc_auc') x
  WHERE CASE WHEN jsonb_typeof(dv) = 'number' THEN abs(dv::float8 - lv::float8) > 1e-12 * greatest(1, abs(lv::float8))
             ELSE dv <> lv END;
END $$;
SELECT reframe.train('mc', 'SELECT x1, x2, y, cat FROM events', 'cat', options => '{"model": "linear"}') IS NOT NULL AS trained;
SELECT framing, g.* FROM (VALUES
  ('binary', 'clf', '%s', '{}'),
  ('regression, weighted, a subquery''s rows', 'lin', 'SELECT x1, x2, cat, y, abs(x1) + 0.5 AS w FROM %s', '{"weight": "w"}'),
  ('multiclass, NULL and unknown classes', 'mc',
   'SELECT x1, x2, y, CASE WHEN id %% 50 = 0 THEN NULL WHEN id %% 77 = 0 THEN ''zz'' ELSE cat END AS cat FROM %s', '{}'),
  ('ranking: each row''s cells come here', 'lin', '%s', '{"group": "cat"}')
) v(framing, m, q, opts), evaluation_gap(m, q, opts::jsonb) g;
-- with "curves" too the workers score, and the exact ROC AUC and the curves are the local ones
SELECT (d ->> 'on_workers')::boolean AS on_workers,
       abs((d #>> '{metrics,roc_auc}')::float8 - (l #>> '{metrics,roc_auc}')::float8) < 1e-12 AS same_exact_auc,
       jsonb_array_length(d #> '{curves,roc}') = jsonb_array_length(l #> '{curves,roc}') AS same_roc_points
FROM (SELECT reframe.evaluate('clf', 'events', '{"curves": true}') d, reframe.evaluate('clf', 'events_local', '{"curves": true}') l) e;
-- the binned ROC AUC as computed here from the scores' logits, and how far it is from the exact one
CREATE TABLE ev AS SELECT reframe.evaluate('clf', 'events') d, reframe.evaluate('clf', 'events_local') l;
WITH s AS (SELECT label, least(greatest(ln(p / (1 - p)), -16), 16) z
           FROM (SELECT label, reframe.score('clf', e) p FROM events_local e) x),
     b AS (SELECT least(floor((z + 16) / 32 * 2048), 2047) bin,
                  count(*) FILTER (WHERE label) pos, count(*) FILTER (WHERE NOT label) neg FROM s GROUP BY 1),
     c AS (SELECT pos, neg, coalesce(sum(neg) OVER (ORDER BY bin ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) below FROM b)
SELECT abs(sum(pos * (below + neg / 2.0)) / (sum(pos) * sum(neg)) - (d #>> '{metrics,roc_auc}')::float8) < 1e-5 AS binned_auc_as_computed,
       abs((d #>> '{metrics,roc_auc}')::float8 - (l #>> '{metrics,roc_auc}')::float8) < 1e-3 AS within_1e3_of_exact
FROM c, ev GROUP BY d, l;
DROP TABLE ev;

-- 5. blends are reference tables too
SELECT reframe.create_blend('both', '{"lin": 0.5, "clf": 0.5}');
SELECT partmethod, repmodel FROM pg_dist_partition WHERE logicalrelid = 'both'::regclass;
SELECT max(abs(d.s - l.s)) AS blend_difference FROM
  (SELECT id, reframe.score('both', e) s FROM events e) d JOIN
  (SELECT id, reframe.score('both', e) s FROM events_local e) l USING (id);

-- 6. privileges hold on every node
CREATE ROLE citus_analyst LOGIN;
GRANT USAGE ON SCHEMA reframe TO citus_analyst;
GRANT SELECT ON events TO citus_analyst;
SET ROLE citus_analyst;
\set VERBOSITY terse
SELECT count(reframe.score('lin', e)) FROM events e;
\set VERBOSITY default
RESET ROLE;
SELECT * FROM task_queries($$SELECT count(reframe.score('lin', e)) FROM events e$$) LIMIT 1;
GRANT SELECT ON lin TO citus_analyst;
SET ROLE citus_analyst;
SELECT count(reframe.score('lin', e)) FROM events e;
RESET ROLE;

-- 7. streaming training: the moments pass runs on the workers (one
-- partial aggregate per shard) and equals reading the rows on one node
RESET citus.max_adaptive_executor_pool_size;
SELECT * FROM task_queries($$SELECT reframe.moments(NULL, ARRAY[x1, x2], ARRAY[y], NULL::text[], 1.0) FROM events$$) LIMIT 1;
-- the largest gap between two versions' parameters, relative to their
-- largest parameter (the infinity norm)
CREATE FUNCTION param_gap(m1 text, m2 text) RETURNS float8 LANGUAGE sql AS $$
    SELECT max(abs(x1 - x2)) / greatest(max(abs(x1)), 1e-300)
    FROM reframe.weights(m1) a JOIN reframe.weights(m2) b USING (block),
         unnest(a.data, b.data) u(x1, x2)
$$;
CREATE FUNCTION streamed(m text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE s boolean;
BEGIN
    EXECUTE format('SELECT (spec #> ''{training,streaming}'')::boolean FROM %I WHERE block = '''' AND deployed', m) INTO s;
    RETURN s;
END $$;
SELECT d.train_rows = l.train_rows AND d.validation_rows = l.validation_rows AS same_split,
       streamed('dist_ridge') AS distributed_streamed, streamed('local_ridge') AS local_streamed,
       param_gap('dist_ridge', 'local_ridge') < 1e-6 AS params_within_1e_6
FROM reframe.train('dist_ridge', 'SELECT x1, x2, y FROM events', 'y') d,
     reframe.train('local_ridge', 'SELECT x1, x2, y FROM events_local', 'y', options => '{"streaming": false}') l;
-- a binary target streams too, by one loss-and-gradient pass per L-BFGS
-- evaluation on the workers, asked with "streaming": true and a number for "l2"
SELECT * FROM task_queries($$SELECT reframe.gradient(NULL, ARRAY[x1, x2], ARRAY[y::int::float8], NULL::text[], 1.0) FROM events$$) LIMIT 1;
SELECT d.train_rows = l.train_rows AND d.validation_rows = l.validation_rows AS same_split,
       streamed('dist_logit') AS distributed_streamed,
       param_gap('dist_logit', 'local_logit') < 1e-6 AS params_within_1e_6,
       abs((d.metrics #>> '{validation,log_loss}')::float8 - (l.metrics #>> '{validation,log_loss}')::float8) < 1e-6 AS same_log_loss
FROM reframe.train('dist_logit', 'SELECT x1, x2, label FROM events', 'label', options => '{"l2": 0.001, "tol": 1e-8, "streaming": true}') d,
     reframe.train('local_logit', 'SELECT x1, x2, label FROM events_local', 'label', options => '{"l2": 0.001, "tol": 1e-8, "streaming": false}') l;
-- and the same passes on one node: the same sums in another order
SELECT param_gap('dist_logit', 'local_streamed') < 1e-9 AS same_as_one_node_passes
FROM reframe.train('local_streamed', 'SELECT x1, x2, label FROM events_local', 'label', options => '{"l2": 0.001, "tol": 1e-8, "streaming": true}');
-- several heads, text classes among them, stream on the workers as well
SELECT d.task, d.train_rows = l.train_rows AND d.validation_rows = l.validation_rows AS same_split,
       streamed('dist_multi') AS distributed_streamed,
       param_gap('local_multi', 'dist_multi') < 1e-6 AS params_within_1e_6,
       abs((d.metrics #>> '{validation,cat,cross_entropy}')::float8 - (l.metrics #>> '{validation,cat,cross_entropy}')::float8) < 1e-6 AS same_cross_entropy
FROM reframe.train('dist_multi', 'SELECT x1, x2, y, cat, label FROM events', 'y,cat,label', options => '{"l2": 0.01, "tol": 1e-10, "streaming": true}') d,
     reframe.train('local_multi', 'SELECT x1, x2, y, cat, label FROM events_local', 'y,cat,label', options => '{"l2": 0.01, "tol": 1e-10, "streaming": false}') l;
-- and a hierarchy: its levels' pairs read from the shards, each level a
-- softmax over its parent's children (within 1e-5 of the rows' model, which
-- computes those in single precision)
SELECT d.task, streamed('dist_levels') AS distributed_streamed,
       param_gap('local_levels', 'dist_levels') < 1e-5 AS params_within_1e_5
FROM reframe.train('dist_levels', $$SELECT x1, x2, CASE WHEN cat IN ('c0', 'c1') THEN 'low' ELSE 'high' END AS grp, cat FROM events$$,
                   'grp,cat', 'hierarchical', '{"l2": 0.01, "tol": 1e-10, "streaming": true}') d,
     reframe.train('local_levels', $$SELECT x1, x2, CASE WHEN cat IN ('c0', 'c1') THEN 'low' ELSE 'high' END AS grp, cat FROM events_local$$,
                   'grp,cat', 'hierarchical', '{"l2": 0.01, "tol": 1e-10, "streaming": false}') l;
-- by default too, where the passes apply (numeric features), "l2": "auto"
-- choosing its penalty on passes as well
SELECT streamed('dist_default') AS streamed_by_default, metrics -> 'validation' ? 'log_loss' AS has_log_loss,
       metrics #>> '{chosen,method}' AS chosen_by
FROM reframe.train('dist_default', 'SELECT x1, x2, label FROM events', 'label');
-- what needs the rows still trains, by pulling them to the coordinator
SELECT streamed('dist_clf') AS streamed, train_rows + validation_rows AS rows
FROM reframe.train('dist_clf', 'events', 'label', options => '{"features": ["x1", "cat"]}');
-- and a sample bounds the memory it takes
SELECT train_rows + validation_rows < 1000 AS sampled
FROM reframe.train('dist_trees', 'events', 'y', options => '{"model": "trees", "sample": 0.2, "rounds": 5}');

-- 8. the rest of a model's life on the cluster: deploy(model) picks a
-- version by the same rows, drop_model drops every node's copy, and
-- scoring a dropped model says it is gone
SELECT version FROM reframe.train('lin', 'events', 'y', options => '{"features": ["x1"]}');
SELECT reframe.deploy('lin') IN (1, 2, 3) AS deployed_a_version;
SELECT version FROM reframe.train('gone', 'events', 'y', options => '{"features": ["x1"]}');
SELECT reframe.drop_model('gone');
SELECT count(*) AS gone_left FROM pg_dist_partition WHERE logicalrelid::text = 'gone';
SELECT result AS gone_on_workers FROM run_command_on_workers($$SELECT count(*) FROM pg_class WHERE relname ~ '^gone'$$);
\set VERBOSITY terse
SELECT count(reframe.score('gone', e)) FROM events e;
\set VERBOSITY default

-- 9. training on a worker is refused: the model would be that worker's alone
SELECT nodeport > 0 AS worker, success, result FROM run_command_on_workers(
  $$SELECT version FROM reframe.train('on_worker', 'SELECT i::float8 AS a, (2 * i)::float8 AS y FROM generate_series(1, 200) i', 'y', options => '{"model": "linear"}')$$)
ORDER BY nodeport;
SELECT result AS on_worker_tables FROM run_command_on_workers($$SELECT count(*) FROM pg_class WHERE relname = 'on_worker'$$);

-- 10. the same rows give the same model: twice from the distributed table
-- (its shards' rows arrive in a different order each run) and once from
-- the local copy, every family that reads rows stores the same blocks
CREATE FUNCTION fingerprint(m text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  EXECUTE format($q$SELECT md5(string_agg(block || part || coalesce(data::text, '')
                   || coalesce(regexp_replace((spec - 'source')::text, '"[a-z_]*seconds": [0-9.e+-]+', '', 'g'), ''),
                   ',' ORDER BY block, part)) FROM %I$q$, m) INTO r;
  RETURN r;
END $$;
CREATE FUNCTION models_from_three_reads(cols text, target text, opts jsonb) RETURNS int LANGUAGE plpgsql AS $$
DECLARE f text[] := '{}'; t text; n int := 0;
BEGIN
  FOREACH t IN ARRAY ARRAY['events', 'events', 'events_local'] LOOP
    n := n + 1;
    PERFORM reframe.train('same_' || n, format('SELECT %s FROM %s', cols, t), target, options => opts);
    f := f || fingerprint('same_' || n);
    PERFORM reframe.drop_model('same_' || n);
  END LOOP;
  RETURN (SELECT count(DISTINCT x) FROM unnest(f) x);
END $$;
SELECT framing, models_from_three_reads(cols, target, opts::jsonb) AS models
FROM (VALUES
  ('trees, sampled', 'x1, x2, cat, y', 'y', '{"model": "trees", "sample": 0.5, "rounds": 30}'),
  ('neural', 'x1, x2, cat, label', 'label', '{"model": "neural", "max_iter": 40}'),
  ('linear binary, rows', 'x1, x2, cat, label', 'label', '{"model": "linear", "streaming": false}'),
  ('linear multiclass, rows', 'x1, x2, y, cat', 'cat', '{"model": "linear", "streaming": false}')
) v(framing, cols, target, opts);

-- a sample of a distributed source is drawn on the workers: the rows' path
-- filters it by reframe.sample_keep, which keeps exactly the rows the read
-- keeps (the same row hash); here with the plan a training of
-- 'SELECT x1, x2, cat, y FROM events' with "sample": 0.5 writes
SELECT * FROM task_queries($$SELECT count(*) FROM (SELECT x1, x2, cat, y FROM events) s
                             WHERE reframe.sample_keep('1 0 0 0.5 -1 -1 3 0 1 2 1 3 0 0 0', s)$$) LIMIT 1;
CREATE TABLE sampled_rows AS
SELECT train_rows + validation_rows AS kept FROM reframe.train('sampled', 'SELECT x1, x2, cat, y FROM events', 'y',
                                                               options => '{"model": "trees", "sample": 0.5, "rounds": 2}');
SELECT (SELECT count(*) FROM (SELECT x1, x2, cat, y FROM events) s WHERE reframe.sample_keep('1 0 0 0.5 -1 -1 3 0 1 2 1 3 0 0 0', s))
       = kept AS filter_keeps_the_rows_the_read_keeps,
       (SELECT (spec #>> '{training,sample,rows_left_out}')::int FROM sampled WHERE block = '') = 4000 - kept AS rows_left_out_counted
FROM sampled_rows;
SELECT reframe.drop_model('sampled');
DROP TABLE sampled_rows;

-- 11. one version per statement: while another session deploys versions 1
-- and 2 of "flip" in turn, every sum over all shards is one version's sum
-- (the coordinator pins the version it sees, 'flip@2', for every task)
SELECT version FROM reframe.train('flip', 'SELECT x1, x2, y FROM events', 'y', options => '{"model": "linear"}');
SELECT version FROM reframe.train('flip', 'SELECT x1, y FROM events', 'y', options => '{"model": "linear"}');
CREATE TABLE flip_totals AS
SELECT v, (SELECT sum(reframe.score('flip@' || v, e)) FROM events_local e) AS total FROM generate_series(1, 2) v;
SELECT count(DISTINCT round(total::numeric, 6)) AS two_different_totals FROM flip_totals;
SELECT * FROM task_queries($$SELECT sum(reframe.score('flip', e)) FROM events e$$) LIMIT 1;
CREATE EXTENSION dblink;
SELECT dblink_connect('flipper', format('host=%s port=%s dbname=%s user=postgres',
       current_setting('unix_socket_directories'), current_setting('port'), current_database()));
SELECT dblink_send_query('flipper', $q$DO $d$ BEGIN
  FOR i IN 1..40 LOOP
    PERFORM reframe.deploy('flip', 1 + i % 2);
    COMMIT;
    PERFORM pg_sleep(0.05);
  END LOOP; END $d$$q$);
CREATE TABLE flip_sums (total float8);
DO $$ BEGIN
  FOR i IN 1..60 LOOP
    INSERT INTO flip_sums SELECT sum(reframe.score('flip', e)) FROM events e;
    COMMIT;
    PERFORM pg_sleep(0.02);
  END LOOP; END $$;
SELECT * FROM dblink_get_result('flipper') AS r(status text);
SELECT dblink_disconnect('flipper');
SELECT count(*) AS sums,
       count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM flip_totals t WHERE abs(t.total - s.total) < 1e-6)) AS mixed
FROM flip_sums s;
SELECT count(DISTINCT round(total::numeric, 6)) = 2 AS saw_both_versions FROM flip_sums;
-- a prepared statement (on its generic plan: it has no parameters) is
-- planned again after a deployment, and pins the new version
SELECT reframe.deploy('flip', 1);
PREPARE flip_sum AS SELECT sum(reframe.score('flip', e)) AS total FROM events e;
CREATE TABLE prepared_1 AS EXECUTE flip_sum;
SELECT reframe.deploy('flip', 2);
CREATE TABLE prepared_2 AS EXECUTE flip_sum;
SELECT generic_plans AS generic_plans_used FROM pg_prepared_statements WHERE name = 'flip_sum';
SELECT run, (SELECT v FROM flip_totals t WHERE abs(t.total - p.total) < 1e-6) AS scored_by_version
FROM (SELECT 1 AS run, total FROM prepared_1 UNION ALL SELECT 2, total FROM prepared_2) p ORDER BY run;
SELECT reframe.drop_model('flip');

-- 12. a model table local to the coordinator (as a dump restores it, or as
-- made before the workers were added) cannot score on the workers, which
-- say what to do; reframe.replicate_models() makes it a reference table
CREATE TABLE restored OF reframe.model_row (PRIMARY KEY (version, block, part));
CREATE TRIGGER reframe_model_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON restored
  FOR EACH STATEMENT EXECUTE FUNCTION reframe.model_changed();
INSERT INTO restored SELECT * FROM lin;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT count(reframe.score('restored', e)) FROM events e;
\set SHOW_CONTEXT errors
SET client_min_messages = warning;
SELECT * FROM reframe.replicate_models();
SELECT abs(sum(reframe.score('restored', e)) - sum(reframe.score('lin', e))) < 1e-9 AS restored_scores_on_workers FROM events e;
SELECT count(*) AS left_to_replicate FROM reframe.replicate_models();
-- reframe.models lists the models on the workers too
SELECT nodeport > 0 AS worker, result FROM run_command_on_workers(
  $$SELECT string_agg(DISTINCT model, ',' ORDER BY model) FROM reframe.models WHERE model IN ('lin', 'restored')$$) ORDER BY nodeport;
-- models Citus could not keep are refused before anything is made
SET citus.enable_schema_based_sharding = on;
CREATE SCHEMA tenant1;
RESET citus.enable_schema_based_sharding;
SELECT version FROM reframe.train('tenant1.m', 'SELECT x1, x2, y FROM events', 'y');
SELECT version FROM reframe.train((SELECT shard_name('events'::regclass, min(shardid)) FROM pg_dist_shard WHERE logicalrelid = 'events'::regclass),
       'SELECT x1, x2, y FROM events', 'y');

-- 13. what reads a distributed source: the report, and accuracy over any
-- type (over a type of its own, such as date, on the coordinator)
SELECT length(reframe.report('clf', 'events')) > 10000 AS report_on_distributed_source;
SELECT reframe.accuracy(e.id % 3 = 0, e.id % 3 = 0) AS boolean_pushed_down,
       reframe.accuracy(date '2024-01-01' + e.id % 7, date '2024-01-01' + e.id % 5) > 0 AS over_dates
FROM events e;

-- 14. a training streamed over the workers says what the rows' path says:
-- the task it inferred, and the classes too rare to predict well
SET client_min_messages = notice;
SELECT version, streamed('rare') AS streamed FROM reframe.train('rare',
  $$SELECT x1, x2, CASE WHEN id % 100 = 0 THEN 'rare' ELSE cat END AS k FROM events$$, 'k', options => '{"streaming": true}');
SET client_min_messages = warning;

-- 15. drift and retraining on the cluster: the counting aggregates run on
-- the workers, and the reference was measured on the distributed source
SELECT version FROM reframe.train('drifty', 'SELECT x1, x2, cat, y FROM events', 'y', options => '{"model": "linear"}');
SELECT * FROM task_queries($$SELECT reframe.bin_counts(x1, ARRAY[0.5]) FROM events$$) LIMIT 1;
SELECT feature, psi < 0.05 AS stable_on_local_copy FROM reframe.drift('drifty', 'events_local') ORDER BY feature;
SELECT feature, psi > 0.2 AS drifted FROM reframe.drift('drifty', 'SELECT x1 + 1 AS x1, x2, cat, y FROM events') ORDER BY feature;
SET client_min_messages = notice;
SELECT reframe.retrain('drifty', options => '{"if": {"drift": 0.2}}') AS retrained;
SELECT reframe.retrain('drifty', 'SELECT x1 + 1 AS x1, x2, cat, y FROM events', '{"if": {"drift": 0.2}}') AS retrained;
SET client_min_messages = warning;
SELECT partmethod, repmodel FROM pg_dist_partition WHERE logicalrelid = 'drifty'::regclass;

-- 16. a warm start on the cluster: the deployed version read from its
-- reference table, the new rows from the distributed table; trees add their
-- rounds, the version reaches every node, and the same continuation from
-- the local copy is the same model
SELECT version FROM reframe.train('warm', 'SELECT x1, x2, cat, label FROM events WHERE id <= 2000', 'label',
       options => '{"model": "trees", "rounds": 5, "validation": 0}');
SELECT version FROM reframe.train('warm', 'SELECT x1, x2, cat, label FROM events WHERE id > 2000', 'label',
       options => '{"warm_start": true}');
SELECT version FROM reframe.train('warm_local', 'SELECT x1, x2, cat, label FROM events_local WHERE id <= 2000', 'label',
       options => '{"model": "trees", "rounds": 5, "validation": 0}');
SELECT version FROM reframe.train('warm_local', 'SELECT x1, x2, cat, label FROM events_local WHERE id > 2000', 'label',
       options => '{"warm_start": true}');
SELECT (SELECT shape[1] FROM warm WHERE version = 2 AND block = 'trees.index') AS trees,
       (SELECT string_agg(data::text, ';' ORDER BY block, part) FROM warm WHERE version = 2 AND block <> '')
     = (SELECT string_agg(data::text, ';' ORDER BY block, part) FROM warm_local WHERE version = 2 AND block <> '') AS same_as_local;
SELECT result AS scores_version_2_on_workers
FROM run_command_on_workers($$SELECT reframe.score('warm', ROW(0.5, 0.5, 'c1'::text)) = reframe.score('warm@2', ROW(0.5, 0.5, 'c1'::text))$$);
