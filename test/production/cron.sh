#!/usr/bin/env bash
# Scheduled retraining with pg_cron (preloaded by scripts/test, jobs in the
# "postgres" database, run by background workers): a job retrains a model
# (reframe.retrain) with "deploy": "if_better"; the test waits for it to run and finds a new
# version, deployed exactly when its validation loss beats the deployed one.
# pg_cron 1.4 schedules by the minute: this takes up to about a minute.
DB=postgres
. "$(dirname "$0")/lib.sh"
trap 'q "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = ''reframe_retrain''" >/dev/null 2>&1;
      q "DROP TABLE IF EXISTS cron_src, cron_model" >/dev/null 2>&1' EXIT
q "CREATE EXTENSION IF NOT EXISTS pg_cron; SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS reframe" ||
    fail "pg_cron is not available: is it in shared_preload_libraries?"
q "SET client_min_messages = warning;
   DROP TABLE IF EXISTS cron_src, cron_model;
   CREATE TABLE cron_src AS SELECT i, sin(i)::float8 AS a, cos(i * 0.7)::float8 AS b,
          sin(i) + cos(i * 0.7) + 0.5 * sin(i * 7.3) > 0 AS y FROM generate_series(1, 5000) i;
   SELECT 1 FROM reframe.train('cron_model', 'SELECT a, y FROM cron_src', 'y')" >/dev/null || fail "first version"
# the job retrains the deployed version's target and task on a new source
job=$(q "SELECT cron.schedule('reframe_retrain', '* * * * *',
        \$\$SELECT reframe.retrain('cron_model', 'SELECT a, b, y FROM cron_src', '{\"deploy\": \"if_better\"}')\$\$)")
[ -n "$job" ] || fail "could not schedule"
wait_for 150 "SELECT EXISTS (SELECT FROM cron.job_run_details WHERE jobid = $job AND status IN ('succeeded', 'failed'))" ||
    fail "the job did not run within 150 s: $(q "SELECT status, return_message FROM cron.job_run_details WHERE jobid = $job")"
q "SELECT cron.unschedule($job)" >/dev/null
run=$(q "SELECT status || ': ' || coalesce(return_message, '') FROM cron.job_run_details WHERE jobid = $job ORDER BY runid LIMIT 1")
[[ "$run" == succeeded* ]] || fail "the job failed: $run"
# the job's version, deployed if and only if its validation loss is lower
row=$(q "SELECT n.version, n.deployed = ((n.spec #>> '{selection,value}')::float8 < (o.spec #>> '{selection,value}')::float8),
                o.deployed = NOT n.deployed
           FROM cron_model n, cron_model o
          WHERE n.block = '' AND o.block = '' AND n.version = 2 AND o.version = 1")
[ "$row" = "2|t|t" ] || fail "after the job: $row ($(q "SELECT version, deployed, spec->'selection' FROM cron_model WHERE block = ''"))"
echo "cron: job $job retrained cron_model: $(q "SELECT 'version 2 ' || CASE WHEN deployed THEN 'deployed' ELSE 'kept undeployed' END FROM cron_model WHERE block = '' AND version = 2")"
