/*
 * train.h
 *		The training driver: reads the source, fits, stores a version.
 */
#ifndef REFRAME_TRAIN_H
#define REFRAME_TRAIN_H

#include "encoder.h"
#include "matrix.h"
#include "network.h"
#include "options.h"

/* Everything one training run knows; lives in the "reframe training" context. */
typedef struct RfTrainState
{
	char	   *model_name;
	char	   *source_sql;
	RfOptions  *opts;
	char	   *task;			/* NULL until given or inferred */

	int			ntargets;
	char	  **target_names;
	int		   *target_attno;
	Oid		   *target_typid;
	RfDict	  **target_dict;	/* categorical targets: value -> code */

	RfEncoder  *enc;
	TupleDesc	tupdesc;
	List	   *pending;		/* rows read before array lengths were known */
	RfMatrix   *raw;			/* raw features of the rows read */
	RfMatrix   *Y;				/* targets, then the row's split draw */
	int64		skipped;		/* rows with a NULL target */
	Size		budget;			/* bytes of training matrices */
	MemoryContext mcxt;			/* the training context */
	MemoryContext rowcxt;		/* reset after every source row */
} RfTrainState;

#endif
