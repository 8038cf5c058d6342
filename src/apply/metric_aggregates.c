/*
 * metric_aggregates.c
 *		Objective functions and evaluation metrics as parallel-safe aggregates.
 *
 * Every state is a real SQL type so that parallel query and distributed
 * planners (Citus) can combine partial states without serialisation
 * functions:
 *
 *	rmse, mae, log_loss, cross_entropy, accuracy: float8[] {n, sum}
 *	r2: float8[] {n, mean(actual), M2(actual), sse}, merged with Chan's update
 *	roc_auc: bytea holding (score, label) pairs; exact, ties count one half
 *
 * Transition functions are STRICT with a non-NULL INITCOND, so rows with a
 * NULL argument are skipped by the executor.
 *
 * One rule for every metric: a NaN prediction, score, probability, label
 * or weight is an error (22000) naming the metric, never a NaN or a made-up
 * figure.  Infinite values count as what they are where the metric is
 * defined for them (rmse is then Infinity, roc_auc ranks them first or
 * last) and are an error where it is not (probabilities, curves).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "metrics.h"
#include "aggregates.h"

/*
 * Validates a float8[] transition state of the expected length and returns
 * its data; raises an error for anything else, so a hand-made state passed
 * to a support function cannot read out of bounds.
 */
static double *
CheckState(ArrayType *state, int len, const char *caller)
{
	if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] != len ||
		ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: expected a transition state of %d float8 values", caller, len)));
	return (double *) ARR_DATA_PTR(state);
}

/* The aggregate a transition function runs for (several share one), or dflt. */
static const char *
AggName(FunctionCallInfo fcinfo, const char *dflt)
{
	Aggref	   *a = AggGetAggref(fcinfo);

	return a ? get_func_name(a->aggfnoid) : dflt;
}

/* The rule above: NaN is an error. */
#define NotNaN(v, caller, what) NotNaNIn(fcinfo, (v), (caller), (what))
static inline double
NotNaNIn(FunctionCallInfo fcinfo, double v, const char *caller, const char *what)
{
	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s: %s is NaN", AggName(fcinfo, caller), what),
				 errhint("Leave rows without a value out with WHERE, or make them NULL: NULL rows are skipped.")));
	return v;
}

/*
 * Returns the state to update: in place inside an aggregate, else a copy.
 */
static ArrayType *
StateForUpdate(FunctionCallInfo fcinfo, int argno)
{
	if (AggCheckCallContext(fcinfo, NULL))
		return PG_GETARG_ARRAYTYPE_P(argno);
	return PG_GETARG_ARRAYTYPE_P_COPY(argno);
}

/*
 * Adds a value to a {n, sum} state, weighing the row by the argument after
 * the aggregate's own when it has one (the weighted variants, such as
 * reframe.log_loss(p, y, w)): n sums the weights, sum the weighted values.
 */
static Datum
SumAccum(FunctionCallInfo fcinfo, double v, const char *caller)
{
	ArrayType  *state = StateForUpdate(fcinfo, 0);
	double	   *s = CheckState(state, 2, caller);
	double		w = 1.0;

	if (PG_NARGS() > 3)
	{
		w = NotNaN(PG_GETARG_FLOAT8(3), caller, "a weight");
		if (!(w >= 0) || isinf(w))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s: weight %g is not a number >= 0", caller, w)));
		if (w == 0)
			PG_RETURN_ARRAYTYPE_P(state);
	}
	s[0] += w;
	s[1] += w * v;
	PG_RETURN_ARRAYTYPE_P(state);
}

/* Squared error transition for rmse. */
PG_FUNCTION_INFO_V1(reframe_sq_err_accum);
Datum
reframe_sq_err_accum(PG_FUNCTION_ARGS)
{
	double		d = NotNaN(PG_GETARG_FLOAT8(1), "rmse", "a prediction") -
		NotNaN(PG_GETARG_FLOAT8(2), "rmse", "an actual value");

	return SumAccum(fcinfo, d * d, "rmse");
}

/* Absolute error transition for mae. */
PG_FUNCTION_INFO_V1(reframe_abs_err_accum);
Datum
reframe_abs_err_accum(PG_FUNCTION_ARGS)
{
	return SumAccum(fcinfo, fabs(NotNaN(PG_GETARG_FLOAT8(1), "mae", "a prediction") -
								 NotNaN(PG_GETARG_FLOAT8(2), "mae", "an actual value")), "mae");
}

static void
CheckProbabilityIn(FunctionCallInfo fcinfo, double p, const char *caller)
{
	NotNaN(p, caller, "a probability");
	if (p < 0.0 || p > 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s: probability %g is outside [0, 1]", caller, p)));
}

/* Log loss transition: p is the predicted probability of true. */
PG_FUNCTION_INFO_V1(reframe_log_loss_accum);
Datum
reframe_log_loss_accum(PG_FUNCTION_ARGS)
{
	double		p = PG_GETARG_FLOAT8(1);

	CheckProbabilityIn(fcinfo, p, "log_loss");
	return SumAccum(fcinfo, ReframeLogLoss(p, PG_GETARG_BOOL(2)), "log_loss");
}

/* A label, 0 or 1, or a soft one: the share of annotators (in [0, 1]) who said true. */
static double
CheckShare(double y, const char *caller)
{
	if (!(y >= 0.0 && y <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s: soft label %g is outside [0, 1]", caller, y)));
	return y;
}

/* Soft log loss: -(y log p + (1 - y) log(1 - p)). */
PG_FUNCTION_INFO_V1(reframe_soft_log_loss_accum);
Datum
reframe_soft_log_loss_accum(PG_FUNCTION_ARGS)
{
	double		p = PG_GETARG_FLOAT8(1);
	double		y = CheckShare(PG_GETARG_FLOAT8(2), "log_loss");

	CheckProbabilityIn(fcinfo, p, "log_loss");
	return SumAccum(fcinfo, y * ReframeLogLoss(p, true) + (1 - y) * ReframeLogLoss(p, false), "log_loss");
}

/* Brier score: the squared gap between a probability and the (soft) label. */
PG_FUNCTION_INFO_V1(reframe_brier_accum);
Datum
reframe_brier_accum(PG_FUNCTION_ARGS)
{
	double		p = PG_GETARG_FLOAT8(1);
	double		y = CheckShare(PG_GETARG_FLOAT8(2), "brier");

	CheckProbabilityIn(fcinfo, p, "brier");
	return SumAccum(fcinfo, (p - y) * (p - y), "brier");
}

/* Cross-entropy transition: p is a distribution, cls the 1-based true class. */
PG_FUNCTION_INFO_V1(reframe_cross_entropy_accum);
Datum
reframe_cross_entropy_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *p = PG_GETARG_ARRAYTYPE_P(1);
	int32		cls = PG_GETARG_INT32(2);
	int			n;
	double		pk;

	if (ARR_NDIM(p) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("cross_entropy: probabilities must be a one-dimensional array")));
	n = ArrayGetNItems(ARR_NDIM(p), ARR_DIMS(p));
	if (cls < 1 || cls > n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("cross_entropy: class %d is outside the %d probabilities given", cls, n),
				 errhint("The class is the 1-based position of the true class in the array, as in reframe.classes().")));
	if (array_contains_nulls(p))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("cross_entropy: probabilities must not contain NULL")));
	pk = ((double *) ARR_DATA_PTR(p))[cls - 1];
	CheckProbabilityIn(fcinfo, pk, "cross_entropy");
	return SumAccum(fcinfo, -log(Max(pk, PROB_EPS)), "cross_entropy");
}

/* Elementwise sum of two {n, sum} states: the combine function. */
PG_FUNCTION_INFO_V1(reframe_sum_combine);
Datum
reframe_sum_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *a = StateForUpdate(fcinfo, 0);
	ArrayType  *b = PG_GETARG_ARRAYTYPE_P(1);
	double	   *sa = CheckState(a, 2, "combine");
	double	   *sb = CheckState(b, 2, "combine");

	sa[0] += sb[0];
	sa[1] += sb[1];
	PG_RETURN_ARRAYTYPE_P(a);
}

/* sqrt(sum / n): the final function of rmse. */
PG_FUNCTION_INFO_V1(reframe_rmse_final);
Datum
reframe_rmse_final(PG_FUNCTION_ARGS)
{
	double	   *s = CheckState(PG_GETARG_ARRAYTYPE_P(0), 2, "rmse");

	if (s[0] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(sqrt(s[1] / s[0]));
}

/* sum / n: the final function of mae, log_loss, cross_entropy, accuracy. */
PG_FUNCTION_INFO_V1(reframe_mean_final);
Datum
reframe_mean_final(PG_FUNCTION_ARGS)
{
	double	   *s = CheckState(PG_GETARG_ARRAYTYPE_P(0), 2, "mean");

	if (s[0] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(s[1] / s[0]);
}

/*
 * Accuracy transition for any type with an equality operator.  The
 * operator is looked up once per query and kept in fn_extra.
 */
PG_FUNCTION_INFO_V1(reframe_accuracy_accum);
Datum
reframe_accuracy_accum(PG_FUNCTION_ARGS)
{
	TypeCacheEntry *tc = (TypeCacheEntry *) fcinfo->flinfo->fn_extra;
	bool		equal;

	if (tc == NULL)
	{
		Oid			typid = get_fn_expr_argtype(fcinfo->flinfo, 1);

		tc = lookup_type_cache(typid, TYPECACHE_EQ_OPR_FINFO);
		if (!OidIsValid(tc->eq_opr_finfo.fn_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("accuracy: type %s has no equality operator", format_type_be(typid))));
		fcinfo->flinfo->fn_extra = tc;
	}
	equal = DatumGetBool(FunctionCall2Coll(&tc->eq_opr_finfo, PG_GET_COLLATION(),
										   PG_GETARG_DATUM(1), PG_GETARG_DATUM(2)));
	return SumAccum(fcinfo, equal ? 1.0 : 0.0, "accuracy");
}

/*
 * accuracy over text, the type predict returns: the same count, for callers
 * that pass no expression types.  Citus runs aggregates on its workers that
 * way and refuses polymorphic ones, so this overload is what a distributed
 * accuracy(predict(...), label::text) uses.
 */
PG_FUNCTION_INFO_V1(reframe_accuracy_text_accum);
Datum
reframe_accuracy_text_accum(PG_FUNCTION_ARGS)
{
	Oid			collation = OidIsValid(PG_GET_COLLATION()) ? PG_GET_COLLATION() : DEFAULT_COLLATION_OID;
	bool		equal = DatumGetBool(DirectFunctionCall2Coll(texteq, collation,
															 PG_GETARG_DATUM(1), PG_GETARG_DATUM(2)));

	return SumAccum(fcinfo, equal ? 1.0 : 0.0, "accuracy");
}

/*
 * accuracy over boolean, integer and bigint without expression types (for
 * Citus, as the text overload): passed by value, equal when their Datums are.
 */
PG_FUNCTION_INFO_V1(reframe_accuracy_datum_accum);
Datum
reframe_accuracy_datum_accum(PG_FUNCTION_ARGS)
{
	return SumAccum(fcinfo, PG_GETARG_DATUM(1) == PG_GETARG_DATUM(2) ? 1.0 : 0.0, "accuracy");
}

/* accuracy over double precision: equal as numbers (0 = -0); NaN is an error. */
PG_FUNCTION_INFO_V1(reframe_accuracy_float8_accum);
Datum
reframe_accuracy_float8_accum(PG_FUNCTION_ARGS)
{
	double		p = NotNaN(PG_GETARG_FLOAT8(1), "accuracy", "a prediction");
	double		a = NotNaN(PG_GETARG_FLOAT8(2), "accuracy", "an actual value");

	return SumAccum(fcinfo, p == a ? 1.0 : 0.0, "accuracy");
}

/* r2 transition: state {n, mean_y, M2_y, sse}, Welford's update. */
PG_FUNCTION_INFO_V1(reframe_r2_accum);
Datum
reframe_r2_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = StateForUpdate(fcinfo, 0);
	double	   *s = CheckState(state, 4, "r2");
	double		pred = NotNaN(PG_GETARG_FLOAT8(1), "r2", "a prediction");
	double		y = NotNaN(PG_GETARG_FLOAT8(2), "r2", "an actual value");
	double		delta = y - s[1];

	s[0] += 1.0;
	s[1] += delta / s[0];
	s[2] += delta * (y - s[1]);
	s[3] += (y - pred) * (y - pred);
	PG_RETURN_ARRAYTYPE_P(state);
}

/* r2 combine: Chan et al.'s parallel merge of means and M2. */
PG_FUNCTION_INFO_V1(reframe_r2_combine);
Datum
reframe_r2_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *a = StateForUpdate(fcinfo, 0);
	ArrayType  *b = PG_GETARG_ARRAYTYPE_P(1);
	double	   *sa = CheckState(a, 4, "r2");
	double	   *sb = CheckState(b, 4, "r2");
	double		n;
	double		delta;

	if (sb[0] == 0)
		PG_RETURN_ARRAYTYPE_P(a);
	if (sa[0] == 0)
	{
		memcpy(sa, sb, 4 * sizeof(double));
		PG_RETURN_ARRAYTYPE_P(a);
	}
	n = sa[0] + sb[0];
	delta = sb[1] - sa[1];
	sa[2] += sb[2] + delta * delta * sa[0] * sb[0] / n;
	sa[1] += delta * sb[0] / n;
	sa[0] = n;
	sa[3] += sb[3];
	PG_RETURN_ARRAYTYPE_P(a);
}

/* 1 - SSE / SST; NULL for no rows or a constant actual. */
PG_FUNCTION_INFO_V1(reframe_r2_final);
Datum
reframe_r2_final(PG_FUNCTION_ARGS)
{
	double	   *s = CheckState(PG_GETARG_ARRAYTYPE_P(0), 4, "r2");

	if (s[0] == 0 || s[2] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(1.0 - s[3] / s[2]);
}

/*
 * roc_auc and ndcg states: a bytea holding a header and a growing array of
 * (score, label) pairs, where the label is the class (AUC) or the relevance
 * (NDCG), and param is NDCG's cut-off k.  The varlena size covers the whole
 * capacity so that a copy made by the executor stays valid; "count" says how
 * much of it is used.
 */
typedef struct AucState
{
	int32		vl_len_;
	int32		magic;
	int64		param;
	int64		count;
	int64		capacity;
	RfScored		pairs[FLEXIBLE_ARRAY_MEMBER];
} AucState;

#define AUC_MAGIC 0x52464132	/* "RFA2" */
#define AUC_SIZE(cap) (offsetof(AucState, pairs) + (Size) (cap) * sizeof(RfScored))

/* Checks a roc_auc state; an empty bytea is the initial state. */
static AucState *
AucCheck(bytea *b)
{
	AucState   *st = (AucState *) b;
	Size		len = VARSIZE(b);

	if (len == VARHDRSZ)
		return NULL;
	/* the capacity must be what the size holds: no product that could wrap */
	if (len < offsetof(AucState, pairs) || st->magic != AUC_MAGIC ||
		(len - offsetof(AucState, pairs)) % sizeof(RfScored) != 0 ||
		st->capacity != (int64) ((len - offsetof(AucState, pairs)) / sizeof(RfScored)) ||
		st->count < 0 || st->count > st->capacity)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid transition state for roc_auc or ndcg")));
	return st;
}

static AucState *
AucAlloc(int64 capacity)
{
	Size		size = AUC_SIZE(capacity);
	AucState   *st;

	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("roc_auc or ndcg: too many rows in one group"),
				 errdetail("The exact metric keeps every score; at most %d rows fit in one state.",
						   (int) ((MaxAllocSize - offsetof(AucState, pairs)) / sizeof(RfScored)))));
	st = palloc(size);
	SET_VARSIZE(st, size);
	st->magic = AUC_MAGIC;
	st->param = 0;
	st->count = 0;
	st->capacity = capacity;
	return st;
}

/* Returns a state with room for "extra" more pairs, growing by doubling. */
static AucState *
AucReserve(FunctionCallInfo fcinfo, AucState *st, int64 extra)
{
	MemoryContext aggctx;
	MemoryContext old;
	AucState   *grown;
	int64		need = (st ? st->count : 0) + extra;
	int64		cap;
	bool		inagg = AggCheckCallContext(fcinfo, &aggctx);

	if (st && inagg && st->capacity >= need)
		return st;
	cap = Max(st ? st->capacity : 0, 256);
	while (cap < need)
		cap *= 2;
	old = MemoryContextSwitchTo(inagg ? aggctx : CurrentMemoryContext);
	grown = AucAlloc(cap);
	MemoryContextSwitchTo(old);
	if (st)
	{
		memcpy(grown->pairs, st->pairs, st->count * sizeof(RfScored));
		grown->count = st->count;
		grown->param = st->param;
	}
	return grown;
}

/* roc_auc transition: remembers the (score, label) pair. */
PG_FUNCTION_INFO_V1(reframe_auc_accum);
Datum
reframe_auc_accum(PG_FUNCTION_ARGS)
{
	AucState   *st = AucCheck(PG_GETARG_BYTEA_P(0));

	st = AucReserve(fcinfo, st, 1);
	st->pairs[st->count].score = NotNaN(PG_GETARG_FLOAT8(1), "roc_auc", "a score");
	st->pairs[st->count].label = PG_GETARG_BOOL(2) ? 1.0 : 0.0;
	st->count++;
	PG_RETURN_BYTEA_P(st);
}

const double *
ReframePairs(bytea *state, int64 *n)
{
	AucState   *st = AucCheck(state);

	*n = st ? st->count : 0;
	return st && st->count > 0 ? &st->pairs[0].score : NULL;
}

bytea *
ReframePairsState(const double *scores, const double *labels, int64 n)
{
	AucState   *st = AucAlloc(Max(n, 1));

	for (int64 i = 0; i < n; i++)
	{
		st->pairs[i].score = scores[i];
		st->pairs[i].label = labels[i];
	}
	st->count = n;
	return (bytea *) st;
}

/* Curves over (prediction, actual) pairs: remembers the pair. */
PG_FUNCTION_INFO_V1(reframe_pairs_accum);
Datum
reframe_pairs_accum(PG_FUNCTION_ARGS)
{
	AucState   *st = AucCheck(PG_GETARG_BYTEA_P(0));

	st = AucReserve(fcinfo, st, 1);
	st->pairs[st->count].score = NotNaN(PG_GETARG_FLOAT8(1), "curve", "a score");
	st->pairs[st->count].label = NotNaN(PG_GETARG_FLOAT8(2), "curve", "a label");
	st->count++;
	PG_RETURN_BYTEA_P(st);
}

/* roc_auc combine: concatenates the pairs of two partial states. */
PG_FUNCTION_INFO_V1(reframe_auc_combine);
Datum
reframe_auc_combine(PG_FUNCTION_ARGS)
{
	AucState   *a = AucCheck(PG_GETARG_BYTEA_P(0));
	AucState   *b = AucCheck(PG_GETARG_BYTEA_P(1));

	if (b == NULL || b->count == 0)
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	if (a && a->count > 0 && a->param != b->param)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ndcg: k must be the same for every row of a group")));
	a = AucReserve(fcinfo, a, b->count);
	a->param = b->param;
	memcpy(a->pairs + a->count, b->pairs, b->count * sizeof(RfScored));
	a->count += b->count;
	PG_RETURN_BYTEA_P(a);
}

/* roc_auc final: NULL without both a positive and a negative row. */
PG_FUNCTION_INFO_V1(reframe_auc_final);
Datum
reframe_auc_final(PG_FUNCTION_ARGS)
{
	AucState   *st = AucCheck(PG_GETARG_BYTEA_P(0));
	double	   *scores;
	double	   *labels;
	double		auc;

	if (st == NULL || st->count == 0)
		PG_RETURN_NULL();
	scores = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * st->count);
	labels = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * st->count);
	for (int64 i = 0; i < st->count; i++)
	{
		scores[i] = st->pairs[i].score;
		labels[i] = st->pairs[i].label;
	}
	auc = ReframeRocAuc(scores, labels, st->count);
	pfree(scores);
	pfree(labels);
	if (isnan(auc))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(auc);
}

/* ndcg transition: remembers (score, relevance) and the cut-off k. */
PG_FUNCTION_INFO_V1(reframe_ndcg_accum);
Datum
reframe_ndcg_accum(PG_FUNCTION_ARGS)
{
	AucState   *st = AucCheck(PG_GETARG_BYTEA_P(0));
	int32		k = PG_GETARG_INT32(3);

	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ndcg: k must be at least 1, not %d", k)));
	if (st && st->count > 0 && st->param != k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ndcg: k must be the same for every row of a group")));
	st = AucReserve(fcinfo, st, 1);
	st->param = k;
	st->pairs[st->count].score = NotNaN(PG_GETARG_FLOAT8(1), "ndcg", "a score");
	st->pairs[st->count].label = NotNaN(PG_GETARG_FLOAT8(2), "ndcg", "a relevance");
	st->count++;
	PG_RETURN_BYTEA_P(st);
}

/* ndcg final: NULL for no rows or no relevant row. */
PG_FUNCTION_INFO_V1(reframe_ndcg_final);
Datum
reframe_ndcg_final(PG_FUNCTION_ARGS)
{
	AucState   *st = AucCheck(PG_GETARG_BYTEA_P(0));
	double	   *scores;
	double	   *rel;
	double		v;

	if (st == NULL || st->count == 0)
		PG_RETURN_NULL();
	scores = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * st->count);
	rel = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * st->count);
	for (int64 i = 0; i < st->count; i++)
	{
		scores[i] = st->pairs[i].score;
		rel[i] = st->pairs[i].label;
	}
	v = ReframeNdcg(scores, rel, st->count, st->param);
	if (isnan(v))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(v);
}
