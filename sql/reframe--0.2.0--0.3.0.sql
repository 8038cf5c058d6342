-- reframe 0.2.0 -> 0.3.0: model families (linear, neural, trees), and
-- export of a trees model as XGBoost's JSON model.
\echo Use "ALTER EXTENSION reframe UPDATE TO '0.3.0'" to load this file. \quit

CREATE FUNCTION @extschema@.export(model text, format text DEFAULT 'xgboost') RETURNS text
    AS 'MODULE_PATHNAME', 'reframe_export' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.export(text, text) IS
    'the deployed version of a trees model as XGBoost''s JSON model (xgboost.Booster().load_model reads it); its inputs are the encoded features, for numeric columns the columns themselves in training order';
