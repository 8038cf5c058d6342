/*
 * gradient_train.c
 *		Training by streaming L-BFGS (see gradient.c for the pass): the
 *		targets framed from the source's distinct values and counting
 *		passes, each evaluation of the objective one reframe.gradient pass,
 *		"l2": "auto"'s path on passes, and the metrics from a last pass.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "reframe.h"
#include "evaluate.h"
#include "family.h"
#include "gradient.h"
#include "gradient_pass.h"
#include "heads.h"
#include "jsonutil.h"
#include "moments.h"
#include "network.h"
#include "targets.h"

/* Which configuration a pass gets. */
typedef enum PassKind
{
	PASS_COUNT,					/* the targets' statistics, at zero weights */
	PASS_FIT,					/* an evaluation of the objective: standardized regression targets */
	PASS_EVAL					/* the fitted model's metrics: targets in their units */
} PassKind;

/* One multilabel head over several targets (boolean labels or shares)? */
static bool
LabelColumns(RfTrainState *ts)
{
	return ts->ntargets > 1 && ts->task && strcmp(ts->task, "multilabel") == 0;
}

/* The target cells of each target: one, or a label set's labels. */
static int
TargetCells(RfTrainState *ts, int *cell)
{
	int			n = 0;

	for (int t = 0; t < ts->ntargets; t++)
	{
		cell[t] = n;
		n += ts->targets[t].kind == RF_TARGET_LABELS || ts->targets[t].kind == RF_TARGET_SHARES ?
			ts->targets[t].nclasses : 1;
	}
	return n;
}

static GradientMap
HeadMap(const RfHead *head, const RfTarget *tg)
{
	if (head->kind != RF_HEAD_MULTICLASS || tg->kind != RF_TARGET_NUMBER)
		return MAP_NONE;
	return tg->bin_edges ? MAP_BINS : MAP_VALUES;
}

/* The sorted names of the text targets, one after the other. */
static void
ConfigNames(RfTrainState *ts, StringInfo names, GradientTarget *gt)
{
	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];

		gt[t].names_at = names->len;
		gt[t].nnames = 0;
		if (tg->kind != RF_TARGET_CATEGORY && tg->kind != RF_TARGET_LABELS)
			continue;
		gt[t].nnames = tg->nclasses;
		for (int k = 0; k < tg->nclasses; k++)
		{
			/* a hierarchy's level orders its classes by parent: its names stay sorted here */
			const char *name = tg->sorted_names ? tg->sorted_names[k] : tg->classes[k];

			appendBinaryStringInfo(names, name, strlen(name) + 1);
		}
	}
}

/* A head's part of a pass's configuration; its parent map, ranks and values go to pool. */
static void
ConfigHead(RfTrainState *ts, const RfHead *head, int h, const int *cell, PassKind kind,
		   const double *center, GradientHead *gh, StringInfo pool)
{
	RfTarget   *tg = &ts->targets[LabelColumns(ts) ? 0 : h];
	bool		regression = head->kind == RF_HEAD_REGRESSION;

	gh->kind = head->kind;
	gh->loss = head->loss;
	gh->offset = head->offset;
	gh->nout = head->nout;
	gh->cell = LabelColumns(ts) ? 0 : cell[h];
	gh->map = HeadMap(head, tg);
	gh->huber_delta = head->huber_delta;
	gh->threshold = head->threshold;
	gh->yshift = regression && kind == PASS_FIT ? tg->mean : 0;
	gh->yscale = regression && kind == PASS_FIT ? tg->sd : 1;
	gh->ycenter = center ? center[h] : 0;
	gh->weight = head->weight;
	gh->soft = head->kind == RF_HEAD_MULTICLASS && head->soft;
	gh->parent = head->parent_of ? head->parent : -1;
	gh->parents_at = -1;
	if (head->parent_of)
	{
		gh->parents_at = pool->len / sizeof(double);
		for (int k = 0; k < head->nout; k++)
		{
			double		v = head->parent_of[k];

			appendBinaryStringInfo(pool, (const char *) &v, sizeof(double));
		}
		for (int k = 0; k < head->nout; k++)
		{
			double		v = tg->rank[k];

			appendBinaryStringInfo(pool, (const char *) &v, sizeof(double));
		}
	}
	gh->values_at = pool->len / sizeof(double);
	if (gh->map == MAP_VALUES)
	{
		gh->nvalues = tg->nclasses;
		appendBinaryStringInfo(pool, (const char *) (tg->values), sizeof(double) * tg->nclasses);
	}
	else if (gh->map == MAP_BINS)
	{
		double	   *bv = tg->bin_values ? tg->bin_values : palloc0(sizeof(double) * tg->nclasses);

		gh->nvalues = tg->nclasses - 1;
		appendBinaryStringInfo(pool, (const char *) (tg->bin_edges), sizeof(double) * (tg->nclasses - 1));
		appendBinaryStringInfo(pool, (const char *) (bv), sizeof(double) * tg->nclasses);
	}
}

/* Each input's shift, then its scale: as is before the encoder is fitted (the counting pass). */
static void
ConfigAppendScaling(const RfEncoder *enc, StringInfo buf)
{
	for (int r = 0; r < enc->nraw; r++)
	{
		double		shift = enc->shift ? enc->shift[r] : 0.0;

		appendBinaryStringInfo(buf, (const char *) (&shift), sizeof(double));
	}
	for (int r = 0; r < enc->nraw; r++)
	{
		double		scale = enc->scale ? enc->scale[r] : 1.0;

		appendBinaryStringInfo(buf, (const char *) (&scale), sizeof(double));
	}
}

/* Each input's encoded slot, its missing indicator's slot, each column's length. */
static void
ConfigAppendSlots(const RfEncoder *enc, StringInfo buf)
{
	int			R = enc->nraw;
	int32	   *slot = palloc(sizeof(int32) * (2 * R + enc->ncols));

	for (int c = 0; c < enc->ncols; c++)
	{
		slot[2 * R + c] = enc->cols[c].length;
		for (int k = 0; k < enc->cols[c].length; k++)
			slot[enc->cols[c].raw + k] = enc->cols[c].slot + k;
	}
	for (int r = 0; r < R; r++)
		slot[R + r] = enc->missing_slot ? enc->missing_slot[r] : -1;
	appendBinaryStringInfo(buf, (const char *) (slot), sizeof(int32) * (2 * R + enc->ncols));
}

/*
 * A pass's configuration for the heads, with the trunk's weights W
 * (nout x width, row-major) and biases b; center: per head, what a
 * regression target's sums are taken about (NULL: 0).
 */
static bytea *
ConfigBuild(RfTrainState *ts, const RfHead *heads, int nheads, const double *W, const double *b,
			PassKind kind, const double *center, int inner_fold)
{
	RfEncoder  *enc = ts->enc;
	int			R = enc->nraw;
	int			width = enc->width;
	int			nout = heads[nheads - 1].offset + heads[nheads - 1].nout;
	int			cell[RF_MAX_TARGETS];
	GradientConfig hdr = {0};
	GradientHead *gh = palloc0(sizeof(GradientHead) * nheads);
	StringInfoData pool;
	StringInfoData names;
	StringInfoData buf;

	initStringInfo(&pool);
	initStringInfo(&names);
	hdr.ncells = TargetCells(ts, cell);
	for (int h = 0; h < nheads; h++)
		ConfigHead(ts, &heads[h], h, cell, kind, center, &gh[h], &pool);
	ConfigNames(ts, &names, hdr.target);
	hdr.magic = GRADIENT_MAGIC;
	hdr.R = R;
	hdr.ncols = enc->ncols;
	hdr.width = width;
	hdr.nout = nout;
	hdr.nheads = nheads;
	hdr.npool = pool.len / sizeof(double);
	hdr.names_len = names.len;
	hdr.folds = ts->folds;
	hdr.fold = ts->fold;
	hdr.merged = ts->with_validation;
	hdr.evaluate = kind == PASS_EVAL;
	hdr.inner_fold = inner_fold;
	hdr.hash0 = (uint64) ts->opts->seed * UINT64CONST(0x9E3779B97F4A7C15) + 1;
	hdr.holdout = ts->holdout;
	hdr.sample = ts->sample;
	StreamTargetsInit(ts, &hdr.targets);
	for (int t = 0; t < ts->ntargets; t++)
		hdr.target[t].cell = cell[t];
	SET_VARSIZE(&hdr, ConfigSize(R, enc->ncols, width, nout, hdr.npool, nheads, hdr.names_len));

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (const char *) (&hdr), sizeof(hdr));
	ConfigAppendScaling(enc, &buf);
	appendBinaryStringInfo(&buf, (const char *) (W), sizeof(double) * nout * width);
	appendBinaryStringInfo(&buf, (const char *) (b), sizeof(double) * nout);
	appendBinaryStringInfo(&buf, (const char *) (pool.data), pool.len);
	appendBinaryStringInfo(&buf, (const char *) (gh), sizeof(GradientHead) * nheads);
	ConfigAppendSlots(enc, &buf);
	appendBinaryStringInfo(&buf, (const char *) (names.data), names.len);
	Assert(buf.len == VARSIZE(&hdr));
	return (bytea *) buf.data;
}

/* A pass's sums and their layout; an error when rows had targets the heads cannot take. */
typedef struct PassResult
{
	GradientState *st;			/* NULL: no rows */
	GradientView view;
} PassResult;

static void
GradientRun(RfTrainState *ts, bytea *config, PassResult *res)
{
	bytea	   *result = MomentsRunPass(ts, "gradient", config);

	memset(res, 0, sizeof(*res));
	GradientViewBuild((const GradientConfig *) config, &res->view);
	res->st = result ? GradientStateCheck(PointerGetDatum(result), "the result") : NULL;
	if (res->st && res->st->ndoubles != res->view.ndoubles)
		elog(ERROR, "reframe.gradient: the pass's sums do not fit its configuration");
	if (res->st && res->st->bad_shares > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" has %.0f rows that are not %d shares in [0, 1]%s",
						ts->targets[0].name, res->st->bad_shares, ts->targets[0].nclasses,
						ts->targets[0].soft ? " summing to 1" : ""),
				 errhint("Each row holds one share per name of \"classes\", none NULL%s.",
						 ts->targets[0].soft ? ", adding up to 1 (within 1e-6)" : "")));
	if (res->st && res->st->bad_targets > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 ts->ntargets == 1 ?
				 errmsg("target column \"%s\" has %.0f rows that are NaN, Infinity or not a target of its %s head",
						ts->targets[0].name, res->st->bad_targets, HeadKindName(ts->targets[0].head)) :
				 errmsg("model \"%s\": %.0f rows have a target that is NaN, Infinity or not one its head takes",
						ts->model_name, res->st->bad_targets),
				 errdetail("A binary target is 0 or 1 (or a share in [0, 1]), a multilabel label 0 or 1; a class is one the source had in an earlier pass."),
				 errhint("Filter such rows out in the source, or frame the target differently; a source that changes while it trains gives this too.")));
}

static HeadSums *
SumsOf(PassResult *r, int h, int set)
{
	return (HeadSums *) (STATE_D(r->st) - STATE_COMMON + r->view.sums_at[2 * h + set]);
}

/* A head's per-output sums: count, cweight, pweight, bsum. */
static double *
SumsArray(HeadSums *s, int nout, int which)
{
	return (double *) s + SUMS_SCALARS + which * nout;
}

/* The heads a counting pass sums by: the targets' own (TargetHead), with squared loss. */
static RfHead *
CountingHeads(RfTrainState *ts, int *nheads)
{
	RfHead	   *heads = palloc0(sizeof(RfHead) * ts->ntargets);

	*nheads = LabelColumns(ts) ? 1 : ts->ntargets;
	if (LabelColumns(ts))
		TargetLabelsHead("labels", ts->ntargets, ts->target_names, &heads[0]);
	for (int h = 0; h < *nheads && !LabelColumns(ts); h++)
		TargetHead(&ts->targets[h], h, RF_LOSS_SQUARED, &heads[h]);
	HeadsLayout(heads, *nheads);
	return heads;
}

/* A counting pass: its sums, for heads at zero weights. */
static void
CountingPass(RfTrainState *ts, const double *center, PassResult *res)
{
	int			nheads;
	RfHead	   *heads = CountingHeads(ts, &nheads);
	int			nout = heads[nheads - 1].offset + heads[nheads - 1].nout;
	double	   *zero = palloc0(sizeof(double) * ((Size) nout * ts->enc->width + nout));

	GradientRun(ts, ConfigBuild(ts, heads, nheads, zero, zero + (Size) nout * ts->enc->width,
								PASS_COUNT, center, -1), res);
	if (res->st == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("model \"%s\": the source has no rows", ts->model_name)));
}

static int
NameSortCmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * The distinct values of a target in the source: texts sorted by strcmp,
 * or numbers increasing; at most limit + 1 of them.
 */
static int
DistinctValues(RfTrainState *ts, RfTarget *tg, int limit)
{
	const char *name = quote_identifier(tg->name);
	char	   *expr = tg->kind == RF_TARGET_LABELS ? psprintf("unnest(s.%s::text[])", name) :
		tg->kind == RF_TARGET_CATEGORY ? psprintf("s.%s::text", name) : psprintf("s.%s::float8", name);
	int			n;

	SPI_connect();
	if (SPI_execute(psprintf("SELECT DISTINCT v FROM (SELECT %s AS v FROM (%s) s) d WHERE v IS NOT NULL LIMIT %d",
							 expr, ts->source_sql, limit + 1), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reframe: could not read the values of target %s", tg->name);
	n = (int) SPI_processed;
	if (tg->kind == RF_TARGET_NUMBER)
		tg->values = MemoryContextAlloc(ts->mcxt, sizeof(double) * Max(n, 1));
	else
		tg->classes = MemoryContextAlloc(ts->mcxt, sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		if (tg->kind == RF_TARGET_NUMBER)
			tg->values[i] = DatumGetFloat8(d);
		else
			tg->classes[i] = MemoryContextStrdup(ts->mcxt, TextDatumGetCString(d));
	}
	SPI_finish();
	if (tg->kind == RF_TARGET_NUMBER)
		qsort(tg->values, n, sizeof(double), TargetDoubleCmp);
	else
		qsort(tg->classes, n, sizeof(char *), NameSortCmp);
	tg->nclasses = Min(n, limit);
	return n;
}

/* The task a target is framed as: the model's, or its entry in "tasks". */
static const char *
TargetTask(RfTrainState *ts, RfTarget *tg)
{
	if (ts->ntargets == 1)
		return ts->task;
	if (ts->task && strcmp(ts->task, "hierarchical") == 0)
		return "multiclass";	/* every level */
	return JsonFieldText(ts->opts->tasks, tg->name, NULL);
}

static void
TooManyClasses(RfTarget *tg)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("target column \"%s\" has more than %d distinct values, more than streaming passes take",
					tg->name, GRADIENT_MAX_CLASSES),
			 errhint("Set \"streaming\": false to read the rows, or \"sample\" to train on a share of them.")));
}

static void
FrameBinary(RfTarget *tg)
{
	tg->head = RF_HEAD_BINARY;
	tg->values = NULL;
	tg->nclasses = 2;
	tg->classes = palloc(sizeof(char *) * 2);
	tg->classes[0] = tg->kind == RF_TARGET_BOOL ? pstrdup("false") : TargetNumberLabel(0, tg->typid);
	tg->classes[1] = tg->kind == RF_TARGET_BOOL ? pstrdup("true") : TargetNumberLabel(1, tg->typid);
}

/*
 * A target's head and its candidate classes, from its type, its task and
 * the source's distinct values (as TargetResolve frames the rows'
 * targets); the counting pass keeps the classes of the rows read.
 */
static void
FrameTarget(RfTrainState *ts, RfTarget *tg)
{
	const char *task = TargetTask(ts, tg);
	int			counted = -1;	/* the distinct values read to infer the task */

	if (task == NULL && tg->kind != RF_TARGET_SHARES && tg->kind != RF_TARGET_LABELS && ts->opts->nbins == 0)
	{
		/* inferred as the rows' path infers it */
		counted = TargetIsInteger(tg) ? DistinctValues(ts, tg, RF_MAX_INFERRED_CLASSES) : 0;
		task = TargetInferTask(tg, tg->values, counted);
		TargetNoticeTask(tg, task);
	}
	if (tg->kind == RF_TARGET_SHARES)
	{
		/* named by "classes" (TrainPlanShares): a distribution, or each label's share */
		tg->head = tg->soft ? RF_HEAD_MULTICLASS : RF_HEAD_MULTILABEL;
		return;
	}
	if (tg->kind == RF_TARGET_LABELS)
	{
		tg->head = RF_HEAD_MULTILABEL;
		if (DistinctValues(ts, tg, 10000) > 10000)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("label column \"%s\" has more than 10000 distinct labels", tg->name)));
		return;
	}
	if (tg->kind == RF_TARGET_BOOL || (task && strcmp(task, "binary") == 0 && tg->kind == RF_TARGET_NUMBER))
	{
		FrameBinary(tg);
		return;
	}
	if (tg->kind == RF_TARGET_CATEGORY)
	{
		tg->head = task && strcmp(task, "binary") == 0 ? RF_HEAD_BINARY : RF_HEAD_MULTICLASS;
		if (DistinctValues(ts, tg, GRADIENT_MAX_CLASSES) > GRADIENT_MAX_CLASSES)
			TooManyClasses(tg);
		return;
	}
	if (ts->opts->nbins > 0)
	{
		/* buckets between the cut points: their values once counted */
		tg->head = RF_HEAD_MULTICLASS;
		tg->bin_edges = ts->opts->bin_edges;
		tg->nclasses = ts->opts->nbins + 1;
		tg->classes = TargetBinClasses(tg->bin_edges, ts->opts->nbins);
		return;
	}
	if (task && strcmp(task, "multiclass") == 0)
	{
		tg->head = RF_HEAD_MULTICLASS;
		if (counted <= 0 && DistinctValues(ts, tg, GRADIENT_MAX_CLASSES) > GRADIENT_MAX_CLASSES)
			TooManyClasses(tg);
		return;
	}
	tg->head = RF_HEAD_REGRESSION;
	tg->nclasses = 0;
	tg->values = NULL;
}

/*
 * Keeps the classes (labels) of a target that the rows read have, as the
 * rows' path finds them; true when one was dropped.
 */
static bool
KeepSeenClasses(RfTarget *tg, PassResult *r, int h)
{
	int			nout = r->view.heads[h].nout;
	const double *c0 = SumsArray(SumsOf(r, h, 0), nout, 0);
	const double *c1 = SumsArray(SumsOf(r, h, 1), nout, 0);
	int			kept = 0;

	for (int k = 0; k < tg->nclasses; k++)
		if (c0[k] + c1[k] > 0)
		{
			if (tg->values)
				tg->values[kept] = tg->values[k];
			else
				tg->classes[kept] = tg->classes[k];
			kept++;
		}
	if (kept == tg->nclasses)
		return false;
	tg->nclasses = kept;
	TargetCheckClasses(tg, NULL);
	return true;
}

/* A target's classes, counts and statistics from the counting pass's sums for its head h. */
static void
ResolveFromCounts(RfTrainState *ts, RfTarget *tg, PassResult *r, int h, double center)
{
	HeadSums   *s0 = SumsOf(r, h, 0);
	HeadSums   *s1 = SumsOf(r, h, 1);
	int			nout = r->view.heads[h].nout;
	const double *count = SumsArray(s0, nout, 0);

	switch (tg->head)
	{
		case RF_HEAD_REGRESSION:
			{
				double		m = s0->weight > 0 ? s0->ysum / s0->weight : 0;
				double		var = s0->weight > 0 ? s0->yysum / s0->weight - m * m : 0;

				tg->mean = center + m;
				tg->sd = var > 0 ? sqrt(var) : 1.0;
				return;
			}
		case RF_HEAD_BINARY:
			tg->counts = palloc(sizeof(double) * 2);
			tg->counts[0] = s0->rows - count[0];
			tg->counts[1] = count[0];
			tg->soft = s0->soft + s1->soft > 0;
			TargetCheckClasses(tg, tg->counts);
			return;
		case RF_HEAD_MULTICLASS:
			{
				const double *bsum = SumsArray(s0, nout, 3);

				if (tg->soft)
				{
					/* a distribution per row: the shares summed (TargetResolveShares) */
					tg->counts = palloc(sizeof(double) * tg->nclasses);
					memcpy(tg->counts, count, sizeof(double) * tg->nclasses);
					return;
				}

				tg->counts = palloc(sizeof(double) * tg->nclasses);
				memcpy(tg->counts, count, sizeof(double) * tg->nclasses);
				if (tg->values && !tg->rank)
					tg->classes = palloc(sizeof(char *) * tg->nclasses);
				for (int k = 0; k < tg->nclasses && tg->values && !tg->rank; k++)
					tg->classes[k] = TargetNumberLabel(tg->values[k], tg->typid);
				TargetCheckClasses(tg, tg->counts);
				if (tg->bin_edges)
				{
					int			nedges = tg->nclasses - 1;

					tg->bin_values = palloc(sizeof(double) * tg->nclasses);
					for (int k = 0; k < tg->nclasses; k++)
						tg->bin_values[k] = TargetBinValue(tg->bin_edges, nedges, k, count[k], bsum[k]);
				}
				TargetWarnFewExamples(tg, ts->model_name);
				return;
			}
		default:
			tg->counts = palloc(sizeof(double) * tg->nclasses);
			memcpy(tg->counts, count, sizeof(double) * tg->nclasses);
			return;
	}
}

static bool
IsHierarchy(RfTrainState *ts)
{
	return ts->ntargets > 1 && ts->task && strcmp(ts->task, "hierarchical") == 0;
}

/* A level's class (or the level above's) from a value of the source: its position, ranked. */
static int
LevelClass(RfTarget *tg, Datum d, bool isnull)
{
	int			k = -1;

	if (isnull)
		return -1;
	if (tg->kind == RF_TARGET_NUMBER)
	{
		double		v = DatumGetFloat8(d);
		double	   *hit = bsearch(&v, tg->values, tg->nclasses, sizeof(double), TargetDoubleCmp);

		k = hit ? (int) (hit - tg->values) : -1;
	}
	else
	{
		char	   *s = TextDatumGetCString(d);
		char	  **names = tg->sorted_names ? tg->sorted_names : tg->classes;
		char	  **hit = bsearch(&s, names, tg->nclasses, sizeof(char *), NameSortCmp);

		k = hit ? (int) (hit - names) : -1;
	}
	return k >= 0 && tg->rank ? tg->rank[k] : k;
}

/*
 * Level t of a hierarchy, as ResolveHierarchy frames it from the rows:
 * each class's parent from the source's pairs of the two levels' values
 * (an error when a class sits under two, or under none), the classes
 * ordered by parent, then name.  Its values keep their sorted order for
 * the passes, which rank them.
 */
static void
FrameLevel(RfTrainState *ts, int t)
{
	RfTarget   *up = &ts->targets[t - 1];
	RfTarget   *tg = &ts->targets[t];
	const char *cast[2] = {up->kind == RF_TARGET_NUMBER ? "float8" : "text", tg->kind == RF_TARGET_NUMBER ? "float8" : "text"};
	int		   *parent_of = palloc(sizeof(int) * tg->nclasses);
	RfChildOrder *order = palloc(sizeof(RfChildOrder) * tg->nclasses);
	char	  **names = palloc(sizeof(char *) * tg->nclasses);

	for (int k = 0; k < tg->nclasses; k++)
	{
		parent_of[k] = -1;
		names[k] = tg->kind == RF_TARGET_NUMBER ? TargetNumberLabel(tg->values[k], tg->typid) : tg->classes[k];
	}
	SPI_connect();
	if (SPI_execute(psprintf("SELECT DISTINCT s.%s::%s, s.%s::%s FROM (%s) s WHERE s.%s IS NOT NULL AND s.%s IS NOT NULL",
							 quote_identifier(up->name), cast[0], quote_identifier(tg->name), cast[1], ts->source_sql,
							 quote_identifier(up->name), quote_identifier(tg->name)), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reframe: could not read the levels %s and %s", up->name, tg->name);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		n1,
					n2;
		int			p = LevelClass(up, SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &n1), n1);
		int			c = LevelClass(tg, SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &n2), n2);

		if (p < 0 || c < 0)
			continue;
		if (parent_of[c] >= 0 && parent_of[c] != p)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("class \"%s\" of level \"%s\" appears under both \"%s\" and \"%s\" of level \"%s\"",
							names[c], tg->name, up->classes[parent_of[c]], up->classes[p], up->name),
					 errhint("The levels of a hierarchy must form a tree; make such classes distinct, for example by prefixing their parent.")));
		parent_of[c] = p;
	}
	SPI_finish();
	for (int k = 0; k < tg->nclasses; k++)
	{
		if (parent_of[k] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("class \"%s\" of level \"%s\" never appears with a class of level \"%s\"",
							names[k], tg->name, up->name)));
		order[k].cls = k;
		order[k].parent = parent_of[k];
		order[k].name = names[k];
	}
	qsort(order, tg->nclasses, sizeof(RfChildOrder), TargetChildOrderCmp);
	tg->sorted_names = tg->kind == RF_TARGET_CATEGORY ? tg->classes : NULL;
	tg->rank = palloc(sizeof(int) * tg->nclasses);
	tg->classes = palloc(sizeof(char *) * tg->nclasses);
	tg->parent_of = palloc(sizeof(int) * tg->nclasses);
	for (int j = 0; j < tg->nclasses; j++)
	{
		tg->rank[order[j].cls] = j;
		tg->classes[j] = names[order[j].cls];
		tg->parent_of[j] = order[j].parent;
	}
	tg->nparents = up->nclasses;
}

/*
 * The targets' framing from their passes: each target's head and classes
 * (the source's distinct values, kept where the rows read have them, as
 * the rows' path finds them), class counts and regression statistics from
 * counting passes at zero weights -- a second one sums each regression
 * target about its mean.
 */
void
GradientResolveTargets(RfTrainState *ts)
{
	PassResult *r = MemoryContextAllocZero(ts->mcxt, sizeof(PassResult));
	double		center[RF_MAX_TARGETS] = {0};
	bool		regression = false;
	bool		pruned = false;

	if (ts->ntargets > 1 && ts->task == NULL)
	{
		bool		all_bool = true;

		for (int t = 0; t < ts->ntargets; t++)
			all_bool &= ts->targets[t].kind == RF_TARGET_BOOL;
		ts->task = all_bool ? "multilabel" : "multitask";
		ereport(NOTICE,
				(errmsg("training a %s model on %d targets", ts->task, ts->ntargets),
				 errhint("Pass task => '...' to frame it differently.")));
	}
	for (int t = 0; t < ts->ntargets && !LabelColumns(ts); t++)
	{
		RfTarget   *tg = &ts->targets[t];

		FrameTarget(ts, tg);
		if ((tg->head == RF_HEAD_BINARY && tg->kind == RF_TARGET_CATEGORY) || tg->head == RF_HEAD_MULTICLASS)
			TargetCheckClasses(tg, NULL);
		if (tg->head == RF_HEAD_MULTILABEL && tg->nclasses < 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("label column \"%s\" holds no label in any training row", tg->name)));
	}
	for (int t = 1; t < ts->ntargets && IsHierarchy(ts); t++)
		FrameLevel(ts, t);
	CountingPass(ts, NULL, r);
	for (int h = 0; h < r->view.cfg->nheads && !LabelColumns(ts); h++)
	{
		RfTarget   *tg = &ts->targets[h];

		if (((tg->head == RF_HEAD_MULTICLASS && !tg->bin_edges) || tg->head == RF_HEAD_MULTILABEL) &&
			tg->kind != RF_TARGET_SHARES && !IsHierarchy(ts))
			pruned |= KeepSeenClasses(tg, r, h);
		if (tg->head == RF_HEAD_REGRESSION)
		{
			HeadSums   *s0 = SumsOf(r, h, 0);

			center[h] = s0->weight > 0 ? s0->ysum / s0->weight : 0;
			regression = true;
		}
	}
	if (pruned || regression)
		CountingPass(ts, center, r);
	for (int h = 0; h < r->view.cfg->nheads && !LabelColumns(ts); h++)
		ResolveFromCounts(ts, &ts->targets[h], r, h, center[h]);
	if (LabelColumns(ts))
		for (int t = 0; t < ts->ntargets; t++)
			ts->targets[t].head = RF_HEAD_BINARY;
	else if (ts->ntargets == 1 && ts->targets[0].head == RF_HEAD_MULTILABEL)
		TrainFramedLabelSet(ts);
	else if (ts->ntargets == 1)
		ts->task = pstrdup(HeadKindName(ts->targets[0].head));
	ts->gcounts = r;
}

/* The raw outputs at each head's (weighted) training base rate, as HeadsBaseMargins has them. */
static void
BaseMargins(RfTrainState *ts, const RfTrunk *t, double *b)
{
	PassResult *r = ts->gcounts;

	for (int h = 0; h < t->nheads; h++)
	{
		const RfHead *head = &t->heads[h];
		int			nout = r->view.heads[h].nout;
		const double *cw = SumsArray(SumsOf(r, h, 0), nout, 1);
		const double *pw = SumsArray(SumsOf(r, h, 0), nout, 2);
		/* a binary head's weights of 0 and 1 */
		double		binary[2] = {pw[0] - cw[0], cw[0]};

		HeadBaseMargin(head, head->kind == RF_HEAD_BINARY ? binary : cw, NULL, pw, b + head->offset);
	}
}

typedef struct GradientObjective
{
	RfTrainState *ts;
	RfNet	   *net;
	double		l2;
	int			inner_fold;		/* -1, or the inner fold held out */
} GradientObjective;

/* The objective at params: one pass over the source. */
static double
GradientEval(void *arg, const double *params, double *grad)
{
	GradientObjective *o = arg;
	RfNet	   *net = o->net;
	RfTrainState *ts = o->ts;
	int			width = NetLayerIn(net, 0);
	const double *W = params + net->w_off[0];
	PassResult	r;
	double	   *g;
	double		penalty = 0;
	double		loss = 0;
	double		rows = 0;

	GradientRun(ts, ConfigBuild(ts, net->heads, net->nheads, W, params + net->b_off[0], PASS_FIT, NULL,
								o->inner_fold), &r);
	g = r.st ? STATE_D(r.st) - STATE_COMMON + r.view.grad_at : NULL;
	memset(grad, 0, sizeof(double) * net->nparams);
	for (int h = 0; h < net->nheads && r.st; h++)
	{
		const RfHead *head = &net->heads[h];
		HeadSums   *s = SumsOf(&r, h, 0);
		/* each head's loss is its weight times its rows' mean, as in heads.c */
		double		norm = s->weight > 0 ? head->weight / s->weight : 0;

		rows += s->rows;
		loss += norm * s->loss;
		for (int k = head->offset; k < head->offset + head->nout; k++)
		{
			for (int j = 0; j < width; j++)
				grad[net->w_off[0] + (Size) k * width + j] = norm * g[(Size) k * width + j];
			grad[net->b_off[0] + k] = norm * g[(Size) net->nout * width + k];
		}
	}
	if (rows <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("model \"%s\": no training rows with a positive weight", ts->model_name)));
	for (int64 j = 0; j < (int64) net->nout * width; j++)
	{
		grad[net->w_off[0] + j] += 2.0 * o->l2 * W[j];
		penalty += W[j] * W[j];
	}
	pfree(r.st);
	return loss + o->l2 * penalty;
}

static void AccFromSums(RfEvalAcc *acc, const RfHead *head, PassResult *r, int h, int set, double center);

/*
 * A pass that sums the metrics of the trunk's parameters (in the targets'
 * units), each regression target's sums about its mean (center, per head).
 */
static void
EvaluationPass(RfTrainState *ts, RfTrunk *t, int inner_fold, double *center, PassResult *r)
{
	RfNet	   *net = t->state;

	for (int h = 0; h < t->nheads; h++)
		center[h] = t->heads[h].kind == RF_HEAD_REGRESSION ? ts->targets[h].mean : 0;
	GradientRun(ts, ConfigBuild(ts, t->heads, t->nheads, net->params + net->w_off[0],
								net->params + net->b_off[0], PASS_EVAL, center, inner_fold), r);
}

/*
 * The held-out selection metric of the net's parameters (in the targets'
 * units), weighted over the heads as HeldOutSelection weighs it: the
 * validation rows, or inner fold k of the training rows.
 */
static double
HeldOutSelection(RfTrainState *ts, RfTrunk *t, int inner_fold)
{
	double		center[RF_MAX_TARGETS];
	RfEvalAcc	acc;
	PassResult	r;
	double		total = 0;
	double		weights = 0;

	EvaluationPass(ts, t, inner_fold, center, &r);
	for (int h = 0; h < t->nheads && r.st; h++)
	{
		AccFromSums(&acc, &t->heads[h], &r, h, 1, center[h]);
		if (acc.n > 0)
		{
			total += t->heads[h].weight * EvalAccSelection(&acc);
			weights += t->heads[h].weight;
		}
	}
	if (weights == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("model \"%s\": too few rows to choose \"l2\" by %s", ts->model_name,
						inner_fold >= 0 ? "5-fold cross-validation" : "the validation rows"),
				 errhint("Give \"l2\" a number.")));
	return total / weights;
}

/* The path of "l2": "auto" by passes: split k is an inner fold, or the validation rows. */
typedef struct StreamPath
{
	RfTrainState *ts;
	RfFitData	sub;
	RfOptions	opts;
	int			nsplits;
} StreamPath;

static double
StreamPathFit(void *arg, RfTrunk *t, int k, double l2)
{
	StreamPath *sp = arg;
	RfNet	   *net = t->state;
	GradientObjective o = {.ts = sp->ts,.net = net,.l2 = l2,.inner_fold = sp->nsplits > 1 ? k : -1};
	RfFitResult r = {0};

	sp->opts.l2 = l2;
	BaseMargins(sp->ts, t, net->params + net->b_off[0]);
	NetMinimizeLbfgs(net, &sp->sub, &r, GradientEval, &o);
	return HeldOutSelection(sp->ts, t, o.inner_fold);
}

/*
 * "l2": "auto" on passes, as on the rows (family_linear.c): 5-fold
 * cross-validation of the training rows while rows times parameters are
 * at most RF_L2_CV_WORK or nothing is held out, else the validation rows.
 */
static void
GradientChooseL2(RfTrunk *t, RfFitData *d, RfFitResult *res)
{
	RfTrainState *ts = d->stream;
	StreamPath *sp = palloc0(sizeof(StreamPath));
	RfL2Path	path = {.fit = StreamPathFit,.arg = sp,.rows = ts->nrows[0]};
	bool		cv = (double) ts->nrows[0] * ((RfNet *) t->state)->nparams <= RF_L2_CV_WORK ||
		ts->nrows[1] == 0 || ts->with_validation;

	sp->ts = ts;
	sp->sub = *d;
	sp->opts = *d->opts;
	sp->sub.opts = &sp->opts;
	sp->sub.quiet = true;
	sp->nsplits = path.nsplits = cv ? RF_L2_FOLDS : 1;
	LinearChooseL2(t, d, res, &path);
}

/* L-BFGS on the passes, from the heads' base rates; "l2": "auto" chooses the penalty first. */
void
GradientFit(RfTrunk *t, RfFitData *d, RfFitResult *res)
{
	RfNet	   *net = t->state;
	RfTrainState *ts = d->stream;
	GradientObjective o = {.ts = ts,.net = net,.inner_fold = -1};

	memset(net->params, 0, sizeof(double) * net->nparams);
	if (d->opts->l2_auto && !d->quiet)
		GradientChooseL2(t, d, res);
	res->solver = "lbfgs (streaming passes)";
	o.l2 = d->opts->l2;
	BaseMargins(ts, t, net->params + net->b_off[0]);
	NetMinimizeLbfgs(net, d, res, GradientEval, &o);
}

/*
 * The ROC AUC and the calibration error of a binary head from its
 * histograms: the AUC as the Mann-Whitney statistic over the bins in order
 * (a pair within one bin counts half), the calibration error exactly as
 * the rows' path computes it from the scores.
 */
static void
BinnedScoreMetrics(RfEvalAcc *acc, const double *bins)
{
	const double *pos = bins;
	const double *neg = bins + AUC_BINS;
	const double *ece = bins + 2 * AUC_BINS;
	double		below = 0;
	double		u = 0;
	double		npos = 0;
	double		rows = 0;

	for (int b = 0; b < AUC_BINS; b++)
	{
		u += pos[b] * (below + neg[b] / 2);
		below += neg[b];
		npos += pos[b];
	}
	for (int e = 0; e < ECE_BINS; e++)
		rows += ece[3 * e];
	acc->binned = true;
	acc->roc_auc = npos > 0 && below > 0 ? u / (npos * below) : get_float8_nan();
	acc->ece = rows > 0 ? 0 : get_float8_nan();
	for (int e = 0; e < ECE_BINS && rows > 0; e++)
		if (ece[3 * e] > 0)
			acc->ece += ece[3 * e] / rows * fabs(ece[3 * e + 1] / ece[3 * e] - ece[3 * e + 2] / ece[3 * e]);
}

/* A head's metrics accumulator from a pass's sums. */
static void
AccFromSums(RfEvalAcc *acc, const RfHead *head, PassResult *r, int h, int set, double center)
{
	HeadSums   *s = SumsOf(r, h, set);
	const double *arr = (double *) s + SUMS_SCALARS + 4 * head->nout;
	int			K = ConfusionK(&r->view.heads[h]);

	EvalAccInit(acc, head, false);
	GradientSumsToAcc(s, acc);
	acc->ymean = s->weight > 0 ? center + s->ysum / s->weight : 0;
	acc->ym2 = s->weight > 0 ? s->yysum - s->ysum * s->ysum / s->weight : 0;
	if (K)
		memcpy(acc->confusion, arr, sizeof(double) * K * K);
	/* as the rows' path, which keeps the validation rows' scores only */
	if (head->kind == RF_HEAD_BINARY && set == 1)
		BinnedScoreMetrics(acc, arr + K * K);
	if (head->kind == RF_HEAD_MULTILABEL)
	{
		memcpy(acc->tp, arr, sizeof(double) * head->nout);
		memcpy(acc->fp, arr + head->nout, sizeof(double) * head->nout);
		memcpy(acc->fn, arr + 2 * head->nout, sizeof(double) * head->nout);
	}
}

/*
 * The metrics of the fitted model, from one more pass: every head's
 * training and validation figures as the rows' path reports them (the ROC
 * AUC from a histogram of the scores).
 */
void
GradientEvaluate(RfTrainState *ts, StringInfo m)
{
	RfTrunk    *t = ts->trunk;
	double		center[RF_MAX_TARGETS];
	PassResult	r;
	RfEvalAcc  *acc = palloc(sizeof(RfEvalAcc) * t->nheads);

	EvaluationPass(ts, t, -1, center, &r);
	if (r.st == NULL)
		elog(ERROR, "reframe: the source had no rows in the evaluation pass");
	appendStringInfoString(m, "{\"training\": ");
	for (int h = 0; h < t->nheads; h++)
		AccFromSums(&acc[h], &t->heads[h], &r, h, 0, center[h]);
	HeadsJson(t, acc, m, &ts->train_loss, true);
	if (SumsOf(&r, 0, 1)->rows > 0 || (t->nheads > 1 && ts->nrows[1] > 0 && !ts->with_validation))
	{
		appendStringInfoString(m, ", \"validation\": ");
		for (int h = 0; h < t->nheads; h++)
			AccFromSums(&acc[h], &t->heads[h], &r, h, 1, center[h]);
		HeadsJson(t, acc, m, &ts->selection, false);
	}
	appendStringInfoChar(m, '}');
}
