/*
 * split.c
 *		The split of the source's rows into training and validation rows
 *		(and cross-validation folds): each row's seeded draw, or its time.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "reframe.h"
#include "train_steps.h"

/* The split draw of a value: uniform in [0, 1) for the seed (reframe.split_fraction). */
uint64
ReframeSplitHash(const char *value, uint64 seed)
{
	return hash_bytes_extended((const unsigned char *) value, strlen(value), seed);
}

/*
 * A per-row array (of elem bytes a row) with room for row n: doubled as it
 * fills, in huge pages once large (matrix.h).
 */
void *
TrainRowArray(RfTrainState *ts, void *arr, int64 n, Size elem, struct RfMapped **map)
{
	if (arr == NULL || (n >= 1024 && (n & (n - 1)) == 0))
	{
		MemoryContext old = MemoryContextSwitchTo(ts->mcxt);

		arr = RfGrowLarge(arr, elem * n, elem * Max(1024, 2 * n), map);
		MemoryContextSwitchTo(old);
	}
	return arr;
}

/* Keeps a row's split draw, which also draws its fold for "l2": "auto" (ReframeInnerFold). */
void
TrainKeepDraw(RfTrainState *ts, int set, double u)
{
	int64		n = ts->nrows[set];

	if (!ts->opts->l2_auto)
		return;
	ts->draws[set] = TrainRowArray(ts, ts->draws[set], n, sizeof(double), &ts->draws_map[set]);
	ts->draws[set][n] = u;
}

/* Validation (1) or training (0) for a row's draw u: below the holdout, or in its fold. */
int
TrainSplitSet(RfTrainState *ts, double u)
{
	return ReframeSplitSet(u, ts->holdout, ts->folds, ts->fold);
}

/* The split draw of a value (the text of a split_by column), as training makes it. */
PG_FUNCTION_INFO_V1(reframe_split_fraction);
Datum
reframe_split_fraction(PG_FUNCTION_ARGS)
{
	char	   *v = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uint64		h = ReframeSplitHash(v, (uint64) PG_GETARG_INT64(1));

	PG_RETURN_FLOAT8(ReframeHashToUnit(hash_bytes_uint32_extended((uint32) h, h >> 32)));
}

/*
 * "l2": "auto" on streamed moments keeps the training rows' moments by inner
 * fold, and the validation rows' too while they may yet become training rows
 * (by default, under 1,000 rows): the penalty is then cross-validated
 * exactly as on kept rows.
 */
void
TrainCreateFoldMoments(RfTrainState *ts)
{
	bool		may_merge = ts->opts->validation < 0 && ts->folds == 0;

	for (int set = 0; set < 2 && ts->opts->l2_auto; set++)
		for (int k = 0; k < RF_L2_FOLDS && (set == 0 || may_merge); k++)
			ts->fgram[set][k] = GramCreate(ts->enc->nraw, ts->origin, &ts->yorigin);
}

void
TrainAddFoldMoments(RfTrainState *ts, int set, const double *raw, double y, double w, double u)
{
	if (set == 1 && ts->fgram[1][0] && ts->nrows[0] + ts->nrows[1] >= 1000)
	{
		/* past 1,000 rows the validation rows stay apart */
		for (int k = 0; k < RF_L2_FOLDS; k++)
			GramFree(ts->fgram[1][k]);
		memset(ts->fgram[1], 0, sizeof(ts->fgram[1]));
	}
	if (ts->fgram[set][0])
		GramAdd(ts->fgram[set][ReframeInnerFold(u, RF_L2_FOLDS)], raw, y, w);
}

/*
 * "split": "time" holds out the latest rows by the split_by column (a
 * number, date or timestamp): the validation share of them, above the
 * value at the training share's quantile (ties stay in training; a NULL
 * value trains).  Cross-validation's folds roll their origin forward: of
 * folds + 1 blocks of time, fold f trains on blocks 0 .. f and validates
 * on block f + 1.
 */

/* A split_by value on a line, in the column's order. */
static double
TimeValue(Datum d, Oid typid)
{
	switch (typid)
	{
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return (double) DatumGetTimestamp(d);
		case DATEOID:
			return (double) DatumGetDateADT(d);
		default:
			return ReframeDatumToDouble(d, typid);
	}
}

static bool
IsTimeSplitType(Oid typid)
{
	return typid == TIMESTAMPOID || typid == TIMESTAMPTZOID || typid == DATEOID || ReframeIsNumericType(typid);
}

/* The quantiles of the split_by column over the source, as its values; within SPI. */
static Datum *
TimeQuantiles(RfTrainState *ts, const double *q, int n)
{
	StringInfoData sql;
	Datum	   *values;
	bool	   *nulls;
	int			count;
	bool		isnull;
	Datum		arr;
	Oid			elemtype = ts->stype;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	/*
	 * The cuts, and as JSON (ISO 8601 for a time, whatever DateStyle) the
	 * first of them and the latest value, for the spec
	 */
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT q, pg_catalog.to_jsonb(q[1])::text, latest FROM (SELECT percentile_disc(ARRAY[");
	for (int i = 0; i < n; i++)
		appendStringInfo(&sql, "%s%.17g", i ? ", " : "", q[i]);
	appendStringInfo(&sql, "]::float8[]) WITHIN GROUP (ORDER BY s.%s) AS q, pg_catalog.to_jsonb(max(s.%s))::text AS latest"
					 " FROM (%s) s) cuts",
					 quote_identifier(ts->opts->split_by), quote_identifier(ts->opts->split_by), ts->source_sql);
	if (SPI_execute(sql.data, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "reframe: could not find the time split of %s", ts->source_sql);
	arr = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("split_by column \"%s\" is NULL in every row, so no rows are the latest", ts->opts->split_by)));
	ts->time_cut = MemoryContextStrdup(ts->mcxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	ts->time_latest = MemoryContextStrdup(ts->mcxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(DatumGetArrayTypeP(arr), elemtype, typlen, typbyval, typalign, &values, &nulls, &count);
	Assert(count == n);
	return values;
}

/*
 * Plans "split": "time" once the source's columns are known, before the
 * rows are read: the cut values from the source (one aggregate query).
 */
void
TrainPlanTimeSplit(RfTrainState *ts)
{
	double		q[2];
	int			n = 0;
	Datum	   *cuts;

	if (ts->opts->split == NULL || strcmp(ts->opts->split, "time") != 0)
		return;
	if (ts->sattno < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"split\": \"time\" needs \"split_by\", the column that orders the rows in time"),
				 errhint("Name a timestamp, date or number column, e.g. {\"split\": \"time\", \"split_by\": \"created_at\"}.")));
	if (!IsTimeSplitType(ts->stype))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("split_by column \"%s\" has type %s, which does not order rows in time",
						ts->opts->split_by, format_type_be(ts->stype)),
				 errhint("\"split\": \"time\" needs a timestamp, date or number column.")));
	if (ts->folds > 0)
	{
		q[n++] = (double) (ts->fold + 1) / (ts->folds + 1);
		if (ts->fold + 2 <= ts->folds)
			q[n++] = (double) (ts->fold + 2) / (ts->folds + 1);
	}
	else
		q[n++] = 1 - ts->holdout;
	SPI_connect();
	cuts = TimeQuantiles(ts, q, n);
	ts->time_split = true;
	ts->time_train_max = TimeValue(cuts[0], ts->stype);
	ts->time_valid_max = n > 1 ? TimeValue(cuts[1], ts->stype) : get_float8_infinity();
	SPI_finish();
}

/* A row's set under "split": "time": 0 training, 1 validation, -1 neither (a later fold's). */
int
TrainTimeSet(RfTrainState *ts, Datum d, bool isnull)
{
	double		v;

	if (isnull)
		return 0;
	v = TimeValue(d, ts->stype);
	if (v <= ts->time_train_max)
		return 0;
	return v <= ts->time_valid_max ? 1 : -1;
}
