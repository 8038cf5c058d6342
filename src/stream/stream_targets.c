/*
 * stream_targets.c
 *		The targets of a row as the streaming passes read them (see
 *		stream_targets.h).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "reframe.h"
#include "encoder.h"
#include "gradient.h"
#include "jsonutil.h"
#include "stream_targets.h"

void
StreamTargetsInit(RfTrainState *ts, RfStreamTargets *st)
{
	memset(st, 0, sizeof(*st));
	st->ntargets = ts->ntargets;
	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];

		st->kind[t] = tg->kind == RF_TARGET_CATEGORY ? RF_STREAM_CATEGORY :
			tg->kind == RF_TARGET_LABELS ? RF_STREAM_LABELS :
			tg->kind == RF_TARGET_SHARES ? RF_STREAM_SHARES : RF_STREAM_NUMBER;
		st->nshares[t] = tg->kind == RF_TARGET_SHARES ? tg->nclasses : 0;
		st->distribution[t] = tg->kind == RF_TARGET_SHARES && tg->soft;
	}
}

bool
StreamTargetsValid(const RfStreamTargets *st)
{
	if (st->ntargets < 1 || st->ntargets > RF_MAX_TARGETS)
		return false;
	for (int t = 0; t < st->ntargets; t++)
		if (st->kind[t] < RF_STREAM_NUMBER || st->kind[t] > RF_STREAM_SHARES ||
			(st->kind[t] == RF_STREAM_SHARES) != (st->nshares[t] > 0) || st->nshares[t] > 20000)
			return false;
	return true;
}

char *
StreamTargetsYSql(RfTrainState *ts)
{
	StringInfoData buf;
	bool		open = false;	/* inside an ARRAY[ of scalars */

	initStringInfo(&buf);
	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];
		const char *name = quote_identifier(tg->name);

		appendStringInfoString(&buf, open ? ", " : buf.len > 0 ? " || ARRAY[" : "ARRAY[");
		open = true;
		switch (tg->kind)
		{
			case RF_TARGET_BOOL:
				appendStringInfo(&buf, "(s.%s::int)::float8", name);
				break;
			case RF_TARGET_CATEGORY:
				appendStringInfo(&buf, "CASE WHEN s.%s IS NULL THEN NULL ELSE 0 END::float8", name);
				break;
			case RF_TARGET_LABELS:
				appendStringInfo(&buf, "cardinality(s.%s)::float8", name);
				break;
			case RF_TARGET_SHARES:
				/* present, then the shares: K of them, else NaNs (not valid) */
				appendStringInfo(&buf, "(s.%s IS NOT NULL)::int::float8]::float8[] || "
								 "CASE WHEN array_ndims(s.%s) = 1 AND cardinality(s.%s) = %d THEN s.%s::float8[] "
								 "ELSE array_fill('NaN'::float8, ARRAY[%d]) END",
								 name, name, name, tg->nclasses, name, tg->nclasses);
				open = false;
				break;
			default:
				appendStringInfo(&buf, "s.%s::float8", name);
				break;
		}
	}
	if (open)
		appendStringInfoString(&buf, "]::float8[]");
	return buf.data;
}

char *
StreamTargetsTSql(RfTrainState *ts)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];
		const char *name = quote_identifier(tg->name);

		if (tg->kind != RF_TARGET_CATEGORY && tg->kind != RF_TARGET_LABELS)
			continue;
		if (buf.len)
			appendStringInfoString(&buf, " || ");
		if (tg->kind == RF_TARGET_CATEGORY)
			appendStringInfo(&buf, "ARRAY[s.%s::text]", name);
		else
			appendStringInfo(&buf, "coalesce(s.%s::text[], '{}'::text[])", name);
	}
	return buf.len ? buf.data : "NULL::text[]";
}

char *
StreamTargetsPresentSql(RfTrainState *ts)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int t = 0; t < ts->ntargets; t++)
		appendStringInfo(&buf, "%ss.%s IS NOT NULL", t ? " OR " : "(", quote_identifier(ts->targets[t].name));
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

static void
Mismatch(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
			 errmsg("reframe: a row's targets do not fit the configuration: %s", what)));
}

/* Whether element i of y is NULL (not a NaN). */
static bool
RowNumberNull(ArrayType *y, int i)
{
	bits8	   *bits = ARR_NULLBITMAP(y);

	return bits && !(bits[i / 8] & (1 << (i % 8)));
}

/*
 * A target of shares at v (K values, NULL elements NaN): valid when each
 * is in [0, 1] (and they sum to 1 for a distribution), as TargetReadShares
 * judges them; mixed into *hash when valid.
 */
static bool
ReadShares(const double *v, int K, bool distribution, uint64 *hash)
{
	double		sum = 0;

	for (int k = 0; k < K; k++)
	{
		if (!(v[k] >= 0 && v[k] <= 1))
			return false;
		sum += v[k];
	}
	if (distribution && fabs(sum - 1) > 1e-6)
		return false;
	*hash = ReframeHashDoubles(v, K, *hash);
	return true;
}

/* The values of y (float8[]): a NULL element reads as NaN, a missing target or a share that is not one. */
static double *
RowValues(const RfStreamTargets *st, ArrayType *y, RfStreamRow *row)
{
	int			ny = y && ARR_NDIM(y) == 1 ? ARR_DIMS(y)[0] : 0;
	int			want = 0;
	double	   *yv;
	bits8	   *bits;
	const double *d;

	for (int k = 0; k < st->ntargets; k++)
		want += st->kind[k] == RF_STREAM_SHARES ? 1 + st->nshares[k] : 1;
	if (y == NULL || ARR_ELEMTYPE(y) != FLOAT8OID || ny != want)
		Mismatch("y must hold each target's values");
	yv = ny <= lengthof(row->ybuf) ? row->ybuf : palloc(sizeof(double) * ny);
	bits = ARR_NULLBITMAP(y);
	d = (const double *) ARR_DATA_PTR(y);
	for (int i = 0; i < ny; i++)
		yv[i] = bits && !(bits[i / 8] & (1 << (i % 8))) ? get_float8_nan() : *d++;
	return yv;
}

/* Mixes the texts of target k (a category's, a label set's labels) into the row's hash, as TargetValue does. */
static void
HashTexts(const RfStreamRow *row, int k, uint64 *hash)
{
	for (int i = row->tstart[k]; i < row->tstart[k] + row->tcount[k]; i++)
	{
		text	   *s;

		if (row->tnulls[i])
			continue;
		s = DatumGetTextPP(row->texts[i]);
		*hash = hash_combine64(*hash, hash_bytes_extended((unsigned char *) VARDATA_ANY(s),
														  VARSIZE_ANY_EXHDR(s), 0));
	}
}

/*
 * A number target's value: present unless NULL (a NULL number arrives as
 * NaN, as a NaN one does: both are bad or missing), bad unless finite.
 */
static void
CountNumber(RfStreamRow *row, double v, bool null, uint64 *hash)
{
	if (null)
		return;
	row->present++;
	if (!isfinite(v))
		row->bad++;
	else
		*hash = ReframeHashDoubles(&v, 1, *hash);
}

void
StreamRowRead(const RfStreamTargets *st, ArrayType *y, ArrayType *t, RfStreamRow *row, uint64 *hash)
{
	double	   *yv = RowValues(st, y, row);
	int			ntexts = 0;
	int			at = 0;

	row->texts = NULL;
	row->tnulls = NULL;
	if (t)
	{
		if (ARR_ELEMTYPE(t) != TEXTOID || ARR_NDIM(t) > 1)
			Mismatch("t must be a text[]");
		deconstruct_array(t, TEXTOID, -1, false, TYPALIGN_INT, &row->texts, &row->tnulls, &ntexts);
	}
	row->present = 0;
	row->bad = 0;
	row->bad_shares = 0;
	for (int k = 0, yi = 0; k < st->ntargets; k++)
	{
		double		v = yv[yi++];
		bool		isnull = isnan(v) && st->kind[k] != RF_STREAM_NUMBER;
		int			n = 0;

		row->shares[k] = NULL;
		if (st->kind[k] == RF_STREAM_SHARES)
		{
			isnull = !(v == 1);
			if (!isnull && ReadShares(yv + yi, st->nshares[k], st->distribution[k], hash))
				row->shares[k] = yv + yi;
			else if (!isnull)
				row->bad_shares++;
			yi += st->nshares[k];
		}
		else if (st->kind[k] == RF_STREAM_CATEGORY)
			n = 1;
		else if (st->kind[k] == RF_STREAM_LABELS && !isnull)
		{
			/* a label set's count, of the values left in t */
			if (!(v >= 0 && v <= ntexts - at && v == floor(v)))
				Mismatch("t must hold each label set's labels, y their count");
			n = (int) v;
		}
		if (at + n > ntexts)
			Mismatch("t must hold the text targets' values");
		row->value[k] = v;
		row->tstart[k] = at;
		row->tcount[k] = n;
		at += n;
		if (st->kind[k] == RF_STREAM_NUMBER)
			CountNumber(row, v, isnan(v) && RowNumberNull(y, yi - 1), hash);
		else if (!isnull)
		{
			row->present++;
			if (st->kind[k] != RF_STREAM_SHARES)
				HashTexts(row, k, hash);
		}
	}
	if (at != ntexts)
		Mismatch("t holds more values than the text targets");
}

/* One label-set target: a multilabel task, said when it was inferred. */
void
TrainFramedLabelSet(RfTrainState *ts)
{
	if (ts->task == NULL)
		ereport(NOTICE,
				(errmsg("training a multilabel model: target column \"%s\" holds sets of %d labels",
						ts->targets[0].name, ts->targets[0].nclasses),
				 errhint("Pass task => '...' to frame it differently.")));
	ts->task = "multilabel";
}

/* Why a training cannot take the gradient passes, or NULL when it can. */
const char *
GradientUnsupported(RfTrainState *ts)
{
	if (!ts->family->streams)
		return psprintf("the %s family does not train by passes", ts->family->name);
	for (int t = 0; t < ts->ntargets && ts->task && strcmp(ts->task, "hierarchical") == 0; t++)
		if (ts->targets[t].kind != RF_TARGET_CATEGORY && ts->targets[t].kind != RF_TARGET_NUMBER)
			return psprintf("hierarchy level \"%s\" is %s", ts->targets[t].name,
							format_type_be(ts->targets[t].typid));
	if (ts->opts->balanced || ts->opts->class_weight)
		return "option \"class_weight\" is not supported by streaming passes";
	if (ts->opts->threshold_f1)
		return "\"threshold\": \"f1\" tunes on the validation rows' scores";
	if (ts->opts->bin_quantiles > 0)
		return "\"bins\": {\"quantiles\": k} cuts at the training rows' quantiles";
	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];
		const char *task = ts->ntargets == 1 ? ts->task : JsonFieldText(ts->opts->tasks, tg->name, NULL);

		if (ts->ntargets > 1 && ts->task && strcmp(ts->task, "multilabel") == 0)
		{
			if (tg->kind != RF_TARGET_BOOL && tg->kind != RF_TARGET_NUMBER)
				return psprintf("label column \"%s\" is %s", tg->name, format_type_be(tg->typid));
			continue;
		}
		if (tg->kind == RF_TARGET_LABELS || tg->kind == RF_TARGET_SHARES)
			continue;
		if (tg->kind == RF_TARGET_CATEGORY && task && strcmp(task, "binary") != 0 &&
			strcmp(task, "multiclass") != 0)
			return psprintf("target \"%s\" (%s) cannot be framed as %s", tg->name, format_type_be(tg->typid), task);
		if (tg->kind == RF_TARGET_BOOL && task && strcmp(task, "binary") != 0)
			return psprintf("target \"%s\" (boolean) cannot be framed as %s", tg->name, task);
		if ((ts->opts->nbins > 0) && (tg->kind != RF_TARGET_NUMBER || (task && strcmp(task, "multiclass") != 0)))
			return psprintf("option \"bins\" needs a numeric target framed as classes, and \"%s\" is not", tg->name);
		if (tg->kind == RF_TARGET_NUMBER && task && strcmp(task, "regression") != 0 &&
			strcmp(task, "binary") != 0 && strcmp(task, "multiclass") != 0)
			return psprintf("target \"%s\" cannot be framed as %s", tg->name, task);
	}
	return NULL;
}

double
StreamRowWeight(FunctionCallInfo fcinfo, int argno, double *bad_weights)
{
	double		w = PG_ARGISNULL(argno) ? get_float8_nan() : PG_GETARG_FLOAT8(argno);

	if (w >= 0 && isfinite(w))
		return w;
	(*bad_weights)++;
	return 0;
}
