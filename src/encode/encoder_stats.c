/*
 * encoder_stats.c
 *		The statistics a training's encoder is fitted from.
 *
 * Per raw input and split set: the weight of its non-missing values, their
 * sum and sum of squares, shifted by the first value seen (the "shifted
 * data" variance algorithm, accurate for data far from zero), and the
 * weight of its missing values; per category, the weight of each value.
 *
 * Once the rows are stored and put in their canonical order (row_order.c),
 * each row fixes the origins (the first value of each input) and counts
 * its categories.  The numeric sums are then taken from the stored
 * single-precision values (the very values the model will be fitted on,
 * less the origin), a chunk at a
 * time on reframe.threads threads, each chunk into sums of its own, added
 * up in chunk order: the same figures whatever the number of threads.
 * This file is compiled with -ffp-contract=off, so that the AVX2 clone of
 * the sums rounds as the plain one does.
 */
#include "postgres.h"

#include <math.h>

#include "utils/float.h"
#include "utils/memutils.h"

#include "reframe.h"
#include "encoder.h"
#include "threads.h"

void
EncoderStatsInit(RfEncoder *enc)
{
	int			R = enc->nraw;
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(enc));

	enc->has_category = EncoderHasCategory(enc);
	enc->origin = palloc(sizeof(double) * R);
	for (int r = 0; r < R; r++)
		enc->origin[r] = get_float8_nan();
	enc->unset_origins = R;
	for (int set = 0; set < 2; set++)
	{
		enc->n[set] = palloc0(sizeof(double) * R);
		enc->sum[set] = palloc0(sizeof(double) * R);
		enc->sumsq[set] = palloc0(sizeof(double) * R);
		enc->missing[set] = palloc0(sizeof(double) * R);
	}
	MemoryContextSwitchTo(old);
}

/* The first value seen of each input becomes the origin of its shifted sums. */
static void
SetOrigins(RfEncoder *enc, const double *raw)
{
	enc->unset_origins = 0;
	for (int r = 0; r < enc->nraw; r++)
	{
		if (isnan(enc->origin[r]))
			enc->origin[r] = raw[r];
		if (isnan(enc->origin[r]))
			enc->unset_origins++;
	}
}

/* Adds w to the count of category code v of col in set, growing the counts. */
static void
CountCategory(RfEncoder *enc, RfEncColumn *col, int set, double v, double w)
{
	if ((int) v >= col->ncounts)
	{
		int			grow = Max(64, col->ncounts * 2);

		while (grow <= (int) v)
			grow *= 2;
		for (int s = 0; s < 2; s++)
		{
			double	   *bigger = MemoryContextAllocZero(GetMemoryChunkContext(enc),
														sizeof(double) * grow);

			if (col->counts[s])
				memcpy(bigger, col->counts[s], sizeof(double) * col->ncounts);
			col->counts[s] = bigger;
		}
		col->ncounts = grow;
	}
	col->counts[set][(int) v] += w;
}

/*
 * A stored raw row of split set `set` with weight w, in the rows' canonical
 * order: the first fixes the origins, its categories are counted, its
 * numbers wait for EncoderStatsFromRows.
 */
void
EncoderNoteRow(RfEncoder *enc, const double *raw, int set, double w)
{
	if (enc->origin == NULL)
		EncoderStatsInit(enc);
	if (unlikely(enc->unset_origins > 0))
		SetOrigins(enc, raw);
	if (!enc->has_category)
		return;
	for (int c = 0; c < enc->ncols; c++)
	{
		RfEncColumn *col = &enc->cols[c];
		double		v = raw[col->raw];

		/* a missing one is counted with the numbers' */
		if (col->kind == RF_CATEGORY && !isnan(v))
			CountCategory(enc, col, set, v, w);
	}
}

/*
 * Per chunk: its sums, R values each (n, sum, sumsq, missing), stride
 * doubles apart: in cache lines of their own, or two threads summing
 * neighbouring chunks of a narrow table would pass lines back and forth.
 */
typedef struct StatsPass
{
	const RfMatrix *stored;
	const RfMatrix *Y;
	int			wcol;
	int			R;
	double	   *origin;			/* each input's origin, 0 for one never seen */
	double	   *part;
	Size		stride;
} StatsPass;

/*
 * Rows of weight 1, four at a time (a quarter of the read-modify-writes of
 * the sums); returns false, the sums spoilt, if a value is missing (a NaN
 * makes its sums NaN).
 */
RF_CLONES
static bool
SumsUnweighted(int rows, int R, const float *restrict x, const double *restrict o,
			   double *restrict sum, double *restrict sumsq)
{
	int			i = 0;

	for (; i + 4 <= rows; i += 4)
	{
		const float *a = x + (Size) i * R;

		for (int r = 0; r < R; r++)
		{
			double		d0 = a[r] - o[r],
						d1 = a[R + r] - o[r],
						d2 = a[2 * R + r] - o[r],
						d3 = a[3 * R + r] - o[r];

			sum[r] += (d0 + d1) + (d2 + d3);
			sumsq[r] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
		}
	}
	for (; i < rows; i++)
		for (int r = 0; r < R; r++)
		{
			double		d = x[(Size) i * R + r] - o[r];

			sum[r] += d;
			sumsq[r] += d * d;
		}
	for (int r = 0; r < R; r++)
		if (isnan(sum[r]))
			return false;
	return true;
}

/* One row of any weight, missing values and all. */
RF_CLONES
static void
SumsRow(int R, const float *restrict x, const double *restrict o, double w, double *restrict n,
		double *restrict sum, double *restrict sumsq, double *restrict missing)
{
	for (int r = 0; r < R; r++)
	{
		double		v = x[r];
		int			ok = !isunordered(v, v);
		double		d = ok ? v - o[r] : 0.0;

		n[r] += ok ? w : 0.0;
		sum[r] += w * d;
		sumsq[r] += w * d * d;
		missing[r] += ok ? 0.0 : w;
	}
}

static void
StatsChunk(void *arg, int c, int thread)
{
	StatsPass  *p = arg;
	int			R = p->R;
	int			rows = RfChunkRows(p->stored, c);
	const float *x = RfChunkF(p->stored, c);
	double	   *n = p->part + p->stride * c;
	double	   *sum = n + R;
	double	   *sumsq = sum + R;
	double	   *missing = sumsq + R;

	if (p->wcol < 0 && SumsUnweighted(rows, R, x, p->origin, sum, sumsq))
	{
		for (int r = 0; r < R; r++)
			n[r] = rows;
		ReframeYield();
		return;
	}
	memset(n, 0, sizeof(double) * 4 * R);
	for (int i = 0; i < rows; i++)
	{
		double		w = p->wcol >= 0 ? RfChunkD(p->Y, c)[(Size) i * p->Y->ncols + p->wcol] : 1.0;

		SumsRow(R, x + (Size) i * R, p->origin, w, n, sum, sumsq, missing);
		if ((i & 1023) == 0)
			ReframeYield();
	}
}

/*
 * Values are stored in single precision: one beyond its range (about
 * 3.4e38) was stored as infinity.
 */
static void
StatsCheckRange(const RfEncoder *enc, int set)
{
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];

		for (int r = col->raw; r < col->raw + col->length; r++)
			if (!isfinite(enc->sum[set][r]) || !isfinite(enc->sumsq[set][r]))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("feature column \"%s\" has values out of range for training", col->name),
						 errdetail("Training stores features in single precision: values must lie within about 3.4e38 of zero."),
						 errhint("Rescale the column, e.g. with log() or by dividing it by a constant.")));
	}
}

/*
 * The numeric sums of split set `set` from its stored rows (EncoderStoreRaw),
 * relative to the origins, and their targets Y (whose column wcol, if not
 * -1, is each row's weight).  Category inputs (stored as their codes) get
 * sums too, of which only their missing weight is read.
 */
void
EncoderStatsFromRows(RfEncoder *enc, const RfMatrix *stored, const RfMatrix *Y, int wcol, int set)
{
	StatsPass	p = {.stored = stored,.Y = Y,.wcol = wcol,.R = enc->nraw};
	int			R = enc->nraw;

	if (enc->origin == NULL)
		EncoderStatsInit(enc);
	if (stored == NULL || stored->nrows == 0 || R == 0)
		return;
	Assert(stored->ncols == R && Y->nrows == stored->nrows);
	p.origin = palloc(sizeof(double) * R);
	for (int r = 0; r < R; r++)
		p.origin[r] = isnan(enc->origin[r]) ? 0.0 : enc->origin[r];
	p.stride = TYPEALIGN(64, sizeof(double) * 4 * R) / sizeof(double);
	p.part = RfAllocAligned(sizeof(double) * p.stride * stored->nchunks);
	memset(p.part, 0, sizeof(double) * p.stride * stored->nchunks);
	RfParallelFor(stored->nchunks, RfTrainThreads(), StatsChunk, &p);
	for (int c = 0; c < stored->nchunks; c++)
	{
		const double *part = p.part + p.stride * c;

		for (int r = 0; r < R; r++)
		{
			enc->n[set][r] += part[r];
			enc->sum[set][r] += part[R + r];
			enc->sumsq[set][r] += part[2 * R + r];
			enc->missing[set][r] += part[3 * R + r];
		}
	}
	StatsCheckRange(enc, set);
}
