/*
 * family_linear.c
 *		The linear family: the encoded features feed the heads directly (a
 *		network without hidden layers).  Squared loss on one head is ridge
 *		regression, solved exactly (from streamed second moments when the
 *		rows were not kept); every other framing is fitted by L-BFGS.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/float.h"

#include "reframe.h"
#include "family.h"
#include "network.h"
#include "objectives.h"
#include "optim.h"
#include "ridge.h"
#include "evaluate.h"
#include "jsonutil.h"
#include "gram.h"

static void
LinearCreate(RfTrunk *t, const RfOptions *opts, int nin)
{
	t->state = NetCreate(nin, 0, NULL, t->nheads, t->heads);
}

static void
LinearFitLbfgs(RfNet *net, RfFitData *d, RfFitResult *res)
{
	double	  **cw;
	double	   *shift;
	double	   *scale;
	RfObjective *obj;

	NetFitArrays(net, d, &cw, &shift, &scale);
	/* the objective keeps a weight and a target per row and classification head */
	RfBudgetCharge(d->budget, 2 * sizeof(double) * (Size) d->X->nrows * net->nheads, "training");
	obj = ObjectiveCreate(net, d->X, d->Y, d->opts->l2, cw, shift, scale);
	/* a tolerance asked below the default: a gradient summed in double precision */
	obj->precise = d->opts->tol < 1e-4;
	if (d->warm)
		NetStartFrom(net, d);
	else
		NetStartAtBaseRates(net, d);
	NetMinimizeLbfgs(net, d, res, ObjectiveEval, obj);
}


static void
LinearFit(RfTrunk *t, RfFitData *d, RfFitResult *res)
{
	RfNet	   *net = t->state;
	RfHead	   *head = &t->heads[0];

	if (d->stream)
	{
		d->stream_fit(t, d, res);
		return;
	}
	if (d->opts->l2_auto && !d->quiet)
		LinearChooseL2(t, d, res, NULL);
	res->opt.iterations = 1;
	res->opt.converged = true;
	if (d->gram)
	{
		res->solver = "streaming normal equations (cholesky)";
		GramSolve(d->gram, d->enc, d->opts->l2, net->params + net->w_off[0],
				  net->params + net->b_off[0]);
	}
	else if (t->nheads == 1 && head->kind == RF_HEAD_REGRESSION && head->loss == RF_LOSS_SQUARED)
	{
		res->solver = "normal equations (cholesky)";
		RidgeFit(d->X, d->Y, 0, head->wcol, d->opts->l2, net->params + net->w_off[0],
				 net->params + net->b_off[0]);
	}
	else
	{
		res->solver = "lbfgs";
		LinearFitLbfgs(net, d, res);
	}
}

/* ---------- "l2": "auto" ---------- */

/* Folds for small data; above this many training rows the validation rows choose. */
#define L2_FOLDS RF_L2_FOLDS
#define L2_CV_WORK RF_L2_CV_WORK
/* Penalties in a row without betterment that end the path */
#define L2_PATIENCE 3
/* Beyond twice this many training rows the path fits on a sample of this many (PathSample) */
#define L2_PATH_ROWS RF_L2_PATH_ROWS
/* The path starts at this many times parameters / rows (see RowPathLosses) */
#define L2_ROWS_PER_PARAM 1000.0

/* The path, strongest penalty first: each fit starts from the previous one. */
static const double l2_path[] = {10, 3, 1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 3e-4, 1e-4, 1e-5, 1e-6};

/* The heads' selection metric (weighted over heads) of the net on rows X, Y. */
static double
HeldOutSelection(RfTrunk *t, const RfMatrix *X, const RfMatrix *Y)
{
	RfEvalAcc  *acc = palloc(sizeof(RfEvalAcc) * t->nheads);
	double		total = 0;
	double		weights = 0;

	for (int h = 0; h < t->nheads; h++)
		EvalAccInit(&acc[h], &t->heads[h], false);
	TrunkEvaluateMatrix(t, X, Y, NULL, acc);
	for (int h = 0; h < t->nheads; h++)
		if (acc[h].n > 0)
		{
			total += t->heads[h].weight * EvalAccSelection(&acc[h]);
			weights += t->heads[h].weight;
		}
	return weights > 0 ? total / weights : get_float8_nan();
}

/* The rows of X, Y whose fold is (or, with !in, is not) k. */
static void
FoldRows(RfFitData *d, int k, bool in, RfMatrix **X, RfMatrix **Y)
{
	*X = RfMatrixCreate(d->X->ncols, sizeof(float), d->budget);
	*Y = RfMatrixCreate(d->Y->ncols, sizeof(double), d->budget);
	for (int64 i = 0; i < d->X->nrows; i++)
	{
		if ((ReframeInnerFold(d->draw[i], L2_FOLDS) == k) != in)
			continue;
		memcpy(RfMatrixAppendRowF(*X), RfMatrixRowF(d->X, i), sizeof(float) * d->X->ncols);
		memcpy(RfMatrixAppendRow(*Y), RfMatrixRow(d->Y, i), sizeof(double) * d->Y->ncols);
	}
}

/* One held-out split of the path: rows to fit on, rows to measure on, its last fit. */
typedef struct PathSplit
{
	RfMatrix   *X, *Y, *Xho, *Yho;
	double	   *params;
} PathSplit;

/*
 * Which part of a sample a row whose split draw is u falls in, each part a
 * share of the rows: 0, 1, or -1 for neither.  Drawn from bits of the draw
 * below the inner folds' (ReframeInnerFold), so independent of them.
 */
static int
PathSamplePart(double u, double share)
{
	double		v = u * 4294967296.0;
	double		f = v - floor(v);

	return f < share ? 0 : f < 2 * share ? 1 : -1;
}

/*
 * With many training rows the path fits on a seeded sample of L2_PATH_ROWS
 * of them, measured on the validation rows (as many at most, sampled the
 * same way; without validation rows, on a second sample of the training
 * rows); the penalty it chooses is then scaled to
 * the rows the final fit has (an L2 penalty on a mean loss weighs as
 * 1 / rows against the data: the same prior is l2 * sample / rows).
 */
static void
PathSample(RfFitData *d, PathSplit *s, double *scale)
{
	double		share = (double) L2_PATH_ROWS / d->X->nrows;

	s->X = RfMatrixCreate(d->X->ncols, sizeof(float), d->budget);
	s->Y = RfMatrixCreate(d->Y->ncols, sizeof(double), d->budget);
	if (d->Xva->nrows > 0 && (d->Xva->nrows <= L2_PATH_ROWS || d->draw_va == NULL))
		s->Xho = d->Xva, s->Yho = d->Yva;
	else
	{
		s->Xho = RfMatrixCreate(d->X->ncols, sizeof(float), d->budget);
		s->Yho = RfMatrixCreate(d->Y->ncols, sizeof(double), d->budget);
	}
	/* many validation rows: the path is measured on a sample of them */
	for (int64 i = 0; s->Xho != d->Xva && i < d->Xva->nrows; i++)
	{
		if (PathSamplePart(d->draw_va[i], (double) L2_PATH_ROWS / d->Xva->nrows) != 0)
			continue;
		memcpy(RfMatrixAppendRowF(s->Xho), RfMatrixRowF(d->Xva, i), sizeof(float) * d->X->ncols);
		memcpy(RfMatrixAppendRow(s->Yho), RfMatrixRow(d->Yva, i), sizeof(double) * d->Y->ncols);
	}
	for (int64 i = 0; i < d->X->nrows; i++)
	{
		int			part = PathSamplePart(d->draw[i], share);
		RfMatrix   *X = part == 0 ? s->X : s->Xho;
		RfMatrix   *Y = part == 0 ? s->Y : s->Yho;

		if (part < 0 || (part == 1 && d->Xva->nrows > 0))
			continue;
		memcpy(RfMatrixAppendRowF(X), RfMatrixRowF(d->X, i), sizeof(float) * d->X->ncols);
		memcpy(RfMatrixAppendRow(Y), RfMatrixRow(d->Y, i), sizeof(double) * d->Y->ncols);
	}
	*scale = (double) s->X->nrows / d->X->nrows;
}

/*
 * The kept rows' splits: 5 folds, or the training and validation rows, or
 * a sample of many training rows (PathSample, *scale below 1).
 */
static int
PathSplits(RfFitData *d, int64 nparams, PathSplit **out, double *scale)
{
	bool		sampled = d->X->nrows > 2 * L2_PATH_ROWS && d->draw != NULL;
	bool		cv = !sampled && ((double) d->X->nrows * nparams <= L2_CV_WORK || d->Xva->nrows == 0);
	int			n = cv ? L2_FOLDS : 1;
	PathSplit  *s = palloc0(sizeof(PathSplit) * n);

	*scale = 1;
	if (sampled)
	{
		PathSample(d, s, scale);
		s->params = palloc0(sizeof(double) * nparams);
		*out = s;
		return 1;
	}

	if (cv && d->draw == NULL)
		elog(ERROR, "reframe: no split draws to fold the rows by");
	for (int k = 0; k < n; k++)
	{
		if (cv)
		{
			FoldRows(d, k, false, &s[k].X, &s[k].Y);
			FoldRows(d, k, true, &s[k].Xho, &s[k].Yho);
		}
		else
		{
			s[k].X = d->X, s[k].Y = d->Y;
			s[k].Xho = d->Xva, s[k].Yho = d->Yva;
		}
		if (s[k].X->nrows == 0 || s[k].Xho->nrows == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("model \"%s\": too few rows to choose \"l2\" by %d-fold cross-validation",
							d->model_name, L2_FOLDS),
					 errhint("Give \"l2\" a number.")));
		s[k].params = palloc0(sizeof(double) * nparams);
	}
	*out = s;
	return n;
}

/*
 * The path's mean held-out selection metric, penalty by penalty: each
 * split fitted at the penalty (path->fit) and measured on its held-out
 * rows.  Classification heads start each fit from the split's previous one
 * (regression heads, whose outputs are rescaled after a fit, from zero).
 * The path stops once L2_PATIENCE penalties in a row have not bettered the
 * best by a relative 1e-4: past the minimum, or where the penalty no longer
 * matters.  *npath is the penalties measured; with one split, *start the
 * best fit's parameters (the final fit starts there).
 */
static void
LinearPathLosses(RfTrunk *t, const RfL2Path *path, double *loss, int *first, int *npath, double **start)
{
	RfNet	   *net = t->state;
	double	  **params = palloc(sizeof(double *) * path->nsplits);
	bool		warm = true;
	double		best = get_float8_infinity();
	int			stale = 0;
	int			p;

	for (int k = 0; k < path->nsplits; k++)
		params[k] = palloc0(sizeof(double) * net->nparams);
	for (int h = 0; h < t->nheads; h++)
		warm &= t->heads[h].kind != RF_HEAD_REGRESSION;
	/*
	 * With many rows per parameter the strongest penalties only underfit:
	 * the path starts at L2_ROWS_PER_PARAM * parameters / rows (the best
	 * penalty shrinks as 1 / rows; on 133 rows of 61 parameters it is 0.03,
	 * 0.07 of parameters / rows).
	 */
	for (p = 0; p < lengthof(l2_path) - 4 &&
		 l2_path[p] > L2_ROWS_PER_PARAM * net->nparams / (double) Max(path->rows, 1); p++)
		;
	*first = p;
	for (; p < lengthof(l2_path) && stale < L2_PATIENCE; p++)
	{
		for (int k = 0; k < path->nsplits; k++)
		{
			if (warm)
				memcpy(net->params, params[k], sizeof(double) * net->nparams);
			else
				memset(net->params, 0, sizeof(double) * net->nparams);
			loss[p] += path->fit(path->arg, t, k, l2_path[p]) / path->nsplits;
			memcpy(params[k], net->params, sizeof(double) * net->nparams);
			CHECK_FOR_INTERRUPTS();
		}
		stale = loss[p] < best * (1 - 1e-4) ? 0 : stale + 1;
		if (loss[p] < best && path->nsplits == 1 && warm)
		{
			*start = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * net->nparams);
			memcpy(*start, net->params, sizeof(double) * net->nparams);
		}
		best = Min(best, loss[p]);
	}
	*npath = p;
}

/* The rows' path: each split's rows in memory. */
typedef struct RowPath
{
	RfFitData	sub;
	RfOptions	opts;
	PathSplit  *splits;
} RowPath;

static double
RowPathFit(void *arg, RfTrunk *t, int k, double l2)
{
	RowPath    *rp = arg;
	RfFitResult r = {0};

	rp->opts.l2 = l2;
	rp->sub.X = rp->splits[k].X;
	rp->sub.Y = rp->splits[k].Y;
	LinearFit(t, &rp->sub, &r);
	return HeldOutSelection(t, rp->splits[k].Xho, rp->splits[k].Yho);
}

/*
 * The path over the kept rows: by 5-fold cross-validation of the training
 * rows while the rows times the parameters are at most L2_CV_WORK (or when
 * there are no validation rows), beyond that on the validation rows, which
 * then measure the loss closely enough for a fifth of the cost.
 */
static const char *
RowPathLosses(RfTrunk *t, RfFitData *d, double *loss, int *first, int *npath, double **start, double *scale)
{
	RowPath    *rp = palloc0(sizeof(RowPath));
	RfL2Path	path = {.fit = RowPathFit,.arg = rp};

	rp->sub = *d;
	rp->opts = *d->opts;
	rp->sub.opts = &rp->opts;
	rp->sub.quiet = true;
	path.nsplits = PathSplits(d, ((RfNet *) t->state)->nparams, &rp->splits, scale);
	path.rows = *scale < 1 ? rp->splits[0].X->nrows : d->X->nrows;
	LinearPathLosses(t, &path, loss, first, npath, start);
	if (*scale < 1)
		return d->Xva->nrows > 0 ? "validation rows, the path fitted on a sample of the training rows" :
			"a sample of the training rows, the path fitted on another";
	return path.nsplits > 1 ? "5-fold cross-validation" : "validation rows";
}

/* Adds the path's RMSE on the moments "ho" of a ridge fitted on the moments "tr". */
static void
GramPath(RfFitData *d, RfGram *tr, RfGram *ho, double *loss)
{
	double	   *w = palloc(sizeof(double) * Max(d->enc->width, 1));
	double		b;
	double		n = GramRows(ho);

	for (int p = 0; p < lengthof(l2_path); p++)
	{
		double		sse, sst;

		GramSolve(tr, d->enc, l2_path[p], w, &b);
		GramErrors(ho, d->enc, w, b, &sse, &sst);
		loss[p] += sqrt(sse / n);
	}
	pfree(w);
}

/*
 * The same from streamed moments (squared loss), always by 5-fold
 * cross-validation of the training rows' fold moments: one Cholesky
 * factorization per penalty and fold, and no row read again.
 */
static const char *
GramPathLosses(RfFitData *d, double *loss, int *first, int *npath)
{
	*first = 0;
	*npath = lengthof(l2_path);
	if (d->gram_folds == NULL)
		elog(ERROR, "reframe: no fold moments to choose \"l2\" by");
	for (int k = 0; k < L2_FOLDS; k++)
	{
		RfGram	   *ho = d->gram_folds[k];
		RfGram	   *tr = GramCreate(ho->R, ho->origin, ho->yorigin);

		for (int j = 0; j < L2_FOLDS; j++)
			if (j != k)
				GramMerge(tr, d->gram_folds[j]);
		if (GramRows(ho) == 0 || GramRows(tr) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("model \"%s\": too few rows to choose \"l2\" by %d-fold cross-validation",
							d->model_name, L2_FOLDS),
					 errhint("Give \"l2\" a number.")));
		GramPath(d, tr, ho, loss);
	}
	for (int p = 0; p < lengthof(l2_path); p++)
		loss[p] /= L2_FOLDS;
	return "5-fold cross-validation";
}

/*
 * "l2": "auto": the penalty of the path with the best held-out selection
 * metric, the folds drawn from the rows' split draws (ReframeInnerFold).
 * The choice and the path go to the spec.
 */
void
LinearChooseL2(RfTrunk *t, RfFitData *d, RfFitResult *res, const RfL2Path *path)
{
	double		loss[lengthof(l2_path)] = {0};
	int			first;
	int			npath;
	double	   *start = NULL;
	const char *method;
	RfNet	   *net = t->state;
	int			best;
	StringInfoData buf;
	const char *metric = t->nheads > 1 ? "weighted loss" : EvalSelectionName(&t->heads[0]);
	double		scale = 1;		/* the path's rows over the final fit's (PathSample) */

	if (path)
	{
		LinearPathLosses(t, path, loss, &first, &npath, &start);
		method = path->nsplits > 1 ? "5-fold cross-validation" : "validation rows";
	}
	else
		method = d->gram ? GramPathLosses(d, loss, &first, &npath) :
			RowPathLosses(t, d, loss, &first, &npath, &start, &scale);
	best = first;

	for (int p = first + 1; p < npath; p++)
		if (loss[p] < loss[best])
			best = p;
	d->opts->l2 = l2_path[best] * scale;
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"l2\": ");
	JsonAppendNumber(&buf, d->opts->l2);
	appendStringInfo(&buf, ", \"method\": \"%s\", \"metric\": \"%s\", ", method, metric);
	if (scale < 1)
	{
		/* the path's penalties are the sample's */
		appendStringInfoString(&buf, "\"path_scale\": ");
		JsonAppendNumber(&buf, scale);
		appendStringInfoString(&buf, ", ");
	}
	appendStringInfoString(&buf, "\"path\": [");
	for (int p = first; p < npath; p++)
	{
		appendStringInfoString(&buf, p > first ? ", {\"l2\": " : "{\"l2\": ");
		JsonAppendNumber(&buf, l2_path[p]);
		appendStringInfoString(&buf, ", \"loss\": ");
		JsonAppendNumber(&buf, loss[p]);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");
	res->choice = buf.data;
	if (start)
		memcpy(net->params, start, sizeof(double) * net->nparams);
	else
		memset(net->params, 0, sizeof(double) * net->nparams);
}

/*
 * Over inputs that are only standardized (no categories), the encoder folds
 * into the weights: w / scale per raw input, the shifts into the bias.
 */
static bool
LinearFoldEncoder(const RfTrunk *t, const RfEncoder *enc, double **Wout, double **bout)
{
	RfNet	   *net = t->state;
	const double *W = net->params + net->w_off[0];
	const double *b = net->params + net->b_off[0];
	double	   *lin_w;
	double	   *lin_b;

	if (enc->has_category)
		return false;
	lin_w = palloc(sizeof(double) * net->nout * Max(enc->nraw, 1));
	lin_b = palloc(sizeof(double) * net->nout);
	for (int o = 0; o < net->nout; o++)
	{
		double		bias = b[o];

		for (int c = 0; c < enc->ncols; c++)
		{
			RfEncColumn *col = &enc->cols[c];

			for (int k = 0; k < col->length; k++)
			{
				int			r = col->raw + k;
				double		w = W[(int64) o * net->nin + col->slot + k] / enc->scale[r];

				lin_w[(int64) o * enc->nraw + r] = w;
				bias -= w * enc->shift[r];
			}
		}
		lin_b[o] = bias;
	}
	*Wout = lin_w;
	*bout = lin_b;
	return true;
}

static void
LinearMomentsErrors(const RfTrunk *t, RfGram *g, const RfEncoder *enc, double *sse, double *sst)
{
	RfNet	   *net = t->state;

	GramErrors(g, enc, net->params + net->w_off[0], net->params[net->b_off[0]], sse, sst);
}

/* Exact: each encoded input's term of the output, the bias as the base. */
static void
LinearExplain(const RfTrunk *t, const double *x, int output, double *contrib, double *base,
			  double *rest)
{
	RfNet	   *net = t->state;
	const double *W = net->params + net->w_off[0] + (int64) output * net->nin;

	for (int j = 0; j < net->nin; j++)
		contrib[j] = W[j] * x[j];
	*base = net->params[net->b_off[0] + output];
	*rest = 0;
}

/*
 * The spread of each column's term of the output: for a number its
 * standardized coefficient (what one standard deviation moves the output),
 * for a missing indicator what its presence does, and for a categorical
 * column the standard deviation of its values' coefficients (values
 * weighted alike), shared among its values by their squared deviations.
 * The mean over the outputs.
 */
static void
LinearImportance(const RfTrunk *t, const RfEncoder *enc, double *imp)
{
	RfNet	   *net = t->state;

	memset(imp, 0, sizeof(double) * net->nin);
	for (int o = 0; o < net->nout; o++)
	{
		const double *w = net->params + net->w_off[0] + (int64) o * net->nin;

		for (int j = 0; j < net->nin; j++)
			imp[j] += fabs(w[j]) / net->nout;
		for (int c = 0; c < enc->ncols; c++)
		{
			const RfEncColumn *col = &enc->cols[c];
			int			width = col->nbuckets > 0 ? col->nbuckets : col->nvocab;
			int			slots = col->nbuckets > 0 ? width : width + 1;	/* and "other" */
			double		mean = 0;
			double		ss = 0;

			if (col->kind != RF_CATEGORY || width == 0)
				continue;
			for (int k = 0; k < width; k++)
				mean += w[col->slot + k] / width;
			for (int k = 0; k < width; k++)
				ss += (w[col->slot + k] - mean) * (w[col->slot + k] - mean);
			for (int k = 0; k < slots; k++)
			{
				double		d = w[col->slot + k] - mean;

				imp[col->slot + k] -= fabs(w[col->slot + k]) / net->nout;
				if (k < width && ss > 0)
					imp[col->slot + k] += sqrt(ss / width) * d * d / ss / net->nout;
			}
		}
	}
}

static const char *const linear_options[] = {"max_iter", "tol", "streaming", NULL};

const RfFamily ReframeLinearFamily = {
	.name = "linear",
	.options = linear_options,
	.chooses_l2 = true,
	.streams = true,
	.candidate = "{}",
	.create = LinearCreate,
	.fit = LinearFit,
	.forward_row = NetTrunkForwardRow,
	.row_scratch = NetTrunkRowScratch,
	.batch_begin = NetTrunkBatchBegin,
	.forward_batch = NetTrunkForwardBatch,
	.to_json = NetTrunkToJson,
	.blocks = NetTrunkBlocks,
	.from_json = NetTrunkFromJson,
	.set_block = NetTrunkSetBlock,
	.check_loaded = NetTrunkCheckLoaded,
	.shift_outputs = NetTrunkShiftOutputs,
	.fold_encoder = LinearFoldEncoder,
	.moments_errors = LinearMomentsErrors,
	.explain = LinearExplain,
	.importance = LinearImportance,
};
