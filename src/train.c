/*
 * train.c
 *		reframe.train(): read the source once, encode each row as it arrives,
 *		fit, evaluate on held-out rows, and store a new version.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/lmgr.h"
#include "tcop/dest.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/varlena.h"

#include "reframe.h"
#include "jsonutil.h"
#include "gram.h"
#include "ridge.h"
#include "store.h"
#include "train.h"

typedef struct TrainReceiver
{
	DestReceiver pub;
	RfTrainState *ts;
} TrainReceiver;

/* ---------- reading the source ---------- */

/*
 * A source is a query when it starts like one; otherwise it names a table
 * or view, resolved like any relation name.
 */
static char *
SourceSql(text *source)
{
	char	   *s = text_to_cstring(source);
	char	   *p = s;
	static const char *const starts[] = {"select", "with", "values", "table"};
	RangeVar   *rv;
	Oid			relid;

	while (*p && isspace((unsigned char) *p))
		p++;
	if (*p == '(')
		return s;
	for (int i = 0; i < lengthof(starts); i++)
	{
		int			len = strlen(starts[i]);

		if (pg_strncasecmp(p, starts[i], len) == 0 &&
			(p[len] == '\0' || isspace((unsigned char) p[len]) || p[len] == '('))
			return s;
	}
	rv = makeRangeVarFromNameList(textToQualifiedNameList(source));
	relid = RangeVarGetRelid(rv, AccessShareLock, true);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("source relation \"%s\" does not exist", s),
				 errhint("The source is a table or view name, or a query starting with SELECT, WITH, VALUES or TABLE.")));
	return psprintf("SELECT * FROM %s", StoreQualifiedName(relid));
}

static List *
SplitNames(const char *list, const char *what)
{
	List	   *names = NIL;
	char	   *copy = pstrdup(list);

	if (!SplitIdentifierString(copy, ',', &names) || names == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s list \"%s\"", what, list),
				 errhint("Name one column, or several separated by commas.")));
	return names;
}

static bool
IsIntegerType(Oid typid)
{
	return typid == INT2OID || typid == INT4OID || typid == INT8OID;
}

/* The task a target type implies when none is given. */
static const char *
InferTask(Oid typid)
{
	if (typid == BOOLOID)
		return "binary";
	if (ReframeIsNumericType(typid))
		return "regression";
	return NULL;
}

static void
TrainStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	RfTrainState *ts = ((TrainReceiver *) self)->ts;
	MemoryContext old = MemoryContextSwitchTo(ts->mcxt);
	bool	   *is_target = palloc0(sizeof(bool) * Max(typeinfo->natts, 1));

	ts->tupdesc = CreateTupleDescCopy(typeinfo);
	for (int t = 0; t < ts->ntargets; t++)
	{
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
		ts->target_attno[t] = attno;
		ts->target_typid[t] = typid;

		if (ts->task == NULL)
		{
			const char *task = InferTask(typid);

			if (task == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("cannot infer a task from target column \"%s\" of type %s",
								ts->target_names[t], format_type_be(typid)),
						 errhint("Regression needs a numeric target.")));
			ts->task = pstrdup(task);
			ereport(NOTICE,
					(errmsg("training a %s model: target column \"%s\" is %s",
							task, ts->target_names[t], format_type_be(typid)),
					 errhint("Pass task => '...' to frame it differently.")));
		}
		if (strcmp(ts->task, "regression") == 0 && !ReframeIsNumericType(typid))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("target column \"%s\" has type %s, which cannot be a regression target",
							ts->target_names[t], format_type_be(typid)),
					 errhint("A regression target must be numeric; cast it in a SELECT.")));
	}
	if (strcmp(ts->task, "regression") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("task \"%s\" is not supported yet", ts->task),
				 errhint("This version of reframe trains regression models.")));
	(void) IsIntegerType;

	ts->enc = EncoderPlan(typeinfo, is_target, ts->opts->features, ts->opts->exclude);
	ts->streaming = strcmp(ts->task, "regression") == 0;
	for (int c = 0; c < ts->enc->ncols; c++)
		if (ts->enc->cols[c].kind == RF_CATEGORY)
			ts->streaming = false;
	ts->Y = RfMatrixCreate(ts->ntargets, &ts->budget);
	ts->Yv = RfMatrixCreate(ts->ntargets, &ts->budget);
	MemoryContextSwitchTo(old);
}

/* Maps a 64-bit hash to [0, 1). */
static double
HashToUnit(uint64 h)
{
	return (double) (h >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * Encodes one source row into the training or the validation matrices,
 * chosen by a seeded hash of the row's content, and adds it to the
 * encoder's statistics.
 */
static void
TrainAddRow(RfTrainState *ts, Datum *values, bool *isnull)
{
	uint64		hash = (uint64) ts->opts->seed * UINT64CONST(0x9E3779B97F4A7C15) + 1;
	double	   *raw = ts->streaming ? ts->rowbuf : RfMatrixAppendRow(ts->raw);
	double		ybuf[1];
	double	   *y = ts->streaming ? ybuf : RfMatrixAppendRow(ts->Y);
	int			set = 0;

	EncoderReadRow(ts->enc, values, isnull, raw, &hash);
	for (int t = 0; t < ts->ntargets; t++)
	{
		double		v = ReframeDatumToDouble(values[ts->target_attno[t]], ts->target_typid[t]);

		if (!isfinite(v))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("target column \"%s\" contains NaN or Infinity", ts->target_names[t]),
					 errhint("Filter such rows out in the source.")));
		y[t] = v;
	}
	hash = ReframeHashDoubles(y, ts->ntargets, hash);
	if (HashToUnit(hash_bytes_uint32_extended((uint32) hash, hash >> 32)) < ts->holdout)
		set = 1;
	ts->nrows[set]++;
	if (ts->streaming)
	{
		/* the first row fixes the origin the moments are shifted by */
		if (ts->nrows[0] + ts->nrows[1] == 1)
		{
			for (int r = 0; r < ts->enc->nraw; r++)
				ts->origin[r] = isnan(raw[r]) ? 0.0 : raw[r];
			ts->yorigin = y[0];
		}
		GramAdd(ts->gram[set], raw, y[0]);
		return;
	}
	EncoderAccumulate(ts->enc, raw, set);
	if (set == 1)
	{
		memcpy(RfMatrixAppendRow(ts->rawv), raw, sizeof(double) * ts->raw->ncols);
		memcpy(RfMatrixAppendRow(ts->Yv), y, sizeof(double) * ts->Y->ncols);
		RfMatrixDropLastRow(ts->raw);
		RfMatrixDropLastRow(ts->Y);
	}
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
	for (int t = 0; t < ts->ntargets; t++)
		if (slot->tts_isnull[ts->target_attno[t]])
		{
			ts->skipped++;
			goto done;
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
		ts->raw = RfMatrixCreate(R, &ts->budget);
		ts->rawv = RfMatrixCreate(R, &ts->budget);
		if (ts->streaming)
		{
			ts->rowbuf = palloc(sizeof(double) * R);
			ts->origin = palloc0(sizeof(double) * R);
			ts->gram[0] = GramCreate(R, ts->origin, &ts->yorigin);
			ts->gram[1] = GramCreate(R, ts->origin, &ts->yorigin);
		}
		ts->ready = true;
		MemoryContextSwitchTo(ts->rowcxt);
		TrainFlushPending(ts);
	}
	TrainAddRow(ts, slot->tts_values, slot->tts_isnull);
	if (((ts->nrows[0] + ts->nrows[1]) & 0x3fff) == 0)
		CHECK_FOR_INTERRUPTS();
done:
	MemoryContextSwitchTo(old);
	MemoryContextReset(ts->rowcxt);
	return true;
}

static void
TrainNoop(DestReceiver *self)
{
}

static void
TrainReadSource(RfTrainState *ts)
{
	TrainReceiver recv;
	SPIExecuteOptions opts;
	int			rc;

	memset(&recv, 0, sizeof(recv));
	recv.pub.receiveSlot = TrainReceive;
	recv.pub.rStartup = TrainStartup;
	recv.pub.rShutdown = TrainNoop;
	recv.pub.rDestroy = TrainNoop;
	recv.pub.mydest = DestNone;
	recv.ts = ts;

	memset(&opts, 0, sizeof(opts));
	opts.read_only = false;
	opts.dest = (DestReceiver *) &recv;

	SPI_connect();
	rc = SPI_execute_extended(ts->source_sql, &opts);
	/* with a receiver of our own, SPI reports a SELECT as SPI_OK_UTILITY */
	if (rc < 0 || ts->tupdesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training source must be a query that returns rows"),
				 errdetail("The source was: %s", ts->source_sql)));
	SPI_finish();

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
	ts->nrows[0] += ts->nrows[1];
	ts->nrows[1] = 0;
	if (ts->streaming)
	{
		GramMerge(ts->gram[0], ts->gram[1]);
		ts->gram[1] = GramCreate(ts->enc->nraw, ts->origin, &ts->yorigin);
		return;
	}
	for (int64 i = 0; i < ts->rawv->nrows; i++)
	{
		memcpy(RfMatrixAppendRow(ts->raw), RfMatrixRow(ts->rawv, i), sizeof(double) * ts->raw->ncols);
		memcpy(RfMatrixAppendRow(ts->Y), RfMatrixRow(ts->Yv, i), sizeof(double) * ts->Y->ncols);
	}
	RfMatrixTruncate(ts->rawv, 0);
	RfMatrixTruncate(ts->Yv, 0);
}

/* ---------- evaluation ---------- */

typedef struct RegressionMetrics
{
	double		n;
	double		sse;
	double		sae;
	double		ymean;
	double		ym2;
} RegressionMetrics;

static void
EvaluateRegression(const RfNet *net, const RfMatrix *X, const RfMatrix *Y, int ycol,
				   RegressionMetrics *m)
{
	double	   *out = palloc(sizeof(double) * RF_CHUNK_ROWS * net->nout);
	double	   *work = net->nhidden > 0 ?
		palloc(sizeof(double) * 2 * RF_CHUNK_ROWS * NetMaxWidth(net)) : NULL;

	memset(m, 0, sizeof(*m));
	for (int c = 0; c < X->nchunks; c++)
	{
		int			rows = RfChunkRows(X, c);

		NetForwardBatch(net, X->chunks[c], rows, out, work);
		for (int i = 0; i < rows; i++)
		{
			double		y = Y->chunks[c][(Size) i * Y->ncols + ycol];
			double		e = y - out[(Size) i * net->nout];
			double		delta = y - m->ymean;

			m->n += 1;
			m->sse += e * e;
			m->sae += fabs(e);
			m->ymean += delta / m->n;
			m->ym2 += delta * (y - m->ymean);
		}
	}
	pfree(out);
}

/* The same metrics from a set's second moments: no MAE without the rows. */
static void
EvaluateRegressionGram(RfGram *g, const RfEncoder *enc, const RfNet *net, RegressionMetrics *m)
{
	memset(m, 0, sizeof(*m));
	m->n = GramRows(g);
	m->sae = get_float8_nan();
	GramErrors(g, enc, net->params + net->w_off[0], net->params[net->b_off[0]], &m->sse, &m->ym2);
}

static void
RegressionMetricsJson(StringInfo buf, const RegressionMetrics *m)
{
	appendStringInfo(buf, "{\"rows\": %.0f, \"rmse\": ", m->n);
	JsonAppendNumber(buf, sqrt(m->sse / m->n));
	if (!isnan(m->sae))
	{
		appendStringInfoString(buf, ", \"mae\": ");
		JsonAppendNumber(buf, m->sae / m->n);
	}
	appendStringInfoString(buf, ", \"r2\": ");
	JsonAppendNumber(buf, m->ym2 > 0 ? 1.0 - m->sse / m->ym2 : get_float8_nan());
	appendStringInfoChar(buf, '}');
}

/* ---------- the SQL function ---------- */

/* With "verbose", reports a finished phase and how long it took. */
static void
Phase(RfTrainState *ts, instr_time *mark, const char *what)
{
	instr_time	now;
	instr_time	d;

	if (!ts->opts->verbose)
		return;
	INSTR_TIME_SET_CURRENT(now);
	d = now;
	INSTR_TIME_SUBTRACT(d, *mark);
	*mark = now;
	ereport(NOTICE, (errmsg("model \"%s\": %s (%.1f ms)", ts->model_name, what,
							INSTR_TIME_GET_MILLISEC(d))));
}

static text *
ArgText(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	return PG_GETARG_TEXT_PP(n);
}

static const char *const known_tasks[] = {
	"regression", "binary", "multiclass", "multilabel", "hierarchical", "multitask"
};

/* Trains a new version of a model and returns a summary row. */
PG_FUNCTION_INFO_V1(reframe_train);
Datum
reframe_train(PG_FUNCTION_ARGS)
{
	text	   *model = ArgText(fcinfo, 0, "model name");
	text	   *source = ArgText(fcinfo, 1, "source");
	text	   *target = ArgText(fcinfo, 2, "target");
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext tcxt;
	RfTrainState *ts;
	TupleDesc	result_desc;
	Datum		result[8];
	bool		result_null[8] = {false};
	Oid			relid;
	ListCell   *lc;
	List	   *targets;
	int			t;
	int64		ntrain;
	int64		nvalid;
	RfMatrix   *Xtr = NULL;
	RfMatrix   *Xva = NULL;
	RfNet	   *net;
	RfHead	   *head;
	RegressionMetrics mtr;
	RegressionMetrics mva;
	StringInfoData spec;
	StringInfoData metrics;
	List	   *blocks;
	RfBlock    *b;
	bool		with_validation;
	bool		deploy;
	int32		version;
	double		selection = 0;
	instr_time	start;
	instr_time	elapsed;
	instr_time	mark;

	INSTR_TIME_SET_CURRENT(start);
	mark = start;
	if (get_call_result_type(fcinfo, NULL, &result_desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "reframe.train must return a row");

	tcxt = AllocSetContextCreate(CurrentMemoryContext, "reframe training", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(tcxt);

	ts = palloc0(sizeof(RfTrainState));
	ts->mcxt = tcxt;
	ts->model_name = text_to_cstring(model);
	ts->opts = OptionsParse(PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4));
	ts->rowcxt = AllocSetContextCreate(tcxt, "reframe training row", ALLOCSET_DEFAULT_SIZES);
	if (!PG_ARGISNULL(3))
	{
		char	   *task = text_to_cstring(PG_GETARG_TEXT_PP(3));
		bool		known = false;

		for (int i = 0; i < lengthof(known_tasks); i++)
			known |= strcmp(task, known_tasks[i]) == 0;
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown task \"%s\"", task),
					 errhint("Use regression, binary, multiclass, multilabel, hierarchical or multitask, or NULL to infer it from the target.")));
		ts->task = task;
	}

	targets = SplitNames(text_to_cstring(target), "target");
	ts->ntargets = list_length(targets);
	ts->target_names = palloc(sizeof(char *) * ts->ntargets);
	ts->target_attno = palloc(sizeof(int) * ts->ntargets);
	ts->target_typid = palloc(sizeof(Oid) * ts->ntargets);
	t = 0;
	foreach(lc, targets)
		ts->target_names[t++] = lfirst(lc);
	if (ts->ntargets != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("training on several targets (\"%s\") is not supported yet", text_to_cstring(target))));

	/* The model's table: an existing model we may write, or a new one. */
	relid = StoreModelRelid(model, AccessShareLock, true);
	if (OidIsValid(relid))
	{
		AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_INSERT | ACL_UPDATE);

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
	}
	else
		relid = StoreCreateModelTable(StoreNameToRangeVar(model));

	ts->source_sql = SourceSql(source);
	if (ts->opts->verbose)
		ereport(NOTICE, (errmsg("model \"%s\": reading %s", ts->model_name, ts->source_sql)));
	/* the default holds out 0.2 from 1,000 rows up, decided once all are read */
	ts->holdout = ts->opts->validation >= 0 ? ts->opts->validation : 0.2;
	TrainReadSource(ts);
	Phase(ts, &mark, psprintf("read %lld rows", (long long) (ts->nrows[0] + ts->nrows[1])));
	with_validation = ts->opts->validation < 0 && ts->nrows[0] + ts->nrows[1] < 1000;
	if (with_validation)
		TrainMergeValidation(ts);
	ntrain = ts->nrows[0];
	nvalid = ts->nrows[1];
	if (ntrain == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no training rows left for model \"%s\" after holding out validation rows",
						ts->model_name),
				 errhint("Lower the \"validation\" option.")));
	Phase(ts, &mark, psprintf("%lld training and %lld validation rows",
							  (long long) ntrain, (long long) nvalid));

	if (ts->streaming)
	{
		GramEncoderStats(ts->gram[0], ts->enc, 0);
		GramEncoderStats(ts->gram[1], ts->enc, 1);
	}
	EncoderFit(ts->enc, with_validation, ts->opts->max_categories);
	if (!ts->streaming)
	{
		Xtr = EncoderApply(ts->enc, ts->raw);
		Xva = EncoderApply(ts->enc, ts->rawv);
		Phase(ts, &mark, psprintf("encoded %d inputs as %d features", ts->enc->nraw, Xtr->ncols));
	}

	head = palloc0(sizeof(RfHead));
	head->name = ts->target_names[0];
	head->kind = RF_HEAD_REGRESSION;
	head->loss = RF_LOSS_SQUARED;
	head->nout = 1;
	head->ycol = 0;
	head->weight = 1.0;
	net = NetCreate(ts->enc->width, 0, NULL, 1, head);

	ReframeBlasPrepare();
	if (ts->streaming)
		GramSolve(ts->gram[0], ts->enc, ts->opts->l2, net->params + net->w_off[0],
				  net->params + net->b_off[0]);
	else
		RidgeFit(Xtr, ts->Y, 0, ts->opts->l2, net->params + net->w_off[0],
				 net->params + net->b_off[0]);
	Phase(ts, &mark, "solved ridge regression");

	if (ts->streaming)
		EvaluateRegressionGram(ts->gram[0], ts->enc, net, &mtr);
	else
		EvaluateRegression(net, Xtr, ts->Y, 0, &mtr);
	initStringInfo(&metrics);
	appendStringInfoString(&metrics, "{\"training\": ");
	RegressionMetricsJson(&metrics, &mtr);
	if (nvalid > 0)
	{
		if (ts->streaming)
			EvaluateRegressionGram(ts->gram[1], ts->enc, net, &mva);
		else
			EvaluateRegression(net, Xva, ts->Yv, 0, &mva);
		appendStringInfoString(&metrics, ", \"validation\": ");
		RegressionMetricsJson(&metrics, &mva);
		selection = sqrt(mva.sse / mva.n);
	}
	appendStringInfoChar(&metrics, '}');
	Phase(ts, &mark, "evaluated");
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);

	initStringInfo(&spec);
	appendStringInfo(&spec, "{\"format\": 1, \"task\": \"%s\", \"targets\": [", ts->task);
	for (t = 0; t < ts->ntargets; t++)
	{
		if (t)
			appendStringInfoString(&spec, ", ");
		JsonAppendString(&spec, ts->target_names[t]);
	}
	appendStringInfoString(&spec, "], \"source\": ");
	JsonAppendString(&spec, ts->source_sql);
	appendStringInfoString(&spec, ", \"encoder\": ");
	EncoderToJson(ts->enc, &spec);
	appendStringInfoString(&spec, ", \"network\": ");
	NetToJson(net, &spec);
	appendStringInfo(&spec, ", \"options\": %s, \"training\": {\"rows\": %lld, \"validation_rows\": %lld, "
					 "\"skipped_rows\": %lld, \"solver\": \"%s\", \"iterations\": 1, \"converged\": true, "
					 "\"loss\": ",
					 ts->opts->raw ? JsonbToCString(NULL, &ts->opts->raw->root, VARSIZE(ts->opts->raw)) : "{}",
					 (long long) ntrain, (long long) nvalid, (long long) ts->skipped,
					 ts->streaming ? "streaming normal equations, cholesky" : "normal equations, cholesky");
	JsonAppendNumber(&spec, mtr.sse / mtr.n);
	appendStringInfo(&spec, ", \"seconds\": %.3f}, \"metrics\": %s",
					 INSTR_TIME_GET_DOUBLE(elapsed), metrics.data);
	if (nvalid > 0)
	{
		appendStringInfoString(&spec, ", \"selection\": {\"metric\": \"rmse\", \"value\": ");
		JsonAppendNumber(&spec, selection);
		appendStringInfoChar(&spec, '}');
	}
	appendStringInfoChar(&spec, '}');

	blocks = NetBlocks(net);
	b = palloc0(sizeof(RfBlock));
	b->name = "encoder.scale";
	b->ndim = 1;
	b->shape[0] = ts->enc->nraw;
	b->data = ts->enc->scale;
	blocks = lcons(b, blocks);
	b = palloc0(sizeof(RfBlock));
	b->name = "encoder.shift";
	b->ndim = 1;
	b->shape[0] = ts->enc->nraw;
	b->data = ts->enc->shift;
	blocks = lcons(b, blocks);

	/* Versions are numbered under a lock that scoring (AccessShare) never waits for. */
	LockRelationOid(relid, ShareRowExclusiveLock);
	version = StoreNextVersion(relid);
	switch (ts->opts->deploy)
	{
		case RF_DEPLOY_ALWAYS:
			deploy = true;
			break;
		case RF_DEPLOY_NEVER:
			deploy = false;
			break;
		default:
			{
				int32		current = StoreDeployedVersion(relid, false);
				bool		found;
				double		old;

				if (nvalid == 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("\"deploy\": \"if_better\" needs validation rows"),
							 errhint("Set the \"validation\" option to a fraction above 0.")));
				old = current < 0 ? 0 : StoreVersionSelection(relid, current, &found);
				deploy = current < 0 || !found || selection < old;
				if (current >= 0 && found)
					ereport(NOTICE,
							(errmsg("model \"%s\": new validation rmse %g %s deployed version %d's %g",
									ts->model_name, selection, deploy ? "beats" : "does not beat",
									current, old)));
			}
	}
	StoreWriteVersion(relid, version, spec.data, blocks, false);
	if (deploy)
		StoreDeploy(relid, version);
	Phase(ts, &mark, psprintf("stored version %d%s", version, deploy ? " and deployed it" : ""));

	MemoryContextSwitchTo(caller);
	result[0] = CStringGetTextDatum(ts->model_name);
	result[1] = Int32GetDatum(version);
	result[2] = CStringGetTextDatum(ts->task);
	result[3] = Int64GetDatum(ntrain);
	result[4] = Int64GetDatum(nvalid);
	result[5] = Float8GetDatum(mtr.sse / mtr.n);
	result[6] = JsonbPGetDatum(JsonFromText(metrics.data));
	result[7] = BoolGetDatum(deploy);
	MemoryContextDelete(tcxt);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_desc, result, result_null)));
}
