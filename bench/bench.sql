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

-- A statement and its baseline timed in turn, runs times, best of each: the
-- machine's drift falls on both alike.  The baseline runs on one core
-- (parallel query off); the statement with the session's settings.
CREATE OR REPLACE FUNCTION pg_temp.paired_ms(stmt text, baseline text, runs int DEFAULT 5,
                                             OUT ms float8, OUT baseline_ms float8)
LANGUAGE plpgsql AS $$
DECLARE
  workers text := current_setting('max_parallel_workers_per_gather');
  t0 timestamptz;
BEGIN
  ms := 'Infinity';
  baseline_ms := 'Infinity';
  FOR i IN 1..runs LOOP
    PERFORM set_config('max_parallel_workers_per_gather', '0', true);
    t0 := clock_timestamp();
    EXECUTE baseline;
    baseline_ms := least(baseline_ms, extract(epoch FROM clock_timestamp() - t0) * 1000);
    PERFORM set_config('max_parallel_workers_per_gather', workers, true);
    t0 := clock_timestamp();
    EXECUTE stmt;
    ms := least(ms, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
END
$$;
