/*
 * evaluate_workers.c
 *		reframe.evaluate over a Citus distributed source: scored and summed
 *		where the rows are.
 *
 * The source is read as
 *
 *	SELECT reframe.evaluation($1, reframe.evaluate_row($2, reframe_s))
 *	FROM (source) reframe_s
 *
 * On the worker holding a shard, reframe.evaluate_row scores each row with
 * the version evaluate chose on this node (the plan names it, and the
 * columns by position: Citus ships a subquery's row without its field
 * names) into its cells, by the very code the read on one node uses
 * (evaluate_rows.c).  The aggregate reframe.evaluation sums the cells into
 * the heads' accumulators (evaluate_state.c), and Citus combines the
 * workers' sums here: only they cross the network.  A binary head's ROC
 * AUC then comes from histograms of its scores, as in streamed training.
 * Ranking metrics and curves need every row's score together: with
 * "group" or "curves" the workers still score the rows, and each row's
 * cells (and query) come here to be added, as the read on one node adds
 * them, the ROC AUC exact.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "reframe.h"
#include "citus.h"
#include "evaluate_rows.h"
#include "evaluate_state.h"
#include "jsonutil.h"
#include "store.h"

/* ---------- on this node: the plan, the query, the sums ---------- */

/* The plan reframe.evaluate_row reads: the version, and its columns by position. */
static Jsonb *
WorkerPlan(EvalReceiver *r, Oid relid)
{
	RfModel    *m = r->model;
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"model\": ");
	JsonAppendString(&buf, psprintf("%s@%d", StoreQualifiedName(relid), m->version));
	appendStringInfoString(&buf, ", \"features\": [");
	for (int c = 0; c < m->enc->ncols; c++)
		appendStringInfo(&buf, "%s%d", c ? ", " : "", r->attno[c]);
	appendStringInfoString(&buf, "], \"targets\": [");
	for (int h = 0; h < m->net->nheads; h++)
	{
		appendStringInfo(&buf, "%s", h ? ", " : "");
		if (r->tattno[h] >= 0 || r->lattno[h] == NULL)
		{
			appendStringInfo(&buf, "%d", r->tattno[h]);
			continue;
		}
		/* a multilabel head's label columns */
		appendStringInfoChar(&buf, '[');
		for (int k = 0; k < m->net->heads[h].nout; k++)
			appendStringInfo(&buf, "%s%d", k ? ", " : "", r->lattno[h][k]);
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfo(&buf, "], \"weight\": %d", r->wattno);
	if (r->weight)
	{
		appendStringInfoString(&buf, ", \"weight_name\": ");
		JsonAppendString(&buf, r->weight);
	}
	appendStringInfoChar(&buf, '}');
	return JsonFromText(buf.data);
}

/* The heads' accumulators, and the rows counted, from the sums the workers made. */
static void
ReadSums(EvalReceiver *r, bytea *config, bytea *result)
{
	RfTrunk    *net = r->model->net;
	EvalStateView v;
	EvalState  *s = (EvalState *) result;
	double	   *sums;

	EvalStateOpen(s, VARSIZE(result), &v);
	if (s->nacc == 0 || v.config_size != VARSIZE(config) || !EvalStateSameConfig(s, (EvalState *) config, &v))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("reframe.evaluate: the workers' sums do not fit model \"%s\"", r->model->name)));
	sums = EvalStateSums(s, &v);
	for (int h = 0; h < net->nheads; h++)
		EvalStateAcc(&v, sums, h, &net->heads[h], &r->acc[h]);
	r->rows = (int64) sums[0];
	r->null_targets = (int64) sums[1];
	r->unknown_classes = (int64) sums[2];
}

/*
 * Runs the query of the sums over the source (sql), r's columns found in
 * it; returns the workers' sums combined, NULL when the source has no row,
 * in the current memory context (within SPI).
 */
static bytea *
QuerySums(EvalReceiver *r, Oid relid, const char *sql, bytea **config)
{
	Oid			argtypes[2] = {BYTEAOID, JSONBOID};
	Datum		args[2];
	RfSourceRead nest;
	bool		isnull;
	Datum		d;
	int			rc;

	*config = EvalStateConfig(r->model->net->heads, r->model->net->nheads);
	args[0] = PointerGetDatum(*config);
	args[1] = JsonbPGetDatum(WorkerPlan(r, relid));
	StoreBeginSourceRead(&nest);
	rc = SPI_execute_with_args(psprintf("SELECT %s.evaluation($1, %s.evaluate_row($2, reframe_s)) FROM (%s) reframe_s",
										REFRAME_SCHEMA, REFRAME_SCHEMA, sql),
							   2, argtypes, args, NULL, true, 1);
	StoreEndSourceRead(&nest);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("evaluation source must be a query that returns rows"),
				 errdetail("The source was: %s", sql)));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NULL : DatumGetByteaPCopy(d);
}

/* ---------- with "group" or "curves": each row's cells, added here ---------- */

typedef struct CellsReceiver
{
	DestReceiver pub;
	EvalReceiver *r;
} CellsReceiver;

/* A row the workers scored: its cells (a float8[] of the model's layout), and its query. */
static bool
CellsReceive(TupleTableSlot *slot, DestReceiver *self)
{
	EvalReceiver *r = ((CellsReceiver *) self)->r;
	MemoryContext old = MemoryContextSwitchTo(r->rowcxt);
	ArrayType  *a;

	slot_getallattrs(slot);
	a = slot->tts_isnull[0] ? NULL : DatumGetArrayTypeP(slot->tts_values[0]);
	if (a == NULL || ARR_NDIM(a) != 1 || ARR_ELEMTYPE(a) != FLOAT8OID || ARR_HASNULL(a) ||
		ARR_DIMS(a)[0] != r->ncells ||
		!EvalCellsValid(r->model->net->heads, r->model->net->nheads, r->cell_at, (const double *) ARR_DATA_PTR(a)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("reframe.evaluate: a worker's row does not fit model \"%s\"", r->model->name)));
	EvalAddCells(r, (const double *) ARR_DATA_PTR(a), r->group ? slot->tts_values[1] : (Datum) 0,
				 r->group ? slot->tts_isnull[1] : true);
	MemoryContextSwitchTo(old);
	MemoryContextReset(r->rowcxt);
	return true;
}

static void
CellsNoop(DestReceiver *self)
{
}

static void
CellsStartup(DestReceiver *self, int operation, TupleDesc td)
{
}

/*
 * Reads the cells the workers score, with each row's query for the
 * ranking metrics: the rows' scores all come here (for ranking and curves),
 * but neither their inputs nor their other columns.
 */
static void
QueryCells(EvalReceiver *r, Oid relid, const char *sql)
{
	CellsReceiver recv;
	SPIExecuteOptions opts;
	RfSourceRead nest;
	char	   *plan = JsonbToCString(NULL, &WorkerPlan(r, relid)->root, -1);
	int			rc;

	memset(&recv, 0, sizeof(recv));
	recv.pub.receiveSlot = CellsReceive;
	recv.pub.rStartup = CellsStartup;
	recv.pub.rShutdown = CellsNoop;
	recv.pub.rDestroy = CellsNoop;
	recv.pub.mydest = DestNone;
	recv.r = r;
	memset(&opts, 0, sizeof(opts));
	opts.read_only = true;
	opts.dest = (DestReceiver *) &recv;
	StoreBeginSourceRead(&nest);
	rc = SPI_execute_extended(psprintf("SELECT %s.evaluate_row(%s::jsonb, reframe_s)%s%s FROM (%s) reframe_s",
									   REFRAME_SCHEMA, quote_literal_cstr(plan), r->group ? ", reframe_s." : "",
									   r->group ? quote_identifier(r->group) : "", sql),
							  &opts);
	StoreEndSourceRead(&nest);
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("evaluation source must be a query that returns rows"),
				 errdetail("The source was: %s", sql)));
}

bool
EvalOnWorkers(EvalReceiver *r, Oid relid, text *source, bool every_row)
{
	char	   *sql = StoreSourceSql(source);
	MemoryContext outer = CurrentMemoryContext;
	SPIPlanPtr	plan;
	CachedPlanSource *ps;
	bytea	   *config;
	bytea	   *sums;

	if (!CitusInstalled())
		return false;
	SPI_connect();
	plan = SPI_prepare(sql, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "reframe: could not plan the source: %s", SPI_result_code_string(SPI_result));
	ps = linitial(SPI_plan_get_plan_sources(plan));
	if (ps->resultDesc == NULL || !CitusReadsDistributedTable(ps->relationOids))
	{
		SPI_finish();
		return false;
	}
	{
		MemoryContext spi = MemoryContextSwitchTo(outer);

		EvalFindColumns(r, ps->resultDesc);
		EvalCheckColumns(r, ps->resultDesc);
		if (every_row)
		{
			QueryCells(r, relid, sql);
			sums = NULL;
		}
		else
			sums = QuerySums(r, relid, sql, &config);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	if (sums)
		ReadSums(r, config, sums);
	r->on_workers = true;
	return true;
}

/* ---------- on the workers: a row's cells ---------- */

/* What one call site of reframe.evaluate_row keeps between rows of one row type. */
typedef struct RowState
{
	Oid			rowtype;
	int32		rowtypmod;
	TupleDesc	td;
	TupleTableSlot *slot;
	EvalReceiver r;
} RowState;

static void
PlanInvalid(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("reframe.evaluate_row: the plan is not one reframe.evaluate made for this row")));
}

/* An integer of the plan. */
static int
PlanInt(JsonbValue *v)
{
	double		d;

	if (v == NULL || v->type != jbvNumeric)
		PlanInvalid();
	d = JsonValueNumber(v);
	if (!(d >= -1 && d < MaxHeapAttributeNumber) || d != (int) d)
		PlanInvalid();
	return (int) d;
}

/* The plan's columns into r: features, targets (or a multilabel head's label columns), weight. */
static void
PlanColumns(EvalReceiver *r, JsonbContainer *plan)
{
	RfModel    *m = r->model;
	JsonbContainer *features = JsonFieldContainer(plan, "features");
	JsonbContainer *targets = JsonFieldContainer(plan, "targets");

	if (features == NULL || targets == NULL || JsonArraySize(features) != m->enc->ncols ||
		JsonArraySize(targets) != m->net->nheads)
		PlanInvalid();
	for (int c = 0; c < m->enc->ncols; c++)
		r->attno[c] = PlanInt(JsonArrayElement(features, c));
	for (int h = 0; h < m->net->nheads; h++)
	{
		JsonbContainer *labels = JsonArrayContainer(targets, h);
		RfHead	   *head = &m->net->heads[h];

		r->tattno[h] = -1;
		if (labels == NULL)
		{
			r->tattno[h] = PlanInt(JsonArrayElement(targets, h));
			if (r->tattno[h] < 0 && head->kind != RF_HEAD_MULTILABEL)
				PlanInvalid();
			if (r->tattno[h] >= 0)
				continue;
		}
		if (head->kind != RF_HEAD_MULTILABEL || labels == NULL || JsonArraySize(labels) != head->nout)
			PlanInvalid();
		r->lattno[h] = palloc(sizeof(int) * head->nout);
		for (int k = 0; k < head->nout; k++)
			r->lattno[h][k] = PlanInt(JsonArrayElement(labels, k));
	}
	r->wattno = PlanInt(JsonField(plan, "weight"));
	r->weight = r->wattno >= 0 ? JsonFieldText(plan, "weight_name", "weight") : NULL;
}

/* The call site's state for a row type: the version the plan names, its columns checked. */
static RowState *
RowStateFor(FunctionCallInfo fcinfo, Jsonb *plan, TupleDesc td)
{
	MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	RowState   *st = palloc0(sizeof(RowState));
	char	   *name = JB_ROOT_IS_OBJECT(plan) ? JsonFieldText(&plan->root, "model", NULL) : NULL;
	int32		version;
	text	   *model;

	if (name == NULL)
		PlanInvalid();
	model = StoreSplitVersion(cstring_to_text(name), &version);
	st->r.model = StoreGetModel(StoreReadableModelRelid(model), text_to_cstring(model), version,
								fcinfo->flinfo->fn_mcxt);
	if (st->r.model->nterms > 0)
		PlanInvalid();			/* a blend has no target */
	EvalReceiverInit(&st->r, false);
	PlanColumns(&st->r, &plan->root);
	EvalCheckColumns(&st->r, td);
	st->td = CreateTupleDescCopy(td);
	st->slot = MakeSingleTupleTableSlot(st->td, &TTSOpsVirtual);
	st->rowtype = td->tdtypeid;
	st->rowtypmod = td->tdtypmod;
	MemoryContextSwitchTo(old);
	return st;
}

/* reframe.evaluate_row(plan jsonb, row record): a row's cells, scored with the plan's version. */
PG_FUNCTION_INFO_V1(reframe_evaluate_row);
Datum
reframe_evaluate_row(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(1);
	Oid			rowtype = HeapTupleHeaderGetTypeId(row);
	int32		rowtypmod = HeapTupleHeaderGetTypMod(row);
	RowState   *st = fcinfo->flinfo->fn_extra;
	HeapTupleData tuple;
	MemoryContext old;

	if (st == NULL || st->rowtype != rowtype || st->rowtypmod != rowtypmod)
	{
		TupleDesc	td = lookup_rowtype_tupdesc(rowtype, rowtypmod);

		fcinfo->flinfo->fn_extra = st = RowStateFor(fcinfo, PG_GETARG_JSONB_P(0), td);
		ReleaseTupleDesc(td);
	}
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	ExecClearTuple(st->slot);
	heap_deform_tuple(&tuple, st->td, st->slot->tts_values, st->slot->tts_isnull);
	ExecStoreVirtualTuple(st->slot);
	MemoryContextReset(st->r.rowcxt);
	old = MemoryContextSwitchTo(st->r.rowcxt);
	EvalRowCells(&st->r, st->slot, st->r.cells);
	MemoryContextSwitchTo(old);
	PG_RETURN_ARRAYTYPE_P(ReframeFloat8Array(st->r.cells, st->r.ncells));
}

/* ---------- the aggregate reframe.evaluation(config, cells) ---------- */

/* The view of the state a call site last added to. */
typedef struct AccumCache
{
	const EvalState *state;
	EvalStateView v;
} AccumCache;

/* A row's cells as doubles: a one-dimensional float8[] of the configuration's length. */
static const double *
RowCells(ArrayType *a, const EvalStateView *v)
{
	if (ARR_NDIM(a) != 1 || ARR_ELEMTYPE(a) != FLOAT8OID || ARR_HASNULL(a) || ARR_DIMS(a)[0] != v->ncells)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.evaluation: a row's cells are not a float8[] of %d values", v->ncells),
				 errhint("Pass reframe.evaluate_row's result for the same model.")));
	return (const double *) ARR_DATA_PTR(a);
}

/* Transition: (state, config, cells) -> state, changed in place. */
PG_FUNCTION_INFO_V1(reframe_evaluation_accum);
Datum
reframe_evaluation_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	AccumCache *c = fcinfo->flinfo->fn_extra;
	EvalState  *s;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("reframe.evaluation_accum can only be called as an aggregate's transition")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("reframe.evaluation: the configuration must not be NULL")));
	if (c == NULL)
		fcinfo->flinfo->fn_extra = c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(AccumCache));
	if (PG_ARGISNULL(0))
	{
		bytea	   *config = PG_GETARG_BYTEA_P(1);
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		EvalStateOpen((EvalState *) config, VARSIZE(config), &c->v);
		MemoryContextSwitchTo(old);
		if (((EvalState *) config)->nacc != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("reframe.evaluation: the configuration is not one reframe.evaluate made")));
		s = EvalStateCreate((EvalState *) config, &c->v, aggcxt);
		c->state = s;
	}
	else
	{
		s = (EvalState *) PG_GETARG_BYTEA_P(0);
		if (s != c->state)
		{
			MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

			EvalStateOpen(s, VARSIZE(s), &c->v);
			MemoryContextSwitchTo(old);
			if (s->nacc == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("reframe.evaluation: the state is not one reframe.evaluate made")));
			c->state = s;
		}
	}
	if (!PG_ARGISNULL(2))
		EvalStateAddRow(&c->v, EvalStateSums(s, &c->v), RowCells(PG_GETARG_ARRAYTYPE_P(2), &c->v));
	PG_RETURN_BYTEA_P(s);
}

/* Combine: the sums of two parts, of one configuration. */
PG_FUNCTION_INFO_V1(reframe_evaluation_combine);
Datum
reframe_evaluation_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	bool		inagg = AggCheckCallContext(fcinfo, &aggcxt);
	EvalState  *a;
	EvalState  *b;
	EvalStateView va;
	EvalStateView vb;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = (EvalState *) PG_GETARG_BYTEA_P(1);
	EvalStateOpen(b, VARSIZE(b), &vb);
	if (b->nacc == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.evaluation: the state to combine is not one reframe.evaluate made")));
	if (PG_ARGISNULL(0))
	{
		a = MemoryContextAlloc(inagg ? aggcxt : CurrentMemoryContext, VARSIZE(b));
		memcpy(a, b, VARSIZE(b));
		PG_RETURN_BYTEA_P(a);
	}
	a = (EvalState *) PG_GETARG_BYTEA_P(0);
	EvalStateOpen(a, VARSIZE(a), &va);
	if (VARSIZE(a) != VARSIZE(b) || a->nacc == 0 || !EvalStateSameConfig(a, b, &va))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.evaluation: cannot combine the sums of two different models")));
	if (!inagg)
	{
		/* called on its own: never change the argument in place */
		EvalState  *copy = palloc(VARSIZE(a));

		memcpy(copy, a, VARSIZE(a));
		a = copy;
	}
	EvalStateMerge(&va, EvalStateSums(a, &va), EvalStateSums(b, &vb));
	PG_RETURN_BYTEA_P(a);
}
