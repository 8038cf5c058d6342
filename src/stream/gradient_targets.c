/*
 * gradient_targets.c
 *		The targets of training by streaming passes, framed as the rows' path
 *		frames them (targets.c) but from the source's distinct values and the
 *		counting passes' sums: head kinds, classes seen, hierarchy levels,
 *		regression statistics.
 */
#include "postgres.h"

#include <math.h>

#include "executor/spi.h"
#include "utils/builtins.h"

#include "jsonutil.h"
#include "gradient_int.h"

/* The heads a counting pass sums by: the targets' own (TargetHead), with squared loss. */
static RfHead *
CountingHeads(RfTrainState *ts, int *nheads)
{
	RfHead	   *heads = palloc0(sizeof(RfHead) * ts->ntargets);

	*nheads = GradientLabelColumns(ts) ? 1 : ts->ntargets;
	if (GradientLabelColumns(ts))
		TargetLabelsHead("labels", ts->ntargets, ts->target_names, &heads[0]);
	for (int h = 0; h < *nheads && !GradientLabelColumns(ts); h++)
		TargetHead(&ts->targets[h], h, RF_LOSS_SQUARED, &heads[h]);
	HeadsLayout(heads, *nheads);
	return heads;
}

/* A counting pass: its sums, for heads at zero weights. */
static void
GradientCountingPass(RfTrainState *ts, const double *center, PassResult *res)
{
	int			nheads;
	RfHead	   *heads = CountingHeads(ts, &nheads);
	int			nout = heads[nheads - 1].offset + heads[nheads - 1].nout;
	double	   *zero = palloc0(sizeof(double) * ((Size) nout * ts->enc->width + nout));

	GradientRun(ts, GradientConfigBuild(ts, heads, nheads, zero, zero + (Size) nout * ts->enc->width,
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
	const double *c0 = GradientSumsArray(GradientSumsOf(r, h, 0), nout, 0);
	const double *c1 = GradientSumsArray(GradientSumsOf(r, h, 1), nout, 0);
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
	HeadSums   *s0 = GradientSumsOf(r, h, 0);
	HeadSums   *s1 = GradientSumsOf(r, h, 1);
	int			nout = r->view.heads[h].nout;
	const double *count = GradientSumsArray(s0, nout, 0);

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
				const double *bsum = GradientSumsArray(s0, nout, 3);

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
	for (int t = 0; t < ts->ntargets && !GradientLabelColumns(ts); t++)
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
	GradientCountingPass(ts, NULL, r);
	for (int h = 0; h < r->view.cfg->nheads && !GradientLabelColumns(ts); h++)
	{
		RfTarget   *tg = &ts->targets[h];

		if (((tg->head == RF_HEAD_MULTICLASS && !tg->bin_edges) || tg->head == RF_HEAD_MULTILABEL) &&
			tg->kind != RF_TARGET_SHARES && !IsHierarchy(ts))
			pruned |= KeepSeenClasses(tg, r, h);
		if (tg->head == RF_HEAD_REGRESSION)
		{
			HeadSums   *s0 = GradientSumsOf(r, h, 0);

			center[h] = s0->weight > 0 ? s0->ysum / s0->weight : 0;
			regression = true;
		}
	}
	if (pruned || regression)
		GradientCountingPass(ts, center, r);
	for (int h = 0; h < r->view.cfg->nheads && !GradientLabelColumns(ts); h++)
		ResolveFromCounts(ts, &ts->targets[h], r, h, center[h]);
	if (GradientLabelColumns(ts))
		for (int t = 0; t < ts->ntargets; t++)
			ts->targets[t].head = RF_HEAD_BINARY;
	else if (ts->ntargets == 1 && ts->targets[0].head == RF_HEAD_MULTILABEL)
		TrainFramedLabelSet(ts);
	else if (ts->ntargets == 1)
		ts->task = pstrdup(HeadKindName(ts->targets[0].head));
	ts->gcounts = r;
}
