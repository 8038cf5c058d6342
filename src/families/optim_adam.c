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

void
AdamMinimize(RfObjective *train, RfObjective *valid, double *x, const RfAdamOptions *o,
			 const char *label, RfOptimResult *result)
{
	int64		n = train->net->nparams;
	const RfMatrix *X = train->X;
	double	   *g = RfAllocAligned(sizeof(double) * n);
	double	   *m = MemoryContextAllocZero(CurrentMemoryContext, sizeof(double) * n);
	double	   *v = MemoryContextAllocZero(CurrentMemoryContext, sizeof(double) * n);
	double	   *best = RfAllocAligned(sizeof(double) * n);
	int			nbatches = 0;
	RfRowRange *batches;
	pg_prng_state rng;
	double		best_loss = get_float8_infinity();
	int			since_best = 0;
	int64		step = 0;

	memset(result, 0, sizeof(*result));
	result->history = palloc(sizeof(double) * (o->epochs + 1));
	result->history_from = 1;
	for (int c = 0; c < X->nchunks; c++)
		nbatches += (RfChunkRows(X, c) + o->batch_size - 1) / o->batch_size;
	batches = palloc(sizeof(RfRowRange) * Max(nbatches, 1));
	nbatches = 0;
	for (int c = 0; c < X->nchunks; c++)
		for (int s = 0; s < RfChunkRows(X, c); s += o->batch_size)
		{
			batches[nbatches].chunk = c;
			batches[nbatches].start = s;
			batches[nbatches].rows = Min(o->batch_size, RfChunkRows(X, c) - s);
			nbatches++;
		}
	pg_prng_seed(&rng, (uint64) o->seed ^ UINT64CONST(0x5DEECE66D));
	memcpy(best, x, sizeof(double) * n);

	for (int epoch = 1; epoch <= o->epochs; epoch++)
	{
		double		epoch_loss = 0;
		double		vloss;

		/* Fisher-Yates shuffle of the batch order */
		for (int i = nbatches - 1; i > 0; i--)
		{
			int			j = (int) pg_prng_uint64_range(&rng, 0, i);
			RfRowRange	t = batches[i];

			batches[i] = batches[j];
			batches[j] = t;
		}
		for (int b = 0; b < nbatches; b++)
		{
			double		scale = (double) X->nrows / batches[b].rows;
			double		lr;
			double		loss = ObjectiveEvalRanges(train, x, g, &batches[b], 1, scale);

			step++;
			lr = o->learning_rate * sqrt(1 - pow(ADAM_BETA2, step)) / (1 - pow(ADAM_BETA1, step));
			for (int64 k = 0; k < n; k++)
			{
				m[k] = ADAM_BETA1 * m[k] + (1 - ADAM_BETA1) * g[k];
				v[k] = ADAM_BETA2 * v[k] + (1 - ADAM_BETA2) * g[k] * g[k];
				x[k] -= lr * m[k] / (sqrt(v[k]) + ADAM_EPS);
			}
			epoch_loss += loss * batches[b].rows;
			CHECK_FOR_INTERRUPTS();
		}
		epoch_loss /= Max(X->nrows, 1);
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
