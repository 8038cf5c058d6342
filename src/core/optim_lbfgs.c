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
	double	   *s[LBFGS_M];
	double	   *y[LBFGS_M];
	double		rho[LBFGS_M];
	double		alpha[LBFGS_M];
	int			stored = 0;
	int			head = 0;
	double		f;

	for (int k = 0; k < LBFGS_M; k++)
	{
		s[k] = RfAllocAligned(sizeof(double) * n);
		y[k] = RfAllocAligned(sizeof(double) * n);
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
		double		fnew = f;
		int			bt;

		if (gnorm <= tol)
		{
			result->converged = true;
			break;
		}

		/* two-loop recursion: d = -H g */
		memcpy(d, g, sizeof(double) * n);
		for (int k = 0; k < stored; k++)
		{
			int			j = (head - 1 - k + LBFGS_M) % LBFGS_M;

			alpha[j] = rho[j] * cblas_ddot((blasint) n, s[j], 1, d, 1);
			cblas_daxpy((blasint) n, -alpha[j], y[j], 1, d, 1);
		}
		if (stored > 0)
		{
			int			j = (head - 1 + LBFGS_M) % LBFGS_M;
			double		gamma = cblas_ddot((blasint) n, s[j], 1, y[j], 1) /
				cblas_ddot((blasint) n, y[j], 1, y[j], 1);

			cblas_dscal((blasint) n, gamma, d, 1);
		}
		for (int k = stored - 1; k >= 0; k--)
		{
			int			j = (head - 1 - k + LBFGS_M) % LBFGS_M;
			double		beta = rho[j] * cblas_ddot((blasint) n, y[j], 1, d, 1);

			cblas_daxpy((blasint) n, alpha[j] - beta, s[j], 1, d, 1);
		}
		cblas_dscal((blasint) n, -1.0, d, 1);

		slope = cblas_ddot((blasint) n, g, 1, d, 1);
		if (slope >= 0)
		{
			/* not a descent direction: restart from steepest descent */
			memcpy(d, g, sizeof(double) * n);
			cblas_dscal((blasint) n, -1.0, d, 1);
			slope = -cblas_ddot((blasint) n, g, 1, g, 1);
			stored = 0;
		}
		step = stored == 0 ? Min(1.0, 1.0 / Max(gnorm, 1e-12)) : 1.0;

		for (bt = 0; bt < MAX_BACKTRACKS; bt++)
		{
			memcpy(xnew, x, sizeof(double) * n);
			cblas_daxpy((blasint) n, step, d, 1, xnew, 1);
			fnew = fn(arg, xnew, gnew);
			result->evaluations++;
			if (isfinite(fnew) && fnew <= f + ARMIJO_C1 * step * slope)
				break;
			step *= 0.5;
			CHECK_FOR_INTERRUPTS();
		}
		if (bt == MAX_BACKTRACKS)
			break;				/* no decrease possible along d: we are done */

		/* store the pair (s, y) if it satisfies the curvature condition */
		{
			double	   *sk = s[head];
			double	   *yk = y[head];
			double		sy;

			for (int64 i = 0; i < n; i++)
			{
				sk[i] = xnew[i] - x[i];
				yk[i] = gnew[i] - g[i];
			}
			sy = cblas_ddot((blasint) n, sk, 1, yk, 1);
			if (sy > 1e-12 * cblas_ddot((blasint) n, yk, 1, yk, 1))
			{
				rho[head] = 1.0 / sy;
				head = (head + 1) % LBFGS_M;
				stored = Min(stored + 1, LBFGS_M);
			}
		}

		memcpy(x, xnew, sizeof(double) * n);
		memcpy(g, gnew, sizeof(double) * n);
		result->iterations++;
		result->history[result->nhistory++] = fnew;
		ProgressIteration(result->iterations, fnew);
		if (label)
			ereport(NOTICE,
					(errmsg("model \"%s\": iteration %d: loss %.10g, max gradient %.3g, step %.3g",
							label, result->iterations, fnew, MaxAbs(g, n), step)));

		/* early stopping: the held-out loss has not improved for patience iterations */
		if (valid)
		{
			double		v = valid->fn(valid->arg, x, vg);

			if (v < valid->best)
			{
				valid->best = v;
				valid->best_iteration = result->iterations;
				memcpy(bestx, x, sizeof(double) * n);
				stale = 0;
			}
			else if (++stale >= valid->patience)
			{
				valid->stopped = true;
				f = fnew;
				break;
			}
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
