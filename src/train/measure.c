/*
 * measure.c
 *		What a fitted trunk is measured by before it is stored: the metrics
 *		of each head on the training and validation rows, label thresholds,
 *		class-weight calibration, the selection metric.
 */
#include "postgres.h"

#include "utils/float.h"

#include "jsonutil.h"
#include "evaluate.h"
#include "progress.h"
#include "gradient.h"
#include "train_steps.h"

/* Training (set 0) or validation (set 1) metrics of every head, accumulated over X. */
static void
EvaluateRows(RfTrainState *ts, int set, RfEvalAcc *acc, bool keep_scores)
{
	const RfTrunk *t = ts->trunk;
	const double **bin_raw = palloc0(sizeof(double *) * t->nheads);

	for (int h = 0; h < t->nheads; h++)
	{
		EvalAccInit(&acc[h], &t->heads[h], keep_scores);
		if (t->heads[h].bin_values)
			bin_raw[h] = ts->targets[h].bin_raw[set];
	}
	TrunkEvaluateMatrix(t, set ? ts->Xva : ts->Xtr, set ? ts->Yv : ts->Y, bin_raw, acc);
}

/* A head's scores and targets over the rows of a matrix, by chunk. */
typedef struct CollectArg
{
	const RfTrunk *trunk;
	const RfHead *head;
	const RfMatrix *Y;
	int			gcol;			/* ranking: the query column, or -1 */
	double	  **p;				/* per output: linked score (or raw, ranking) */
	double	  **y;
	int64	   *n;
	double	   *groups;
} CollectArg;

static void
CollectChunk(void *arg, int c, int rows, const float *out)
{
	CollectArg *a = arg;
	const RfHead *head = a->head;

	for (int i = 0; i < rows; i++)
	{
		const double *y = RfChunkD(a->Y, c) + (Size) i * a->Y->ncols;

		if (a->gcol >= 0)
		{
			/* raw outputs order rows as the linked scores do */
			a->p[0][a->n[0]] = out[(Size) i * a->trunk->nout + head->offset];
			a->y[0][a->n[0]] = y[head->ycol];
			a->groups[a->n[0]++] = y[a->gcol];
			continue;
		}
		for (int k = 0; k < head->nout; k++)
		{
			double		yk = y[head->ycol + k];
			double		z = out[(Size) i * a->trunk->nout + head->offset + k];

			if (isnan(yk))
				continue;
			a->p[k][a->n[k]] = 1.0 / (1.0 + exp(-z));
			a->y[k][a->n[k]++] = yk;
		}
	}
}

static void
CollectInit(CollectArg *a, const RfTrunk *t, const RfHead *head, const RfMatrix *X,
			const RfMatrix *Y, int gcol)
{
	int			nk = gcol >= 0 ? 1 : head->nout;
	Size		size = sizeof(double) * Max(X->nrows, 1);

	a->trunk = t;
	a->head = head;
	a->Y = Y;
	a->gcol = gcol;
	a->p = palloc(sizeof(double *) * nk);
	a->y = palloc(sizeof(double *) * nk);
	a->n = palloc0(sizeof(int64) * nk);
	for (int k = 0; k < nk; k++)
	{
		a->p[k] = MemoryContextAllocHuge(CurrentMemoryContext, size);
		a->y[k] = MemoryContextAllocHuge(CurrentMemoryContext, size);
	}
	a->groups = gcol >= 0 ? MemoryContextAllocHuge(CurrentMemoryContext, size) : NULL;
}

/* Each label's threshold, the one that maximises its F1 on the given rows. */
static void
TuneLabelThresholds(const RfTrunk *t, RfHead *head, const RfMatrix *X, const RfMatrix *Y)
{
	CollectArg	a;

	CollectInit(&a, t, head, X, Y, -1);
	TrunkForwardMatrix(t, X, CollectChunk, &a);
	head->label_thresholds = palloc(sizeof(double) * head->nout);
	for (int k = 0; k < head->nout; k++)
		head->label_thresholds[k] = a.n[k] > 0 ? EvalBestF1ThresholdOf(a.p[k], a.y[k], a.n[k]) : 0.5;
}

/* Ranking metrics of the first head over grouped rows (see EvalRankingJson). */
static void
RankingRows(const RfTrunk *t, const RfMatrix *X, const RfMatrix *Y, int gcol, StringInfo buf)
{
	CollectArg	a;

	CollectInit(&a, t, &t->heads[0], X, Y, gcol);
	TrunkForwardMatrix(t, X, CollectChunk, &a);
	EvalRankingJson(buf, a.groups, a.p[0], a.y[0], a.n[0], 10);
}

/* Regression metrics of a set from its second moments (no MAE without rows). */
static void
EvaluateGram(RfGram *g, const RfEncoder *enc, const RfTrunk *t, int64 rows, StringInfo buf, double *rmse)
{
	double		n = GramRows(g);	/* the rows' weights, summed */
	double		sse;
	double		sst;

	t->family->moments_errors(t, g, enc, &sse, &sst);
	*rmse = sqrt(sse / n);
	appendStringInfo(buf, "{\"rows\": %lld, ", (long long) rows);
	if (n != rows)
	{
		appendStringInfoString(buf, "\"weight\": ");
		JsonAppendNumber(buf, n);
		appendStringInfoString(buf, ", ");
	}
	appendStringInfoString(buf, "\"rmse\": ");
	JsonAppendNumber(buf, *rmse);
	appendStringInfoString(buf, ", \"r2\": ");
	JsonAppendNumber(buf, sst > 0 ? 1.0 - sse / sst : get_float8_nan());
	appendStringInfoChar(buf, '}');
}

/*
 * Class weights fit a model of the weighted data, whose scores overstate
 * the heavier classes: q_k is proportional to w_k p_k.  Each weighted
 * binary or multiclass head's raw outputs are shifted by -log w_k, which
 * turns q back into p, the probabilities of the data; the decision stays
 * the weighted model's (a binary threshold of w0 / (w0 + w1) unless one
 * was given, a multiclass argmax of w_k p_k).
 */
void
TrainCalibrateClassWeights(RfTrainState *ts)
{
	RfTrunk    *t = ts->trunk;
	double	   *delta = palloc0(sizeof(double) * t->nout);
	bool		any = false;

	for (int h = 0; h < t->nheads; h++)
	{
		RfHead	   *head = &t->heads[h];
		const double *w = ts->targets[h].class_weight;

		if (w == NULL || head->parent_of || (head->kind != RF_HEAD_BINARY && head->kind != RF_HEAD_MULTICLASS))
			continue;
		any = true;
		if (head->kind == RF_HEAD_BINARY)
		{
			delta[head->offset] = -log(w[1] / w[0]);
			if (isnan(ts->opts->threshold))
				head->threshold = w[0] / (w[0] + w[1]);
			continue;
		}
		head->decision_weights = palloc(sizeof(double) * head->nout);
		for (int k = 0; k < head->nout; k++)
		{
			delta[head->offset + k] = -log(w[k]);
			head->decision_weights[k] = w[k];
		}
	}
	if (any)
		t->family->shift_outputs(t, delta);
}

/* Tunes decision thresholds for F1 where asked, on validation rows if any. */
static void
TrainTuneThresholds(RfTrainState *ts, RfEvalAcc *acc_tr, RfEvalAcc *acc_va)
{
	RfTrunk    *t = ts->trunk;
	RfHead	   *head = &t->heads[0];

	if (!ts->opts->threshold_f1)
		return;
	if (head->kind == RF_HEAD_MULTILABEL)
		TuneLabelThresholds(t, head, acc_va ? ts->Xva : ts->Xtr, acc_va ? ts->Yv : ts->Y);
	else if (head->kind == RF_HEAD_BINARY)
		head->threshold = EvalBestF1Threshold(acc_va ? &acc_va[0] : &acc_tr[0]);
	else
		return;
	EvaluateRows(ts, 0, acc_tr, false);
	if (acc_va)
		EvaluateRows(ts, 1, acc_va, true);
}

/* Training and validation metrics, the selection metric, ranking metrics. */
void
TrainEvaluate(RfTrainState *ts)
{
	RfTrunk    *t = ts->trunk;
	StringInfo	m = &ts->metrics;
	RfEvalAcc  *acc_tr = palloc(sizeof(RfEvalAcc) * t->nheads);
	RfEvalAcc  *acc_va = NULL;

	ProgressPhase("evaluating");
	initStringInfo(m);
	if (ts->gradient)
	{
		GradientEvaluate(ts, m);
		return;
	}
	appendStringInfoString(m, "{\"training\": ");
	if (ts->streaming)
	{
		double		rmse;

		EvaluateGram(ts->gram[0], ts->enc, t, ts->nrows[0], m, &rmse);
		ts->train_loss = rmse * rmse;
		if (ts->nrows[1] > 0)
		{
			appendStringInfoString(m, ", \"validation\": ");
			EvaluateGram(ts->gram[1], ts->enc, t, ts->nrows[1], m, &ts->selection);
		}
		appendStringInfoChar(m, '}');
		return;
	}
	/* every score is kept only where needed: validation, or F1 tuning */
	EvaluateRows(ts, 0, acc_tr, ts->opts->threshold_f1 && ts->nrows[1] == 0);
	if (ts->nrows[1] > 0)
	{
		acc_va = palloc(sizeof(RfEvalAcc) * t->nheads);
		EvaluateRows(ts, 1, acc_va, true);
	}
	TrainTuneThresholds(ts, acc_tr, acc_va);
	HeadsJson(t, acc_tr, m, &ts->train_loss, true);
	if (acc_va)
	{
		appendStringInfoString(m, ", \"validation\": ");
		HeadsJson(t, acc_va, m, &ts->selection, false);
		if (ts->gdict && t->heads[0].kind != RF_HEAD_MULTICLASS)
		{
			appendStringInfoString(m, ", \"ranking\": ");
			RankingRows(t, ts->Xva, ts->Yv, ts->ntargets, m);
		}
	}
	appendStringInfoChar(m, '}');
	TrainPhase(ts, "evaluated");
}

const char *
TrainSelectionName(RfTrainState *ts)
{
	return ts->trunk->nheads > 1 ? "weighted loss" : EvalSelectionName(&ts->trunk->heads[0]);
}
