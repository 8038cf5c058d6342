/*
 * metric_kernels.c
 *		The metrics' arithmetic, apart from SQL: the log loss, exact ROC AUC
 *		(a radix sort of the scores, ties counting one half), NDCG with
 *		ties sharing their ranks' discounts, and the {score, label}
 *		comparators.  The aggregates (apply/metric_aggregates.c) and
 *		training's evaluation (evaluate.c) both call them.
 */
#include "postgres.h"

#include <math.h>

#include "utils/float.h"

#include "matrix.h"
#include "metrics.h"

double
ReframeLogLoss(double p, bool y)
{
	p = Min(Max(p, PROB_EPS), 1.0 - PROB_EPS);
	return y ? -log(p) : -log1p(-p);
}

/*
 * Maps a double to an unsigned key with the same order (PostgreSQL's: NaN
 * above everything), so that pairs sort by an LSD radix sort in O(n).
 */
static inline uint64
SortKey(double v)
{
	uint64		bits;

	if (isnan(v))
		v = get_float8_nan();	/* one canonical, positive NaN */
	if (v == 0)
		v = 0.0;				/* -0 and +0 are one score */
	memcpy(&bits, &v, sizeof(bits));
	return (bits & UINT64CONST(0x8000000000000000)) ? ~bits : bits | UINT64CONST(0x8000000000000000);
}

#define RADIX_BITS 11
#define RADIX_BUCKETS (1 << RADIX_BITS)
#define RADIX_PASSES ((64 + RADIX_BITS - 1) / RADIX_BITS)

/*
 * Sorts n keys: stable passes of 11-bit digits (few enough buckets for
 * their write positions to stay in cache), skipping any digit every key
 * shares — a probability's sign and most of its exponent.  tmp has room
 * for n keys.
 */
static void
RadixSort(uint64 *a, uint64 *tmp, int64 n)
{
	int64	   *count = palloc0(sizeof(int64) * RADIX_PASSES * RADIX_BUCKETS);
	uint64	   *src = a;
	uint64	   *dst = tmp;

	for (int64 i = 0; i < n; i++)
		for (int d = 0; d < RADIX_PASSES; d++)
			count[d * RADIX_BUCKETS + ((a[i] >> (RADIX_BITS * d)) & (RADIX_BUCKETS - 1))]++;
	for (int d = 0; d < RADIX_PASSES && n > 0; d++)
	{
		int64	   *c = count + d * RADIX_BUCKETS;
		int64		pos = 0;
		uint64	   *swap;

		if (c[(src[0] >> (RADIX_BITS * d)) & (RADIX_BUCKETS - 1)] == n)
			continue;			/* one digit for all: this pass would move nothing */
		for (int b = 0; b < RADIX_BUCKETS; b++)
		{
			int64		k = c[b];

			c[b] = pos;
			pos += k;
		}
		for (int64 i = 0; i < n; i++)
			dst[c[(src[i] >> (RADIX_BITS * d)) & (RADIX_BUCKETS - 1)]++] = src[i];
		swap = src;
		src = dst;
		dst = swap;
	}
	if (src != a)
		memcpy(a, src, sizeof(uint64) * n);
	pfree(count);
}

/* How many of the sorted keys k[*i ..] equal key; moves *i past them. */
static inline double
CountEqual(const uint64 *k, int64 n, int64 *i, uint64 key)
{
	int64		from = *i;

	while (*i < n && k[*i] == key)
		(*i)++;
	return (double) (*i - from);
}

/*
 * Exact area under the ROC curve: the Mann-Whitney U statistic divided by
 * P * N, a positive and a negative with the same score counting one half.
 * The positives' and the negatives' score keys are sorted apart (8 bytes a
 * row, not a key and a label in 16) and walked together, one distinct score
 * at a time.  NaN without both classes.
 */
double
ReframeRocAuc(const double *scores, const double *labels, int64 n)
{
	RfMapped   *mkeys;
	RfMapped   *mtmp;
	uint64	   *keys = RfAllocLarge(sizeof(uint64) * Max(n, 1), &mkeys);
	uint64	   *tmp = RfAllocLarge(sizeof(uint64) * Max(n, 1), &mtmp);
	int64		npos = 0;
	int64		nneg = 0;
	uint64	   *pos;
	uint64	   *neg;
	int64		i = 0;
	int64		j = 0;
	double		negatives_below = 0;
	double		u = 0;

	/* positives from the front, negatives from the back */
	for (int64 k = 0; k < n; k++)
	{
		if (labels[k] > 0.5)
			keys[npos++] = SortKey(scores[k]);
		else
			keys[n - 1 - nneg++] = SortKey(scores[k]);
	}
	pos = keys;
	neg = keys + npos;
	RadixSort(pos, tmp, npos);
	RadixSort(neg, tmp, nneg);
	while (i < npos || j < nneg)
	{
		uint64		key = j >= nneg || (i < npos && pos[i] < neg[j]) ? pos[i] : neg[j];
		double		p = CountEqual(pos, npos, &i, key);
		double		q = CountEqual(neg, nneg, &j, key);

		u += p * negatives_below + 0.5 * p * q;
		negatives_below += q;
	}
	RfFreeLarge(tmp, mtmp);
	RfFreeLarge(keys, mkeys);
	if (npos == 0 || nneg == 0)
		return get_float8_nan();
	return u / ((double) npos * (double) nneg);
}

int
RfScoredByScoreDesc(const void *a, const void *b)
{
	double		x = ((const RfScored *) a)->score;
	double		y = ((const RfScored *) b)->score;

	return (x < y) - (x > y);
}

int
RfScoredByLabelDesc(const void *a, const void *b)
{
	double		x = ((const RfScored *) a)->label;
	double		y = ((const RfScored *) b)->label;

	return (x < y) - (x > y);
}

/*
 * Normalized discounted cumulative gain at k with linear gains,
 * sum rel_i / log2(i + 1) over the top k ranks, divided by the same for the
 * ideal order.  Rows with tied scores share the average of their ranks'
 * discounts (the expected DCG over the orders of the tie).  NaN when the
 * ideal DCG is 0.
 */
double
ReframeNdcg(const double *scores, const double *relevance, int64 n, int64 k)
{
	RfScored    *p = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(RfScored) * Max(n, 1));
	double		dcg = 0;
	double		idcg = 0;
	int64		i = 0;

	for (int64 j = 0; j < n; j++)
	{
		p[j].score = scores[j];
		p[j].label = relevance[j];
	}
	qsort(p, n, sizeof(RfScored), RfScoredByScoreDesc);
	while (i < n && i < k)
	{
		int64		j = i;
		double		gain = 0;
		double		disc = 0;

		while (j < n && p[j].score == p[i].score)
			gain += p[j++].label;
		for (int64 r = i; r < j && r < k; r++)
			disc += 1.0 / log2((double) r + 2.0);
		dcg += gain * disc / (double) (j - i);
		i = j;
	}
	qsort(p, n, sizeof(RfScored), RfScoredByLabelDesc);
	for (int64 r = 0; r < n && r < k; r++)
		idcg += p[r].label / log2((double) r + 2.0);
	pfree(p);
	if (idcg == 0)
		return get_float8_nan();
	return dcg / idcg;
}
