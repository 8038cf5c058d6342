/*
 * evaluate.h
 *		Metric accumulators for one head, shared by training (validation
 *		metrics) and reframe.evaluate().
 */
#ifndef REFRAME_EVALUATE_H
#define REFRAME_EVALUATE_H

#include "lib/stringinfo.h"

#include "heads.h"

/*
 * The sums an accumulator adds row by row, each merged by addition (the
 * target's running mean is not among them: it merges by Chan's formula).
 */
typedef struct RfEvalSums
{
	double		sse;			/* regression */
	double		sae;
	double		logloss;		/* classification: against the label, or its share */
	double		brier;
	double		correct;
	double		sse_expected;	/* bucketed numeric targets: error of the expected value */
	double		subset_correct; /* multilabel */
	double		label_errors;
	double		expected_labels;	/* the sum of the probabilities */
	double		mean_labels;	/* ... and of the labels (or their shares) */
} RfEvalSums;

/* dst += src, sum by sum: the one place that lists them */
static inline void
EvalSumsAdd(RfEvalSums *dst, const RfEvalSums *src)
{
	dst->sse += src->sse;
	dst->sae += src->sae;
	dst->logloss += src->logloss;
	dst->brier += src->brier;
	dst->correct += src->correct;
	dst->sse_expected += src->sse_expected;
	dst->subset_correct += src->subset_correct;
	dst->label_errors += src->label_errors;
	dst->expected_labels += src->expected_labels;
	dst->mean_labels += src->mean_labels;
}

typedef struct RfEvalAcc
{
	const RfHead *head;
	double		n;				/* rows, each counted by its weight */
	int64		rows;
	RfEvalSums	sums;
	/* regression: the target's running mean and squared deviations */
	double		ymean;
	double		ym2;
	/* classification */
	double	   *confusion;		/* K x K: actual row, predicted column */
	/* binary: every score, for the exact ROC AUC and threshold tuning */
	double	   *scores;
	double	   *labels;
	int64		nscores;
	int64		capscores;
	struct RfMapped *mscores;	/* where the kept arrays are mapped (matrix.h) */
	struct RfMapped *mlabels;
	bool		keep_scores;
	bool		keep_pairs;		/* regression: every (prediction, actual), for curves */
	MemoryContext mcxt;			/* where the kept scores live */
	/* multilabel: per label true and false positives and negatives */
	double	   *tp;
	double	   *fp;
	double	   *fn;
	/* binary, from histograms of the scores instead of the scores (EvalAccFromBins) */
	bool		binned;
	double		roc_auc;
	double		ece;
} RfEvalAcc;

/* keep_scores: keep every binary score, for the exact ROC AUC and F1 tuning */
extern void EvalAccInit(RfEvalAcc *acc, const RfHead *head, bool keep_scores);

/* Room for n kept scores (binary scores, or regression pairs) without growing. */
extern void EvalAccReserve(RfEvalAcc *acc, int64 n);

/*
 * Adds src's rows, which come after dst's, to dst; src is left empty for
 * more rows (its arrays kept).  Sums of rows split into parts and merged in
 * order are the same whatever thread added each part.
 */
extern void EvalAccMerge(RfEvalAcc *dst, RfEvalAcc *src);

/*
 * Adds a row of weight w (1 without "weight"): p is the head's linked
 * output (value, probability or distribution); y its target (value, 0/1, or
 * class index).  Every metric is weighted but the ROC AUC and the ECE.
 */
extern void EvalAccAdd(RfEvalAcc *acc, const double *p, double y, double w);
/* For a multilabel head: p and y hold one probability and one 0/1 per label. */
extern void EvalAccAddLabels(RfEvalAcc *acc, const double *p, const double *y, double w);
/* Any head, from its Y columns: y points at the head's first. */
extern void EvalAccAddRow(RfEvalAcc *acc, const double *p, const double *y, double w);
/* For a bucketed target: adds the squared error of the expected value. */
extern void EvalAccAddExpected(RfEvalAcc *acc, const double *p, double value);
extern void EvalAccJson(RfEvalAcc *acc, StringInfo buf, bool with_confusion);

/*
 * A row of a head as cells: its targets (EvalTargetCells of them: a value,
 * 0/1 or a class index, NaN when missing, then a bucketed head's number; or
 * a multilabel head's labels, a distribution's shares), as the rows' path
 * and reframe.evaluate_row read them.  Adds the row, of outputs p, to acc.
 */
extern int	EvalTargetCells(const RfHead *head);
extern void EvalAccAddCells(RfEvalAcc *acc, const double *p, const double *t, double w);

/*
 * A binary head's ROC AUC from a histogram of its scores' logits: AUC_BINS
 * bins over [-AUC_LOGIT, AUC_LOGIT] (the ends taking what lies beyond);
 * pairs within a bin count half.  Its calibration error from the 10 bins
 * of probability the rows' path uses.  Where the scores are not kept
 * (streamed passes, evaluate on Citus workers), these histograms are.
 */
#define AUC_BINS 2048
#define AUC_LOGIT 16.0
#define ECE_BINS 10
#define EVAL_BINS_DOUBLES (2 * AUC_BINS + 3 * ECE_BINS)

/* Adds a row of logit z, probability p and label y (unweighted, as the rows' path keeps scores). */
extern void EvalBinsAdd(double *bins, double z, double p, double y);
/* The ROC AUC and calibration error of acc from its head's histograms. */
extern void EvalAccFromBins(RfEvalAcc *acc, const double *bins);

/* The metric versions are selected on, lower is better. */
extern double EvalAccSelection(RfEvalAcc *acc);
extern const char *EvalSelectionName(const RfHead *head);

/* The threshold on a binary head's probability that maximises F1. */
extern double EvalBestF1Threshold(RfEvalAcc *acc);
extern double EvalBestF1ThresholdOf(const double *scores, const double *labels, int64 n);

/* NDCG@k, MRR and hit rate@k of scored rows grouped by query, as JSON. */
extern void EvalRankingJson(StringInfo buf, const double *groups, const double *scores,
							const double *rel, int64 n, int k);

/* A model's selection metric over stored tuples (a candidate's validation rows). */
#include "utils/tuplestore.h"
struct RfModel;
extern double EvalModelOnTuples(struct RfModel *m, Tuplestorestate *store, TupleDesc td, int64 *rows,
								const char **metric);

#endif
