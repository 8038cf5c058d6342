-- Shared helpers for the benchmarks: time a statement, best of N runs.
CREATE OR REPLACE FUNCTION pg_temp.best_ms(stmt text, runs int DEFAULT 3) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
  best float8 := 'Infinity';
  t0 timestamptz;
BEGIN
  FOR i IN 1..runs LOOP
    t0 := clock_timestamp();
    EXECUTE stmt;
    best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
  RETURN best;
END
$$;
