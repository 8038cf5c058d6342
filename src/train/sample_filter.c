/*
 * sample_filter.c
 *		"sample" drawn where the rows are: reframe.sample_keep(plan, row).
 *
 * The rows' path keeps a row when its sample draw, from the hash of its
 * values and targets (TrainRowHashes), is below the share.  Over a Citus
 * distributed source that would bring every row to this node first, so
 * the source is read as
 *
 *	SELECT * FROM (source) reframe_s WHERE reframe.sample_keep(plan, reframe_s)
 *
 * which the workers run on their shards: the plan names the columns the
 * hash reads by position (Citus ships a subquery's row without its field
 * names), and the function hashes a row by the very functions the read
 * does, so it keeps exactly the rows the read keeps.  A row it cannot hash
 * (a NULL target, a value the read rejects, an array before the arrays'
 * lengths are known) it keeps, for the read to skip or report.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "reframe.h"
#include "train_steps.h"

#define PLAN_FORMAT 1
/* The dictionaries of values seen are emptied every this many rows (only the hash matters here). */
#define FILTER_DICT_ROWS 100000

/* The plan of a training's read as reframe.sample_keep takes it. */
char *
TrainSampleFilterSql(RfTrainState *ts)
{
	StringInfoData plan;

	initStringInfo(&plan);
	appendStringInfo(&plan, "%d %lld %lld %.17g %d %d %d", PLAN_FORMAT, (long long) ts->opts->seed,
					 (long long) ts->split_seed, ts->sample, ts->gdict ? ts->gattno : -1, ts->sattno,
					 ts->enc->ncols);
	for (int c = 0; c < ts->enc->ncols; c++)
		appendStringInfo(&plan, " %d", ts->enc->cols[c].attno);
	appendStringInfo(&plan, " %d", ts->ntargets);
	for (int t = 0; t < ts->ntargets; t++)
		appendStringInfo(&plan, " %d %d %d %d", ts->targets[t].attno, (int) ts->targets[t].kind,
						 ts->targets[t].nclasses, (int) ts->targets[t].soft);
	return psprintf("SELECT * FROM (%s) reframe_s WHERE %s.sample_keep(%s, reframe_s)",
					ts->source_sql, REFRAME_SCHEMA, quote_literal_cstr(plan.data));
}

/* What one call site of reframe.sample_keep keeps between rows. */
typedef struct FilterState
{
	RfTrainState ts;			/* the read's plan, as far as the hash needs it */
	RfOptions	opts;
	double		share;
	int64		rows;
	double	   *raw;
	double	   *y;
	MemoryContext dicts;		/* the dictionaries, emptied now and then */
	MemoryContext rowcxt;
} FilterState;

static void
PlanInvalid(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("reframe.sample_keep: the plan is not one a training made for this row")));
}

/* The next integer of the plan, within [lo, hi]. */
static int64
PlanInt(char **p, int64 lo, int64 hi)
{
	char	   *end;
	long long	v = strtoll(*p, &end, 10);

	if (end == *p || v < lo || v > hi)
		PlanInvalid();
	*p = end;
	return v;
}

/* The dictionaries the read fills (values to codes), fresh in st->dicts. */
static void
FilterDicts(FilterState *st)
{
	MemoryContext old;

	MemoryContextReset(st->dicts);
	old = MemoryContextSwitchTo(st->dicts);
	for (int c = 0; c < st->ts.enc->ncols; c++)
		if (st->ts.enc->cols[c].kind == RF_CATEGORY)
			st->ts.enc->cols[c].dict = RfDictCreate();
	for (int t = 0; t < st->ts.ntargets; t++)
		if (st->ts.targets[t].dict)
			st->ts.targets[t].dict = RfDictCreate();
	if (st->ts.gattno >= 0)
		st->ts.gdict = RfDictCreate();
	st->ts.label_codes = NULL;
	st->ts.nlabel_codes = st->ts.caplabel_codes = 0;
	MemoryContextSwitchTo(old);
}

/* The targets of the plan at p, checked against the row's columns. */
static void
FilterTargets(FilterState *st, char **p, TupleDesc td)
{
	int			ycols = 0;

	st->ts.ntargets = PlanInt(p, 1, RF_MAX_TARGETS);
	st->ts.targets = palloc0(sizeof(RfTarget) * st->ts.ntargets);
	for (int t = 0; t < st->ts.ntargets; t++)
	{
		RfTarget   *tg = &st->ts.targets[t];
		int			attno = PlanInt(p, 0, td->natts - 1);
		int			kind = PlanInt(p, RF_TARGET_NUMBER, RF_TARGET_SHARES);
		int			nclasses = PlanInt(p, 0, 100000);
		int			soft = PlanInt(p, 0, 1);

		TargetInit(tg, NameStr(TupleDescAttr(td, attno)->attname), attno,
				   getBaseType(TupleDescAttr(td, attno)->atttypid));
		if ((int) tg->kind != kind || (kind == RF_TARGET_SHARES && nclasses < 1))
			PlanInvalid();
		tg->nclasses = nclasses;
		tg->soft = soft;
		tg->ycol = ycols;
		ycols += kind == RF_TARGET_LABELS ? 2 : kind == RF_TARGET_SHARES ? nclasses : 1;
	}
	st->ts.gcol = st->ts.gattno >= 0 ? ycols++ : -1;
	st->y = palloc(sizeof(double) * Max(ycols, 1));
}

/* The plan, parsed and checked against the row's columns, in fn_mcxt. */
static FilterState *
FilterStateFor(FunctionCallInfo fcinfo, const char *plan, TupleDesc td)
{
	MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	FilterState *st = palloc0(sizeof(FilterState));
	char	   *p = pstrdup(plan);
	int			ncols;
	int		   *attnos;

	if (PlanInt(&p, PLAN_FORMAT, PLAN_FORMAT) != PLAN_FORMAT)
		PlanInvalid();
	st->ts.opts = &st->opts;
	st->opts.seed = PlanInt(&p, PG_INT64_MIN, PG_INT64_MAX);
	st->ts.split_seed = PlanInt(&p, PG_INT64_MIN, PG_INT64_MAX);
	st->share = strtod(p, &p);
	if (!(st->share > 0 && st->share <= 1))
		PlanInvalid();
	st->ts.gattno = PlanInt(&p, -1, td->natts - 1);
	st->ts.sattno = PlanInt(&p, -1, td->natts - 1);
	ncols = PlanInt(&p, 1, td->natts);
	attnos = palloc(sizeof(int) * ncols);
	for (int c = 0; c < ncols; c++)
		attnos[c] = PlanInt(&p, 0, td->natts - 1);
	st->ts.enc = EncoderPlanColumns(td, attnos, ncols);
	FilterTargets(st, &p, td);
	if (st->ts.gattno >= 0)
		st->ts.gtype = getBaseType(TupleDescAttr(td, st->ts.gattno)->atttypid);
	if (st->ts.sattno >= 0)
		st->ts.stype = getBaseType(TupleDescAttr(td, st->ts.sattno)->atttypid);
	st->dicts = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "reframe sample filter values", ALLOCSET_DEFAULT_SIZES);
	st->rowcxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "reframe sample filter row", ALLOCSET_DEFAULT_SIZES);
	st->ts.mcxt = st->dicts;
	FilterDicts(st);
	MemoryContextSwitchTo(old);
	return st;
}

/* Whether the read keeps a row (or would report it, or skip it). */
static bool
FilterKeeps(FilterState *st, Datum *values, bool *isnull)
{
	RfTrainState *ts = &st->ts;
	volatile bool keep = true;
	uint64		content;

	for (int t = 0; t < ts->ntargets; t++)
		if (isnull[ts->targets[t].attno])
			return true;		/* the read skips or masks it */
	if (ts->enc->nraw == 0)
	{
		/* the arrays' lengths, from the first row with every array */
		if (!EncoderLengthsKnown(ts->enc, values, isnull))
			return true;
		st->raw = MemoryContextAlloc(GetMemoryChunkContext(st), sizeof(double) * Max(ts->enc->nraw, 1));
	}
	PG_TRY();
	{
		keep = ReframeSampleDraw(TrainRowHashes(ts, values, isnull, st->raw, st->y, &content)) < st->share;
	}
	PG_CATCH();
	{
		/* a value the read rejects (data exception): the read reports it */
		ErrorData  *ed;

		MemoryContextSwitchTo(st->rowcxt);
		ed = CopyErrorData();
		if (ERRCODE_TO_CATEGORY(ed->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			PG_RE_THROW();
		FlushErrorState();
		keep = true;
	}
	PG_END_TRY();
	ts->nlabel_codes = 0;
	return keep;
}

/* reframe.sample_keep(plan text, row record): whether a training's read keeps the row in its sample. */
PG_FUNCTION_INFO_V1(reframe_sample_keep);
Datum
reframe_sample_keep(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(1);
	TupleDesc	td = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
	FilterState *st = fcinfo->flinfo->fn_extra;
	HeapTupleData tuple;
	Datum	   *values;
	bool	   *isnull;
	bool		keep;
	MemoryContext old;

	if (st == NULL)
		fcinfo->flinfo->fn_extra = st = FilterStateFor(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)), td);
	old = MemoryContextSwitchTo(st->rowcxt);
	MemoryContextReset(st->rowcxt);
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	values = palloc(sizeof(Datum) * td->natts);
	isnull = palloc(sizeof(bool) * td->natts);
	heap_deform_tuple(&tuple, td, values, isnull);
	keep = FilterKeeps(st, values, isnull);
	MemoryContextSwitchTo(old);
	ReleaseTupleDesc(td);
	if (++st->rows % FILTER_DICT_ROWS == 0)
		FilterDicts(st);
	PG_RETURN_BOOL(keep);
}
