/*
 * evaluate.c
 *		Metrics of a head over rows: accumulators (RfEvalAcc) that training
 *		fills for its training and validation metrics and reframe.evaluate()
 *		for a query's rows, merged across threads; the selection metric; the
 *		threshold of best F1.
 */
#include "postgres.h"

#include "utils/float.h"

#include "evaluate.h"
#include "metrics.h"

/* A kept array grown to acc->capscores values, in huge pages once large (matrix.h). */
static double *
GrowArray(RfEvalAcc *acc, double *old, RfMapped **m)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(acc->mcxt);
	double	   *a = RfGrowLarge(old, sizeof(double) * acc->nscores, sizeof(double) * acc->capscores, m);

	MemoryContextSwitchTo(oldcxt);
	return a;
}

/* Keeps a row's (score, label) pair: binary scores, or regression pairs. */
static void
KeepPair(RfEvalAcc *acc, double score, double label)
{
	if (acc->nscores == acc->capscores)
	{
		acc->capscores = Max(1024, acc->capscores * 2);
		acc->scores = GrowArray(acc, acc->scores, &acc->mscores);
		acc->labels = GrowArray(acc, acc->labels, &acc->mlabels);
	}
	acc->scores[acc->nscores] = score;
	acc->labels[acc->nscores++] = label;
}

void
EvalAccInit(RfEvalAcc *acc, const RfHead *head, bool keep_scores)
{
	memset(acc, 0, sizeof(*acc));
	acc->head = head;
	acc->keep_scores = keep_scores;
	acc->mcxt = CurrentMemoryContext;
	if (head->kind == RF_HEAD_MULTICLASS || head->kind == RF_HEAD_BINARY)
	{
		int			K = head->kind == RF_HEAD_BINARY ? 2 : head->nout;

		acc->confusion = MemoryContextAllocZero(CurrentMemoryContext,
												sizeof(double) * K * K);
	}
	if (head->kind == RF_HEAD_MULTILABEL)
	{
		acc->tp = palloc0(sizeof(double) * head->nout);
		acc->fp = palloc0(sizeof(double) * head->nout);
		acc->fn = palloc0(sizeof(double) * head->nout);
	}
}

void
EvalAccReserve(RfEvalAcc *acc, int64 n)
{
	if (n <= acc->capscores)
		return;
	acc->capscores = n;
	acc->scores = GrowArray(acc, acc->scores, &acc->mscores);
	acc->labels = GrowArray(acc, acc->labels, &acc->mlabels);
}

static void
AddArray(double *dst, double *src, int n)
{
	if (dst == NULL)
		return;
	for (int k = 0; k < n; k++)
	{
		dst[k] += src[k];
		src[k] = 0;
	}
}

void
EvalAccMerge(RfEvalAcc *dst, RfEvalAcc *src)
{
	const RfHead *head = dst->head;
	int			K = head->kind == RF_HEAD_BINARY ? 2 : head->nout;
	double		n = dst->n + src->n;

	/* the target's running mean and squared deviations, by Chan et al. */
	if (src->n > 0)
	{
		double		delta = src->ymean - dst->ymean;

		dst->ym2 += src->ym2 + delta * delta * dst->n * src->n / n;
		dst->ymean += delta * src->n / n;
	}
	dst->n = n;
	dst->rows += src->rows;
	EvalSumsAdd(&dst->sums, &src->sums);
	AddArray(dst->confusion, src->confusion, K * K);
	AddArray(dst->tp, src->tp, head->nout);
	AddArray(dst->fp, src->fp, head->nout);
	AddArray(dst->fn, src->fn, head->nout);
	if (src->nscores > 0)
	{
		EvalAccReserve(dst, dst->nscores + src->nscores);
		memmove(dst->scores + dst->nscores, src->scores, sizeof(double) * src->nscores);
		memmove(dst->labels + dst->nscores, src->labels, sizeof(double) * src->nscores);
		dst->nscores += src->nscores;
	}
	src->n = src->ymean = src->ym2 = 0;
	src->rows = src->nscores = 0;
	memset(&src->sums, 0, sizeof(src->sums));
}

/* The log loss against a label y in [0, 1]: 0 or 1, or a share of annotators. */
static inline double
SoftLogLoss(double p, double y)
{
	if (y == 0 || y == 1)
		return ReframeLogLoss(p, y == 1);
	return y * ReframeLogLoss(p, true) + (1 - y) * ReframeLogLoss(p, false);
}

void
EvalAccAddLabels(RfEvalAcc *acc, const double *p, const double *y, double w)
{
	const RfHead *head = acc->head;
	bool		all_right = true;
	int			known = 0;

	for (int k = 0; k < head->nout; k++)
	{
		bool		pred;
		bool		actual;

		if (isnan(y[k]))
			continue;
		known++;
		pred = p[k] >= HeadThreshold(head, k);
		actual = y[k] > 0.5;
		acc->tp[k] += w * (pred && actual);
		acc->fp[k] += w * (pred && !actual);
		acc->fn[k] += w * (!pred && actual);
		acc->sums.label_errors += w * (pred != actual);
		all_right &= pred == actual;
		acc->sums.logloss += w * SoftLogLoss(p[k], y[k]);
		acc->sums.brier += w * (p[k] - y[k]) * (p[k] - y[k]);
		acc->sums.expected_labels += w * p[k];
		acc->sums.mean_labels += w * y[k];
	}
	if (known == 0)
		return;
	acc->n += w;
	acc->rows++;
	acc->sums.subset_correct += w * all_right;
	acc->sums.correct += w * known;	/* labels seen, for the per-label means */
}

void
EvalAccAdd(RfEvalAcc *acc, const double *p, double y, double w)
{
	const RfHead *head = acc->head;

	if (isnan(y))
		return;
	acc->rows++;
	if (w <= 0)
		return;
	acc->n += w;
	switch (head->kind)
	{
		case RF_HEAD_REGRESSION:
			{
				double		e = y - p[0];
				double		delta = y - acc->ymean;

				acc->sums.sse += w * e * e;
				acc->sums.sae += w * fabs(e);
				acc->ymean += w * delta / acc->n;
				acc->ym2 += w * delta * (y - acc->ymean);
				if (acc->keep_pairs)
					KeepPair(acc, p[0], y);
				break;
			}
		case RF_HEAD_BINARY:
			{
				int			actual = y > 0.5;
				int			pred = HeadPredictedClass(head, p);

				acc->sums.logloss += w * SoftLogLoss(p[0], y);
				acc->sums.brier += w * (p[0] - y) * (p[0] - y);
				acc->sums.correct += w * (actual == pred);
				acc->confusion[actual * 2 + pred] += w;
				if (acc->keep_scores)
					KeepPair(acc, p[0], actual);
				break;
			}
		case RF_HEAD_MULTICLASS:
			{
				int			K = head->nout;
				int			actual = (int) y;
				int			pred = HeadPredictedClass(head, p);

				acc->sums.logloss += -w * log(Max(p[actual], 1e-15));
				acc->sums.correct += w * (actual == pred);
				acc->confusion[(Size) actual * K + pred] += w;
				break;
			}
		case RF_HEAD_MULTILABEL:
			break;
	}
}

/*
 * A multiclass head's row whose target is a distribution q: the
 * cross-entropy against it; accuracy and the confusion matrix count its
 * most likely class as the actual one.
 */
static void
EvalAccAddDistribution(RfEvalAcc *acc, const double *p, const double *q, double w)
{
	const RfHead *head = acc->head;
	int			K = head->nout;
	int			actual = 0;
	int			pred;

	if (isnan(q[0]))
		return;
	acc->rows++;
	if (w <= 0)
		return;
	acc->n += w;
	for (int k = 0; k < K; k++)
	{
		if (q[k] > 0)
			acc->sums.logloss += -w * q[k] * log(Max(p[k], 1e-15));
		actual = q[k] > q[actual] ? k : actual;
	}
	pred = HeadPredictedClass(head, p);
	acc->sums.correct += w * (actual == pred);
	acc->confusion[(Size) actual * K + pred] += w;
}

/* A row of a head from its Y columns (y at the head's first): labels, a distribution or a value. */
void
EvalAccAddRow(RfEvalAcc *acc, const double *p, const double *y, double w)
{
	if (acc->head->kind == RF_HEAD_MULTILABEL)
		EvalAccAddLabels(acc, p, y, w);
	else if (acc->head->soft)
		EvalAccAddDistribution(acc, p, y, w);
	else
		EvalAccAdd(acc, p, y[0], w);
}

int
EvalTargetCells(const RfHead *head)
{
	if (head->kind == RF_HEAD_MULTILABEL || head->soft)
		return head->nout;
	return head->bin_values ? 2 : 1;
}

void
EvalAccAddCells(RfEvalAcc *acc, const double *p, const double *t, double w)
{
	const RfHead *head = acc->head;

	if (head->kind == RF_HEAD_MULTILABEL || head->soft)
	{
		EvalAccAddRow(acc, p, t, w);
		return;
	}
	EvalAccAdd(acc, p, t[0], w);
	if (head->bin_values && !isnan(t[0]) && w > 0)
		EvalAccAddExpected(acc, p, t[1]);
}

void
EvalBinsAdd(double *bins, double z, double p, double y)
{
	double	   *pos = bins;
	double	   *neg = bins + AUC_BINS;
	double	   *ece = bins + 2 * AUC_BINS;	/* rows, sum of p, positives; per bin */
	double		at = (Min(Max(z, -AUC_LOGIT), AUC_LOGIT) + AUC_LOGIT) / (2 * AUC_LOGIT) * AUC_BINS;
	int			b = Min(Max((int) at, 0), AUC_BINS - 1);
	int			e = Min(Max((int) (p * ECE_BINS), 0), ECE_BINS - 1);
	bool		actual = y > 0.5;

	pos[b] += actual;
	neg[b] += !actual;
	ece[3 * e] += 1;
	ece[3 * e + 1] += p;
	ece[3 * e + 2] += actual;
}

/*
 * The AUC as the Mann-Whitney statistic over the bins in order (a pair
 * within one bin counts half), the calibration error exactly as the rows'
 * path computes it from the scores.
 */
void
EvalAccFromBins(RfEvalAcc *acc, const double *bins)
{
	const double *pos = bins;
	const double *neg = bins + AUC_BINS;
	const double *ece = bins + 2 * AUC_BINS;
	double		below = 0;
	double		u = 0;
	double		npos = 0;
	double		rows = 0;

	for (int b = 0; b < AUC_BINS; b++)
	{
		u += pos[b] * (below + neg[b] / 2);
		below += neg[b];
		npos += pos[b];
	}
	for (int e = 0; e < ECE_BINS; e++)
		rows += ece[3 * e];
	acc->binned = true;
	acc->roc_auc = npos > 0 && below > 0 ? u / (npos * below) : get_float8_nan();
	acc->ece = rows > 0 ? 0 : get_float8_nan();
	for (int e = 0; e < ECE_BINS && rows > 0; e++)
		if (ece[3 * e] > 0)
			acc->ece += ece[3 * e] / rows * fabs(ece[3 * e + 1] / ece[3 * e] - ece[3 * e + 2] / ece[3 * e]);
}

void
EvalAccAddExpected(RfEvalAcc *acc, const double *p, double value)
{
	double		e = 0;

	for (int k = 0; k < acc->head->nout; k++)
		e += p[k] * acc->head->bin_values[k];
	acc->sums.sse_expected += (value - e) * (value - e);
}

const char *
EvalSelectionName(const RfHead *head)
{
	switch (head->kind)
	{
		case RF_HEAD_REGRESSION:
			return "rmse";
		case RF_HEAD_BINARY:
		case RF_HEAD_MULTILABEL:
			return "log_loss";
		default:
			return "cross_entropy";
	}
}

double
EvalAccSelection(RfEvalAcc *acc)
{
	if (acc->n == 0)
		return get_float8_nan();
	if (acc->head->kind == RF_HEAD_REGRESSION)
		return sqrt(acc->sums.sse / acc->n);
	if (acc->head->kind == RF_HEAD_MULTILABEL)
		return acc->sums.logloss / acc->sums.correct;
	return acc->sums.logloss / acc->n;
}

double
EvalBestF1Threshold(RfEvalAcc *acc)
{
	return EvalBestF1ThresholdOf(acc->scores, acc->labels, acc->nscores);
}

double
EvalBestF1ThresholdOf(const double *scores, const double *labels, int64 nscores)
{
	RfScored *sl = palloc(sizeof(RfScored) * Max(nscores, 1));
	double		positives = 0;
	double		tp = 0;
	double		best_f1 = -1;
	double		best = 0.5;
	int64		i = 0;

	for (int64 k = 0; k < nscores; k++)
	{
		sl[k].score = scores[k];
		sl[k].label = labels[k];
		positives += labels[k];
	}
	qsort(sl, nscores, sizeof(RfScored), RfScoredByScoreDesc);
	/* predicting positive for scores >= sl[i].score, one tie group at a time */
	while (i < nscores)
	{
		int64		j = i;
		double		f1;

		while (j < nscores && sl[j].score == sl[i].score)
			tp += sl[j++].label;
		f1 = 2 * tp / (j + positives);
		if (f1 > best_f1)
		{
			/*
			 * Halfway to the next lower score, so that a score recomputed in
			 * another precision stays on the same side of the threshold.
			 */
			best_f1 = f1;
			best = j < nscores ? (sl[i].score + sl[j].score) / 2 : sl[i].score / 2;
		}
		i = j;
	}
	pfree(sl);
	return best;
}
