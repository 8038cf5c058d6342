/*
 * explain.c
 *		Insight into a model: why one row scores what it scores
 *		(reframe.explain), in the margin units of the output explained, and
 *		which columns matter to the whole model (reframe.importance), each
 *		with the encoded inputs folded back to source columns.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "reframe.h"
#include "jsonutil.h"
#include "store.h"

/* The encoded slots of a source column: its values, then its missing indicators. */
static double
ColumnSum(const RfEncoder *enc, const RfEncColumn *col, const double *v)
{
	int			width = col->kind == RF_CATEGORY ?
		(col->nbuckets > 0 ? col->nbuckets : col->nvocab + 1) : col->length;
	double		s = 0;

	for (int k = 0; k < width; k++)
		s += v[col->slot + k];
	for (int k = 0; k < col->length; k++)
		if (enc->missing_slot[col->raw + k] >= 0)
			s += v[enc->missing_slot[col->raw + k]];
	return s;
}

/*
 * Why a row scores what it scores: {"base": b, "contributions": {column:
 * c, ...}} with base + the contributions = the margin of the output (the
 * value of a regression head, the logit of a binary head or label, the
 * class's logit of a multiclass head).  Exact for linear models and trees;
 * for networks an approximation whose remainder is "interactions".
 */
PG_FUNCTION_INFO_V1(reframe_explain);
Datum
reframe_explain(PG_FUNCTION_ARGS)
{
	const double *x;
	int			output;
	char	   *output_name;
	RfModel    *m = ScoreEncodedRow(fcinfo, &x, &output, &output_name);
	RfTrunk    *t = m->net;
	double	   *contrib = palloc(sizeof(double) * Max(t->nin, 1));
	double		base;
	double		rest;
	double		sum = 0;
	StringInfoData buf;

	if (t->family->explain == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" is a %s model, which reframe.explain cannot explain",
						m->name, t->family->name)));
	t->family->explain(t, x, output, contrib, &base, &rest);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"output\": ");
	JsonAppendString(&buf, output_name);
	appendStringInfoString(&buf, ", \"base\": ");
	JsonAppendNumber(&buf, base);
	appendStringInfoString(&buf, ", \"contributions\": {");
	for (int c = 0; c < m->enc->ncols; c++)
	{
		double		v = ColumnSum(m->enc, &m->enc->cols[c], contrib);

		sum += v;
		if (c)
			appendStringInfoString(&buf, ", ");
		JsonAppendString(&buf, m->enc->cols[c].name);
		appendStringInfoString(&buf, ": ");
		JsonAppendNumber(&buf, v);
	}
	appendStringInfoChar(&buf, '}');
	if (rest != 0)
	{
		appendStringInfoString(&buf, ", \"interactions\": ");
		JsonAppendNumber(&buf, rest);
	}
	appendStringInfoString(&buf, ", \"margin\": ");
	JsonAppendNumber(&buf, base + sum + rest);
	appendStringInfo(&buf, ", \"family\": \"%s\"}", t->family->name);
	PG_RETURN_JSONB_P(JsonFromText(buf.data));
}

/* One row of reframe.importance: a source column, and its values' shares. */
static void
ImportanceRow(Tuplestorestate *ts, TupleDesc td, const RfEncoder *enc, const RfEncColumn *col,
			  const double *imp, double total)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	double		v = ColumnSum(enc, col, imp);

	values[0] = CStringGetTextDatum(col->name);
	values[1] = Float8GetDatum(v);
	values[2] = Float8GetDatum(total > 0 ? v / total : 0);
	if (col->kind == RF_CATEGORY && col->nbuckets == 0)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoChar(&buf, '{');
		for (int k = 0; k <= col->nvocab; k++)
		{
			if (k)
				appendStringInfoString(&buf, ", ");
			JsonAppendString(&buf, k < col->nvocab ? col->vocab[k] : "(other)");
			appendStringInfoString(&buf, ": ");
			JsonAppendNumber(&buf, imp[col->slot + k]);
		}
		appendStringInfoChar(&buf, '}');
		values[3] = JsonbPGetDatum(JsonFromText(buf.data));
	}
	else
		nulls[3] = true;
	tuplestore_putvalues(ts, td, values, nulls);
}

/*
 * Which source columns a model version relies on, most first: for a linear
 * model its standardized coefficients, for trees the total gain of their
 * splits; share is the column's part of the total, by_value a categorical
 * column's values.
 */
PG_FUNCTION_INFO_V1(reframe_importance);
Datum
reframe_importance(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *name;
	Oid			relid;
	RfModel    *m;
	double	   *imp;
	double		total = 0;
	int		   *order;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL")));
	name = PG_GETARG_TEXT_PP(0);
	relid = StoreReadableModelRelid(name);
	m = StoreLoadVersion(relid, text_to_cstring(name), PG_ARGISNULL(1) ? -1 : PG_GETARG_INT32(1));
	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no deployed version", text_to_cstring(name)),
				 errhint("Name a version: reframe.importance(model, version).")));
	if (m->nterms > 0 || m->net->family->importance == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("reframe.importance does not measure %s yet",
						m->nterms > 0 ? psprintf("blend \"%s\"", m->name) :
						psprintf("%s model \"%s\"", m->net->family->name, m->name)),
				 errhint("reframe.explain gives each column's contribution to one row's score.")));
	imp = palloc(sizeof(double) * Max(m->net->nin, 1));
	m->net->family->importance(m->net, m->enc, imp);
	for (int j = 0; j < m->net->nin; j++)
		total += imp[j];
	InitMaterializedSRF(fcinfo, 0);
	order = palloc(sizeof(int) * Max(m->enc->ncols, 1));
	for (int c = 0; c < m->enc->ncols; c++)
		order[c] = c;
	/* most important first (a selection sort: few columns) */
	for (int a = 0; a < m->enc->ncols; a++)
		for (int b = a + 1; b < m->enc->ncols; b++)
			if (ColumnSum(m->enc, &m->enc->cols[order[b]], imp) >
				ColumnSum(m->enc, &m->enc->cols[order[a]], imp))
			{
				int			tmp = order[a];

				order[a] = order[b];
				order[b] = tmp;
			}
	for (int c = 0; c < m->enc->ncols; c++)
		ImportanceRow(rsinfo->setResult, rsinfo->setDesc, m->enc, &m->enc->cols[order[c]], imp, total);
	return (Datum) 0;
}
