/*
 * evaluate.c
 *		Metrics of a head over rows: accumulators used by training for its
 *		training and validation metrics, and by reframe.evaluate().
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "reframe.h"
#include "evaluate.h"
#include "targets.h"
#include "jsonutil.h"
#include "encoder.h"
#include "metrics.h"

/*
 * Expected calibration error: over ten equal-width bins of the predicted
 * probability, the rows' share of each bin times the gap between its mean
 * prediction and its share of positives (as reframe.calibration bins them).
 */
static double
ExpectedCalibrationError(const double *p, const double *y, int64 n)
{
	double		rows[10] = {0};
	double		sp[10] = {0};
	double		sy[10] = {0};
	double		ece = 0;

	for (int64 i = 0; i < n; i++)
	{
		int			b = Min(Max((int) (p[i] * 10), 0), 9);

		rows[b]++;
		sp[b] += p[i];
		sy[b] += y[i] != 0;
	}
	for (int b = 0; b < 10; b++)
		if (rows[b] > 0)
			ece += rows[b] / n * fabs(sp[b] / rows[b] - sy[b] / rows[b]);
	return n > 0 ? ece : get_float8_nan();
}

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

static void
Num(StringInfo buf, const char *key, double v)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	JsonAppendNumber(buf, v);
}

/* F1 of class k from a K x K confusion matrix; NaN without support or predictions */
static double
ClassF1(const double *conf, int K, int k, double *precision, double *recall)
{
	double		tp = conf[(Size) k * K + k];
	double		actual = 0;
	double		predicted = 0;

	for (int j = 0; j < K; j++)
	{
		actual += conf[(Size) k * K + j];
		predicted += conf[(Size) j * K + k];
	}
	*precision = predicted > 0 ? tp / predicted : 0;
	*recall = actual > 0 ? tp / actual : 0;
	if (actual + predicted == 0)
		return get_float8_nan();
	return 2 * tp / (actual + predicted);
}

/* A binary head's figures: the losses, accuracy, precision, recall, F1, AUC and calibration. */
static void
EvalBinaryJson(RfEvalAcc *acc, StringInfo buf)
{
	const RfHead *head = acc->head;
	double		precision;
	double		recall;
	double		f1 = ClassF1(acc->confusion, 2, 1, &precision, &recall);

	Num(buf, "log_loss", acc->sums.logloss / acc->n);
	Num(buf, "brier", acc->sums.brier / acc->n);
	Num(buf, "accuracy", acc->sums.correct / acc->n);
	Num(buf, "precision", precision);
	Num(buf, "recall", recall);
	Num(buf, "f1", isnan(f1) ? 0 : f1);
	if (acc->keep_scores)
	{
		Num(buf, "roc_auc", ReframeRocAuc(acc->scores, acc->labels, acc->nscores));
		Num(buf, "ece", ExpectedCalibrationError(acc->scores, acc->labels, acc->nscores));
	}
	else if (acc->binned)
	{
		Num(buf, "roc_auc", acc->roc_auc);
		Num(buf, "ece", acc->ece);
	}
	Num(buf, "threshold", head->threshold);
}

/* A multiclass head's: cross-entropy, accuracy, macro F1, a bucketed head's expected-value RMSE. */
static void
EvalMulticlassJson(RfEvalAcc *acc, StringInfo buf)
{
	const RfHead *head = acc->head;
	int			K = head->nout;
	double		sum = 0;
	int			counted = 0;

	for (int k = 0; k < K; k++)
	{
		double		precision;
		double		recall;
		double		f1 = ClassF1(acc->confusion, K, k, &precision, &recall);

		if (!isnan(f1))
		{
			sum += f1;
			counted++;
		}
	}
	Num(buf, "cross_entropy", acc->sums.logloss / acc->n);
	Num(buf, "accuracy", acc->sums.correct / acc->n);
	Num(buf, "macro_f1", counted ? sum / counted : get_float8_nan());
	if (head->bin_values && acc->sums.sse_expected > 0)
		Num(buf, "rmse_expected", sqrt(acc->sums.sse_expected / acc->n));
}

/* A multilabel head's: per-label losses, subset accuracy, Hamming loss, micro and macro F1. */
static void
EvalMultilabelJson(RfEvalAcc *acc, StringInfo buf)
{
	const RfHead *head = acc->head;
	double		tp = 0;
	double		fp = 0;
	double		fn = 0;
	double		macro = 0;
	int			counted = 0;

	for (int k = 0; k < head->nout; k++)
	{
		double		d = 2 * acc->tp[k] + acc->fp[k] + acc->fn[k];

		tp += acc->tp[k];
		fp += acc->fp[k];
		fn += acc->fn[k];
		if (d > 0)
		{
			macro += 2 * acc->tp[k] / d;
			counted++;
		}
	}
	Num(buf, "log_loss", acc->sums.logloss / acc->sums.correct);
	Num(buf, "brier", acc->sums.brier / acc->sums.correct);
	Num(buf, "expected_labels", acc->sums.expected_labels / acc->n);
	Num(buf, "mean_labels", acc->sums.mean_labels / acc->n);
	Num(buf, "subset_accuracy", acc->sums.subset_correct / acc->n);
	Num(buf, "hamming_loss", acc->sums.label_errors / acc->sums.correct);
	Num(buf, "micro_f1", 2 * tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : get_float8_nan());
	Num(buf, "macro_f1", counted ? macro / counted : get_float8_nan());
	if (!head->label_thresholds)
		Num(buf, "threshold", head->threshold);
}

/* The confusion matrix: the classes, and the counts by actual (rows) and predicted class. */
static void
EvalConfusionJson(RfEvalAcc *acc, StringInfo buf)
{
	const RfHead *head = acc->head;
	int			K = head->kind == RF_HEAD_BINARY ? 2 : head->nout;

	appendStringInfoString(buf, ", \"confusion\": {\"classes\": [");
	for (int k = 0; k < K; k++)
	{
		if (k)
			appendStringInfoString(buf, ", ");
		JsonAppendString(buf, k < head->nclasses ? head->classes[k] : "");
	}
	appendStringInfoString(buf, "], \"counts\": [");
	for (int a = 0; a < K; a++)
	{
		appendStringInfoString(buf, a ? ", [" : "[");
		for (int p = 0; p < K; p++)
			appendStringInfo(buf, p ? ", %.0f" : "%.0f", acc->confusion[(Size) a * K + p]);
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoString(buf, "]}");
}

void
EvalAccJson(RfEvalAcc *acc, StringInfo buf, bool with_confusion)
{
	const RfHead *head = acc->head;

	appendStringInfo(buf, "{\"rows\": %lld", (long long) acc->rows);
	if (acc->n != acc->rows)
		Num(buf, "weight", acc->n);
	if (acc->n == 0)
	{
		appendStringInfoChar(buf, '}');
		return;
	}
	switch (head->kind)
	{
		case RF_HEAD_REGRESSION:
			Num(buf, "rmse", sqrt(acc->sums.sse / acc->n));
			Num(buf, "mae", acc->sums.sae / acc->n);
			Num(buf, "r2", acc->ym2 > 0 ? 1.0 - acc->sums.sse / acc->ym2 : get_float8_nan());
			break;
		case RF_HEAD_BINARY:
			EvalBinaryJson(acc, buf);
			break;
		case RF_HEAD_MULTICLASS:
			EvalMulticlassJson(acc, buf);
			break;
		case RF_HEAD_MULTILABEL:
			EvalMultilabelJson(acc, buf);
			break;
	}
	if (with_confusion && acc->confusion)
		EvalConfusionJson(acc, buf);
	appendStringInfoChar(buf, '}');
}

typedef struct GroupedScore
{
	double		group;
	double		score;
	double		rel;
} GroupedScore;

static int
GroupedScoreCmp(const void *a, const void *b)
{
	const GroupedScore *x = a;
	const GroupedScore *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	/* ties rank the less relevant first: no credit for a lucky order */
	return (x->rel > y->rel) - (x->rel < y->rel);
}

/*
 * Ranking metrics of scored rows grouped by query: NDCG@k, mean reciprocal
 * rank of the first relevant row, and the rate of queries with a relevant row
 * in their top k, averaged over the queries that have a relevant row.
 */
void
EvalRankingJson(StringInfo buf, const double *groups, const double *scores,
				const double *rel, int64 n, int k)
{
	GroupedScore *g = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(GroupedScore) * Max(n, 1));
	double	   *s = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n, 1));
	double	   *r = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(n, 1));
	double		ndcg = 0;
	double		mrr = 0;
	double		hits = 0;
	int64		counted = 0;
	int64		ngroups = 0;
	int64		i = 0;

	for (int64 j = 0; j < n; j++)
	{
		g[j].group = groups[j];
		g[j].score = scores[j];
		g[j].rel = rel[j];
	}
	qsort(g, n, sizeof(GroupedScore), GroupedScoreCmp);
	while (i < n)
	{
		int64		j = i;
		int64		first = -1;

		while (j < n && g[j].group == g[i].group)
		{
			s[j - i] = g[j].score;
			r[j - i] = g[j].rel;
			if (first < 0 && g[j].rel > 0)
				first = j - i;
			j++;
		}
		ngroups++;
		if (first >= 0)
		{
			double		v = ReframeNdcg(s, r, j - i, k);

			counted++;
			ndcg += isnan(v) ? 0 : v;
			mrr += 1.0 / (first + 1);
			hits += first < k;
		}
		i = j;
	}
	appendStringInfo(buf, "{\"groups\": %lld, \"groups_with_relevant\": %lld, \"k\": %d",
					 (long long) ngroups, (long long) counted, k);
	if (counted > 0)
	{
		appendStringInfo(buf, ", \"ndcg@%d\": ", k);
		JsonAppendNumber(buf, ndcg / counted);
		appendStringInfoString(buf, ", \"mrr\": ");
		JsonAppendNumber(buf, mrr / counted);
		appendStringInfo(buf, ", \"hit_rate@%d\": ", k);
		JsonAppendNumber(buf, hits / counted);
	}
	appendStringInfoChar(buf, '}');
	pfree(g);
	pfree(s);
	pfree(r);
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
