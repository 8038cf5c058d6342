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
	g->discount = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * Max(g->maxgroup, 1));
	for (int64 j = 0; j < g->maxgroup; j++)
		g->discount[j] = (float) (1.0 / log2((double) j + 2.0));
	pfree(gr);
	pfree(sorted);
	return g;
}

typedef struct ScoredRow
{
	double		score;
	int64		row;
} ScoredRow;

static inline int
ScoredRowDesc(const ScoredRow *x, const ScoredRow *y)
{
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/*
 * Sorts a query's rows best score first by insertion: they are in the
 * previous round's order, which a round of boosting changes little, so this
 * costs about one pass (the order is total: ties go by row number).
 */
static void
SortScored(ScoredRow *s, int64 m)
{
	for (int64 i = 1; i < m; i++)
	{
		ScoredRow	x = s[i];
		int64		j = i;

		while (j > 0 && ScoredRowDesc(&x, &s[j - 1]) < 0)
		{
			s[j] = s[j - 1];
			j--;
		}
		s[j] = x;
	}
}

/* One query's rows in score order: their relevance, exp(score - top), lambdas (single precision). */
typedef struct GroupScratch
{
	ScoredRow  *s;
	float	   *rel;
	float	   *e;
	float	   *grad;
	float	   *hess;
} GroupScratch;

/*
 * One query's lambdas; returns its NDCG at the current scores.  A pair's
 * 1 / (1 + exp(s_hi - s_lo)) is e_lo / (e_lo + e_hi) with e = exp(s - the
 * query's top score), one exp per row instead of one per pair; the pairs'
 * loop has no branch (a pair of equal relevance weighs 0) and runs in
 * single precision, as the gradients are kept, so that it vectorizes four
 * pairs at a time.  The query's rows keep their order for the next round.
 */
static double
GroupLambdas(RfRankGroups *g, int64 q, const float *Z, int stride, float *grad,
			 float *hess, GroupScratch *w)
{
	int64		m = g->start[q + 1] - g->start[q];
	int64	   *rows = g->rows + g->start[q];
	const float *disc = g->discount;
	float		inv = (float) g->inv_idcg[q];
	double		dcg = 0;

	for (int64 j = 0; j < m; j++)
	{
		w->s[j].row = rows[j];
		w->s[j].score = Z[(Size) rows[j] * stride];
	}
	SortScored(w->s, m);
	for (int64 j = 0; j < m; j++)
	{
		double		rel = g->rel[w->s[j].row];

		rows[j] = w->s[j].row;
		w->rel[j] = (float) rel;
		/* above 0, so that a pair's sum is (rows 80 below the top tie: rho 0.5) */
		w->e[j] = (float) exp(Max(w->s[j].score - w->s[0].score, -80.0));
		w->grad[j] = w->hess[j] = 0;
		dcg += rel / log2((double) j + 2.0);
	}
	for (int64 a = 0; a < m && grad; a++)
	{
		float		ra = w->rel[a];
		float		ea = w->e[a];
		float		da = disc[a];
		float		ga = 0;
		float		ha = 0;

		for (int64 b = a + 1; b < m; b++)
		{
			float		eb = w->e[b];
			float		diff = ra - w->rel[b];
			float		delta = fabsf(diff * (da - disc[b])) * inv;
			/* rho: 1 / (1 + exp(s_hi - s_lo)), the pair's logistic loss's */
			float		rho = (diff > 0 ? eb : ea) / (ea + eb);
			float		lambda = (diff > 0 ? rho : -rho) * delta;
			float		h = rho * (1 - rho) * delta;

			h = h > 1e-16f ? h : 1e-16f;
			h = delta > 0 ? h : 0.0f;
			ga -= lambda;
			w->grad[b] += lambda;
			ha += h;
			w->hess[b] += h;
		}
		w->grad[a] += ga;
		w->hess[a] += ha;
	}
	/* added once to the query's rows */
	for (int64 j = 0; j < m && grad; j++)
	{
		grad[(Size) w->s[j].row * stride] += w->grad[j];
		hess[(Size) w->s[j].row * stride] += w->hess[j];
	}
	return dcg * g->inv_idcg[q];
}

double
RankNdcgLambdas(RfRankGroups *g, const float *Z, int stride, float *grad, float *hess)
{
	Size		m = Max(g->maxgroup, 1);
	GroupScratch w;
	double		ndcg = 0;
	int64		counted = 0;

	w.s = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ScoredRow) * m);
	w.rel = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * m);
	w.e = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * m);
	w.grad = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * m);
	w.hess = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * m);

	for (int64 q = 0; q < g->ngroups; q++)
	{
		double		v = GroupLambdas(g, q, Z, stride, grad, hess, &w);

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
	pfree(w.s);
	pfree(w.rel);
	pfree(w.e);
	pfree(w.grad);
	pfree(w.hess);
	return counted > 0 ? 1.0 - ndcg / counted : 0;
}
