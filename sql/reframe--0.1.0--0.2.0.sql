-- reframe 0.1.0 -> 0.2.0: training progress, predict_labels names a head,
-- every role may use the extension.
\echo Use "ALTER EXTENSION reframe UPDATE TO '0.2.0'" to load this file. \quit

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT SELECT ON @extschema@.models TO PUBLIC;

-- predict_labels gains "output", the multilabel head of a multitask model
DROP FUNCTION @extschema@.predict_labels(text, double precision[], double precision, integer, boolean);
DROP FUNCTION @extschema@.predict_labels(text, real[], double precision, integer, boolean);
DROP FUNCTION @extschema@.predict_labels(text, record, double precision, integer, boolean);
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
