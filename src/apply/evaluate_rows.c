/*
 * evaluate_rows.c
 *		How reframe.evaluate reads rows: the columns of a model's inputs,
 *		targets and weight in a row, each row's cells (its targets and
 *		outputs), added by a DestReceiver into the heads' accumulators
 *		(evaluate.c); and the same over stored tuples, for comparing
 *		versions on the same rows.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "tcop/dest.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "reframe.h"
#include "evaluate.h"
#include "store.h"
#include "targets.h"
#include "encoder.h"
#include "metrics.h"
#include "evaluate_rows.h"
#include "evaluate_state.h"


static int
ClassNameCmp(const void *a, const void *b, void *arg)
{
	char	  **classes = arg;

	return strcmp(classes[*(const int *) a], classes[*(const int *) b]);
}

/* Whether a multilabel head's labels may come as one array column of type t. */
static bool
LabelArrayType(Oid t)
{
	return t == TEXTARRAYOID || t == VARCHARARRAYOID || t == FLOAT8ARRAYOID || t == FLOAT4ARRAYOID;
}

/*
 * Where a multilabel head's labels are: one text[] column (a label set) or
 * float[] (each label's share) named by the head, or one boolean (or share)
 * column per label.
 */
static void
EvalFindLabels(EvalReceiver *r, TupleDesc td, int h)
{
	RfHead	   *head = &r->model->net->heads[h];

	/* labels come as one text[] column named by the head ... */
	r->tattno[h] = -1;
	for (int i = 0; i < td->natts; i++)
		if (!TupleDescAttr(td, i)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(td, i)->attname), head->name) == 0 &&
			LabelArrayType(getBaseType(TupleDescAttr(td, i)->atttypid)))
			r->tattno[h] = i;
	if (r->tattno[h] >= 0)
		return;
	/* ... or as one boolean column per label */
	r->lattno[h] = palloc(sizeof(int) * head->nout);
	for (int k = 0; k < head->nout; k++)
	{
		r->lattno[h][k] = ReframeColumnNumber(td, head->classes[k]);
		if (r->lattno[h][k] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("model \"%s\" is evaluated against its label column \"%s\", which the source does not have",
							r->model->name, head->classes[k])));
	}
}

/* The column at attno of td (which a plan may give), or an error naming what it should hold. */
static Oid
EvalColumnType(EvalReceiver *r, TupleDesc td, int attno, const char *what, const char *name)
{
	if (attno < 0 || attno >= td->natts || TupleDescAttr(td, attno)->attisdropped)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("model \"%s\" is evaluated against its %s column \"%s\", which the source does not have",
						r->model->name, what, name)));
	return getBaseType(TupleDescAttr(td, attno)->atttypid);
}

/* A multilabel head's label columns, checked. */
static void
EvalCheckLabels(EvalReceiver *r, TupleDesc td, int h)
{
	RfHead	   *head = &r->model->net->heads[h];

	if (r->tattno[h] >= 0)
	{
		r->ttype[h] = EvalColumnType(r, td, r->tattno[h], "label", head->name);
		if (!LabelArrayType(r->ttype[h]))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("label column \"%s\" must be text[] (a label set) or float8[] (each label's share)",
							head->name)));
		return;
	}
	for (int k = 0; k < head->nout; k++)
	{
		Oid			t = EvalColumnType(r, td, r->lattno[h][k], "label", head->classes[k]);

		if (t != BOOLOID && !ReframeIsNumericType(t))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("label column \"%s\" must be boolean, or a number in [0, 1] (a share of annotators)",
							head->classes[k])));
	}
}

/* Head h's target column, checked against what the head learned. */
static void
EvalCheckTarget(EvalReceiver *r, TupleDesc td, int h)
{
	RfModel    *m = r->model;
	RfHead	   *head = &m->net->heads[h];

	r->ttype[h] = EvalColumnType(r, td, r->tattno[h], "target", head->name);
	if (head->soft != (r->ttype[h] == FLOAT8ARRAYOID || r->ttype[h] == FLOAT4ARRAYOID))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" has type %s, but model \"%s\" learned %s",
						head->name, format_type_be(r->ttype[h]), m->name,
						head->soft ? "a distribution over its classes (a float8[] per row)" : "one class per row")));
	if ((head->kind == RF_HEAD_REGRESSION || head->bin_values) && !ReframeIsNumericType(r->ttype[h]))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" has type %s, but model \"%s\" regresses a number",
						head->name, format_type_be(r->ttype[h]), m->name)));
}

void
EvalFindColumns(EvalReceiver *r, TupleDesc td)
{
	RfModel    *m = r->model;
	RfTrunk    *net = m->net;

	EncoderMapColumns(m->enc, td, r->attno, r->atttype, m->name);
	for (int h = 0; h < net->nheads; h++)
	{
		if (net->heads[h].kind == RF_HEAD_MULTILABEL)
		{
			EvalFindLabels(r, td, h);
			continue;
		}
		r->tattno[h] = ReframeColumnNumber(td, net->heads[h].name);
		if (r->tattno[h] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("model \"%s\" is evaluated against its target column \"%s\", which the source does not have",
							m->name, net->heads[h].name)));
	}
	r->wattno = -1;
	if (r->weight)
	{
		r->wattno = ReframeColumnNumber(td, r->weight);
		if (r->wattno < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("weight column \"%s\" does not exist in the source", r->weight)));
	}
	if (r->group)
	{
		r->gattno = ReframeColumnNumber(td, r->group);
		if (r->gattno < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("group column \"%s\" does not exist in the source", r->group)));
	}
}

void
EvalCheckColumns(EvalReceiver *r, TupleDesc td)
{
	RfModel    *m = r->model;
	RfTrunk    *net = m->net;

	EncoderCheckColumns(m->enc, td, r->attno, r->atttype, m->name);
	for (int h = 0; h < net->nheads; h++)
		if (net->heads[h].kind == RF_HEAD_MULTILABEL)
			EvalCheckLabels(r, td, h);
		else
			EvalCheckTarget(r, td, h);
	if (r->wattno >= 0)
	{
		r->wtype = EvalColumnType(r, td, r->wattno, "weight", r->weight);
		if (!ReframeIsNumericType(r->wtype))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("weight column \"%s\" has type %s, but row weights are numbers",
							r->weight, format_type_be(r->wtype))));
	}
	if (r->group)
	{
		RfHead	   *head = &net->heads[0];

		r->gtype = getBaseType(TupleDescAttr(td, r->gattno)->atttypid);
		if (head->kind == RF_HEAD_MULTICLASS && head->bin_values == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ranking metrics need one score per row, but model \"%s\" is multiclass", m->name),
					 errhint("Rank with a binary or regression model.")));
	}
}

static void
EvalStartup(DestReceiver *self, int operation, TupleDesc td)
{
	EvalReceiver *r = (EvalReceiver *) self;

	EvalFindColumns(r, td);
	EvalCheckColumns(r, td);
	r->started = true;
}

/* A row's shares (a float array of one per class or label), or an error naming the column. */
static double *
EvalShares(EvalReceiver *r, const RfHead *head, Datum d)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	bool		f4 = ARR_ELEMTYPE(arr) == FLOAT4OID;
	int			n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	double	   *q = palloc(sizeof(double) * head->nout);
	bool		ok = n == head->nout && !array_contains_nulls(arr);
	double		sum = 0;

	for (int k = 0; k < head->nout && ok; k++)
	{
		q[k] = f4 ? ((float *) ARR_DATA_PTR(arr))[k] : ((double *) ARR_DATA_PTR(arr))[k];
		ok &= q[k] >= 0 && q[k] <= 1;
		sum += q[k];
	}
	if (!ok || (head->soft && fabs(sum - 1) > 1e-6))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" has a row that is not %d shares in [0, 1]%s",
						head->name, head->nout, head->soft ? " summing to 1" : ""),
				 errhint("Model \"%s\" learned one share per class or label, in the order of reframe.classes.",
						 r->model->name)));
	return q;
}

/* A label's value: a boolean as 0 or 1, or a share in [0, 1] (an error naming the column otherwise). */
static double
EvalLabelValue(EvalReceiver *r, Datum d, Oid typid, const char *column)
{
	double		v;

	typid = getBaseType(typid);
	if (typid == BOOLOID)
		return DatumGetBool(d) ? 1.0 : 0.0;
	v = ReframeDatumToDouble(d, typid);
	if (!(v >= 0 && v <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("label column \"%s\" holds %g, but a soft label is a share in [0, 1]", column, v)));
	return v;
}

/* A row's weight ("weight"), or an error naming the column when it is not a number >= 0. */
static double
EvalRowWeight(EvalReceiver *r, TupleTableSlot *slot)
{
	double		w;

	if (r->wattno < 0)
		return 1.0;
	w = slot->tts_isnull[r->wattno] ? get_float8_nan() :
		ReframeDatumToDouble(slot->tts_values[r->wattno], r->wtype);
	if (!(w >= 0) || isinf(w))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("weight column \"%s\" has a row whose weight is NULL, negative or not finite", r->weight),
				 errhint("Row weights are numbers >= 0; filter or fix those rows, e.g. with coalesce.")));
	return w;
}

/* Remembers a row's query (group), score and relevance for the ranking metrics. */
static void
EvalRankRow(EvalReceiver *r, Datum group, bool group_null, const RfHead *head, const double *p, double y)
{
	char	   *g;
	double		score = p[0];

	if (group_null || isnan(y))
		return;
	if (head->bin_values)
	{
		score = 0;
		for (int k = 0; k < head->nout; k++)
			score += p[k] * head->bin_values[k];
	}
	if (r->nrank == r->caprank)
	{
		MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(r->gdict));

		r->caprank = Max(1024, r->caprank * 2);
		r->rank_group = r->rank_group ? repalloc_huge(r->rank_group, sizeof(double) * r->caprank) :
			MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * r->caprank);
		r->rank_score = r->rank_score ? repalloc_huge(r->rank_score, sizeof(double) * r->caprank) :
			MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * r->caprank);
		r->rank_rel = r->rank_rel ? repalloc_huge(r->rank_rel, sizeof(double) * r->caprank) :
			MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * r->caprank);
		MemoryContextSwitchTo(old);
	}
	g = EncoderCategoryString(group, r->gtype);
	r->rank_group[r->nrank] = RfDictCode(r->gdict, g, true);
	r->rank_score[r->nrank] = score;
	r->rank_rel[r->nrank] = y;
	r->nrank++;
}

/* The class index of a target value, or -1 if the model does not know it. */
static int
EvalClassIndex(EvalReceiver *r, int h, Datum d)
{
	RfHead	   *head = &r->model->net->heads[h];
	Oid			typid = r->ttype[h];
	char	   *label;
	int			lo = 0;
	int			hi = head->nclasses - 1;

	if (typid == BOOLOID)
		label = DatumGetBool(d) ? "true" : "false";
	else if (typid == INT2OID || typid == INT4OID || typid == INT8OID)
		label = psprintf("%lld", (long long) ReframeDatumToDouble(d, typid));
	else if (ReframeIsNumericType(typid))
		label = float8out_internal(ReframeDatumToDouble(d, typid));
	else
		label = EncoderCategoryString(d, typid);
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			k = r->byname[h][mid];
		int			cmp = strcmp(label, head->classes[k]);

		if (cmp == 0)
			return k;
		if (cmp < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

/* A label set (text[]) as a multilabel head's targets: 1 for its labels, 0 for the others. */
static double *
EvalLabelSet(const RfHead *head, Datum d)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	double	   *labels = palloc0(sizeof(double) * head->nout);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *l;

		if (nulls[i])
			continue;
		l = TextDatumGetCString(elems[i]);
		for (int k = 0; k < head->nout; k++)
			if (strcmp(head->classes[k], l) == 0)
				labels[k] = 1.0;
	}
	return labels;
}

/*
 * A multilabel or distribution head's targets in a row: its shares (a
 * float[] column), its label set (text[]), or one boolean (or share)
 * column per label (NaN where NULL); NULL without the column.  *present:
 * whether the row has any of them.
 */
static double *
EvalRowLabels(EvalReceiver *r, TupleTableSlot *slot, int h, bool *present)
{
	RfHead	   *head = &r->model->net->heads[h];
	int			a = r->tattno[h];
	double	   *labels;

	*present = a < 0 || !slot->tts_isnull[a];
	if (a >= 0 && (r->ttype[h] == FLOAT8ARRAYOID || r->ttype[h] == FLOAT4ARRAYOID))
		return *present ? EvalShares(r, head, slot->tts_values[a]) : NULL;
	if (a >= 0)
		return *present ? EvalLabelSet(head, slot->tts_values[a]) : NULL;
	labels = palloc(sizeof(double) * head->nout);
	*present = false;
	for (int k = 0; k < head->nout; k++)
	{
		int			c = r->lattno[h][k];

		labels[k] = slot->tts_isnull[c] ? get_float8_nan() :
			EvalLabelValue(r, slot->tts_values[c], TupleDescAttr(slot->tts_tupleDescriptor, c)->atttypid,
						   head->classes[k]);
		*present |= !slot->tts_isnull[c];
	}
	return labels;
}

/*
 * A row's targets, each head's into its target cells (EvalTargetCells):
 * a class, a value or 0/1 (NaN when missing), a bucketed head's number, a
 * multilabel or distribution head's labels (NaN where missing).  Returns
 * whether any head has one; *unknown when a class was one the model does
 * not know.
 */
static bool
EvalRowTargets(EvalReceiver *r, TupleTableSlot *slot, double *cells, bool *unknown)
{
	RfTrunk    *net = r->model->net;
	bool		any = false;

	for (int h = 0; h < net->nheads; h++)
	{
		RfHead	   *head = &net->heads[h];
		double	   *t = cells + r->cell_at[h];
		Datum		d;

		if (head->kind == RF_HEAD_MULTILABEL || head->soft)
		{
			bool		present;
			double	   *labels = EvalRowLabels(r, slot, h, &present);

			for (int k = 0; k < head->nout; k++)
				t[k] = labels ? labels[k] : get_float8_nan();
			any |= present;
			continue;
		}
		d = slot->tts_values[r->tattno[h]];
		if (slot->tts_isnull[r->tattno[h]])
			continue;
		if (head->kind == RF_HEAD_REGRESSION)
			t[0] = ReframeDatumToDouble(d, r->ttype[h]);
		else if (head->bin_values)
		{
			t[1] = ReframeDatumToDouble(d, r->ttype[h]);
			t[0] = TargetBinIndex(head->bin_edges, head->nclasses - 1, t[1]);
		}
		else if (head->kind == RF_HEAD_BINARY && ReframeIsNumericType(r->ttype[h]) &&
				 strcmp(head->classes[0], "0") == 0 && strcmp(head->classes[1], "1") == 0)
			t[0] = EvalLabelValue(r, d, r->ttype[h], head->name);	/* 0, 1, or a share */
		else
		{
			int			k = EvalClassIndex(r, h, d);

			if (k < 0)
			{
				*unknown = true;
				continue;
			}
			t[0] = k;
		}
		any = true;
	}
	return any;
}

int
EvalRowCells(EvalReceiver *r, TupleTableSlot *slot, double *cells)
{
	RfModel    *m = r->model;
	RfTrunk    *net = m->net;
	bool		unknown = false;

	for (int i = 1; i < r->ncells; i++)
		cells[i] = get_float8_nan();
	if (!EvalRowTargets(r, slot, cells, &unknown))
		return cells[0] = unknown ? EVAL_ROW_UNKNOWN_CLASS : EVAL_ROW_NULL_TARGET;
	cells[0] = EVAL_ROW_SCORED;
	cells[1] = EvalRowWeight(r, slot);
	EncoderReadColumns(m->enc, r->attno, r->atttype, slot->tts_values, slot->tts_isnull,
					   r->raw, m->name);
	EncoderEncodeRaw(m->enc, r->raw, r->enc);
	TrunkForwardRow(net, r->enc, r->out, r->scratch);
	/* a binary head's logit, for the histograms of its scores */
	for (int h = 0; h < net->nheads; h++)
		if (net->heads[h].kind == RF_HEAD_BINARY)
			cells[r->cell_at[h] + EvalTargetCells(&net->heads[h]) + 1] = r->out[net->heads[h].offset];
	HeadsLink(net->heads, net->nheads, r->out);
	for (int h = 0; h < net->nheads; h++)
		memcpy(cells + r->cell_at[h] + EvalTargetCells(&net->heads[h]), r->out + net->heads[h].offset,
			   sizeof(double) * net->heads[h].nout);
	return EVAL_ROW_SCORED;
}

void
EvalAddCells(EvalReceiver *r, const double *cells, Datum group, bool group_null)
{
	RfTrunk    *net = r->model->net;

	switch ((int) cells[0])
	{
		case EVAL_ROW_SCORED:
			for (int h = 0; h < net->nheads; h++)
			{
				RfHead	   *head = &net->heads[h];
				const double *t = cells + r->cell_at[h];
				const double *p = t + EvalTargetCells(head);

				EvalAccAddCells(&r->acc[h], p, t, cells[1]);
				if (h == 0 && r->group)
					EvalRankRow(r, group, group_null, head, p, head->bin_values ? t[1] : t[0]);
			}
			r->rows++;
			break;
		case EVAL_ROW_UNKNOWN_CLASS:
			r->unknown_classes++;
			break;
		default:
			r->null_targets++;
	}
	if ((r->rows & 0xf) == 0)
		ReframeYield();
	if ((r->rows & 0x3fff) == 0)
		CHECK_FOR_INTERRUPTS();
}

static bool
EvalReceive(TupleTableSlot *slot, DestReceiver *self)
{
	EvalReceiver *r = (EvalReceiver *) self;
	MemoryContext old = MemoryContextSwitchTo(r->rowcxt);

	slot_getallattrs(slot);
	EvalRowCells(r, slot, r->cells);
	EvalAddCells(r, r->cells, r->group ? slot->tts_values[r->gattno] : (Datum) 0,
				 r->group ? slot->tts_isnull[r->gattno] : true);
	MemoryContextSwitchTo(old);
	MemoryContextReset(r->rowcxt);
	return true;
}

static void
EvalNoop(DestReceiver *self)
{
}

void
EvalReceiverInit(EvalReceiver *r, bool curves)
{
	RfTrunk    *net = r->model->net;

	r->attno = palloc(sizeof(int) * Max(r->model->enc->ncols, 1));
	r->atttype = palloc(sizeof(Oid) * Max(r->model->enc->ncols, 1));
	r->tattno = palloc(sizeof(int) * net->nheads);
	r->lattno = palloc0(sizeof(int *) * net->nheads);
	r->ttype = palloc(sizeof(Oid) * net->nheads);
	r->byname = palloc0(sizeof(int *) * net->nheads);
	r->acc = palloc(sizeof(RfEvalAcc) * net->nheads);
	r->raw = palloc(sizeof(double) * Max(r->model->enc->nraw, 1));
	r->enc = palloc(sizeof(double) * Max(r->model->enc->width, 1));
	r->out = palloc(sizeof(double) * net->nout);
	r->scratch = palloc(sizeof(double) * Max(net->family->row_scratch(net), 1));
	r->cell_at = palloc(sizeof(int) * net->nheads);
	r->ncells = EvalRowLayout(net->heads, net->nheads, r->cell_at);
	r->cells = palloc(sizeof(double) * r->ncells);
	r->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "reframe evaluate row", ALLOCSET_DEFAULT_SIZES);
	for (int h = 0; h < net->nheads; h++)
	{
		RfHead	   *head = &net->heads[h];

		EvalAccInit(&r->acc[h], head, true);
		r->acc[h].keep_pairs = curves && head->kind == RF_HEAD_REGRESSION;
		r->byname[h] = palloc(sizeof(int) * Max(head->nclasses, 1));
		for (int k = 0; k < head->nclasses; k++)
			r->byname[h][k] = k;
		qsort_arg(r->byname[h], head->nclasses, sizeof(int), ClassNameCmp, head->classes);
	}
	r->pub.receiveSlot = EvalReceive;
	r->pub.rStartup = EvalStartup;
	r->pub.rShutdown = EvalNoop;
	r->pub.rDestroy = EvalNoop;
	r->pub.mydest = DestNone;
}

double
EvalSelection(EvalReceiver *r, const char **metric)
{
	RfModel    *m = r->model;
	double		total = 0;
	double		weights = 0;

	for (int h = 0; h < m->net->nheads; h++)
		if (r->acc[h].n > 0)
		{
			total += m->net->heads[h].weight * EvalAccSelection(&r->acc[h]);
			weights += m->net->heads[h].weight;
		}
	*metric = m->net->nheads > 1 ? "weighted loss" : EvalSelectionName(&m->net->heads[0]);
	return weights > 0 ? total / weights : get_float8_nan();
}

/*
 * The selection metric of model m (as training selects versions: each
 * head's, weighted by the heads' weights) over the tuples of a tuplestore,
 * such as a candidate version's validation rows; *rows receives how many
 * rows counted, *metric the metric's name.
 */
double
EvalModelOnTuples(RfModel *m, Tuplestorestate *store, TupleDesc td, int64 *rows, const char **metric)
{
	EvalReceiver r;
	TupleTableSlot *slot = MakeSingleTupleTableSlot(td, &TTSOpsMinimalTuple);

	memset(&r, 0, sizeof(r));
	r.k = 10;
	r.model = m;
	r.gdict = RfDictCreate();
	EvalReceiverInit(&r, false);
	EvalStartup(&r.pub, CMD_SELECT, td);
	tuplestore_rescan(store);
	while (tuplestore_gettupleslot(store, true, false, slot))
		EvalReceive(slot, &r.pub);
	ExecDropSingleTupleTableSlot(slot);
	*rows = r.rows;
	return EvalSelection(&r, metric);
}

void
EvalReadSource(EvalReceiver *r, text *source)
{
	char	   *sql = StoreSourceSql(source);
	SPIExecuteOptions opts;
	RfSourceRead nest;
	int			rc;

	memset(&opts, 0, sizeof(opts));
	opts.read_only = true;
	opts.dest = (DestReceiver *) r;
	SPI_connect();
	StoreBeginSourceRead(&nest);
	rc = SPI_execute_extended(sql, &opts);
	StoreEndSourceRead(&nest);
	if (rc < 0 || !r->started)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("evaluation source must be a query that returns rows"),
				 errdetail("The source was: %s", sql)));
	SPI_finish();
}
