/*
 * evaluate_sql.c
 *		reframe.evaluate(model, source, options): its options, where the
 *		rows are read (here, evaluate_rows.c; or on the workers of a Citus
 *		cluster, evaluate_workers.c) and the metrics it returns.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "reframe.h"
#include "aggregates.h"
#include "evaluate.h"
#include "evaluate_rows.h"
#include "jsonutil.h"
#include "metrics.h"
#include "store.h"

/*
 * "curves": the curves of every binary head (ROC, precision-recall,
 * calibration, lift) and regression head (residuals) over the kept pairs,
 * as the curve aggregates give them; by head name when there are several.
 */
static void
EvalCurvesJson(StringInfo buf, RfEvalAcc *acc, int nheads)
{
	static const char *const binary[] = {"roc", "pr", "calibration", "lift"};
	bool		first = true;

	appendStringInfoString(buf, ", \"curves\": {");
	for (int h = 0; h < nheads; h++)
	{
		const RfHead *head = acc[h].head;
		bool		bin = head->kind == RF_HEAD_BINARY;

		if ((!bin && head->kind != RF_HEAD_REGRESSION) || acc[h].nscores == 0)
			continue;
		if (nheads > 1)
		{
			appendStringInfoString(buf, first ? "" : ", ");
			JsonAppendString(buf, head->name);
			appendStringInfoString(buf, ": {");
		}
		for (int c = 0; c < (bin ? lengthof(binary) : 1); c++)
		{
			char	   *json = ReframeCurveJson(bin ? binary[c] : "residuals", acc[h].scores,
												acc[h].labels, acc[h].nscores);

			appendStringInfo(buf, "%s\"%s\": %s", c || (nheads == 1 && !first) ? ", " : "",
							 bin ? binary[c] : "residuals", json ? json : "null");
		}
		if (nheads > 1)
			appendStringInfoChar(buf, '}');
		first = false;
	}
	appendStringInfoChar(buf, '}');
}

/* The value v of reframe.evaluate's option key, checked, into r or *curves. */
static void
EvalOption(const char *key, JsonbValue *v, EvalReceiver *r, bool *curves)
{
	if (strcmp(key, "curves") == 0)
	{
		if (v->type != jbvBool)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"curves\" of reframe.evaluate must be true or false")));
		*curves = v->val.boolean;
	}
	else if (strcmp(key, "weight") == 0)
	{
		if (v->type != jbvString || v->val.string.len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"weight\" of reframe.evaluate must name a column")));
		r->weight = JsonValueText(v);
	}
	else if (strcmp(key, "group") == 0)
	{
		if (v->type != jbvString || v->val.string.len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"group\" of reframe.evaluate must name a column")));
		r->group = JsonValueText(v);
	}
	else
	{
		double		k = JsonValueNumber(v);

		if (v->type != jbvNumeric || k != floor(k) || k < 1 || k > 100000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"k\" of reframe.evaluate must be an integer from 1 to 100000")));
		r->k = (int) k;
	}
}

/*
 * reframe.evaluate's options into r: "group" (the query column of ranking
 * metrics), "k", "weight" (a column of row weights); "curves" into *curves.
 */
static void
EvalParseOptions(Jsonb *o, EvalReceiver *r, bool *curves)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (!JB_ROOT_IS_OBJECT(o))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options of reframe.evaluate must be a JSON object")));
	it = JsonbIteratorInit(&o->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			if (strcmp(key, "group") != 0 && strcmp(key, "k") != 0 && strcmp(key, "curves") != 0 &&
				strcmp(key, "weight") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown option \"%s\" of reframe.evaluate", key),
						 errhint("Known options are: group (the query column for ranking metrics), k, curves, weight (a column of row weights).")));
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		EvalOption(key, &v, r, curves);
	}
}

/* The figures r gathered, as reframe.evaluate returns them. */
static Jsonb *
EvalResultJson(EvalReceiver *r, bool curves)
{
	RfTrunk    *net = r->model->net;
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"model\": ");
	JsonAppendString(&buf, r->model->name);
	appendStringInfo(&buf, ", \"version\": %d, \"task\": \"%s\", \"rows\": %lld",
					 r->model->version, r->model->task, (long long) r->rows);
	if (r->on_workers)
		appendStringInfoString(&buf, ", \"on_workers\": true");
	if (r->null_targets)
		appendStringInfo(&buf, ", \"skipped_null_target\": %lld", (long long) r->null_targets);
	if (r->unknown_classes)
		appendStringInfo(&buf, ", \"skipped_unknown_class\": %lld", (long long) r->unknown_classes);
	if (r->group)
	{
		appendStringInfoString(&buf, ", \"ranking\": ");
		EvalRankingJson(&buf, r->rank_group, r->rank_score, r->rank_rel, r->nrank, r->k);
	}
	if (net->nheads == 1)
	{
		appendStringInfoString(&buf, ", \"metrics\": ");
		EvalAccJson(&r->acc[0], &buf, true);
	}
	else
	{
		appendStringInfoString(&buf, ", \"metrics\": {");
		for (int h = 0; h < net->nheads; h++)
		{
			if (h)
				appendStringInfoString(&buf, ", ");
			JsonAppendString(&buf, net->heads[h].name);
			appendStringInfoString(&buf, ": ");
			EvalAccJson(&r->acc[h], &buf, true);
		}
		appendStringInfoChar(&buf, '}');
	}
	{
		/* what training chooses versions by: each head's, weighted over the heads */
		const char *metric;
		double		v = EvalSelection(r, &metric);

		appendStringInfo(&buf, ", \"selection\": {\"metric\": \"%s\", \"value\": ", metric);
		JsonAppendNumber(&buf, v);
		appendStringInfoChar(&buf, '}');
	}
	if (curves)
		EvalCurvesJson(&buf, r->acc, net->nheads);
	appendStringInfoChar(&buf, '}');
	return JsonFromText(buf.data);
}

/* reframe.evaluate: the metrics of the deployed version on the rows of a source. */
PG_FUNCTION_INFO_V1(reframe_evaluate);
Datum
reframe_evaluate(PG_FUNCTION_ARGS)
{
	text	   *name;
	Oid			relid;
	EvalReceiver r;
	bool		curves = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model and source must not be NULL")));
	memset(&r, 0, sizeof(r));
	r.k = 10;
	if (!PG_ARGISNULL(2))
		EvalParseOptions(PG_GETARG_JSONB_P(2), &r, &curves);
	{
		/* the deployed version, or the one "model@version" names */
		int32		version;

		name = StoreSplitVersion(PG_GETARG_TEXT_PP(0), &version);
		relid = StoreReadableModelRelid(name);
		r.model = StoreGetModel(relid, text_to_cstring(name), version, CurrentMemoryContext);
	}
	r.gdict = RfDictCreate();
	if (r.model->nterms > 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a blend, which has no target to evaluate against", r.model->name),
				 errhint("Evaluate its models, or aggregate reframe.score of the blend with a metric such as reframe.ndcg.")));
	EvalReceiverInit(&r, curves);
	/* ranking metrics and curves need every row's score here */
	if (!EvalOnWorkers(&r, relid, PG_GETARG_TEXT_PP(1), r.group || curves))
		EvalReadSource(&r, PG_GETARG_TEXT_PP(1));
	PG_RETURN_JSONB_P(EvalResultJson(&r, curves));
}
