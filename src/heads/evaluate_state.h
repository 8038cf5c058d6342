/*
 * evaluate_state.h
 *		A model's metrics as one flat state of doubles, for an aggregate that
 *		sums scored rows where they are (reframe.evaluation on Citus workers)
 *		and merges the parts: the heads' accumulators (evaluate.h) laid out
 *		in a bytea, with the heads' decision parameters in its header.
 */
#ifndef REFRAME_EVALUATE_STATE_H
#define REFRAME_EVALUATE_STATE_H

#include "evaluate.h"

#define EVAL_STATE_MAGIC 0x52464556	/* "RFEV" */

/* A row's status, its first cell: scored, or skipped for a missing or unknown target. */
#define EVAL_ROW_SCORED 1
#define EVAL_ROW_NULL_TARGET 0
#define EVAL_ROW_UNKNOWN_CLASS (-1)

/* What the state keeps of a head: what its decisions depend on. */
typedef struct EvalStateHead
{
	int32		kind;			/* RfHeadKind */
	int32		nout;
	int32		soft;
	int32		flags;			/* EVAL_HEAD_*: which parameter arrays (nout each) follow */
	double		threshold;
} EvalStateHead;

#define EVAL_HEAD_LABEL_THRESHOLDS 1
#define EVAL_HEAD_DECISION_WEIGHTS 2
#define EVAL_HEAD_BIN_VALUES 4

/*
 * The configuration (nacc = 0) and the state (its sums after it): a bytea
 * of the header, EvalStateHead heads[nheads], double params[nparams],
 * double acc[nacc].  acc holds the rows scored, skipped for a NULL target
 * and for an unknown class, then each head's accumulator.
 */
typedef struct EvalState
{
	int32		vl_len_;
	int32		magic;
	int32		nheads;
	int32		nparams;
	int32		nacc;
	int32		pad;
} EvalState;

#define EVAL_STATE_COUNTS 3

/* A state taken apart: the heads as RfHead (for RfEvalAcc's code), the layouts. */
typedef struct EvalStateView
{
	int			nheads;
	RfHead	   *heads;
	int		   *acc_at;			/* per head: its accumulator in acc */
	int			nacc;
	int		   *cell_at;		/* per head: its target cells in a row's cells */
	int			ncells;
	Size		config_size;	/* the bytes before acc */
} EvalStateView;

/* The configuration of a model's heads. */
extern bytea *EvalStateConfig(const RfHead *heads, int nheads);

/*
 * Checks a configuration or state of size bytes (an error if it is not one
 * EvalStateConfig made) and takes it apart, in the current memory context.
 */
extern void EvalStateOpen(const EvalState *s, Size size, EvalStateView *v);

/* Whether two states (or a state and a configuration) are of the same configuration, v being a's. */
extern bool EvalStateSameConfig(const EvalState *a, const EvalState *b, const EvalStateView *v);

/* A state of zero sums for a configuration, in cxt. */
extern EvalState *EvalStateCreate(const EvalState *config, const EvalStateView *v, MemoryContext cxt);

/* A state's sums. */
static inline double *
EvalStateSums(EvalState *s, const EvalStateView *v)
{
	return (double *) ((char *) s + v->config_size);
}

/*
 * A row's cells: its status, weight, and per head its target cells, its
 * linked outputs and (binary) its logit.  The layout of heads' rows:
 * cell_at receives each head's first cell; returns the number of cells.
 */
extern int	EvalRowLayout(const RfHead *heads, int nheads, int *cell_at);

/* Whether cells are a row's that can be added (every class and score in range). */
extern bool EvalCellsValid(const RfHead *heads, int nheads, const int *cell_at, const double *cells);

/* Adds a row's cells to the sums (an error naming the aggregate if they are not a row's). */
extern void EvalStateAddRow(const EvalStateView *v, double *sums, const double *cells);

/* Adds the sums src to dst (src is left as it was). */
extern void EvalStateMerge(const EvalStateView *v, double *dst, const double *src);

/* Head h's accumulator from the sums, its arrays pointing into them. */
extern void EvalStateAcc(const EvalStateView *v, double *sums, int h, const RfHead *head, RfEvalAcc *acc);

#endif
