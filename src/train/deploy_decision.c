/*
 * deploy_decision.c
 *		"deploy": "if_better": whether a new version deploys, by scoring the
 *		deployed version on the rows the new one held out.
 */
#include "postgres.h"

#include <math.h>

#include "reframe.h"
#include "jsonutil.h"
#include "evaluate.h"
#include "store.h"
#include "train_steps.h"

static bool
CannotCompare(RfTrainState *ts, int32 current, const char *column)
{
	ereport(NOTICE,
			(errmsg("model \"%s\": version %d cannot be scored on the new rows, which lack its column \"%s\"",
					ts->model_name, current, column),
			 errhint("Select every column both versions use, and narrow the features with \"features\" or \"exclude\".")));
	return false;
}

/*
 * Whether the rows read hold every column (features and targets) version
 * "v" of m uses; if not, unless quiet, a NOTICE names the missing column.
 */
bool
TrainCanScore(RfTrainState *ts, RfModel *m, int32 v, bool quiet)
{
	for (int c = 0; c < m->enc->ncols; c++)
		if (ReframeColumnNumber(ts->tupdesc, m->enc->cols[c].name) < 0)
			return quiet ? false : CannotCompare(ts, v, m->enc->cols[c].name);
	for (int t = 0; t < JsonArraySize(JsonFieldContainer(&m->spec->root, "targets")); t++)
	{
		char	   *target = JsonValueText(JsonArrayElement(JsonFieldContainer(&m->spec->root, "targets"), t));

		if (target && ReframeColumnNumber(ts->tupdesc, target) < 0)
			return quiet ? false : CannotCompare(ts, v, target);
	}
	return true;
}

/*
 * The deployed version and the candidate scored alike on the candidate's
 * validation rows -- by the same code, in double precision, so that the same
 * model gives the same figure to the last bit and "better" means better:
 * {"rows", "deployed_version", "deployed", "candidate"}.  False when the two
 * are not measured alike (another metric).
 */
static bool
CompareOnSameRows(RfTrainState *ts, int32 current, double *selection, const char *metric, double *old)
{
	RfModel    *m = StoreLoadVersion(ts->relid, ts->model_name, current);
	RfModel		candidate = {0};
	const char *old_metric;
	const char *new_metric;
	int64		rows;
	int64		new_rows;
	double		mine;
	StringInfoData buf;

	if (m == NULL || m->nterms > 0 || !TrainCanScore(ts, m, current, false))
		return false;
	*old = EvalModelOnTuples(m, ts->vstore, ts->tupdesc, &rows, &old_metric);
	if (strcmp(old_metric, metric) != 0 || rows == 0 || isnan(*old))
		return false;
	candidate.name = ts->model_name;
	candidate.task = m->task;
	candidate.enc = ts->enc;
	candidate.net = ts->trunk;
	mine = EvalModelOnTuples(&candidate, ts->vstore, ts->tupdesc, &new_rows, &new_metric);
	if (strcmp(new_metric, metric) != 0 || new_rows != rows || isnan(mine))
		return false;
	*selection = mine;
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"rows\": %lld, \"metric\": \"%s\", \"deployed_version\": %d, \"deployed\": ",
					 (long long) rows, metric, current);
	JsonAppendNumber(&buf, *old);
	appendStringInfoString(&buf, ", \"candidate\": ");
	JsonAppendNumber(&buf, *selection);
	appendStringInfoChar(&buf, '}');
	ts->comparison = buf.data;
	return true;
}

/*
 * Decides whether the new version replaces the deployed one: for
 * "if_better", whether it is better on the same rows (its validation rows,
 * the deployed version scored on them), else on the stored figures.
 */
bool
TrainDecideDeploy(RfTrainState *ts, Oid relid, bool validated, double selection, const char *metric)
{
	int32		current;
	bool		found;
	double		old;
	bool		deploy;

	if (ts->opts->deploy == RF_DEPLOY_ALWAYS)
		return true;
	if (ts->opts->deploy == RF_DEPLOY_NEVER)
		return false;
	if (!validated)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"deploy\": \"if_better\" needs validation rows"),
				 errhint("Set the \"validation\" option to a fraction above 0.")));
	current = StoreDeployedVersion(relid);
	if (current < 0)
		return true;
	found = ts->vstore && CompareOnSameRows(ts, current, &selection, metric, &old);
	if (!found)
		old = StoreVersionSelection(relid, current, &found);
	/* the rule: strictly better; a tie keeps the deployed version */
	deploy = !found || selection < old;
	if (found)
		ereport(NOTICE,
				(errmsg("model \"%s\": new validation %s %g %s deployed version %d's %g%s",
						ts->model_name, metric, selection, deploy ? "beats" : "does not beat",
						current, old, ts->comparison ? " on the same rows" : " (on its own validation rows)")));
	return deploy;
}
