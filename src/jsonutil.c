/*
 * jsonutil.c
 *		Reading and writing the jsonb documents reframe keeps: model specs,
 *		options and metrics.
 */
#include "postgres.h"

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
