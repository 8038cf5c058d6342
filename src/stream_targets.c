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
#include "stream_targets.h"

const char *
StreamTargetUnsupported(RfTarget *tg)
{
	if (tg->kind == RF_TARGET_SHARES)
		return psprintf("its target \"%s\" holds shares (%s)", tg->name, format_type_be(tg->typid));
	return NULL;
}

void
StreamTargetsInit(RfTrainState *ts, RfStreamTargets *st)
{
	memset(st, 0, sizeof(*st));
	st->ntargets = ts->ntargets;
	for (int t = 0; t < ts->ntargets; t++)
		st->kind[t] = ts->targets[t].kind == RF_TARGET_CATEGORY ? RF_STREAM_CATEGORY :
			ts->targets[t].kind == RF_TARGET_LABELS ? RF_STREAM_LABELS : RF_STREAM_NUMBER;
}

bool
StreamTargetsValid(const RfStreamTargets *st)
{
	if (st->ntargets < 1 || st->ntargets > RF_MAX_TARGETS)
		return false;
	for (int t = 0; t < st->ntargets; t++)
		if (st->kind[t] < RF_STREAM_NUMBER || st->kind[t] > RF_STREAM_LABELS)
			return false;
	return true;
}

char *
StreamTargetsYSql(RfTrainState *ts)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "ARRAY[");
	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];
		const char *name = quote_identifier(tg->name);

		if (t)
			appendStringInfoString(&buf, ", ");
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
			default:
				appendStringInfo(&buf, "s.%s::float8", name);
				break;
		}
	}
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

void
StreamRowRead(const RfStreamTargets *st, ArrayType *y, ArrayType *t, RfStreamRow *row, uint64 *hash)
{
	int			ny = y && ARR_NDIM(y) == 1 ? ARR_DIMS(y)[0] : 0;
	bits8	   *ybits = y ? ARR_NULLBITMAP(y) : NULL;
	const double *yv = y ? (const double *) ARR_DATA_PTR(y) : NULL;
	int			ntexts = 0;
	int			at = 0;

	if (y == NULL || ARR_ELEMTYPE(y) != FLOAT8OID || ny != st->ntargets)
		Mismatch("y must hold one value per target");
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
	for (int k = 0; k < st->ntargets; k++)
	{
		bool		isnull = ybits && !(ybits[k / 8] & (1 << (k % 8)));
		double		v = isnull ? get_float8_nan() : *yv++;
		int			n = 0;

		if (st->kind[k] == RF_STREAM_CATEGORY)
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
		if (isnull)
			continue;
		row->present++;
		if (st->kind[k] == RF_STREAM_NUMBER)
		{
			if (!isfinite(v))
				row->bad++;
			else
				*hash = ReframeHashDoubles(&v, 1, *hash);
			continue;
		}
		/* a category's text, each label's: as TargetValue and AddLabelSet mix them */
		for (int i = row->tstart[k]; i < row->tstart[k] + n; i++)
		{
			text	   *s;

			if (row->tnulls[i])
				continue;
			s = DatumGetTextPP(row->texts[i]);
			*hash = hash_combine64(*hash, hash_bytes_extended((unsigned char *) VARDATA_ANY(s),
															  VARSIZE_ANY_EXHDR(s), 0));
		}
	}
	if (at != ntexts)
		Mismatch("t holds more values than the text targets");
}
