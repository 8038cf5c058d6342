/*
 * version.c
 *		A trained version's spec and blocks, checked and stored, and the
 *		row reframe.train returns for it.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"

#include "reframe.h"
#include "jsonutil.h"
#include "progress.h"
#include "store.h"
#include "train_steps.h"

/* The "training" object of the spec: rows, solver, convergence, timings. */
static void
TrainSpecTraining(RfTrainState *ts, StringInfo spec)
{
	RfOptimResult *opt = &ts->fit.opt;
	instr_time	elapsed;

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, ts->start);
	appendStringInfo(spec, "{\"rows\": %lld, \"validation_rows\": %lld, "
					 "\"skipped_rows\": %lld, \"streaming\": %s, \"solver\": \"%s\", \"iterations\": %d, \"evaluations\": %d, "
					 "\"converged\": %s, \"loss\": ",
					 (long long) ts->nrows[0], (long long) ts->nrows[1], (long long) ts->skipped,
					 ts->aggregated ? "true" : "false", ts->fit.solver, opt->iterations, opt->evaluations, opt->converged ? "true" : "false");
	JsonAppendNumber(spec, ts->train_loss);
	JsonAppendNumbers(spec, "loss_history", opt->history, opt->nhistory);
	if (ts->sample < 1)
		appendStringInfo(spec, ", \"sample\": {\"share\": %.17g, \"rows_left_out\": %lld}",
						 ts->sample, (long long) ts->sampled_out);
	if (ts->warm)
		appendStringInfo(spec, ", \"warm_start\": {\"from_version\": %d}", ts->warm->version);
	if (ts->time_split)
	{
		appendStringInfoString(spec, ", \"split\": {\"kind\": \"time\", \"by\": ");
		JsonAppendString(spec, ts->opts->split_by);
		appendStringInfo(spec, ", \"training_up_to\": %s, \"latest\": %s", ts->time_cut, ts->time_latest);
		appendStringInfoChar(spec, '}');
	}
	appendStringInfo(spec, ", \"history_from\": %d, \"seconds\": %.3f, \"fit_seconds\": %.3f, \"peak_data_bytes\": %zu%s%s}",
					 opt->history_from, INSTR_TIME_GET_DOUBLE(elapsed), INSTR_TIME_GET_DOUBLE(ts->fit_time),
					 ts->budget.peak, ts->fit.choice ? ", \"chosen\": " : "", ts->fit.choice ? ts->fit.choice : "");
}

/* The version's spec: framing, source, encoder, trunk and heads, metrics, reference. */
static char *
TrainSpec(RfTrainState *ts, const char *reference)
{
	StringInfoData spec;

	initStringInfo(&spec);
	appendStringInfo(&spec, "{\"format\": 1, \"task\": \"%s\", \"targets\": [", ts->task);
	for (int t = 0; t < ts->ntargets; t++)
	{
		if (t)
			appendStringInfoString(&spec, ", ");
		JsonAppendString(&spec, ts->target_names[t]);
	}
	appendStringInfoChar(&spec, ']');
	if (ts->opts->group)
	{
		appendStringInfoString(&spec, ", \"group\": ");
		JsonAppendString(&spec, ts->opts->group);
	}
	appendStringInfoString(&spec, ", \"source\": ");
	JsonAppendString(&spec, ts->source_sql);
	appendStringInfoString(&spec, ", \"encoder\": ");
	EncoderToJson(ts->enc, &spec);
	appendStringInfoString(&spec, ", \"network\": ");
	TrunkToJson(ts->trunk, &spec);
	appendStringInfo(&spec, ", \"options\": %s, \"training\": ",
					 ts->opts->raw ? JsonbToCString(NULL, &ts->opts->raw->root, VARSIZE(ts->opts->raw)) : "{}");
	TrainSpecTraining(ts, &spec);
	appendStringInfo(&spec, ", \"metrics\": %s", ts->metrics.data);
	if (ts->nrows[1] > 0)
	{
		appendStringInfo(&spec, ", \"selection\": {\"metric\": \"%s\", \"value\": ",
						 TrainSelectionName(ts));
		JsonAppendNumber(&spec, ts->selection);
		appendStringInfoChar(&spec, '}');
	}
	if (reference)
		appendStringInfo(&spec, ", \"reference\": %s", reference);
	appendStringInfoChar(&spec, '}');
	return spec.data;
}

/*
 * A version is stored only if it can be loaded: every parameter finite (a
 * target or feature near the limits of double precision can overflow one).
 */
static void
TrainCheckFinite(RfTrainState *ts, List *blocks)
{
	ListCell   *lc;

	foreach(lc, blocks)
	{
		RfBlock    *b = lfirst(lc);
		int64		n = (int64) b->shape[0] * Max(b->shape[1], 1);

		for (int64 start = 0; start < n; start += INT_MAX / 2)
			if (!ReframeAllFinite(b->data + start, (int) Min(n - start, INT_MAX / 2)))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("model \"%s\": training gave parameters beyond the range of double precision (block \"%s\")",
								ts->model_name, b->name),
						 errhint("A target or feature holds values too large to model as they are; rescale it (divide it, or take its logarithm).")));
	}
}

/*
 * The reference distributions, for reframe.drift, of a version whose rows
 * were read by aggregate passes (none kept, see reference.c): measured on
 * its source by reframe.drift_reference (SQL, by aggregates), which adds
 * them to the version's spec, or leaves none with a NOTICE saying why.
 */
static void
TrainStoreReference(RfTrainState *ts)
{
	Oid			argtypes[2] = {REGCLASSOID, INT4OID};

	/* an extension still at an older version (before ALTER EXTENSION UPDATE) has none */
	if (!OidIsValid(LookupFuncName(list_make2(makeString(REFRAME_SCHEMA), makeString("drift_reference")),
								   2, argtypes, true)))
		return;
	ProgressPhase("measuring the reference distributions");
	SPI_connect();
	if (SPI_execute_with_args("SELECT " REFRAME_SCHEMA ".drift_reference($1, $2)", 2,
							  (Oid[]) {REGCLASSOID, INT4OID},
							  (Datum[]) {ObjectIdGetDatum(ts->relid), Int32GetDatum(ts->version)},
							  NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "reframe: could not measure the reference distributions of model \"%s\"", ts->model_name);
	SPI_finish();
	TrainPhase(ts, "measured the reference distributions");
}

/* Writes the version and deploys it if it should be. */
void
TrainStore(RfTrainState *ts)
{
	char	   *spec;
	char	   *reference = NULL;
	List	   *blocks = ts->trunk->family->blocks(ts->trunk);

	blocks = lcons(RfBlockMake("encoder.scale", ts->enc->nraw, 0, ts->enc->scale), blocks);
	blocks = lcons(RfBlockMake("encoder.shift", ts->enc->nraw, 0, ts->enc->shift), blocks);
	TrainCheckFinite(ts, blocks);

	ProgressPhase("storing");
	/* Versions are numbered under a lock that scoring (AccessShare) never waits for. */
	LockRelationOid(ts->relid, ShareRowExclusiveLock);
	ts->version = StoreNextVersion(ts->relid);
	ts->deployed = TrainDecideDeploy(ts, ts->relid, ts->nrows[1] > 0, ts->selection,
								TrainSelectionName(ts));
	if (ts->vstore)
	{
		/* its temporary file, if it spilled, goes now, not at commit with a warning */
		tuplestore_end(ts->vstore);
		ts->vstore = NULL;
	}
	if (ts->comparison)
	{
		/* the metrics object gains "comparison" */
		ts->metrics.data[--ts->metrics.len] = '\0';
		appendStringInfo(&ts->metrics, ", \"comparison\": %s}", ts->comparison);
	}
	if (ts->fit.choice)
	{
		/* ... and what the fit chose ("l2": "auto"'s penalty and path, Adam's budget) */
		ts->metrics.data[--ts->metrics.len] = '\0';
		appendStringInfo(&ts->metrics, ", \"chosen\": %s}", ts->fit.choice);
	}
	if (ts->refrows)
	{
		ProgressPhase("measuring the reference distributions");
		reference = TrainReferenceJson(ts);
		TrainPhase(ts, "measured the reference distributions");
	}
	spec = TrainSpec(ts, reference);
	StoreWriteVersion(ts->relid, ts->version, spec, blocks, false);
	if (reference == NULL)
		TrainStoreReference(ts);
	if (ts->deployed)
		StoreDeploy(ts->relid, ts->version);
	TrainPhase(ts, psprintf("stored version %d%s", ts->version, ts->deployed ? " and deployed it" : ""));
}

/* The summary row of reframe.train(), built in the caller's context. */
Datum
TrainResult(RfTrainState *ts, TupleDesc desc)
{
	Datum		result[10];
	bool		result_null[10] = {false};

	result[0] = CStringGetTextDatum(ts->stored_name ? ts->stored_name : ts->model_name);
	result[1] = Int32GetDatum(ts->version);
	result[2] = CStringGetTextDatum(ts->task);
	result[3] = Int64GetDatum(ts->nrows[0]);
	result[4] = Int64GetDatum(ts->nrows[1]);
	result[5] = Float8GetDatum(ts->train_loss);
	result[6] = JsonbPGetDatum(JsonFromText(ts->metrics.data));
	result[7] = BoolGetDatum(ts->deployed);
	result[8] = Int32GetDatum(ts->fit.opt.iterations);
	result[9] = BoolGetDatum(ts->fit.opt.converged);
	return HeapTupleGetDatum(heap_form_tuple(desc, result, result_null));
}
