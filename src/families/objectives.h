/*
 * objectives.h
 *		The training objective of a network trunk: the heads' losses (see
 *		heads.h) back-propagated through the layers, plus
 *		l2 * |W|^2 over every weight matrix (biases are not penalised).
 */
#ifndef REFRAME_OBJECTIVES_H
#define REFRAME_OBJECTIVES_H

#include "matrix.h"
#include "network.h"

/* Rows start .. start + rows of one chunk of the training matrices. */
typedef struct RfRowRange
{
	int			chunk;
	int			start;
	int			rows;
} RfRowRange;

typedef struct RfObjective
{
	RfNet	   *net;
	const RfMatrix *X;			/* encoded features */
	const RfMatrix *Y;			/* targets: one column per head (see RfHead.ycol) */
	double		l2;
	double		sharing_strength;	/* soft sharing's closeness penalty */
	RfHeadData *hd;				/* the heads' view of Y */
	RfNetF	   *fnet;			/* single-precision parameters */
	float	   *acts;			/* one chunk's activations of every layer */
	float	   *dZ;				/* one chunk's deltas */
	float	   *dA;
	float	   *gW;				/* one layer's gradient from one chunk */
	bool		precise;		/* a linear trunk in double precision ("tol" below 1e-4) */
	void	   *scratch;		/* a linear trunk's per-thread buffers (objectives.c) */
	int			nscratch;
	int			evaluations;
	RfRowRange *all;			/* every row, built on first use */
} RfObjective;

extern RfObjective *ObjectiveCreate(RfNet *net, const RfMatrix *X, const RfMatrix *Y,
									double l2, double **class_weight,
									double *ytarget_shift, double *ytarget_scale);

/* Loss (with penalty) at params; writes the gradient into grad. */
extern double ObjectiveEval(void *objective, const double *params, double *grad);
extern double ObjectiveEvalRanges(RfObjective *obj, const double *params, double *grad,
								  const RfRowRange *ranges, int nranges, double scale);

#endif
