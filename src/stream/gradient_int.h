/*
 * gradient_int.h
 *		What training by streaming passes shares between its files: a pass's
 *		configuration and result (gradient_config.c), the targets framed by
 *		counting passes (gradient_targets.c), the fit and its metrics
 *		(gradient_train.c).
 */
#ifndef REFRAME_GRADIENT_INT_H
#define REFRAME_GRADIENT_INT_H

#include "gradient.h"
#include "gradient_pass.h"

/* Which configuration a pass gets. */
typedef enum PassKind
{
	PASS_COUNT,					/* the targets' statistics, at zero weights */
	PASS_FIT,					/* an evaluation of the objective: standardized regression targets */
	PASS_EVAL					/* the fitted model's metrics: targets in their units */
} PassKind;

/* A pass's sums and their layout; an error when rows had targets the heads cannot take. */
typedef struct PassResult
{
	GradientState *st;			/* NULL: no rows */
	GradientView view;
} PassResult;

/* gradient_config.c */
extern bool GradientLabelColumns(RfTrainState *ts);
extern bytea *GradientConfigBuild(RfTrainState *ts, const RfHead *heads, int nheads, const double *W,
								  const double *b, PassKind kind, const double *center, int inner_fold);
extern void GradientRun(RfTrainState *ts, bytea *config, PassResult *res);
extern HeadSums *GradientSumsOf(PassResult *r, int h, int set);
extern double *GradientSumsArray(HeadSums *s, int nout, int which);

#endif
