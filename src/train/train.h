/*
 * train.h
 *		The training driver: reads the source, fits, stores a version.
 */
#ifndef REFRAME_TRAIN_H
#define REFRAME_TRAIN_H

#include "train_state.h"



struct RfModel;


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
extern Datum TrainVersion(MemoryContext tcxt, text *model, text *source, text *target, char *task, Jsonb *options,
						  const char *leaderboard, TupleDesc desc);
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
/* warm_start.c: "warm_start"'s options, the deployed version's under those given */
extern Jsonb *WarmStartOptions(text *model, Jsonb *options);
extern char *SearchChoose(text *model, text *source, text *target, char *task, Jsonb **options);
extern Jsonb *SearchDefaultOptions(text *source, text *target, char *task, Jsonb *options);

/*
 * The metrics of every head as JSON; *loss receives the training loss or
 * the selection metric, weighted by the heads' task weights.
 */
struct RfEvalAcc;

/* The seeded hash of a split_by value, whose draw decides its set. */
extern uint64 ReframeSplitHash(const char *value, uint64 seed);

#endif
