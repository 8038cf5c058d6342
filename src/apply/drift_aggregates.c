/*
 * drift_aggregates.c
 *		The histograms reframe.drift counts: rows by bins of a number
 *		(reframe.bin_counts) or by categories (reframe.category_counts).
 *
 * The state is a float8[] of counts, the bins then the missing values: a
 * real SQL type with a combine function, so that a source is counted in
 * parallel workers and on a Citus cluster's workers.  A number falls in bin
 * i when i edges are at or below it (the bins of width_bucket: below the
 * first edge is bin 0); NaN, above every number, in the last.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "reframe.h"

/* Counts longer than this many bins are not a histogram of ours. */
#define MAX_BINS 100000

static ArrayType *
CountsState(FunctionCallInfo fcinfo, int len)
{
	ArrayType  *state = PG_ARGISNULL(0) ? NULL : PG_GETARG_ARRAYTYPE_P(0);

	if (state == NULL || ArrayGetNItems(ARR_NDIM(state), ARR_DIMS(state)) == 0)
	{
		Datum	   *zeros = palloc(sizeof(Datum) * len);

		for (int i = 0; i < len; i++)
			zeros[i] = Float8GetDatum(0);
		return construct_array(zeros, len, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	}
	if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] != len || ARR_HASNULL(state) ||
		ARR_ELEMTYPE(state) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected a transition state of %d counts", len)));
	return AggCheckCallContext(fcinfo, NULL) ? state : PG_GETARG_ARRAYTYPE_P_COPY(0);
}

/* A constant array argument, deconstructed once per query (kept while its bytes are the same). */
typedef struct ArrayCache
{
	ArrayType  *copy;
	Datum	   *elems;
	int			n;
} ArrayCache;

/* The elements of a one-dimensional array argument without NULLs. */
static void
ArrayArg(FunctionCallInfo fcinfo, int argno, Oid elemtype, Datum **elems, int *n, const char *what)
{
	ArrayCache *cache = fcinfo->flinfo->fn_extra;
	ArrayType  *a;
	bool	   *nulls;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	MemoryContext old;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the %s must not be NULL", what)));
	a = PG_GETARG_ARRAYTYPE_P(argno);
	if (cache && VARSIZE(cache->copy) == VARSIZE(a) && memcmp(cache->copy, a, VARSIZE(a)) == 0)
	{
		*elems = cache->elems;
		*n = cache->n;
		return;
	}
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the %s must be a one-dimensional array", what)));
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	cache = palloc(sizeof(ArrayCache));
	cache->copy = (ArrayType *) palloc(VARSIZE(a));
	memcpy(cache->copy, a, VARSIZE(a));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(cache->copy, elemtype, typlen, typbyval, typalign, &cache->elems, &nulls, &cache->n);
	MemoryContextSwitchTo(old);
	for (int i = 0; i < cache->n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the %s must not hold NULL", what)));
	if (cache->n >= MAX_BINS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the %s hold %d values, more than %d", what, cache->n, MAX_BINS - 1)));
	fcinfo->flinfo->fn_extra = cache;
	*elems = cache->elems;
	*n = cache->n;
}

/* bin_counts(value, edges): the state, then a number and the increasing edges. */
PG_FUNCTION_INFO_V1(reframe_bin_counts_accum);
Datum
reframe_bin_counts_accum(PG_FUNCTION_ARGS)
{
	Datum	   *edges;
	int			k;
	ArrayType  *state;
	double	   *counts;
	int			bin;

	ArrayArg(fcinfo, 2, FLOAT8OID, &edges, &k, "bin edges");
	state = CountsState(fcinfo, k + 2);
	counts = (double *) ARR_DATA_PTR(state);
	if (PG_ARGISNULL(1))
		bin = k + 1;
	else
	{
		double		v = PG_GETARG_FLOAT8(1);
		int			lo = 0;
		int			hi = k;

		/* how many edges are at or below v: NaN is above them all */
		while (lo < hi)
		{
			int			mid = (lo + hi) / 2;

			if (float8_le(DatumGetFloat8(edges[mid]), v))
				lo = mid + 1;
			else
				hi = mid;
		}
		bin = lo;
	}
	counts[bin] += 1;
	PG_RETURN_ARRAYTYPE_P(state);
}

/* category_counts(value, categories): each category's rows, then the others', then the missing. */
PG_FUNCTION_INFO_V1(reframe_category_counts_accum);
Datum
reframe_category_counts_accum(PG_FUNCTION_ARGS)
{
	Datum	   *cats;
	int			n;
	ArrayType  *state;
	double	   *counts;
	int			bin = -1;

	ArrayArg(fcinfo, 2, TEXTOID, &cats, &n, "categories");
	state = CountsState(fcinfo, n + 2);
	counts = (double *) ARR_DATA_PTR(state);
	if (PG_ARGISNULL(1))
		bin = n + 1;
	else
	{
		text	   *v = PG_GETARG_TEXT_PP(1);

		for (int i = 0; i < n && bin < 0; i++)
		{
			text	   *c = DatumGetTextPP(cats[i]);

			if (VARSIZE_ANY_EXHDR(c) == VARSIZE_ANY_EXHDR(v) &&
				memcmp(VARDATA_ANY(c), VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v)) == 0)
				bin = i;
		}
		if (bin < 0)
			bin = n;
	}
	counts[bin] += 1;
	PG_RETURN_ARRAYTYPE_P(state);
}

/* Adds two states of counts, either of which may be empty (no row yet). */
PG_FUNCTION_INFO_V1(reframe_counts_combine);
Datum
reframe_counts_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_ARGISNULL(0) ? NULL : PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *b = PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1);
	int			na = a ? ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) : 0;
	int			nb = b ? ArrayGetNItems(ARR_NDIM(b), ARR_DIMS(b)) : 0;
	ArrayType  *sum;
	double	   *s;
	double	   *t;

	if (nb == 0)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_ARRAYTYPE_P(a);
	}
	if (na == 0)
		PG_RETURN_ARRAYTYPE_P(b);
	if (na != nb || ARR_NDIM(a) != 1 || ARR_NDIM(b) != 1 || ARR_HASNULL(a) || ARR_HASNULL(b) ||
		ARR_ELEMTYPE(a) != FLOAT8OID || ARR_ELEMTYPE(b) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("counts_combine: states of %d and %d counts cannot be added", na, nb)));
	sum = AggCheckCallContext(fcinfo, NULL) ? a : PG_GETARG_ARRAYTYPE_P_COPY(0);
	s = (double *) ARR_DATA_PTR(sum);
	t = (double *) ARR_DATA_PTR(b);
	for (int i = 0; i < na; i++)
		s[i] += t[i];
	PG_RETURN_ARRAYTYPE_P(sum);
}
