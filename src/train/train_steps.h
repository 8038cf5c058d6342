/*
 * train_steps.h
 *		The steps of one training, between the files of src/train: reading
 *		(read.c), splitting (split.c), the rows' order (row_order.c), the reference
 *		distributions (reference.c), warm starts (warm_start.c), row hashes (row_hash.c),
 *		the sample's filter (sample_filter.c), label sets (label_sets.c), framing
 *		(framing.c), measuring (measure.c), deciding to deploy
 *		(deploy_decision.c) and storing (version.c); train.c runs them.
 */
#ifndef REFRAME_TRAIN_STEPS_H
#define REFRAME_TRAIN_STEPS_H

#include "portability/instr_time.h"
#include "train.h"

/* row_hash.c, sample_filter.c: a row's hashes, and "sample" drawn where the rows are */
extern uint64 TrainRowHashes(RfTrainState *ts, Datum *values, bool *isnull, double *raw, double *y,
							 uint64 *content);
extern void TrainReadTargets(RfTrainState *ts, Datum *values, bool *isnull, double *y, uint64 *hash);
extern char *TrainSampleFilterSql(RfTrainState *ts);

/* split.c */
extern void *TrainRowArray(RfTrainState *ts, void *arr, int64 n, Size elem, struct RfMapped **map);
extern void TrainKeepDraw(RfTrainState *ts, int set, double u);
extern int TrainSplitSet(RfTrainState *ts, double u);
extern void TrainPlanTimeSplit(RfTrainState *ts);
extern int TrainTimeSet(RfTrainState *ts, Datum d, bool isnull);
extern void TrainCreateFoldMoments(RfTrainState *ts);
extern void TrainAddFoldMoments(RfTrainState *ts, int set, const double *raw, double y, double w, double u);

/* row_order.c */
extern void TrainKeepRowKey(RfTrainState *ts, int set, uint64 split, uint64 content);
extern void TrainCanonicalOrder(RfTrainState *ts);

/* warm_start.c */
extern void WarmStartLoad(RfTrainState *ts);
extern void WarmStartCheckPath(RfTrainState *ts);
extern void WarmStartCheckHeads(RfTrainState *ts, const RfHead *heads, int nheads);

/* reference.c */
extern void TrainKeepReferenceRows(RfTrainState *ts);
extern char *TrainReferenceJson(RfTrainState *ts);

/* label_sets.c */
extern void TrainAddLabelSet(RfTrainState *ts, RfTarget *t, Datum d, double *y, uint64 *hash);
extern void TrainResolveLabelSets(RfTrainState *ts);

/* framing.c */
extern RfHead *TrainBuildHeads(RfTrainState *ts, int *nheads);
extern void TrainArgTask(RfTrainState *ts, char *task);
extern void TrainArgTargets(RfTrainState *ts, text *target);
extern void TrainCheckFraming(RfTrainState *ts);
extern void TrainResolveTargets(RfTrainState *ts);

/* measure.c */
extern void TrainCalibrateClassWeights(RfTrainState *ts);
extern void TrainEvaluate(RfTrainState *ts);
extern const char *TrainSelectionName(RfTrainState *ts);

/* deploy_decision.c */
extern bool TrainDecideDeploy(RfTrainState *ts, Oid relid, bool validated, double selection, const char *metric);

/* version.c */
extern void TrainStore(RfTrainState *ts);
extern Datum TrainResult(RfTrainState *ts, TupleDesc desc);

/* With "verbose", reports a finished phase and how long it took. */
static inline void
TrainPhase(RfTrainState *ts, const char *what)
{
	instr_time	now;
	instr_time	d;

	if (!ts->opts->verbose)
		return;
	INSTR_TIME_SET_CURRENT(now);
	d = now;
	INSTR_TIME_SUBTRACT(d, ts->mark);
	ts->mark = now;
	ereport(NOTICE, (errmsg("model \"%s\": %s (%.1f ms)", ts->model_name, what,
							INSTR_TIME_GET_MILLISEC(d))));
}

#endif
