/*
 * rank.h
 *		A listwise objective: LambdaRank gradients of NDCG over the rows of
 *		each query ("group"), which gradient boosting turns into LambdaMART.
 */
#ifndef REFRAME_RANK_H
#define REFRAME_RANK_H

#include "matrix.h"

typedef struct RfRankGroups
{
	int64		ngroups;
	int64	   *start;			/* per group: first position in rows; start[ngroups] = n */
	int64	   *rows;			/* row numbers, grouped (each group in its last scores' order) */
	double	   *rel;			/* per row: relevance (NaN: not ranked) */
	double	   *inv_idcg;		/* per group: 1 / ideal DCG, 0 when nothing is relevant */
	int64		maxgroup;		/* rows of the largest group */
	float	   *discount;		/* per rank j up to maxgroup: 1 / log2(j + 2) */
} RfRankGroups;

/* The queries of Y's rows: group codes in column gcol, relevance in ycol. */
extern RfRankGroups *RankGroups(const RfMatrix *Y, int ycol, int gcol);

/*
 * Gradients and hessians of the LambdaRank NDCG objective at scores Z
 * (column 0 of a row-major block with stride columns), added to column 0
 * of grad and hess (which the caller zeroes; NULL for the NDCG alone);
 * returns 1 - the mean NDCG of the groups with a relevant row.
 */
extern double RankNdcgLambdas(RfRankGroups *g, const float *Z, int stride,
							  float *grad, float *hess);

#endif
