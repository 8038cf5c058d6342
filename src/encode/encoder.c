/*
 * encoder.c
 *		Feature encoding (see encoder.h for the raw and encoded layouts).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "reframe.h"
#include "encoder.h"
#include "jsonutil.h"

/* ---------- string dictionary ---------- */

struct RfDict
{
	MemoryContext mcxt;			/* where strings are kept */
	int			size;			/* entries used */
	int			cap;			/* slots, a power of two */
	int		   *slots;			/* code + 1, 0 = empty */
	uint32	   *hashes;			/* per code */
	char	  **strings;		/* per code */
};

RfDict *
RfDictCreate(void)
{
	RfDict	   *d = palloc0(sizeof(RfDict));

	d->mcxt = CurrentMemoryContext;
	d->cap = 64;
	d->slots = palloc0(sizeof(int) * d->cap);
	d->hashes = palloc(sizeof(uint32) * d->cap / 2);
	d->strings = palloc(sizeof(char *) * d->cap / 2);
	return d;
}

static void
RfDictGrow(RfDict *d)
{
	int			cap = d->cap * 2;

	d->slots = repalloc_huge(d->slots, sizeof(int) * cap);
	memset(d->slots, 0, sizeof(int) * cap);
	d->hashes = repalloc_huge(d->hashes, sizeof(uint32) * cap / 2);
	d->strings = repalloc_huge(d->strings, sizeof(char *) * cap / 2);
	d->cap = cap;
	for (int code = 0; code < d->size; code++)
	{
		uint32		i = d->hashes[code] & (cap - 1);

		while (d->slots[i] != 0)
			i = (i + 1) & (cap - 1);
		d->slots[i] = code + 1;
	}
}

/* Returns the code of s, adding it when insert is true; -1 if absent. */
int
RfDictCode(RfDict *d, const char *s, bool insert)
{
	uint32		h = hash_bytes((const unsigned char *) s, strlen(s));
	uint32		i = h & (d->cap - 1);

	while (d->slots[i] != 0)
	{
		int			code = d->slots[i] - 1;

		if (d->hashes[code] == h && strcmp(d->strings[code], s) == 0)
			return code;
		i = (i + 1) & (d->cap - 1);
	}
	if (!insert)
		return -1;
	d->hashes[d->size] = h;
	d->strings[d->size] = MemoryContextStrdup(d->mcxt, s);
	d->slots[i] = d->size + 1;
	d->size++;
	if (d->size * 2 >= d->cap)
		RfDictGrow(d);
	return d->size - 1;
}

int
RfDictSize(const RfDict *d)
{
	return d->size;
}

const char *
RfDictString(const RfDict *d, int code)
{
	return d->strings[code];
}

/*
 * A fast content hash of n doubles, for the validation split: the split
 * must depend on the row's values, not on the order rows arrive in.
 */
uint64
ReframeHashDoubles(const double *x, int n, uint64 h)
{
	const uint64 *w = (const uint64 *) x;	/* -fno-strict-aliasing */
	const uint64 m = UINT64CONST(0x9E3779B97F4A7C15);
	uint64		a = h,
				b = h ^ UINT64CONST(0x243F6A8885A308D3),
				c = h ^ UINT64CONST(0x13198A2E03707344),
				d = h ^ UINT64CONST(0xA4093822299F31D0);
	int			i = 0;

	/*
	 * Four independent multiply-xorshift chains, so their latencies overlap;
	 * in four variables, not an array, or GCC keeps them in memory and each
	 * step waits on a store (2.5x slower)
	 */
	for (; i + 4 <= n; i += 4)
	{
		a = (a ^ w[i]) * m;
		a ^= a >> 29;
		b = (b ^ w[i + 1]) * m;
		b ^= b >> 29;
		c = (c ^ w[i + 2]) * m;
		c ^= c >> 29;
		d = (d ^ w[i + 3]) * m;
		d ^= d >> 29;
	}
	for (; i < n; i++)
	{
		a = (a ^ w[i]) * m;
		a ^= a >> 29;
	}
	return hash_combine64(hash_combine64(hash_combine64(a, b), c), d);
}

/* ---------- types ---------- */

bool
ReframeIsNumericType(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			return true;
		default:
			return false;
	}
}

/* Converts a value of a numeric type (see ReframeIsNumericType) to double. */
double
ReframeDatumToDouble(Datum d, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return (double) DatumGetInt16(d);
		case INT4OID:
			return (double) DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case FLOAT4OID:
			return (double) DatumGetFloat4(d);
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
		case BOOLOID:
			return DatumGetBool(d) ? 1.0 : 0.0;
		default:
			elog(ERROR, "reframe: unexpected numeric type %u", typid);
	}
	return 0;					/* keep compiler quiet */
}

static bool
IsCategoryType(Oid typid)
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

static const char *
KindName(RfColKind kind)
{
	switch (kind)
	{
		case RF_NUMERIC:
			return "numeric";
		case RF_BOOLEAN:
			return "boolean";
		case RF_ARRAY:
			return "array";
		case RF_CATEGORY:
			return "category";
		case RF_TIME:
			return "time";
	}
	return "?";
}

/* ---------- dates and times ---------- */

static void NonFinite(const char *name);

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
TimeLength(Oid typid)
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
					NonFinite(col->name);
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
					NonFinite(col->name);
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
	else if (TimeLength(typid) > 0)
	{
		col->kind = RF_TIME;
		col->length = TimeLength(typid);
	}
	else if (IsCategoryType(typid))
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
NonFinite(const char *name)
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
			NonFinite(column);
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
		NonFinite(column);
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
			NonFinite(col->name);
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

typedef struct VocabCount
{
	int			code;
	double		count;
	const char *str;
} VocabCount;

static int
VocabCountCmp(const void *a, const void *b)
{
	const VocabCount *x = a;
	const VocabCount *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->str, y->str);
}

/* The hash bucket of a categorical value (stable across platforms). */
static int
CategoryBucket(const RfEncColumn *col, const char *value)
{
	uint64		h = hash_bytes_extended((const unsigned char *) value, strlen(value), 0);

	return (int) (h % (uint64) col->nbuckets);
}

static int
ByNameCmp(const void *a, const void *b, void *arg)
{
	char	  **vocab = arg;

	return strcmp(vocab[*(const int *) a], vocab[*(const int *) b]);
}

static void
BuildByName(RfEncColumn *col)
{
	col->byname = palloc(sizeof(int) * Max(col->nvocab, 1));
	for (int i = 0; i < col->nvocab; i++)
		col->byname[i] = i;
	qsort_arg(col->byname, col->nvocab, sizeof(int), ByNameCmp, col->vocab);
}

/* Assigns encoded slots: each column's values, then its missing indicators. */
static void
EncoderLayout(RfEncoder *enc, const bool *has_missing)
{
	enc->width = 0;
	enc->has_category = EncoderHasCategory(enc);
	for (int c = 0; c < enc->ncols; c++)
	{
		RfEncColumn *col = &enc->cols[c];

		col->slot = enc->width;
		if (col->kind == RF_CATEGORY)
		{
			/* its values (and "other"), then whether it was NULL */
			enc->width += col->nbuckets > 0 ? col->nbuckets : col->nvocab + 1;
			enc->missing_slot[col->raw] = has_missing[col->raw] ? enc->width++ : -1;
			continue;
		}
		enc->width += col->length;
		for (int k = 0; k < col->length; k++)
			enc->missing_slot[col->raw + k] = has_missing[col->raw + k] ? enc->width++ : -1;
	}
}

/*
 * A column's inputs' standardization from their sums over the sets: shift
 * to the mean and scale by the standard deviation (numbers, arrays, times);
 * which inputs had missing values.
 */
static void
FitScaling(RfEncoder *enc, RfEncColumn *col, int sets, bool *has_missing)
{
	for (int r = col->raw; r < col->raw + col->length; r++)
	{
		double		n = 0;
		double		s1 = 0;
		double		s2 = 0;
		double		mean;
		double		var;
		double		sd;

		for (int set = 0; set < sets; set++)
		{
			n += enc->n[set][r];
			s1 += enc->sum[set][r];
			s2 += enc->sumsq[set][r];
			has_missing[r] |= enc->missing[set][r] > 0 && (col->kind == RF_CATEGORY || !enc->raw_numbers);
		}
		mean = n > 0 ? enc->origin[r] + s1 / n : 0;
		var = n > 0 ? Max(s2 / n - (s1 / n) * (s1 / n), 0) : 0;
		sd = sqrt(var);
		enc->shift[r] = 0;
		enc->scale[r] = 1;
		if ((col->kind == RF_NUMERIC || col->kind == RF_ARRAY || col->kind == RF_TIME) && !enc->raw_numbers)
		{
			enc->shift[r] = mean;
			/* a constant column carries no signal: leave it centred at 0 */
			enc->scale[r] = sd > 1e-12 * Max(fabs(mean), 1.0) ? sd : 1.0;
		}
	}
}

/*
 * A text column's vocabulary: its values seen in training rows, most
 * frequent first, up to max_categories; beyond that many, its values
 * hashed into max_categories buckets.
 */
static void
FitVocabulary(RfEncColumn *col, int sets, int max_categories)
{
	int			ncodes = RfDictSize(col->dict);
	VocabCount *vc = palloc(sizeof(VocabCount) * Max(ncodes, 1));
	int			keep = 0;

	for (int code = 0; code < ncodes; code++)
	{
		vc[code].code = code;
		vc[code].count = 0;
		for (int set = 0; set < sets; set++)
			if (code < col->ncounts)
				vc[code].count += col->counts[set][code];
		vc[code].str = RfDictString(col->dict, code);
	}
	qsort(vc, ncodes, sizeof(VocabCount), VocabCountCmp);
	col->remap = palloc(sizeof(int) * Max(ncodes, 1));
	for (int code = 0; code < ncodes; code++)
		col->remap[code] = -1;
	for (int j = 0; j < ncodes && vc[j].count >= 1; j++)
		keep++;
	if (keep > max_categories)
	{
		/* too many values for a vocabulary: hash them into buckets */
		col->nbuckets = max_categories;
		col->nvocab = 0;
		for (int code = 0; code < ncodes; code++)
			col->remap[code] = CategoryBucket(col, RfDictString(col->dict, code));
		return;
	}
	keep = 0;
	col->vocab = palloc(sizeof(char *) * Max(ncodes, 1));
	for (int j = 0; j < ncodes && keep < max_categories; j++)
	{
		if (vc[j].count < 1)
			break;		/* seen only in validation rows */
		col->remap[vc[j].code] = keep;
		col->vocab[keep++] = pstrdup(vc[j].str);
	}
	col->nvocab = keep;
	BuildByName(col);
}

/*
 * Learns standardization, vocabularies and missing indicators from the
 * statistics of the rows read (encoder_stats.c, or the moments' pass): the
 * training set's, plus the validation set's when with_validation (no rows
 * held out after all).
 */
void
EncoderFit(RfEncoder *enc, bool with_validation, int max_categories)
{
	int			R = enc->nraw;
	int			sets = with_validation ? 2 : 1;
	bool	   *has_missing = palloc0(sizeof(bool) * Max(R, 1));

	if (enc->origin == NULL)
		EncoderStatsInit(enc);
	enc->shift = palloc0(sizeof(double) * R);
	enc->scale = palloc(sizeof(double) * R);
	enc->missing_slot = palloc(sizeof(int) * R);
	for (int c = 0; c < enc->ncols; c++)
	{
		FitScaling(enc, &enc->cols[c], sets, has_missing);
		if (enc->cols[c].kind == RF_CATEGORY)
			FitVocabulary(&enc->cols[c], sets, max_categories);
	}
	EncoderLayout(enc, has_missing);
}

/* Encodes a raw vector for scoring (categories are vocab positions, or -1). */
void
EncoderEncodeRaw(const RfEncoder *enc, const double *raw, double *out)
{
	memset(out, 0, sizeof(double) * enc->width);
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];

		if (col->kind == RF_CATEGORY)
		{
			double		v = raw[col->raw];

			if (isnan(v) && enc->missing_slot[col->raw] >= 0)
				out[enc->missing_slot[col->raw]] = 1.0;
			if (isnan(v))
				continue;		/* NULL: its indicator, if it had NULLs in training */
			out[col->slot + (v < 0 ? col->nvocab : (int) v)] = 1.0;
			continue;
		}
		for (int k = 0; k < col->length; k++)
		{
			int			r = col->raw + k;
			double		v = raw[r];

			if (isnan(v))
			{
				if (enc->missing_slot[r] >= 0)
					out[enc->missing_slot[r]] = 1.0;
				else if (enc->raw_numbers)
					out[col->slot + k] = v;
			}
			else
				out[col->slot + k] = (v - enc->shift[r]) / enc->scale[r];
		}
	}
}

/*
 * Stores a raw training row as floats: numbers relative to the origin of
 * their input (the first value seen), so that single precision keeps their
 * detail whatever their offset; categories as their dictionary code.
 */
void
EncoderStoreRaw(const RfEncoder *enc, const double *raw, float *out)
{
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];

		if (col->kind == RF_CATEGORY)
		{
			out[col->raw] = (float) raw[col->raw];
			continue;
		}
		if (enc->raw_numbers)
		{
			/* exactly the value scoring will see */
			for (int k = 0; k < col->length; k++)
				out[col->raw + k] = (float) raw[col->raw + k];
			continue;
		}
		{
			const double *restrict x = raw + col->raw;
			const double *restrict o = enc->origin + col->raw;
			float	   *restrict dst = out + col->raw;
			int			len = col->length;

			for (int k = 0; k < len; k++)
				dst[k] = (float) (x[k] - o[k]);
		}
	}
}

/* Encodes one stored training row (see EncoderStoreRaw). */
static void
EncodeStoredRow(const RfEncoder *enc, const float *in, float *out,
				const double *shift, const double *inv)
{
	memset(out, 0, sizeof(float) * enc->width);
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];

		if (col->kind == RF_CATEGORY)
		{
			float		v = in[col->raw];
			int			pos;

			if (isnan(v) && enc->missing_slot[col->raw] >= 0)
				out[enc->missing_slot[col->raw]] = 1.0f;
			if (isnan(v))
				continue;
			pos = col->remap[(int) v];
			out[col->slot + (pos < 0 ? col->nvocab : pos)] = 1.0f;
			continue;
		}
		for (int k = 0; k < col->length; k++)
		{
			int			r = col->raw + k;
			float		v = in[r];

			if (isnan(v))
			{
				if (enc->missing_slot[r] >= 0)
					out[enc->missing_slot[r]] = 1.0f;
				else if (enc->raw_numbers)
					out[col->slot + k] = v;
			}
			else
				out[col->slot + k] = (float) ((v - shift[r]) * inv[r]);
		}
	}
}

/*
 * Encodes every stored training row into the float feature matrix.  When
 * the encoding keeps the layout (numbers only, no missing indicators) the
 * matrix is standardized in place; otherwise it is rebuilt chunk by chunk,
 * each stored chunk freed as soon as it is encoded.
 */
RfMatrix *
EncoderApply(RfEncoder *enc, RfMatrix *raw)
{
	RfMatrix   *out;
	double	   *shift = palloc(sizeof(double) * Max(enc->nraw, 1));
	double	   *inv = palloc(sizeof(double) * Max(enc->nraw, 1));

	/* stored values are relative to the origin; so is the shift */
	for (int r = 0; r < enc->nraw; r++)
	{
		shift[r] = enc->shift[r] - (isnan(enc->origin[r]) || enc->raw_numbers ? 0 : enc->origin[r]);
		inv[r] = 1.0 / enc->scale[r];
	}
	if (!enc->has_category && enc->width == enc->nraw && enc->raw_numbers)
		return raw;				/* stored as they are */
	if (!enc->has_category && enc->width == enc->nraw)
	{
		int			ncols = raw->ncols;
		float	   *restrict fshift = palloc(sizeof(float) * ncols);
		float	   *restrict finv = palloc(sizeof(float) * ncols);

		for (int k = 0; k < ncols; k++)
		{
			fshift[k] = (float) shift[k];
			finv[k] = (float) inv[k];
		}
		for (int c = 0; c < raw->nchunks; c++)
		{
			float	   *restrict p = RfChunkF(raw, c);
			int			rows = RfChunkRows(raw, c);

			for (int i = 0; i < rows; i++, p += ncols)
				for (int k = 0; k < ncols; k++)
					p[k] = (p[k] - fshift[k]) * finv[k];
			ReframeYield();
			CHECK_FOR_INTERRUPTS();
		}
		return raw;
	}

	out = RfMatrixCreate(enc->width, sizeof(float), raw->budget);
	for (int c = 0; c < raw->nchunks; c++)
	{
		int			rows = RfChunkRows(raw, c);

		for (int i = 0; i < rows; i++)
			EncodeStoredRow(enc, RfChunkF(raw, c) + (Size) i * raw->ncols,
							RfMatrixAppendRowF(out), shift, inv);
		RfMatrixFreeChunk(raw, c);
		ReframeYield();
		CHECK_FOR_INTERRUPTS();
	}
	raw->nchunks = 0;
	raw->nrows = 0;
	return out;
}

/* ---------- storage ---------- */

/*
 * Writes the structure of the encoder as JSON; shift and scale are stored
 * as parameter blocks by the caller.
 */
void
EncoderToJson(RfEncoder *enc, StringInfo buf)
{
	appendStringInfoString(buf, "{\"columns\": [");
	for (int c = 0; c < enc->ncols; c++)
	{
		RfEncColumn *col = &enc->cols[c];
		bool		first = true;

		if (c > 0)
			appendStringInfoString(buf, ", ");
		appendStringInfoString(buf, "{\"name\": ");
		JsonAppendString(buf, col->name);
		appendStringInfo(buf, ", \"kind\": \"%s\", \"length\": %d, \"missing\": [",
						 KindName(col->kind), col->length);
		for (int k = 0; k < col->length; k++)
			if (enc->missing_slot[col->raw + k] >= 0)
			{
				appendStringInfo(buf, first ? "%d" : ", %d", k);
				first = false;
			}
		appendStringInfoChar(buf, ']');
		if (col->kind == RF_CATEGORY && col->nbuckets > 0)
			appendStringInfo(buf, ", \"hash_buckets\": %d", col->nbuckets);
		else if (col->kind == RF_CATEGORY)
		{
			appendStringInfoString(buf, ", \"vocab\": [");
			for (int v = 0; v < col->nvocab; v++)
			{
				if (v > 0)
					appendStringInfoString(buf, ", ");
				JsonAppendString(buf, col->vocab[v]);
			}
			appendStringInfoChar(buf, ']');
		}
		appendStringInfoChar(buf, '}');
	}
	appendStringInfo(buf, "], \"inputs\": %d, \"width\": %d%s}", enc->nraw, enc->width,
					 enc->raw_numbers ? ", \"numbers\": \"raw\"" : "");
}

static RfColKind
KindFromName(const char *s, const char *where)
{
	static const char *const names[] = {"numeric", "boolean", "array", "category", "time"};
	static const RfColKind kinds[] = {RF_NUMERIC, RF_BOOLEAN, RF_ARRAY, RF_CATEGORY, RF_TIME};

	for (int k = 0; k < lengthof(names); k++)
		if (strcmp(s, names[k]) == 0)
			return kinds[k];
	SpecCorrupt("spec field \"%s.kind\" names an unknown feature kind \"%s\"", where, s);
}

/* A text column's stored vocabulary (or hash buckets), checked: no value twice. */
static void
ColumnVocabFromJson(RfEncColumn *col, JsonbContainer *jc, const char *where)
{
	JsonbContainer *vocab = SpecArray(jc, where, "vocab", false);

	col->nbuckets = SpecInt(jc, where, "hash_buckets", 0, 0, RF_MAX_WIDTH);
	col->nvocab = JsonArraySize(vocab);
	col->vocab = palloc(sizeof(char *) * Max(col->nvocab, 1));
	for (int v = 0; v < col->nvocab; v++)
		col->vocab[v] = SpecElementText(vocab, where, "vocab", v);
	BuildByName(col);
	for (int v = 1; v < col->nvocab; v++)
		if (strcmp(col->vocab[col->byname[v - 1]], col->vocab[col->byname[v]]) == 0)
			SpecCorrupt("spec field \"%s.vocab\" lists \"%s\" twice", where,
						col->vocab[col->byname[v]]);
}

/*
 * Column c of a stored encoder, checked: its name, kind, length within the
 * nraw inputs, vocabulary, and the inputs with missing indicators (marked in
 * has_missing).  Returns how many encoded inputs it makes.
 */
static int64
ColumnFromJson(RfEncoder *enc, int c, JsonbContainer *jc, const char *where, int nraw, bool *has_missing)
{
	JsonbContainer *missing = SpecArray(jc, where, "missing", false);
	RfEncColumn *col = &enc->cols[c];
	int64		width = 0;

	col->name = SpecText(jc, where, "name", NULL);
	if (col->name[0] == '\0')
		SpecCorrupt("spec field \"%s.name\" is empty", where);
	col->kind = KindFromName(SpecText(jc, where, "kind", NULL), where);
	col->length = SpecInt(jc, where, "length", 1, 1, Max(nraw - enc->nraw, 1));
	if (col->length > nraw - enc->nraw)
		SpecCorrupt("spec field \"%s.length\" reaches past the %d inputs of the encoder blocks",
					where, nraw);
	if ((col->kind == RF_TIME && col->length != 7 && col->length != 5 && col->length != 3 &&
		 col->length != 1) ||
		((col->kind == RF_NUMERIC || col->kind == RF_BOOLEAN || col->kind == RF_CATEGORY) &&
		 col->length != 1))
		SpecCorrupt("spec field \"%s.length\" cannot be %d for a feature of this kind",
					where, col->length);
	col->raw = enc->nraw;
	enc->nraw += col->length;
	if (col->kind == RF_CATEGORY)
	{
		ColumnVocabFromJson(col, jc, where);
		width += col->nbuckets > 0 ? col->nbuckets : col->nvocab + 1;
	}
	else
		width += col->length;
	for (int m = 0; m < JsonArraySize(missing); m++)
	{
		int			k = SpecElementInt(missing, where, "missing", m, 0, col->length - 1);

		if (has_missing[col->raw + k])
			SpecCorrupt("spec field \"%s.missing\" lists input %d twice", where, k);
		has_missing[col->raw + k] = true;
		width++;
	}
	return width;
}

/*
 * Rebuilds an encoder from its JSON and its shift/scale blocks, checked
 * whole (the spec is untrusted, see jsonutil.h): every column's kind,
 * length and vocabulary, its missing indicators, the inputs against the
 * blocks, every shift finite and every scale positive.
 */
RfEncoder *
EncoderFromJson(JsonbContainer *spec, const double *shift, const double *scale, int nraw)
{
	RfEncoder  *enc = palloc0(sizeof(RfEncoder));
	JsonbContainer *cols;
	bool	   *has_missing;
	int64		width = 0;
	char	  **names;
	const char *dup;

	if (spec == NULL || !JsonContainerIsObject(spec))
		SpecCorrupt("spec field \"encoder\" must be an object");
	cols = SpecArray(spec, "encoder", "columns", true);
	enc->ncols = JsonArraySize(cols);
	enc->cols = palloc0(sizeof(RfEncColumn) * Max(enc->ncols, 1));
	enc->raw_numbers = strcmp(SpecText(spec, "encoder", "numbers", "standardized"), "raw") == 0;
	has_missing = palloc0(sizeof(bool) * Max(nraw, 1));
	for (int c = 0; c < enc->ncols; c++)
	{
		char	   *where = psprintf("encoder.columns[%d]", c);

		width += ColumnFromJson(enc, c, SpecElementObject(cols, "encoder", "columns", c), where, nraw,
								has_missing);
		if (width > RF_MAX_WIDTH)
			SpecCorrupt("spec field \"encoder.columns\" encodes more than %d inputs", RF_MAX_WIDTH);
	}
	if (enc->nraw != nraw)
		SpecCorrupt("spec field \"encoder.columns\" reads %d inputs, but the encoder blocks have %d",
					enc->nraw, nraw);
	names = palloc(sizeof(char *) * Max(enc->ncols, 1));
	for (int c = 0; c < enc->ncols; c++)
		names[c] = enc->cols[c].name;
	if ((dup = SpecDuplicateName(names, enc->ncols)) != NULL)
		SpecCorrupt("spec field \"encoder.columns\" names feature \"%s\" twice", dup);
	for (int r = 0; r < nraw; r++)
		if (!isfinite(shift[r]) || !(scale[r] > 0 && isfinite(scale[r])))
			SpecCorrupt("block \"encoder.%s\" has an invalid value at input %d",
						isfinite(shift[r]) ? "scale" : "shift", r + 1);
	enc->shift = palloc(sizeof(double) * Max(nraw, 1));
	enc->scale = palloc(sizeof(double) * Max(nraw, 1));
	memcpy(enc->shift, shift, sizeof(double) * nraw);
	memcpy(enc->scale, scale, sizeof(double) * nraw);
	enc->missing_slot = palloc(sizeof(int) * Max(nraw, 1));
	EncoderLayout(enc, has_missing);
	if (enc->width != SpecInt(spec, "encoder", "width", enc->width, 0, RF_MAX_WIDTH) ||
		enc->nraw != SpecInt(spec, "encoder", "inputs", enc->nraw, 0, RF_MAX_WIDTH))
		SpecCorrupt("spec field \"encoder.width\" or \"encoder.inputs\" disagrees with its columns (%d encoded from %d)",
					enc->width, enc->nraw);
	return enc;
}

/* The parts of a date or time column, by its length (TimeFeatures' order). */
static const char *
TimePart(int length, int k)
{
	static const char *const ts[] = {"", ".hour_sin", ".hour_cos", ".dow_sin", ".dow_cos", ".doy_sin", ".doy_cos"};
	static const char *const date[] = {"", ".dow_sin", ".dow_cos", ".doy_sin", ".doy_cos"};
	static const char *const tod[] = {"", ".hour_sin", ".hour_cos"};

	if (length == 7)
		return ts[k];
	if (length == 5)
		return date[k];
	if (length == 3)
		return tod[k];
	return "";
}

void
EncoderSlotNames(const RfEncoder *enc, char **names, const char **types)
{
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];

		if (col->kind == RF_CATEGORY)
		{
			int			n = col->nbuckets > 0 ? col->nbuckets : col->nvocab + 1;

			for (int v = 0; v < n; v++)
			{
				names[col->slot + v] = col->nbuckets > 0 ? psprintf("%s#%d", col->name, v) :
					v < col->nvocab ? psprintf("%s=%s", col->name, col->vocab[v]) :
					psprintf("%s=(other)", col->name);
				types[col->slot + v] = "i";
			}
		}
		else
			for (int k = 0; k < col->length; k++)
			{
				names[col->slot + k] = col->kind == RF_ARRAY ? psprintf("%s[%d]", col->name, k + 1) :
					col->kind == RF_TIME ? psprintf("%s%s", col->name, TimePart(col->length, k)) :
					pstrdup(col->name);
				types[col->slot + k] = col->kind == RF_BOOLEAN ? "i" : "float";
			}
		for (int k = 0; k < col->length; k++)
		{
			int			s = enc->missing_slot[col->raw + k];

			if (s < 0)
				continue;
			names[s] = col->kind == RF_ARRAY ? psprintf("%s[%d] (missing)", col->name, k + 1) :
				psprintf("%s%s (missing)", col->name, col->kind == RF_TIME ? TimePart(col->length, k) : "");
			types[s] = "i";
		}
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
			return IsCategoryType(typid);
		case RF_TIME:
			return TimeLength(typid) > 0;
	}
	return false;
}

/*
 * Finds each feature column of the encoder in a row type, by name: attno and
 * atttype receive its 0-based position and base type.  A missing column or
 * a type that contradicts the encoder is an error naming it.
 */
void
EncoderMapColumns(const RfEncoder *enc, TupleDesc td, int *attno, Oid *atttype, const char *model)
{
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];

		attno[c] = -1;
		for (int i = 0; i < td->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(td, i);

			if (!att->attisdropped && strcmp(NameStr(att->attname), col->name) == 0)
				attno[c] = i;
		}
		if (attno[c] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("model \"%s\" needs feature column \"%s\", which the row does not have",
							model, col->name)));
		atttype[c] = getBaseType(TupleDescAttr(td, attno[c])->atttypid);
		if (!ColumnTypeFits(col->kind, atttype[c]) ||
			(col->kind == RF_TIME && TimeLength(atttype[c]) != col->length))
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

/* The vocab position of value, or -1 ("other"); its bucket if hashed. */
int
EncoderCategory(const RfEncColumn *col, const char *value)
{
	int			lo = 0;
	int			hi = col->nvocab - 1;

	if (col->nbuckets > 0)
		return CategoryBucket(col, value);

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			pos = col->byname[mid];
		int			cmp = strcmp(value, col->vocab[pos]);

		if (cmp == 0)
			return pos;
		if (cmp < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}
