/*
 * curves.c
 *		Curves for plotting, as aggregates over (score, label): ROC,
 *		precision-recall, calibration (reliability), cumulative gain and
 *		lift, and regression residuals.  Each keeps its rows' pairs in the
 *		bytea state of roc_auc (so each is parallel safe, with a combine
 *		function) and returns a jsonb array of points, one object a point:
 *		jsonb_to_recordset turns it into rows for any plotting tool.
 */
#include "postgres.h"

#include <math.h>

#include "jsonutil.h"
#include "metrics.h"
#include "aggregates.h"

/* The most points a ROC or precision-recall curve returns. */
#define CURVE_MAX_POINTS 1000

/* The state's pairs, copied and sorted by score, highest first. */
static RfScored *
SortedPairs(FunctionCallInfo fcinfo, const char *what, int64 *n)
{
	const double *p = ReframePairs(PG_GETARG_BYTEA_P(0), n);
	RfScored	   *s;

	if (p == NULL)
		return NULL;
	s = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(RfScored) * *n);
	memcpy(s, p, sizeof(RfScored) * *n);
	for (int64 i = 0; i < *n; i++)
		if (!isfinite(s[i].score) || !isfinite(s[i].label))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s: scores and labels must be finite, got %g and %g", what,
							s[i].score, s[i].label)));
	qsort(s, *n, sizeof(RfScored), RfScoredByScoreDesc);
	return s;
}

static void
Point(StringInfo buf, bool *first, const char *const *keys, const double *v, int nkeys)
{
	appendStringInfoString(buf, *first ? "{" : ", {");
	*first = false;
	for (int k = 0; k < nkeys; k++)
	{
		if (k)
			appendStringInfoString(buf, ", ");
		JsonAppendString(buf, keys[k]);
		appendStringInfoString(buf, ": ");
		JsonAppendNumber(buf, v[k]);
	}
	appendStringInfoChar(buf, '}');
}

/*
 * ROC or precision-recall: one point per distinct score taken as the
 * threshold (score >= threshold is positive), thinned to at most
 * CURVE_MAX_POINTS evenly spread over the rows, the last always kept; ROC
 * starts at (0, 0).
 */
static Datum
ThresholdCurve(FunctionCallInfo fcinfo, bool roc)
{
	static const char *const roc_keys[] = {"threshold", "fpr", "tpr"};
	static const char *const pr_keys[] = {"threshold", "recall", "precision"};
	int64		n;
	RfScored	   *s = SortedPairs(fcinfo, roc ? "roc_curve" : "pr_curve", &n);
	double		pos = 0;
	double		tp = 0;
	double		fp = 0;
	int64		every;
	int64		next = 0;
	bool		first = true;
	StringInfoData buf;

	if (s == NULL)
		PG_RETURN_NULL();
	for (int64 i = 0; i < n; i++)
		pos += s[i].label != 0;
	if (pos == 0 || (roc && pos == n))
		PG_RETURN_NULL();		/* a curve needs both classes (PR: a positive) */
	every = Max((n + CURVE_MAX_POINTS - 1) / CURVE_MAX_POINTS, 1);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	if (roc)
		Point(&buf, &first, roc_keys, (double[]) {s[0].score + 1, 0, 0}, 3);
	for (int64 i = 0; i < n; i++)
	{
		tp += s[i].label != 0;
		fp += s[i].label == 0;
		if (i + 1 < n && s[i + 1].score == s[i].score)
			continue;			/* a threshold takes every row of its score */
		if (i < next && i + 1 < n)
			continue;
		next = i + every;
		if (roc)
			Point(&buf, &first, roc_keys, (double[]) {s[i].score, fp / (n - pos), tp / pos}, 3);
		else
			Point(&buf, &first, pr_keys, (double[]) {s[i].score, tp / pos, tp / (tp + fp)}, 3);
	}
	appendStringInfoChar(&buf, ']');
	PG_RETURN_JSONB_P(JsonFromText(buf.data));
}

/* roc_curve final: [{threshold, fpr, tpr}, ...]. */
PG_FUNCTION_INFO_V1(reframe_roc_curve_final);
Datum
reframe_roc_curve_final(PG_FUNCTION_ARGS)
{
	return ThresholdCurve(fcinfo, true);
}

/* pr_curve final: [{threshold, recall, precision}, ...]. */
PG_FUNCTION_INFO_V1(reframe_pr_curve_final);
Datum
reframe_pr_curve_final(PG_FUNCTION_ARGS)
{
	return ThresholdCurve(fcinfo, false);
}

/*
 * calibration final: ten equal-width bins of the predicted probability,
 * each with its rows, mean prediction and observed share of positives
 * (empty bins left out): a reliability diagram.
 */
PG_FUNCTION_INFO_V1(reframe_calibration_final);
Datum
reframe_calibration_final(PG_FUNCTION_ARGS)
{
	static const char *const keys[] = {"bin", "lower", "upper", "rows", "mean_predicted", "fraction_positive"};
	int64		n;
	const double *p = ReframePairs(PG_GETARG_BYTEA_P(0), &n);
	double		rows[10] = {0};
	double		sp[10] = {0};
	double		sy[10] = {0};
	bool		first = true;
	StringInfoData buf;

	if (p == NULL)
		PG_RETURN_NULL();
	for (int64 i = 0; i < n; i++)
	{
		double		v = p[2 * i];
		int			b;

		if (!(v >= 0 && v <= 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("calibration: a probability must be between 0 and 1, got %g", v)));
		b = Min((int) (v * 10), 9);
		rows[b]++;
		sp[b] += v;
		sy[b] += p[2 * i + 1] != 0;
	}
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int b = 0; b < 10; b++)
		if (rows[b] > 0)
			Point(&buf, &first, keys, (double[]) {b + 1, b / 10.0, (b + 1) / 10.0, rows[b],
												  sp[b] / rows[b], sy[b] / rows[b]}, 6);
	appendStringInfoChar(&buf, ']');
	PG_RETURN_JSONB_P(JsonFromText(buf.data));
}

/*
 * lift final: the rows ranked by score in ten equal parts (deciles, ties
 * split by the order they come in); per part the share of all rows so far,
 * the share of the positives found so far (cumulative gain) and their
 * ratio (lift).
 */
PG_FUNCTION_INFO_V1(reframe_lift_final);
Datum
reframe_lift_final(PG_FUNCTION_ARGS)
{
	static const char *const keys[] = {"decile", "fraction", "gain", "lift"};
	int64		n;
	RfScored	   *s = SortedPairs(fcinfo, "lift", &n);
	double		pos = 0;
	double		found = 0;
	int64		i = 0;
	bool		first = true;
	StringInfoData buf;

	if (s == NULL)
		PG_RETURN_NULL();
	for (int64 j = 0; j < n; j++)
		pos += s[j].label != 0;
	if (pos == 0)
		PG_RETURN_NULL();
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int d = 1; d <= 10; d++)
	{
		int64		end = (n * d) / 10;
		double		fraction = (double) end / n;

		for (; i < end; i++)
			found += s[i].label != 0;
		if (end == 0)
			continue;
		Point(&buf, &first, keys, (double[]) {d, fraction, found / pos, (found / pos) / fraction}, 4);
	}
	appendStringInfoChar(&buf, ']');
	PG_RETURN_JSONB_P(JsonFromText(buf.data));
}

/*
 * residuals final: the rows ranked by prediction in ten equal parts; per
 * part the mean prediction, mean actual value, mean residual (actual -
 * predicted) and the root mean squared residual.
 */
PG_FUNCTION_INFO_V1(reframe_residuals_final);
Datum
reframe_residuals_final(PG_FUNCTION_ARGS)
{
	static const char *const keys[] = {"decile", "rows", "mean_predicted", "mean_actual", "mean_residual", "rmse"};
	int64		n;
	RfScored	   *s = SortedPairs(fcinfo, "residuals", &n);
	int64		i;
	bool		first = true;
	StringInfoData buf;

	if (s == NULL)
		PG_RETURN_NULL();
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	/* lowest predictions first */
	i = n;
	for (int d = 1; d <= 10; d++)
	{
		int64		end = n - (n * d) / 10;
		double		rows = 0;
		double		sp = 0;
		double		sa = 0;
		double		se = 0;

		for (; i > end; i--)
		{
			const RfScored *r = &s[i - 1];

			rows++;
			sp += r->score;
			sa += r->label;
			se += (r->label - r->score) * (r->label - r->score);
		}
		if (rows == 0)
			continue;
		Point(&buf, &first, keys, (double[]) {d, rows, sp / rows, sa / rows, (sa - sp) / rows,
											  sqrt(se / rows)}, 6);
	}
	appendStringInfoChar(&buf, ']');
	PG_RETURN_JSONB_P(JsonFromText(buf.data));
}

char *
ReframeCurveJson(const char *curve, const double *scores, const double *labels, int64 n)
{
	LOCAL_FCINFO(fcinfo, 1);
	PGFunction	fn = strcmp(curve, "roc") == 0 ? reframe_roc_curve_final :
		strcmp(curve, "pr") == 0 ? reframe_pr_curve_final :
		strcmp(curve, "calibration") == 0 ? reframe_calibration_final :
		strcmp(curve, "lift") == 0 ? reframe_lift_final : reframe_residuals_final;
	Datum		d;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = PointerGetDatum(ReframePairsState(scores, labels, n));
	fcinfo->args[0].isnull = false;
	d = fn(fcinfo);
	if (fcinfo->isnull)
		return NULL;
	return JsonbToCString(NULL, &DatumGetJsonbP(d)->root, VARSIZE(DatumGetJsonbP(d)));
}
