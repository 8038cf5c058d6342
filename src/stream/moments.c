/*
 * moments.c
 *		Streaming least squares as an aggregate: reframe.moments.
 *
 * Squared-loss regression on numeric inputs needs only the second moments
 * of [x, 1, y] (gram.h).  Read in this backend they are summed row by row
 * (train.c); here they are an aggregate with a bytea state and a combine
 * function, so that PostgreSQL's parallel workers, or Citus's workers on
 * their shards, each sum their part, and the training backend holds
 * O(features^2) however many rows there are:
 *
 *	SELECT reframe.moments(config, ARRAY[x1, x2, ...]::float8[], y, t, w)
 *	FROM (source) s

 * with the targets in y and t (stream_targets.h).
 *
 * The config fixes what every part must agree on: the split (a row's draw is
 * the seeded hash of its values, as when reading here), and the origin the
 * moments are shifted by (the first row's values), so that parts add up.
 * The state is self-contained (no pointers, no pending rows), as Citus ships
 * a worker's state to the coordinator as text.
 */
#include "postgres.h"

#include <math.h>

#include <cblas.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "catalog/pg_class.h"
#include "optimizer/cost.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "reframe.h"
#include "citus.h"
#include "gram.h"
#include "moments.h"
#include "gradient.h"
#include "options.h"
#include "stream_targets.h"

#define MOMENTS_MAGIC 0x52464d31	/* "RFM1" */

static const char *StreamUnsupported(RfTrainState *ts);

/* What every part of the pass agrees on (a bytea). */
typedef struct MomentsConfig
{
	int32		vl_len_;
	int32		magic;
	int32		R;				/* raw inputs */
	int32		ncols;			/* source columns they come from */
	int32		folds;			/* cross-validation: hold out fold "fold" of "folds" */
	int32		fold;
	int32		keep_folds;		/* "l2": "auto": moments by inner fold too */
	int32		pad;
	uint64		hash0;			/* the split hash's seed */
	NameData	target;			/* for messages */
	double		holdout;
	double		sample;			/* "sample": the share of rows kept */
	double		yorigin;
	RfStreamTargets targets;	/* the moments' y: the first target's value */
	/* double origin[R]; int32 col_len[ncols] */
} MomentsConfig;

#define CONFIG_ORIGIN(c) ((double *) ((char *) (c) + sizeof(MomentsConfig)))
#define CONFIG_COLLEN(c) ((int32 *) (CONFIG_ORIGIN(c) + (c)->R))

/* The moments of one part (a bytea, changed in place while aggregating). */
typedef struct MomentsState
{
	int32		vl_len_;
	int32		magic;
	int32		R;
	int32		ngrams;			/* 2 (training, validation), or 2 + 2 x folds */
	int32		missing;		/* the gap moments (MX, MM, anymiss) follow */
	int32		pad;
	double		nrows[2];
	double		skipped;		/* rows with a NULL target */
	double		bad_weights;
	double		sampled_out;
	/* per gram: G (D x D); then if missing, per gram MX (R x D), MM (R x R), anymiss (R) */
} MomentsState;

#define STATE_DATA(s) ((double *) ((char *) (s) + sizeof(MomentsState)))

static Size
GramDoubles(int R, bool missing)
{
	Size		D = R + 2;

	return D * D + (missing ? R * D + (Size) R * R + R : 0);
}

static MomentsState *
StateAlloc(int R, int ngrams, bool missing)
{
	Size		size = sizeof(MomentsState) + sizeof(double) * ngrams * GramDoubles(R, missing);
	MomentsState *st = palloc0(size);

	SET_VARSIZE(st, size);
	st->magic = MOMENTS_MAGIC;
	st->R = R;
	st->ngrams = ngrams;
	st->missing = missing;
	return st;
}

/* Gram g's arrays in a state. */
static void
StateGram(MomentsState *st, int g, double **G, double **MX, double **MM, double **anymiss)
{
	int			R = st->R;
	Size		D = R + 2;
	double	   *data = STATE_DATA(st);
	double	   *gaps = data + st->ngrams * D * D;

	*G = data + g * D * D;
	*MX = *MM = *anymiss = NULL;
	if (st->missing)
	{
		*MX = gaps + g * (R * D + (Size) R * R + R);
		*MM = *MX + R * D;
		*anymiss = *MM + (Size) R * R;
	}
}

static MomentsState *
StateCheck(Datum d, const char *what)
{
	MomentsState *st = (MomentsState *) DatumGetByteaP(d);

	if (VARSIZE(st) < sizeof(MomentsState) || st->magic != MOMENTS_MAGIC ||
		st->R < 1 || st->R > RF_MOMENTS_MAX_INPUTS ||
		(st->ngrams != 2 && st->ngrams != 2 + 2 * RF_L2_FOLDS) || (st->missing != 0 && st->missing != 1) ||
		VARSIZE(st) != sizeof(MomentsState) + sizeof(double) * st->ngrams * GramDoubles(st->R, st->missing))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.moments: %s is not a state of this aggregate", what)));
	return st;
}

/* The same moments with room for gaps (zero). */
static MomentsState *
StateWithGaps(MomentsState *st)
{
	MomentsState *wide = StateAlloc(st->R, st->ngrams, true);
	Size		D = st->R + 2;

	memcpy((char *) wide + offsetof(MomentsState, nrows), (char *) st + offsetof(MomentsState, nrows),
		   sizeof(MomentsState) - offsetof(MomentsState, nrows));
	memcpy(STATE_DATA(wide), STATE_DATA(st), sizeof(double) * st->ngrams * D * D);
	return wide;
}

/* Adds a row's vector to gram g (and its gaps). */
static void
StateAdd(MomentsState *st, int g, const double *raw, const double *a, double w, bool gaps)
{
	double	   *G,
			   *MX,
			   *MM,
			   *anymiss;
	int			R = st->R;
	bool		miss[RF_MOMENTS_MAX_INPUTS];

	StateGram(st, g, &G, &MX, &MM, &anymiss);
	cblas_dsyr(CblasColMajor, CblasUpper, R + 2, 1.0, a, 1, G, R + 2);
	if (!gaps)
		return;
	for (int j = 0; j < R; j++)
		miss[j] = anymiss[j] != 0;
	GramAddMissing(R, raw, a, w, MX, MM, miss);
	for (int j = 0; j < R; j++)
		anymiss[j] = miss[j] ? 1.0 : 0.0;
}

/* A row's split hash of its inputs, as EncoderReadRow makes it (the targets follow). */
uint64
MomentsRowHash(uint64 h, int ncols, const int32 *len, const double *raw, const bool *nulls)
{
	int			off = 0;

	for (int c = 0; c < ncols; c++)
	{
		bool		allnull = true;

		for (int k = 0; k < len[c]; k++)
			allnull &= nulls[off + k];
		if (allnull)
			h = hash_combine64(h, 0x9e3779b97f4a7c15ULL);
		else
			h = ReframeHashDoubles(raw + off, len[c], h);
		off += len[c];
	}
	return h;
}

/* The raw inputs of a row from its float8[] of R values (NULL elements: NaN). */
void
MomentsRowInputs(int R, ArrayType *x, double *raw, bool *nulls)
{
	int			n = ARR_NDIM(x) == 1 ? ARR_DIMS(x)[0] : 0;
	bits8	   *bitmap = ARR_NULLBITMAP(x);
	double	   *v = (double *) ARR_DATA_PTR(x);

	if (ARR_ELEMTYPE(x) != FLOAT8OID || n != R)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("reframe: a row has %d input values, and the model has %d", n, R),
				 errhint("Array features must have the same length in every row.")));
	for (int j = 0; j < n; j++)
	{
		nulls[j] = bitmap && !(bitmap[j / 8] & (1 << (j % 8)));
		raw[j] = nulls[j] ? get_float8_nan() : *v++;
	}
}

/*
 * Whether a configuration's split is one training makes: its columns'
 * lengths cover the R inputs exactly, and the fold is one of the folds.
 */
bool
MomentsSplitValid(int R, int ncols, const int32 *len, int folds, int fold)
{
	int			total = 0;

	if (folds < 0 || (folds > 0 && (fold < 0 || fold >= folds)))
		return false;
	for (int c = 0; c < ncols; c++)
	{
		if (len[c] < 1)
			return false;
		total += len[c];
	}
	return total == R;
}

static const MomentsConfig *
ConfigCheck(bytea *b)
{
	const MomentsConfig *cfg = (const MomentsConfig *) b;
	bool		ok;

	ok = VARSIZE(b) >= sizeof(MomentsConfig) && cfg->magic == MOMENTS_MAGIC && cfg->R >= 1 &&
		cfg->R <= RF_MOMENTS_MAX_INPUTS && cfg->ncols >= 1 && cfg->ncols <= cfg->R &&
		VARSIZE(b) == sizeof(MomentsConfig) + sizeof(double) * cfg->R + sizeof(int32) * cfg->ncols &&
		StreamTargetsValid(&cfg->targets) &&
		MomentsSplitValid(cfg->R, cfg->ncols, CONFIG_COLLEN(cfg), cfg->folds, cfg->fold);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.moments: the configuration is not one training made")));
	return cfg;
}

/*
 * Adds a row (its inputs raw, target y, weight w, split draw u) to the
 * moments of its set (and inner fold); a state that meets its first
 * missing input grows the sums that missing inputs need.  Returns the state.
 */
static MomentsState *
StateAddRow(MomentsState *st, MemoryContext aggcxt, const MomentsConfig *cfg, const double *raw, double y,
			double w, double u)
{
	double		a[RF_MOMENTS_MAX_INPUTS + 2];
	int			set = ReframeSplitSet(u, cfg->holdout, cfg->folds, cfg->fold);
	bool		gaps;

	st->nrows[set]++;
	gaps = GramRowVector(cfg->R, CONFIG_ORIGIN(cfg), cfg->yorigin, raw, y, w, a);
	if (gaps && !st->missing)
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		st = StateWithGaps(st);
		MemoryContextSwitchTo(old);
	}
	/* with moments by inner fold, a set's moments are their sum (MomentsReadIn) */
	if (cfg->keep_folds)
		StateAdd(st, 2 + set * RF_L2_FOLDS + ReframeInnerFold(u, RF_L2_FOLDS), raw, a, w, st->missing);
	else
		StateAdd(st, set, raw, a, w, st->missing);
	return st;
}

/* Transition: (state, config, x, y, w) -> state, changed in place. */
PG_FUNCTION_INFO_V1(reframe_moments_accum);
Datum
reframe_moments_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	const MomentsConfig *cfg;
	MomentsState *st;
	double		raw[RF_MOMENTS_MAX_INPUTS];
	bool		nulls[RF_MOMENTS_MAX_INPUTS];
	double		y,
				w,
				u;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("reframe.moments_accum can only be called as an aggregate's transition")));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("reframe.moments: the configuration and the inputs must not be NULL")));
	cfg = ConfigCheck(PG_GETARG_BYTEA_P(1));
	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		st = StateAlloc(cfg->R, cfg->keep_folds ? 2 + 2 * RF_L2_FOLDS : 2, false);
		MemoryContextSwitchTo(old);
	}
	else
		st = StateCheck(PG_GETARG_DATUM(0), "the state");
	MomentsRowInputs(cfg->R, PG_GETARG_ARRAYTYPE_P(2), raw, nulls);
	{
		uint64		h = MomentsRowHash(cfg->hash0, cfg->ncols, CONFIG_COLLEN(cfg), raw, nulls);
		RfStreamRow row;

		StreamRowRead(&cfg->targets, PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3),
					  PG_ARGISNULL(4) ? NULL : PG_GETARG_ARRAYTYPE_P(4), &row, &h);
		if (row.present == 0)
		{
			st->skipped++;
			PG_RETURN_BYTEA_P(st);
		}
		if (row.bad > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("target column \"%s\" contains NaN or Infinity", NameStr(cfg->target)),
					 errhint("Filter such rows out in the source.")));
		/* the moments' target: the first, where it is a number */
		y = cfg->targets.kind[0] == RF_STREAM_NUMBER && !isnan(row.value[0]) ? row.value[0] : cfg->yorigin;
		w = StreamRowWeight(fcinfo, 5, &st->bad_weights);
		if (cfg->sample < 1 && ReframeSampleDraw(h) >= cfg->sample)
		{
			st->sampled_out++;
			PG_RETURN_BYTEA_P(st);
		}
		u = ReframeHashToUnit(hash_bytes_uint32_extended((uint32) h, h >> 32));
	}
	PG_RETURN_BYTEA_P(StateAddRow(st, aggcxt, cfg, raw, y, w, u));
}

/* Combine: the sum of two parts' moments. */
PG_FUNCTION_INFO_V1(reframe_moments_combine);
Datum
reframe_moments_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext old;
	MomentsState *a;
	MomentsState *b;
	double	   *da,
			   *db;
	Size		n;
	bool		inagg = AggCheckCallContext(fcinfo, &aggcxt);

	if (!inagg)
		aggcxt = CurrentMemoryContext;
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = StateCheck(PG_GETARG_DATUM(1), "the state to combine");
	old = MemoryContextSwitchTo(aggcxt);
	if (PG_ARGISNULL(0))
	{
		a = (MomentsState *) palloc(VARSIZE(b));
		memcpy(a, b, VARSIZE(b));
		MemoryContextSwitchTo(old);
		PG_RETURN_BYTEA_P(a);
	}
	a = StateCheck(PG_GETARG_DATUM(0), "the state");
	if (!inagg)
	{
		/* called on its own: never change the argument in place */
		MomentsState *copy = palloc(VARSIZE(a));

		memcpy(copy, a, VARSIZE(a));
		a = copy;
	}
	if (a->R != b->R || a->ngrams != b->ngrams)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.moments: cannot combine the moments of %d and %d inputs", a->R, b->R)));
	if (b->missing && !a->missing)
		a = StateWithGaps(a);
	if (a->missing && !b->missing)
		b = StateWithGaps(b);
	MemoryContextSwitchTo(old);
	for (int s = 0; s < 2; s++)
		a->nrows[s] += b->nrows[s];
	a->skipped += b->skipped;
	a->bad_weights += b->bad_weights;
	a->sampled_out += b->sampled_out;
	da = STATE_DATA(a);
	db = STATE_DATA(b);
	n = a->ngrams * GramDoubles(a->R, a->missing);
	for (Size i = 0; i < n; i++)
		da[i] += db[i];
	/* anymiss flags add up to counts; read as "some part had a gap" */
	PG_RETURN_BYTEA_P(a);
}

/* ---------- the training side ---------- */

/* An RfGram holding gram g of a state. */
static RfGram *
GramFromState(MomentsState *st, int g, double *origin, double *yorigin)
{
	RfGram	   *gram = GramCreate(st->R, origin, yorigin);
	int			R = st->R;
	Size		D = R + 2;
	double	   *G,
			   *MX,
			   *MM,
			   *anymiss;

	StateGram(st, g, &G, &MX, &MM, &anymiss);
	memcpy(gram->G, G, sizeof(double) * D * D);
	if (MX)
	{
		gram->MX = palloc(sizeof(double) * R * D);
		gram->MM = palloc(sizeof(double) * R * R);
		memcpy(gram->MX, MX, sizeof(double) * R * D);
		memcpy(gram->MM, MM, sizeof(double) * R * R);
		for (int j = 0; j < R; j++)
			gram->anymiss[j] = anymiss[j] != 0;
	}
	return gram;
}

/*
 * The float8[] of the raw inputs of a source row "s": one ARRAY[...] of the
 * scalar columns in a row, concatenated with the array columns (a NULL
 * array stands for its length in NULLs).
 */
char *
MomentsInputsSql(const RfEncoder *enc)
{
	StringInfoData buf;
	bool		open = false;	/* inside an ARRAY[ of scalars */

	initStringInfo(&buf);
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];
		const char *name = quote_identifier(col->name);

		if (col->kind == RF_ARRAY)
		{
			if (open)
				appendStringInfoString(&buf, "]::float8[]");
			open = false;
			appendStringInfo(&buf, "%scoalesce(s.%s::float8[], array_fill(NULL::float8, ARRAY[%d]))",
							 buf.len > 0 ? " || " : "", name, col->length);
			continue;
		}
		appendStringInfoString(&buf, open ? ", " : buf.len > 0 ? " || ARRAY[" : "ARRAY[");
		open = true;
		if (col->kind == RF_BOOLEAN)
			appendStringInfo(&buf, "(s.%s::int)::float8", name);
		else
			appendStringInfo(&buf, "s.%s::float8", name);
	}
	if (open)
		appendStringInfoString(&buf, "]::float8[]");
	return buf.data;
}

/* Why the moments cannot be summed by the aggregate, or NULL when they can. */
const char *
MomentsUnsupported(RfTrainState *ts)
{
	RfTarget   *tg = &ts->targets[0];
	const char *why = StreamUnsupported(ts);

	if (why)
		return why;
	if (ts->ntargets > 1)
		return "it has several targets";
	if (ts->targets[0].kind != RF_TARGET_NUMBER)
		return psprintf("its target \"%s\" is %s, not a number", tg->name, format_type_be(tg->typid));
	if (ts->opts->loss && strcmp(ts->opts->loss, "squared") != 0)
		return psprintf("its loss is \"%s\", not squared", ts->opts->loss);
	if (!ts->streaming)
		return psprintf("its target \"%s\" (%s) is not framed as regression", tg->name,
						format_type_be(tg->typid));
	return NULL;
}

/* What stops any streaming pass: the features, the split, "if_better". */
static const char *
StreamUnsupported(RfTrainState *ts)
{
	for (int c = 0; c < ts->enc->ncols; c++)
		if (ts->enc->cols[c].kind != RF_NUMERIC && ts->enc->cols[c].kind != RF_BOOLEAN &&
			ts->enc->cols[c].kind != RF_ARRAY)
			return psprintf("feature column \"%s\" is %s, not numeric", ts->enc->cols[c].name,
							format_type_be(ts->enc->cols[c].typid));
	if (ts->sattno >= 0)
		return "option \"split_by\" splits by a column's text";
	if (ts->vstore)
		return "\"deploy\": \"if_better\" scores the deployed version on the validation rows";
	if (ts->enc->nraw > RF_MOMENTS_MAX_INPUTS)
		return psprintf("it has %d inputs, more than %d", ts->enc->nraw, RF_MOMENTS_MAX_INPUTS);
	if (ts->gattno >= 0)
		return "option \"group\" needs the rows of each query";
	return NULL;
}

/*
 * The first row with a target: its array lengths and values fix the
 * inputs and the origin.  False when there is none, or an array is NULL.
 */
static bool
MomentsFirstRow(RfTrainState *ts, double **origin, double *yorigin)
{
	MemoryContext caller = CurrentMemoryContext;
	bool		ok = false;

	SPI_connect();
	if (SPI_execute(psprintf("SELECT * FROM (%s) s WHERE %s LIMIT 1",
							 ts->source_sql, StreamTargetsPresentSql(ts)), true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reframe: could not read the first row of %s", ts->source_sql);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	td = SPI_tuptable->tupdesc;
		Datum	   *values = palloc(sizeof(Datum) * td->natts);
		bool	   *isnull = palloc(sizeof(bool) * td->natts);

		heap_deform_tuple(tup, td, values, isnull);
		if (EncoderLengthsKnown(ts->enc, values, isnull))
		{
			double	   *raw = palloc(sizeof(double) * ts->enc->nraw);
			uint64		h = 0;

			/* the array lengths are known now, and so the inputs */
			*origin = MemoryContextAlloc(caller, sizeof(double) * ts->enc->nraw);
			EncoderReadRow(ts->enc, values, isnull, raw, &h);
			for (int r = 0; r < ts->enc->nraw; r++)
				(*origin)[r] = isnan(raw[r]) ? 0.0 : raw[r];
			*yorigin = isnull[ts->targets[0].attno] ? 0.0 :
				ts->targets[0].kind == RF_TARGET_BOOL ?
				(DatumGetBool(values[ts->targets[0].attno]) ? 1.0 : 0.0) :
				ts->targets[0].kind == RF_TARGET_NUMBER ?
				ReframeDatumToDouble(values[ts->targets[0].attno], ts->targets[0].typid) : 0.0;
			ok = true;
		}
	}
	SPI_finish();
	return ok;
}

static bytea *
MomentsConfigBuild(RfTrainState *ts, const double *origin, double yorigin)
{
	int			R = ts->enc->nraw;
	int			ncols = ts->enc->ncols;
	Size		size = sizeof(MomentsConfig) + sizeof(double) * R + sizeof(int32) * ncols;
	MomentsConfig *cfg = palloc0(size);

	SET_VARSIZE(cfg, size);
	cfg->magic = MOMENTS_MAGIC;
	cfg->R = R;
	cfg->ncols = ncols;
	cfg->folds = ts->folds;
	cfg->fold = ts->fold;
	cfg->keep_folds = ts->opts->l2_auto;
	cfg->hash0 = (uint64) ts->opts->seed * UINT64CONST(0x9E3779B97F4A7C15) + 1;
	cfg->holdout = ts->holdout;
	cfg->sample = ts->sample;
	namestrcpy(&cfg->target, ts->targets[0].name);
	cfg->yorigin = yorigin;
	StreamTargetsInit(ts, &cfg->targets);
	memcpy(CONFIG_ORIGIN(cfg), origin, sizeof(double) * R);
	for (int c = 0; c < ncols; c++)
		CONFIG_COLLEN(cfg)[c] = ts->enc->cols[c].length;
	return (bytea *) cfg;
}

/*
 * Runs one pass of a streaming aggregate (reframe.moments or
 * reframe.gradient) over the source with a configuration: its result, copied
 * into the caller's memory, or NULL when the source had no rows.
 */
bytea *
MomentsRunPass(RfTrainState *ts, const char *aggregate, bytea *config)
{
	const char *w = ts->wattno >= 0 ? psprintf("s.%s::float8", quote_identifier(ts->opts->weight)) : "1.0";
	char	   *sql = psprintf("SELECT reframe.%s($1, %s, %s, %s, %s) FROM (%s) s", aggregate,
							   MomentsInputsSql(ts->enc), StreamTargetsYSql(ts), StreamTargetsTSql(ts), w,
							   ts->source_sql);
	Oid			types[1] = {BYTEAOID};
	Datum		values[1] = {PointerGetDatum(config)};
	MemoryContext caller = CurrentMemoryContext;
	bytea	   *result = NULL;
	SPIPlanPtr	plan;
	bool		isnull;
	Datum		d;

	SPI_connect();
	/* the parts are summed in any order: parallel workers may take them */
	plan = SPI_prepare_cursor(sql, 1, types, CURSOR_OPT_PARALLEL_OK);
	if (plan == NULL)
		elog(ERROR, "reframe: could not plan %s: %s", sql, SPI_result_code_string(SPI_result));
	/* no row limit: a limit would keep the executor from using parallel workers */
	if (SPI_execute_plan(plan, values, NULL, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "reframe: the %s pass returned no row", aggregate);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		bytea	   *got = DatumGetByteaPP(d);

		result = MemoryContextAlloc(caller, VARSIZE_ANY(got));
		memcpy(result, got, VARSIZE_ANY(got));
	}
	SPI_finish();
	return result;
}

static bool MomentsReadIn(RfTrainState *ts);

/*
 * Reads the source by the aggregate: the moments of each set (and inner
 * fold), as TrainReceive would have summed them.  False when the first
 * row cannot fix the inputs (an array feature NULL there): read here then.
 */
bool
MomentsRead(RfTrainState *ts)
{
	MemoryContext old = MemoryContextSwitchTo(ts->mcxt);
	bool		read = MomentsReadIn(ts);

	MemoryContextSwitchTo(old);
	return read;
}

static bool
MomentsReadIn(RfTrainState *ts)
{
	int			R;
	double	   *origin;
	double		yorigin = 0;
	MomentsState *st;
	bool		may_merge = ts->opts->validation < 0 && ts->folds == 0;

	if (!MomentsFirstRow(ts, &origin, &yorigin))
		return false;
	R = ts->enc->nraw;
	{
		bytea	   *result = MomentsRunPass(ts, "moments", MomentsConfigBuild(ts, origin, yorigin));

		st = result ? StateCheck(PointerGetDatum(result), "the result") : NULL;
	}
	ts->origin = origin;
	ts->yorigin = yorigin;
	ts->rowbuf = palloc(sizeof(double) * R);
	ts->raw = RfMatrixCreate(R, sizeof(float), &ts->budget);
	ts->rawv = RfMatrixCreate(R, sizeof(float), &ts->budget);
	ts->ready = true;
	ts->aggregated = true;
	if (st == NULL)
		return true;			/* no rows: the caller says so */
	ts->nrows[0] = (int64) st->nrows[0];
	ts->nrows[1] = (int64) st->nrows[1];
	ts->skipped = (int64) st->skipped;
	ts->bad_weights = (int64) st->bad_weights;
	ts->sampled_out = (int64) st->sampled_out;
	for (int set = 0; set < 2; set++)
	{
		RfGram	   *folds[RF_L2_FOLDS];
		/* as read here: the validation rows' folds only while they may be merged */
		bool		keep = set == 0 || (may_merge && ts->nrows[0] + ts->nrows[1] < 1000);

		if (st->ngrams == 2)
		{
			ts->gram[set] = GramFromState(st, set, ts->origin, &ts->yorigin);
			continue;
		}
		ts->gram[set] = GramCreate(R, ts->origin, &ts->yorigin);
		for (int k = 0; k < RF_L2_FOLDS; k++)
		{
			folds[k] = GramFromState(st, 2 + set * RF_L2_FOLDS + k, ts->origin, &ts->yorigin);
			GramMerge(ts->gram[set], folds[k]);
			if (keep)
				ts->fgram[set][k] = folds[k];
			else
				GramFree(folds[k]);
		}
	}
	return true;
}

/* The rows of the tables a source reads, as their statistics say. */
static double
SourceRowEstimate(List *relids)
{
	double		rows = 0;
	ListCell   *lc;

	foreach(lc, relids)
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(lfirst_oid(lc)));

		if (!HeapTupleIsValid(tup))
			continue;
		rows += Max(((Form_pg_class) GETSTRUCT(tup))->reltuples, 0);
		ReleaseSysCache(tup);
	}
	return rows;
}

/*
 * What reading the source's rows would take, by the tables' statistics: a
 * float per input and the targets' doubles per row, as the rows' path
 * keeps them (and as much again once encoded).
 */
static double
SourceBytesEstimate(RfTrainState *ts, List *relids)
{
	return SourceRowEstimate(relids) * (2.0 * sizeof(float) * Max(ts->enc->nraw, 1) + sizeof(double) * 2);
}

/*
 * Why the default family for this source is the one that trains by passes,
 * or NULL: a source reading a Citus distributed table
 * (its rows would come to this node), or one whose columns would not fit in
 * reframe.max_train_memory, by the tables' statistics.
 */
const char *
MomentsSourceCallsForPasses(const char *source_sql)
{
	SPIPlanPtr	plan;
	CachedPlanSource *ps;
	const char *why = NULL;

	SPI_connect();
	plan = SPI_prepare(source_sql, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "reframe: could not plan the source: %s", SPI_result_code_string(SPI_result));
	ps = linitial(SPI_plan_get_plan_sources(plan));
	if (ps->resultDesc && CitusReadsDistributedTable(ps->relationOids))
		why = "the source reads a Citus distributed table, where this family trains by passes on the workers";
	else if (ps->resultDesc &&
			 SourceRowEstimate(ps->relationOids) * (2.0 * sizeof(float) * ps->resultDesc->natts + 2 * sizeof(double)) >
			 (double) reframe_max_train_memory * 1024)
		why = "the source's rows would not fit in reframe.max_train_memory, and this family trains by passes over them";
	SPI_finish();
	return why;
}

/*
 * Whether to read by aggregate passes: as "streaming" says; else least
 * squares when the source reads a Citus distributed table, is large enough
 * for parallel workers to share the pass, or would not fit in
 * reframe.max_train_memory; and streaming L-BFGS, where it applies (a
 * numeric "l2"), for a Citus source or one that would not fit.
 */
bool
MomentsChosen(RfTrainState *ts, List *relids)
{
	const char *why = MomentsUnsupported(ts);
	const char *gwhy = why && !ts->streaming && StreamUnsupported(ts) == NULL ? GradientUnsupported(ts) : why;

	if (OptionGiven(ts->opts, "streaming"))
	{
		if (!ts->opts->streaming)
			return false;
		if (why && gwhy == NULL)
		{
			/* not least squares: L-BFGS on a loss-and-gradient pass per evaluation */
			ts->gradient = true;
			return true;
		}
		if (why)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("model \"%s\" cannot train with \"streaming\": true: %s", ts->model_name, gwhy ? gwhy : why),
					 errhint("Streaming passes train linear models on numeric features: squared-loss regression by its moments, any other heads by L-BFGS; set \"streaming\": false, or remove it, to read the rows.")));
		return true;
	}
	if (why == NULL)
		return CitusReadsDistributedTable(relids) ||
			(max_parallel_workers_per_gather > 0 && SourceRowEstimate(relids) >= RF_MOMENTS_PARALLEL_ROWS) ||
			SourceBytesEstimate(ts, relids) > (double) reframe_max_train_memory * 1024;
	if (gwhy == NULL &&
		(CitusReadsDistributedTable(relids) ||
		 SourceBytesEstimate(ts, relids) > (double) reframe_max_train_memory * 1024))
	{
		/* the rows would be pulled to this node, or would not fit in its memory */
		ts->gradient = true;
		return true;
	}
	return false;
}
