/*
 * evaluate_json.c
 *		An accumulator's figures as JSON, by head kind (losses, accuracy,
 *		precision and recall, F1, ROC AUC, calibration error, confusion
 *		matrix), and the ranking metrics of queries' scored rows.
 */
#include "postgres.h"

#include "utils/float.h"

#include "evaluate.h"
#include "jsonutil.h"
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

static void
Num(StringInfo buf, const char *key, double v)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	JsonAppendNumber(buf, v);
}

/* F1 of class k from a K x K confusion matrix; NaN without support or predictions */
static double
EvalClassF1(const double *conf, int K, int k, double *precision, double *recall)
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
	double		f1 = EvalClassF1(acc->confusion, 2, 1, &precision, &recall);

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
		double		f1 = EvalClassF1(acc->confusion, K, k, &precision, &recall);

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
