/*
 * evaluate.c
 *		Metrics of a head over rows: accumulators used by training for its
 *		training and validation metrics, and by reframe.evaluate().
 */
#include "postgres.h"

#include <math.h>

#include "utils/float.h"
#include "utils/memutils.h"

#include "evaluate.h"
#include "jsonutil.h"
#include "metrics.h"

void
EvalAccInit(RfEvalAcc *acc, const RfHead *head, bool keep_scores)
{
	memset(acc, 0, sizeof(*acc));
	acc->head = head;
	acc->keep_scores = keep_scores;
	if (head->kind == RF_HEAD_MULTICLASS || head->kind == RF_HEAD_BINARY)
	{
		int			K = head->kind == RF_HEAD_BINARY ? 2 : head->nout;

		acc->confusion = MemoryContextAllocZero(CurrentMemoryContext,
												sizeof(double) * K * K);
	}
}

static int
Argmax(const double *p, int n)
{
	int			best = 0;

	for (int k = 1; k < n; k++)
		if (p[k] > p[best])
			best = k;
	return best;
}

void
EvalAccAdd(RfEvalAcc *acc, const double *p, double y)
{
	const RfHead *head = acc->head;

	if (isnan(y))
		return;
	acc->n += 1;
	switch (head->kind)
	{
		case RF_HEAD_REGRESSION:
			{
				double		e = y - p[0];
				double		delta = y - acc->ymean;

				acc->sse += e * e;
				acc->sae += fabs(e);
				acc->ymean += delta / acc->n;
				acc->ym2 += delta * (y - acc->ymean);
				break;
			}
		case RF_HEAD_BINARY:
			{
				int			actual = y > 0.5;
				int			pred = p[0] >= head->threshold;

				acc->logloss += ReframeLogLoss(p[0], actual);
				acc->correct += actual == pred;
				acc->confusion[actual * 2 + pred] += 1;
				if (!acc->keep_scores)
					break;
				if (acc->nscores == acc->capscores)
				{
					acc->capscores = Max(1024, acc->capscores * 2);
					acc->scores = acc->scores ?
						repalloc_huge(acc->scores, sizeof(double) * acc->capscores) :
						MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * acc->capscores);
					acc->labels = acc->labels ?
						repalloc_huge(acc->labels, sizeof(double) * acc->capscores) :
						MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * acc->capscores);
				}
				acc->scores[acc->nscores] = p[0];
				acc->labels[acc->nscores++] = actual;
				break;
			}
		case RF_HEAD_MULTICLASS:
			{
				int			K = head->nout;
				int			actual = (int) y;
				int			pred = Argmax(p, K);

				acc->logloss += -log(Max(p[actual], 1e-15));
				acc->correct += actual == pred;
				acc->confusion[(Size) actual * K + pred] += 1;
				break;
			}
		case RF_HEAD_MULTILABEL:
			break;
	}
}

const char *
EvalSelectionName(const RfHead *head)
{
	switch (head->kind)
	{
		case RF_HEAD_REGRESSION:
			return "rmse";
		case RF_HEAD_BINARY:
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
		return sqrt(acc->sse / acc->n);
	return acc->logloss / acc->n;
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

void
EvalAccJson(RfEvalAcc *acc, StringInfo buf, bool with_confusion)
{
	const RfHead *head = acc->head;

	appendStringInfo(buf, "{\"rows\": %.0f", acc->n);
	if (acc->n == 0)
	{
		appendStringInfoChar(buf, '}');
		return;
	}
	switch (head->kind)
	{
		case RF_HEAD_REGRESSION:
			Num(buf, "rmse", sqrt(acc->sse / acc->n));
			Num(buf, "mae", acc->sae / acc->n);
			Num(buf, "r2", acc->ym2 > 0 ? 1.0 - acc->sse / acc->ym2 : get_float8_nan());
			break;
		case RF_HEAD_BINARY:
			{
				double		precision;
				double		recall;
				double		f1 = ClassF1(acc->confusion, 2, 1, &precision, &recall);

				Num(buf, "log_loss", acc->logloss / acc->n);
				Num(buf, "accuracy", acc->correct / acc->n);
				Num(buf, "precision", precision);
				Num(buf, "recall", recall);
				Num(buf, "f1", isnan(f1) ? 0 : f1);
				if (acc->keep_scores)
					Num(buf, "roc_auc", ReframeRocAuc(acc->scores, acc->labels, acc->nscores));
				Num(buf, "threshold", head->threshold);
				break;
			}
		case RF_HEAD_MULTICLASS:
			{
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
				Num(buf, "cross_entropy", acc->logloss / acc->n);
				Num(buf, "accuracy", acc->correct / acc->n);
				Num(buf, "macro_f1", counted ? sum / counted : get_float8_nan());
				break;
			}
		case RF_HEAD_MULTILABEL:
			break;
	}
	if (with_confusion && acc->confusion)
	{
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
	appendStringInfoChar(buf, '}');
}

typedef struct ScoredLabel
{
	double		score;
	double		label;
} ScoredLabel;

static int
ScoreDescCmp(const void *a, const void *b)
{
	double		x = ((const ScoredLabel *) a)->score;
	double		y = ((const ScoredLabel *) b)->score;

	return (x < y) - (x > y);
}

double
EvalBestF1Threshold(RfEvalAcc *acc)
{
	ScoredLabel *sl = palloc(sizeof(ScoredLabel) * Max(acc->nscores, 1));
	double		positives = 0;
	double		tp = 0;
	double		best_f1 = -1;
	double		best = 0.5;
	int64		i = 0;

	for (int64 k = 0; k < acc->nscores; k++)
	{
		sl[k].score = acc->scores[k];
		sl[k].label = acc->labels[k];
		positives += acc->labels[k];
	}
	qsort(sl, acc->nscores, sizeof(ScoredLabel), ScoreDescCmp);
	/* predicting positive for scores >= sl[i].score, one tie group at a time */
	while (i < acc->nscores)
	{
		int64		j = i;
		double		f1;

		while (j < acc->nscores && sl[j].score == sl[i].score)
			tp += sl[j++].label;
		f1 = 2 * tp / (j + positives);
		if (f1 > best_f1)
		{
			best_f1 = f1;
			best = sl[i].score;
		}
		i = j;
	}
	pfree(sl);
	return best;
}
