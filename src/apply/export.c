/*
 * export.c
 *		reframe.export(): a model in another library's format.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "reframe.h"
#include "store.h"

/* The deployed version of a model as XGBoost's JSON model. */
PG_FUNCTION_INFO_V1(reframe_export);
Datum
reframe_export(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	char	   *format = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Oid			relid = StoreReadableModelRelid(name);
	RfModel    *m;
	StringInfoData buf;
	char	  **names;
	const char **types;

	if (strcmp(format, "xgboost") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown export format \"%s\"", format),
				 errhint("The format is \"xgboost\" (XGBoost's JSON model of trees).")));
	m = StoreGetModel(relid, text_to_cstring(name), 0, CurrentMemoryContext);
	if (m->nterms > 0 || m->net->family->export_xgboost == NULL)
	{
		const char *exporting = NULL;

		for (int i = 0; i < FamilyCount() && exporting == NULL; i++)
			if (FamilyAt(i)->export_xgboost)
				exporting = FamilyAt(i)->name;
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" is %s, which cannot be exported as an XGBoost model",
						m->name, m->nterms > 0 ? "a blend" : psprintf("a %s model", m->net->family->name)),
				 errhint("Train it with \"model\": \"%s\".", exporting)));
	}
	initStringInfo(&buf);
	names = palloc0(sizeof(char *) * Max(m->enc->width, 1));
	types = palloc0(sizeof(char *) * Max(m->enc->width, 1));
	EncoderSlotNames(m->enc, names, types);
	m->net->family->export_xgboost(m->net, names, types, &buf);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}
