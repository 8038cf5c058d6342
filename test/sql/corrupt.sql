-- A model table is untrusted input: its owner edits it by hand, and any
-- role may forge a table of the model row type and hand it to a scoring
-- function.  A version is checked whole when it is loaded; whatever is
-- inconsistent is an error (SQLSTATE XX001) naming the model, the version
-- and the field or block at fault -- never a crash or a wrong answer.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
\set VERBOSITY terse
CREATE TABLE flowers AS
SELECT i, (ARRAY[5.1, 4.9, 6.3, 5.8, 7.1, 6.5])[1 + i % 6] + 0.1 * sin(i) AS sl,
       (ARRAY[3.5, 3.0, 3.3, 2.7, 3.0, 3.2])[1 + i % 6] + 0.1 * cos(i) AS sw,
       (ARRAY['setosa', 'setosa', 'virginica', 'versicolor', 'virginica', 'versicolor'])[1 + i % 6] AS species,
       CASE WHEN i % 6 < 2 THEN 'small' ELSE 'large' END AS size,
       (ARRAY['setosa', 'setosa', 'large/virginica', 'large/versicolor', 'large/virginica', 'large/versicolor'])[1 + i % 6] AS kind,
       array_remove(ARRAY[CASE WHEN i % 6 < 2 THEN 'short' END, CASE WHEN i % 3 = 0 THEN 'third' END], NULL) AS tags
  FROM generate_series(1, 300) i;
UPDATE flowers SET kind = 'small/' || kind WHERE size = 'small';
SET client_min_messages = error;
SELECT 1 FROM reframe.train('flower', 'SELECT sl, sw, species FROM flowers', 'species', options => '{"l2": 0.01}');
SELECT 1 FROM reframe.train('flower_path', 'SELECT sl, sw, size, kind FROM flowers', 'size,kind', 'hierarchical',
                            options => '{"l2": 0.01}');
SELECT 1 FROM reframe.train('flower_tags', 'SELECT sl, sw, tags FROM flowers', 'tags', options => '{"l2": 0.01}');
SELECT 1 FROM reframe.create_blend('flower_mix', '{"flower:setosa": 1, "flower_tags:short": 2}');
RESET client_min_messages;
CREATE TABLE flower_kept AS SELECT * FROM flower;
CREATE TABLE flower_path_kept AS SELECT * FROM flower_path;
CREATE TABLE flower_scored AS SELECT i, reframe.score('flower', f, 'setosa') AS setosa FROM flowers f;

-- 1. fewer classes than outputs: was a read past the end of the class list
UPDATE flower SET spec = jsonb_set(spec, '{network,heads,0,classes}', '["a", "b"]') WHERE block = '';
SELECT reframe.predict('flower', f) FROM flowers f WHERE i = 3;
SELECT reframe.predict_all('flower', f) FROM flowers f WHERE i = 3;
UPDATE flower SET spec = jsonb_set(spec, '{network,heads,0,classes}', '["a"]') WHERE block = '';
SELECT reframe.predict('flower', f) FROM flowers f WHERE i = 3;
-- the same name twice, a number for a name
UPDATE flower SET spec = jsonb_set(spec, '{network,heads,0,classes}', '["a", "b", "a"]') WHERE block = '';
SELECT reframe.predict('flower', f) FROM flowers f WHERE i = 3;
UPDATE flower SET spec = jsonb_set(spec, '{network,heads,0,classes}', '["a", "b", 7]') WHERE block = '';
SELECT reframe.classes('flower');
-- restored, it scores again
DELETE FROM flower; INSERT INTO flower SELECT * FROM flower_kept;
SELECT reframe.predict('flower', f) FROM flowers f WHERE i = 3;

-- 2. a hierarchy's parent or child lists, a multilabel head's labels
UPDATE flower_path SET spec = jsonb_set(spec, '{network,heads,1,classes}', '["x"]') WHERE block = '';
SELECT reframe.predict_labels('flower_path', f) FROM flowers f WHERE i = 3;
DELETE FROM flower_path; INSERT INTO flower_path SELECT * FROM flower_path_kept;
SELECT spec->'network'->'heads'->1->'parent_of' AS parent_of FROM flower_path WHERE block = '';
UPDATE flower_path SET spec = spec #- '{network,heads,0,classes,1}' WHERE block = '';
SELECT reframe.predict('flower_path', f) FROM flowers f WHERE i = 3;
DELETE FROM flower_path; INSERT INTO flower_path SELECT * FROM flower_path_kept;
UPDATE flower_path SET spec = jsonb_set(spec, '{network,heads,1,parent_of}', '[0, 0, 5]') WHERE block = '';
SELECT reframe.predict('flower_path', f) FROM flowers f WHERE i = 3;
UPDATE flower_path SET spec = jsonb_set(spec, '{network,heads,1,parent_of}', '[0, 0, 0]') WHERE block = '';
SELECT reframe.predict_all('flower_path', f) FROM flowers f WHERE i = 3;
UPDATE flower_path SET spec = jsonb_set(spec, '{network,heads,1,parent_of}', '[1, 0, 0]') WHERE block = '';
SELECT reframe.predict_all('flower_path', f) FROM flowers f WHERE i = 3;
DELETE FROM flower_path; INSERT INTO flower_path SELECT * FROM flower_path_kept;
UPDATE flower_path SET spec = jsonb_set(spec, '{network,heads,1,parent}', '1') WHERE block = '';
SELECT reframe.predict_all('flower_path', f) FROM flowers f WHERE i = 3;
DELETE FROM flower_path; INSERT INTO flower_path SELECT * FROM flower_path_kept;
SELECT reframe.predict_labels('flower_path', f) FROM flowers f WHERE i = 3;
UPDATE flower_tags SET spec = jsonb_set(spec, '{network,heads,0,classes}', '["short"]') WHERE block = '';
SELECT reframe.predict_labels('flower_tags', f) FROM flowers f WHERE i = 3;
SELECT reframe.evaluate('flower_tags', 'flowers');
-- a blend without terms, or naming a term without a weight
UPDATE flower_mix SET spec = jsonb_set(spec, '{terms}', '[]');
SELECT reframe.score('flower_mix', f) FROM flowers f WHERE i = 3;
UPDATE flower_mix SET spec = jsonb_set(spec, '{terms}', '[{"model": "flower", "output": "setosa"}]');
SELECT reframe.score('flower_mix', f) FROM flowers f WHERE i = 3;

-- 3. stored numbers: NaN in a weight, a shape that disagrees with the data
--    or with the spec, a part out of order, a block nobody describes
UPDATE flower SET data[2] = 'NaN' WHERE block = 'head.species.weight';
SELECT reframe.score('flower', f, 'setosa') FROM flowers f WHERE i = 3;
DELETE FROM flower; INSERT INTO flower SELECT * FROM flower_kept;
UPDATE flower SET shape = '{3,4}' WHERE block = 'head.species.weight';
SELECT reframe.score('flower', f, 'setosa') FROM flowers f WHERE i = 3;
UPDATE flower SET shape = '{2,3}' WHERE block = 'head.species.weight';
SELECT reframe.score('flower', f, 'setosa') FROM flowers f WHERE i = 3;
DELETE FROM flower; INSERT INTO flower SELECT * FROM flower_kept;
UPDATE flower SET part = 1 WHERE block = 'head.species.bias';
SELECT reframe.score('flower', f, 'setosa') FROM flowers f WHERE i = 3;
DELETE FROM flower; INSERT INTO flower SELECT * FROM flower_kept;
INSERT INTO flower (version, block, part, shape, data) VALUES (1, 'head.extra.bias', 0, '{1}', '{0}');
SELECT reframe.score('flower', f, 'setosa') FROM flowers f WHERE i = 3;
DELETE FROM flower; INSERT INTO flower SELECT * FROM flower_kept;
UPDATE flower SET data[1] = 0 WHERE block = 'encoder.scale';
SELECT reframe.score('flower', f, 'setosa') FROM flowers f WHERE i = 3;
DELETE FROM flower; INSERT INTO flower SELECT * FROM flower_kept;
UPDATE flower SET spec = jsonb_set(spec, '{network,heads,0,outputs}', '1e300') WHERE block = '';
SELECT reframe.score('flower', f, 'setosa') FROM flowers f WHERE i = 3;
UPDATE flower SET spec = jsonb_set(spec, '{network,heads,0,kind}', '"regression"') WHERE block = '';
SELECT reframe.score('flower', f, 'setosa') FROM flowers f WHERE i = 3;
DELETE FROM flower; INSERT INTO flower SELECT * FROM flower_kept;
-- a network of more hidden layers than a training makes (8): the passes keep one buffer per layer
UPDATE flower SET spec = jsonb_set(jsonb_set(spec, '{network,family}', '"neural"'),
                                   '{network,hidden}', '[1, 1, 1, 1, 1, 1, 1, 1, 1]') WHERE block = '';
SELECT reframe.score('flower', f, 'setosa') FROM flowers f WHERE i = 3;
DELETE FROM flower; INSERT INTO flower SELECT * FROM flower_kept;
SELECT count(*) FILTER (WHERE reframe.score('flower', f, 'setosa') = s.setosa) AS same, count(*)
  FROM flowers f JOIN flower_scored s USING (i);

-- 4. forged by a role with PostgreSQL's default rights: a temporary table
--    of the model row type with 200 outputs and one class
CREATE ROLE regress_forger;
GRANT SELECT ON flowers TO regress_forger;
SET ROLE regress_forger;
CREATE TEMP TABLE evil OF reframe.model_row (PRIMARY KEY (version, block, part));
INSERT INTO evil (version, block, part, shape, data, spec, created, deployed)
SELECT 1, '', 0, NULL::int[], NULL::float8[],
       '{"format": 1, "task": "multiclass", "targets": ["y"],
         "encoder": {"columns": [{"kind": "numeric", "name": "x", "length": 1, "missing": []}], "inputs": 1, "width": 1},
         "network": {"family": "linear", "inputs": 1, "hidden": [],
                     "heads": [{"name": "y", "kind": "multiclass", "loss": "cross_entropy", "outputs": 200, "classes": ["a"]}]}}',
       now(), true
UNION ALL SELECT 1, 'encoder.shift', 0, '{1}', '{0}', NULL::jsonb, now(), NULL
UNION ALL SELECT 1, 'encoder.scale', 0, '{1}', '{1}', NULL, now(), NULL
UNION ALL SELECT 1, 'head.y.weight', 0, '{200,1}', array_fill(1.0::float8, ARRAY[200]), NULL, now(), NULL
UNION ALL SELECT 1, 'head.y.bias', 0, '{200}', array_fill(0.0::float8, ARRAY[200]), NULL, now(), NULL;
SELECT reframe.predict('pg_temp.evil', ARRAY[1]::float8[]);
SELECT reframe.predict_proba('pg_temp.evil', ARRAY[1]::float8[]);
-- with one output per class it is a model like any other
UPDATE evil SET spec = jsonb_set(spec, '{network,heads,0,classes}',
                                 (SELECT jsonb_agg('c' || k) FROM generate_series(1, 200) k)) WHERE block = '';
SELECT reframe.predict('pg_temp.evil', ARRAY[1]::float8[]);
-- a key other than (version, block, part)
CREATE TEMP TABLE evil_key OF reframe.model_row (PRIMARY KEY (block, version, part));
INSERT INTO evil_key SELECT * FROM evil;
SELECT reframe.predict('pg_temp.evil_key', ARRAY[1]::float8[]);
-- a version named by "@", and the functions that read a spec's reference,
-- encoder and source, on the forged table: errors, never a crash
SELECT reframe.predict('pg_temp.evil@1', ARRAY[1]::float8[]);
SELECT reframe.predict('pg_temp.evil@2', ARRAY[1]::float8[]);
SELECT count(*) AS inputs FROM reframe.describe('pg_temp.evil');
SELECT * FROM reframe.drift('pg_temp.evil', 'SELECT 1.0::float8 AS x');
UPDATE evil SET spec = spec || '{"reference": {"columns": [{"name": "x); DROP TABLE flowers; --", "kind": "numeric", "edges": ["a"], "shares": [1]}]}}'
 WHERE block = '';
SELECT * FROM reframe.drift('pg_temp.evil', 'SELECT 1.0::float8 AS x');
UPDATE evil SET spec = spec || '{"reference": {"columns": [{"name": "x", "kind": "numeric", "edges": [3, 1, "NaN"], "shares": [1]}]}}'
 WHERE block = '';
SELECT * FROM reframe.drift('pg_temp.evil', 'SELECT 1.0::float8 AS x');
SELECT reframe.retrain('pg_temp.evil');
-- a warm start and deploy(model) from the forged table, and the sample's
-- filter with a forged plan: errors, never a crash
SELECT * FROM reframe.train('pg_temp.evil', 'SELECT 1.0::float8 AS x, ''c1'' AS y', 'y', options => '{"warm_start": true}');
UPDATE evil SET spec = spec || '{"options": "x", "metrics": {"chosen": {"l2": "abc"}}}' WHERE block = '';
SELECT * FROM reframe.train('pg_temp.evil', 'SELECT 1.0::float8 AS x, ''c1'' AS y', 'y', options => '{"warm_start": true}');
UPDATE evil SET spec = jsonb_set(spec - 'options' - 'metrics', '{network,family}', '"no_such"') WHERE block = '';
SELECT * FROM reframe.train('pg_temp.evil', 'SELECT 1.0::float8 AS x, ''c1'' AS y', 'y', options => '{"warm_start": true}');
SELECT reframe.deploy('pg_temp.evil');
SELECT reframe.sample_keep('1 0 0 0.5 -1 -1 1 0 1 5 0 0 0', ROW(1.0, 'a'::text));
SELECT reframe.sample_keep('1 0 0 0.5 -1 -1 1 0 1 1 0 0 0', ROW(1.0, 'a'::text));
SELECT reframe.sample_keep('1 0 0 0.5 -1 -1 1 0 1 1 2 0 0', ROW(1.0, 'a'::text)) IS NOT NULL AS a_fitting_plan_answers;
-- the evaluation aggregate with forged configurations, states and cells:
-- a multiclass head of 3 classes (magic, 1 head, no parameters, no sums;
-- kind 2, 3 outputs, threshold 0.5), and rows of status, weight, class, p
SELECT reframe.evaluation('\x00'::bytea, ARRAY[1.0::float8]);
SELECT reframe.evaluation('\x564546520100000000000000000000000000000002000000030000000000000000000000000000000000e03f'::bytea,
                          ARRAY[1, 1, 7, 0.2, 0.3, 0.5]::float8[]);
SELECT reframe.evaluation('\x564546520100000000000000000000000000000002000000030000000000000000000000000000000000e03f'::bytea,
                          ARRAY[1, 1, 1, 0.2]::float8[]);
SELECT reframe.evaluation('\x564546520100000000000000000000000000000002000000ffffff7f0000000000000000000000000000e03f'::bytea,
                          ARRAY[1, 1, 1, 0.2]::float8[]);
SELECT length(reframe.evaluation('\x564546520100000000000000000000000000000002000000030000000000000000000000000000000000e03f'::bytea,
                                 ARRAY[1, 1, 1, 0.2, 0.3, 0.5]::float8[])) AS a_fitting_row_is_summed;
SELECT reframe.evaluation_combine('\x564546520100000000000000000000000000000002000000030000000000000000000000000000000000e03f'::bytea,
                                  '\x00'::bytea);
SELECT reframe.evaluation_accum(NULL, '\x00'::bytea, NULL);
RESET ROLE;
-- and its row function with forged plans: wrong columns, a label list for a class, no plan at all
SELECT reframe.evaluate_row('{"model": "flower", "features": [5, 0], "targets": [0], "weight": -1}', ROW(1.0, 'a'::text));
SELECT reframe.evaluate_row('{"model": "flower", "features": [0, 1], "targets": [2], "weight": 7}', ROW(1.0, 2.0, 'setosa'::text));
SELECT reframe.evaluate_row('{"model": "flower", "features": [0, 1], "targets": [[2]], "weight": -1}', ROW(1.0, 2.0, 'setosa'::text));
SELECT reframe.evaluate_row('{"model": "flower", "features": [0, 1], "targets": [2], "weight": -1}', ROW(1.0, 2.0, 3.0));
SELECT reframe.evaluate_row('[1]', ROW(1.0));
SELECT array_length(reframe.evaluate_row('{"model": "flower", "features": [0, 1], "targets": [2], "weight": -1}',
                                         ROW(5.1, 3.5, 'setosa'::text)), 1) AS a_fitting_plan_scores;
SELECT count(*) AS flowers_still_there FROM flowers;
-- this session's temporary model tables are listed; another session's are not (one
-- session cannot show that here: spec_fuzz.sh checks it)
SELECT model, version, deployed FROM reframe.models WHERE model LIKE '%evil%' ORDER BY model;
DROP TABLE pg_temp.evil, pg_temp.evil_key;
REVOKE ALL ON flowers FROM regress_forger;
DROP ROLE regress_forger;
SELECT reframe.drop_model('flower'), reframe.drop_model('flower_path'), reframe.drop_model('flower_tags'),
       reframe.drop_model('flower_mix');
DROP TABLE flowers, flower_kept, flower_path_kept, flower_scored;
