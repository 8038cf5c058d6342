/*
 * reference.c
 *		The reference distributions a version keeps for reframe.drift,
 *		measured on its own training rows.
 *
 * Once the rows are in their canonical order (row_order.c), an evenly
 * spaced sample of up to REF_ROWS of them is a uniform, deterministic
 * sample of the source: it is copied aside before the rows are encoded.
 * When the version is stored, each numeric input gets its deciles as bin
 * edges, each category or boolean input its (up to REF_CATEGORIES most
 * frequent) categories, a single binary or regression head the deciles of
 * its score, and each of them the shares of every bin and of the missing
 * values over the sample: the counts reframe.bin_counts and
 * reframe.category_counts make of the same rows, so that a version's
 * drift against its own source is nil.
 *
 * The rows are stored as single-precision numbers (EncoderStoreRaw), and
 * a score computed here in single precision differs from reframe.score's
 * in its last digits: so each edge lies halfway between a decile and the
 * next smaller value of the sample, where a source's value (or a row scored
 * again) falls on the same side as the sample's rounding of it.
 *
 * Sources read by aggregate passes keep no rows: reframe.drift_reference
 * measures theirs in SQL (version.c).
 */
#include "postgres.h"

#include <math.h>

#include "jsonutil.h"
#include "targets.h"
#include "train_steps.h"

/* Rows the reference is measured on: about 30,000 tell a share within 0.003. */
#define REF_ROWS 30000
/* Categories kept by name; the others share one bin. */
#define REF_CATEGORIES 30
/* Deciles: nine edges at most. */
#define REF_QUANTILES 9

/*
 * Copies an evenly spaced sample of the stored rows (training, then
 * validation, in their canonical order) for the reference.
 */
void
TrainKeepReferenceRows(RfTrainState *ts)
{
	int64		n0 = ts->raw->nrows;
	int64		n = n0 + ts->rawv->nrows;
	int64		m = Min(n, REF_ROWS);

	ts->refrows = RfMatrixCreate(ts->raw->ncols, sizeof(float), &ts->budget);
	for (int64 j = 0; j < m; j++)
	{
		int64		i = (int64) ((double) j * n / m);
		const float *row = i < n0 ? RfMatrixRowF(ts->raw, i) : RfMatrixRowF(ts->rawv, i - n0);

		memcpy(RfMatrixAppendRowF(ts->refrows), row, sizeof(float) * ts->raw->ncols);
	}
}

static int
DoubleCmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* The position of the decile q (1 .. 9) in n sorted values: percentile_disc's. */
static int64
DecileIndex(int q, int64 n)
{
	int64		rownum = (int64) ceil(q / 10.0 * n);

	return Max(rownum, 1) - 1;
}

/* A bin's count over the total, as a share. */
static void
AppendShares(StringInfo buf, const double *counts, int nbins, int64 total)
{
	appendStringInfoString(buf, ", \"shares\": [");
	for (int b = 0; b < nbins; b++)
	{
		if (b)
			appendStringInfoString(buf, ", ");
		JsonAppendNumber(buf, counts[b] / Max(total, 1));
	}
	appendStringInfoChar(buf, ']');
}

/*
 * The deciles of n sorted values as bin edges, each moved down halfway to
 * the next smaller value (a decile that is the smallest value bounds an
 * empty bin: none), into edges (room for REF_QUANTILES); returns how many.
 */
static int
DecileEdges(const double *sorted, int64 n, double *edges)
{
	int			k = 0;

	for (int q = 1; q <= REF_QUANTILES && n > 0; q++)
	{
		int64		i = DecileIndex(q, n);
		double		d = sorted[i];
		double		e;

		while (i > 0 && sorted[i - 1] == d)
			i--;
		if (i == 0)
			continue;
		e = sorted[i - 1] + (d - sorted[i - 1]) / 2;
		if (k == 0 || e > edges[k - 1])
			edges[k++] = e;
	}
	return k;
}

/* The edges and the shares of their bins (then of the missing values: NaN) over n values. */
static void
AppendBins(StringInfo buf, const double *values, int64 n)
{
	double	   *sorted = palloc(sizeof(double) * Max(n, 1));
	int64		nv = 0;
	double		edges[REF_QUANTILES];
	double		counts[REF_QUANTILES + 2] = {0};
	int			k;

	for (int64 i = 0; i < n; i++)
		if (!isnan(values[i]))
			sorted[nv++] = values[i];
	qsort(sorted, nv, sizeof(double), DoubleCmp);
	k = DecileEdges(sorted, nv, edges);
	appendStringInfoString(buf, ", \"edges\": [");
	for (int b = 0; b < k; b++)
	{
		if (b)
			appendStringInfoString(buf, ", ");
		JsonAppendNumber(buf, edges[b]);
	}
	appendStringInfoChar(buf, ']');
	for (int64 i = 0; i < n; i++)
		counts[isnan(values[i]) ? k + 1 : TargetBinIndex(edges, k, values[i])] += 1;
	AppendShares(buf, counts, k + 2, n);
	pfree(sorted);
}

/* A numeric input: its deciles over the sample, and the shares of their bins. */
static void
NumericReference(const RfMatrix *rows, int r, StringInfo buf)
{
	double	   *v = palloc(sizeof(double) * Max(rows->nrows, 1));

	for (int64 i = 0; i < rows->nrows; i++)
		v[i] = RfMatrixRowF(rows, i)[r];
	appendStringInfoString(buf, ", \"kind\": \"numeric\"");
	AppendBins(buf, v, rows->nrows);
	pfree(v);
}

/*
 * A category or boolean input: its first categories (the vocabulary's,
 * most frequent first), then one bin for the others and one for the
 * missing values.  Rows hold a category's training code.
 */
static void
CategoryReference(const RfEncColumn *col, const RfMatrix *rows, StringInfo buf)
{
	bool		boolean = col->kind == RF_BOOLEAN;
	int			ncat = boolean ? 2 : col->nbuckets > 0 ? 0 : Min(col->nvocab, REF_CATEGORIES);
	double	   *counts = palloc0(sizeof(double) * (ncat + 2));

	appendStringInfoString(buf, ", \"kind\": \"category\", \"categories\": [");
	for (int b = 0; b < ncat; b++)
	{
		if (b)
			appendStringInfoString(buf, ", ");
		JsonAppendString(buf, boolean ? (b ? "true" : "false") : col->vocab[b]);
	}
	appendStringInfoChar(buf, ']');
	for (int64 i = 0; i < rows->nrows; i++)
	{
		float		x = RfMatrixRowF(rows, i)[col->raw];
		int			bin;

		if (isnan(x))
			bin = ncat + 1;
		else if (boolean)
			bin = x != 0;
		else
		{
			int			pos = ncat > 0 ? col->remap[(int) x] : -1;

			bin = pos >= 0 && pos < ncat ? pos : ncat;
		}
		counts[bin] += 1;
	}
	AppendShares(buf, counts, ncat + 2, rows->nrows);
	pfree(counts);
}

/* The linked score of a single binary or regression head, per sample row. */
typedef struct ScoreArg
{
	const RfTrunk *trunk;
	double	   *scores;
	double	   *z;
} ScoreArg;

static void
ScoreChunk(void *arg, int c, int rows, const float *out)
{
	ScoreArg   *a = arg;
	const RfTrunk *t = a->trunk;

	for (int i = 0; i < rows; i++)
	{
		for (int o = 0; o < t->nout; o++)
			a->z[o] = out[(Size) i * t->nout + o];
		HeadsLink(t->heads, t->nheads, a->z);
		a->scores[(int64) c * RF_CHUNK_ROWS + i] = a->z[t->heads[0].offset];
	}
}

/* The score of a single binary or regression head: its deciles, and the shares of their bins. */
static void
ScoreReference(RfTrainState *ts, RfMatrix *rows, StringInfo buf)
{
	RfMatrix   *X = EncoderApply(ts->enc, rows);
	ScoreArg	a = {ts->trunk, palloc(sizeof(double) * Max(X->nrows, 1)), palloc(sizeof(double) * ts->trunk->nout)};

	TrunkForwardMatrix(ts->trunk, X, ScoreChunk, &a);
	appendStringInfoString(buf, ", \"score\": {\"name\": \"score\", \"kind\": \"score\"");
	AppendBins(buf, a.scores, X->nrows);
	appendStringInfoChar(buf, '}');
}

/*
 * The reference as the spec keeps it: {"rows", "columns": [...], "score"},
 * or NULL when no rows were kept for it.
 */
char *
TrainReferenceJson(RfTrainState *ts)
{
	const RfEncoder *enc = ts->enc;
	const RfTrunk *t = ts->trunk;
	StringInfoData buf;
	bool		first = true;

	if (ts->refrows == NULL)
		return NULL;
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"rows\": %lld, \"columns\": [", (long long) ts->refrows->nrows);
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];

		if (col->kind != RF_NUMERIC && col->kind != RF_BOOLEAN && col->kind != RF_CATEGORY)
			continue;			/* arrays and times have no reference */
		appendStringInfoString(&buf, first ? "{\"name\": " : ", {\"name\": ");
		JsonAppendString(&buf, col->name);
		if (col->kind == RF_NUMERIC)
			NumericReference(ts->refrows, col->raw, &buf);
		else
			CategoryReference(col, ts->refrows, &buf);
		appendStringInfoChar(&buf, '}');
		first = false;
	}
	appendStringInfoChar(&buf, ']');
	if (t->nheads == 1 && !t->heads[0].bin_values &&
		(t->heads[0].kind == RF_HEAD_BINARY || t->heads[0].kind == RF_HEAD_REGRESSION))
		ScoreReference(ts, ts->refrows, &buf);
	appendStringInfoChar(&buf, '}');
	ts->refrows = NULL;			/* encoded in place by ScoreReference */
	return buf.data;
}
