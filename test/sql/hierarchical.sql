-- Hierarchical classification: a coarse head and one fine head per coarse
-- class (a softmax among each parent's children); predictions are paths,
-- always consistent, and a path's probability is the product of its levels.
-- the linear family's framings: without "model" it is trained by this setting (default_model tests the default)
SET reframe.default_model = linear;
CREATE TABLE items AS
SELECT i, (sin(i * 0.7) * 2)::float8 AS a, cos(i * 1.3)::float8 AS b,
       CASE WHEN sin(i * 0.7) * 2 + sin(i * 9.1) > 0 THEN 'electronics' ELSE 'garden' END AS department,
       CASE WHEN sin(i * 0.7) * 2 + sin(i * 9.1) > 0
            THEN CASE WHEN cos(i * 1.3) + sin(i * 3.7) > 0 THEN 'phones' ELSE 'laptops' END
            ELSE CASE WHEN cos(i * 1.3) + sin(i * 5.3) > 0.5 THEN 'seeds' WHEN cos(i * 1.3) > -0.5 THEN 'tools' ELSE 'hoses' END
       END AS category
  FROM generate_series(1, 1200) i;

SELECT model, task, train_rows, converged
  FROM reframe.train('shelf', 'SELECT a, b, department, category FROM items', 'department,category', 'hierarchical',
                     '{"validation": 0, "l2": 0.01, "tol": 1e-9}');
SELECT reframe.classes('shelf') AS leaves, reframe.classes('shelf', 'department') AS departments;
SELECT spec #> '{network,heads,1,parent_of}' AS parent_of FROM shelf WHERE block = '';

-- the leaf probabilities are products along the path, and sum to 1
SELECT bool_and(abs((SELECT sum(p) FROM unnest(reframe.predict_proba('shelf', x)) p) - 1) < 1e-12) AS leaves_sum_to_1,
       bool_and(abs(reframe.score('shelf', x, 'phones') + reframe.score('shelf', x, 'laptops')
                    - reframe.score('shelf', x, 'electronics')) < 1e-12) AS children_sum_to_parent
  FROM items x;
-- predict is the leaf of the best path; predict_labels the path, always consistent
SELECT i, department, category, reframe.predict('shelf', x) AS leaf, reframe.predict_labels('shelf', x) AS path
  FROM items x WHERE i <= 5 ORDER BY i;
SELECT bool_and(p[1] = CASE WHEN p[2] IN ('phones', 'laptops') THEN 'electronics' ELSE 'garden' END) AS consistent,
       bool_and(p[2] = reframe.predict('shelf', x)) AS leaf_is_predict
  FROM items x, LATERAL (SELECT reframe.predict_labels('shelf', x) AS p) l;
-- the best path maximises the product of its levels (checked over every leaf)
SELECT bool_and(reframe.predict('shelf', x) = (
         SELECT c FROM unnest(reframe.classes('shelf'), reframe.predict_proba('shelf', x)) u(c, p)
          ORDER BY p DESC LIMIT 1)) AS argmax_of_paths
  FROM items x;
-- each fine head is a softmax among siblings: optimality of the garden
-- head's "seeds" output, over garden rows only: mean(p(seeds|garden) - [seeds] ) = 0
SELECT abs(avg(reframe.score('shelf', x, 'seeds') / reframe.score('shelf', x, 'garden') - (category = 'seeds')::int)) < 1e-4
       AS sibling_softmax
  FROM items x WHERE department = 'garden';
-- evaluate reports each level
SELECT jsonb_object_keys(e->'metrics') AS level, (e->'metrics'->'department'->>'accuracy')::float8 > 0.8 AS good_department
  FROM (SELECT reframe.evaluate('shelf', 'items') AS e) x ORDER BY 1;
SELECT reframe.predict_all('shelf', ARRAY[1.5, 0.8]::float8[])->'category'->>'predicted' = reframe.predict('shelf', ARRAY[1.5, 0.8]::float8[])
       AS predict_all_follows_path;

-- scale: 1,000 leaves under 20 parents trains and scores
CREATE TABLE catalog AS
SELECT i, (i % 20) + sin(i)::float8 AS x, ((i / 20) % 50) + cos(i)::float8 AS z,
       'd' || (i % 20) AS dept, 'd' || (i % 20) || '/c' || ((i / 20) % 50) AS cat
  FROM generate_series(1, 20000) i;
SELECT task, train_rows + validation_rows = 20000 AS every_row FROM reframe.train('big_shelf', 'SELECT x, z, dept, cat FROM catalog', 'dept,cat',
                                                          'hierarchical', '{"max_iter": 30}');
SELECT array_length(reframe.classes('big_shelf'), 1) AS leaves, array_length(reframe.classes('big_shelf', 'dept'), 1) AS parents;
SELECT count(*) AS scored FROM (SELECT reframe.predict_labels('big_shelf', c) FROM catalog c WHERE i <= 100) s;

-- bad input
SELECT * FROM reframe.train('bad', 'items', 'department', 'hierarchical');
SELECT * FROM reframe.train('bad', 'SELECT a, b, department, CASE WHEN i % 2 = 0 THEN ''x'' ELSE category END AS category FROM items',
                            'department,category', 'hierarchical');
SELECT to_regclass('bad') AS nothing_written;

DROP TABLE items, shelf, catalog, big_shelf;
