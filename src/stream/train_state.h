/*
 * train_state.h
 *		What one training knows while it reads its source and fits: the
 *		state the rows' path (train.c) and the streaming passes (this
 *		folder) fill.
 */
#ifndef REFRAME_TRAIN_STATE_H
#define REFRAME_TRAIN_STATE_H

#include "encoder.h"
#include "gram.h"
#include "matrix.h"
#include "portability/instr_time.h"
#include "utils/tuplestore.h"
#include "family.h"
#include "options.h"
#include "targets.h"

#define RF_MAX_TARGETS 64

/* Everything one training run knows; lives in the "reframe training" context. */
typedef struct RfTrainState
{
	char	   *model_name;
	char	   *stored_name;	/* the table's name as resolved (reframe.train's result), or NULL */
	char	   *source_sql;
	RfOptions  *opts;
	const RfFamily *family;
	char	   *task;			/* NULL until given or inferred */
	Oid			relid;			/* the model's table */

	int			ntargets;
	char	  **target_names;
	RfTarget   *targets;
	/* a text[] target: every row's label codes, Y holding (start, count) */
	int32	   *label_codes;
	int64		nlabel_codes;
	int64		caplabel_codes;
	int			sattno;			/* "split_by": the column keying the split, or -1 */
	Oid			stype;
	uint64		split_seed;
	/* "split": "time": the split_by values bounding the training rows and the validation rows */
	bool		time_split;
	double		time_train_max;	/* training rows: values up to this one (NULLs too) */
	double		time_valid_max;	/* validation rows: above time_train_max, up to this one */
	char	   *time_cut;		/* time_train_max as JSON, for the spec */
	char	   *time_latest;	/* the source's latest split_by value, as JSON */
	Tuplestorestate *vstore;	/* "if_better": the validation rows, to score the deployed version on */
	char	   *comparison;		/* its result, for the metrics */
	int			folds;			/* cross-validation: hold out fold "fold" of "folds" */
	int			fold;
	int			gattno;			/* "group": the query column, or -1 */
	Oid			gtype;
	RfDict	   *gdict;			/* query values -> codes, kept in Y's column gcol */
	int			gcol;
	int			wattno;			/* "weight": the column of row weights, or -1 */
	Oid			wtype;
	int			wcol;			/* its Y column, or -1 */
	int64		bad_weights;	/* rows whose weight is NULL, negative or not finite */

	RfEncoder  *enc;
	TupleDesc	tupdesc;
	List	   *pending;		/* rows read before array lengths were known */
	double		holdout;		/* rows whose split draw is below go to validation */
	RfMatrix   *raw;			/* raw features of the training rows */
	RfMatrix   *Y;				/* their targets */
	RfMatrix   *rawv;			/* the same for the validation rows */
	RfMatrix   *Yv;
	int64		nrows[2];		/* rows read into each set: training, validation */
	double	   *draws[2];		/* per row of each set: its split draw (for folds) */
	struct RfMapped *draws_map[2];	/* where they are mapped, once large */
	void	   *rowkeys[2];		/* per row of each set: its sort keys (row_order.c) */
	struct RfMapped *rowkeys_map[2];
	bool		ready;			/* the raw layout is known and storage exists */

	/*
	 * Squared-loss regression on numeric inputs keeps no rows at all: only
	 * the second moments of each set (see gram.h).
	 */
	bool		streaming;
	bool		aggregated;		/* read by aggregate passes (moments.c), not row by row here */
	bool		gradient;		/* and fitted by a loss-and-gradient pass per evaluation (gradient.c) */
	void	   *gcounts;		/* gradient.c: the targets' counting pass */
	RfGram	   *gram[2];
	RfGram	   *fgram[2][RF_L2_FOLDS];	/* per set, moments by inner fold ("l2": "auto"), or NULLs */
	double	   *rowbuf;
	double	   *ybuf;			/* one Y row */
	double	   *origin;
	double		yorigin;
	int64		skipped;		/* rows with a NULL target */
	double		sample;			/* "sample": the share of rows kept (1: all) */
	int64		sampled_out;	/* rows the sample left out */
	bool		distributed;	/* the source reads a Citus distributed table */
	char	   *l2_choice;		/* "l2": "auto" chosen on a sample (train.c), as JSON, or NULL */
	int64		received;		/* source rows read here */
	bool		source_counted;	/* source_rows is the source's count(*) */
	int64		source_rows;
	RfBudget	budget;			/* memory of the training data */
	bool		with_validation;	/* the validation rows were merged back */
	struct RfModel *warm;		/* "warm_start": the version continued (warm_start.c), or NULL */
	RfMatrix   *refrows;		/* a sample of the stored rows, for the reference (reference.c) */

	/* fitting, evaluating and storing */
	RfMatrix   *Xtr;			/* encoded rows (NULL when streaming) */
	RfMatrix   *Xva;
	RfTrunk    *trunk;
	RfFitResult fit;
	StringInfoData metrics;
	double		train_loss;
	double		selection;		/* the validation metric versions are chosen on */
	int32		version;
	bool		deployed;
	instr_time	start;
	instr_time	mark;			/* end of the last phase, for "verbose" */
	instr_time	fit_time;

	MemoryContext mcxt;			/* the training context */
	MemoryContext rowcxt;		/* reset after every source row */
} RfTrainState;

/* One label-set target: a multilabel task, said when it was inferred (stream_targets.c). */
extern void TrainFramedLabelSet(RfTrainState *ts);

#endif
