/*
 * gradient.h
 *		Streaming L-BFGS for a linear model (reframe.gradient).
 */
#ifndef REFRAME_GRADIENT_H
#define REFRAME_GRADIENT_H

#include "lib/stringinfo.h"

#include "family.h"
#include "train_state.h"

/* Why a training cannot take the gradient passes, or NULL when it can. */
extern const char *GradientUnsupported(RfTrainState *ts);
/* The targets' framing from counting passes (after the moments pass). */
extern void GradientResolveTargets(RfTrainState *ts);
/* The linear family's fit on the passes (RfFitData.stream). */
extern void GradientFit(RfTrunk *t, RfFitData *d, RfFitResult *res);
/* The metrics JSON of the fitted model, from one more pass. */
extern void GradientEvaluate(RfTrainState *ts, StringInfo m);

#endif
