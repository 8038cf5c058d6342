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
#include "miscadmin.h"

#include "reframe.h"
#include "family.h"
#include "network.h"
#include "objectives.h"
#include "optim.h"

static void NeuralPermutationImportance(RfNet *net, RfFitData *d, double **cw, double *shift,
										double *scale);

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

/*
 * Small data trains by full-batch L-BFGS until it converges (as
 * scikit-learn's MLP with solver="lbfgs"): a fixed budget of Adam epochs over
 * a few hundred rows is a few hundred steps, far from the optimum.  Asking
 * for Adam by its options (epochs, batch_size, learning_rate, patience) keeps
 * Adam.
 */
#define NEURAL_LBFGS_ROWS 10000
/* Adam's step budget when "epochs" is not given (see NeuralEpochs) */
#define ADAM_STEPS 20000.0

static bool
NeuralUsesLbfgs(RfFitData *d)
{
	const RfOptions *o = d->opts;

	return d->X->nrows <= NEURAL_LBFGS_ROWS && !OptionGiven(o, "epochs") && !OptionGiven(o, "batch_size") &&
		!OptionGiven(o, "learning_rate") && !OptionGiven(o, "patience");
}

/*
 * Adam's epochs: as given, else enough for ADAM_STEPS steps (at least 100
 * epochs, at most 2,000): training stops on the validation loss
 * ("patience" epochs without betterment), so the budget bounds a training
 * that has not converged rather than deciding when it ends.
 */
static int
NeuralEpochs(RfFitData *d)
{
	double		batches = ceil((double) d->X->nrows / d->opts->batch_size);

	if (OptionGiven(d->opts, "epochs"))
		return d->opts->epochs;
	return (int) Min(Max(ceil(ADAM_STEPS / batches), 100), 2000);
}

/*
 * Full-batch L-BFGS; with validation rows, early stopped on them as Adam is
 * (a network fitted to convergence overfits: the loss on held-out rows
 * turns up long before the training loss settles), and left at the
 * iteration with the lowest held-out loss.
 */
#define LBFGS_PATIENCE 20

static void
NeuralFitLbfgs(RfNet *net, RfObjective *train, RfObjective *valid, RfFitData *d, double *x,
			   RfFitResult *res)
{
	int			max_iter = OptionGiven(d->opts, "max_iter") ? d->opts->max_iter : 2000;
	RfLbfgsValidation v = {.fn = ObjectiveEval,.arg = valid,.patience = LBFGS_PATIENCE};

	res->solver = valid ? "lbfgs (full batch, early stopped)" : "lbfgs (full batch)";
	LbfgsMinimize(ObjectiveEval, train, x, net->nparams, max_iter, d->opts->tol,
				  d->opts->verbose ? d->model_name : NULL, valid ? &v : NULL, &res->opt);
	memcpy(net->params, x, sizeof(double) * net->nparams);
	if (valid)
		res->choice = psprintf("{\"iterations\": %d, \"best_iteration\": %d, \"stopped_on_validation\": %s}",
							   res->opt.iterations, v.best_iteration, v.stopped ? "true" : "false");

	/*
	 * The objective is summed in single precision: short of max_iter, L-BFGS
	 * stops when no step along its direction lowers the loss any more, which
	 * is convergence to the objective's precision.
	 */
	res->opt.converged |= res->opt.iterations < max_iter;
	if (!res->opt.converged)
		ereport(NOTICE,
				(errmsg("model \"%s\": L-BFGS stopped after %d iterations without converging",
						d->model_name, res->opt.iterations),
				 errhint("Raise \"max_iter\", or loosen \"tol\" (now %g).", d->opts->tol)));
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
	if (d->warm)
		NetStartFrom(net, d);
	else
	{
		InitHidden(net, d->opts->seed);
		NetStartAtBaseRates(net, d);
	}
	memcpy(x, net->params, sizeof(double) * net->nparams);
	if (NeuralUsesLbfgs(d))
	{
		NeuralFitLbfgs(net, train, d->measured_on_validation ? NULL : valid, d, x, res);
		NeuralPermutationImportance(net, d, cw, shift, scale);
		NetDestandardizeHeads(net, d->targets);
		return;
	}
	o.batch_size = d->opts->batch_size;
	o.epochs = NeuralEpochs(d);
	o.learning_rate = d->opts->learning_rate;
	o.patience = d->opts->patience;
	o.seed = d->opts->seed;
	AdamMinimize(train, valid, x, &o, d->opts->verbose ? d->model_name : NULL, &res->opt);
	res->choice = psprintf("{\"epochs\": %d, \"steps_per_epoch\": %.0f, \"epochs_run\": %d}", o.epochs,
						   ceil((double) d->X->nrows / o.batch_size), res->opt.iterations);
	memcpy(net->params, x, sizeof(double) * net->nparams);
	NeuralPermutationImportance(net, d, cw, shift, scale);	/* on the standardized scale */
	NetDestandardizeHeads(net, d->targets);
	if (!res->opt.converged)
		ereport(NOTICE,
				(errmsg("model \"%s\": Adam ran all %d epochs (%.0f steps) without the validation loss settling",
						d->model_name, res->opt.iterations,
						res->opt.iterations * ceil((double) d->X->nrows / d->opts->batch_size)),
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

/* Rows of one chunk used to measure permutation importance. */
#define PERMUTATION_ROWS 2048

/* The heads' loss of rows of X's first chunk (features x, rows x nin). */
static double
HeldOutLoss(RfNetF *f, RfHeadData *hd, const float *x, int rows, float *out, float *dz)
{
	NetForwardBatchF(f, x, rows, out);
	return HeadsLossRows(hd, 0, 0, rows, out, dz, NULL);
}

/*
 * Permutation importance (Breiman): how much the heads' loss on held-out
 * rows (the validation rows, else the training rows; at most
 * PERMUTATION_ROWS of them) grows when one source column's values are
 * shuffled among the rows, shared among the column's encoded inputs.
 */
static void
NeuralPermutationImportance(RfNet *net, RfFitData *d, double **cw, double *shift, double *scale)
{
	bool		valid = d->Xva->nrows > 0;
	const RfMatrix *X = valid ? d->Xva : d->X;
	const RfMatrix *Y = valid ? d->Yva : d->Y;
	int			rows = (int) Min(Min((int64) PERMUTATION_ROWS, X->nrows), RF_CHUNK_ROWS);
	int			nin = net->nin;
	float	   *x = palloc(sizeof(float) * rows * Max(nin, 1));
	float	   *shuffled = palloc(sizeof(float) * rows * Max(nin, 1));
	float	   *out = palloc(sizeof(float) * rows * net->nout);
	float	   *dz = palloc(sizeof(float) * rows * net->nout);
	int		   *perm = palloc(sizeof(int) * Max(rows, 1));
	RfNetF	   *f = NetSinglePrecision(net);
	RfHeadData *hd = HeadsPrepare(net->heads, net->nheads, Y, cw, shift, scale);
	pg_prng_state rng;
	double		base;

	net->importance = palloc0(sizeof(double) * Max(nin, 1));
	if (rows < 2)
		return;
	memcpy(x, RfChunkF(X, 0), sizeof(float) * rows * nin);
	base = HeldOutLoss(f, hd, x, rows, out, dz);
	pg_prng_seed(&rng, (uint64) d->opts->seed + 17);
	for (int i = 0; i < rows; i++)
		perm[i] = i;
	for (int i = rows - 1; i > 0; i--)
	{
		int			j = (int) pg_prng_uint64_range(&rng, 0, i);
		int			tmp = perm[i];

		perm[i] = perm[j];
		perm[j] = tmp;
	}
	for (int c = 0; c < d->enc->ncols; c++)
	{
		const RfEncColumn *col = &d->enc->cols[c];
		int			width = col->kind == RF_CATEGORY ?
			(col->nbuckets > 0 ? col->nbuckets : col->nvocab + 1) : col->length;
		int		   *slots = palloc(sizeof(int) * (width + col->length));
		int			nslots = 0;
		double		rise;

		for (int k = 0; k < width; k++)
			slots[nslots++] = col->slot + k;
		for (int k = 0; k < col->length; k++)
			if (d->enc->missing_slot[col->raw + k] >= 0)
				slots[nslots++] = d->enc->missing_slot[col->raw + k];
		memcpy(shuffled, x, sizeof(float) * rows * nin);
		for (int i = 0; i < rows; i++)
			for (int s = 0; s < nslots; s++)
				shuffled[(Size) i * nin + slots[s]] = x[(Size) perm[i] * nin + slots[s]];
		rise = Max(HeldOutLoss(f, hd, shuffled, rows, out, dz) - base, 0.0);
		for (int s = 0; s < nslots; s++)
			net->importance[slots[s]] = rise / nslots;
		CHECK_FOR_INTERRUPTS();
	}
}

/* Permutation importance measured at training time (see NeuralPermutationImportance). */
static void
NeuralImportance(const RfTrunk *t, const RfEncoder *enc, double *imp)
{
	RfNet	   *net = t->state;

	if (net->importance == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("this version of the network has no importance: it was trained before reframe 0.3.0"),
				 errhint("Retrain it; reframe.explain gives each column's contribution to one row's score.")));
	memcpy(imp, net->importance, sizeof(double) * t->nin);
}

static const char *const neural_options[] = {
	"hidden", "sharing", "sharing_strength", "batch_size", "epochs", "learning_rate", "patience",
	"max_iter", "tol", NULL
};

const RfFamily ReframeNeuralFamily = {
	.name = "neural",
	.options = neural_options,
	/* one hidden layer of 32, on sources of up to 10,000 rows */
	.candidate = "{\"hidden\": [32]}",
	.candidate_rows = 10000,
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
	.shift_outputs = NetTrunkShiftOutputs,
	.fold_encoder = NULL,
	.explain = NeuralExplain,
	.importance = NeuralImportance,
};
