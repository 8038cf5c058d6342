/*
 * moments.h
 *		Streaming least squares as an aggregate (reframe.moments).
 */
#ifndef REFRAME_MOMENTS_H
#define REFRAME_MOMENTS_H

#include "utils/array.h"

#include "train_state.h"

/* Inputs the aggregate takes (the moments are (inputs + 2)^2 per set). */
#define RF_MOMENTS_MAX_INPUTS 1024
/* From this many source rows (by the tables' statistics), parallel workers may share the pass. */
#define RF_MOMENTS_PARALLEL_ROWS 100000

/* Why a training cannot read by the aggregate, or NULL when it can. */
extern const char *MomentsUnsupported(RfTrainState *ts);
/* Whether it does: "streaming", else a Citus source or a large one. */
extern bool MomentsChosen(RfTrainState *ts, List *relids);
/* Why the default trains the linear family by passes for a source, or NULL. */
extern const char *MomentsSourceCallsForPasses(const char *source_sql);
/* Reads the source's moments by the aggregate; false: read the rows instead. */
extern bool MomentsRead(RfTrainState *ts);

/* For the passes of gradient.c: the same inputs, target, split hash. */
extern char *MomentsInputsSql(const RfEncoder *enc);
extern void MomentsRowInputs(int R, ArrayType *x, double *raw, bool *nulls);
extern bytea *MomentsRunPass(RfTrainState *ts, const char *aggregate, bytea *config);
extern bool MomentsSplitValid(int R, int ncols, const int32 *len, int folds, int fold);
extern uint64 MomentsRowHash(uint64 h, int ncols, const int32 *len, const double *raw, const bool *nulls);

#endif
