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
/* ", \"key\": [v0, v1, ...]": an object member of n numbers. */
extern void JsonAppendNumbers(StringInfo buf, const char *key, const double *v, int n);
/* ", \"key\": [\"s0\", ...]": an object member of n strings. */
extern void JsonAppendStrings(StringInfo buf, const char *key, char *const *s, int n);
extern Jsonb *JsonFromText(const char *text);

/*
 * Reading a stored spec, which is untrusted (any role can forge a model
 * table): each reader checks the value and raises ERRCODE_DATA_CORRUPTED
 * naming the field, as where + "." + key (where: "network.heads[1]").  The
 * store names the model and version (StoreLoadVersion).
 */
extern void SpecCorrupt(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();
/* An integer in [lo, hi]; dflt when absent (an absent field with dflt < lo is an error). */
extern int	SpecInt(JsonbContainer *obj, const char *where, const char *key, int dflt, int lo, int hi);
/* A finite number in [lo, hi]; dflt when absent. */
extern double SpecNumber(JsonbContainer *obj, const char *where, const char *key, double dflt,
						 double lo, double hi);
/* A string; dflt when absent (NULL: required). */
extern char *SpecText(JsonbContainer *obj, const char *where, const char *key, const char *dflt);
/* An array; NULL when absent and not required. */
extern JsonbContainer *SpecArray(JsonbContainer *obj, const char *where, const char *key, bool required);
/* The first name that appears twice among n, or NULL. */
extern const char *SpecDuplicateName(char **names, int n);
/* Element i of an array as a string, an integer in [lo, hi], a finite number, or an object. */
extern char *SpecElementText(JsonbContainer *arr, const char *where, const char *key, int i);
extern int	SpecElementInt(JsonbContainer *arr, const char *where, const char *key, int i, int lo, int hi);
extern double SpecElementNumber(JsonbContainer *arr, const char *where, const char *key, int i);
extern JsonbContainer *SpecElementObject(JsonbContainer *arr, const char *where, const char *key, int i);

#endif
