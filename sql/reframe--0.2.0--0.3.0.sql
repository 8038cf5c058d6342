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
