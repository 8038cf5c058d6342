-- reframe: train and score machine-learning models inside PostgreSQL
\echo Use "CREATE EXTENSION reframe" to load this file. \quit

-- Every role may use the extension; a model is as private as its table.
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Models are tables: every model is a table of this type, named by the model.
-- A version is a header row (block '', with its spec and deployed flag) plus
-- one row per part of each parameter block.
-- ---------------------------------------------------------------------------
CREATE TYPE @extschema@.model_row AS (
    version  integer,
    block    text,
    part     integer,
    shape    integer[],
    data     double precision[],
    spec     jsonb,
    created  timestamptz,
    deployed boolean
);
COMMENT ON TYPE @extschema@.model_row IS 'row type of every reframe model table';

CREATE FUNCTION @extschema@.model_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'reframe_model_changed' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.model_changed() IS
    'statement trigger on model tables: tells every backend to reload the model';

-- ---------------------------------------------------------------------------
-- Training
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.train(
    model text, source text, target text,
    task text DEFAULT NULL, options jsonb DEFAULT '{}',
    OUT model text, OUT version integer, OUT task text,
    OUT train_rows bigint, OUT validation_rows bigint,
    OUT train_loss double precision, OUT metrics jsonb, OUT deployed boolean,
    OUT iterations integer, OUT converged boolean)
    AS 'MODULE_PATHNAME', 'reframe_train' LANGUAGE C VOLATILE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.train(text, text, text, text, jsonb) IS
    'train a new version of a model from a table, view or query';

-- ---------------------------------------------------------------------------
-- Scoring
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.score(model text, features double precision[], output text DEFAULT NULL)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'reframe_score' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.score(model text, features real[], output text DEFAULT NULL)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'reframe_score' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.score(model text, features record, output text DEFAULT NULL)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'reframe_score' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.score(text, double precision[], text) IS
    'score features (an array in training order) with the deployed version of a model';
COMMENT ON FUNCTION @extschema@.score(text, real[], text) IS
    'score features (an array in training order) with the deployed version of a model';
COMMENT ON FUNCTION @extschema@.score(text, record, text) IS
    'score a row (columns named as at training time) with the deployed version of a model';

CREATE FUNCTION @extschema@.predict(model text, features double precision[], output text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'reframe_predict' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict(model text, features real[], output text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'reframe_predict' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict(model text, features record, output text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'reframe_predict' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.predict(text, double precision[], text) IS
    'the predicted value of a model for features, as text';
COMMENT ON FUNCTION @extschema@.predict(text, real[], text) IS
    'the predicted value of a model for features, as text';
COMMENT ON FUNCTION @extschema@.predict(text, record, text) IS
    'the predicted value of a model for a row, as text';

CREATE FUNCTION @extschema@.predict_proba(model text, features double precision[], output text DEFAULT NULL)
    RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'reframe_predict_proba' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict_proba(model text, features real[], output text DEFAULT NULL)
    RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'reframe_predict_proba' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict_proba(model text, features record, output text DEFAULT NULL)
    RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'reframe_predict_proba' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.predict_proba(text, double precision[], text) IS
    'class probabilities, in the order of reframe.classes()';
COMMENT ON FUNCTION @extschema@.predict_proba(text, real[], text) IS
    'class probabilities, in the order of reframe.classes()';
COMMENT ON FUNCTION @extschema@.predict_proba(text, record, text) IS
    'class probabilities of a row, in the order of reframe.classes()';

CREATE FUNCTION @extschema@.predict_labels(model text, features double precision[],
    threshold double precision DEFAULT NULL, top_k integer DEFAULT NULL, at_least_one boolean DEFAULT false,
    output text DEFAULT NULL)
    RETURNS text[]
    AS 'MODULE_PATHNAME', 'reframe_predict_labels' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict_labels(model text, features real[],
    threshold double precision DEFAULT NULL, top_k integer DEFAULT NULL, at_least_one boolean DEFAULT false,
    output text DEFAULT NULL)
    RETURNS text[]
    AS 'MODULE_PATHNAME', 'reframe_predict_labels' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict_labels(model text, features record,
    threshold double precision DEFAULT NULL, top_k integer DEFAULT NULL, at_least_one boolean DEFAULT false,
    output text DEFAULT NULL)
    RETURNS text[]
    AS 'MODULE_PATHNAME', 'reframe_predict_labels' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.predict_labels(text, double precision[], double precision, integer, boolean, text) IS
    'the labels of a multilabel model (or of its head named by output), by threshold or top_k';
COMMENT ON FUNCTION @extschema@.predict_labels(text, real[], double precision, integer, boolean, text) IS
    'the labels of a multilabel model (or of its head named by output), by threshold or top_k';
COMMENT ON FUNCTION @extschema@.predict_labels(text, record, double precision, integer, boolean, text) IS
    'the labels of a multilabel model (or of its head named by output) for a row, by threshold or top_k';

CREATE FUNCTION @extschema@.predict_all(model text, features double precision[]) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_predict_all' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict_all(model text, features real[]) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_predict_all' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict_all(model text, features record) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_predict_all' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.predict_all(text, double precision[]) IS 'every output of a model from one pass, as jsonb';
COMMENT ON FUNCTION @extschema@.predict_all(text, real[]) IS 'every output of a model from one pass, as jsonb';
COMMENT ON FUNCTION @extschema@.predict_all(text, record) IS 'every output of a model for a row from one pass, as jsonb';

CREATE FUNCTION @extschema@.classes(model text, output text DEFAULT NULL)
    RETURNS text[]
    AS 'MODULE_PATHNAME', 'reframe_classes' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.classes(text, text) IS
    'the classes of a model''s output, in the order of predict_proba';

CREATE FUNCTION @extschema@.evaluate(model text, source text, options jsonb DEFAULT '{}')
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_evaluate' LANGUAGE C STABLE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.evaluate(text, text, jsonb) IS
    'metrics of the deployed version of a model on the rows of a table, view or query';

-- ---------------------------------------------------------------------------
-- Registry and deployment
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.model_table(model text) RETURNS regclass
    AS 'MODULE_PATHNAME', 'reframe_model_table' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.model_table(text) IS
    'the table holding a model (an error if the name is not a model)';

CREATE FUNCTION @extschema@.deploy(model text, version integer DEFAULT NULL) RETURNS integer
    AS 'MODULE_PATHNAME', 'reframe_deploy' LANGUAGE C VOLATILE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.deploy(text, integer) IS
    'deploy a version of a model; NULL deploys the version with the best validation metric on the same rows (the newest version''s validation rows that every version can be scored on)';

CREATE FUNCTION @extschema@.list_models(
    OUT model text, OUT version integer, OUT task text, OUT created timestamptz,
    OUT deployed boolean, OUT metrics jsonb, OUT family text, OUT options jsonb)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    rel regclass;
    tables text := 'c.reloftype = ''@extschema@.model_row''::pg_catalog.regtype';
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        -- a Citus worker's copy of a model table has model_row's columns, not its type
        tables := tables || ' OR c.oid IN (SELECT p.logicalrelid FROM pg_catalog.pg_dist_partition p
                     WHERE p.partmethod = ''n'' AND (SELECT pg_catalog.array_agg(a.attname::text || a.atttypid::text ORDER BY a.attnum)
                            FROM pg_catalog.pg_attribute a WHERE a.attrelid = p.logicalrelid AND a.attnum > 0 AND NOT a.attisdropped)
                      = (SELECT pg_catalog.array_agg(a.attname::text || a.atttypid::text ORDER BY a.attnum)
                            FROM pg_catalog.pg_attribute a, pg_catalog.pg_type t
                           WHERE t.oid = ''@extschema@.model_row''::pg_catalog.regtype AND a.attrelid = t.typrelid AND a.attnum > 0))';
    END IF;
    FOR rel IN EXECUTE
        'SELECT c.oid::regclass FROM pg_catalog.pg_class c WHERE (' || tables || ')
           AND pg_catalog.has_table_privilege(c.oid, ''SELECT'')
           -- another session''s temporary tables cannot be read
           AND (c.relpersistence OPERATOR(pg_catalog.<>) ''t''
                OR c.relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema())
         ORDER BY c.oid::regclass::text'
    LOOP
        RETURN QUERY EXECUTE pg_catalog.format(
            'SELECT %L::text, version, spec->>''task'', created, coalesce(deployed, false), spec->''metrics'',
                    CASE WHEN spec->>''task'' = ''blend'' THEN ''blend'' ELSE coalesce(spec->''network''->>''family'', ''linear'') END,
                    spec->''options''
               FROM %s WHERE block = '''' ORDER BY version', rel::text, rel);
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.list_models() IS
    'every version of every model the caller may read';

CREATE VIEW @extschema@.models AS SELECT * FROM @extschema@.list_models();
COMMENT ON VIEW @extschema@.models IS 'every version of every model the caller may read';
GRANT SELECT ON @extschema@.models TO PUBLIC;

CREATE FUNCTION @extschema@.training_progress(
    OUT pid integer, OUT database text, OUT role text, OUT model text, OUT phase text,
    OUT rows_read bigint, OUT iteration integer, OUT loss double precision,
    OUT started timestamptz, OUT updated timestamptz)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'reframe_training_progress' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.training_progress() IS
    'the trainings running now: model, phase, rows read, optimizer iteration (or epoch) and loss';
CREATE VIEW @extschema@.training AS SELECT * FROM @extschema@.training_progress();
COMMENT ON VIEW @extschema@.training IS
    'the trainings running now; details of other roles'' trainings need their privileges or pg_read_all_stats';
GRANT SELECT ON @extschema@.training TO PUBLIC;

-- the version a function of a model version reads: the one named, or the deployed one
CREATE FUNCTION @extschema@.version_or_deployed(rel regclass, model text, version integer, caller text)
    RETURNS integer
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v integer := version;
BEGIN
    IF v IS NULL THEN
        EXECUTE pg_catalog.format('SELECT max(version) FROM %s WHERE block = '''' AND deployed', rel) INTO v;
        IF v IS NULL THEN
            RAISE EXCEPTION 'model "%" has no deployed version', model
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = pg_catalog.format('Name a version: reframe.%s(model, version).', caller);
        END IF;
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION @extschema@.version_or_deployed(regclass, text, integer, text) IS
    'the version named, or the deployed one (used by weights, loss_history and trials)';

CREATE FUNCTION @extschema@.weights(model text, version integer DEFAULT NULL)
    RETURNS TABLE (block text, shape integer[], data double precision[])
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    rel regclass := @extschema@.model_table(model);
    v integer := @extschema@.version_or_deployed(rel, model, version, 'weights');
BEGIN
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT b.block, pg_catalog.min(b.shape),
                pg_catalog.array_agg(u.v ORDER BY b.part, u.i)
           FROM %s b, pg_catalog.unnest(b.data) WITH ORDINALITY AS u(v, i)
          WHERE b.version = $1 AND b.block <> ''''
          GROUP BY b.block ORDER BY b.block', rel) USING v;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no version %', model, v USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.weights(text, integer) IS
    'the parameter blocks of a model version (the deployed one by default)';

CREATE FUNCTION @extschema@.create_blend(name text, weights jsonb) RETURNS integer
    AS 'MODULE_PATHNAME', 'reframe_create_blend' LANGUAGE C VOLATILE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.create_blend(text, jsonb) IS
    'create a blend (a weighted sum of models'' scores), or give it new weights at once';

CREATE FUNCTION @extschema@.set_threshold(model text, threshold double precision, output text DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    rel regclass := @extschema@.model_table(model);
    v integer;
    heads jsonb;
    idx integer;
BEGIN
    IF threshold IS NULL OR NOT (threshold > 0 AND threshold < 1) THEN
        RAISE EXCEPTION 'threshold for model "%" must be strictly between 0 and 1, not %', model, threshold
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE pg_catalog.format('SELECT version, spec->''network''->''heads'' FROM %s WHERE block = '''' AND deployed', rel)
        INTO v, heads;
    IF v IS NULL THEN
        RAISE EXCEPTION 'model "%" has no deployed version', model
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT e.i - 1 INTO idx
      FROM pg_catalog.jsonb_array_elements(heads) WITH ORDINALITY AS e(h, i)
     WHERE e.h->>'kind' = 'binary' AND (output IS NULL OR e.h->>'name' = output)
     ORDER BY e.i LIMIT 1;
    IF idx IS NULL THEN
        RAISE EXCEPTION 'model "%" has no binary output%', model,
            CASE WHEN output IS NULL THEN '' ELSE pg_catalog.format(' "%s"', output) END
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A decision threshold applies to binary classification.';
    END IF;
    EXECUTE pg_catalog.format(
        'UPDATE %s SET spec = pg_catalog.jsonb_set(spec, ARRAY[''network'', ''heads'', ''%s'', ''threshold''], pg_catalog.to_jsonb($1))
          WHERE block = '''' AND version = $2', rel, idx) USING threshold, v;
    RETURN v;
END
$$;
COMMENT ON FUNCTION @extschema@.set_threshold(text, double precision, text) IS
    'change the decision threshold of the deployed version of a binary model, without retraining';

CREATE FUNCTION @extschema@.drop_model(model text) RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    EXECUTE pg_catalog.format('DROP TABLE %s', @extschema@.model_table(model));
END
$$;
COMMENT ON FUNCTION @extschema@.drop_model(text) IS 'drop a model and all its versions';

CREATE FUNCTION @extschema@.blas_sgemm_gflops(n integer DEFAULT 1024) RETURNS double precision
    AS 'MODULE_PATHNAME', 'reframe_blas_sgemm_gflops' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.blas_sgemm_gflops(integer) IS
    'this backend''s measured single-precision GEMM rate (GFLOP/s), for benchmarks';

-- ---------------------------------------------------------------------------
-- Objective functions and metrics: parallel-safe aggregates whose states
-- are real SQL types (float8[] or bytea), so they combine under parallel
-- query and can be pushed down by distributed planners.
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.sq_err_accum(double precision[], double precision, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_sq_err_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.abs_err_accum(double precision[], double precision, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_abs_err_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.log_loss_accum(double precision[], double precision, boolean)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_log_loss_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cross_entropy_accum(double precision[], double precision[], integer)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_cross_entropy_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.accuracy_accum(double precision[], anyelement, anyelement)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_accuracy_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.sum_combine(double precision[], double precision[])
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_sum_combine'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rmse_final(double precision[])
    RETURNS double precision AS 'MODULE_PATHNAME', 'reframe_rmse_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.mean_final(double precision[])
    RETURNS double precision AS 'MODULE_PATHNAME', 'reframe_mean_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.r2_accum(double precision[], double precision, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_r2_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.r2_combine(double precision[], double precision[])
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_r2_combine'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.r2_final(double precision[])
    RETURNS double precision AS 'MODULE_PATHNAME', 'reframe_r2_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.auc_accum(bytea, double precision, boolean)
    RETURNS bytea AS 'MODULE_PATHNAME', 'reframe_auc_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.auc_combine(bytea, bytea)
    RETURNS bytea AS 'MODULE_PATHNAME', 'reframe_auc_combine'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.auc_final(bytea)
    RETURNS double precision AS 'MODULE_PATHNAME', 'reframe_auc_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.ndcg_accum(bytea, double precision, double precision, integer)
    RETURNS bytea AS 'MODULE_PATHNAME', 'reframe_ndcg_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.ndcg_final(bytea)
    RETURNS double precision AS 'MODULE_PATHNAME', 'reframe_ndcg_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.rmse(pred double precision, actual double precision) (
    SFUNC = @extschema@.sq_err_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.rmse_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.mae(pred double precision, actual double precision) (
    SFUNC = @extschema@.abs_err_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.r2(pred double precision, actual double precision) (
    SFUNC = @extschema@.r2_accum, STYPE = double precision[], INITCOND = '{0,0,0,0}',
    FINALFUNC = @extschema@.r2_final, COMBINEFUNC = @extschema@.r2_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.log_loss(p double precision, y boolean) (
    SFUNC = @extschema@.log_loss_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.cross_entropy(p double precision[], class integer) (
    SFUNC = @extschema@.cross_entropy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
-- no combine function: Citus could not check a polymorphic aggregate's
-- arguments on its workers (XX000); without one it runs on the coordinator
CREATE AGGREGATE @extschema@.accuracy(pred anyelement, actual anyelement) (
    SFUNC = @extschema@.accuracy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.roc_auc(score double precision, y boolean) (
    SFUNC = @extschema@.auc_accum, STYPE = bytea, INITCOND = '',
    FINALFUNC = @extschema@.auc_final, COMBINEFUNC = @extschema@.auc_combine, PARALLEL = SAFE);

CREATE AGGREGATE @extschema@.ndcg(score double precision, relevance double precision, k integer) (
    SFUNC = @extschema@.ndcg_accum, STYPE = bytea, INITCOND = '',
    FINALFUNC = @extschema@.ndcg_final, COMBINEFUNC = @extschema@.auc_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.ndcg(double precision, double precision, integer) IS
    'normalized discounted cumulative gain at k of one ranking (use GROUP BY per query)';

COMMENT ON AGGREGATE @extschema@.rmse(double precision, double precision) IS 'root mean squared error';
COMMENT ON AGGREGATE @extschema@.mae(double precision, double precision) IS 'mean absolute error';
COMMENT ON AGGREGATE @extschema@.r2(double precision, double precision) IS 'coefficient of determination, 1 - SSE/SST';
COMMENT ON AGGREGATE @extschema@.log_loss(double precision, boolean) IS 'mean negative log-likelihood of a probability of true';
COMMENT ON AGGREGATE @extschema@.cross_entropy(double precision[], integer) IS 'mean negative log-probability of the true class (1-based position)';
COMMENT ON AGGREGATE @extschema@.accuracy(anyelement, anyelement) IS 'share of rows where prediction equals actual';
COMMENT ON AGGREGATE @extschema@.roc_auc(double precision, boolean) IS 'exact area under the ROC curve, ties counted one half';

CREATE FUNCTION @extschema@.export(model text, format text DEFAULT 'xgboost') RETURNS text
    AS 'MODULE_PATHNAME', 'reframe_export' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.export(text, text) IS
    'the deployed version of a trees model as XGBoost''s JSON model (xgboost.Booster().load_model reads it); its inputs are the encoded features, for numeric columns the columns themselves in training order';

CREATE FUNCTION @extschema@.explain(model text, features double precision[], output text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_explain' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.explain(model text, features real[], output text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_explain' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.explain(model text, features record, output text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_explain' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.explain(text, double precision[], text) IS
    'why a row scores what it scores: {"base": b, "contributions": {column: c}}, base + contributions = the output''s margin (exact for linear and trees models)';
COMMENT ON FUNCTION @extschema@.explain(text, real[], text) IS
    'why a row scores what it scores: {"base": b, "contributions": {column: c}}, base + contributions = the output''s margin (exact for linear and trees models)';
COMMENT ON FUNCTION @extschema@.explain(text, record, text) IS
    'why a row scores what it scores: {"base": b, "contributions": {column: c}}, base + contributions = the output''s margin (exact for linear and trees models)';

CREATE FUNCTION @extschema@.importance(model text, version integer DEFAULT NULL)
    RETURNS TABLE (feature text, importance double precision, share double precision, by_value jsonb)
    AS 'MODULE_PATHNAME', 'reframe_importance' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.importance(text, integer) IS
    'which source columns a model version relies on, most first: standardized coefficients (linear), total split gain (trees); share of the total, and per value for a categorical column';

-- curves for plotting: jsonb arrays of points (jsonb_to_recordset makes rows)
CREATE FUNCTION @extschema@.pairs_accum(bytea, double precision, double precision)
    RETURNS bytea AS 'MODULE_PATHNAME', 'reframe_pairs_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.roc_curve_final(bytea)
    RETURNS jsonb AS 'MODULE_PATHNAME', 'reframe_roc_curve_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.pr_curve_final(bytea)
    RETURNS jsonb AS 'MODULE_PATHNAME', 'reframe_pr_curve_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.calibration_final(bytea)
    RETURNS jsonb AS 'MODULE_PATHNAME', 'reframe_calibration_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lift_final(bytea)
    RETURNS jsonb AS 'MODULE_PATHNAME', 'reframe_lift_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.residuals_final(bytea)
    RETURNS jsonb AS 'MODULE_PATHNAME', 'reframe_residuals_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE @extschema@.roc_curve(score double precision, y boolean) (
    SFUNC = @extschema@.auc_accum, STYPE = bytea, INITCOND = '',
    FINALFUNC = @extschema@.roc_curve_final, COMBINEFUNC = @extschema@.auc_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.pr_curve(score double precision, y boolean) (
    SFUNC = @extschema@.auc_accum, STYPE = bytea, INITCOND = '',
    FINALFUNC = @extschema@.pr_curve_final, COMBINEFUNC = @extschema@.auc_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.calibration(p double precision, y boolean) (
    SFUNC = @extschema@.auc_accum, STYPE = bytea, INITCOND = '',
    FINALFUNC = @extschema@.calibration_final, COMBINEFUNC = @extschema@.auc_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.lift(score double precision, y boolean) (
    SFUNC = @extschema@.auc_accum, STYPE = bytea, INITCOND = '',
    FINALFUNC = @extschema@.lift_final, COMBINEFUNC = @extschema@.auc_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.residuals(pred double precision, actual double precision) (
    SFUNC = @extschema@.pairs_accum, STYPE = bytea, INITCOND = '',
    FINALFUNC = @extschema@.residuals_final, COMBINEFUNC = @extschema@.auc_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.roc_curve(double precision, boolean) IS
    'ROC curve points [{threshold, fpr, tpr}], one per distinct score (at most 1,000)';
COMMENT ON AGGREGATE @extschema@.pr_curve(double precision, boolean) IS
    'precision-recall curve points [{threshold, recall, precision}], one per distinct score (at most 1,000)';
COMMENT ON AGGREGATE @extschema@.calibration(double precision, boolean) IS
    'reliability diagram: ten probability bins [{bin, lower, upper, rows, mean_predicted, fraction_positive}]';
COMMENT ON AGGREGATE @extschema@.lift(double precision, boolean) IS
    'cumulative gain and lift by score decile [{decile, fraction, gain, lift}]';
COMMENT ON AGGREGATE @extschema@.residuals(double precision, double precision) IS
    'residuals by decile of the prediction [{decile, rows, mean_predicted, mean_actual, mean_residual, rmse}]';

-- the loss after each iteration (epoch, round) of a version's training
CREATE FUNCTION @extschema@.loss_history(model text, version integer DEFAULT NULL)
    RETURNS TABLE (iteration integer, loss double precision)
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    rel regclass := @extschema@.model_table(model);
    v integer := @extschema@.version_or_deployed(rel, model, version, 'loss_history');
BEGIN
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT (h.i - 1 + coalesce((m.spec->''training''->>''history_from'')::integer, 1))::integer,
                h.loss::text::double precision
           FROM %s m, pg_catalog.jsonb_array_elements(m.spec->''training''->''loss_history'') WITH ORDINALITY AS h(loss, i)
          WHERE m.version = $1 AND m.block = '''' ORDER BY h.i', rel) USING v;
END
$$;
COMMENT ON FUNCTION @extschema@.loss_history(text, integer) IS
    'the loss after each iteration, epoch or boosting round of a version (the deployed one by default): training loss, or validation loss where early stopping used it; iteration 0 is the starting point where it is kept';

-- ---------- the model report: one self-contained HTML page ----------

CREATE FUNCTION @extschema@.report_html(s text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT replace(replace(replace(replace(s, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;') $$;
COMMENT ON FUNCTION @extschema@.report_html(text) IS 'text escaped for HTML (used by reframe.report)';

-- an SVG line chart of a jsonb array of points, x and y naming their keys
CREATE FUNCTION @extschema@.report_line_chart(title text, points jsonb, x text, y text,
                                               diagonal boolean DEFAULT false) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    w constant int := 420;
    h constant int := 300;
    m constant int := 45;
    x0 float8; x1 float8; y0 float8; y1 float8;
    path text;
BEGIN
    IF points IS NULL OR jsonb_array_length(points) = 0 THEN
        RETURN '';
    END IF;
    SELECT min((p->>x)::float8), max((p->>x)::float8), min((p->>y)::float8), max((p->>y)::float8)
      INTO x0, x1, y0, y1 FROM jsonb_array_elements(points) p;
    IF diagonal THEN
        x0 := 0; x1 := 1; y0 := 0; y1 := 1;
    END IF;
    IF x1 <= x0 THEN x1 := x0 + 1; END IF;
    IF y1 <= y0 THEN y1 := y0 + 1; END IF;
    SELECT string_agg(format('%s,%s', round((m + (w - 2 * m) * ((p->>x)::float8 - x0) / (x1 - x0))::numeric, 1),
                                      round((h - m - (h - 2 * m) * ((p->>y)::float8 - y0) / (y1 - y0))::numeric, 1)), ' '
                      ORDER BY (p->>x)::float8, (p->>y)::float8)
      INTO path FROM jsonb_array_elements(points) p;
    RETURN format('<figure><svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-label="%s">'
                  '<rect x="%s" y="%s" width="%s" height="%s" fill="#fafafa" stroke="#999"/>%s'
                  '<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="%s"/>'
                  '<text x="%s" y="%s" text-anchor="middle" font-size="12">%s</text>'
                  '<text x="12" y="%s" text-anchor="middle" font-size="12" transform="rotate(-90 12 %s)">%s</text>'
                  '<text x="%s" y="%s" font-size="10">%s</text><text x="%s" y="%s" font-size="10" text-anchor="end">%s</text>'
                  '<text x="%s" y="%s" font-size="10" text-anchor="end">%s</text><text x="%s" y="%s" font-size="10" text-anchor="end">%s</text>'
                  '</svg><figcaption>%s</figcaption></figure>',
                  w, h, w, h, @extschema@.report_html(title),
                  m, m, w - 2 * m, h - 2 * m,
                  CASE WHEN diagonal THEN format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#bbb" stroke-dasharray="4"/>', m, h - m, w - m, m) ELSE '' END,
                  path, w / 2, h - 8, @extschema@.report_html(x), h / 2, h / 2, @extschema@.report_html(y),
                  m, h - m + 14, round(x0::numeric, 3), w - m, h - m + 14, round(x1::numeric, 3),
                  m - 4, h - m, round(y0::numeric, 3), m - 4, m + 4, round(y1::numeric, 3),
                  @extschema@.report_html(title));
END
$$;
COMMENT ON FUNCTION @extschema@.report_line_chart(text, jsonb, text, text, boolean) IS 'an SVG line chart of jsonb points (used by reframe.report)';

-- an SVG bar chart, one horizontal bar a label
CREATE FUNCTION @extschema@.report_bar_chart(title text, labels text[], vals double precision[]) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    n int := coalesce(cardinality(labels), 0);
    top float8;
    bars text := '';
BEGIN
    IF n = 0 THEN
        RETURN '';
    END IF;
    SELECT greatest(max(v), 1e-300) INTO top FROM unnest(vals) v;
    FOR i IN 1..n LOOP
        bars := bars || format('<text x="150" y="%s" font-size="12" text-anchor="end">%s</text>'
                               '<rect class="bar" x="155" y="%s" width="%s" height="16" fill="#1f6feb"/>'
                               '<text x="%s" y="%s" font-size="11">%s</text>',
                               18 + 22 * i, @extschema@.report_html(labels[i]), 5 + 22 * i,
                               round((240 * vals[i] / top)::numeric, 1), 160 + round((240 * vals[i] / top)::numeric, 1),
                               18 + 22 * i, round(vals[i]::numeric, 4));
    END LOOP;
    RETURN format('<figure><svg class="chart" xmlns="http://www.w3.org/2000/svg" width="480" height="%s" role="img" aria-label="%s">%s</svg>'
                  '<figcaption>%s</figcaption></figure>',
                  30 + 22 * n, @extschema@.report_html(title), bars, @extschema@.report_html(title));
END
$$;
COMMENT ON FUNCTION @extschema@.report_bar_chart(text, text[], double precision[]) IS 'an SVG bar chart (used by reframe.report)';

-- a jsonb object of scalars as an HTML table of two columns, nested objects flattened
CREATE FUNCTION @extschema@.report_metrics_table(title text, metrics jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT '<table class="metrics"><caption>' || @extschema@.report_html(title) || '</caption><tr><th>metric</th><th>value</th></tr>' ||
           coalesce(string_agg(format('<tr><td>%s</td><td>%s</td></tr>', @extschema@.report_html(k),
                                      @extschema@.report_html(v)), '' ORDER BY k), '') || '</table>'
      FROM (SELECT e.key AS k, CASE WHEN jsonb_typeof(e.value) = 'number' THEN rtrim(rtrim(round((e.value #>> '{}')::numeric, 5)::text, '0'), '.')
                                    ELSE e.value #>> '{}' END AS v
              FROM jsonb_each(metrics) e WHERE jsonb_typeof(e.value) IN ('number', 'string', 'boolean')
            UNION ALL
            SELECT e.key || '.' || f.key, CASE WHEN jsonb_typeof(f.value) = 'number' THEN rtrim(rtrim(round((f.value #>> '{}')::numeric, 5)::text, '0'), '.')
                                               ELSE f.value #>> '{}' END
              FROM jsonb_each(metrics) e, jsonb_each(CASE WHEN jsonb_typeof(e.value) = 'object' THEN e.value ELSE '{}' END) f
             WHERE jsonb_typeof(f.value) IN ('number', 'string', 'boolean')) x
$$;
COMMENT ON FUNCTION @extschema@.report_metrics_table(text, jsonb) IS 'metrics as an HTML table (used by reframe.report)';

-- a confusion matrix (rows: actual, columns: predicted), cells shaded by share of their row
CREATE FUNCTION @extschema@.report_confusion(classes jsonb, confusion jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT '<table class="confusion"><tr><th>actual \ predicted</th>' ||
           (SELECT string_agg(format('<th>%s</th>', @extschema@.report_html(c #>> '{}')), '' ORDER BY i) FROM jsonb_array_elements(classes) WITH ORDINALITY t(c, i)) ||
           '</tr>' ||
           (SELECT string_agg(format('<tr><th>%s</th>%s</tr>', @extschema@.report_html(classes->>(r.i::int - 1)),
                   (SELECT string_agg(format('<td style="background: rgba(31,111,235,%s)">%s</td>',
                                             round((v::text::float8 / greatest((SELECT sum(x::text::float8) FROM jsonb_array_elements(r.row) x), 1))::numeric, 2),
                                             v #>> '{}'), '' ORDER BY j)
                      FROM jsonb_array_elements(r.row) WITH ORDINALITY u(v, j))), '' ORDER BY r.i)
              FROM jsonb_array_elements(confusion) WITH ORDINALITY r(row, i)) ||
           '</table>'
$$;
COMMENT ON FUNCTION @extschema@.report_confusion(jsonb, jsonb) IS 'a confusion matrix as an HTML table (used by reframe.report)';

-- a binary target as the curves take it: a boolean, or 0/1 or a share (soft label) at 0.5
CREATE FUNCTION @extschema@.report_label(y boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT y $$;
CREATE FUNCTION @extschema@.report_label(y double precision) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT y >= 0.5 $$;
COMMENT ON FUNCTION @extschema@.report_label(boolean) IS 'a binary target as a boolean (used by reframe.report)';
COMMENT ON FUNCTION @extschema@.report_label(double precision) IS 'a 0/1 or soft binary target as a boolean, at 0.5 (used by reframe.report)';

CREATE FUNCTION @extschema@.report(model text, source text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    rel regclass := @extschema@.model_table(model);
    spec jsonb;
    v integer;
    versions text;
    src text;
    data_sql text;
    inputs text;
    target text;
    head jsonb;
    kind text;
    ev jsonb;
    curves record;
    imp text := '';
    loss jsonb;
    drift text;
    body text := '';
BEGIN
    EXECUTE format('SELECT version, spec FROM %s WHERE block = '''' AND deployed ORDER BY version DESC LIMIT 1', rel) INTO v, spec;
    IF v IS NULL THEN
        RAISE EXCEPTION 'model "%" has no deployed version', model USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF spec->>'task' = 'blend' THEN
        RAISE EXCEPTION 'report: "%" is a blend; report on its models', model USING ERRCODE = 'wrong_object_type';
    END IF;
    EXECUTE format('SELECT string_agg(format(''<tr><td>%%s</td><td>%%s</td><td>%%s</td><td>%%s</td><td>%%s</td></tr>'',
                       version, created::timestamp(0), CASE WHEN deployed THEN ''deployed'' ELSE '''' END,
                       spec->''network''->>''family'', coalesce(round((spec->''selection''->>''value'')::numeric, 5)::text, '''')), '''' ORDER BY version DESC)
                      FROM %s WHERE block = ''''', rel) INTO versions;
    head := spec->'network'->'heads'->0;
    kind := head->>'kind';
    target := spec->'targets'->>0;
    src := coalesce(source, spec->>'source');
    IF src !~* '^\s*(select|with|values|table)\M' THEN
        src := 'SELECT * FROM ' || src;
    END IF;
    ev := @extschema@.evaluate(model, src);
    -- the inputs alone, by position: a Citus distributed source ships its
    -- rows between nodes without field names
    SELECT string_agg(format('report_row.%I', c->>'name'), ', ' ORDER BY i) INTO inputs
      FROM jsonb_array_elements(spec->'encoder'->'columns') WITH ORDINALITY AS e(c, i);
    data_sql := format('SELECT @extschema@.score(%L, ROW(%s)) AS s, report_row.%I AS y FROM (%s) report_row WHERE report_row.%I IS NOT NULL LIMIT 200000',
                       model, inputs, target, src, target);
    IF jsonb_array_length(spec->'network'->'heads') = 1 AND kind = 'binary' THEN
        EXECUTE format('SELECT @extschema@.roc_curve(s, @extschema@.report_label(y)) AS roc, @extschema@.pr_curve(s, @extschema@.report_label(y)) AS pr,
                               @extschema@.calibration(s, @extschema@.report_label(y)) AS cal FROM (%s) d', data_sql) INTO curves;
        body := body || '<h2>Curves</h2><div class="charts">'
                || @extschema@.report_line_chart('ROC curve', curves.roc, 'fpr', 'tpr', true)
                || @extschema@.report_line_chart('Precision-recall curve', curves.pr, 'recall', 'precision', true)
                || @extschema@.report_line_chart('Calibration', curves.cal, 'mean_predicted', 'fraction_positive', true)
                || '</div>';
    ELSIF jsonb_array_length(spec->'network'->'heads') = 1 AND kind = 'regression' THEN
        EXECUTE format('SELECT @extschema@.residuals(s, y::float8) AS res FROM (%s) d', data_sql) INTO curves;
        body := body || '<h2>Residuals</h2><div class="charts">'
                || @extschema@.report_line_chart('Mean actual by decile of the prediction', curves.res, 'mean_predicted', 'mean_actual')
                || @extschema@.report_line_chart('Mean residual by decile of the prediction', curves.res, 'decile', 'mean_residual')
                || '</div>';
    END IF;
    IF jsonb_typeof(ev->'metrics'->'confusion'->'counts') = 'array' THEN
        body := '<h2>Confusion matrix</h2>'
                || @extschema@.report_confusion(ev->'metrics'->'confusion'->'classes', ev->'metrics'->'confusion'->'counts') || body;
    END IF;
    BEGIN
        SELECT @extschema@.report_bar_chart('Importance', array_agg(feature ORDER BY importance DESC), array_agg(importance ORDER BY importance DESC))
          INTO imp FROM @extschema@.importance(model);
        imp := '<h2>Importance</h2>' || imp;
    EXCEPTION WHEN feature_not_supported THEN
        imp := '';
    END;
    IF source IS NOT NULL THEN
        -- how the source's inputs and scores differ from the training source's
        BEGIN
            SELECT '<h2>Drift</h2><table><tr><th>input</th><th>kind</th><th>population stability index</th></tr>'
                   || string_agg(pg_catalog.format('<tr><td>%s</td><td>%s</td><td>%s</td></tr>', @extschema@.report_html(d.feature),
                                                   d.kind, round(d.psi::numeric, 4)), '' ORDER BY d.psi DESC) || '</table>'
              INTO drift FROM @extschema@.drift(model, source) d;
        EXCEPTION WHEN object_not_in_prerequisite_state THEN
            drift := NULL;
        END;
    END IF;
    SELECT jsonb_agg(jsonb_build_object('iteration', iteration, 'loss', l.loss)) INTO loss FROM @extschema@.loss_history(model) l;
    RETURN '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>reframe: ' || @extschema@.report_html(model) || '</title>'
        || '<style>body{font-family:sans-serif;margin:2em;color:#222;max-width:1400px}table{border-collapse:collapse;margin:.5em 0}'
        || 'td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f0f0f0}.charts{display:flex;flex-wrap:wrap;gap:1em}'
        || 'figure{margin:0}figcaption,caption{font-size:12px;color:#555;text-align:center}</style></head><body>'
        || format('<h1>Model %s</h1><p>Version %s (deployed), task %s, family %s, trained on %s rows (%s held out for validation).</p>',
                  @extschema@.report_html(model), v, @extschema@.report_html(spec->>'task'),
                  @extschema@.report_html(coalesce(spec->'network'->>'family', 'linear')),
                  spec->'training'->>'rows', spec->'training'->>'validation_rows')
        || '<h2>Versions</h2><table><tr><th>version</th><th>created</th><th></th><th>family</th><th>validation metric</th></tr>' || versions || '</table>'
        || '<h2>Training metrics</h2><div class="charts">'
        || coalesce(@extschema@.report_metrics_table('training rows', spec->'metrics'->'training'), '')
        || coalesce(@extschema@.report_metrics_table('validation rows', spec->'metrics'->'validation'), '') || '</div>'
        || format('<h2>On %s</h2>', CASE WHEN source IS NULL THEN 'the training source' ELSE @extschema@.report_html(source) END)
        || coalesce(@extschema@.report_metrics_table('every row', ev->'metrics'), '')
        || body || coalesce(drift, '') || imp
        || CASE WHEN loss IS NULL THEN '' ELSE '<h2>Training loss</h2>' || @extschema@.report_line_chart('Loss by iteration', loss, 'iteration', 'loss') END
        || '<p><small>reframe ' || (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'reframe') || '</small></p></body></html>';
END
$$;
COMMENT ON FUNCTION @extschema@.report(text, text) IS
    'one self-contained HTML page (inline SVG, nothing fetched) on the deployed version: versions, metrics, confusion matrix, curves, importance and the loss, on the training source or on source';

-- global explanation: the mean absolute contribution of each column over a query
CREATE FUNCTION @extschema@.explain_all(model text, source text, output text DEFAULT NULL)
    RETURNS TABLE (feature text, mean_abs_contribution double precision, mean_contribution double precision, rows bigint)
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    src text := source;
BEGIN
    IF src IS NULL THEN
        RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF src !~* '^\s*(select|with|values|table)\M' THEN
        src := 'SELECT * FROM ' || src;
    END IF;
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT c.key, pg_catalog.avg(abs(c.value::double precision)), pg_catalog.avg(c.value::double precision), pg_catalog.count(*)
           FROM (%s) explained_row, pg_catalog.jsonb_each_text(@extschema@.explain(%L, explained_row, %L)->''contributions'') c
          GROUP BY c.key ORDER BY 2 DESC, 1', src, model, output);
END
$$;
COMMENT ON FUNCTION @extschema@.explain_all(text, text, text) IS
    'global explanation: each column''s mean absolute (and mean) contribution to the margin over the rows of a table or query';

-- the split draw of a split_by value: rows whose draw is below the held-out
-- fraction are validation rows; fold i of k holds draws in [i/k, (i+1)/k)
CREATE FUNCTION @extschema@.split_fraction(value text, seed bigint DEFAULT 0) RETURNS double precision
    AS 'MODULE_PATHNAME', 'reframe_split_fraction' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.split_fraction(text, bigint) IS
    'the split draw of a "split_by" value (its text), in [0, 1): below "validation" it is held out; fold i of k holds [i/k, (i+1)/k)';

CREATE FUNCTION @extschema@.cross_validate_folds(source text, target text, task text, options jsonb, folds integer)
    RETURNS jsonb AS 'MODULE_PATHNAME', 'reframe_cross_validate_folds' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.cross_validate_folds(text, text, text, jsonb, integer) IS
    'each fold''s figures of a k-fold cross-validation (used by reframe.cross_validate)';

CREATE FUNCTION @extschema@.cross_validate(source text, target text, task text DEFAULT NULL,
                                           options jsonb DEFAULT '{}', folds integer DEFAULT 5) RETURNS jsonb
    LANGUAGE sql VOLATILE
AS $$
    SELECT pg_catalog.jsonb_build_object(
             'folds', f,
             'selection', pg_catalog.jsonb_build_object(
                 'metric', f->0->'selection'->>'metric',
                 'mean', (SELECT pg_catalog.avg((e->'selection'->>'value')::double precision) FROM pg_catalog.jsonb_array_elements(f) e)),
             'mean', (SELECT pg_catalog.jsonb_object_agg(key, m)
                        FROM (SELECT v.key, pg_catalog.avg(v.value::text::double precision) AS m
                                FROM pg_catalog.jsonb_array_elements(f) e, pg_catalog.jsonb_each(e->'metrics'->'validation') v
                               WHERE pg_catalog.jsonb_typeof(v.value) = 'number' GROUP BY v.key) x))
      FROM (SELECT @extschema@.cross_validate_folds(source, target, task, options, folds) AS f) y
$$;
COMMENT ON FUNCTION @extschema@.cross_validate(text, text, text, jsonb, integer) IS
    'k-fold cross-validation without storing a version: each fold''s metrics, their means, and the mean selection metric';

CREATE FUNCTION @extschema@.trials(model text, version integer DEFAULT NULL)
    RETURNS TABLE (trial integer, options jsonb, loss double precision, chosen boolean)
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    rel regclass := @extschema@.model_table(model);
    v integer := @extschema@.version_or_deployed(rel, model, version, 'trials');
    m jsonb;
BEGIN
    EXECUTE pg_catalog.format('SELECT spec->''metrics'' FROM %s WHERE block = '''' AND version = $1', rel) INTO m USING v;
    IF m IS NULL THEN
        RAISE EXCEPTION 'model "%" has no version %', model, v USING ERRCODE = 'undefined_object';
    ELSIF m ? 'search' THEN
        RETURN QUERY SELECT t.i::integer, t.e->'options', (t.e->>'loss')::double precision,
                            t.e->'options' = m->'search'->'chosen'->'options'
                       FROM pg_catalog.jsonb_array_elements(m->'search'->'trials') WITH ORDINALITY AS t(e, i);
    ELSIF m->'auto' ? 'candidates' THEN
        RETURN QUERY SELECT t.i::integer, t.e - 'loss' - 'folds',
                            (t.e->>'loss')::double precision, t.e->'model' = m->'auto'->'chosen'->'model'
                       FROM pg_catalog.jsonb_array_elements(m->'auto'->'candidates') WITH ORDINALITY AS t(e, i);
    ELSIF m ? 'auto' THEN
        RAISE EXCEPTION 'version % of model "%" tried no candidates: the default chose the % family', v, model,
                        m->'auto'->'chosen'->>'model'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('Why: %s.', m->'auto'->>'reason'),
                  HINT = 'reframe.cross_validate measures other options.';
    ELSE
        RAISE EXCEPTION 'version % of model "%" was trained without "search" or "model": "auto"', v, model
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Its options are in reframe.models; reframe.cross_validate measures other options.';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.trials(text, integer) IS
    'the options tried by "search" or "model": "auto" for a version (the deployed one by default), each with its cross-validated loss, and which was chosen';

-- Weighted variants of the metric aggregates (a row's weight: a number
-- >= 0; NULL skips the row), and metrics of soft labels (the share of
-- annotators who said true, in [0, 1]): the same {weight, sum} states,
-- combine and final functions as the unweighted ones.
CREATE FUNCTION @extschema@.sq_err_accum(double precision[], double precision, double precision, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_sq_err_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.abs_err_accum(double precision[], double precision, double precision, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_abs_err_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.log_loss_accum(double precision[], double precision, boolean, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_log_loss_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.soft_log_loss_accum(double precision[], double precision, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_soft_log_loss_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.soft_log_loss_accum(double precision[], double precision, double precision, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_soft_log_loss_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.brier_accum(double precision[], double precision, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_brier_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.brier_accum(double precision[], double precision, double precision, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_brier_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cross_entropy_accum(double precision[], double precision[], integer, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_cross_entropy_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.accuracy_accum(double precision[], anyelement, anyelement, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_accuracy_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE @extschema@.rmse(pred double precision, actual double precision, weight double precision) (
    SFUNC = @extschema@.sq_err_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.rmse_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.mae(pred double precision, actual double precision, weight double precision) (
    SFUNC = @extschema@.abs_err_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.log_loss(p double precision, y boolean, weight double precision) (
    SFUNC = @extschema@.log_loss_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.log_loss(p double precision, y double precision) (
    SFUNC = @extschema@.soft_log_loss_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.log_loss(p double precision, y double precision, weight double precision) (
    SFUNC = @extschema@.soft_log_loss_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.brier(p double precision, y double precision) (
    SFUNC = @extschema@.brier_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.brier(p double precision, y double precision, weight double precision) (
    SFUNC = @extschema@.brier_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.cross_entropy(p double precision[], class integer, weight double precision) (
    SFUNC = @extschema@.cross_entropy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
-- no combine function: Citus could not check a polymorphic aggregate's
-- arguments on its workers (XX000); without one it runs on the coordinator
CREATE AGGREGATE @extschema@.accuracy(pred anyelement, actual anyelement, weight double precision) (
    SFUNC = @extschema@.accuracy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.log_loss(double precision, double precision) IS
    'mean log loss against soft labels (the share of annotators who said true, in [0, 1])';
COMMENT ON AGGREGATE @extschema@.brier(double precision, double precision) IS
    'Brier score: mean squared gap between probabilities and (soft) labels';

-- accuracy over text (predict's type) without polymorphism: Citus runs
-- aggregates on its workers only when their argument types are concrete
CREATE FUNCTION @extschema@.accuracy_accum(double precision[], text, text)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_accuracy_text_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.accuracy_accum(double precision[], text, text, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_accuracy_text_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE @extschema@.accuracy(pred text, actual text) (
    SFUNC = @extschema@.accuracy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.accuracy(pred text, actual text, weight double precision) (
    SFUNC = @extschema@.accuracy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.accuracy(text, text) IS 'share of rows where prediction equals actual';

-- the same for the other types a label has (a boolean target, classes as
-- numbers), so that Citus pushes accuracy(predict(...)::boolean, y) down too
CREATE FUNCTION @extschema@.accuracy_accum(double precision[], boolean, boolean)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_accuracy_datum_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.accuracy_accum(double precision[], boolean, boolean, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_accuracy_datum_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE @extschema@.accuracy(pred boolean, actual boolean) (
    SFUNC = @extschema@.accuracy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.accuracy(pred boolean, actual boolean, weight double precision) (
    SFUNC = @extschema@.accuracy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.accuracy(boolean, boolean) IS 'share of rows where prediction equals actual';
CREATE FUNCTION @extschema@.accuracy_accum(double precision[], integer, integer)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_accuracy_datum_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.accuracy_accum(double precision[], integer, integer, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_accuracy_datum_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE @extschema@.accuracy(pred integer, actual integer) (
    SFUNC = @extschema@.accuracy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.accuracy(pred integer, actual integer, weight double precision) (
    SFUNC = @extschema@.accuracy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.accuracy(integer, integer) IS 'share of rows where prediction equals actual';
CREATE FUNCTION @extschema@.accuracy_accum(double precision[], bigint, bigint)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_accuracy_datum_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.accuracy_accum(double precision[], bigint, bigint, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_accuracy_datum_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE @extschema@.accuracy(pred bigint, actual bigint) (
    SFUNC = @extschema@.accuracy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.accuracy(pred bigint, actual bigint, weight double precision) (
    SFUNC = @extschema@.accuracy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.accuracy(bigint, bigint) IS 'share of rows where prediction equals actual';
CREATE FUNCTION @extschema@.accuracy_accum(double precision[], double precision, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_accuracy_float8_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.accuracy_accum(double precision[], double precision, double precision, double precision)
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_accuracy_float8_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE @extschema@.accuracy(pred double precision, actual double precision) (
    SFUNC = @extschema@.accuracy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.accuracy(pred double precision, actual double precision, weight double precision) (
    SFUNC = @extschema@.accuracy_accum, STYPE = double precision[], INITCOND = '{0,0}',
    FINALFUNC = @extschema@.mean_final, COMBINEFUNC = @extschema@.sum_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.accuracy(double precision, double precision) IS 'share of rows where prediction equals actual';

-- Streaming least squares: the moments of [x, 1, y] by split set (and inner
-- fold), an aggregate with a bytea state and a combine function, so that
-- parallel workers and Citus workers each sum their part (src/stream/moments.c)
CREATE FUNCTION @extschema@.moments_accum(bytea, bytea, double precision[], double precision[], text[], double precision)
    RETURNS bytea AS 'MODULE_PATHNAME', 'reframe_moments_accum'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.moments_combine(bytea, bytea)
    RETURNS bytea AS 'MODULE_PATHNAME', 'reframe_moments_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE @extschema@.moments(config bytea, x double precision[], y double precision[], t text[], w double precision) (
    SFUNC = @extschema@.moments_accum, STYPE = bytea,
    COMBINEFUNC = @extschema@.moments_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.moments(bytea, double precision[], double precision[], text[], double precision) IS
    'streaming training''s pass: the moments of squared-loss regression (called by train; config made by it)';

-- Streaming L-BFGS: one pass per evaluation of a linear model's objective,
-- its loss and gradient summed in a bytea state with a combine function
-- (src/stream/gradient.c)
CREATE FUNCTION @extschema@.gradient_accum(bytea, bytea, double precision[], double precision[], text[], double precision)
    RETURNS bytea AS 'MODULE_PATHNAME', 'reframe_gradient_accum'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.gradient_combine(bytea, bytea)
    RETURNS bytea AS 'MODULE_PATHNAME', 'reframe_gradient_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE @extschema@.gradient(config bytea, x double precision[], y double precision[], t text[], w double precision) (
    SFUNC = @extschema@.gradient_accum, STYPE = bytea,
    COMBINEFUNC = @extschema@.gradient_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.gradient(bytea, double precision[], double precision[], text[], double precision) IS
    'streaming training''s loss-and-gradient pass (called by train; config made by it)';

-- ---------------------------------------------------------------------------
-- Integer and numeric feature arrays (ARRAY[1500, 3, 20], ARRAY[1.5, 3]),
-- which would otherwise match the real[] and double precision[] forms alike
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.score(model text, features integer[], output text DEFAULT NULL)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'reframe_score' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.score(model text, features bigint[], output text DEFAULT NULL)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'reframe_score' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.score(model text, features numeric[], output text DEFAULT NULL)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'reframe_score' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.score(text, integer[], text) IS
    'score features (an array in training order) with the deployed version of a model';
COMMENT ON FUNCTION @extschema@.score(text, bigint[], text) IS
    'score features (an array in training order) with the deployed version of a model';
COMMENT ON FUNCTION @extschema@.score(text, numeric[], text) IS
    'score features (an array in training order) with the deployed version of a model';

CREATE FUNCTION @extschema@.predict(model text, features integer[], output text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'reframe_predict' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict(model text, features bigint[], output text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'reframe_predict' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict(model text, features numeric[], output text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'reframe_predict' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.predict(text, integer[], text) IS
    'the predicted value of a model for features, as text';
COMMENT ON FUNCTION @extschema@.predict(text, bigint[], text) IS
    'the predicted value of a model for features, as text';
COMMENT ON FUNCTION @extschema@.predict(text, numeric[], text) IS
    'the predicted value of a model for features, as text';

CREATE FUNCTION @extschema@.predict_proba(model text, features integer[], output text DEFAULT NULL)
    RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'reframe_predict_proba' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict_proba(model text, features bigint[], output text DEFAULT NULL)
    RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'reframe_predict_proba' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict_proba(model text, features numeric[], output text DEFAULT NULL)
    RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'reframe_predict_proba' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.predict_proba(text, integer[], text) IS
    'class probabilities, in the order of reframe.classes()';
COMMENT ON FUNCTION @extschema@.predict_proba(text, bigint[], text) IS
    'class probabilities, in the order of reframe.classes()';
COMMENT ON FUNCTION @extschema@.predict_proba(text, numeric[], text) IS
    'class probabilities, in the order of reframe.classes()';

CREATE FUNCTION @extschema@.predict_labels(model text, features integer[],
    threshold double precision DEFAULT NULL, top_k integer DEFAULT NULL, at_least_one boolean DEFAULT false,
    output text DEFAULT NULL)
    RETURNS text[]
    AS 'MODULE_PATHNAME', 'reframe_predict_labels' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict_labels(model text, features bigint[],
    threshold double precision DEFAULT NULL, top_k integer DEFAULT NULL, at_least_one boolean DEFAULT false,
    output text DEFAULT NULL)
    RETURNS text[]
    AS 'MODULE_PATHNAME', 'reframe_predict_labels' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict_labels(model text, features numeric[],
    threshold double precision DEFAULT NULL, top_k integer DEFAULT NULL, at_least_one boolean DEFAULT false,
    output text DEFAULT NULL)
    RETURNS text[]
    AS 'MODULE_PATHNAME', 'reframe_predict_labels' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.predict_labels(text, integer[], double precision, integer, boolean, text) IS
    'the labels of a multilabel model (or of its head named by output), by threshold or top_k';
COMMENT ON FUNCTION @extschema@.predict_labels(text, bigint[], double precision, integer, boolean, text) IS
    'the labels of a multilabel model (or of its head named by output), by threshold or top_k';
COMMENT ON FUNCTION @extschema@.predict_labels(text, numeric[], double precision, integer, boolean, text) IS
    'the labels of a multilabel model (or of its head named by output), by threshold or top_k';

CREATE FUNCTION @extschema@.predict_all(model text, features integer[]) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_predict_all' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict_all(model text, features bigint[]) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_predict_all' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.predict_all(model text, features numeric[]) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_predict_all' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.predict_all(text, integer[]) IS 'every output of a model from one pass, as jsonb';
COMMENT ON FUNCTION @extschema@.predict_all(text, bigint[]) IS 'every output of a model from one pass, as jsonb';
COMMENT ON FUNCTION @extschema@.predict_all(text, numeric[]) IS 'every output of a model from one pass, as jsonb';

CREATE FUNCTION @extschema@.explain(model text, features integer[], output text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_explain' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.explain(model text, features bigint[], output text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_explain' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
CREATE FUNCTION @extschema@.explain(model text, features numeric[], output text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'reframe_explain' LANGUAGE C STABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.explain(text, integer[], text) IS
    'why a row scores what it scores: {"base": b, "contributions": {column: c}}, base + contributions = the output''s margin (exact for linear and trees models)';
COMMENT ON FUNCTION @extschema@.explain(text, bigint[], text) IS
    'why a row scores what it scores: {"base": b, "contributions": {column: c}}, base + contributions = the output''s margin (exact for linear and trees models)';
COMMENT ON FUNCTION @extschema@.explain(text, numeric[], text) IS
    'why a row scores what it scores: {"base": b, "contributions": {column: c}}, base + contributions = the output''s margin (exact for linear and trees models)';

-- Citus: model tables that are local to the coordinator (restored from a
-- dump, or made before the workers were added) become reference tables
CREATE FUNCTION @extschema@.replicate_models() RETURNS SETOF regclass
    LANGUAGE plpgsql
AS $$
DECLARE
    rel regclass;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RAISE EXCEPTION 'reframe.replicate_models needs Citus, which is not installed in this database'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF NOT pg_catalog.citus_is_coordinator() THEN
        RAISE EXCEPTION 'reframe.replicate_models runs on the Citus coordinator'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Connect to the coordinator: its model tables are the ones replicated.';
    END IF;
    FOR rel IN
        SELECT c.oid::regclass FROM pg_catalog.pg_class c
        WHERE c.reloftype = '@extschema@.model_row'::pg_catalog.regtype AND c.relkind = 'r'
          AND c.relpersistence = 'p'
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = c.oid)
        ORDER BY c.oid::regclass::text
    LOOP
        -- the change trigger is wanted on every copy (see README, Citus)
        PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
        PERFORM pg_catalog.create_reference_table(rel);
        RETURN NEXT rel;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.replicate_models() IS
    'on a Citus coordinator: make every model table that is local (restored from a dump, or made before the workers were added) a reference table; returns those it changed';

-- the histograms of reframe.drift, counted in parallel and on Citus workers
CREATE FUNCTION @extschema@.bin_counts_accum(double precision[], double precision, double precision[])
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_bin_counts_accum'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.category_counts_accum(double precision[], text, text[])
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_category_counts_accum'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.counts_combine(double precision[], double precision[])
    RETURNS double precision[] AS 'MODULE_PATHNAME', 'reframe_counts_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE @extschema@.bin_counts(value double precision, edges double precision[]) (
    SFUNC = @extschema@.bin_counts_accum, STYPE = double precision[], INITCOND = '{}',
    COMBINEFUNC = @extschema@.counts_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.bin_counts(double precision, double precision[]) IS
    'rows by bin of increasing edges (bin i: i edges at or below the value, as width_bucket), then the NULLs';
CREATE AGGREGATE @extschema@.category_counts(value text, categories text[]) (
    SFUNC = @extschema@.category_counts_accum, STYPE = double precision[], INITCOND = '{}',
    COMBINEFUNC = @extschema@.counts_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.category_counts(text, text[]) IS
    'rows by category, then the rows of any other value, then the NULLs';

-- ---------------------------------------------------------------------------
-- Drift: each version keeps reference distributions of its inputs and of its
-- score (spec "reference"), measured on its source when it is stored;
-- reframe.drift compares a source with them.  Both count rows by aggregates
-- (count(*) FILTER ...), which run in parallel and on Citus's workers.
-- ---------------------------------------------------------------------------

-- the header spec of version v of a model; an error when it has none
CREATE FUNCTION @extschema@.version_spec(rel regclass, model text, v integer) RETURNS jsonb
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    spec jsonb;
BEGIN
    EXECUTE pg_catalog.format('SELECT spec FROM %s WHERE version = $1 AND block = ''''', rel) INTO spec USING v;
    IF spec IS NULL THEN
        RAISE EXCEPTION 'model "%" has no version %', model, v USING ERRCODE = 'undefined_object';
    END IF;
    RETURN spec;
END
$$;

-- a source as a query: a table or view's name becomes SELECT * FROM it
CREATE FUNCTION @extschema@.source_query(source text) RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN source ~* '^\s*(select|with|values|table)\M' THEN source ELSE 'SELECT * FROM ' || source END
$$;

-- a reference read from a model table is untrusted: its bins checked whole
-- (increasing numeric edges or text categories, one share in [0, 1] per bin
-- and one for the missing values) before anything is counted with it
CREATE FUNCTION @extschema@.drift_check_reference(ref jsonb, model text, v integer) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    c jsonb;
    bins integer;
    fault text;
BEGIN
    IF jsonb_typeof(ref) <> 'object' OR jsonb_typeof(ref->'columns') IS DISTINCT FROM 'array'
       OR (ref ? 'score' AND jsonb_typeof(ref->'score') <> 'object') THEN
        fault := 'it is not an object of "columns" and an optional "score"';
    END IF;
    FOR c IN SELECT x FROM pg_catalog.jsonb_array_elements(CASE WHEN fault IS NULL THEN ref->'columns' ELSE '[]' END
                                                           || CASE WHEN ref ? 'score' AND fault IS NULL THEN jsonb_build_array(ref->'score') ELSE '[]' END) x LOOP
        EXIT WHEN fault IS NOT NULL;
        IF jsonb_typeof(c) <> 'object' OR jsonb_typeof(c->'name') IS DISTINCT FROM 'string' THEN
            fault := 'an input without a name';
        ELSIF jsonb_typeof(c->'edges') = 'array' THEN
            IF EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(c->'edges') e WHERE jsonb_typeof(e) <> 'number')
               OR EXISTS (SELECT 1 FROM (SELECT e::text::float8 AS x, lag(e::text::float8) OVER (ORDER BY i) AS p
                                           FROM pg_catalog.jsonb_array_elements(c->'edges') WITH ORDINALITY AS a(e, i)) d
                           WHERE d.x <= d.p) THEN
                fault := pg_catalog.format('input "%s" has edges that are not increasing numbers', c->>'name');
            END IF;
            bins := jsonb_array_length(c->'edges') + 2;
        ELSIF jsonb_typeof(c->'categories') = 'array' THEN
            IF EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(c->'categories') e WHERE jsonb_typeof(e) <> 'string') THEN
                fault := pg_catalog.format('input "%s" has categories that are not text', c->>'name');
            END IF;
            bins := jsonb_array_length(c->'categories') + 2;
        ELSE
            fault := pg_catalog.format('input "%s" has neither edges nor categories', c->>'name');
        END IF;
        IF fault IS NULL AND (jsonb_typeof(c->'shares') IS DISTINCT FROM 'array' OR jsonb_array_length(c->'shares') <> bins
           OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(c->'shares') e
                       WHERE jsonb_typeof(e) <> 'number' OR e::text::float8 < 0 OR e::text::float8 > 1)) THEN
            fault := pg_catalog.format('input "%s" needs %s shares in [0, 1], one per bin and one for missing values', c->>'name', bins);
        END IF;
    END LOOP;
    IF fault IS NOT NULL THEN
        RAISE EXCEPTION 'model "%" version % is corrupt: its reference distributions: %', model, v, fault
            USING ERRCODE = 'data_corrupted',
                  HINT = 'A model table holds what reframe.train wrote; retrain the model, or restore the table from a dump.';
    END IF;
END
$$;

-- a query's one jsonb value, by RETURN QUERY, which may run it in parallel
-- (EXECUTE ... INTO may not)
CREATE FUNCTION @extschema@.drift_query(sql text) RETURNS SETOF jsonb
    LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY EXECUTE sql;
END
$$;

-- the model's inputs, for a row without field names: ROW(s.a, s.b, ...)
CREATE FUNCTION @extschema@.drift_inputs(spec jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$
    SELECT 'ROW(' || string_agg(pg_catalog.format('s.%I', c->>'name'), ', ' ORDER BY i) || ')'
      FROM pg_catalog.jsonb_array_elements(spec->'encoder'->'columns') WITH ORDINALITY AS e(c, i)
$$;

-- the counts of one reference column's bins (then of its missing values), as SQL
CREATE FUNCTION @extschema@.drift_bins_sql(c jsonb, value text) RETURNS text
    LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN c ? 'edges'
                THEN pg_catalog.format('@extschema@.bin_counts(%s::float8, %L::float8[])', value,
                                       ARRAY(SELECT pg_catalog.jsonb_array_elements_text(c->'edges')::float8))
                ELSE pg_catalog.format('@extschema@.category_counts(%s::text, %L::text[])', value,
                                       ARRAY(SELECT pg_catalog.jsonb_array_elements_text(c->'categories')))
           END
$$;

-- every reference column's bin counts over a source, in one scan: a JSON
-- array of float8 arrays in the reference's order (the score's last), and
-- the row count
CREATE FUNCTION @extschema@.drift_counts(reference jsonb, spec jsonb, scorer text, source text,
                                         OUT counts jsonb, OUT total bigint)
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    c jsonb;
    parts text[] := '{}';
    src text := @extschema@.source_query(source);
    scored boolean := reference->'score' IS NOT NULL AND jsonb_typeof(reference->'score') = 'object';
BEGIN
    FOR c IN SELECT x FROM pg_catalog.jsonb_array_elements(reference->'columns') x LOOP
        parts := parts || @extschema@.drift_bins_sql(c, pg_catalog.format('d.%I', c->>'name'));
    END LOOP;
    IF scored THEN
        parts := parts || @extschema@.drift_bins_sql(reference->'score', 'd.reframe_score');
    END IF;
    SELECT q->0, (q->>1)::bigint INTO counts, total
      FROM @extschema@.drift_query(pg_catalog.format(
               'SELECT pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array(%s), count(*)) FROM (SELECT s.*%s FROM (%s) s) d',
               array_to_string(parts, ', '),
               CASE WHEN scored THEN pg_catalog.format(', @extschema@.score(%L, %s) AS reframe_score',
                                                       scorer, @extschema@.drift_inputs(spec)) ELSE '' END,
               src)) q;
END
$$;

-- The reference a version keeps: deciles of its numeric inputs and of its
-- score, its categories (up to 30, the most frequent), and the shares of
-- every bin (and of the missing values), over its source or, beyond 30,000
-- rows, a sample of about that many drawn by a hash of the inputs' values.  Called by reframe.train once a version is
-- written, for a version whose rows were read by aggregate passes (the others
-- measure theirs on the rows they read: src/train/reference.c); a source it
-- cannot measure leaves no reference, with a NOTICE.
CREATE FUNCTION @extschema@.drift_reference(model regclass, v integer) RETURNS jsonb
    LANGUAGE plpgsql
AS $$
DECLARE
    spec jsonb;
    src text;
    cols jsonb := '[]';
    c jsonb;
    parts text[] := '{}';
    names text[] := '{}';
    scorer text := pg_catalog.format('%s@%s', model, v);
    scored boolean;
    head jsonb;
    rows float8;
    keep text;
    edges jsonb;
    ref jsonb;
    counts jsonb;
    total bigint;
BEGIN
    EXECUTE pg_catalog.format('SELECT spec FROM %s WHERE version = $1 AND block = ''''', model) INTO spec USING v;
    IF spec IS NULL OR spec->>'task' = 'blend' THEN
        RETURN NULL;
    END IF;
    src := @extschema@.source_query(spec->>'source');
    head := spec->'network'->'heads'->0;
    scored := jsonb_array_length(spec->'network'->'heads') = 1 AND head->>'kind' IN ('binary', 'regression');
    rows := coalesce((spec->'training'->>'rows')::float8, 0) + coalesce((spec->'training'->>'validation_rows')::float8, 0);
    -- beyond 30,000 rows, a sample of about that many drawn by a hash of the inputs' values
    keep := CASE WHEN rows <= 30000 THEN 'true'
                 ELSE pg_catalog.format('((%s) & 1048575) < %s',
                        (SELECT string_agg(CASE WHEN x->>'kind' = 'numeric'
                                                THEN pg_catalog.format('coalesce(pg_catalog.hashfloat8(s.%I::float8), 0)', x->>'name')
                                                WHEN x->>'kind' = 'array'
                                                THEN pg_catalog.format('coalesce(pg_catalog.hash_array(s.%I::float8[]), 0)', x->>'name')
                                                ELSE pg_catalog.format('coalesce(pg_catalog.hashtext(s.%I::text), 0)', x->>'name') END, ' # ')
                           FROM pg_catalog.jsonb_array_elements(spec->'encoder'->'columns') x),
                        floor(1048576.0 * 30000 / rows)) END;
    FOR c IN SELECT x FROM pg_catalog.jsonb_array_elements(spec->'encoder'->'columns') x LOOP
        IF c->>'kind' = 'numeric' THEN
            names := names || (c->>'name');
            parts := parts || pg_catalog.format(
                'pg_catalog.to_jsonb(percentile_disc(ARRAY[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) WITHIN GROUP (ORDER BY d.%I::float8))',
                c->>'name');
        END IF;
    END LOOP;
    IF scored THEN
        parts := parts || 'pg_catalog.to_jsonb(percentile_disc(ARRAY[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) WITHIN GROUP (ORDER BY d.reframe_score))'::text;
    END IF;
    IF array_length(parts, 1) > 0 THEN
        SELECT q INTO edges
          FROM @extschema@.drift_query(pg_catalog.format(
                   'SELECT pg_catalog.jsonb_build_array(%s) FROM (SELECT s.*%s FROM (SELECT * FROM (%s) s WHERE %s) s) d',
                   array_to_string(parts, ', '),
                   CASE WHEN scored THEN pg_catalog.format(', @extschema@.score(%L, %s) AS reframe_score',
                                                           scorer, @extschema@.drift_inputs(spec)) ELSE '' END,
                   src, keep)) q;
    END IF;
    -- the inputs in the encoder's order: numbers by their deciles, categories by name
    FOR c IN SELECT x FROM pg_catalog.jsonb_array_elements(spec->'encoder'->'columns') x LOOP
        IF c->>'kind' = 'numeric' THEN
            cols := cols || jsonb_build_object('name', c->>'name', 'kind', 'numeric', 'edges',
                (SELECT coalesce(jsonb_agg(DISTINCT x), '[]')
                   FROM jsonb_array_elements(edges->(array_position(names, c->>'name') - 1)) x WHERE x <> 'null'));
        ELSIF c->>'kind' IN ('category', 'boolean') THEN
            cols := cols || jsonb_build_object('name', c->>'name', 'kind', 'category', 'categories',
                CASE WHEN c->>'kind' = 'boolean' THEN '["false", "true"]'::jsonb
                     ELSE (SELECT coalesce(jsonb_agg(x ORDER BY i), '[]')
                             FROM jsonb_array_elements(c->'vocab') WITH ORDINALITY AS e(x, i) WHERE i <= 30) END);
        END IF;
    END LOOP;
    ref := jsonb_build_object('columns', cols);
    IF scored THEN
        ref := ref || jsonb_build_object('score', jsonb_build_object('name', 'score', 'kind', 'score', 'edges',
            (SELECT coalesce(jsonb_agg(DISTINCT x), '[]') FROM jsonb_array_elements(edges->coalesce(array_length(names, 1), 0)) x WHERE x <> 'null')));
    END IF;
    -- the shares over the same sample (about 30,000 rows tell a share within 0.003)
    SELECT d.counts, d.total INTO counts, total
      FROM @extschema@.drift_counts(ref, spec, scorer, pg_catalog.format('SELECT * FROM (%s) s WHERE %s', src, keep)) d;
    ref := jsonb_build_object('rows', total, 'columns',
        (SELECT coalesce(jsonb_agg(x || jsonb_build_object('shares', @extschema@.drift_shares(counts->(i - 1)::int, total)) ORDER BY i), '[]')
           FROM jsonb_array_elements(ref->'columns') WITH ORDINALITY AS e(x, i)))
        || CASE WHEN scored THEN jsonb_build_object('score', (ref->'score') || jsonb_build_object('shares',
                @extschema@.drift_shares(counts->(jsonb_array_length(ref->'columns')), total))) ELSE '{}' END;
    EXECUTE pg_catalog.format('UPDATE %s SET spec = spec || jsonb_build_object(''reference'', $1::jsonb) WHERE version = $2 AND block = ''''', model)
      USING ref, v;
    RETURN ref;
EXCEPTION WHEN others THEN
    RAISE NOTICE 'model "%": version % keeps no reference for reframe.drift: %', model, v, SQLERRM;
    RETURN NULL;
END
$$;

-- counts over a total as shares
CREATE FUNCTION @extschema@.drift_shares(counts jsonb, total bigint) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(jsonb_agg(x::text::float8 / greatest(total, 1) ORDER BY i), '[]')
      FROM pg_catalog.jsonb_array_elements(counts) WITH ORDINALITY AS e(x, i)
$$;

CREATE FUNCTION @extschema@.drift(model text, source text, version integer DEFAULT NULL)
    RETURNS TABLE (feature text, kind text, psi double precision, edges double precision[], categories text[],
                   training_shares double precision[], source_shares double precision[])
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    rel regclass := @extschema@.model_table(model);
    v integer;
    spec jsonb;
    ref jsonb;
    counts jsonb;
    total bigint;
    c jsonb;
    n int := 0;
BEGIN
    v := @extschema@.version_or_deployed(rel, model, version, 'drift');
    spec := @extschema@.version_spec(rel, model, v);
    ref := spec->'reference';
    IF ref IS NULL THEN
        RAISE EXCEPTION 'model "%" version % keeps no reference distributions', model, v
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A version trained before reframe 0.3.0, or a blend, has none; retrain the model.';
    END IF;
    PERFORM @extschema@.drift_check_reference(ref, model, v);
    BEGIN
        SELECT d.counts, d.total INTO counts, total FROM @extschema@.drift_counts(ref, spec, pg_catalog.format('%s@%s', rel, v), source) d;
    EXCEPTION WHEN undefined_column THEN
        RAISE EXCEPTION 'reframe.drift: the source lacks an input of model "%": %', model, SQLERRM
            USING ERRCODE = 'undefined_column',
                  HINT = 'The source needs every column the model reads: ' || (SELECT string_agg(x->>'name', ', ') FROM pg_catalog.jsonb_array_elements(spec->'encoder'->'columns') x) || '.';
    END;
    FOR c IN SELECT x FROM pg_catalog.jsonb_array_elements(ref->'columns' || CASE WHEN ref ? 'score' THEN jsonb_build_array(ref->'score') ELSE '[]' END) x LOOP
        feature := c->>'name';
        kind := c->>'kind';
        edges := CASE WHEN c ? 'edges' THEN ARRAY(SELECT pg_catalog.jsonb_array_elements_text(c->'edges')::float8) END;
        categories := CASE WHEN c ? 'categories' THEN ARRAY(SELECT pg_catalog.jsonb_array_elements_text(c->'categories')) END;
        training_shares := ARRAY(SELECT pg_catalog.jsonb_array_elements_text(c->'shares')::float8);
        source_shares := ARRAY(SELECT pg_catalog.jsonb_array_elements_text(@extschema@.drift_shares(counts->n, total))::float8);
        SELECT sum((greatest(s, 1e-4) - greatest(t, 1e-4)) * ln(greatest(s, 1e-4) / greatest(t, 1e-4)))
          INTO psi FROM unnest(training_shares, source_shares) u(t, s);
        n := n + 1;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.drift(text, text, integer) IS
    'per input (and the score): the population stability index of a source against the version''s training source, and the two distributions it compares (bins: the edges or categories, then the missing values)';

-- "sample" drawn where the rows are: whether a training's read keeps a row
-- (src/train/sample_filter.c), which the rows' path filters a Citus
-- distributed source by on the workers
CREATE FUNCTION @extschema@.sample_keep(plan text, r record) RETURNS boolean
    AS 'MODULE_PATHNAME', 'reframe_sample_keep' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sample_keep(text, record) IS
    'whether a training''s read keeps a row in its "sample" (the plan a training writes; used by reframe.train on distributed sources)';

-- evaluate where the rows are: on a Citus distributed source each worker
-- scores its rows into cells (reframe.evaluate_row) and sums them into the
-- heads' metrics (reframe.evaluation), whose parts are combined on the
-- coordinator (src/apply/evaluate_workers.c; reframe.evaluate calls them)
CREATE FUNCTION @extschema@.evaluate_row(plan jsonb, r record) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'reframe_evaluate_row' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.evaluate_row(jsonb, record) IS
    'a row scored for reframe.evaluate: its status, weight, targets, outputs (the plan evaluate writes; used by reframe.evaluate on distributed sources)';
CREATE FUNCTION @extschema@.evaluation_accum(bytea, bytea, double precision[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'reframe_evaluation_accum' LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.evaluation_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'reframe_evaluation_combine' LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL SAFE;
CREATE AGGREGATE @extschema@.evaluation(config bytea, cells double precision[]) (
    SFUNC = @extschema@.evaluation_accum, STYPE = bytea,
    COMBINEFUNC = @extschema@.evaluation_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.evaluation(bytea, double precision[]) IS
    'the metrics of rows scored by reframe.evaluate_row, summed where they are (called by reframe.evaluate; config made by it)';

-- the models in shared memory (src/store/shared_cache.c): with reframe in
-- shared_preload_libraries, every backend scores from one copy
CREATE FUNCTION @extschema@.model_cache(OUT model regclass, OUT version integer, OUT bytes bigint,
                                        OUT backends integer)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'reframe_model_cache' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.model_cache() IS
    'the model versions loaded in shared memory (reframe.model_cache_size; reframe in shared_preload_libraries): bytes, the backends holding each';

-- ---------------------------------------------------------------------------
-- "warm_start": the options of the version a warm start continues (the
-- deployed one) as it was given them, with the family, options and penalty
-- it chose, under the options given now (reframe.train calls it)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.warm_start_options(model text, options jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    rel regclass := @extschema@.model_table(model);
    v integer;
    spec jsonb;
    family text;
    base jsonb;
BEGIN
    EXECUTE pg_catalog.format('SELECT max(version) FROM %s WHERE block = '''' AND deployed', rel) INTO v;
    IF v IS NULL THEN
        RAISE EXCEPTION 'model "%" has no deployed version for a warm start to continue', model
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Deploy a version with reframe.deploy, or train without "warm_start".';
    END IF;
    spec := @extschema@.version_spec(rel, model, v);
    IF spec->>'task' = 'blend' THEN
        RAISE EXCEPTION 'model "%" is a blend, which a warm start cannot continue', model USING ERRCODE = 'wrong_object_type';
    END IF;
    -- a model table is untrusted: what is read here is checked first
    IF jsonb_typeof(coalesce(spec->'options', '{}')) <> 'object'
       OR jsonb_typeof(coalesce(spec #> '{metrics,chosen,l2}', '0')) <> 'number'
       OR jsonb_typeof(coalesce(spec->'network'->'family', '""')) <> 'string' THEN
        RAISE EXCEPTION 'model "%" version % is corrupt: its options, family or chosen "l2" are not what reframe.train writes', model, v
            USING ERRCODE = 'data_corrupted',
                  HINT = 'A model table holds what reframe.train wrote; retrain the model, or restore the table from a dump.';
    END IF;
    family := coalesce(spec->'network'->>'family', 'linear');
    IF options ? 'model' AND options->>'model' IS DISTINCT FROM family THEN
        RAISE EXCEPTION 'a warm start continues version % of model "%", a % model, not %', v, model, family, options->'model'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave out "model", or train without "warm_start".';
    END IF;
    IF options ? 'search' OR options ? 'trials' OR options ? 'time_budget' THEN
        RAISE EXCEPTION 'a warm start continues version % of model "%" with its options, and searches none', v, model
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Leave out "search", "trials" and "time_budget".';
    END IF;
    base := coalesce(spec->'options', '{}') - 'search' - 'trials' - 'time_budget' - 'model'
            || coalesce(spec #> '{metrics,search,chosen,options}', '{}')
            || coalesce(spec #> '{metrics,auto,chosen}', '{}') - 'model';
    IF spec #> '{metrics,chosen,l2}' IS NOT NULL AND coalesce(base->>'l2', 'auto') = 'auto' THEN
        base := base || jsonb_build_object('l2', spec #> '{metrics,chosen,l2}');
    END IF;
    RETURN base || jsonb_build_object('model', family) || options;
END
$$;
COMMENT ON FUNCTION @extschema@.warm_start_options(text, jsonb) IS
    'the options a warm start trains with: the deployed version''s (as given, with what it chose) under those given';

-- ---------------------------------------------------------------------------
-- Retraining on a condition: the deployed version's source, targets, task
-- and options again (the options given override them), optionally only
-- "if" its inputs drifted or enough new rows arrived
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.retrain(model text, source text DEFAULT NULL, options jsonb DEFAULT '{}')
    RETURNS integer
    LANGUAGE plpgsql
AS $$
DECLARE
    rel regclass := @extschema@.model_table(model);
    v integer;
    spec jsonb;
    cond jsonb := options->'if';
    opts jsonb;
    src text;
    k text;
    reasons text[] := '{}';
    met boolean := false;
    worst record;
    fresh bigint;
    split_col text;
    nv integer;
BEGIN
    IF options IS NULL OR jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'reframe.retrain: options must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE pg_catalog.format('SELECT version, spec FROM %s WHERE block = '''' AND deployed ORDER BY version DESC LIMIT 1', rel)
       INTO v, spec;
    IF v IS NULL THEN
        RAISE EXCEPTION 'model "%" has no deployed version to retrain', model
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Deploy one with reframe.deploy, or train with reframe.train.';
    END IF;
    IF spec->>'task' = 'blend' THEN
        RAISE EXCEPTION 'reframe.retrain: "%" is a blend; retrain its models', model USING ERRCODE = 'wrong_object_type';
    END IF;
    src := coalesce(source, spec->>'source');
    opts := coalesce(spec->'options', '{}') || (options - 'if');
    IF cond IS NOT NULL THEN
        IF jsonb_typeof(cond) <> 'object' OR cond = '{}' THEN
            RAISE EXCEPTION 'reframe.retrain: "if" must be an object of conditions, like {"drift": 0.2} or {"new_rows": 1000}'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR k IN SELECT jsonb_object_keys(cond) LOOP
            IF k NOT IN ('drift', 'new_rows') THEN
                RAISE EXCEPTION 'reframe.retrain: unknown condition "%"', k
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = '"if" takes "drift" (a population stability index) and "new_rows" (a number of rows); either met retrains.';
            END IF;
            IF jsonb_typeof(cond->k) <> 'number' OR (cond->>k)::float8 <= 0 THEN
                RAISE EXCEPTION 'reframe.retrain: condition "%" must be a number above 0', k USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
        IF cond ? 'drift' THEN
            SELECT d.feature, d.psi INTO worst FROM @extschema@.drift(model, src, v) d ORDER BY d.psi DESC NULLS LAST LIMIT 1;
            IF worst.psi > (cond->>'drift')::float8 THEN
                met := true;
            END IF;
            reasons := reasons || pg_catalog.format('the largest drift is %s (%s), %s the bound %s',
                                                    round(worst.psi::numeric, 4), worst.feature,
                                                    CASE WHEN met THEN 'above' ELSE 'within' END, cond->>'drift');
        END IF;
        IF cond ? 'new_rows' THEN
            split_col := spec #>> '{training,split,by}';
            IF split_col IS NULL OR spec #> '{training,split,latest}' IS NULL THEN
                RAISE EXCEPTION 'reframe.retrain: "new_rows" needs a version trained with "split": "time"'
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'New rows are those whose split_by value is later than the latest the version read.';
            END IF;
            EXECUTE pg_catalog.format('SELECT count(*) FROM (%s) s WHERE s.%I > %L',
                                      @extschema@.source_query(src), split_col, spec #>> '{training,split,latest}')
               INTO fresh;
            IF fresh >= (cond->>'new_rows')::float8 THEN
                met := true;
            END IF;
            reasons := reasons || pg_catalog.format('%s rows are newer than %s, %s %s', fresh, spec #>> '{training,split,latest}',
                                                    CASE WHEN fresh >= (cond->>'new_rows')::float8 THEN 'at least' ELSE 'fewer than' END,
                                                    cond->>'new_rows');
        END IF;
        IF NOT met THEN
            RAISE NOTICE 'model "%": not retrained: %', model, array_to_string(reasons, '; ');
            RETURN NULL;
        END IF;
        RAISE NOTICE 'model "%": retraining: %', model, array_to_string(reasons, '; ');
    END IF;
    SELECT t.version INTO nv
      FROM @extschema@.train(model, src,
                             (SELECT string_agg(pg_catalog.quote_ident(x), ',') FROM pg_catalog.jsonb_array_elements_text(spec->'targets') x),
                             spec->>'task', opts) t;
    RETURN nv;
END
$$;
COMMENT ON FUNCTION @extschema@.retrain(text, text, jsonb) IS
    'retrain with the deployed version''s source, targets, task and options (overridden by options); "if": {"drift": psi, "new_rows": n} retrains only when one is met, else returns NULL with a NOTICE saying why';

-- ---------------------------------------------------------------------------
-- A version described: its inputs in scoring order, and how it was made
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.describe(model text, version integer DEFAULT NULL)
    RETURNS TABLE ("position" integer, input text, kind text, encoding text,
                   family text, options jsonb, chosen jsonb, rows bigint, metrics jsonb)
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    rel regclass := @extschema@.model_table(model);
    v integer;
    spec jsonb;
    shift float8[];
    scale float8[];
    c jsonb;
    parts text[];
    r integer := 0;
    raw_numbers boolean;
    len integer;
BEGIN
    v := @extschema@.version_or_deployed(rel, model, version, 'describe');
    spec := @extschema@.version_spec(rel, model, v);
    IF spec->>'task' = 'blend' THEN
        RAISE EXCEPTION 'reframe.describe: "%" is a blend of %', model, spec->'terms' USING ERRCODE = 'wrong_object_type';
    END IF;
    EXECUTE pg_catalog.format('SELECT data FROM %s WHERE version = $1 AND block = ''encoder.shift'' AND part = 0', rel) INTO shift USING v;
    EXECUTE pg_catalog.format('SELECT data FROM %s WHERE version = $1 AND block = ''encoder.scale'' AND part = 0', rel) INTO scale USING v;
    raw_numbers := spec->'encoder'->>'numbers' = 'raw';
    family := coalesce(spec->'network'->>'family', 'linear');
    options := spec->'options';
    chosen := coalesce(spec #> '{metrics,chosen}', spec #> '{metrics,auto,chosen}');
    rows := coalesce((spec #>> '{training,rows}')::bigint, 0) + coalesce((spec #>> '{training,validation_rows}')::bigint, 0);
    metrics := coalesce(spec #> '{metrics,validation}', spec #> '{metrics,training}');
    FOR c IN SELECT x FROM pg_catalog.jsonb_array_elements(spec->'encoder'->'columns') x LOOP
        len := (c->>'length')::int;
        kind := c->>'kind';
        parts := CASE
            WHEN kind = 'time' AND len = 7 THEN ARRAY['seconds since 1970', 'time of day (sine)', 'time of day (cosine)',
                                                     'day of week (sine)', 'day of week (cosine)', 'day of year (sine)', 'day of year (cosine)']
            WHEN kind = 'time' AND len = 5 THEN ARRAY['seconds since 1970', 'day of week (sine)', 'day of week (cosine)',
                                                     'day of year (sine)', 'day of year (cosine)']
            WHEN kind = 'time' AND len = 3 THEN ARRAY['seconds', 'hour of day (sine)', 'hour of day (cosine)']
            WHEN kind = 'time' THEN ARRAY['seconds']
            ELSE NULL END;
        FOR k IN 0 .. greatest(len, 1) - 1 LOOP
            r := r + 1;
            "position" := r;
            input := CASE WHEN kind = 'array' THEN pg_catalog.format('%s[%s]', c->>'name', k + 1)
                          WHEN parts IS NOT NULL THEN pg_catalog.format('%s: %s', c->>'name', parts[k + 1])
                          ELSE c->>'name' END;
            encoding := CASE
                WHEN kind = 'category' AND c ? 'hash_buckets' THEN
                    pg_catalog.format('hashed into %s buckets; a row only, as text', c->>'hash_buckets')
                WHEN kind = 'category' THEN
                    pg_catalog.format('one of %s categories (%s), any other value in a slot of its own; a row only, as text',
                                      jsonb_array_length(c->'vocab'),
                                      (SELECT string_agg(x, ', ' ORDER BY i) FROM pg_catalog.jsonb_array_elements_text(c->'vocab') WITH ORDINALITY AS e(x, i) WHERE i <= 5)
                                      || CASE WHEN jsonb_array_length(c->'vocab') > 5 THEN ', ...' ELSE '' END)
                WHEN raw_numbers THEN 'as it is'
                ELSE pg_catalog.format('standardized: (x %s %s) / %s', CASE WHEN shift[r] < 0 THEN '+' ELSE '-' END,
                                       round(abs(shift[r])::numeric, 9)::float8, round(scale[r]::numeric, 9)::float8) END
                || CASE WHEN (c->'missing') @> pg_catalog.to_jsonb(k) THEN '; NULL: a missing indicator'
                        WHEN kind <> 'category' AND raw_numbers THEN '; NULL: missing, as the trees learned it'
                        ELSE '' END;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.describe(text, integer) IS
    'a version''s inputs in scoring order (an array passed to score follows it), what the encoder does with each, and the family, options as given and as chosen, rows and metrics';

-- every version (or those named) scored on the same rows
CREATE FUNCTION @extschema@.compare(model text, source text, versions integer[] DEFAULT NULL)
    RETURNS TABLE (version integer, deployed boolean, rows bigint, metrics jsonb, selection jsonb)
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    rel regclass := @extschema@.model_table(model);
    ev jsonb;
    v integer;
    d boolean;
BEGIN
    IF versions IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(versions) x WHERE x IS NULL) THEN
        RAISE EXCEPTION 'reframe.compare: versions must not hold NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF versions IS NOT NULL THEN
        FOR v IN SELECT x FROM unnest(versions) x LOOP
            EXECUTE pg_catalog.format('SELECT true FROM %s m WHERE m.block = '''' AND m.version = $1', rel) INTO d USING v;
            IF d IS NULL THEN
                RAISE EXCEPTION 'model "%" has no version %', model, v USING ERRCODE = 'undefined_object';
            END IF;
        END LOOP;
    END IF;
    FOR v, d IN EXECUTE pg_catalog.format('SELECT m.version, coalesce(m.deployed, false) FROM %s m WHERE m.block = '''' AND ($1 IS NULL OR m.version = ANY ($1)) ORDER BY m.version', rel)
        USING versions LOOP
        ev := @extschema@.evaluate(pg_catalog.format('%s@%s', rel, v), source);
        version := v;
        deployed := d;
        rows := (ev->>'rows')::bigint;
        metrics := ev->'metrics';
        selection := ev->'selection';
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.compare(text, text, integer[]) IS
    'every version (or those named) scored on the same rows of source: one row per version with its metrics as reframe.evaluate returns them';
