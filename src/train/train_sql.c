/*
 * train_sql.c
 *		The SQL entry points of training: reframe.train (the options
 *		chosen by search.c, then the version by train.c) and
 *		reframe.cross_validate's folds.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "jsonutil.h"
#include "progress.h"
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
	options = WarmStartOptions(ArgText(fcinfo, 0, "model name"), options);
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

/*
 * reframe.training_progress(): one row per running training.  As in
 * pg_stat_activity, a role sees the details of the trainings of roles whose
 * privileges it has, or of all with pg_read_all_stats.
 */
PG_FUNCTION_INFO_V1(reframe_training_progress);
Datum
reframe_training_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RfProgress	running[RF_PROGRESS_SLOTS];
	int			n = ProgressSnapshot(running);
	bool		all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		RfProgress	copy = running[i];
		Datum		values[10];
		bool		nulls[10] = {0};
		char	   *db;
		char	   *role;

		values[0] = Int32GetDatum(copy.pid);
		db = get_database_name(copy.dbid);
		role = GetUserNameFromId(copy.userid, true);
		values[1] = db ? CStringGetTextDatum(db) : (Datum) 0;
		nulls[1] = db == NULL;
		values[2] = role ? CStringGetTextDatum(role) : (Datum) 0;
		nulls[2] = role == NULL;
		if (all || has_privs_of_role(GetUserId(), copy.userid))
		{
			values[3] = CStringGetTextDatum(copy.model);
			values[4] = CStringGetTextDatum(copy.phase);
			values[5] = Int64GetDatum(copy.rows);
			values[6] = Int32GetDatum(copy.iteration);
			values[7] = Float8GetDatum(copy.loss);
			nulls[7] = isnan(copy.loss);
			values[8] = TimestampTzGetDatum(copy.started);
			values[9] = TimestampTzGetDatum(copy.updated);
		}
		else
			for (int c = 3; c < 10; c++)
				nulls[c] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
