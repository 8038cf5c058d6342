/*
 * framing.c
 *		From the task and targets asked for to the heads a trunk is fitted
 *		with: each target's head, several targets, label sets, hierarchies,
 *		task weights.
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/varlena.h"

#include "jsonutil.h"
#include "train_steps.h"

/* A comma-separated list of column names (a target's, "split_by"'s), checked. */
static List *
TrainSplitNames(const char *list, const char *what)
{
	List	   *names = NIL;
	char	   *copy = pstrdup(list);

	if (!SplitIdentifierString(copy, ',', &names) || names == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s list \"%s\"", what, list),
				 errhint("Name one column, or several separated by commas.")));
	return names;
}

/* The weight of a head's loss: "task_weights", or 1. */
static double
TaskWeight(RfTrainState *ts, const char *target)
{
	JsonbValue *v = JsonField(ts->opts->task_weights, target);

	return v ? JsonValueNumber(v) : 1.0;
}

/* Every key of a per-target option object must name one of the targets. */
static void
CheckKeysNameTargets(RfTrainState *ts, JsonbContainer *obj, const char *option)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		known = false;
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (int t = 0; t < ts->ntargets; t++)
			known |= strcmp(ts->target_names[t], key) == 0;
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" names \"%s\", which is not a target",
							option, key)));
	}
}

/* The one head of a multilabel task: a logistic output per label. */
static void
BuildMultilabelHead(RfTrainState *ts, RfHead *head)
{
	bool		sets = ts->targets[0].kind == RF_TARGET_LABELS || ts->targets[0].kind == RF_TARGET_SHARES;

	TargetLabelsHead(ts->ntargets == 1 ? ts->target_names[0] : "labels",
					 sets ? ts->targets[0].nclasses : ts->ntargets,
					 sets ? ts->targets[0].classes : ts->target_names, head);
	if (!isnan(ts->opts->threshold))
		head->threshold = ts->opts->threshold;
}

/* The head of target t, and the checks of options that apply to its kind. */
static void
BuildHead(RfTrainState *ts, int t, RfHead *head)
{
	RfTarget   *tg = &ts->targets[t];
	RfLoss		loss = ts->opts->loss == NULL ? RF_LOSS_SQUARED :
		strcmp(ts->opts->loss, "absolute") == 0 ? RF_LOSS_ABSOLUTE :
		strcmp(ts->opts->loss, "huber") == 0 ? RF_LOSS_HUBER : RF_LOSS_SQUARED;

	TargetHead(tg, t, loss, head);
	head->weight = TaskWeight(ts, tg->name);
	head->huber_delta = ts->opts->huber_delta;
	if (tg->head != RF_HEAD_REGRESSION)
	{
		if (ts->opts->loss && ts->ntargets == 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"loss\" applies to regression, but target \"%s\" is %s",
							tg->name, HeadKindName(tg->head)),
					 errhint("Classification always minimizes the log loss (cross-entropy).")));
	}
	if ((ts->opts->balanced || ts->opts->class_weight) && tg->head == RF_HEAD_REGRESSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"class_weight\" applies to classification, but target \"%s\" is regression",
						tg->name)));
	if ((ts->opts->threshold_f1 || !isnan(ts->opts->threshold)) &&
		(tg->head != RF_HEAD_BINARY || ts->ntargets > 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"threshold\" applies to a binary target or to multilabel labels, but target \"%s\" is %s",
						tg->name, ts->ntargets > 1 ? "one of several" : HeadKindName(tg->head))));
	if (!isnan(ts->opts->threshold))
		head->threshold = ts->opts->threshold;
}

/*
 * The heads: one per target, or, for a multilabel task, one head whose
 * labels are the (boolean) target columns or the label-set's labels.
 */
RfHead *
TrainBuildHeads(RfTrainState *ts, int *nheads)
{
	RfHead	   *heads = palloc0(sizeof(RfHead) * ts->ntargets);

	if (ts->opts->task_weights)
	{
		if (ts->ntargets < 2 || strcmp(ts->task, "multilabel") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"task_weights\" weighs the heads of several targets"),
					 errhint("Name two or more targets, as in target => 'quality,engagement'.")));
		CheckKeysNameTargets(ts, ts->opts->task_weights, "task_weights");
	}
	if (strcmp(ts->task, "multilabel") == 0)
	{
		BuildMultilabelHead(ts, &heads[0]);
		*nheads = 1;
	}
	else
	{
		for (int t = 0; t < ts->ntargets; t++)
			BuildHead(ts, t, &heads[t]);
		*nheads = ts->ntargets;
	}
	for (int h = 0; h < *nheads; h++)
		heads[h].wcol = ts->wcol;
	return heads;
}

/*
 * Level t's parent classes: each class's class of level t - 1 in the rows
 * of both sets, an error where one has two parents.
 */
static int *
LevelParents(RfTrainState *ts, int t)
{
	RfMatrix   *ms[2] = {ts->Y, ts->Yv};
	RfTarget   *up = &ts->targets[t - 1];
	RfTarget   *tg = &ts->targets[t];
	int		   *parent_of = palloc(sizeof(int) * tg->nclasses);

	for (int k = 0; k < tg->nclasses; k++)
		parent_of[k] = -1;
	for (int s = 0; s < 2; s++)
		for (int64 i = 0; i < ms[s]->nrows; i++)
		{
			double	   *y = RfMatrixRow(ms[s], i);
			int			c;
			int			p;

			if (isnan(y[t]) || isnan(y[t - 1]))
				continue;
			c = (int) y[t];
			p = (int) y[t - 1];
			if (parent_of[c] < 0)
				parent_of[c] = p;
			else if (parent_of[c] != p)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("class \"%s\" of level \"%s\" appears under both \"%s\" and \"%s\" of level \"%s\"",
								tg->classes[c], tg->name, up->classes[parent_of[c]], up->classes[p], up->name),
						 errhint("The levels of a hierarchy must form a tree; make such classes distinct, for example by prefixing their parent.")));
		}
	return parent_of;
}

/*
 * Hierarchical levels, coarse to fine: each level is a multiclass target
 * whose classes must each sit under one class of the level above.  Classes
 * are reordered by parent so that siblings are contiguous.
 */
static void
ResolveHierarchy(RfTrainState *ts)
{
	RfMatrix   *ms[2] = {ts->Y, ts->Yv};

	for (int t = 0; t < ts->ntargets; t++)
		TargetResolve(&ts->targets[t], "multiclass", ts->Y, ts->Yv, t, ts->opts, ts->model_name);
	for (int t = 1; t < ts->ntargets; t++)
	{
		RfTarget   *up = &ts->targets[t - 1];
		RfTarget   *tg = &ts->targets[t];
		int		   *parent_of = LevelParents(ts, t);
		RfChildOrder *order = palloc(sizeof(RfChildOrder) * tg->nclasses);
		int		   *rank = palloc(sizeof(int) * tg->nclasses);
		char	  **classes = palloc(sizeof(char *) * tg->nclasses);
		double	   *counts = palloc(sizeof(double) * tg->nclasses);

		for (int k = 0; k < tg->nclasses; k++)
		{
			if (parent_of[k] < 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("class \"%s\" of level \"%s\" never appears with a class of level \"%s\"",
								tg->classes[k], tg->name, up->name)));
			order[k].cls = k;
			order[k].parent = parent_of[k];
			order[k].name = tg->classes[k];
		}
		qsort(order, tg->nclasses, sizeof(RfChildOrder), TargetChildOrderCmp);
		for (int j = 0; j < tg->nclasses; j++)
		{
			rank[order[j].cls] = j;
			classes[j] = tg->classes[order[j].cls];
			counts[j] = tg->counts[order[j].cls];
		}
		for (int j = 0; j < tg->nclasses; j++)
			parent_of[j] = order[j].parent;
		for (int s = 0; s < 2; s++)
			for (int64 i = 0; i < ms[s]->nrows; i++)
			{
				double	   *y = RfMatrixRow(ms[s], i);

				if (!isnan(y[t]))
					y[t] = rank[(int) y[t]];
			}
		tg->classes = classes;
		tg->counts = counts;
		tg->parent_of = parent_of;
		tg->nparents = up->nclasses;
	}
}

/*
 * Several targets: a multilabel task wants boolean labels; a multitask one
 * (or no task given) frames each target by its own type.
 */
static void
ResolveSeveralTargets(RfTrainState *ts)
{
	bool		all_bool = true;

	if (ts->opts->tasks)
	{
		CheckKeysNameTargets(ts, ts->opts->tasks, "tasks");
		if (ts->task == NULL)
			ts->task = "multitask";
	}

	for (int t = 0; t < ts->ntargets; t++)
		all_bool &= ts->targets[t].kind == RF_TARGET_BOOL;
	if (ts->task == NULL)
	{
		ts->task = all_bool ? "multilabel" : "multitask";
		ereport(NOTICE,
				(errmsg("training a %s model on %d targets", ts->task, ts->ntargets),
				 errhint("Pass task => '...' to frame it differently.")));
	}
	if (strcmp(ts->task, "multilabel") == 0)
	{
		/* boolean labels, or numbers in [0, 1]: the share of annotators who gave the label */
		for (int t = 0; t < ts->ntargets; t++)
			if (ts->targets[t].kind == RF_TARGET_NUMBER)
				TargetCheckShares(&ts->targets[t], ts->Y, ts->Yv, ts->targets[t].ycol);
			else if (ts->targets[t].kind != RF_TARGET_BOOL)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("label column \"%s\" has type %s, but multilabel labels are boolean, or numbers in [0, 1]",
								ts->targets[t].name, format_type_be(ts->targets[t].typid)),
						 errhint("Name boolean columns, or columns of each label's share of annotators, one per label.")));
		return;
	}
	for (int t = 0; t < ts->ntargets; t++)
		if (ts->targets[t].kind == RF_TARGET_LABELS)
		{
			TrainResolveLabelSets(ts);
			break;
		}
	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];
		const char *task = JsonFieldText(ts->opts->tasks, tg->name, NULL);

		if (tg->kind == RF_TARGET_LABELS)
		{
			if (task && strcmp(task, "multilabel") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("target column \"%s\" holds label sets, which frame a multilabel head, not %s",
								tg->name, task)));
			continue;
		}
		TargetResolve(tg, task, ts->Y, ts->Yv, tg->ycol, ts->opts, ts->model_name);
	}
}

static const char *const known_tasks[] = {
	"regression", "binary", "multiclass", "multilabel", "hierarchical", "multitask"
};

void
TrainArgTask(RfTrainState *ts, char *task)
{
	bool		known = false;

	if (task == NULL)
		return;
	for (int i = 0; i < lengthof(known_tasks); i++)
		known |= strcmp(task, known_tasks[i]) == 0;
	if (!known && task[strspn(task, " \t\n")] == '{')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown task \"%s\"", task),
				 errhint("The options are the fifth argument: pass them as options => '%s' (or NULL as the task).", task)));
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown task \"%s\"", task),
				 errhint("Use regression, binary, multiclass, multilabel, hierarchical or multitask, or NULL to infer it from the target.")));
	ts->task = task;
}

void
TrainArgTargets(RfTrainState *ts, text *target)
{
	List	   *targets = TrainSplitNames(text_to_cstring(target), "target");
	ListCell   *lc;
	int			t = 0;

	ts->ntargets = list_length(targets);
	if (ts->ntargets > RF_MAX_TARGETS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("at most %d target columns are supported", RF_MAX_TARGETS)));
	ts->target_names = palloc(sizeof(char *) * ts->ntargets);
	foreach(lc, targets)
		ts->target_names[t++] = lfirst(lc);
}

/* Options and task that contradict the number of targets. */
void
TrainCheckFraming(RfTrainState *ts)
{
	if (ts->opts->tasks && (ts->ntargets < 2 || (ts->task && strcmp(ts->task, "multitask") != 0)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"tasks\" frames the targets of a multitask model"),
				 errhint("Name two or more targets; for one target, pass the task itself.")));
	if (ts->ntargets > 1 && (ts->opts->balanced || ts->opts->class_weight ||
							 ts->opts->nbins || ts->opts->bin_quantiles))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"class_weight\" and \"bins\" apply to a single target"),
				 errhint("Train the target they concern as a model of its own, and blend the models.")));
	if (ts->task && ts->ntargets > 1 && strcmp(ts->task, "multitask") != 0 &&
		strcmp(ts->task, "multilabel") != 0 && strcmp(ts->task, "hierarchical") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("task \"%s\" takes one target, but %d are named", ts->task, ts->ntargets),
				 errhint("Several targets train as task \"multitask\" (one head each) or \"multilabel\" (boolean labels).")));
	if (ts->task && ts->ntargets == 1 && strcmp(ts->task, "hierarchical") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("task \"hierarchical\" needs two or more levels"),
				 errhint("Name the levels coarse to fine, as in target => 'department,category'.")));
	if (ts->task && ts->ntargets == 1 && strcmp(ts->task, "multitask") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("task \"multitask\" needs two or more targets"),
				 errhint("Name them separated by commas, as in target => 'clicked,watch_minutes'.")));
}

/* Frames the targets: head kinds, classes, hierarchy, label sets. */
void
TrainResolveTargets(RfTrainState *ts)
{
	if (ts->streaming)
		ts->targets[0].head = RF_HEAD_REGRESSION;
	else if (ts->gradient)
		;						/* from its passes, once the encoder is fitted (TrainEncode) */
	else if (ts->ntargets == 1 && ts->targets[0].kind == RF_TARGET_LABELS)
		TrainResolveLabelSets(ts);
	else if (ts->targets[0].kind == RF_TARGET_SHARES)
		TargetResolveShares(&ts->targets[0], ts->Y, ts->opts);
	else if (ts->task && strcmp(ts->task, "hierarchical") == 0)
		ResolveHierarchy(ts);
	else if (ts->ntargets == 1 && (ts->task == NULL || strcmp(ts->task, "multilabel") != 0))
	{
		TargetResolve(&ts->targets[0], ts->task, ts->Y, ts->Yv, 0, ts->opts, ts->model_name);
		ts->task = pstrdup(HeadKindName(ts->targets[0].head));
	}
	else
		ResolveSeveralTargets(ts);
	TrainPhase(ts, psprintf("%lld training and %lld validation rows",
					   (long long) ts->nrows[0], (long long) ts->nrows[1]));
}
