/*
 * optim.h
 *		Optimizers over a flat parameter vector.
 */
#ifndef REFRAME_OPTIM_H
#define REFRAME_OPTIM_H

/* Returns the objective at x and writes its gradient into g. */
typedef double (*RfEvalFn) (void *arg, const double *x, double *g);

typedef struct RfOptimResult
{
	int			iterations;
	int			evaluations;
	bool		converged;
	double		loss;
	double	   *history;		/* loss after each iteration */
	int			nhistory;
	int			history_from;	/* the iteration of history[0]: 0 if it is the start */
} RfOptimResult;

/*
 * Early stopping for L-BFGS: fn gives the held-out rows' loss at x (its
 * gradient is not used); after patience iterations without a lower one
 * L-BFGS stops, and x is left where it was lowest.
 */
typedef struct RfLbfgsValidation
{
	RfEvalFn	fn;
	void	   *arg;
	int			patience;
	/* out */
	bool		stopped;		/* by the held-out loss */
	int			best_iteration;
	double		best;
} RfLbfgsValidation;

/*
 * L-BFGS with a backtracking (Armijo) line search, minimising fn from x
 * (updated in place).  Stops when the largest gradient component is at most
 * tol, when the loss stops decreasing, after max_iter iterations, or when
 * valid (if not NULL) says the held-out loss stopped improving.  label, when
 * not NULL, names the model in per-iteration NOTICEs.
 */
extern void LbfgsMinimize(RfEvalFn fn, void *arg, double *x, int64 n,
						  int max_iter, double tol, const char *label,
						  RfLbfgsValidation *valid, RfOptimResult *result);

struct RfObjective;

typedef struct RfAdamOptions
{
	int			batch_size;
	int			epochs;
	double		learning_rate;
	int			patience;		/* epochs without improvement before stopping */
	int64		seed;
} RfAdamOptions;

/*
 * Mini-batch Adam over train's rows from x (updated in place, left at the
 * parameters with the best validation loss); valid may be NULL.
 */
extern void AdamMinimize(struct RfObjective *train, struct RfObjective *valid, double *x,
						 const RfAdamOptions *o, const char *label, RfOptimResult *result);

#endif
