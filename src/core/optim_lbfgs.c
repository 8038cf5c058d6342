/*
 * optim_lbfgs.c
 *		Limited-memory BFGS (Nocedal & Wright, algorithm 7.4/7.5) with a
 *		backtracking line search on the Armijo condition.  Pairs that fail
 *		the curvature condition are skipped, which keeps the implicit
 *		Hessian approximation positive definite.  Deterministic: no
 *		randomness, and BLAS level-1 calls only.
 */
#include "postgres.h"

#include <math.h>

#include <cblas.h>

#include "miscadmin.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "matrix.h"
#include "optim.h"
#include "progress.h"

#define LBFGS_M 10
#define ARMIJO_C1 1e-4
#define MAX_BACKTRACKS 40

static double
MaxAbs(const double *g, int64 n)
{
	double		m = 0;

	for (int64 i = 0; i < n; i++)
		m = Max(m, fabs(g[i]));
	return m;
}

/* The last LBFGS_M steps s and gradient changes y that L-BFGS keeps. */
typedef struct LbfgsMemory
{
	double	   *s[LBFGS_M];
	double	   *y[LBFGS_M];
	double		rho[LBFGS_M];
	double		alpha[LBFGS_M];
	int			stored;
	int			head;			/* where the next pair goes */
} LbfgsMemory;

/* The two-loop recursion: d = -H g, H the inverse hessian the pairs estimate. */
static void
LbfgsDirection(LbfgsMemory *m, const double *g, double *d, int64 n)
{
	memcpy(d, g, sizeof(double) * n);
	for (int k = 0; k < m->stored; k++)
	{
		int			j = (m->head - 1 - k + LBFGS_M) % LBFGS_M;

		m->alpha[j] = m->rho[j] * cblas_ddot((blasint) n, m->s[j], 1, d, 1);
		cblas_daxpy((blasint) n, -m->alpha[j], m->y[j], 1, d, 1);
	}
	if (m->stored > 0)
	{
		int			j = (m->head - 1 + LBFGS_M) % LBFGS_M;
		double		gamma = cblas_ddot((blasint) n, m->s[j], 1, m->y[j], 1) /
			cblas_ddot((blasint) n, m->y[j], 1, m->y[j], 1);

		cblas_dscal((blasint) n, gamma, d, 1);
	}
	for (int k = m->stored - 1; k >= 0; k--)
	{
		int			j = (m->head - 1 - k + LBFGS_M) % LBFGS_M;
		double		beta = m->rho[j] * cblas_ddot((blasint) n, m->y[j], 1, d, 1);

		cblas_daxpy((blasint) n, m->alpha[j] - beta, m->s[j], 1, d, 1);
	}
	cblas_dscal((blasint) n, -1.0, d, 1);
}

/* Keeps the pair (s, y) of a step if it satisfies the curvature condition. */
static void
LbfgsRemember(LbfgsMemory *m, const double *x, const double *xnew, const double *g,
			  const double *gnew, int64 n)
{
	double	   *sk = m->s[m->head];
	double	   *yk = m->y[m->head];
	double		sy;

	for (int64 i = 0; i < n; i++)
	{
		sk[i] = xnew[i] - x[i];
		yk[i] = gnew[i] - g[i];
	}
	sy = cblas_ddot((blasint) n, sk, 1, yk, 1);
	if (sy > 1e-12 * cblas_ddot((blasint) n, yk, 1, yk, 1))
	{
		m->rho[m->head] = 1.0 / sy;
		m->head = (m->head + 1) % LBFGS_M;
		m->stored = Min(m->stored + 1, LBFGS_M);
	}
}

/*
 * Backtracking along d from x until the loss decreases enough (Armijo):
 * the new point and its gradient into xnew and gnew, *step the step taken;
 * returns the new loss, or NaN when no step of MAX_BACKTRACKS halvings
 * decreases it.
 */
static double
LbfgsLineSearch(RfEvalFn fn, void *arg, const double *x, const double *d, int64 n, double f,
				double slope, double *step, double *xnew, double *gnew, RfOptimResult *result)
{
	for (int bt = 0; bt < MAX_BACKTRACKS; bt++)
	{
		double		fnew;

		memcpy(xnew, x, sizeof(double) * n);
		cblas_daxpy((blasint) n, *step, d, 1, xnew, 1);
		fnew = fn(arg, xnew, gnew);
		result->evaluations++;
		if (isfinite(fnew) && fnew <= f + ARMIJO_C1 * *step * slope)
			return fnew;
		*step *= 0.5;
		CHECK_FOR_INTERRUPTS();
	}
	return get_float8_nan();
}

/*
 * Early stopping: whether the held-out loss has not improved for patience
 * iterations; its best point is kept in bestx.
 */
static bool
LbfgsStale(RfLbfgsValidation *valid, const double *x, double *vg, double *bestx, int64 n,
		   int iteration, int *stale)
{
	double		v = valid->fn(valid->arg, x, vg);

	if (v < valid->best)
	{
		valid->best = v;
		valid->best_iteration = iteration;
		memcpy(bestx, x, sizeof(double) * n);
		*stale = 0;
		return false;
	}
	return ++*stale >= valid->patience;
}

/*
 * The minimizer's loop.  Longer than a screen on purpose: the order of its
 * stopping tests is the algorithm (the gradient small enough, no step that
 * decreases the loss, the held-out loss stale for patience iterations, the
 * loss no longer moving in double precision) and each reads the state of
 * the iteration before it; the steps within an iteration are the functions
 * above.
 */
void
LbfgsMinimize(RfEvalFn fn, void *arg, double *x, int64 n, int max_iter, double tol,
			  const char *label, RfLbfgsValidation *valid, RfOptimResult *result)
{
	double	   *bestx = NULL;	/* with valid: the parameters of the lowest held-out loss */
	double	   *vg = NULL;
	int			stale = 0;
	double	   *g = RfAllocAligned(sizeof(double) * n);
	double	   *d = RfAllocAligned(sizeof(double) * n);
	double	   *xnew = RfAllocAligned(sizeof(double) * n);
	double	   *gnew = RfAllocAligned(sizeof(double) * n);
	LbfgsMemory mem = {0};
	double		f;

	for (int k = 0; k < LBFGS_M; k++)
	{
		mem.s[k] = RfAllocAligned(sizeof(double) * n);
		mem.y[k] = RfAllocAligned(sizeof(double) * n);
	}
	memset(result, 0, sizeof(*result));
	result->history = palloc(sizeof(double) * (max_iter + 1));

	f = fn(arg, x, g);
	result->evaluations = 1;
	result->history[result->nhistory++] = f;
	if (valid)
	{
		bestx = RfAllocAligned(sizeof(double) * n);
		vg = RfAllocAligned(sizeof(double) * n);
		memcpy(bestx, x, sizeof(double) * n);
		valid->best = valid->fn(valid->arg, x, vg);
		valid->best_iteration = 0;
		valid->stopped = false;
	}
	if (!isfinite(f))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the training loss is not finite at the starting point")));

	while (result->iterations < max_iter)
	{
		double		gnorm = MaxAbs(g, n);
		double		step;
		double		slope;
		double		fnew;

		if (gnorm <= tol)
		{
			result->converged = true;
			break;
		}
		LbfgsDirection(&mem, g, d, n);
		slope = cblas_ddot((blasint) n, g, 1, d, 1);
		if (slope >= 0)
		{
			/* not a descent direction: restart from steepest descent */
			memcpy(d, g, sizeof(double) * n);
			cblas_dscal((blasint) n, -1.0, d, 1);
			slope = -cblas_ddot((blasint) n, g, 1, g, 1);
			mem.stored = 0;
		}
		step = mem.stored == 0 ? Min(1.0, 1.0 / Max(gnorm, 1e-12)) : 1.0;
		fnew = LbfgsLineSearch(fn, arg, x, d, n, f, slope, &step, xnew, gnew, result);
		if (isnan(fnew))
			break;				/* no decrease possible along d: we are done */
		LbfgsRemember(&mem, x, xnew, g, gnew, n);
		memcpy(x, xnew, sizeof(double) * n);
		memcpy(g, gnew, sizeof(double) * n);
		result->iterations++;
		result->history[result->nhistory++] = fnew;
		ProgressIteration(result->iterations, fnew);
		if (label)
			ereport(NOTICE,
					(errmsg("model \"%s\": iteration %d: loss %.10g, max gradient %.3g, step %.3g",
							label, result->iterations, fnew, MaxAbs(g, n), step)));
		if (valid && LbfgsStale(valid, x, vg, bestx, n, result->iterations, &stale))
		{
			valid->stopped = true;
			f = fnew;
			break;
		}
		/* the loss no longer moves: as good as it gets in double precision */
		if (f - fnew <= 1e-13 * Max(Max(fabs(f), fabs(fnew)), 1.0))
		{
			f = fnew;
			result->converged = MaxAbs(g, n) <= Max(tol, 1e-4);
			break;
		}
		f = fnew;
		CHECK_FOR_INTERRUPTS();
	}
	if (!result->converged && MaxAbs(g, n) <= tol)
		result->converged = true;
	result->loss = f;
	if (valid && valid->best_iteration < result->iterations)
	{
		/* back to the best held-out point: converged, as far as the data allow */
		memcpy(x, bestx, sizeof(double) * n);
		result->loss = fn(arg, x, g);
		result->evaluations++;
		result->converged = true;
	}
	memcpy(xnew, x, sizeof(double) * n);	/* leave the final point evaluated */
	/* the work vectors go with the training's memory context */
}
