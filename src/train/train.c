/*
 * train.c
 *		reframe.train()'s driver: the arguments, then the source read,
 *		the targets framed, the rows encoded, the trunk fitted, measured
 *		and stored (TrainVersion); and cross-validation's folds.
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"

#include "reframe.h"
#include "jsonutil.h"
#include "progress.h"
#include "store.h"
#include "gradient.h"
#include "train_steps.h"

text *
ArgText(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	return PG_GETARG_TEXT_PP(n);
}

/* The model's table: an existing model we may write, or a new one. */
static Oid
TrainModelTable(text *model)
{
	Oid			relid = StoreModelRelid(model, AccessShareLock, true);

	if (OidIsValid(relid))
	{
		AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_INSERT | ACL_UPDATE);

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
		return relid;
	}
	return StoreCreateModelTable(StoreNameToRangeVar(model));
}

/* Fits the encoder and encodes the kept rows. */
static void
TrainEncode(RfTrainState *ts)
{
	if (ts->streaming || ts->aggregated)
	{
		GramEncoderStats(ts->gram[0], ts->enc, 0);
		GramEncoderStats(ts->gram[1], ts->enc, 1);
	}
	else
	{
		EncoderStatsFromRows(ts->enc, ts->raw, ts->Y, ts->wcol, 0);
		EncoderStatsFromRows(ts->enc, ts->rawv, ts->Yv, ts->wcol, 1);
	}
	ProgressPhase("encoding");
	if (ts->warm)
		EncoderAdopt(ts->enc, ts->warm->enc);
	else
		EncoderFit(ts->enc, ts->with_validation, ts->opts->max_categories);
	if (ts->gradient)
		GradientResolveTargets(ts);
	if (ts->streaming || ts->aggregated)
		return;
	ts->Xtr = EncoderApply(ts->enc, ts->raw);
	ts->Xva = EncoderApply(ts->enc, ts->rawv);
	TrainPhase(ts, psprintf("encoded %d inputs as %d features", ts->enc->nraw, ts->Xtr->ncols));
}

/* What the family's fit reads of a training. */
static void
TrainFitData(RfTrainState *ts, RfFitData *d)
{
	memset(d, 0, sizeof(*d));
	d->model_name = ts->model_name;
	d->measured_on_validation = ts->folds > 0;
	d->opts = ts->opts;
	d->enc = ts->enc;
	d->targets = ts->targets;
	d->ntargets = ts->ntargets;
	d->X = ts->Xtr;
	d->Y = ts->Y;
	d->Xva = ts->Xva;
	d->Yva = ts->Yv;
	d->gram = ts->streaming ? ts->gram[0] : NULL;
	d->gram_folds = ts->fgram[0][0] ? ts->fgram[0] : NULL;
	d->gcol = ts->gcol;
	d->draw = ts->draws[0];
	d->draw_va = ts->draws[1];
	d->budget = &ts->budget;
	d->stream = ts->gradient ? ts : NULL;
	d->stream_fit = GradientFit;
	d->warm = ts->warm ? ts->warm->net : NULL;
}

/*
 * "l2": "auto" of a training by aggregate passes over many rows: the
 * penalty path on a sample of about 2.5 * RF_L2_PATH_ROWS rows read as the
 * rows' path reads them (by the workers, on Citus: sample_filter.c), as a
 * training that reads its rows chooses on such a sample; then one fit by
 * passes at the penalty chosen, scaled from the sample's rows to the
 * training's (a penalty on a mean loss weighs as 1 / rows).  Instead of the
 * path by passes: a fit of passes per penalty.
 */
static void
TrainChooseL2OnSample(RfTrainState *ts)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "reframe l2 sample", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	double		rows = (double) (ts->nrows[0] + ts->nrows[1]);
	StringInfoData targets;
	RfTrainState *sub;
	RfFitData	d;
	RfFitResult res = {0};
	RfHead	   *heads;
	int			nheads;
	Jsonb	   *opts;
	double		l2;

	initStringInfo(&targets);
	for (int t = 0; t < ts->ntargets; t++)
		appendStringInfo(&targets, "%s%s", t ? "," : "", quote_identifier(ts->target_names[t]));
	opts = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat,
											  JsonbPGetDatum(ts->opts->raw ? ts->opts->raw : JsonFromText("{}")),
											  JsonbPGetDatum(JsonFromText(psprintf("{\"model\": \"%s\", \"streaming\": false, \"l2\": \"auto\", \"verbose\": false, \"sample\": %.17g}",
																				   ts->family->name, Min(1.0, 2.5 * RF_L2_PATH_ROWS / rows))))));
	sub = TrainBegin(cxt, ts->model_name, cstring_to_text(targets.data), ts->task, opts);
	TrainRead(sub, cstring_to_text(ts->source_sql));
	TrainResolveTargets(sub);
	TrainEncode(sub);
	heads = TrainBuildHeads(sub, &nheads);
	sub->trunk = TrunkCreate(sub->family, sub->opts, sub->enc->width, heads, nheads);
	TrainFitData(sub, &d);
	ReframeBlasPrepare();
	LinearChooseL2(sub->trunk, &d, &res, NULL);
	l2 = sub->opts->l2 * sub->nrows[0] / Max(ts->nrows[0], 1);
	MemoryContextSwitchTo(old);
	ts->opts->l2 = l2;
	ts->opts->l2_auto = false;
	ts->l2_choice = psprintf("{\"l2\": %.17g, \"method\": \"the path on a sample of the rows, read where they are\", \"sample_rows\": %lld, \"sample\": %s}",
							 l2, (long long) sub->nrows[0], res.choice);
	MemoryContextDelete(cxt);
	ProgressStart(ts->model_name, ts->mcxt);
	TrainPhase(ts, psprintf("chose \"l2\" %g on a sample", l2));
}

/* Fits the family's trunk for the heads. */
static void
TrainFit(RfTrainState *ts)
{
	RfFitData	d;
	instr_time	start;

	if (ts->gradient && ts->opts->l2_auto && ts->folds == 0 && ts->nrows[0] > 2 * RF_L2_PATH_ROWS)
		TrainChooseL2OnSample(ts);
	TrainFitData(ts, &d);
	ProgressPhase("fitting");
	ReframeBlasPrepare();
	INSTR_TIME_SET_CURRENT(start);
	memset(&ts->fit, 0, sizeof(ts->fit));
	ts->trunk->family->fit(ts->trunk, &d, &ts->fit);
	if (ts->l2_choice)
		ts->fit.choice = ts->l2_choice;
	INSTR_TIME_SET_CURRENT(ts->fit_time);
	INSTR_TIME_SUBTRACT(ts->fit_time, start);
	TrainPhase(ts, psprintf("fitted with %s, %d iterations", ts->fit.solver, ts->fit.opt.iterations));
}

/* A new training state from the arguments: the task and options may be NULL. */
RfTrainState *
TrainBegin(MemoryContext tcxt, const char *model_name, text *target, char *task, Jsonb *options)
{
	RfTrainState *ts = palloc0(sizeof(RfTrainState));

	INSTR_TIME_SET_CURRENT(ts->start);
	ts->mark = ts->start;
	ts->mcxt = tcxt;
	ts->model_name = pstrdup(model_name);
	ProgressStart(ts->model_name, tcxt);
	ts->opts = OptionsParse(options);
	ts->family = FamilyFromOptions(ts->opts);
	FamilyCheckOptions(ts->family, ts->opts);
	FamilyDefaults(ts->family, ts->opts);
	ts->rowcxt = AllocSetContextCreate(tcxt, "reframe training row", ALLOCSET_DEFAULT_SIZES);
	TrainArgTask(ts, task);
	TrainArgTargets(ts, target);
	TrainCheckFraming(ts);
	return ts;
}

/*
 * The arguments checked as a training checks them (options, task, targets),
 * before a race reads the source for its candidates.
 */
void
TrainCheckArgs(const char *model_name, text *target, char *task, Jsonb *options)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "reframe argument check", ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	(void) TrainBegin(cxt, model_name, target, task, options);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* From the rows read to a fitted and evaluated trunk. */
static void
TrainFitSteps(RfTrainState *ts)
{
	RfHead	   *heads;
	int			nheads;

	TrainResolveTargets(ts);
	TrainEncode(ts);
	heads = TrainBuildHeads(ts, &nheads);
	if (ts->warm)
		WarmStartCheckHeads(ts, heads, nheads);
	ts->trunk = TrunkCreate(ts->family, ts->opts, ts->enc->width, heads, nheads);
	TrainFit(ts);
	TrainCalibrateClassWeights(ts);
	TrainEvaluate(ts);
}

/*
 * One fold of a cross-validation as JSON: a model fitted on the other folds
 * and evaluated on this one; nothing is stored.  *selection receives its
 * selection metric.
 */
static char *
TrainFold(const TrainArgs *a, MemoryContext tcxt, int fold, int folds, double *selection)
{
	RfTrainState *ts = TrainBegin(tcxt, a->label, a->target, a->task, a->options);

	if (OptionGiven(ts->opts, "validation") || OptionGiven(ts->opts, "deploy"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"validation\" and \"deploy\" do not apply to reframe.cross_validate"),
				 errhint("Each fold is held out in turn, and nothing is stored.")));
	if (ts->opts->warm_start)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"warm_start\" does not apply to reframe.cross_validate"),
				 errhint("A warm start continues the deployed version into a new one; cross-validation stores none.")));
	if (ts->opts->search || OptionGiven(ts->opts, "trials") || OptionGiven(ts->opts, "time_budget"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"search\", \"trials\" and \"time_budget\" do not apply to reframe.cross_validate"),
				 errhint("reframe.train runs the search; cross-validate one set of options at a time.")));
	ts->folds = folds;
	ts->fold = fold;
	TrainRead(ts, a->source);
	if (ts->nrows[1] == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("fold %d of %d holds no rows", fold + 1, folds),
				 errhint("Use fewer folds, or a \"split_by\" column with more distinct values.")));
	TrainFitSteps(ts);
	*selection = ts->selection;
	return psprintf("{\"fold\": %d, \"training_rows\": %lld, \"validation_rows\": %lld, \"selection\": {\"metric\": \"%s\", \"value\": %s}, \"metrics\": %s}",
					fold + 1, (long long) ts->nrows[0], (long long) ts->nrows[1], TrainSelectionName(ts),
					isfinite(ts->selection) ? psprintf("%.17g", ts->selection) : "null", ts->metrics.data);
}

/*
 * Folds 0 .. nfolds - 1 of a k-fold cross-validation, each in a memory
 * context of its own: a JSON array of the folds into buf (if not NULL), and
 * the mean selection metric.
 */
double
TrainFolds(const TrainArgs *a, int folds, int nfolds, StringInfo buf)
{
	double		sum = 0;

	if (buf)
		appendStringInfoChar(buf, '[');
	for (int f = 0; f < nfolds; f++)
	{
		if (buf && f)
			appendStringInfoString(buf, ", ");
		sum += TrainOneFold(a, f, folds, buf);
	}
	if (buf)
		appendStringInfoChar(buf, ']');
	return sum / nfolds;
}

/*
 * Fold "fold" of a "folds"-fold cross-validation, in a memory context of its
 * own: its selection metric, and its figures as JSON appended to buf (if not
 * NULL).
 */
double
TrainOneFold(const TrainArgs *a, int fold, int folds, StringInfo buf)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext tcxt = AllocSetContextCreate(caller, "reframe cross-validation", ALLOCSET_DEFAULT_SIZES);
	double		selection;
	char	   *json;

	MemoryContextSwitchTo(tcxt);
	json = TrainFold(a, tcxt, fold, folds, &selection);
	MemoryContextSwitchTo(caller);
	if (buf)
		appendStringInfoString(buf, json);
	MemoryContextDelete(tcxt);
	return selection;
}

/*
 * A new version of a model from the options chosen (SearchChoose), with
 * the choice's figures (or NULL) added to its metrics: read, fitted,
 * evaluated and stored in tcxt.  Returns the summary row, made in the
 * caller's context.
 */
Datum
TrainVersion(MemoryContext tcxt, text *model, text *source, text *target, char *task, Jsonb *options,
			 const char *leaderboard, TupleDesc desc)
{
	MemoryContext caller = CurrentMemoryContext;
	RfTrainState *ts;
	RfSourceRead nest;
	Datum		result;

	MemoryContextSwitchTo(tcxt);
	ts = TrainBegin(tcxt, text_to_cstring(model), target, task, options);
	ts->relid = TrainModelTable(model);
	ts->stored_name = StoreStoredName(model, ts->relid);
	if (ts->opts->warm_start)
		WarmStartLoad(ts);
	if (ts->opts->deploy == RF_DEPLOY_IF_BETTER && StoreDeployedVersion(ts->relid) >= 0)
		ts->vstore = tuplestore_begin_heap(false, false, work_mem);
	/* the source is read, never written through (StoreBeginSourceRead) */
	StoreBeginSourceRead(&nest);
	TrainRead(ts, source);
	TrainFitSteps(ts);
	StoreEndSourceRead(&nest);
	if (leaderboard)
	{
		/* the metrics object gains the candidates' or trials' figures */
		ts->metrics.data[--ts->metrics.len] = '\0';
		appendStringInfo(&ts->metrics, ", %s}", leaderboard);
	}
	TrainStore(ts);
	MemoryContextSwitchTo(caller);
	result = TrainResult(ts, desc);
	return result;
}
