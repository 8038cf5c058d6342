/*
 * progress.h
 *		What each running training is doing, readable from other sessions
 *		(reframe.training_progress()).
 */
#ifndef REFRAME_PROGRESS_H
#define REFRAME_PROGRESS_H

#include "datatype/timestamp.h"

#define RF_PROGRESS_SLOTS 64

/* What one running training shows. */
typedef struct RfProgress
{
	int			pid;			/* 0 when free */
	Oid			dbid;
	Oid			userid;
	char		model[2 * NAMEDATALEN + 1];
	char		phase[32];
	int64		rows;
	int			iteration;
	double		loss;
	TimestampTz started;
	TimestampTz updated;
} RfProgress;

/*
 * Claims a slot for this backend's training of model; the slot is released
 * when cxt (the training's memory context) goes away, by commit, error or
 * cancel.  Without a free slot the training simply goes unreported.
 */
extern void ProgressStart(const char *model, MemoryContext cxt);
extern void ProgressPhase(const char *phase);
extern void ProgressRows(int64 rows);
/* An optimizer's iteration (L-BFGS) or epoch (Adam) and its loss. */
extern void ProgressIteration(int iteration, double loss);
/* Each running training's, copied into out (RF_PROGRESS_SLOTS of them); returns how many. */
extern int	ProgressSnapshot(RfProgress *out);

#endif
