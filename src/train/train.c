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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/varlena.h"

#include "reframe.h"
#include "jsonutil.h"
#include "gram.h"
#include "evaluate.h"
#include "family.h"
#include "progress.h"
#include "store.h"
#include "train.h"
#include "moments.h"
#include "gradient.h"

typedef struct TrainReceiver
{
	DestReceiver pub;
	RfTrainState *ts;
} TrainReceiver;

/* ---------- reading the source ---------- */

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
	for (int i = 0; i < typeinfo->natts; i++)
		for (int j = 0; j < i; j++)
			if (!TupleDescAttr(typeinfo, i)->attisdropped && !TupleDescAttr(typeinfo, j)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(typeinfo, i)->attname), NameStr(TupleDescAttr(typeinfo, j)->attname)) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" appears twice in the source of model \"%s\"",
								NameStr(TupleDescAttr(typeinfo, i)->attname), ts->model_name),
						 errhint("Give one of them another name with AS.")));
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

	/*
	 * Squared-loss regression on numeric inputs streams its moments instead
	 * of keeping rows.
	 */
	ts->streaming = regression && ts->ntargets == 1 && ts->family->moments_errors != NULL &&
		(ts->opts->loss == NULL || strcmp(ts->opts->loss, "squared") == 0);
	for (int c = 0; c < ts->enc->ncols; c++)
		if (ts->enc->cols[c].kind == RF_CATEGORY)
			ts->streaming = false;
	if (ts->streaming && ts->task == NULL)
		ereport(NOTICE,
				(errmsg("training a regression model: target column \"%s\" is %s",
						ts->target_names[0], format_type_be(ts->targets[0].typid)),
				 errhint("Pass task => '...' to frame it differently.")));
	if (ts->streaming)
		ts->task = "regression";
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
	MemoryContextSwitchTo(old);
}

/*
 * Reads a label set (text[]): codes its labels, keeps them in label_codes,
 * and stores (start, count) in y.
 */
static void
AddLabelSet(RfTrainState *ts, RfTarget *t, Datum d, double *y, uint64 *hash)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	y[0] = (double) ts->nlabel_codes;
	y[1] = 0;
	for (int i = 0; i < n; i++)
	{
		char	   *s;

		if (nulls[i])
			continue;
		s = TextDatumGetCString(elems[i]);
		if (ts->nlabel_codes == ts->caplabel_codes)
		{
			ts->caplabel_codes = Max(1024, ts->caplabel_codes * 2);
			ts->label_codes = ts->label_codes ?
				repalloc_huge(ts->label_codes, sizeof(int32) * ts->caplabel_codes) :
				MemoryContextAllocHuge(ts->mcxt, sizeof(int32) * ts->caplabel_codes);
		}
		ts->label_codes[ts->nlabel_codes++] = RfDictCode(t->dict, s, true);
		*hash = hash_combine64(*hash, hash_bytes_extended((unsigned char *) s, strlen(s), 0));
		y[1] += 1;
	}
	if (RfDictSize(t->dict) > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("label column \"%s\" has more than 10000 distinct labels", t->name)));
}

static int
LabelNameCmp(const void *a, const void *b, void *arg)
{
	return strcmp(RfDictString(arg, *(const int *) a), RfDictString(arg, *(const int *) b));
}

/*
 * Rewrites Y with each label-set target's (start, count) pair expanded to one
 * 0/1 column per label (NaN in every column where the set was NULL); other
 * targets keep their value.  rank[t] maps target t's label codes to columns.
 */
static RfMatrix *
ExpandLabelSets(RfTrainState *ts, RfMatrix *Y, int ncols, int **rank)
{
	RfMatrix   *out = RfMatrixCreate(ncols, sizeof(double), &ts->budget);

	for (int64 i = 0; i < Y->nrows; i++)
	{
		const double *y = RfMatrixRow(Y, i);
		double	   *row = RfMatrixAppendRow(out);
		int			col = 0;

		for (int t = 0; t < ts->ntargets; t++)
		{
			const double *yt = y + ts->targets[t].ycol;
			int			L = ts->targets[t].nclasses;

			if (ts->targets[t].kind != RF_TARGET_LABELS)
			{
				row[col++] = yt[0];
				continue;
			}
			for (int k = 0; k < L; k++)
				row[col + k] = isnan(yt[0]) ? yt[0] : 0.0;
			for (int64 j = (int64) yt[0]; j < (int64) yt[0] + (int64) yt[1]; j++)
				row[col + rank[t][ts->label_codes[j]]] = 1.0;
			col += L;
		}
		/* the query and weight columns follow, in that order */
		if (ts->gcol >= 0)
			row[col++] = y[ts->gcol];
		if (ts->wcol >= 0)
			row[col++] = y[ts->wcol];
	}
	RfMatrixTruncate(Y, 0);
	return out;
}

/*
 * Label-set targets: their labels, sorted by name, become the outputs of a
 * multilabel head, and Y gets one 0/1 column per label.  Other targets keep
 * their (single) column, at its new position.
 */
static void
ResolveLabelSets(RfTrainState *ts)
{
	int		  **rank = palloc0(sizeof(int *) * ts->ntargets);
	int		   *ycol = palloc(sizeof(int) * ts->ntargets);
	int			ncols = 0;

	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];
		int			L;
		int		   *order;

		ycol[t] = ncols;
		if (tg->kind != RF_TARGET_LABELS)
		{
			ncols++;
			continue;
		}
		L = RfDictSize(tg->dict);
		if (L < 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("label column \"%s\" holds no label in any training row", tg->name)));
		order = palloc(sizeof(int) * L);
		rank[t] = palloc(sizeof(int) * L);
		tg->classes = palloc(sizeof(char *) * L);
		for (int k = 0; k < L; k++)
			order[k] = k;
		qsort_arg(order, L, sizeof(int), LabelNameCmp, tg->dict);
		for (int k = 0; k < L; k++)
		{
			rank[t][order[k]] = k;
			tg->classes[k] = pstrdup(RfDictString(tg->dict, order[k]));
		}
		tg->nclasses = L;
		tg->head = RF_HEAD_MULTILABEL;
		ncols += L;
	}
	ncols += (ts->gcol >= 0) + (ts->wcol >= 0);
	ts->Y = ExpandLabelSets(ts, ts->Y, ncols, rank);
	ts->Yv = ExpandLabelSets(ts, ts->Yv, ncols, rank);
	if (ts->wcol >= 0)
		ts->wcol = ncols - 1;
	if (ts->gcol >= 0)
		ts->gcol = ncols - 1 - (ts->wcol >= 0);
	for (int t = 0; t < ts->ntargets; t++)
	{
		ts->targets[t].ycol = ycol[t];
		ts->targets[t].wcol = ts->wcol;
	}
	if (ts->ntargets > 1)
		return;
	TrainFramedLabelSet(ts);
}

/* The split draw of a value: uniform in [0, 1) for the seed (reframe.split_fraction). */
uint64
ReframeSplitHash(const char *value, uint64 seed)
{
	return hash_bytes_extended((const unsigned char *) value, strlen(value), seed);
}

/* Keeps a row's split draw, which also draws its fold for "l2": "auto" (ReframeInnerFold). */
static void
TrainKeepDraw(RfTrainState *ts, int set, double u)
{
	int64		n = ts->nrows[set];

	if (!ts->opts->l2_auto)
		return;
	if (ts->draws[set] == NULL || (n >= 1024 && (n & (n - 1)) == 0))
	{
		/* doubled, in huge pages once large (matrix.h) */
		MemoryContext old = MemoryContextSwitchTo(ts->mcxt);

		ts->draws[set] = RfGrowLarge(ts->draws[set], sizeof(double) * n,
									 sizeof(double) * Max(1024, 2 * n), &ts->draws_map[set]);
		MemoryContextSwitchTo(old);
	}
	ts->draws[set][n] = u;
}

/* Validation (1) or training (0) for a row's draw u: below the holdout, or in its fold. */
static int
TrainSplitSet(RfTrainState *ts, double u)
{
	return ReframeSplitSet(u, ts->holdout, ts->folds, ts->fold);
}

/* The split draw of a value (the text of a split_by column), as training makes it. */
PG_FUNCTION_INFO_V1(reframe_split_fraction);
Datum
reframe_split_fraction(PG_FUNCTION_ARGS)
{
	char	   *v = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uint64		h = ReframeSplitHash(v, (uint64) PG_GETARG_INT64(1));

	PG_RETURN_FLOAT8(ReframeHashToUnit(hash_bytes_uint32_extended((uint32) h, h >> 32)));
}

/*
 * "l2": "auto" on streamed moments keeps the training rows' moments by inner
 * fold, and the validation rows' too while they may yet become training rows
 * (by default, under 1,000 rows): the penalty is then cross-validated
 * exactly as on kept rows.
 */
static void
TrainCreateFoldMoments(RfTrainState *ts)
{
	bool		may_merge = ts->opts->validation < 0 && ts->folds == 0;

	for (int set = 0; set < 2 && ts->opts->l2_auto; set++)
		for (int k = 0; k < RF_L2_FOLDS && (set == 0 || may_merge); k++)
			ts->fgram[set][k] = GramCreate(ts->enc->nraw, ts->origin, &ts->yorigin);
}

static void
TrainAddFoldMoments(RfTrainState *ts, int set, const double *raw, double y, double w, double u)
{
	if (set == 1 && ts->fgram[1][0] && ts->nrows[0] + ts->nrows[1] >= 1000)
	{
		/* past 1,000 rows the validation rows stay apart */
		for (int k = 0; k < RF_L2_FOLDS; k++)
			GramFree(ts->fgram[1][k]);
		memset(ts->fgram[1], 0, sizeof(ts->fgram[1]));
	}
	if (ts->fgram[set][0])
		GramAdd(ts->fgram[set][ReframeInnerFold(u, RF_L2_FOLDS)], raw, y, w);
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

/*
 * Encodes one source row into the training or the validation matrices,
 * chosen by a seeded hash of the row's content, and adds it to the
 * encoder's statistics.
 */
static void
TrainAddRow(RfTrainState *ts, Datum *values, bool *isnull)
{
	uint64		hash = (uint64) ts->opts->seed * UINT64CONST(0x9E3779B97F4A7C15) + 1;
	double	   *raw = ts->rowbuf;
	double	   *y = ts->ybuf;		/* the Y row: targets, query, weight */
	int			set = 0;
	double		u;

	EncoderReadRow(ts->enc, values, isnull, raw, &hash);
	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];
		double	   *yt = y + tg->ycol;

		if (isnull[tg->attno])
		{
			for (int k = 0; k < (tg->kind == RF_TARGET_SHARES ? tg->nclasses : 1); k++)
				yt[k] = get_float8_nan();
			if (tg->kind == RF_TARGET_LABELS)
				yt[1] = 0;
		}
		else if (tg->kind == RF_TARGET_LABELS)
			AddLabelSet(ts, tg, values[tg->attno], yt, &hash);
		else if (tg->kind == RF_TARGET_SHARES)
			TargetReadShares(tg, values[tg->attno], tg->soft, yt, &hash);
		else
			yt[0] = TargetValue(tg, values[tg->attno], &hash);
	}
	if (ts->gdict)
	{
		/* whole queries go to one side of the split: hash the query alone */
		char	   *g = isnull[ts->gattno] ? pstrdup("") :
			EncoderCategoryString(values[ts->gattno], ts->gtype);

		y[ts->gcol] = RfDictCode(ts->gdict, g, true);
		hash = hash_bytes_extended((unsigned char *) g, strlen(g), (uint64) ts->opts->seed);
	}
	if (ts->wattno >= 0)
		y[ts->wcol] = TrainRowWeight(ts, values[ts->wattno], isnull[ts->wattno]);
	if (ts->sattno >= 0)
		hash = ReframeSplitHash(isnull[ts->sattno] ? "" :
								EncoderCategoryString(values[ts->sattno], ts->stype), ts->split_seed);
	if (ts->sample < 1 && ReframeSampleDraw(hash) >= ts->sample)
	{
		ts->sampled_out++;
		return;
	}
	u = ReframeHashToUnit(hash_bytes_uint32_extended((uint32) hash, hash >> 32));
	set = TrainSplitSet(ts, u);
	TrainKeepDraw(ts, set, u);
	if (set == 1 && ts->vstore)
		tuplestore_putvalues(ts->vstore, ts->tupdesc, values, isnull);
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
		GramAdd(ts->gram[set], raw, y[0], ts->wcol >= 0 ? y[ts->wcol] : 1.0);
		TrainAddFoldMoments(ts, set, raw, y[0], ts->wcol >= 0 ? y[ts->wcol] : 1.0, u);
		return;
	}
	EncoderNoteRow(ts->enc, raw, set, ts->wcol >= 0 ? y[ts->wcol] : 1.0);
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
static bool TrainPlanRead(RfTrainState *ts, DestReceiver *recv);

static void
TrainReadSource(RfTrainState *ts)
{
	TrainReceiver recv;
	SPIExecuteOptions opts;
	SPIPlanPtr	plan;
	int			rc;

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

	SPI_connect();

	/*
	 * Planned without CURSOR_OPT_PARALLEL_OK: a parallel plan would deliver
	 * the rows in a different order each time, and the same data would not
	 * train the same model bit for bit.
	 */
	plan = SPI_prepare_cursor(ts->source_sql, 0, NULL, 0);
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

/* ---------- evaluation ---------- */

/* Training (set 0) or validation (set 1) metrics of every head, accumulated over X. */
static void
EvaluateRows(RfTrainState *ts, int set, RfEvalAcc *acc, bool keep_scores)
{
	const RfTrunk *t = ts->trunk;
	const double **bin_raw = palloc0(sizeof(double *) * t->nheads);

	for (int h = 0; h < t->nheads; h++)
	{
		EvalAccInit(&acc[h], &t->heads[h], keep_scores);
		if (t->heads[h].bin_values)
			bin_raw[h] = ts->targets[h].bin_raw[set];
	}
	TrunkEvaluateMatrix(t, set ? ts->Xva : ts->Xtr, set ? ts->Yv : ts->Y, bin_raw, acc);
}

/* A head's scores and targets over the rows of a matrix, by chunk. */
typedef struct CollectArg
{
	const RfTrunk *trunk;
	const RfHead *head;
	const RfMatrix *Y;
	int			gcol;			/* ranking: the query column, or -1 */
	double	  **p;				/* per output: linked score (or raw, ranking) */
	double	  **y;
	int64	   *n;
	double	   *groups;
} CollectArg;

static void
CollectChunk(void *arg, int c, int rows, const float *out)
{
	CollectArg *a = arg;
	const RfHead *head = a->head;

	for (int i = 0; i < rows; i++)
	{
		const double *y = RfChunkD(a->Y, c) + (Size) i * a->Y->ncols;

		if (a->gcol >= 0)
		{
			/* raw outputs order rows as the linked scores do */
			a->p[0][a->n[0]] = out[(Size) i * a->trunk->nout + head->offset];
			a->y[0][a->n[0]] = y[head->ycol];
			a->groups[a->n[0]++] = y[a->gcol];
			continue;
		}
		for (int k = 0; k < head->nout; k++)
		{
			double		yk = y[head->ycol + k];
			double		z = out[(Size) i * a->trunk->nout + head->offset + k];

			if (isnan(yk))
				continue;
			a->p[k][a->n[k]] = 1.0 / (1.0 + exp(-z));
			a->y[k][a->n[k]++] = yk;
		}
	}
}

static void
CollectInit(CollectArg *a, const RfTrunk *t, const RfHead *head, const RfMatrix *X,
			const RfMatrix *Y, int gcol)
{
	int			nk = gcol >= 0 ? 1 : head->nout;
	Size		size = sizeof(double) * Max(X->nrows, 1);

	a->trunk = t;
	a->head = head;
	a->Y = Y;
	a->gcol = gcol;
	a->p = palloc(sizeof(double *) * nk);
	a->y = palloc(sizeof(double *) * nk);
	a->n = palloc0(sizeof(int64) * nk);
	for (int k = 0; k < nk; k++)
	{
		a->p[k] = MemoryContextAllocHuge(CurrentMemoryContext, size);
		a->y[k] = MemoryContextAllocHuge(CurrentMemoryContext, size);
	}
	a->groups = gcol >= 0 ? MemoryContextAllocHuge(CurrentMemoryContext, size) : NULL;
}

/* Each label's threshold, the one that maximises its F1 on the given rows. */
static void
TuneLabelThresholds(const RfTrunk *t, RfHead *head, const RfMatrix *X, const RfMatrix *Y)
{
	CollectArg	a;

	CollectInit(&a, t, head, X, Y, -1);
	TrunkForwardMatrix(t, X, CollectChunk, &a);
	head->label_thresholds = palloc(sizeof(double) * head->nout);
	for (int k = 0; k < head->nout; k++)
		head->label_thresholds[k] = a.n[k] > 0 ? EvalBestF1ThresholdOf(a.p[k], a.y[k], a.n[k]) : 0.5;
}

/* Ranking metrics of the first head over grouped rows (see EvalRankingJson). */
static void
RankingRows(const RfTrunk *t, const RfMatrix *X, const RfMatrix *Y, int gcol, StringInfo buf)
{
	CollectArg	a;

	CollectInit(&a, t, &t->heads[0], X, Y, gcol);
	TrunkForwardMatrix(t, X, CollectChunk, &a);
	EvalRankingJson(buf, a.groups, a.p[0], a.y[0], a.n[0], 10);
}

/* Regression metrics of a set from its second moments (no MAE without rows). */
static void
EvaluateGram(RfGram *g, const RfEncoder *enc, const RfTrunk *t, int64 rows, StringInfo buf, double *rmse)
{
	double		n = GramRows(g);	/* the rows' weights, summed */
	double		sse;
	double		sst;

	t->family->moments_errors(t, g, enc, &sse, &sst);
	*rmse = sqrt(sse / n);
	appendStringInfo(buf, "{\"rows\": %lld, ", (long long) rows);
	if (n != rows)
	{
		appendStringInfoString(buf, "\"weight\": ");
		JsonAppendNumber(buf, n);
		appendStringInfoString(buf, ", ");
	}
	appendStringInfoString(buf, "\"rmse\": ");
	JsonAppendNumber(buf, *rmse);
	appendStringInfoString(buf, ", \"r2\": ");
	JsonAppendNumber(buf, sst > 0 ? 1.0 - sse / sst : get_float8_nan());
	appendStringInfoChar(buf, '}');
}

/* The weight of a head's loss: "task_weights", or 1. */
static double
TaskWeight(RfTrainState *ts, const char *target)
{
	JsonbValue *v = JsonField(ts->opts->task_weights, target);

	return v ? JsonValueNumber(v) : 1.0;
}

/* Every key of a per-target option object must name one of the targets. */
static void
CheckKeysNameTargets(RfTrainState *ts, JsonbContainer *obj, const char *option)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		known = false;
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (int t = 0; t < ts->ntargets; t++)
			known |= strcmp(ts->target_names[t], key) == 0;
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" names \"%s\", which is not a target",
							option, key)));
	}
}

/* The one head of a multilabel task: a logistic output per label. */
static void
BuildMultilabelHead(RfTrainState *ts, RfHead *head)
{
	bool		sets = ts->targets[0].kind == RF_TARGET_LABELS || ts->targets[0].kind == RF_TARGET_SHARES;

	head->name = pstrdup(ts->ntargets == 1 ? ts->target_names[0] : "labels");
	head->kind = RF_HEAD_MULTILABEL;
	head->loss = RF_LOSS_LOG;
	head->ycol = 0;
	head->nout = sets ? ts->targets[0].nclasses : ts->ntargets;
	head->weight = 1.0;
	head->threshold = isnan(ts->opts->threshold) ? 0.5 : ts->opts->threshold;
	head->nclasses = head->nout;
	head->classes = sets ? ts->targets[0].classes : ts->target_names;
}

/* The head of target t, and the checks of options that apply to its kind. */
static void
BuildHead(RfTrainState *ts, int t, RfHead *head)
{
	RfTarget   *tg = &ts->targets[t];

	head->name = tg->name;
	head->kind = tg->head;
	head->ycol = tg->ycol;
	head->weight = TaskWeight(ts, tg->name);
	head->threshold = 0.5;
	head->huber_delta = ts->opts->huber_delta;
	switch (tg->head)
	{
		case RF_HEAD_REGRESSION:
			head->nout = 1;
			head->loss = ts->opts->loss == NULL ? RF_LOSS_SQUARED :
				strcmp(ts->opts->loss, "absolute") == 0 ? RF_LOSS_ABSOLUTE :
				strcmp(ts->opts->loss, "huber") == 0 ? RF_LOSS_HUBER : RF_LOSS_SQUARED;
			break;
		case RF_HEAD_BINARY:
			head->nout = 1;
			head->loss = RF_LOSS_LOG;
			break;
		case RF_HEAD_MULTILABEL:
			/* a label-set target among several: one logistic output per label */
			head->nout = tg->nclasses;
			head->loss = RF_LOSS_LOG;
			break;
		default:
			head->nout = tg->nclasses;
			head->loss = RF_LOSS_CROSS_ENTROPY;
			head->soft = tg->soft;	/* a distribution per row */
			break;
	}
	if (tg->head != RF_HEAD_REGRESSION)
	{
		head->nclasses = tg->nclasses;
		head->classes = tg->classes;
		head->bin_edges = tg->bin_edges;
		head->bin_values = tg->bin_values;
		if (ts->opts->loss && ts->ntargets == 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"loss\" applies to regression, but target \"%s\" is %s",
							tg->name, HeadKindName(tg->head)),
					 errhint("Classification always minimizes the log loss (cross-entropy).")));
	}
	if ((ts->opts->balanced || ts->opts->class_weight) && tg->head == RF_HEAD_REGRESSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"class_weight\" applies to classification, but target \"%s\" is regression",
						tg->name)));
	if ((ts->opts->threshold_f1 || !isnan(ts->opts->threshold)) &&
		(tg->head != RF_HEAD_BINARY || ts->ntargets > 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"threshold\" applies to a binary target or to multilabel labels, but target \"%s\" is %s",
						tg->name, ts->ntargets > 1 ? "one of several" : HeadKindName(tg->head))));
	if (!isnan(ts->opts->threshold))
		head->threshold = ts->opts->threshold;
	head->parent = -1;
	if (tg->parent_of)
		HeadSetParents(head, t - 1, tg->nparents, tg->parent_of);
}

/*
 * The heads: one per target, or, for a multilabel task, one head whose
 * labels are the (boolean) target columns or the label-set's labels.
 */
static RfHead *
BuildHeads(RfTrainState *ts, int *nheads)
{
	RfHead	   *heads = palloc0(sizeof(RfHead) * ts->ntargets);

	if (ts->opts->task_weights)
	{
		if (ts->ntargets < 2 || strcmp(ts->task, "multilabel") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"task_weights\" weighs the heads of several targets"),
					 errhint("Name two or more targets, as in target => 'quality,engagement'.")));
		CheckKeysNameTargets(ts, ts->opts->task_weights, "task_weights");
	}
	if (strcmp(ts->task, "multilabel") == 0)
	{
		BuildMultilabelHead(ts, &heads[0]);
		*nheads = 1;
	}
	else
	{
		for (int t = 0; t < ts->ntargets; t++)
			BuildHead(ts, t, &heads[t]);
		*nheads = ts->ntargets;
	}
	for (int h = 0; h < *nheads; h++)
		heads[h].wcol = ts->wcol;
	return heads;
}


/*
 * Hierarchical levels, coarse to fine: each level is a multiclass target
 * whose classes must each sit under one class of the level above.  Classes
 * are reordered by parent so that siblings are contiguous.
 */
static void
ResolveHierarchy(RfTrainState *ts)
{
	RfMatrix   *ms[2] = {ts->Y, ts->Yv};

	for (int t = 0; t < ts->ntargets; t++)
		TargetResolve(&ts->targets[t], "multiclass", ts->Y, ts->Yv, t, ts->opts, ts->model_name);
	for (int t = 1; t < ts->ntargets; t++)
	{
		RfTarget   *up = &ts->targets[t - 1];
		RfTarget   *tg = &ts->targets[t];
		int		   *parent_of = palloc(sizeof(int) * tg->nclasses);
		RfChildOrder *order = palloc(sizeof(RfChildOrder) * tg->nclasses);
		int		   *rank = palloc(sizeof(int) * tg->nclasses);
		char	  **classes = palloc(sizeof(char *) * tg->nclasses);
		double	   *counts = palloc(sizeof(double) * tg->nclasses);

		for (int k = 0; k < tg->nclasses; k++)
			parent_of[k] = -1;
		for (int s = 0; s < 2; s++)
			for (int64 i = 0; i < ms[s]->nrows; i++)
			{
				double	   *y = RfMatrixRow(ms[s], i);
				int			c;
				int			p;

				if (isnan(y[t]) || isnan(y[t - 1]))
					continue;
				c = (int) y[t];
				p = (int) y[t - 1];
				if (parent_of[c] < 0)
					parent_of[c] = p;
				else if (parent_of[c] != p)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_EXCEPTION),
							 errmsg("class \"%s\" of level \"%s\" appears under both \"%s\" and \"%s\" of level \"%s\"",
									tg->classes[c], tg->name, up->classes[parent_of[c]], up->classes[p], up->name),
							 errhint("The levels of a hierarchy must form a tree; make such classes distinct, for example by prefixing their parent.")));
			}
		for (int k = 0; k < tg->nclasses; k++)
		{
			if (parent_of[k] < 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("class \"%s\" of level \"%s\" never appears with a class of level \"%s\"",
								tg->classes[k], tg->name, up->name)));
			order[k].cls = k;
			order[k].parent = parent_of[k];
			order[k].name = tg->classes[k];
		}
		qsort(order, tg->nclasses, sizeof(RfChildOrder), TargetChildOrderCmp);
		for (int j = 0; j < tg->nclasses; j++)
		{
			rank[order[j].cls] = j;
			classes[j] = tg->classes[order[j].cls];
			counts[j] = tg->counts[order[j].cls];
		}
		for (int j = 0; j < tg->nclasses; j++)
			parent_of[j] = order[j].parent;
		for (int s = 0; s < 2; s++)
			for (int64 i = 0; i < ms[s]->nrows; i++)
			{
				double	   *y = RfMatrixRow(ms[s], i);

				if (!isnan(y[t]))
					y[t] = rank[(int) y[t]];
			}
		tg->classes = classes;
		tg->counts = counts;
		tg->parent_of = parent_of;
		tg->nparents = up->nclasses;
	}
}

/*
 * Several targets: a multilabel task wants boolean labels; a multitask one
 * (or no task given) frames each target by its own type.
 */
static void
ResolveSeveralTargets(RfTrainState *ts)
{
	bool		all_bool = true;

	if (ts->opts->tasks)
	{
		CheckKeysNameTargets(ts, ts->opts->tasks, "tasks");
		if (ts->task == NULL)
			ts->task = "multitask";
	}

	for (int t = 0; t < ts->ntargets; t++)
		all_bool &= ts->targets[t].kind == RF_TARGET_BOOL;
	if (ts->task == NULL)
	{
		ts->task = all_bool ? "multilabel" : "multitask";
		ereport(NOTICE,
				(errmsg("training a %s model on %d targets", ts->task, ts->ntargets),
				 errhint("Pass task => '...' to frame it differently.")));
	}
	if (strcmp(ts->task, "multilabel") == 0)
	{
		/* boolean labels, or numbers in [0, 1]: the share of annotators who gave the label */
		for (int t = 0; t < ts->ntargets; t++)
			if (ts->targets[t].kind == RF_TARGET_NUMBER)
				TargetCheckShares(&ts->targets[t], ts->Y, ts->Yv, ts->targets[t].ycol);
			else if (ts->targets[t].kind != RF_TARGET_BOOL)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("label column \"%s\" has type %s, but multilabel labels are boolean, or numbers in [0, 1]",
								ts->targets[t].name, format_type_be(ts->targets[t].typid)),
						 errhint("Name boolean columns, or columns of each label's share of annotators, one per label.")));
		return;
	}
	for (int t = 0; t < ts->ntargets; t++)
		if (ts->targets[t].kind == RF_TARGET_LABELS)
		{
			ResolveLabelSets(ts);
			break;
		}
	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];
		const char *task = JsonFieldText(ts->opts->tasks, tg->name, NULL);

		if (tg->kind == RF_TARGET_LABELS)
		{
			if (task && strcmp(task, "multilabel") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("target column \"%s\" holds label sets, which frame a multilabel head, not %s",
								tg->name, task)));
			continue;
		}
		TargetResolve(tg, task, ts->Y, ts->Yv, tg->ycol, ts->opts, ts->model_name);
	}
}

static bool
CannotCompare(RfTrainState *ts, int32 current, const char *column)
{
	ereport(NOTICE,
			(errmsg("model \"%s\": version %d cannot be scored on the new rows, which lack its column \"%s\"",
					ts->model_name, current, column),
			 errhint("Select every column both versions use, and narrow the features with \"features\" or \"exclude\".")));
	return false;
}

/*
 * Whether the rows read hold every column (features and targets) version
 * "v" of m uses; if not, unless quiet, a NOTICE names the missing column.
 */
bool
TrainCanScore(RfTrainState *ts, RfModel *m, int32 v, bool quiet)
{
	for (int c = 0; c < m->enc->ncols; c++)
		if (ReframeColumnNumber(ts->tupdesc, m->enc->cols[c].name) < 0)
			return quiet ? false : CannotCompare(ts, v, m->enc->cols[c].name);
	for (int t = 0; t < JsonArraySize(JsonFieldContainer(&m->spec->root, "targets")); t++)
	{
		char	   *target = JsonValueText(JsonArrayElement(JsonFieldContainer(&m->spec->root, "targets"), t));

		if (target && ReframeColumnNumber(ts->tupdesc, target) < 0)
			return quiet ? false : CannotCompare(ts, v, target);
	}
	return true;
}

/*
 * The deployed version and the candidate scored alike on the candidate's
 * validation rows -- by the same code, in double precision, so that the same
 * model gives the same figure to the last bit and "better" means better:
 * {"rows", "deployed_version", "deployed", "candidate"}.  False when the two
 * are not measured alike (another metric).
 */
static bool
CompareOnSameRows(RfTrainState *ts, int32 current, double *selection, const char *metric, double *old)
{
	RfModel    *m = StoreLoadVersion(ts->relid, ts->model_name, current);
	RfModel		candidate = {0};
	const char *old_metric;
	const char *new_metric;
	int64		rows;
	int64		new_rows;
	double		mine;
	StringInfoData buf;

	if (m == NULL || m->nterms > 0 || !TrainCanScore(ts, m, current, false))
		return false;
	*old = EvalModelOnTuples(m, ts->vstore, ts->tupdesc, &rows, &old_metric);
	if (strcmp(old_metric, metric) != 0 || rows == 0 || isnan(*old))
		return false;
	candidate.name = ts->model_name;
	candidate.task = m->task;
	candidate.enc = ts->enc;
	candidate.net = ts->trunk;
	mine = EvalModelOnTuples(&candidate, ts->vstore, ts->tupdesc, &new_rows, &new_metric);
	if (strcmp(new_metric, metric) != 0 || new_rows != rows || isnan(mine))
		return false;
	*selection = mine;
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"rows\": %lld, \"metric\": \"%s\", \"deployed_version\": %d, \"deployed\": ",
					 (long long) rows, metric, current);
	JsonAppendNumber(&buf, *old);
	appendStringInfoString(&buf, ", \"candidate\": ");
	JsonAppendNumber(&buf, *selection);
	appendStringInfoChar(&buf, '}');
	ts->comparison = buf.data;
	return true;
}

/*
 * Decides whether the new version replaces the deployed one: for
 * "if_better", whether it is better on the same rows (its validation rows,
 * the deployed version scored on them), else on the stored figures.
 */
static bool
DecideDeploy(RfTrainState *ts, Oid relid, bool validated, double selection, const char *metric)
{
	int32		current;
	bool		found;
	double		old;
	bool		deploy;

	if (ts->opts->deploy == RF_DEPLOY_ALWAYS)
		return true;
	if (ts->opts->deploy == RF_DEPLOY_NEVER)
		return false;
	if (!validated)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"deploy\": \"if_better\" needs validation rows"),
				 errhint("Set the \"validation\" option to a fraction above 0.")));
	current = StoreDeployedVersion(relid);
	if (current < 0)
		return true;
	found = ts->vstore && CompareOnSameRows(ts, current, &selection, metric, &old);
	if (!found)
		old = StoreVersionSelection(relid, current, &found);
	/* the rule: strictly better; a tie keeps the deployed version */
	deploy = !found || selection < old;
	if (found)
		ereport(NOTICE,
				(errmsg("model \"%s\": new validation %s %g %s deployed version %d's %g%s",
						ts->model_name, metric, selection, deploy ? "beats" : "does not beat",
						current, old, ts->comparison ? " on the same rows" : " (on its own validation rows)")));
	return deploy;
}

/* ---------- the SQL function ---------- */

/* With "verbose", reports a finished phase and how long it took. */
static void
Phase(RfTrainState *ts, const char *what)
{
	instr_time	now;
	instr_time	d;

	if (!ts->opts->verbose)
		return;
	INSTR_TIME_SET_CURRENT(now);
	d = now;
	INSTR_TIME_SUBTRACT(d, ts->mark);
	ts->mark = now;
	ereport(NOTICE, (errmsg("model \"%s\": %s (%.1f ms)", ts->model_name, what,
							INSTR_TIME_GET_MILLISEC(d))));
}

text *
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

static void
TrainArgTask(RfTrainState *ts, char *task)
{
	bool		known = false;

	if (task == NULL)
		return;
	for (int i = 0; i < lengthof(known_tasks); i++)
		known |= strcmp(task, known_tasks[i]) == 0;
	if (!known && task[strspn(task, " \t\n")] == '{')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown task \"%s\"", task),
				 errhint("The options are the fifth argument: pass them as options => '%s' (or NULL as the task).", task)));
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown task \"%s\"", task),
				 errhint("Use regression, binary, multiclass, multilabel, hierarchical or multitask, or NULL to infer it from the target.")));
	ts->task = task;
}

static void
TrainArgTargets(RfTrainState *ts, text *target)
{
	List	   *targets = SplitNames(text_to_cstring(target), "target");
	ListCell   *lc;
	int			t = 0;

	ts->ntargets = list_length(targets);
	if (ts->ntargets > RF_MAX_TARGETS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("at most %d target columns are supported", RF_MAX_TARGETS)));
	ts->target_names = palloc(sizeof(char *) * ts->ntargets);
	foreach(lc, targets)
		ts->target_names[t++] = lfirst(lc);
}

/* Options and task that contradict the number of targets. */
static void
TrainCheckFraming(RfTrainState *ts)
{
	if (ts->opts->tasks && (ts->ntargets < 2 || (ts->task && strcmp(ts->task, "multitask") != 0)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"tasks\" frames the targets of a multitask model"),
				 errhint("Name two or more targets; for one target, pass the task itself.")));
	if (ts->ntargets > 1 && (ts->opts->balanced || ts->opts->class_weight ||
							 ts->opts->nbins || ts->opts->bin_quantiles))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"class_weight\" and \"bins\" apply to a single target"),
				 errhint("Train the target they concern as a model of its own, and blend the models.")));
	if (ts->task && ts->ntargets > 1 && strcmp(ts->task, "multitask") != 0 &&
		strcmp(ts->task, "multilabel") != 0 && strcmp(ts->task, "hierarchical") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("task \"%s\" takes one target, but %d are named", ts->task, ts->ntargets),
				 errhint("Several targets train as task \"multitask\" (one head each) or \"multilabel\" (boolean labels).")));
	if (ts->task && ts->ntargets == 1 && strcmp(ts->task, "hierarchical") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("task \"hierarchical\" needs two or more levels"),
				 errhint("Name the levels coarse to fine, as in target => 'department,category'.")));
	if (ts->task && ts->ntargets == 1 && strcmp(ts->task, "multitask") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("task \"multitask\" needs two or more targets"),
				 errhint("Name them separated by commas, as in target => 'clicked,watch_minutes'.")));
}

/* The model's table: an existing model we may write, or a new one. */
static Oid
TrainModelTable(text *model)
{
	Oid			relid = StoreModelRelid(model, AccessShareLock, true);

	if (OidIsValid(relid))
	{
		AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_INSERT | ACL_UPDATE);

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
		return relid;
	}
	return StoreCreateModelTable(StoreNameToRangeVar(model));
}

/* Reads the source, split into training and validation rows. */
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
	SPI_connect();
	if (SPI_execute(psprintf("SELECT count(*)::float8 FROM (%s) s", ts->source_sql), true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reframe: could not count the rows of %s", ts->source_sql);
	{
		bool		isnull;

		rows = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	return rows > ts->opts->sample ? ts->opts->sample / rows : 1.0;
}

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
	Phase(ts, psprintf("read %lld rows", (long long) (ts->nrows[0] + ts->nrows[1])));
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
}

/* Frames the targets: head kinds, classes, hierarchy, label sets. */
static void
TrainResolveTargets(RfTrainState *ts)
{
	if (ts->streaming)
		ts->targets[0].head = RF_HEAD_REGRESSION;
	else if (ts->gradient)
		;						/* from its passes, once the encoder is fitted (TrainEncode) */
	else if (ts->ntargets == 1 && ts->targets[0].kind == RF_TARGET_LABELS)
		ResolveLabelSets(ts);
	else if (ts->targets[0].kind == RF_TARGET_SHARES)
		TargetResolveShares(&ts->targets[0], ts->Y, ts->opts);
	else if (ts->task && strcmp(ts->task, "hierarchical") == 0)
		ResolveHierarchy(ts);
	else if (ts->ntargets == 1 && (ts->task == NULL || strcmp(ts->task, "multilabel") != 0))
	{
		TargetResolve(&ts->targets[0], ts->task, ts->Y, ts->Yv, 0, ts->opts, ts->model_name);
		ts->task = pstrdup(HeadKindName(ts->targets[0].head));
	}
	else
		ResolveSeveralTargets(ts);
	Phase(ts, psprintf("%lld training and %lld validation rows",
					   (long long) ts->nrows[0], (long long) ts->nrows[1]));
}

/* Fits the encoder and encodes the kept rows. */
static void
TrainEncode(RfTrainState *ts)
{
	if (ts->streaming || ts->aggregated)
	{
		GramEncoderStats(ts->gram[0], ts->enc, 0);
		GramEncoderStats(ts->gram[1], ts->enc, 1);
	}
	else
	{
		EncoderStatsFromRows(ts->enc, ts->raw, ts->Y, ts->wcol, 0);
		EncoderStatsFromRows(ts->enc, ts->rawv, ts->Yv, ts->wcol, 1);
	}
	ProgressPhase("encoding");
	EncoderFit(ts->enc, ts->with_validation, ts->opts->max_categories);
	if (ts->gradient)
		GradientResolveTargets(ts);
	if (ts->streaming || ts->aggregated)
		return;
	ts->Xtr = EncoderApply(ts->enc, ts->raw);
	ts->Xva = EncoderApply(ts->enc, ts->rawv);
	Phase(ts, psprintf("encoded %d inputs as %d features", ts->enc->nraw, ts->Xtr->ncols));
}

/* Fits the family's trunk for the heads. */
static void
TrainFit(RfTrainState *ts)
{
	RfFitData	d = {0};
	instr_time	start;

	d.model_name = ts->model_name;
	d.measured_on_validation = ts->folds > 0;
	d.opts = ts->opts;
	d.enc = ts->enc;
	d.targets = ts->targets;
	d.ntargets = ts->ntargets;
	d.X = ts->Xtr;
	d.Y = ts->Y;
	d.Xva = ts->Xva;
	d.Yva = ts->Yv;
	d.gram = ts->streaming ? ts->gram[0] : NULL;
	d.gram_folds = ts->fgram[0][0] ? ts->fgram[0] : NULL;
	d.gcol = ts->gcol;
	d.draw = ts->draws[0];
	d.draw_va = ts->draws[1];
	d.budget = &ts->budget;
	d.stream = ts->gradient ? ts : NULL;
	d.stream_fit = GradientFit;

	ProgressPhase("fitting");
	ReframeBlasPrepare();
	INSTR_TIME_SET_CURRENT(start);
	memset(&ts->fit, 0, sizeof(ts->fit));
	ts->trunk->family->fit(ts->trunk, &d, &ts->fit);
	INSTR_TIME_SET_CURRENT(ts->fit_time);
	INSTR_TIME_SUBTRACT(ts->fit_time, start);
	Phase(ts, psprintf("fitted with %s, %d iterations", ts->fit.solver, ts->fit.opt.iterations));
}

/*
 * Class weights fit a model of the weighted data, whose scores overstate
 * the heavier classes: q_k is proportional to w_k p_k.  Each weighted
 * binary or multiclass head's raw outputs are shifted by -log w_k, which
 * turns q back into p, the probabilities of the data; the decision stays
 * the weighted model's (a binary threshold of w0 / (w0 + w1) unless one
 * was given, a multiclass argmax of w_k p_k).
 */
static void
TrainCalibrateClassWeights(RfTrainState *ts)
{
	RfTrunk    *t = ts->trunk;
	double	   *delta = palloc0(sizeof(double) * t->nout);
	bool		any = false;

	for (int h = 0; h < t->nheads; h++)
	{
		RfHead	   *head = &t->heads[h];
		const double *w = ts->targets[h].class_weight;

		if (w == NULL || head->parent_of || (head->kind != RF_HEAD_BINARY && head->kind != RF_HEAD_MULTICLASS))
			continue;
		any = true;
		if (head->kind == RF_HEAD_BINARY)
		{
			delta[head->offset] = -log(w[1] / w[0]);
			if (isnan(ts->opts->threshold))
				head->threshold = w[0] / (w[0] + w[1]);
			continue;
		}
		head->decision_weights = palloc(sizeof(double) * head->nout);
		for (int k = 0; k < head->nout; k++)
		{
			delta[head->offset + k] = -log(w[k]);
			head->decision_weights[k] = w[k];
		}
	}
	if (any)
		t->family->shift_outputs(t, delta);
}

/* Tunes decision thresholds for F1 where asked, on validation rows if any. */
static void
TrainTuneThresholds(RfTrainState *ts, RfEvalAcc *acc_tr, RfEvalAcc *acc_va)
{
	RfTrunk    *t = ts->trunk;
	RfHead	   *head = &t->heads[0];

	if (!ts->opts->threshold_f1)
		return;
	if (head->kind == RF_HEAD_MULTILABEL)
		TuneLabelThresholds(t, head, acc_va ? ts->Xva : ts->Xtr, acc_va ? ts->Yv : ts->Y);
	else if (head->kind == RF_HEAD_BINARY)
		head->threshold = EvalBestF1Threshold(acc_va ? &acc_va[0] : &acc_tr[0]);
	else
		return;
	EvaluateRows(ts, 0, acc_tr, false);
	if (acc_va)
		EvaluateRows(ts, 1, acc_va, true);
}

/* Training and validation metrics, the selection metric, ranking metrics. */
static void
TrainEvaluate(RfTrainState *ts)
{
	RfTrunk    *t = ts->trunk;
	StringInfo	m = &ts->metrics;
	RfEvalAcc  *acc_tr = palloc(sizeof(RfEvalAcc) * t->nheads);
	RfEvalAcc  *acc_va = NULL;

	ProgressPhase("evaluating");
	initStringInfo(m);
	if (ts->gradient)
	{
		GradientEvaluate(ts, m);
		return;
	}
	appendStringInfoString(m, "{\"training\": ");
	if (ts->streaming)
	{
		double		rmse;

		EvaluateGram(ts->gram[0], ts->enc, t, ts->nrows[0], m, &rmse);
		ts->train_loss = rmse * rmse;
		if (ts->nrows[1] > 0)
		{
			appendStringInfoString(m, ", \"validation\": ");
			EvaluateGram(ts->gram[1], ts->enc, t, ts->nrows[1], m, &ts->selection);
		}
		appendStringInfoChar(m, '}');
		return;
	}
	/* every score is kept only where needed: validation, or F1 tuning */
	EvaluateRows(ts, 0, acc_tr, ts->opts->threshold_f1 && ts->nrows[1] == 0);
	if (ts->nrows[1] > 0)
	{
		acc_va = palloc(sizeof(RfEvalAcc) * t->nheads);
		EvaluateRows(ts, 1, acc_va, true);
	}
	TrainTuneThresholds(ts, acc_tr, acc_va);
	HeadsJson(t, acc_tr, m, &ts->train_loss, true);
	if (acc_va)
	{
		appendStringInfoString(m, ", \"validation\": ");
		HeadsJson(t, acc_va, m, &ts->selection, false);
		if (ts->gdict && t->heads[0].kind != RF_HEAD_MULTICLASS)
		{
			appendStringInfoString(m, ", \"ranking\": ");
			RankingRows(t, ts->Xva, ts->Yv, ts->ntargets, m);
		}
	}
	appendStringInfoChar(m, '}');
	Phase(ts, "evaluated");
}

static const char *
TrainSelectionName(RfTrainState *ts)
{
	return ts->trunk->nheads > 1 ? "weighted loss" : EvalSelectionName(&ts->trunk->heads[0]);
}

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
	appendStringInfoString(spec, ", \"loss_history\": [");
	for (int i = 0; i < opt->nhistory; i++)
	{
		if (i)
			appendStringInfoString(spec, ", ");
		JsonAppendNumber(spec, opt->history[i]);
	}
	appendStringInfoChar(spec, ']');
	if (ts->sample < 1)
		appendStringInfo(spec, ", \"sample\": {\"share\": %.17g, \"rows_left_out\": %lld}",
						 ts->sample, (long long) ts->sampled_out);
	appendStringInfo(spec, ", \"history_from\": %d, \"seconds\": %.3f, \"fit_seconds\": %.3f, \"peak_data_bytes\": %zu%s%s}",
					 opt->history_from, INSTR_TIME_GET_DOUBLE(elapsed), INSTR_TIME_GET_DOUBLE(ts->fit_time),
					 ts->budget.peak, ts->fit.choice ? ", \"chosen\": " : "", ts->fit.choice ? ts->fit.choice : "");
}

/* The version's spec: framing, source, encoder, trunk and heads, metrics. */
static char *
TrainSpec(RfTrainState *ts)
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

/* Writes the version and deploys it if it should be. */
static void
TrainStore(RfTrainState *ts)
{
	char	   *spec;
	List	   *blocks = ts->trunk->family->blocks(ts->trunk);

	blocks = lcons(RfBlockMake("encoder.scale", ts->enc->nraw, 0, ts->enc->scale), blocks);
	blocks = lcons(RfBlockMake("encoder.shift", ts->enc->nraw, 0, ts->enc->shift), blocks);
	TrainCheckFinite(ts, blocks);

	ProgressPhase("storing");
	/* Versions are numbered under a lock that scoring (AccessShare) never waits for. */
	LockRelationOid(ts->relid, ShareRowExclusiveLock);
	ts->version = StoreNextVersion(ts->relid);
	ts->deployed = DecideDeploy(ts, ts->relid, ts->nrows[1] > 0, ts->selection,
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
	spec = TrainSpec(ts);
	StoreWriteVersion(ts->relid, ts->version, spec, blocks, false);
	if (ts->deployed)
		StoreDeploy(ts->relid, ts->version);
	Phase(ts, psprintf("stored version %d%s", ts->version, ts->deployed ? " and deployed it" : ""));
}

/* The summary row of reframe.train(), built in the caller's context. */
static Datum
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

/* A new training state from the arguments: the task and options may be NULL. */
RfTrainState *
TrainBegin(MemoryContext tcxt, const char *model_name, text *target, char *task, Jsonb *options)
{
	RfTrainState *ts = palloc0(sizeof(RfTrainState));

	INSTR_TIME_SET_CURRENT(ts->start);
	ts->mark = ts->start;
	ts->mcxt = tcxt;
	ts->model_name = pstrdup(model_name);
	ProgressStart(ts->model_name, tcxt);
	ts->opts = OptionsParse(options);
	ts->family = FamilyFromOptions(ts->opts);
	FamilyCheckOptions(ts->family, ts->opts);
	FamilyDefaults(ts->family, ts->opts);
	ts->rowcxt = AllocSetContextCreate(tcxt, "reframe training row", ALLOCSET_DEFAULT_SIZES);
	TrainArgTask(ts, task);
	TrainArgTargets(ts, target);
	TrainCheckFraming(ts);
	return ts;
}

/*
 * The arguments checked as a training checks them (options, task, targets),
 * before a race reads the source for its candidates.
 */
void
TrainCheckArgs(const char *model_name, text *target, char *task, Jsonb *options)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "reframe argument check", ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	(void) TrainBegin(cxt, model_name, target, task, options);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* From the rows read to a fitted and evaluated trunk. */
static void
TrainFitSteps(RfTrainState *ts)
{
	RfHead	   *heads;
	int			nheads;

	TrainResolveTargets(ts);
	TrainEncode(ts);
	heads = BuildHeads(ts, &nheads);
	ts->trunk = TrunkCreate(ts->family, ts->opts, ts->enc->width, heads, nheads);
	TrainFit(ts);
	TrainCalibrateClassWeights(ts);
	TrainEvaluate(ts);
}

/*
 * One fold of a cross-validation as JSON: a model fitted on the other folds
 * and evaluated on this one; nothing is stored.  *selection receives its
 * selection metric.
 */
static char *
TrainFold(const TrainArgs *a, MemoryContext tcxt, int fold, int folds, double *selection)
{
	RfTrainState *ts = TrainBegin(tcxt, a->label, a->target, a->task, a->options);

	if (OptionGiven(ts->opts, "validation") || OptionGiven(ts->opts, "deploy"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"validation\" and \"deploy\" do not apply to reframe.cross_validate"),
				 errhint("Each fold is held out in turn, and nothing is stored.")));
	if (ts->opts->search || OptionGiven(ts->opts, "trials") || OptionGiven(ts->opts, "time_budget"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"search\", \"trials\" and \"time_budget\" do not apply to reframe.cross_validate"),
				 errhint("reframe.train runs the search; cross-validate one set of options at a time.")));
	ts->folds = folds;
	ts->fold = fold;
	TrainRead(ts, a->source);
	if (ts->nrows[1] == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("fold %d of %d holds no rows", fold + 1, folds),
				 errhint("Use fewer folds, or a \"split_by\" column with more distinct values.")));
	TrainFitSteps(ts);
	*selection = ts->selection;
	return psprintf("{\"fold\": %d, \"training_rows\": %lld, \"validation_rows\": %lld, \"selection\": {\"metric\": \"%s\", \"value\": %s}, \"metrics\": %s}",
					fold + 1, (long long) ts->nrows[0], (long long) ts->nrows[1], TrainSelectionName(ts),
					isfinite(ts->selection) ? psprintf("%.17g", ts->selection) : "null", ts->metrics.data);
}

/*
 * Folds 0 .. nfolds - 1 of a k-fold cross-validation, each in a memory
 * context of its own: a JSON array of the folds into buf (if not NULL), and
 * the mean selection metric.
 */
double
TrainFolds(const TrainArgs *a, int folds, int nfolds, StringInfo buf)
{
	double		sum = 0;

	if (buf)
		appendStringInfoChar(buf, '[');
	for (int f = 0; f < nfolds; f++)
	{
		if (buf && f)
			appendStringInfoString(buf, ", ");
		sum += TrainOneFold(a, f, folds, buf);
	}
	if (buf)
		appendStringInfoChar(buf, ']');
	return sum / nfolds;
}

/*
 * Fold "fold" of a "folds"-fold cross-validation, in a memory context of its
 * own: its selection metric, and its figures as JSON appended to buf (if not
 * NULL).
 */
double
TrainOneFold(const TrainArgs *a, int fold, int folds, StringInfo buf)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext tcxt = AllocSetContextCreate(caller, "reframe cross-validation", ALLOCSET_DEFAULT_SIZES);
	double		selection;
	char	   *json;

	MemoryContextSwitchTo(tcxt);
	json = TrainFold(a, tcxt, fold, folds, &selection);
	MemoryContextSwitchTo(caller);
	if (buf)
		appendStringInfoString(buf, json);
	MemoryContextDelete(tcxt);
	return selection;
}

/*
 * A new version of a model from the options chosen (SearchChoose), with
 * the choice's figures (or NULL) added to its metrics: read, fitted,
 * evaluated and stored in tcxt.  Returns the summary row, made in the
 * caller's context.
 */
Datum
TrainVersion(MemoryContext tcxt, text *model, text *source, text *target, char *task, Jsonb *options,
			 const char *leaderboard, TupleDesc desc)
{
	MemoryContext caller = CurrentMemoryContext;
	RfTrainState *ts;
	RfSourceRead nest;
	Datum		result;

	MemoryContextSwitchTo(tcxt);
	ts = TrainBegin(tcxt, text_to_cstring(model), target, task, options);
	ts->relid = TrainModelTable(model);
	ts->stored_name = StoreStoredName(model, ts->relid);
	if (ts->opts->deploy == RF_DEPLOY_IF_BETTER && StoreDeployedVersion(ts->relid) >= 0)
		ts->vstore = tuplestore_begin_heap(false, false, work_mem);
	/* the source is read, never written through (StoreBeginSourceRead) */
	StoreBeginSourceRead(&nest);
	TrainRead(ts, source);
	TrainFitSteps(ts);
	StoreEndSourceRead(&nest);
	if (leaderboard)
	{
		/* the metrics object gains the candidates' or trials' figures */
		ts->metrics.data[--ts->metrics.len] = '\0';
		appendStringInfo(&ts->metrics, ", %s}", leaderboard);
	}
	TrainStore(ts);
	MemoryContextSwitchTo(caller);
	result = TrainResult(ts, desc);
	return result;
}
