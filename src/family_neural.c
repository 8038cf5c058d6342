/*
 * family_neural.c
 *		The neural family: hidden ReLU layers shared by every head (hard
 *		sharing) or one block of units per head kept close by a penalty
 *		(soft sharing), fitted by mini-batch Adam with early stopping on the
 *		validation rows.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"

#include "reframe.h"
#include "family.h"
#include "network.h"
#include "objectives.h"
#include "optim.h"

static void
NeuralCreate(RfTrunk *t, const RfOptions *opts, int nin)
{
	RfNet	   *net;

	if (!opts->soft_sharing)
	{
		t->state = NetCreate(nin, opts->nhidden, opts->hidden, t->nheads, t->heads);
		return;
	}
	/* one block of each hidden layer per head */
	if (t->nheads < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"sharing\": \"soft\" needs a hidden trunk and two or more heads"),
				 errhint("Add \"hidden\": [...] and name several targets.")));
	{
		int		   *sizes = palloc(sizeof(int) * opts->nhidden);

		for (int l = 0; l < opts->nhidden; l++)
			sizes[l] = opts->hidden[l] * t->nheads;
		net = NetCreate(nin, opts->nhidden, sizes, t->nheads, t->heads);
	}
	net->soft_tasks = t->nheads;
	t->state = net;
}

/* He initialisation of the hidden layers, from the seed: N(0, 2 / fan_in). */
static void
InitHidden(RfNet *net, int64 seed)
{
	pg_prng_state rng;

	pg_prng_seed(&rng, (uint64) seed * UINT64CONST(0x9E3779B97F4A7C15) + 7);
	for (int l = 0; l < net->nhidden; l++)
	{
		int			nin = NetLayerIn(net, l);
		double		sd = sqrt(2.0 / nin);
		int64		nw = (int64) net->hidden[l] * nin;

		if (net->soft_tasks && l > 0)
			sd = sqrt(2.0 * net->soft_tasks / nin);	/* a unit sees its task's block only */
		for (int64 k = 0; k < nw; k++)
		{
			/* Box-Muller */
			double		u1 = Max(pg_prng_double(&rng), 1e-300);
			double		u2 = pg_prng_double(&rng);

			net->params[net->w_off[l] + k] = NetWeightAllowed(net, l, (int) (k / nin), (int) (k % nin)) ?
				sd * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2) : 0;
		}
	}
}

static void
NeuralFit(RfTrunk *t, RfFitData *d, RfFitResult *res)
{
	RfNet	   *net = t->state;
	double	   *x = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * net->nparams);
	double	  **cw;
	double	   *shift;
	double	   *scale;
	RfObjective *train;
	RfObjective *valid = NULL;
	RfAdamOptions o;

	res->solver = "adam";
	NetFitArrays(net, d, &cw, &shift, &scale);
	RfBudgetCharge(d->budget, 2 * sizeof(double) * (Size) (d->X->nrows + d->Xva->nrows) * net->nheads,
				   "training");
	train = ObjectiveCreate(net, d->X, d->Y, d->opts->l2, cw, shift, scale);
	train->sharing_strength = d->opts->sharing_strength;
	if (d->Xva->nrows > 0)
		valid = ObjectiveCreate(net, d->Xva, d->Yva, 0.0, cw, shift, scale);
	InitHidden(net, d->opts->seed);
	NetStartAtBaseRates(net, d);
	memcpy(x, net->params, sizeof(double) * net->nparams);
	o.batch_size = d->opts->batch_size;
	o.epochs = d->opts->epochs;
	o.learning_rate = d->opts->learning_rate;
	o.patience = d->opts->patience;
	o.seed = d->opts->seed;
	AdamMinimize(train, valid, x, &o, d->opts->verbose ? d->model_name : NULL, &res->opt);
	memcpy(net->params, x, sizeof(double) * net->nparams);
	NetDestandardizeHeads(net, d->targets);
	if (!res->opt.converged)
		ereport(NOTICE,
				(errmsg("model \"%s\": Adam ran all %d epochs without stopping early",
						d->model_name, res->opt.iterations),
				 errhint("Raise \"epochs\" or \"learning_rate\".")));
}

/*
 * An approximation: the base is the output at the training mean (every
 * encoded input 0), each input's contribution what the output loses when
 * that input alone goes back to 0 (occlusion), and what they leave out of
 * the output, the inputs' interactions, is the rest.
 */
static void
NeuralExplain(const RfTrunk *t, const double *x, int output, double *contrib, double *base,
			  double *rest)
{
	RfNet	   *net = t->state;
	double	   *xi = palloc(sizeof(double) * Max(net->nin, 1));
	double	   *out = palloc(sizeof(double) * net->nout);
	double	   *scratch = palloc(sizeof(double) * 2 * NetMaxWidth(net));
	double		full;
	double		sum = 0;

	memset(xi, 0, sizeof(double) * net->nin);
	NetForwardRow(net, xi, out, scratch);
	*base = out[output];
	memcpy(xi, x, sizeof(double) * net->nin);
	NetForwardRow(net, xi, out, scratch);
	full = out[output];
	for (int j = 0; j < net->nin; j++)
	{
		contrib[j] = 0;
		if (x[j] == 0)
			continue;
		xi[j] = 0;
		NetForwardRow(net, xi, out, scratch);
		contrib[j] = full - out[output];
		sum += contrib[j];
		xi[j] = x[j];
	}
	*rest = full - *base - sum;
}

const RfFamily ReframeNeuralFamily = {
	.name = "neural",
	.create = NeuralCreate,
	.fit = NeuralFit,
	.forward_row = NetTrunkForwardRow,
	.row_scratch = NetTrunkRowScratch,
	.batch_begin = NetTrunkBatchBegin,
	.forward_batch = NetTrunkForwardBatch,
	.to_json = NetTrunkToJson,
	.blocks = NetTrunkBlocks,
	.from_json = NetTrunkFromJson,
	.set_block = NetTrunkSetBlock,
	.check_loaded = NetTrunkCheckLoaded,
	.fold_encoder = NULL,
	.explain = NeuralExplain,
};
