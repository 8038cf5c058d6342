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
 * L-BFGS with a backtracking (Armijo) line search, minimising fn from x
 * (updated in place).  Stops when the largest gradient component is at most
 * tol, when the loss stops decreasing, or after max_iter iterations.
 * label, when not NULL, names the model in per-iteration NOTICEs.
 */
extern void LbfgsMinimize(RfEvalFn fn, void *arg, double *x, int64 n,
						  int max_iter, double tol, const char *label,
						  RfOptimResult *result);

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
