/*
 * train.h
 *		The training driver: reads the source, fits, stores a version.
 */
#ifndef REFRAME_TRAIN_H
#define REFRAME_TRAIN_H

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
	RfBudget	budget;			/* memory of the training data */
	bool		with_validation;	/* the validation rows were merged back */

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

struct RfModel;

/* One label-set target: the task is multilabel (a NOTICE when it was inferred). */
extern void TrainFramedLabelSet(RfTrainState *ts);

/* Training's steps, for deploy.c: arguments, then the source read and split. */
extern RfTrainState *TrainBegin(MemoryContext tcxt, const char *model_name, text *target, char *task,
								Jsonb *options);
extern void TrainRead(RfTrainState *ts, text *source);
extern bool TrainCanScore(RfTrainState *ts, struct RfModel *m, int32 v, bool quiet);

/* What a training is asked: the source, target, task and options. */
typedef struct TrainArgs
{
	text	   *source;
	text	   *target;
	char	   *task;			/* NULL: inferred */
	Jsonb	   *options;		/* NULL: none */
	const char *label;			/* the name progress shows */
} TrainArgs;

/*
 * Folds 0 .. nfolds - 1 of a k-fold cross-validation: each fold's figures
 * into buf (if not NULL) as a JSON array; returns the mean selection metric.
 */
extern double TrainFolds(const TrainArgs *a, int folds, int nfolds, StringInfo buf);
extern void TrainCheckArgs(const char *model_name, text *target, char *task, Jsonb *options);
extern double TrainOneFold(const TrainArgs *a, int fold, int folds, StringInfo buf);
/* A text argument of a training function, or an error naming it when NULL. */
extern text *ArgText(FunctionCallInfo fcinfo, int n, const char *what);

/*
 * "model": "auto" and "search" (search.c): the options the version trains
 * with replace *options, and the candidates' or trials' figures are
 * returned as JSON, *choice naming them ("auto" or "search"); NULL when the
 * options ask for neither.
 */
extern char *SearchChoose(text *model, text *source, text *target, char *task, Jsonb **options);
extern Jsonb *SearchDefaultOptions(text *source, text *target, char *task, Jsonb *options);

/*
 * The metrics of every head as JSON; *loss receives the training loss or
 * the selection metric, weighted by the heads' task weights.
 */
struct RfEvalAcc;
extern void HeadsJson(const RfTrunk *t, struct RfEvalAcc *acc, StringInfo buf, double *loss, bool training);

/* The seeded hash of a split_by value, whose draw decides its set. */
extern uint64 ReframeSplitHash(const char *value, uint64 seed);

#endif
