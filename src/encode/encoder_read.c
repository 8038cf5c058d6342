/*
 * encoder_read.c
 *		The encoder's columns: planned from the source's (EncoderPlan), matched
 *		to a scoring row's (EncoderMapColumns), and each row's values read into
 *		raw inputs (numbers, arrays, times, texts).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"

#include "reframe.h"
#include "encoder.h"
#include "encoder_int.h"

static bool
EncoderIsCategoryType(Oid typid)
{
	return typid == TEXTOID || typid == VARCHAROID || typid == BPCHAROID ||
		typid == NAMEOID || type_is_enum(typid);
}

static bool
ColumnListed(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp((char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/* ---------- dates and times ---------- */

static void EncoderNonFinite(const char *name);

/*
 * The numbers a date or time column becomes: for a timestamp the time since
 * 1970 in seconds, then the hour of the day, the day of the week and the day
 * of the year each as a point on a circle (sine, cosine), so that 23:00 is
 * near 00:00 and December near January; a date the same without the hour;
 * a time of day its seconds and its hour on the circle; an interval its
 * length in seconds.  A timestamptz is read in UTC, whatever the session's
 * time zone, so that a row scores the same in every session.
 */
static int
EncoderTimeLength(Oid typid)
{
	switch (typid)
	{
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return 7;
		case DATEOID:
			return 5;
		case TIMEOID:
			return 3;
		case INTERVALOID:
			return 1;
		default:
			return 0;
	}
}

static void
Circle(double *out, double fraction)
{
	out[0] = sin(2 * M_PI * fraction);
	out[1] = cos(2 * M_PI * fraction);
}

/* Day of week and day of year of a day counted from 2000-01-01, on circles. */
static void
DayCircles(int64 days, double *out)
{
	int			j = (int) (days + POSTGRES_EPOCH_JDATE);
	int			y;
	int			m;
	int			d;

	j2date(j, &y, &m, &d);
	Circle(out, j2day(j) / 7.0);
	Circle(out + 2, (j - date2j(y, 1, 1)) / 365.25);
}

static void
TimeFeatures(const RfEncColumn *col, Datum d, Oid typid, double *out)
{
	switch (typid)
	{
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			{
				Timestamp	ts = DatumGetTimestamp(d);
				int64		days;
				int64		usec;

				if (TIMESTAMP_NOT_FINITE(ts))
					EncoderNonFinite(col->name);
				days = ts / USECS_PER_DAY;
				usec = ts % USECS_PER_DAY;
				if (usec < 0)
				{
					usec += USECS_PER_DAY;
					days--;
				}
				out[0] = (double) ts / USECS_PER_SEC + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * (double) SECS_PER_DAY;
				Circle(out + 1, (double) usec / USECS_PER_DAY);
				DayCircles(days, out + 3);
				return;
			}
		case DATEOID:
			{
				DateADT		day = DatumGetDateADT(d);

				if (DATE_NOT_FINITE(day))
					EncoderNonFinite(col->name);
				out[0] = ((double) day + POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
				DayCircles(day, out + 1);
				return;
			}
		case TIMEOID:
			{
				TimeADT		t = DatumGetTimeADT(d);

				out[0] = (double) t / USECS_PER_SEC;
				Circle(out + 1, (double) t / USECS_PER_DAY);
				return;
			}
		case INTERVALOID:
			{
				Interval   *iv = DatumGetIntervalP(d);

				out[0] = (double) iv->time / USECS_PER_SEC +
					(DAYS_PER_YEAR * SECS_PER_DAY) * (iv->month / MONTHS_PER_YEAR) +
					(DAYS_PER_MONTH * SECS_PER_DAY) * (iv->month % MONTHS_PER_YEAR) +
					(double) SECS_PER_DAY * iv->day;
				return;
			}
	}
	elog(ERROR, "reframe: type %u is not a date or time", typid);
}

/* Every column "features" or "exclude" names must be one of the source's, and no feature a target. */
static void
CheckListedColumns(TupleDesc tupdesc, const bool *is_target, List *features, List *exclude)
{
	ListCell   *lc;

	foreach(lc, features)
	{
		char	   *name = lfirst(lc);
		bool		found = false;

		for (int i = 0; i < tupdesc->natts && !found; i++)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, i);

			if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			{
				found = true;
				if (is_target[i])
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("column \"%s\" is both a target and a feature", name)));
			}
		}
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("feature column \"%s\" does not exist in the source", name)));
	}
	foreach(lc, exclude)
	{
		char	   *name = lfirst(lc);
		bool		found = false;

		for (int i = 0; i < tupdesc->natts; i++)
			if (!TupleDescAttr(tupdesc, i)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(tupdesc, i)->attname), name) == 0)
				found = true;
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("excluded column \"%s\" does not exist in the source", name)));
	}
}

/* A feature column's kind and length from its type, or an error naming what it can be. */
static void
ColumnKind(RfEncColumn *col, Form_pg_attribute att)
{
	Oid			typid = col->typid;
	const char *name = col->name;

	col->length = 1;
	if (ReframeIsNumericType(typid))
		col->kind = RF_NUMERIC;
	else if (typid == BOOLOID)
		col->kind = RF_BOOLEAN;
	else if (typid == FLOAT8ARRAYOID || typid == FLOAT4ARRAYOID)
	{
		col->kind = RF_ARRAY;
		col->length = -1;	/* learned from the first non-NULL value */
	}
	else if (EncoderTimeLength(typid) > 0)
	{
		col->kind = RF_TIME;
		col->length = EncoderTimeLength(typid);
	}
	else if (EncoderIsCategoryType(typid))
	{
		col->kind = RF_CATEGORY;
		col->dict = RfDictCreate();
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("feature column \"%s\" has type %s, which reframe cannot encode",
						name, format_type_be(att->atttypid)),
				 errdetail("Features may be numeric, boolean, text or enum categories, dates and times, or float4[]/float8[] arrays."),
				 errhint("Cast the column in a SELECT, or leave it out with {\"exclude\": [\"%s\"]}.", name)));
}

/* ---------- training ---------- */

/*
 * Chooses the feature columns of a source row: every column that is not a
 * target, narrowed by the "features" and "exclude" options.
 */
RfEncoder *
EncoderPlan(TupleDesc tupdesc, const bool *is_target, List *features, List *exclude)
{
	RfEncoder  *enc = palloc0(sizeof(RfEncoder));

	CheckListedColumns(tupdesc, is_target, features, exclude);
	enc->cols = palloc0(sizeof(RfEncColumn) * Max(tupdesc->natts, 1));
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		char	   *name = NameStr(att->attname);
		Oid			typid = getBaseType(att->atttypid);
		RfEncColumn *col;

		if (att->attisdropped || is_target[i])
			continue;
		if (features != NIL && !ColumnListed(features, name))
			continue;
		if (ColumnListed(exclude, name))
			continue;

		col = &enc->cols[enc->ncols++];
		col->name = pstrdup(name);
		col->attno = i;
		col->typid = typid;
		ColumnKind(col, att);
	}
	if (enc->ncols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the source has no feature columns besides the target")));
	return enc;
}

/*
 * The feature columns at the positions attnos of a row (in that order), as
 * EncoderPlan chooses them by name: for a row whose fields have no names
 * (an anonymous record, as Citus ships a subquery's row).
 */
RfEncoder *
EncoderPlanColumns(TupleDesc tupdesc, const int *attnos, int n)
{
	RfEncoder  *enc = palloc0(sizeof(RfEncoder));

	enc->cols = palloc0(sizeof(RfEncColumn) * Max(n, 1));
	for (int c = 0; c < n; c++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, attnos[c]);
		RfEncColumn *col = &enc->cols[enc->ncols++];

		col->name = pstrdup(NameStr(att->attname));
		col->attno = attnos[c];
		col->typid = getBaseType(att->atttypid);
		ColumnKind(col, att);
	}
	return enc;
}

/* The column of enc named name, or -1. */
static int
PlanColumn(const RfEncoder *enc, const char *name)
{
	for (int c = 0; c < enc->ncols; c++)
		if (strcmp(enc->cols[c].name, name) == 0)
			return c;
	return -1;
}

/*
 * A warm start: the plan made for the source (EncoderPlan), checked against
 * the encoder of the version continued and put in its column order, so that
 * the rows read have that version's raw layout.  A column that version reads
 * and the source lacks, a feature column it does not read, a kind or a
 * length changed: an error naming the column.
 */
void
EncoderPlanLike(RfEncoder *enc, const RfEncoder *like, const char *model, int32 version)
{
	RfEncColumn *cols = palloc0(sizeof(RfEncColumn) * Max(like->ncols, 1));

	for (int c = 0; c < enc->ncols; c++)
		if (PlanColumn(like, enc->cols[c].name) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
					 errmsg("warm start of model \"%s\": column \"%s\" is not an input of version %d, which it continues",
							model, enc->cols[c].name, version),
					 errhint("A warm start keeps the deployed version's inputs: leave the column out of the source (or \"exclude\" it), or train without \"warm_start\".")));
	for (int c = 0; c < like->ncols; c++)
	{
		const RfEncColumn *lc = &like->cols[c];
		int			i = PlanColumn(enc, lc->name);

		if (i < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("warm start of model \"%s\": the source lacks input column \"%s\" of version %d, which it continues",
							model, lc->name, version)));
		cols[c] = enc->cols[i];
		if (lc->kind == RF_ARRAY && cols[c].kind == RF_ARRAY)
			cols[c].length = lc->length;
		if (cols[c].kind != lc->kind || cols[c].length != lc->length)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("warm start of model \"%s\": input column \"%s\" was %s of %d input%s in version %d, and is %s of %d now",
							model, lc->name, EncoderKindName(lc->kind), lc->length, lc->length == 1 ? "" : "s",
							version, EncoderKindName(cols[c].kind), cols[c].length)));
	}
	enc->cols = cols;
	enc->ncols = like->ncols;
}

static int
ArrayLength(ArrayType *arr, const char *name)
{
	if (ARR_NDIM(arr) == 0)
		return 0;
	if (ARR_NDIM(arr) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("array feature column \"%s\" must be one-dimensional", name)));
	return ARR_DIMS(arr)[0];
}

/*
 * Learns array lengths from a row; returns true once every length is known,
 * at which point the raw layout is fixed.
 */
bool
EncoderLengthsKnown(RfEncoder *enc, Datum *values, bool *isnull)
{
	bool		known = true;

	if (enc->nraw > 0)
		return true;
	for (int c = 0; c < enc->ncols; c++)
	{
		RfEncColumn *col = &enc->cols[c];

		if (col->kind != RF_ARRAY || col->length >= 0)
			continue;
		if (isnull[col->attno])
			known = false;
		else
		{
			col->length = ArrayLength(DatumGetArrayTypeP(values[col->attno]), col->name);
			if (col->length == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("array feature column \"%s\" holds an empty array", col->name)));
		}
	}
	if (!known)
		return false;
	for (int c = 0; c < enc->ncols; c++)
	{
		enc->cols[c].raw = enc->nraw;
		enc->nraw += enc->cols[c].length;
	}
	return true;
}

static void
EncoderNonFinite(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("feature column \"%s\" contains NaN or Infinity", name),
			 errhint("Filter such rows out in the source, or replace them with NULL to have them imputed.")));
}

/*
 * The text of a categorical value: strings as they are (char(n) without its
 * padding), other types through their output function.
 */
char *
EncoderCategoryString(Datum d, Oid typid)
{
	char	   *s;

	if (typid == NAMEOID)
		return pstrdup(NameStr(*DatumGetName(d)));
	if (typid == TEXTOID || typid == VARCHAROID || typid == BPCHAROID)
		s = TextDatumGetCString(d);
	else
	{
		Oid			out;
		bool		varlena;

		getTypeOutputInfo(typid, &out, &varlena);
		s = OidOutputFunctionCall(out, d);
	}
	if (typid == BPCHAROID)
	{
		int			len = strlen(s);

		while (len > 0 && s[len - 1] == ' ')
			s[--len] = '\0';
	}
	return s;
}

/*
 * An array's n elements into out, float8 or float4, NaN for NULL ones; an
 * error naming column when one is NaN or infinite.
 */
static void
ReadArrayElements(ArrayType *arr, int n, double *out, const char *column)
{
	bits8	   *nulls = ARR_NULLBITMAP(arr);
	char	   *p = ARR_DATA_PTR(arr);
	double		check = 0;

	if (nulls == NULL && ARR_ELEMTYPE(arr) == FLOAT8OID)
	{
		/* the common case: copy, then one vectorised check */
		memcpy(out, p, sizeof(double) * n);
		if (!ReframeAllFinite(out, n))
			EncoderNonFinite(column);
	}
	else
	{
		for (int k = 0; k < n; k++)
		{
			if (nulls && !(nulls[k / 8] & (1 << (k % 8))))
			{
				out[k] = get_float8_nan();
				continue;
			}
			if (ARR_ELEMTYPE(arr) == FLOAT8OID)
			{
				out[k] = *(double *) p;
				p += sizeof(double);
			}
			else
			{
				out[k] = *(float4 *) p;
				p += sizeof(float4);
			}
			check += out[k] * 0.0;
		}
	}
	/* x * 0 is NaN exactly when x is NaN or infinite */
	if (isnan(check))
		EncoderNonFinite(column);
}

/*
 * Reads the non-NULL value d of a numeric, boolean or array feature column
 * into out[0 .. col->length), NaN for NULL array elements.  NaN and Infinity
 * are errors.  model names the model when scoring (NULL when training), for
 * the message about an array of the wrong length.
 */
void
EncoderReadNumbers(const RfEncColumn *col, Datum d, Oid typid, double *out, const char *model)
{
	ArrayType  *arr;
	int			n;

	if (col->kind == RF_TIME)
	{
		TimeFeatures(col, d, typid, out);
		return;
	}
	if (col->kind != RF_ARRAY)
	{
		out[0] = ReframeDatumToDouble(d, typid);
		if (!isfinite(out[0]))
			EncoderNonFinite(col->name);
		return;
	}
	arr = DatumGetArrayTypeP(d);
	n = ArrayLength(arr, col->name);
	if (n != col->length && model == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array feature column \"%s\" has %d elements in one row and %d in another",
						col->name, col->length, n),
				 errhint("Every row must have the same array length.")));
	if (n != col->length)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature column \"%s\" of model \"%s\" must have %d elements, got %d",
						col->name, model, col->length, n)));
	ReadArrayElements(arr, n, out, col->name);
	if ((Pointer) arr != DatumGetPointer(d))
		pfree(arr);
}

/*
 * Reads one source row into its raw vector; mixes every value into *hash
 * so that the validation split depends on the data, not on row order.
 */
void
EncoderReadRow(RfEncoder *enc, Datum *values, bool *isnull, double *raw, uint64 *hash)
{
	for (int c = 0; c < enc->ncols; c++)
	{
		RfEncColumn *col = &enc->cols[c];
		double	   *out = raw + col->raw;
		Datum		d = values[col->attno];

		if (isnull[col->attno])
		{
			for (int k = 0; k < col->length; k++)
				out[k] = get_float8_nan();
			*hash = hash_combine64(*hash, 0x9e3779b97f4a7c15ULL);
			continue;
		}
		if (col->kind == RF_CATEGORY)
		{
			char	   *s = EncoderCategoryString(d, col->typid);

			out[0] = RfDictCode(col->dict, s, true);
			*hash = hash_combine64(*hash, hash_bytes_extended((unsigned char *) s, strlen(s), 0));
			pfree(s);
			continue;
		}
		EncoderReadNumbers(col, d, col->typid, out, NULL);
		*hash = ReframeHashDoubles(out, col->length, *hash);
	}
}

/* ---------- scoring ---------- */

static bool
ColumnTypeFits(RfColKind kind, Oid typid)
{
	switch (kind)
	{
		case RF_NUMERIC:
			return ReframeIsNumericType(typid);
		case RF_BOOLEAN:
			return typid == BOOLOID;
		case RF_ARRAY:
			return typid == FLOAT8ARRAYOID || typid == FLOAT4ARRAYOID;
		case RF_CATEGORY:
			/* text-like or enum, as in training: a number is never a category's value */
			return EncoderIsCategoryType(typid);
		case RF_TIME:
			return EncoderTimeLength(typid) > 0;
	}
	return false;
}

/*
 * Whether td is an anonymous record's, as ROW(...) makes and Citus ships a
 * subquery's or view's row between nodes: fields named f1, f2, ...
 */
static bool
AnonymousRecord(TupleDesc td)
{
	if (td->tdtypeid != RECORDOID)
		return false;
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);
		char		name[NAMEDATALEN];

		snprintf(name, sizeof(name), "f%d", i + 1);
		if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0)
			return false;
	}
	return true;
}

/*
 * The attribute of td holding feature column c: the one of its name; in an
 * anonymous record whose fields are the model's inputs one to one, the
 * field at its position.
 */
static int
ColumnAttno(const RfEncoder *enc, int c, TupleDesc td, const char *model)
{
	const RfEncColumn *col = &enc->cols[c];

	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), col->name) == 0)
			return i;
	}
	if (AnonymousRecord(td))
	{
		if (td->natts == enc->ncols)
			return c;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("model \"%s\" needs %d feature columns, but the anonymous row has %d fields",
						model, enc->ncols, td->natts),
				 errdetail("A row without field names is read by position: its fields must be the model's inputs, in the order it was trained on (first \"%s\").",
						   enc->cols[0].name),
				 errhint("Select exactly the feature columns in that order, or pass a row with named fields.")));
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("model \"%s\" needs feature column \"%s\", which the row does not have",
					model, col->name)));
	return -1;					/* keep the compiler quiet */
}

/*
 * Finds each feature column of the encoder in a row type, by name (or, in
 * an anonymous record, by position): attno and atttype receive its 0-based
 * position and base type.  A missing column or a type that contradicts the
 * encoder is an error naming it.
 */
void
EncoderMapColumns(const RfEncoder *enc, TupleDesc td, int *attno, Oid *atttype, const char *model)
{
	for (int c = 0; c < enc->ncols; c++)
		attno[c] = ColumnAttno(enc, c, td, model);
	EncoderCheckColumns(enc, td, attno, atttype, model);
}

void
EncoderCheckColumns(const RfEncoder *enc, TupleDesc td, const int *attno, Oid *atttype, const char *model)
{
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];

		if (attno[c] < 0 || attno[c] >= td->natts || TupleDescAttr(td, attno[c])->attisdropped)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("model \"%s\" needs feature column \"%s\", which the row does not have",
							model, col->name)));
		atttype[c] = getBaseType(TupleDescAttr(td, attno[c])->atttypid);
		if (!ColumnTypeFits(col->kind, atttype[c]) ||
			(col->kind == RF_TIME && EncoderTimeLength(atttype[c]) != col->length))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("feature column \"%s\" has type %s, but model \"%s\" was trained on a %s column",
							col->name, format_type_be(atttype[c]), model,
							col->kind == RF_NUMERIC ? "numeric" :
							col->kind == RF_BOOLEAN ? "boolean" :
							col->kind == RF_TIME ? (col->length == 7 ? "timestamp" : col->length == 5 ? "date" :
													col->length == 3 ? "time" : "interval") :
							col->kind == RF_CATEGORY ? "text (categorical)" :
							"float4[]/float8[]"),
					 col->kind == RF_CATEGORY ? errhint("Cast it to text if its values are the categories' names.") : 0));
	}
}

/* Reads the mapped feature columns of a deformed row into raw (NaN: missing). */
void
EncoderReadColumns(const RfEncoder *enc, const int *attno, const Oid *atttype,
				   const Datum *values, const bool *isnull, double *raw, const char *model)
{
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];
		double	   *out = raw + col->raw;

		if (isnull[attno[c]])
		{
			for (int k = 0; k < col->length; k++)
				out[k] = get_float8_nan();
			continue;
		}
		if (col->kind == RF_CATEGORY)
			out[0] = EncoderCategory(col, EncoderCategoryString(values[attno[c]], atttype[c]));
		else
			EncoderReadNumbers(col, values[attno[c]], atttype[c], out, model);
	}
}
