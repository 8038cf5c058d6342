/*
 * metrics.h
 *		Metric kernels (metric_kernels.c) shared by the aggregates and by
 *		training's evaluation.
 */
#ifndef REFRAME_METRICS_H
#define REFRAME_METRICS_H

/* Probabilities are clipped to [PROB_EPS, 1 - PROB_EPS] before taking logarithms. */
#define PROB_EPS 1e-15

/* A row's score and its label (or relevance), as the metrics keep and sort them. */
typedef struct RfScored
{
	double		score;
	double		label;
} RfScored;

/* qsort comparators: by score, by label; highest first */
extern int	RfScoredByScoreDesc(const void *a, const void *b);
extern int	RfScoredByLabelDesc(const void *a, const void *b);

/* -log(p) for a positive, -log(1 - p) for a negative, p clipped. */
extern double ReframeLogLoss(double p, bool y);

/* Exact ROC AUC with ties counted one half; NaN without both classes. */
extern double ReframeRocAuc(const double *scores, const double *labels, int64 n);

/* NDCG at k with linear gains, ties sharing their ranks' discounts; NaN if no gain. */
extern double ReframeNdcg(const double *scores, const double *relevance, int64 n, int64 k);

#endif
