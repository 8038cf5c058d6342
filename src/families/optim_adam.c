/*
 * optim_adam.c
 *		Mini-batch Adam (Kingma & Ba) with early stopping, for networks with
 *		hidden layers.
 *
 * Each epoch visits the training rows in batches of consecutive rows, the
 * batches in an order shuffled by a seeded generator, so a given seed gives
 * the same model.  After each epoch the loss on the validation rows decides
 * whether the parameters are the best so far; training stops after
 * "patience" epochs without improvement and keeps the best parameters.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "utils/float.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "objectives.h"
#include "optim.h"
#include "progress.h"

#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPS 1e-8

/* The mini-batches of X's chunks, batch_size rows each (a chunk's last one shorter). */
static RfRowRange *
AdamBatches(const RfMatrix *X, int batch_size, int *nbatches)
{
	RfRowRange *batches;
	int			n = 0;

	for (int c = 0; c < X->nchunks; c++)
		n += (RfChunkRows(X, c) + batch_size - 1) / batch_size;
	batches = palloc(sizeof(RfRowRange) * Max(n, 1));
	n = 0;
	for (int c = 0; c < X->nchunks; c++)
		for (int s = 0; s < RfChunkRows(X, c); s += batch_size)
		{
			batches[n].chunk = c;
			batches[n].start = s;
			batches[n].rows = Min(batch_size, RfChunkRows(X, c) - s);
			n++;
		}
	*nbatches = n;
	return batches;
}

/* Adam's moment estimates and its step count. */
typedef struct AdamState
{
	double	   *m;
	double	   *v;
	int64		step;
} AdamState;

/*
 * One epoch: the batches in a new random order (Fisher-Yates), an Adam step
 * on each; returns the epoch's mean training loss.
 */
static double
AdamEpoch(RfObjective *train, double *x, double *g, int64 n, RfRowRange *batches, int nbatches,
		  pg_prng_state *rng, AdamState *st, double learning_rate)
{
	const RfMatrix *X = train->X;
	double		epoch_loss = 0;

	for (int i = nbatches - 1; i > 0; i--)
	{
		int			j = (int) pg_prng_uint64_range(rng, 0, i);
		RfRowRange	t = batches[i];

		batches[i] = batches[j];
		batches[j] = t;
	}
	for (int b = 0; b < nbatches; b++)
	{
		double		scale = (double) X->nrows / batches[b].rows;
		double		lr;
		double		loss = ObjectiveEvalRanges(train, x, g, &batches[b], 1, scale);

		st->step++;
		lr = learning_rate * sqrt(1 - pow(ADAM_BETA2, st->step)) / (1 - pow(ADAM_BETA1, st->step));
		for (int64 k = 0; k < n; k++)
		{
			st->m[k] = ADAM_BETA1 * st->m[k] + (1 - ADAM_BETA1) * g[k];
			st->v[k] = ADAM_BETA2 * st->v[k] + (1 - ADAM_BETA2) * g[k] * g[k];
			x[k] -= lr * st->m[k] / (sqrt(st->v[k]) + ADAM_EPS);
		}
		epoch_loss += loss * batches[b].rows;
		CHECK_FOR_INTERRUPTS();
	}
	return epoch_loss / Max(X->nrows, 1);
}

void
AdamMinimize(RfObjective *train, RfObjective *valid, double *x, const RfAdamOptions *o,
			 const char *label, RfOptimResult *result)
{
	int64		n = train->net->nparams;
	double	   *g = RfAllocAligned(sizeof(double) * n);
	double	   *best = RfAllocAligned(sizeof(double) * n);
	AdamState	st = {0};
	int			nbatches;
	RfRowRange *batches = AdamBatches(train->X, o->batch_size, &nbatches);
	pg_prng_state rng;
	double		best_loss = get_float8_infinity();
	int			since_best = 0;

	st.m = MemoryContextAllocZero(CurrentMemoryContext, sizeof(double) * n);
	st.v = MemoryContextAllocZero(CurrentMemoryContext, sizeof(double) * n);
	memset(result, 0, sizeof(*result));
	result->history = palloc(sizeof(double) * (o->epochs + 1));
	result->history_from = 1;
	pg_prng_seed(&rng, (uint64) o->seed ^ UINT64CONST(0x5DEECE66D));
	memcpy(best, x, sizeof(double) * n);

	for (int epoch = 1; epoch <= o->epochs; epoch++)
	{
		double		epoch_loss = AdamEpoch(train, x, g, n, batches, nbatches, &rng, &st, o->learning_rate);
		double		vloss;

		result->iterations = epoch;
		result->evaluations += nbatches;
		result->history[result->nhistory++] = epoch_loss;
		if (!isfinite(epoch_loss))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the training loss diverged at epoch %d", epoch),
					 errhint("Lower \"learning_rate\" (now %g).", o->learning_rate)));

		/* early stopping on the validation loss, or on the training loss */
		vloss = valid ? ObjectiveEval(valid, x, g) : epoch_loss;
		ProgressIteration(epoch, vloss);
		if (label)
			ereport(NOTICE,
					(errmsg("model \"%s\": epoch %d: training loss %.6g%s%.6g",
							label, epoch, epoch_loss, valid ? ", validation loss " : "",
							valid ? vloss : 0.0)));
		if (epoch == 1 || vloss < best_loss - 1e-7 * fabs(best_loss))
		{
			best_loss = vloss;
			since_best = 0;
			memcpy(best, x, sizeof(double) * n);
		}
		else if (++since_best >= o->patience)
		{
			result->converged = true;
			break;
		}
	}
	memcpy(x, best, sizeof(double) * n);
	result->loss = best_loss;
}
