/*
 * objectives.h
 *		Losses of the heads and their gradients through the network.
 *
 * The training objective is
 *
 *	 sum over heads h of  weight_h * (sum_i c_hi loss_h(z_hi, y_hi)) / (sum_i c_hi)
 *	 + l2 * |W|^2 over every weight matrix (biases are not penalised)
 *
 * where c_hi is the class weight of row i's class for classification heads
 * (1 otherwise) and rows whose target for head h is missing (NaN) are left
 * out of that head's sums.  Regression targets are standardized while
 * training, so every loss is on a comparable scale.
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
	double	  **class_weight;	/* per head: per class weight, or NULL */
	double	   *ytarget_shift;	/* per head: regression target standardization */
	double	   *ytarget_scale;
	double	   *head_norm;		/* per head: 1 / (sum of weights of present rows) */
	RfNetF	   *fnet;			/* single-precision parameters */
	float	   *acts;			/* one chunk's activations of every layer */
	float	   *dZ;				/* one chunk's deltas */
	float	   *dA;
	float	   *gW;				/* one layer's gradient from one chunk */
	float	   *rowmax;			/* softmax scratch */
	double	   *z;				/* one row's outputs and their derivatives */
	double	   *dz;
	double	  **yclean;			/* per classification head: targets, 0 if missing */
	double	  **wrow;			/* per classification head: row weights, 0 if missing */
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

/* Loss of one head for one row given its raw outputs z (after standardization). */
extern double HeadLoss(const RfHead *head, const double *z, double y, double *dz);

#endif
