-- reframe 0.2.0 -> 0.3.0: model families (linear, neural, trees), and
-- export of a trees model as XGBoost's JSON model, and explain.
\echo Use "ALTER EXTENSION reframe UPDATE TO '0.3.0'" to load this file. \quit

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
    v integer := version;
BEGIN
    IF v IS NULL THEN
        EXECUTE pg_catalog.format('SELECT max(version) FROM %s WHERE block = '''' AND deployed', rel) INTO v;
        IF v IS NULL THEN
            RAISE EXCEPTION 'model "%" has no deployed version', model
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Name a version: reframe.loss_history(model, version).';
        END IF;
    END IF;
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT (h.i - 1 + coalesce((m.spec->''training''->>''history_from'')::integer, 1))::integer,
                h.loss::text::double precision
           FROM %s m, pg_catalog.jsonb_array_elements(m.spec->''training''->''loss_history'') WITH ORDINALITY AS h(loss, i)
          WHERE m.version = $1 AND m.block = '''' ORDER BY h.i', rel) USING v;
END
$$;
COMMENT ON FUNCTION @extschema@.loss_history(text, integer) IS
    'the loss after each iteration, epoch or boosting round of a version (the deployed one by default): training loss, or validation loss where early stopping used it; iteration 0 is the starting point where it is kept';
