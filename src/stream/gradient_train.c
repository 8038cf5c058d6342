/*
 * gradient_train.c
 *		Training by streaming L-BFGS (see gradient.c for the pass): each
 *		evaluation of the objective one reframe.gradient pass, "l2": "auto"'s
 *		path on passes, and the metrics from a last pass.
 */
#include "postgres.h"

#include "utils/float.h"

#include "network.h"
#include "gradient_int.h"

/* The raw outputs at each head's (weighted) training base rate, as HeadsBaseMargins has them. */
static void
BaseMargins(RfTrainState *ts, const RfTrunk *t, double *b)
{
	PassResult *r = ts->gcounts;

	for (int h = 0; h < t->nheads; h++)
	{
		const RfHead *head = &t->heads[h];
		int			nout = r->view.heads[h].nout;
		const double *cw = GradientSumsArray(GradientSumsOf(r, h, 0), nout, 1);
		const double *pw = GradientSumsArray(GradientSumsOf(r, h, 0), nout, 2);
		/* a binary head's weights of 0 and 1 */
		double		binary[2] = {pw[0] - cw[0], cw[0]};

		HeadBaseMargin(head, head->kind == RF_HEAD_BINARY ? binary : cw, NULL, pw, b + head->offset);
	}
}

typedef struct GradientObjective
{
	RfTrainState *ts;
	RfNet	   *net;
	double		l2;
	int			inner_fold;		/* -1, or the inner fold held out */
} GradientObjective;

/* The objective at params: one pass over the source. */
static double
GradientEval(void *arg, const double *params, double *grad)
{
	GradientObjective *o = arg;
	RfNet	   *net = o->net;
	RfTrainState *ts = o->ts;
	int			width = NetLayerIn(net, 0);
	const double *W = params + net->w_off[0];
	PassResult	r;
	double	   *g;
	double		penalty = 0;
	double		loss = 0;
	double		rows = 0;

	GradientRun(ts, GradientConfigBuild(ts, net->heads, net->nheads, W, params + net->b_off[0], PASS_FIT, NULL,
								o->inner_fold), &r);
	g = r.st ? STATE_D(r.st) - STATE_COMMON + r.view.grad_at : NULL;
	memset(grad, 0, sizeof(double) * net->nparams);
	for (int h = 0; h < net->nheads && r.st; h++)
	{
		const RfHead *head = &net->heads[h];
		HeadSums   *s = GradientSumsOf(&r, h, 0);
		/* each head's loss is its weight times its rows' mean, as in heads.c */
		double		norm = s->weight > 0 ? head->weight / s->weight : 0;

		rows += s->rows;
		loss += norm * s->loss;
		for (int k = head->offset; k < head->offset + head->nout; k++)
		{
			for (int j = 0; j < width; j++)
				grad[net->w_off[0] + (Size) k * width + j] = norm * g[(Size) k * width + j];
			grad[net->b_off[0] + k] = norm * g[(Size) net->nout * width + k];
		}
	}
	if (rows <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("model \"%s\": no training rows with a positive weight", ts->model_name)));
	for (int64 j = 0; j < (int64) net->nout * width; j++)
	{
		grad[net->w_off[0] + j] += 2.0 * o->l2 * W[j];
		penalty += W[j] * W[j];
	}
	pfree(r.st);
	return loss + o->l2 * penalty;
}

static void AccFromSums(RfEvalAcc *acc, const RfHead *head, PassResult *r, int h, int set, double center);

/*
 * A pass that sums the metrics of the trunk's parameters (in the targets'
 * units), each regression target's sums about its mean (center, per head).
 */
static void
EvaluationPass(RfTrainState *ts, RfTrunk *t, int inner_fold, double *center, PassResult *r)
{
	RfNet	   *net = t->state;

	for (int h = 0; h < t->nheads; h++)
		center[h] = t->heads[h].kind == RF_HEAD_REGRESSION ? ts->targets[h].mean : 0;
	GradientRun(ts, GradientConfigBuild(ts, t->heads, t->nheads, net->params + net->w_off[0],
								net->params + net->b_off[0], PASS_EVAL, center, inner_fold), r);
}

/*
 * The held-out selection metric of the net's parameters (in the targets'
 * units), weighted over the heads as HeldOutSelection weighs it: the
 * validation rows, or inner fold k of the training rows.
 */
static double
HeldOutSelection(RfTrainState *ts, RfTrunk *t, int inner_fold)
{
	double		center[RF_MAX_TARGETS];
	RfEvalAcc	acc;
	PassResult	r;
	double		total = 0;
	double		weights = 0;

	EvaluationPass(ts, t, inner_fold, center, &r);
	for (int h = 0; h < t->nheads && r.st; h++)
	{
		AccFromSums(&acc, &t->heads[h], &r, h, 1, center[h]);
		if (acc.n > 0)
		{
			total += t->heads[h].weight * EvalAccSelection(&acc);
			weights += t->heads[h].weight;
		}
	}
	if (weights == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("model \"%s\": too few rows to choose \"l2\" by %s", ts->model_name,
						inner_fold >= 0 ? "5-fold cross-validation" : "the validation rows"),
				 errhint("Give \"l2\" a number.")));
	return total / weights;
}

/* The path of "l2": "auto" by passes: split k is an inner fold, or the validation rows. */
typedef struct StreamPath
{
	RfTrainState *ts;
	RfFitData	sub;
	RfOptions	opts;
	int			nsplits;
} StreamPath;

static double
StreamPathFit(void *arg, RfTrunk *t, int k, double l2)
{
	StreamPath *sp = arg;
	RfNet	   *net = t->state;
	GradientObjective o = {.ts = sp->ts,.net = net,.l2 = l2,.inner_fold = sp->nsplits > 1 ? k : -1};
	RfFitResult r = {0};

	sp->opts.l2 = l2;
	BaseMargins(sp->ts, t, net->params + net->b_off[0]);
	NetMinimizeLbfgs(net, &sp->sub, &r, GradientEval, &o);
	return HeldOutSelection(sp->ts, t, o.inner_fold);
}

/*
 * "l2": "auto" on passes, as on the rows (family_linear.c): 5-fold
 * cross-validation of the training rows while rows times parameters are
 * at most RF_L2_CV_WORK or nothing is held out, else the validation rows.
 */
static void
GradientChooseL2(RfTrunk *t, RfFitData *d, RfFitResult *res)
{
	RfTrainState *ts = d->stream;
	StreamPath *sp = palloc0(sizeof(StreamPath));
	RfL2Path	path = {.fit = StreamPathFit,.arg = sp,.rows = ts->nrows[0]};
	bool		cv = (double) ts->nrows[0] * ((RfNet *) t->state)->nparams <= RF_L2_CV_WORK ||
		ts->nrows[1] == 0 || ts->with_validation;

	sp->ts = ts;
	sp->sub = *d;
	sp->opts = *d->opts;
	sp->sub.opts = &sp->opts;
	sp->sub.quiet = true;
	sp->nsplits = path.nsplits = cv ? RF_L2_FOLDS : 1;
	LinearChooseL2(t, d, res, &path);
}

/* L-BFGS on the passes, from the heads' base rates; "l2": "auto" chooses the penalty first. */
void
GradientFit(RfTrunk *t, RfFitData *d, RfFitResult *res)
{
	RfNet	   *net = t->state;
	RfTrainState *ts = d->stream;
	GradientObjective o = {.ts = ts,.net = net,.inner_fold = -1};

	memset(net->params, 0, sizeof(double) * net->nparams);
	if (d->opts->l2_auto && !d->quiet)
		GradientChooseL2(t, d, res);
	res->solver = "lbfgs (streaming passes)";
	o.l2 = d->opts->l2;
	BaseMargins(ts, t, net->params + net->b_off[0]);
	NetMinimizeLbfgs(net, d, res, GradientEval, &o);
}

/* A head's metrics accumulator from a pass's sums. */
static void
AccFromSums(RfEvalAcc *acc, const RfHead *head, PassResult *r, int h, int set, double center)
{
	HeadSums   *s = GradientSumsOf(r, h, set);
	const double *arr = (double *) s + SUMS_SCALARS + 4 * head->nout;
	int			K = ConfusionK(&r->view.heads[h]);

	EvalAccInit(acc, head, false);
	GradientSumsToAcc(s, acc);
	acc->ymean = s->weight > 0 ? center + s->ysum / s->weight : 0;
	acc->ym2 = s->weight > 0 ? s->yysum - s->ysum * s->ysum / s->weight : 0;
	if (K)
		memcpy(acc->confusion, arr, sizeof(double) * K * K);
	/* as the rows' path, which keeps the validation rows' scores only */
	if (head->kind == RF_HEAD_BINARY && set == 1)
		EvalAccFromBins(acc, arr + K * K);
	if (head->kind == RF_HEAD_MULTILABEL)
	{
		memcpy(acc->tp, arr, sizeof(double) * head->nout);
		memcpy(acc->fp, arr + head->nout, sizeof(double) * head->nout);
		memcpy(acc->fn, arr + 2 * head->nout, sizeof(double) * head->nout);
	}
}

/*
 * The metrics of the fitted model, from one more pass: every head's
 * training and validation figures as the rows' path reports them (the ROC
 * AUC from a histogram of the scores).
 */
void
GradientEvaluate(RfTrainState *ts, StringInfo m)
{
	RfTrunk    *t = ts->trunk;
	double		center[RF_MAX_TARGETS];
	PassResult	r;
	RfEvalAcc  *acc = palloc(sizeof(RfEvalAcc) * t->nheads);

	EvaluationPass(ts, t, -1, center, &r);
	if (r.st == NULL)
		elog(ERROR, "reframe: the source had no rows in the evaluation pass");
	appendStringInfoString(m, "{\"training\": ");
	for (int h = 0; h < t->nheads; h++)
		AccFromSums(&acc[h], &t->heads[h], &r, h, 0, center[h]);
	HeadsJson(t, acc, m, &ts->train_loss, true);
	if (GradientSumsOf(&r, 0, 1)->rows > 0 || (t->nheads > 1 && ts->nrows[1] > 0 && !ts->with_validation))
	{
		appendStringInfoString(m, ", \"validation\": ");
		for (int h = 0; h < t->nheads; h++)
			AccFromSums(&acc[h], &t->heads[h], &r, h, 1, center[h]);
		HeadsJson(t, acc, m, &ts->selection, false);
	}
	appendStringInfoChar(m, '}');
}
