/*
 * read.c
 *		Reading a training's source: planning its columns, taking each row
 *		as the executor sends it (a DestReceiver), encoding it into the
 *		training or validation rows, and checking what was read.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"

#include "reframe.h"
#include "progress.h"
#include "store.h"
#include "citus.h"
#include "moments.h"
#include "train_steps.h"

typedef struct TrainReceiver
{
	DestReceiver pub;
	RfTrainState *ts;
} TrainReceiver;

static void TrainPlanShares(RfTrainState *ts, RfTarget *tg);

/*
 * Finds target t in the source's columns and checks that its type can be
 * the target of the task; returns whether it regresses.
 */
static bool
TrainPlanTarget(RfTrainState *ts, int t, TupleDesc typeinfo, bool *is_target)
{
	bool		explicit_regression = ts->task && strcmp(ts->task, "regression") == 0;
	int			attno = -1;
	Oid			typid;

	for (int i = 0; i < typeinfo->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(typeinfo, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), ts->target_names[t]) == 0)
			attno = i;
	}
	if (attno < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("target column \"%s\" does not exist in the source", ts->target_names[t])));
	if (is_target[attno])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target column \"%s\" is listed twice", ts->target_names[t])));
	is_target[attno] = true;
	typid = getBaseType(TupleDescAttr(typeinfo, attno)->atttypid);
	TargetInit(&ts->targets[t], ts->target_names[t], attno, typid);

	if (ts->targets[t].kind == RF_TARGET_LABELS && ts->task &&
		strcmp(ts->task, ts->ntargets > 1 ? "multitask" : "multilabel") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" holds label sets, which a %s task cannot learn",
						ts->target_names[t], ts->task),
				 errhint(ts->ntargets > 1 ?
						 "Among several targets, a label set is a multilabel head of a multitask model: pass task => 'multitask' or NULL." :
						 "Train it with task => 'multilabel' or NULL.")));
	if (ts->targets[t].kind == RF_TARGET_LABELS && ts->opts->group)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("option \"group\" cannot be used with a label-set target")));
	if (ts->targets[t].kind == RF_TARGET_SHARES)
		TrainPlanShares(ts, &ts->targets[t]);
	if (ts->targets[t].kind != RF_TARGET_NUMBER && typid != BOOLOID &&
		ts->targets[t].kind != RF_TARGET_LABELS && ts->targets[t].kind != RF_TARGET_SHARES &&
		!(typid == TEXTOID || typid == VARCHAROID || typid == BPCHAROID ||
		  typid == NAMEOID || type_is_enum(typid)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" has type %s, which cannot be a target",
						ts->target_names[t], format_type_be(typid)),
				 errhint("A target is numeric (regression or classes), boolean (binary), or text (classes).")));
	if (explicit_regression && ts->targets[t].kind != RF_TARGET_NUMBER)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" has type %s, which cannot be a regression target",
						ts->target_names[t], format_type_be(typid)),
				 errhint("A regression target must be numeric; cast it in a SELECT.")));
	/* floating and numeric targets regress unless told otherwise */
	return explicit_regression || (ts->task == NULL && ts->targets[t].kind == RF_TARGET_NUMBER &&
								   typid != INT2OID && typid != INT4OID && typid != INT8OID);
}

/*
 * A float array target: one share per name of "classes" — a distribution
 * over classes (task multiclass) or each label's share of annotators
 * (task multilabel), for a model of this one target.
 */
static void
TrainPlanShares(RfTrainState *ts, RfTarget *tg)
{
	ListCell   *lc;
	int			k = 0;

	if (ts->task == NULL || (strcmp(ts->task, "multiclass") != 0 && strcmp(ts->task, "multilabel") != 0) ||
		ts->ntargets > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" holds arrays of shares, which frame one multiclass or multilabel target",
						tg->name),
				 errhint("Pass task => 'multiclass' (a distribution per row) or 'multilabel' (each label's share), "
						 "and name the elements with \"classes\".")));
	if (list_length(ts->opts->classes) < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target column \"%s\" holds arrays of shares: name their %s with the \"classes\" option",
						tg->name, strcmp(ts->task, "multiclass") == 0 ? "classes" : "labels"),
				 errhint("For example '{\"classes\": [\"tech\", \"sports\", \"politics\"]}', in the arrays' order.")));
	tg->nclasses = list_length(ts->opts->classes);
	tg->classes = palloc(sizeof(char *) * tg->nclasses);
	foreach(lc, ts->opts->classes)
		tg->classes[k++] = pstrdup((const char *) lfirst(lc));
	for (int i = 0; i < tg->nclasses; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(tg->classes[i], tg->classes[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"classes\" names \"%s\" twice", tg->classes[i])));
	tg->soft = strcmp(ts->task, "multiclass") == 0;
}

/* The "split_by" column: found; it stays a feature unless excluded. */
static void
TrainPlanSplit(RfTrainState *ts, TupleDesc typeinfo)
{
	ts->sattno = -1;
	ts->split_seed = (uint64) (OptionGiven(ts->opts, "split_seed") ? ts->opts->split_seed : ts->opts->seed);
	if (ts->opts->split_by == NULL)
		return;
	ts->sattno = ReframeColumnNumber(typeinfo, ts->opts->split_by);
	if (ts->sattno < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("split_by column \"%s\" does not exist in the source", ts->opts->split_by)));
	ts->stype = getBaseType(TupleDescAttr(typeinfo, ts->sattno)->atttypid);
}

/* The "weight" column: found, a number, kept out of the features. */
static void
TrainPlanWeight(RfTrainState *ts, TupleDesc typeinfo, bool *is_target)
{
	ts->wattno = -1;
	if (ts->opts->weight == NULL)
		return;
	ts->wattno = ReframeColumnNumber(typeinfo, ts->opts->weight);
	if (ts->wattno < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("weight column \"%s\" does not exist in the source of model \"%s\"",
						ts->opts->weight, ts->model_name)));
	if (is_target[ts->wattno])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" cannot be both a target (or the group) and the weight", ts->opts->weight)));
	ts->wtype = getBaseType(TupleDescAttr(typeinfo, ts->wattno)->atttypid);
	if (!ReframeIsNumericType(ts->wtype))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("weight column \"%s\" has type %s, but row weights are numbers",
						ts->opts->weight, format_type_be(ts->wtype))));
	is_target[ts->wattno] = true;	/* a row's weight is not a feature */
}

/* The "group" column: found, kept out of the features, coded per query. */
static void
TrainPlanGroup(RfTrainState *ts, TupleDesc typeinfo, bool *is_target)
{
	ts->gattno = -1;
	if (ts->opts->group)
	{
		ts->gattno = ReframeColumnNumber(typeinfo, ts->opts->group);
		if (ts->gattno < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("group column \"%s\" does not exist in the source", ts->opts->group)));
		if (is_target[ts->gattno])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" cannot be both the target and the group", ts->opts->group)));
		/* the query column identifies rows; it is not a feature */
		is_target[ts->gattno] = true;
		ts->gtype = getBaseType(TupleDescAttr(typeinfo, ts->gattno)->atttypid);
		ts->gdict = RfDictCreate();
	}
}

/* An error when two columns of the source share a name. */
static void
TrainCheckColumnNames(RfTrainState *ts, TupleDesc typeinfo)
{
	for (int i = 0; i < typeinfo->natts; i++)
		for (int j = 0; j < i; j++)
			if (!TupleDescAttr(typeinfo, i)->attisdropped && !TupleDescAttr(typeinfo, j)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(typeinfo, i)->attname), NameStr(TupleDescAttr(typeinfo, j)->attname)) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" appears twice in the source of model \"%s\"",
								NameStr(TupleDescAttr(typeinfo, i)->attname), ts->model_name),
						 errhint("Give one of them another name with AS.")));
}

/*
 * Squared-loss regression of one target on inputs without text streams its
 * moments instead of keeping rows, where the family fits from moments.
 */
static void
TrainPlanStreaming(RfTrainState *ts, bool regression)
{
	ts->streaming = regression && ts->ntargets == 1 && ts->family->moments_errors != NULL &&
		(ts->opts->loss == NULL || strcmp(ts->opts->loss, "squared") == 0);
	for (int c = 0; c < ts->enc->ncols; c++)
		if (ts->enc->cols[c].kind == RF_CATEGORY)
			ts->streaming = false;
	if (ts->streaming && ts->task == NULL)
		TargetNoticeTask(&ts->targets[0], "regression");
	if (ts->streaming)
		ts->task = "regression";
}

/*
 * The columns of the targets' matrices: each target's (a label set's start
 * and count into label_codes, a float8[]'s shares), the query's, the
 * weight's.
 */
static void
TrainPlanY(RfTrainState *ts)
{
	/* a label-set target keeps (start, count) into label_codes */
	int			ycols = 0;

	for (int t = 0; t < ts->ntargets; t++)
	{
		ts->targets[t].ycol = ycols;
		ycols += ts->targets[t].kind == RF_TARGET_LABELS ? 2 :
			ts->targets[t].kind == RF_TARGET_SHARES ? ts->targets[t].nclasses : 1;
	}
	ts->gcol = ts->gdict ? ycols++ : -1;
	ts->wcol = ts->wattno >= 0 ? ycols++ : -1;
	for (int t = 0; t < ts->ntargets; t++)
		ts->targets[t].wcol = ts->wcol;

	ts->ybuf = palloc(sizeof(double) * ycols);
	ts->Y = RfMatrixCreate(ycols, sizeof(double), &ts->budget);
	ts->Yv = RfMatrixCreate(ycols, sizeof(double), &ts->budget);
}

static void
TrainStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	RfTrainState *ts = ((TrainReceiver *) self)->ts;
	MemoryContext old;
	bool	   *is_target;
	bool		regression = ts->task && strcmp(ts->task, "regression") == 0;

	if (ts->tupdesc)
		return;					/* planned before the read (TrainReadSource) */
	old = MemoryContextSwitchTo(ts->mcxt);
	is_target = palloc0(sizeof(bool) * Max(typeinfo->natts, 1));
	ts->tupdesc = CreateTupleDescCopy(typeinfo);
	TrainCheckColumnNames(ts, typeinfo);
	ts->targets = palloc0(sizeof(RfTarget) * ts->ntargets);
	for (int t = 0; t < ts->ntargets; t++)
		regression |= TrainPlanTarget(ts, t, typeinfo, is_target);
	if (ts->opts->nbins > 0 || ts->opts->bin_quantiles > 0)
		regression = false;		/* reframed as classes over buckets */
	TrainPlanGroup(ts, typeinfo, is_target);
	TrainPlanWeight(ts, typeinfo, is_target);
	if (ts->opts->classes && ts->targets[0].kind != RF_TARGET_SHARES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"classes\" names the elements of a float8[] target, but target column \"%s\" is %s",
						ts->targets[0].name, format_type_be(ts->targets[0].typid)),
				 errhint("The classes of other targets are their values; remove \"classes\".")));
	if (ts->wattno >= 0 && ts->opts->objective && strcmp(ts->opts->objective, "ndcg") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("option \"weight\" is not supported with \"objective\": \"ndcg\""),
				 errhint("LambdaMART weighs pairs of candidates within a query, not rows.")));
	TrainPlanSplit(ts, typeinfo);
	if (ts->opts->group)
		regression = false;		/* ranking metrics need the rows, not moments */
	ts->enc = EncoderPlan(typeinfo, is_target, ts->opts->features, ts->opts->exclude);
	ts->enc->raw_numbers = ts->family->raw_inputs;
	if (ts->warm)
		EncoderPlanLike(ts->enc, ts->warm->enc, ts->model_name, ts->warm->version);
	TrainPlanStreaming(ts, regression);
	WarmStartCheckPath(ts);
	TrainPlanY(ts);
	MemoryContextSwitchTo(old);
}

/* A row's weight; a NULL, negative or infinite one is counted (an error after the read), and weighs 0. */
static double
TrainRowWeight(RfTrainState *ts, Datum d, bool isnull)
{
	double		w = isnull ? get_float8_nan() : ReframeDatumToDouble(d, ts->wtype);

	if (w >= 0 && isfinite(w))
		return w;
	ts->bad_weights++;
	return 0;
}

/* A streamed row: added to its set's moments (the first row fixing their origin). */
static void
TrainAddMoments(RfTrainState *ts, int set, const double *raw, const double *y, double u)
{
	/* the first row fixes the origin the moments are shifted by */
	if (ts->nrows[0] + ts->nrows[1] == 1)
	{
		for (int r = 0; r < ts->enc->nraw; r++)
			ts->origin[r] = isnan(raw[r]) ? 0.0 : raw[r];
		ts->yorigin = y[0];
	}
	GramAdd(ts->gram[set], raw, y[0], ts->wcol >= 0 ? y[ts->wcol] : 1.0);
	TrainAddFoldMoments(ts, set, raw, y[0], ts->wcol >= 0 ? y[ts->wcol] : 1.0, u);
}

/*
 * Encodes one source row into the training or the validation matrices,
 * chosen by a seeded hash of the row's content, keeping its sort keys
 * (row_order.c counts it into the encoder's statistics once sorted).
 */
static void
TrainAddRow(RfTrainState *ts, Datum *values, bool *isnull)
{
	uint64		content;
	double	   *raw = ts->rowbuf;
	double	   *y = ts->ybuf;		/* the Y row: targets, query, weight */
	uint64		hash = TrainRowHashes(ts, values, isnull, raw, y, &content);
	int			set = 0;
	double		u;

	if (ts->wattno >= 0)
		y[ts->wcol] = TrainRowWeight(ts, values[ts->wattno], isnull[ts->wattno]);
	if (ts->sample < 1 && ReframeSampleDraw(hash) >= ts->sample)
	{
		ts->sampled_out++;
		return;
	}
	u = ReframeHashToUnit(hash_bytes_uint32_extended((uint32) hash, hash >> 32));
	set = ts->time_split ? TrainTimeSet(ts, values[ts->sattno], isnull[ts->sattno]) : TrainSplitSet(ts, u);
	if (set < 0)
		return;					/* after this fold's validation rows */
	TrainKeepDraw(ts, set, u);
	if (set == 1 && ts->vstore)
		tuplestore_putvalues(ts->vstore, ts->tupdesc, values, isnull);
	if (!ts->streaming)
		TrainKeepRowKey(ts, set, hash, content);
	ts->nrows[set]++;
	if (ts->streaming)
	{
		TrainAddMoments(ts, set, raw, y, u);
		return;
	}
	EncoderStoreRaw(ts->enc, raw, RfMatrixAppendRowF(set ? ts->rawv : ts->raw));
	memcpy(RfMatrixAppendRow(set ? ts->Yv : ts->Y), y, sizeof(double) * ts->Y->ncols);
}

static void
TrainFlushPending(RfTrainState *ts)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(ts->tupdesc, &TTSOpsMinimalTuple);
	ListCell   *lc;

	foreach(lc, ts->pending)
	{
		ExecStoreMinimalTuple((MinimalTuple) lfirst(lc), slot, false);
		slot_getallattrs(slot);
		TrainAddRow(ts, slot->tts_values, slot->tts_isnull);
	}
	ExecDropSingleTupleTableSlot(slot);
	list_free_deep(ts->pending);
	ts->pending = NIL;
}

static bool
TrainReceive(TupleTableSlot *slot, DestReceiver *self)
{
	RfTrainState *ts = ((TrainReceiver *) self)->ts;
	MemoryContext old = MemoryContextSwitchTo(ts->rowcxt);

	slot_getallattrs(slot);
	ts->received++;
	{
		/*
		 * One target: a NULL skips the row.  Several: the row trains the
		 * heads whose targets it has (the others' losses are masked), and is
		 * skipped only when it has none.
		 */
		int			nulls = 0;

		for (int t = 0; t < ts->ntargets; t++)
			nulls += slot->tts_isnull[ts->targets[t].attno];
		if (nulls == ts->ntargets || (ts->ntargets == 1 && nulls > 0))
		{
			ts->skipped++;
			goto done;
		}
	}
	if (!EncoderLengthsKnown(ts->enc, slot->tts_values, slot->tts_isnull))
	{
		MemoryContextSwitchTo(ts->mcxt);
		ts->pending = lappend(ts->pending, ExecCopySlotMinimalTuple(slot));
		goto done;
	}
	if (!ts->ready)
	{
		int			R = ts->enc->nraw;

		MemoryContextSwitchTo(ts->mcxt);
		ts->raw = RfMatrixCreate(R, sizeof(float), &ts->budget);
		ts->rawv = RfMatrixCreate(R, sizeof(float), &ts->budget);
		ts->rowbuf = palloc(sizeof(double) * R);
		if (ts->streaming)
		{
			ts->origin = palloc0(sizeof(double) * R);
			ts->gram[0] = GramCreate(R, ts->origin, &ts->yorigin);
			ts->gram[1] = GramCreate(R, ts->origin, &ts->yorigin);
			TrainCreateFoldMoments(ts);
		}
		ts->ready = true;
		MemoryContextSwitchTo(ts->rowcxt);
		TrainFlushPending(ts);
	}
	TrainAddRow(ts, slot->tts_values, slot->tts_isnull);
	if (((ts->nrows[0] + ts->nrows[1]) & 0xf) == 0)
		ReframeYield();
	if (((ts->nrows[0] + ts->nrows[1]) & 0x3fff) == 0)
	{
		ProgressRows(ts->nrows[0] + ts->nrows[1]);
		CHECK_FOR_INTERRUPTS();
	}
done:
	MemoryContextSwitchTo(old);
	MemoryContextReset(ts->rowcxt);
	return true;
}

static void
TrainNoop(DestReceiver *self)
{
}

static void TrainCheckRead(RfTrainState *ts);
static int64 TrainSourceRows(RfTrainState *ts);
static bool TrainPlanRead(RfTrainState *ts, DestReceiver *recv);

static void
TrainReadSource(RfTrainState *ts)
{
	TrainReceiver recv;
	SPIExecuteOptions opts;
	SPIPlanPtr	plan;
	int			rc;
	bool		filtered;

	memset(&recv, 0, sizeof(recv));
	recv.pub.receiveSlot = TrainReceive;
	recv.pub.rStartup = TrainStartup;
	recv.pub.rShutdown = TrainNoop;
	recv.pub.rDestroy = TrainNoop;
	recv.pub.mydest = DestNone;
	recv.ts = ts;

	memset(&opts, 0, sizeof(opts));
	opts.read_only = true;		/* a data-modifying WITH is refused */
	opts.dest = (DestReceiver *) &recv;

	/*
	 * Planned, the source's columns are known: squared-loss regression may
	 * then sum its moments by aggregate passes (moments.c) instead.
	 */
	if (TrainPlanRead(ts, (DestReceiver *) &recv) && MomentsRead(ts))
	{
		TrainCheckRead(ts);
		return;
	}
	TrainPlanTimeSplit(ts);
	filtered = ts->sample < 1 && ts->distributed;

	SPI_connect();

	/*
	 * In parallel where the plan allows: the rows arrive in any order, and
	 * are put in theirs once read (row_order.c).  A sample of a distributed
	 * source is drawn where its rows are (sample_filter.c).
	 */
	plan = SPI_prepare_cursor(filtered ? TrainSampleFilterSql(ts) : ts->source_sql, 0, NULL,
							  CURSOR_OPT_PARALLEL_OK);
	if (plan == NULL)
		elog(ERROR, "reframe: could not plan the source: %s", SPI_result_code_string(SPI_result));
	rc = SPI_execute_plan_extended(plan, &opts);
	/* with a receiver of our own, SPI reports a SELECT as SPI_OK_UTILITY */
	if (rc < 0 || ts->tupdesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training source must be a query that returns rows"),
				 errdetail("The source was: %s", ts->source_sql)));
	SPI_finish();
	if (filtered)
		ts->sampled_out += TrainSourceRows(ts) - ts->received;	/* those the filter left out */
	TrainCheckRead(ts);
}

static void
SourceContext(void *arg)
{
	errcontext("SQL statement \"%s\"", (const char *) arg);
}

/*
 * Plans the training from the source's columns, before reading it; returns
 * whether its moments are to be summed by aggregate passes.
 */
static bool
TrainPlanRead(RfTrainState *ts, DestReceiver *recv)
{
	MemoryContext old = MemoryContextSwitchTo(ts->mcxt);
	SPIPlanPtr	plan;
	CachedPlanSource *ps;
	bool		chosen = false;

	SPI_connect();
	plan = SPI_prepare(ts->source_sql, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "reframe: could not plan the source: %s", SPI_result_code_string(SPI_result));
	ps = linitial(SPI_plan_get_plan_sources(plan));
	if (ps->resultDesc)
	{
		/* errors name the source, as when SPI reads it */
		ErrorContextCallback cb = {.previous = error_context_stack,.callback = SourceContext,.arg = ts->source_sql};

		/* in the training's memory: SPI_finish frees SPI's */
		MemoryContextSwitchTo(ts->mcxt);
		error_context_stack = &cb;
		TrainStartup(recv, CMD_SELECT, ps->resultDesc);
		error_context_stack = cb.previous;
		chosen = MomentsChosen(ts, ps->relationOids);
		ts->distributed = CitusReadsDistributedTable(ps->relationOids);
	}
	SPI_finish();
	MemoryContextSwitchTo(old);
	return chosen;
}

/* After the read: errors for what it found, a notice for what it skipped. */
static void
TrainCheckRead(RfTrainState *ts)
{
	if (!ts->ready && ts->pending != NIL)
	{
		for (int c = 0; c < ts->enc->ncols; c++)
			if (ts->enc->cols[c].kind == RF_ARRAY && ts->enc->cols[c].length < 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("array feature column \"%s\" is NULL in every row", ts->enc->cols[c].name)));
	}
	if (!ts->ready || ts->nrows[0] + ts->nrows[1] == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no training rows for model \"%s\"", ts->model_name),
				 ts->sampled_out > 0 ?
				 errdetail("The sample (a share of %g) left out all %lld rows with a target.", ts->sample,
						   (long long) ts->sampled_out) :
				 ts->skipped > 0 ?
				 errdetail("All %lld source rows have a NULL target.", (long long) ts->skipped) :
				 errdetail("The source returned no rows.")));
	if (ts->skipped > 0)
		ereport(NOTICE,
				(errmsg("skipped %lld source rows with a NULL target", (long long) ts->skipped)));
}

/* Moves the validation rows back into the training set. */
static void
TrainMergeValidation(RfTrainState *ts)
{
	/* the validation rows follow the training rows, and so do their draws */
	for (int64 i = 0; i < ts->nrows[1]; i++)
	{
		if (ts->draws[1])
			TrainKeepDraw(ts, 0, ts->draws[1][i]);
		ts->nrows[0]++;
	}
	ts->nrows[1] = 0;
	if (ts->aggregated || ts->streaming)
	{
		for (int k = 0; k < RF_L2_FOLDS && ts->fgram[1][0]; k++)
			GramMerge(ts->fgram[0][k], ts->fgram[1][k]);
		GramMerge(ts->gram[0], ts->gram[1]);
		ts->gram[1] = GramCreate(ts->enc->nraw, ts->origin, &ts->yorigin);
		return;
	}
	for (int64 i = 0; i < ts->rawv->nrows; i++)
	{
		memcpy(RfMatrixAppendRowF(ts->raw), RfMatrixRowF(ts->rawv, i), sizeof(float) * ts->raw->ncols);
		memcpy(RfMatrixAppendRow(ts->Y), RfMatrixRow(ts->Yv, i), sizeof(double) * ts->Y->ncols);
	}
	RfMatrixTruncate(ts->rawv, 0);
	RfMatrixTruncate(ts->Yv, 0);
}

/* The source's rows, counted by one more scan (once). */
static int64
TrainSourceRows(RfTrainState *ts)
{
	bool		isnull;

	if (ts->source_counted)
		return ts->source_rows;
	SPI_connect();
	if (SPI_execute(psprintf("SELECT count(*) FROM (%s) s", ts->source_sql), true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reframe: could not count the rows of %s", ts->source_sql);
	ts->source_rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	ts->source_counted = true;
	SPI_finish();
	return ts->source_rows;
}

/*
 * The share of rows "sample" keeps: its fraction, or a row count over the
 * source's rows (counted by one more scan); 1 without the option.
 */
static double
TrainSampleShare(RfTrainState *ts)
{
	double		rows;

	if (ts->opts->sample <= 0 || ts->opts->sample == 1)
		return 1.0;
	if (ts->opts->sample < 1)
		return ts->opts->sample;
	if (ts->opts->sample != floor(ts->opts->sample))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"sample\" is %g: a fraction up to 1, or a whole number of rows",
						ts->opts->sample)));
	rows = (double) TrainSourceRows(ts);
	return rows > ts->opts->sample ? ts->opts->sample / rows : 1.0;
}

/* Reads the source, split into training and validation rows. */
void
TrainRead(RfTrainState *ts, text *source)
{
	ts->source_sql = StoreSourceSql(source);
	if (ts->opts->verbose)
		ereport(NOTICE, (errmsg("model \"%s\": reading %s", ts->model_name, ts->source_sql)));
	/* the default holds out 0.2 (the family's share) from 1,000 rows up, decided once all are read */
	ts->holdout = ts->opts->validation >= 0 ? ts->opts->validation :
		ts->family->validation > 0 ? ts->family->validation : 0.2;
	ts->sample = TrainSampleShare(ts);
	ProgressPhase("reading");
	TrainReadSource(ts);
	ProgressRows(ts->nrows[0] + ts->nrows[1]);
	TrainPhase(ts, psprintf("read %lld rows", (long long) (ts->nrows[0] + ts->nrows[1])));
	if (!ts->streaming && !ts->aggregated)
	{
		TrainCanonicalOrder(ts);
		TrainPhase(ts, "put the rows in their canonical order");
	}
	ts->with_validation = ts->opts->validation < 0 && ts->nrows[0] + ts->nrows[1] < 1000 && ts->folds == 0;
	if (ts->with_validation)
		TrainMergeValidation(ts);
	for (int t = 0; t < ts->ntargets; t++)
		if (ts->targets[t].bad_shares > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("target column \"%s\" has %lld rows that are not %d shares in [0, 1]%s",
							ts->targets[t].name, (long long) ts->targets[t].bad_shares, ts->targets[t].nclasses,
							ts->targets[t].soft ? " summing to 1" : ""),
					 errhint("Each row holds one share per name of \"classes\", none NULL%s.",
							 ts->targets[t].soft ? ", adding up to 1 (within 1e-6)" : "")));
	if (ts->bad_weights > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("weight column \"%s\" has %lld rows whose weight is NULL, negative or not finite",
						ts->opts->weight, (long long) ts->bad_weights),
				 errhint("Row weights are numbers >= 0; filter or fix those rows, e.g. with coalesce.")));
	if (ts->nrows[0] == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no training rows left for model \"%s\" after holding out validation rows",
						ts->model_name),
				 errhint("Lower the \"validation\" option.")));
	if (ts->nrows[0] == 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("model \"%s\" has one training row, and a model needs at least two", ts->model_name),
				 errdetail("Rows read: %lld; held out for validation: %lld; skipped for a NULL target: %lld.",
						   (long long) (ts->nrows[0] + ts->nrows[1] + ts->skipped), (long long) ts->nrows[1],
						   (long long) ts->skipped)));
	/* a version to store keeps a sample of its rows for its reference distributions */
	if (OidIsValid(ts->relid) && !ts->streaming && !ts->aggregated)
		TrainKeepReferenceRows(ts);
}
