/*
 * jsonutil.h
 *		Small helpers to read model specs and options stored as jsonb.
 */
#ifndef REFRAME_JSONUTIL_H
#define REFRAME_JSONUTIL_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

/* The value stored under key, or NULL. */
extern JsonbValue *JsonField(JsonbContainer *obj, const char *key);
/* A nested object or array stored under key, or NULL. */
extern JsonbContainer *JsonFieldContainer(JsonbContainer *obj, const char *key);
extern char *JsonFieldText(JsonbContainer *obj, const char *key, const char *dflt);
extern double JsonFieldNumber(JsonbContainer *obj, const char *key, double dflt);
extern bool JsonFieldBool(JsonbContainer *obj, const char *key, bool dflt);

extern int	JsonArraySize(JsonbContainer *arr);
extern JsonbValue *JsonArrayElement(JsonbContainer *arr, int i);
extern JsonbContainer *JsonArrayContainer(JsonbContainer *arr, int i);
extern char *JsonValueText(JsonbValue *v);
extern double JsonValueNumber(JsonbValue *v);
extern char *JsonValueJson(JsonbValue *v);

/* Appends a JSON string literal, or a number (NaN and infinities as null). */
extern void JsonAppendString(StringInfo buf, const char *s);
extern void JsonAppendNumber(StringInfo buf, double v);
extern Jsonb *JsonFromText(const char *text);

#endif
