/*
 * jsonutil.c
 *		Reading and writing the jsonb documents reframe keeps: model specs,
 *		options and metrics.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/numeric.h"

#include "jsonutil.h"

JsonbValue *
JsonField(JsonbContainer *obj, const char *key)
{
	if (obj == NULL || !JsonContainerIsObject(obj))
		return NULL;
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

JsonbContainer *
JsonFieldContainer(JsonbContainer *obj, const char *key)
{
	JsonbValue *v = JsonField(obj, key);

	if (v == NULL || v->type != jbvBinary)
		return NULL;
	return v->val.binary.data;
}

char *
JsonValueText(JsonbValue *v)
{
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

double
JsonValueNumber(JsonbValue *v)
{
	if (v == NULL || v->type != jbvNumeric)
		return get_float8_nan();
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(v->val.numeric)));
}

char *
JsonFieldText(JsonbContainer *obj, const char *key, const char *dflt)
{
	JsonbValue *v = JsonField(obj, key);

	if (v == NULL || v->type != jbvString)
		return dflt ? pstrdup(dflt) : NULL;
	return JsonValueText(v);
}

double
JsonFieldNumber(JsonbContainer *obj, const char *key, double dflt)
{
	JsonbValue *v = JsonField(obj, key);

	if (v == NULL || v->type != jbvNumeric)
		return dflt;
	return JsonValueNumber(v);
}

bool
JsonFieldBool(JsonbContainer *obj, const char *key, bool dflt)
{
	JsonbValue *v = JsonField(obj, key);

	if (v == NULL || v->type != jbvBool)
		return dflt;
	return v->val.boolean;
}

int
JsonArraySize(JsonbContainer *arr)
{
	if (arr == NULL || !JsonContainerIsArray(arr))
		return 0;
	return JsonContainerSize(arr);
}

JsonbValue *
JsonArrayElement(JsonbContainer *arr, int i)
{
	return getIthJsonbValueFromContainer(arr, i);
}

JsonbContainer *
JsonArrayContainer(JsonbContainer *arr, int i)
{
	JsonbValue *v = JsonArrayElement(arr, i);

	if (v == NULL || v->type != jbvBinary)
		return NULL;
	return v->val.binary.data;
}

void
JsonAppendString(StringInfo buf, const char *s)
{
	escape_json(buf, s);
}

void
JsonAppendNumber(StringInfo buf, double v)
{
	if (isnan(v) || isinf(v))
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, "%.17g", v);
}

void
JsonAppendNumbers(StringInfo buf, const char *key, const double *v, int n)
{
	appendStringInfo(buf, ", \"%s\": [", key);
	for (int k = 0; k < n; k++)
	{
		if (k)
			appendStringInfoString(buf, ", ");
		JsonAppendNumber(buf, v[k]);
	}
	appendStringInfoChar(buf, ']');
}

void
JsonAppendStrings(StringInfo buf, const char *key, char *const *s, int n)
{
	appendStringInfo(buf, ", \"%s\": [", key);
	for (int k = 0; k < n; k++)
	{
		if (k)
			appendStringInfoString(buf, ", ");
		JsonAppendString(buf, s[k]);
	}
	appendStringInfoChar(buf, ']');
}

Jsonb *
JsonFromText(const char *text)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

/* A value (scalar or container) as JSON text. */
char *
JsonValueJson(JsonbValue *v)
{
	Jsonb	   *j = JsonbValueToJsonb(v);

	return JsonbToCString(NULL, &j->root, VARSIZE(j));
}

/* ---------- stored specs ---------- */

void
SpecCorrupt(const char *fmt,...)
{
	char		msg[512];
	va_list		args;

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg_internal("%s", msg)));
	pg_unreachable();
}

/* "where.key", or "key" at the top */
static const char *
SpecPath(const char *where, const char *key)
{
	return where && where[0] ? psprintf("%s.%s", where, key) : key;
}

int
SpecInt(JsonbContainer *obj, const char *where, const char *key, int dflt, int lo, int hi)
{
	JsonbValue *v = JsonField(obj, key);
	double		d;

	if (v == NULL && dflt >= lo && dflt <= hi)
		return dflt;
	d = JsonValueNumber(v);
	if (!(d >= lo && d <= hi && d == floor(d)))
		SpecCorrupt("spec field \"%s\" must be an integer from %d to %d", SpecPath(where, key), lo, hi);
	return (int) d;
}

double
SpecNumber(JsonbContainer *obj, const char *where, const char *key, double dflt, double lo, double hi)
{
	JsonbValue *v = JsonField(obj, key);
	double		d;

	if (v == NULL)
		return dflt;
	d = JsonValueNumber(v);
	if (!(d >= lo && d <= hi))
	{
		if (lo == -DBL_MAX && hi == DBL_MAX)
			SpecCorrupt("spec field \"%s\" must be a finite number", SpecPath(where, key));
		if (hi == DBL_MAX)
			SpecCorrupt("spec field \"%s\" must be a finite number of at least %g", SpecPath(where, key), lo);
		SpecCorrupt("spec field \"%s\" must be a number from %g to %g", SpecPath(where, key), lo, hi);
	}
	return d;
}

char *
SpecText(JsonbContainer *obj, const char *where, const char *key, const char *dflt)
{
	JsonbValue *v = JsonField(obj, key);

	if (v == NULL && dflt != NULL)
		return pstrdup(dflt);
	if (v == NULL || v->type != jbvString)
		SpecCorrupt("spec field \"%s\" must be a string", SpecPath(where, key));
	return JsonValueText(v);
}

JsonbContainer *
SpecArray(JsonbContainer *obj, const char *where, const char *key, bool required)
{
	JsonbValue *v = JsonField(obj, key);

	if (v == NULL && !required)
		return NULL;
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		SpecCorrupt("spec field \"%s\" must be an array", SpecPath(where, key));
	return v->val.binary.data;
}

char *
SpecElementText(JsonbContainer *arr, const char *where, const char *key, int i)
{
	char	   *s = JsonValueText(JsonArrayElement(arr, i));

	if (s == NULL)
		SpecCorrupt("spec field \"%s\" must hold strings, not element %d", SpecPath(where, key), i);
	return s;
}

int
SpecElementInt(JsonbContainer *arr, const char *where, const char *key, int i, int lo, int hi)
{
	double		d = JsonValueNumber(JsonArrayElement(arr, i));

	if (!(d >= lo && d <= hi && d == floor(d)))
		SpecCorrupt("spec field \"%s\" must hold integers from %d to %d, not element %d",
					SpecPath(where, key), lo, hi, i);
	return (int) d;
}

double
SpecElementNumber(JsonbContainer *arr, const char *where, const char *key, int i)
{
	double		d = JsonValueNumber(JsonArrayElement(arr, i));

	if (!isfinite(d))
		SpecCorrupt("spec field \"%s\" must hold finite numbers, not element %d", SpecPath(where, key), i);
	return d;
}

JsonbContainer *
SpecElementObject(JsonbContainer *arr, const char *where, const char *key, int i)
{
	JsonbContainer *c = JsonArrayContainer(arr, i);

	if (c == NULL || !JsonContainerIsObject(c))
		SpecCorrupt("spec field \"%s\" must hold objects, not element %d", SpecPath(where, key), i);
	return c;
}

static int
StringPtrCmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

const char *
SpecDuplicateName(char **names, int n)
{
	char	  **sorted = palloc(sizeof(char *) * Max(n, 1));
	const char *dup = NULL;

	memcpy(sorted, names, sizeof(char *) * n);
	qsort(sorted, n, sizeof(char *), StringPtrCmp);
	for (int k = 1; k < n && dup == NULL; k++)
		if (strcmp(sorted[k - 1], sorted[k]) == 0)
			dup = sorted[k];
	pfree(sorted);
	return dup;
}
