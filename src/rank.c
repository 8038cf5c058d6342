/*
 * rank.c
 *		LambdaRank gradients of NDCG (Burges, "From RankNet to LambdaRank to
 *		LambdaMART", 2010): for every pair of rows of a query whose
 *		relevances differ, the pairwise logistic loss's gradient weighted by
 *		how much swapping the pair would change the query's NDCG.  Gains are
 *		the relevances themselves, as in reframe.ndcg.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "reframe.h"
#include "rank.h"

typedef struct GroupRow
{
	double		group;
	int64		row;
} GroupRow;

static int
GroupRowCmp(const void *a, const void *b)
{
	const GroupRow *x = a;
	const GroupRow *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

static int
DoubleDesc(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x > y ? -1 : x < y;
}

RfRankGroups *
RankGroups(const RfMatrix *Y, int ycol, int gcol)
{
	RfRankGroups *g = palloc0(sizeof(RfRankGroups));
	GroupRow   *gr = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(GroupRow) * Max(Y->nrows, 1));
	double	   *sorted = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(Y->nrows, 1));
	int64		n = 0;

	g->rel = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(Y->nrows, 1));
	for (int64 i = 0; i < Y->nrows; i++)
	{
		const double *y = RfMatrixRow(Y, i);

		g->rel[i] = y[ycol];
		if (isnan(y[ycol]) || isnan(y[gcol]))
			continue;
		gr[n].group = y[gcol];
		gr[n++].row = i;
	}
	qsort(gr, n, sizeof(GroupRow), GroupRowCmp);
	g->rows = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(n, 1));
	g->start = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * (n + 1));
	g->inv_idcg = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n, 1));
	for (int64 i = 0; i < n; i++)
	{
		g->rows[i] = gr[i].row;
		if (i == 0 || gr[i].group != gr[i - 1].group)
			g->start[g->ngroups++] = i;
	}
	g->start[g->ngroups] = n;
	for (int64 q = 0; q < g->ngroups; q++)
	{
		int64		m = g->start[q + 1] - g->start[q];
		double		idcg = 0;

		for (int64 j = 0; j < m; j++)
			sorted[j] = g->rel[g->rows[g->start[q] + j]];
		qsort(sorted, m, sizeof(double), DoubleDesc);
		for (int64 j = 0; j < m && sorted[j] > 0; j++)
			idcg += sorted[j] / log2((double) j + 2.0);
		g->inv_idcg[q] = idcg > 0 ? 1.0 / idcg : 0;
		g->maxgroup = Max(g->maxgroup, m);
	}
	pfree(gr);
	pfree(sorted);
	return g;
}

typedef struct ScoredRow
{
	double		score;
	int64		row;
} ScoredRow;

static int
ScoredRowDesc(const void *a, const void *b)
{
	const ScoredRow *x = a;
	const ScoredRow *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* One query's lambdas; returns its NDCG at the current scores. */
static double
GroupLambdas(const RfRankGroups *g, int64 q, const float *Z, int stride, float *grad,
			 float *hess, ScoredRow *s)
{
	int64		m = g->start[q + 1] - g->start[q];
	double		dcg = 0;

	for (int64 j = 0; j < m; j++)
	{
		s[j].row = g->rows[g->start[q] + j];
		s[j].score = Z[(Size) s[j].row * stride];
	}
	qsort(s, m, sizeof(ScoredRow), ScoredRowDesc);
	for (int64 a = 0; a < m; a++)
	{
		double		ra = g->rel[s[a].row];

		dcg += ra / log2((double) a + 2.0);
		for (int64 b = a + 1; b < m; b++)
		{
			double		rb = g->rel[s[b].row];
			int64		hi = ra > rb ? a : b;
			int64		lo = ra > rb ? b : a;
			double		delta;
			double		rho;

			if (ra == rb)
				continue;
			delta = fabs((ra - rb) * (1.0 / log2((double) a + 2.0) - 1.0 / log2((double) b + 2.0))) *
				g->inv_idcg[q];
			rho = 1.0 / (1.0 + exp(s[hi].score - s[lo].score));
			grad[(Size) s[hi].row * stride] -= (float) (rho * delta);
			grad[(Size) s[lo].row * stride] += (float) (rho * delta);
			hess[(Size) s[hi].row * stride] += (float) Max(rho * (1 - rho) * delta, 1e-16);
			hess[(Size) s[lo].row * stride] += (float) Max(rho * (1 - rho) * delta, 1e-16);
		}
	}
	return dcg * g->inv_idcg[q];
}

double
RankNdcgLambdas(const RfRankGroups *g, const float *Z, int stride, float *grad, float *hess)
{
	ScoredRow  *s = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ScoredRow) * Max(g->maxgroup, 1));
	double		ndcg = 0;
	int64		counted = 0;

	for (int64 q = 0; q < g->ngroups; q++)
	{
		double		v = GroupLambdas(g, q, Z, stride, grad, hess, s);

		if (g->inv_idcg[q] > 0)
		{
			ndcg += v;
			counted++;
		}
		if (q % 64 == 0)
		{
			ReframeYield();
			CHECK_FOR_INTERRUPTS();
		}
	}
	pfree(s);
	return counted > 0 ? 1.0 - ndcg / counted : 0;
}
