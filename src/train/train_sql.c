/*
 * train_sql.c
 *		The SQL entry points of training: reframe.train (the options
 *		chosen by search.c, then the version by train.c) and
 *		reframe.cross_validate's folds.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "reframe.h"
#include "jsonutil.h"
#include "store.h"
#include "train.h"

/*
 * k-fold cross-validation: a JSON array of each fold's figures, the rows of
 * fold i being those whose split draw falls in [i / k, (i + 1) / k).
 */
PG_FUNCTION_INFO_V1(reframe_cross_validate_folds);
Datum
reframe_cross_validate_folds(PG_FUNCTION_ARGS)
{
	int			folds = PG_ARGISNULL(4) ? 5 : PG_GETARG_INT32(4);
	RfSourceRead nest;
	TrainArgs	a;
	StringInfoData buf;

	if (folds < 2 || folds > 100)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("folds must be from 2 to 100, not %d", folds)));
	a.source = ArgText(fcinfo, 0, "source");
	a.target = ArgText(fcinfo, 1, "target");
	a.task = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	a.options = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
	a.label = "cross_validate";
	initStringInfo(&buf);
	StoreBeginSourceRead(&nest);
	a.options = SearchDefaultOptions(a.source, a.target, a.task, a.options);
	TrainFolds(&a, folds, folds, &buf);
	StoreEndSourceRead(&nest);
	PG_RETURN_JSONB_P(JsonFromText(buf.data));
}

/* Trains a new version of a model and returns a summary row. */
PG_FUNCTION_INFO_V1(reframe_train);
Datum
reframe_train(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext tcxt;
	TupleDesc	desc;
	Datum		result;
	Jsonb	   *options;
	char	   *task;
	char	   *leaderboard;
	RfSourceRead nest;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "reframe.train must return a row");
	tcxt = AllocSetContextCreate(CurrentMemoryContext, "reframe training", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(tcxt);

	options = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);
	task = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	StoreLockModelName(ArgText(fcinfo, 0, "model name"));
	StoreBeginSourceRead(&nest);
	leaderboard = SearchChoose(ArgText(fcinfo, 0, "model name"), ArgText(fcinfo, 1, "source"),
							   ArgText(fcinfo, 2, "target"), task, &options);
	StoreEndSourceRead(&nest);
	/* the version is trained in tcxt, its summary row made here */
	MemoryContextSwitchTo(caller);
	result = TrainVersion(tcxt, PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1), ArgText(fcinfo, 2, "target"), task,
						  options, leaderboard, desc);
	MemoryContextDelete(tcxt);
	PG_RETURN_DATUM(result);
}
