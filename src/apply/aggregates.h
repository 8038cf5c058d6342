/*
 * aggregates.h
 *		The state the metric and curve aggregates share: a roc_auc, ndcg or
 *		curve state holds its rows' (score, label) pairs
 *		(metric_aggregates.c); the curves are drawn from them (curves.c).
 */
#ifndef REFRAME_AGGREGATES_H
#define REFRAME_AGGREGATES_H

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
