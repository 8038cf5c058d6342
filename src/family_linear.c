/*
 * family_linear.c
 *		The linear family: the encoded features feed the heads directly (a
 *		network without hidden layers).  Squared loss on one head is ridge
 *		regression, solved exactly (from streamed second moments when the
 *		rows were not kept); every other framing is fitted by L-BFGS.
 */
#include "postgres.h"

#include <math.h>

#include "reframe.h"
#include "family.h"
#include "network.h"
#include "objectives.h"
#include "optim.h"
#include "ridge.h"

static void
LinearCreate(RfTrunk *t, const RfOptions *opts, int nin)
{
	t->state = NetCreate(nin, 0, NULL, t->nheads, t->heads);
}

static void
LinearFitLbfgs(RfNet *net, RfFitData *d, RfFitResult *res)
{
	double	   *x = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * net->nparams);
	double	  **cw;
	double	   *shift;
	double	   *scale;
	RfObjective *obj;

	NetFitArrays(net, d, &cw, &shift, &scale);
	/* the objective keeps a weight and a target per row and classification head */
	RfBudgetCharge(d->budget, 2 * sizeof(double) * (Size) d->X->nrows * net->nheads, "training");
	obj = ObjectiveCreate(net, d->X, d->Y, d->opts->l2, cw, shift, scale);
	NetStartAtBaseRates(net, d);
	memcpy(x, net->params, sizeof(double) * net->nparams);
	LbfgsMinimize(ObjectiveEval, obj, x, net->nparams, d->opts->max_iter, d->opts->tol,
				  d->opts->verbose ? d->model_name : NULL, &res->opt);
	memcpy(net->params, x, sizeof(double) * net->nparams);
	NetDestandardizeHeads(net, d->targets);
	if (!res->opt.converged)
		ereport(NOTICE,
				(errmsg("model \"%s\": L-BFGS stopped after %d iterations without converging",
						d->model_name, res->opt.iterations),
				 errhint("Raise \"max_iter\", or loosen \"tol\" (now %g).", d->opts->tol)));
}

static void
LinearFit(RfTrunk *t, RfFitData *d, RfFitResult *res)
{
	RfNet	   *net = t->state;
	RfHead	   *head = &t->heads[0];

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
		RidgeFit(d->X, d->Y, 0, d->opts->l2, net->params + net->w_off[0],
				 net->params + net->b_off[0]);
	}
	else
	{
		res->solver = "lbfgs";
		LinearFitLbfgs(net, d, res);
	}
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

const RfFamily ReframeLinearFamily = {
	.name = "linear",
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
	.fold_encoder = LinearFoldEncoder,
	.moments_errors = LinearMomentsErrors,
	.explain = LinearExplain,
	.importance = LinearImportance,
};
