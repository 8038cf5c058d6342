/*
 * metrics.h
 *		Metric kernels shared by the aggregates and by training/evaluation.
 */
#ifndef REFRAME_METRICS_H
#define REFRAME_METRICS_H

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

/*
 * The pairs of a roc_auc, ndcg or curve state (bytea): 2 * *n doubles,
 * score then label for each row; NULL for the initial (empty) state.
 */
extern const double *ReframePairs(bytea *state, int64 *n);
/* A pairs state holding n (score, label) pairs. */
extern bytea *ReframePairsState(const double *scores, const double *labels, int64 n);
/* A curve ("roc", "pr", "calibration", "lift", "residuals") of pairs as jsonb text, or NULL. */
extern char *ReframeCurveJson(const char *curve, const double *scores, const double *labels, int64 n);

#endif
