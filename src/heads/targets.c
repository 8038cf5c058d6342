/*
 * targets.c
 *		Target columns (see targets.h).
 */
#include "postgres.h"

#include "utils/array.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "jsonutil.h"
#include "targets.h"

/* Training classes with fewer rows than this draw a WARNING. */
#define RF_FEW_EXAMPLES 100

static double TargetValueRaw(RfTarget *t, Datum d, uint64 *hash);

void
TargetInit(RfTarget *t, const char *name, int attno, Oid typid)
{
	memset(t, 0, sizeof(*t));
	t->name = pstrdup(name);
	t->attno = attno;
	t->typid = typid;
	if (ReframeIsNumericType(typid))
		t->kind = RF_TARGET_NUMBER;
	else if (typid == BOOLOID)
		t->kind = RF_TARGET_BOOL;
	else if (typid == TEXTARRAYOID || typid == VARCHARARRAYOID)
	{
		t->kind = RF_TARGET_LABELS;
		t->dict = RfDictCreate();
	}
	else if (typid == FLOAT8ARRAYOID || typid == FLOAT4ARRAYOID)
		t->kind = RF_TARGET_SHARES;
	else
	{
		t->kind = RF_TARGET_CATEGORY;
		t->dict = RfDictCreate();
	}
}

/*
 * A row's shares (t->nclasses of them, each in [0, 1], summing to 1 for a
 * distribution) into y, mixed into *hash.  A row that is not is counted in
 * t->bad_shares (an error once the rows are read) and has no target.
 */
void
TargetReadShares(RfTarget *t, Datum d, bool distribution, double *y, uint64 *hash)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Oid			elem = ARR_ELEMTYPE(arr);
	int			n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	bool		ok = n == t->nclasses && !array_contains_nulls(arr);
	double		sum = 0;

	for (int k = 0; k < t->nclasses && ok; k++)
	{
		double		v = elem == FLOAT4OID ? ((float *) ARR_DATA_PTR(arr))[k] : ((double *) ARR_DATA_PTR(arr))[k];

		ok &= v >= 0 && v <= 1;
		y[k] = v;
		sum += v;
	}
	if (ok && distribution)
		ok = fabs(sum - 1) <= 1e-6;
	if (!ok)
	{
		t->bad_shares++;
		for (int k = 0; k < t->nclasses; k++)
			y[k] = get_float8_nan();
		return;
	}
	*hash = ReframeHashDoubles(y, t->nclasses, *hash);
}

double
TargetValue(RfTarget *t, Datum d, uint64 *hash)
{
	double		v = TargetValueRaw(t, d, hash);

	if (t->kind != RF_TARGET_CATEGORY)
		*hash = ReframeHashDoubles(&v, 1, *hash);
	return v;
}

/* The value; categories mix their text (not their code) into *hash. */
static double
TargetValueRaw(RfTarget *t, Datum d, uint64 *hash)
{
	double		v;

	switch (t->kind)
	{
		case RF_TARGET_BOOL:
			return DatumGetBool(d) ? 1.0 : 0.0;
		case RF_TARGET_CATEGORY:
			{
				char	   *s = EncoderCategoryString(d, t->typid);

				v = RfDictCode(t->dict, s, true);
				*hash = hash_combine64(*hash, hash_bytes_extended((unsigned char *) s, strlen(s), 0));
				pfree(s);
				if (v >= RF_MAX_CLASSES)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("target column \"%s\" has more than %d distinct values", t->name, RF_MAX_CLASSES),
							 errhint("A classification target needs fewer classes; regress a numeric target instead.")));
				return v;
			}
		default:
			v = ReframeDatumToDouble(d, t->typid);
			if (!isfinite(v))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("target column \"%s\" contains NaN or Infinity", t->name),
						 errhint("Filter such rows out in the source.")));
			return v;
	}
}

int
TargetChildOrderCmp(const void *a, const void *b)
{
	const RfChildOrder *x = a;
	const RfChildOrder *y = b;

	if (x->parent != y->parent)
		return x->parent - y->parent;
	return strcmp(x->name, y->name);
}

int
TargetDoubleCmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static int
StringIndexCmp(const void *a, const void *b, void *arg)
{
	RfDict	   *d = arg;

	return strcmp(RfDictString(d, *(const int *) a), RfDictString(d, *(const int *) b));
}

/* Distinct values of column ycol of both matrices, sorted; at most limit + 1. */
static double *
DistinctValues(RfMatrix *Y, RfMatrix *Yv, int ycol, int limit, int *n)
{
	double	   *vals = palloc(sizeof(double) * (limit + 1));
	int			count = 0;
	RfMatrix   *ms[2] = {Y, Yv};

	for (int k = 0; k < 2; k++)
		for (int64 i = 0; i < ms[k]->nrows && count <= limit; i++)
		{
			double		v = RfMatrixRow(ms[k], i)[ycol];
			bool		seen = isnan(v);	/* a missing target is no class */

			/* few values by construction: a linear scan of a small sorted set */
			for (int j = 0; j < count && !seen; j++)
				seen = vals[j] == v;
			if (!seen)
			{
				vals[count++] = v;
				qsort(vals, count, sizeof(double), TargetDoubleCmp);
			}
		}
	*n = count;
	return vals;
}

char *
TargetNumberLabel(double v, Oid typid)
{
	if (typid == INT2OID || typid == INT4OID || typid == INT8OID)
		return psprintf("%lld", (long long) v);
	return float8out_internal(v);
}

/* Replaces column ycol's values by their position in map (sorted values). */
static void
RemapColumn(RfMatrix *m, int ycol, const double *values, int n)
{
	for (int64 i = 0; i < m->nrows; i++)
	{
		double	   *y = RfMatrixRow(m, i) + ycol;
		double	   *hit;

		if (isnan(*y))
			continue;
		hit = bsearch(y, values, n, sizeof(double), TargetDoubleCmp);
		*y = (double) (hit - values);
	}
}

/* A text target's classes in strcmp order; the rows' codes become their ranks. */
static void
ResolveTextClasses(RfTarget *t, RfMatrix *Y, RfMatrix *Yv, int ycol)
{
	int			n = RfDictSize(t->dict);
	int		   *order = palloc(sizeof(int) * Max(n, 1));
	double	   *rank = palloc(sizeof(double) * Max(n, 1));
	RfMatrix   *ms[2] = {Y, Yv};

	for (int k = 0; k < n; k++)
		order[k] = k;
	qsort_arg(order, n, sizeof(int), StringIndexCmp, t->dict);
	t->nclasses = n;
	t->classes = palloc(sizeof(char *) * Max(n, 1));
	for (int k = 0; k < n; k++)
	{
		t->classes[k] = pstrdup(RfDictString(t->dict, order[k]));
		rank[order[k]] = k;
	}
	for (int s = 0; s < 2; s++)
		for (int64 i = 0; i < ms[s]->nrows; i++)
		{
			double	   *y = RfMatrixRow(ms[s], i) + ycol;

			if (!isnan(*y))
				*y = rank[(int) *y];
		}
}

static void
ResolveClasses(RfTarget *t, RfMatrix *Y, RfMatrix *Yv, int ycol)
{
	if (t->kind == RF_TARGET_CATEGORY)
	{
		ResolveTextClasses(t, Y, Yv, ycol);
		return;
	}
	if (t->kind == RF_TARGET_BOOL)
	{
		/* both classes exist for a boolean, seen or not: false, true */
		int			n;
		double	   *vals = DistinctValues(Y, Yv, ycol, 1, &n);	/* stops at both */

		t->nclasses = n == 1 ? 1 : 2;
		t->classes = palloc(sizeof(char *) * 2);
		if (n == 1)
			t->classes[0] = pstrdup(vals[0] > 0.5 ? "true" : "false");
		else
		{
			t->classes[0] = pstrdup("false");
			t->classes[1] = pstrdup("true");
		}
		if (n == 1)
			RemapColumn(Y, ycol, vals, 1), RemapColumn(Yv, ycol, vals, 1);
		return;
	}
	{
		int			n;
		double	   *vals = DistinctValues(Y, Yv, ycol, RF_MAX_CLASSES, &n);

		if (n > RF_MAX_CLASSES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("target column \"%s\" has more than %d distinct values", t->name, RF_MAX_CLASSES)));
		t->nclasses = n;
		t->classes = palloc(sizeof(char *) * Max(n, 1));
		for (int k = 0; k < n; k++)
			t->classes[k] = TargetNumberLabel(vals[k], t->typid);
		RemapColumn(Y, ycol, vals, n);
		RemapColumn(Yv, ycol, vals, n);
	}
}

static void
ClassWeights(RfTarget *t, RfOptions *opts, double ntrain)
{
	if (opts->balanced)
	{
		t->class_weight = palloc(sizeof(double) * t->nclasses);
		for (int k = 0; k < t->nclasses; k++)
			t->class_weight[k] = t->counts[k] > 0 ? ntrain / (t->nclasses * t->counts[k]) : 1.0;
	}
	else if (opts->class_weight)
	{
		JsonbIterator *it = JsonbIteratorInit(opts->class_weight);
		JsonbValue	v;
		JsonbIteratorToken tok;
		char	   *key = NULL;

		t->class_weight = palloc(sizeof(double) * t->nclasses);
		for (int k = 0; k < t->nclasses; k++)
			t->class_weight[k] = 1.0;
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			int			k;

			if (tok == WJB_KEY)
			{
				key = pnstrdup(v.val.string.val, v.val.string.len);
				continue;
			}
			if (tok != WJB_VALUE)
				continue;
			for (k = 0; k < t->nclasses; k++)
				if (strcmp(t->classes[k], key) == 0)
					break;
			if (k == t->nclasses)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"class_weight\" names \"%s\", which is not a class of target \"%s\"",
								key, t->name)));
			t->class_weight[k] = JsonValueNumber(&v);
		}
	}
}

void
TargetWarnFewExamples(RfTarget *t, const char *model)
{
	StringInfoData few;
	int			nfew = 0;

	initStringInfo(&few);
	for (int k = 0; k < t->nclasses; k++)
		if (t->counts[k] < RF_FEW_EXAMPLES)
		{
			if (nfew < 20)
				appendStringInfo(&few, "%s\"%s\" (%.0f)", nfew ? ", " : "", t->classes[k], t->counts[k]);
			nfew++;
		}
	if (nfew > 20)
		appendStringInfo(&few, " and %d more", nfew - 20);
	if (nfew > 0)
		ereport(WARNING,
				(errmsg("model \"%s\": %d of %d classes have fewer than %d training rows: %s",
						model, nfew, t->nclasses, RF_FEW_EXAMPLES, few.data),
				 errhint("Predictions for these classes will be unreliable; collect more rows, merge rare classes, or set \"class_weight\".")));
}

/* The bucket of v: how many edges are at or below it. */
int
TargetBinIndex(const double *edges, int nedges, double v)
{
	int			lo = 0;
	int			hi = nedges;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (edges[mid] <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * A cut point between below (exclusive) and at (inclusive) with as few
 * significant digits as possible: every training value falls on the same
 * side of it as of "at", and bucket names read 0.75 rather than
 * 0.74999999999999989.
 */
static double
ShortCut(double below, double at)
{
	for (int d = 1; d <= 17; d++)
	{
		char		buf[64];
		double		c;
		double		step;

		snprintf(buf, sizeof(buf), "%.*e", d - 1, at);
		c = strtod(buf, NULL);
		step = pow(10.0, floor(log10(fabs(at) > 0 ? fabs(at) : 1.0)) - d + 1);
		if (c > at)
		{
			snprintf(buf, sizeof(buf), "%.*e", d - 1, c - step);
			c = strtod(buf, NULL);
		}
		if (c > below && c <= at)
			return c;
	}
	return at;
}

/*
 * The edges of k quantile buckets of a target's training values: each cut
 * moved down to the shortest number above the value below it, equal cuts
 * (many ties) made one; *nedges receives how many.
 */
static double *
QuantileEdges(RfMatrix *Y, int ycol, int k, int *nedges)
{
	int64		n = 0;
	double	   *v = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(Y->nrows, 1));
	double	   *edges = palloc(sizeof(double) * k);

	for (int64 i = 0; i < Y->nrows; i++)
		if (!isnan(RfMatrixRow(Y, i)[ycol]))
			v[n++] = RfMatrixRow(Y, i)[ycol];
	qsort(v, n, sizeof(double), TargetDoubleCmp);
	*nedges = 0;
	for (int q = 1; q < k; q++)
	{
		int64		at = (int64) ((double) q * n / k);
		double		e = v[at];
		double		below = -get_float8_infinity();

		/* the largest value under the quantile bounds how far the cut may move */
		for (int64 j = at - 1; j >= 0; j--)
			if (v[j] < e)
			{
				below = v[j];
				break;
			}
		if (below > -get_float8_infinity())
			e = ShortCut(below, e);
		if (*nedges == 0 || e > edges[*nedges - 1])
			edges[(*nedges)++] = e;
	}
	pfree(v);
	return edges;
}

char	  **
TargetBinClasses(const double *edges, int nedges)
{
	char	  **classes = palloc(sizeof(char *) * (nedges + 1));

	for (int k = 0; k <= nedges; k++)
		classes[k] = psprintf("%s%s,%s)", k == 0 ? "(" : "[",
							  k == 0 ? "-Infinity" : float8out_internal(edges[k - 1]),
							  k == nedges ? "Infinity" : float8out_internal(edges[k]));
	return classes;
}

double
TargetBinValue(const double *edges, int nedges, int k, double count, double sum)
{
	if (count > 0)
		return sum / count;
	if (k == 0)
		return edges[0];
	if (k == nedges)
		return edges[nedges - 1];
	return (edges[k - 1] + edges[k]) / 2;
}

/*
 * A numeric target reframed as classes over buckets: the cut points given,
 * or its training values' quantiles; each bucket named by its interval, its
 * training rows counted, and its mean training value kept so that scores
 * can be expected values; the targets of Y and Yv become bucket numbers,
 * each row's value kept in bin_raw so that training metrics can include
 * the expected value's error.
 */
static void
ResolveBins(RfTarget *t, RfMatrix *Y, RfMatrix *Yv, int ycol, RfOptions *opts)
{
	int			nedges = opts->nbins;
	double	   *edges = opts->bin_quantiles > 0 ? QuantileEdges(Y, ycol, opts->bin_quantiles, &nedges) :
		opts->bin_edges;
	double	   *sum;
	RfMatrix   *ms[2] = {Y, Yv};

	t->nclasses = nedges + 1;
	t->classes = TargetBinClasses(edges, nedges);
	t->bin_edges = edges;
	t->bin_values = palloc0(sizeof(double) * t->nclasses);
	t->counts = palloc0(sizeof(double) * t->nclasses);
	sum = palloc0(sizeof(double) * t->nclasses);
	for (int s = 0; s < 2; s++)
	{
		t->bin_raw[s] = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(ms[s]->nrows, 1));
		for (int64 i = 0; i < ms[s]->nrows; i++)
		{
			double	   *y = RfMatrixRow(ms[s], i) + ycol;
			int			b;

			t->bin_raw[s][i] = *y;
			if (isnan(*y))
				continue;
			b = TargetBinIndex(edges, nedges, *y);
			if (s == 0)
			{
				sum[b] += *y;
				t->counts[b] += 1;
			}
			*y = b;
		}
	}
	for (int k = 0; k < t->nclasses; k++)
		t->bin_values[k] = TargetBinValue(edges, nedges, k, t->counts[k], sum[k]);
}

/* Whether a numeric target holds a value other than 0 and 1 (a soft label). */
static bool
HasSoftValues(RfMatrix *Y, RfMatrix *Yv, int ycol)
{
	RfMatrix   *ms[2] = {Y, Yv};

	for (int s = 0; s < 2; s++)
		for (int64 i = 0; i < ms[s]->nrows; i++)
		{
			double		v = RfMatrixRow(ms[s], i)[ycol];

			if (!isnan(v) && v != 0 && v != 1)
				return true;
		}
	return false;
}

/*
 * Soft labels: every value of a numeric target (the share of annotators
 * who said yes) must lie in [0, 1]; an error names the column and counts
 * the rows that do not.
 */
void
TargetCheckShares(RfTarget *t, RfMatrix *Y, RfMatrix *Yv, int ycol)
{
	RfMatrix   *ms[2] = {Y, Yv};
	int64		bad = 0;
	double		example = 0;

	for (int s = 0; s < 2; s++)
		for (int64 i = 0; i < ms[s]->nrows; i++)
		{
			double		v = RfMatrixRow(ms[s], i)[ycol];

			if (!isnan(v) && !(v >= 0 && v <= 1))
				example = bad++ ? example : v;
		}
	if (bad > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("target column \"%s\" has %lld rows outside [0, 1] (such as %g), so it cannot be a soft label",
						t->name, (long long) bad, example),
				 errhint("A soft label is the share of annotators who gave the label; for a number to predict, use task => 'regression'.")));
}

/*
 * A binary head on soft labels: the classes are 0 and 1, each row's target
 * its share of 1, trained by the cross-entropy against it.  Class counts
 * are the shares summed.
 */
static void
ResolveSoftBinary(RfTarget *t, RfMatrix *Y, RfMatrix *Yv, int ycol, RfOptions *opts)
{
	TargetCheckShares(t, Y, Yv, ycol);
	if (opts->balanced || opts->class_weight)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"class_weight\" needs hard labels, but target column \"%s\" holds shares", t->name),
				 errhint("Weigh rows with \"weight\" instead.")));
	t->soft = true;
	t->nclasses = 2;
	t->classes = palloc(sizeof(char *) * 2);
	t->classes[0] = TargetNumberLabel(0, t->typid);
	t->classes[1] = TargetNumberLabel(1, t->typid);
	t->counts = palloc0(sizeof(double) * 2);
	for (int64 i = 0; i < Y->nrows; i++)
	{
		double		v = RfMatrixRow(Y, i)[ycol];

		if (!isnan(v))
			t->counts[0] += 1 - v, t->counts[1] += v;
	}
}

/*
 * A target of shares (see TrainPlanShares): a multiclass head over a
 * distribution per row, or a multilabel head of each label's share.  The
 * class counts are the shares summed.
 */
void
TargetResolveShares(RfTarget *t, RfMatrix *Y, RfOptions *opts)
{
	if (opts->balanced || opts->class_weight)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"class_weight\" needs hard labels, but target column \"%s\" holds shares", t->name),
				 errhint("Weigh rows with \"weight\" instead.")));
	if (opts->nbins > 0 || opts->bin_quantiles > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"bins\" needs a numeric target, but \"%s\" holds shares", t->name)));
	t->head = t->soft ? RF_HEAD_MULTICLASS : RF_HEAD_MULTILABEL;
	t->counts = palloc0(sizeof(double) * t->nclasses);
	for (int64 i = 0; i < Y->nrows; i++)
		for (int k = 0; k < t->nclasses; k++)
		{
			double		v = RfMatrixRow(Y, i)[t->ycol + k];

			if (!isnan(v))
				t->counts[k] += v;
		}
}

void
TargetCheckClasses(const RfTarget *t, const double *counts)
{
	int			filled = 0;
	int			first = -1;

	for (int k = 0; k < t->nclasses; k++)
		if (counts == NULL || counts[k] > 0)
		{
			filled++;
			first = first < 0 ? k : first;
		}
	if (t->head == RF_HEAD_BINARY && t->nclasses > 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" has %d classes, so it cannot be a binary target",
						t->name, t->nclasses),
				 errhint("Use task => 'multiclass'.")));
	if (filled >= (t->head == RF_HEAD_MULTILABEL ? 1 : 2))
		return;
	if (t->bin_edges)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("every training value of target column \"%s\" falls into one bucket", t->name),
				 errhint("Choose cut points inside the range of the target, or use {\"quantiles\": k}.")));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("target column \"%s\" has only one class, \"%s\"", t->name,
					first >= 0 && t->classes ? t->classes[first] : ""),
			 errdetail("A classifier needs rows of at least two classes.")));
}

const char *
TargetInferTask(const RfTarget *t, const double *values, int n)
{
	if (t->kind == RF_TARGET_BOOL)
		return "binary";
	if (t->kind == RF_TARGET_CATEGORY)
		return "multiclass";
	if (!TargetIsInteger(t))
		return "regression";
	/* 0 and 1 are a yes/no target: binary, with a threshold and ROC AUC */
	return n == 2 && values[0] == 0 && values[1] == 1 ? "binary" :
		n <= RF_MAX_INFERRED_CLASSES ? "multiclass" : "regression";
}

void
TargetNoticeTask(const RfTarget *t, const char *task)
{
	ereport(NOTICE,
			(errmsg("training a %s model: target column \"%s\" is %s%s",
					task, t->name, format_type_be(t->typid),
					strcmp(task, "multiclass") == 0 && t->kind == RF_TARGET_NUMBER ?
					psprintf(" with at most %d distinct values", RF_MAX_INFERRED_CLASSES) :
					strcmp(task, "binary") == 0 && t->kind == RF_TARGET_NUMBER ? " of 0 and 1" : ""),
			 errhint("Pass task => '...' to frame it differently.")));
}

/* A numeric target framed as buckets ("bins"): its classes, counts and weights. */
static void
ResolveBinsTarget(RfTarget *t, const char *task, RfMatrix *Y, RfMatrix *Yv, int ycol,
				  RfOptions *opts, const char *model)
{
	bool		inferred = task == NULL;

	if (t->kind != RF_TARGET_NUMBER)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("option \"bins\" needs a numeric target, but \"%s\" is %s",
						t->name, format_type_be(t->typid))));
	if (task && strcmp(task, "multiclass") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"bins\" frames target \"%s\" as classes, not as %s", t->name, task),
				 errhint("Leave the task NULL, or use task => 'multiclass'.")));
	t->head = RF_HEAD_MULTICLASS;
	ResolveBins(t, Y, Yv, ycol, opts);
	if (inferred)
		ereport(NOTICE,
				(errmsg("training a multiclass model over %d buckets of target column \"%s\"",
						t->nclasses, t->name),
				 errhint("reframe.score gives the expected value, reframe.predict the bucket.")));
	TargetCheckClasses(t, t->counts);
	ClassWeights(t, opts, (double) Y->nrows);
	TargetWarnFewExamples(t, model);
}

/* A regression target: its weighted mean and standard deviation (West's update). */
static void
ResolveRegression(RfTarget *t, RfMatrix *Y, int ycol)
{
	double		n = 0;
	double		mean = 0;
	double		m2 = 0;

	/* weighted (West's update): a row of weight 2 counts as two rows */
	for (int64 i = 0; i < Y->nrows; i++)
	{
		double		v = RfMatrixRow(Y, i)[ycol];
		double		w = t->wcol >= 0 ? RfMatrixRow(Y, i)[t->wcol] : 1.0;
		double		delta;

		if (isnan(v) || w <= 0)
			continue;
		delta = v - mean;
		n += w;
		mean += w * delta / n;
		m2 += w * delta * (v - mean);
	}
	t->mean = mean;
	t->sd = n > 0 && m2 > 0 ? sqrt(m2 / n) : 1.0;
}

void
TargetResolve(RfTarget *t, const char *task, RfMatrix *Y, RfMatrix *Yv, int ycol,
			  RfOptions *opts, const char *model)
{
	if (opts->nbins > 0 || opts->bin_quantiles > 0)
	{
		ResolveBinsTarget(t, task, Y, Yv, ycol, opts, model);
		return;
	}
	if (task == NULL)
	{
		int			n = 0;
		double	   *v = TargetIsInteger(t) ? DistinctValues(Y, Yv, ycol, RF_MAX_INFERRED_CLASSES, &n) : NULL;

		task = TargetInferTask(t, v, n);
		TargetNoticeTask(t, task);
	}

	if (strcmp(task, "regression") == 0)
	{
		if (t->kind != RF_TARGET_NUMBER)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("target column \"%s\" has type %s, which cannot be a regression target",
							t->name, format_type_be(t->typid)),
					 errhint("A regression target must be numeric; cast it in a SELECT.")));
		t->head = RF_HEAD_REGRESSION;
		ResolveRegression(t, Y, ycol);
		return;
	}

	t->head = strcmp(task, "binary") == 0 ? RF_HEAD_BINARY : RF_HEAD_MULTICLASS;
	if (t->head == RF_HEAD_BINARY && t->kind == RF_TARGET_NUMBER && HasSoftValues(Y, Yv, ycol))
	{
		ResolveSoftBinary(t, Y, Yv, ycol, opts);
		return;
	}
	ResolveClasses(t, Y, Yv, ycol);
	TargetCheckClasses(t, NULL);
	t->counts = palloc0(sizeof(double) * t->nclasses);
	for (int64 i = 0; i < Y->nrows; i++)
	{
		double		v = RfMatrixRow(Y, i)[ycol];

		if (!isnan(v))
			t->counts[(int) v] += 1;
	}
	ClassWeights(t, opts, (double) Y->nrows);
	TargetWarnFewExamples(t, model);
}

void
TargetHead(const RfTarget *tg, int index, RfLoss regression_loss, RfHead *head)
{
	head->name = tg->name;
	head->kind = tg->head;
	head->ycol = tg->ycol;
	head->weight = 1.0;
	head->threshold = 0.5;
	head->parent = -1;
	switch (tg->head)
	{
		case RF_HEAD_REGRESSION:
			head->nout = 1;
			head->loss = regression_loss;
			return;
		case RF_HEAD_BINARY:
			head->nout = 1;
			head->loss = RF_LOSS_LOG;
			break;
		case RF_HEAD_MULTILABEL:
			/* a label-set target among several: one logistic output per label */
			head->nout = tg->nclasses;
			head->loss = RF_LOSS_LOG;
			break;
		case RF_HEAD_MULTICLASS:
			head->nout = tg->nclasses;
			head->loss = RF_LOSS_CROSS_ENTROPY;
			head->soft = tg->soft;	/* a distribution per row */
			break;
	}
	head->nclasses = tg->nclasses;
	head->classes = tg->classes;
	head->bin_edges = tg->bin_edges;
	head->bin_values = tg->bin_values;
	if (tg->parent_of)
		HeadSetParents(head, index - 1, tg->nparents, tg->parent_of);
}

void
TargetLabelsHead(const char *name, int nlabels, char **labels, RfHead *head)
{
	head->name = pstrdup(name);
	head->kind = RF_HEAD_MULTILABEL;
	head->loss = RF_LOSS_LOG;
	head->ycol = 0;
	head->nout = nlabels;
	head->weight = 1.0;
	head->threshold = 0.5;
	head->nclasses = nlabels;
	head->classes = labels;
	head->parent = -1;
}
