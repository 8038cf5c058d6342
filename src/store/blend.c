/*
 * blend.c
 *		Decoupled objectives: a blend is a weighted sum of other models'
 *		scores, combined at scoring time.
 *
 * A blend is stored like a model, as a table of type reframe.model_row
 * named by the blend, whose versions are header rows holding the terms.
 * Re-creating it writes and deploys a new version, so new weights take
 * effect at once, with no retraining, and scoring never sees half a change.
 */
#include "postgres.h"

#include <math.h>

#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "jsonutil.h"
#include "store.h"

/* Checks that a term names a trained model, and an output it can score. */
static void
BlendCheckTerm(const char *blend, const char *model, const char *output)
{
	text	   *name = cstring_to_text(model);
	Oid			relid = StoreModelRelid(name, AccessShareLock, true);
	AclResult	acl;
	RfModel    *m;
	RfTrunk    *net;
	bool		found = false;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("blend \"%s\" names model \"%s\", which does not exist", blend, model)));
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
	m = StoreGetModel(relid, model, 0, CurrentMemoryContext);
	if (m->nterms > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("blend \"%s\" names \"%s\", which is a blend itself", blend, model),
				 errhint("Name the models of \"%s\" directly.", model)));
	net = m->net;
	if (output == NULL && net->nheads > 1 && net->heads[net->nheads - 1].parent_of == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("blend \"%s\" needs a head of model \"%s\", which has %d", blend, model, net->nheads),
				 errhint("Write the key as \"%s:%s\".", model, net->heads[0].name)));
	if (output == NULL)
	{
		RfHead	   *head = &net->heads[net->nheads - 1];

		if (head->kind == RF_HEAD_MULTICLASS && head->bin_values == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("blend \"%s\" needs a class of multiclass model \"%s\"", blend, model),
					 errhint("Write the key as \"%s:%s\".", model, head->classes[0])));
		return;
	}
	for (int h = 0; h < net->nheads && !found; h++)
	{
		found |= strcmp(net->heads[h].name, output) == 0;
		for (int k = 0; k < net->heads[h].nclasses && !found; k++)
			found |= strcmp(net->heads[h].classes[k], output) == 0;
	}
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("blend \"%s\" names output \"%s\" of model \"%s\", which has no such output",
						blend, output, model)));
}

/* A blend's spec from its weights: each term's model, output and weight, checked. */
static char *
BlendSpec(const char *blend, Jsonb *weights)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	StringInfoData spec;
	char	   *key = NULL;
	int			nterms = 0;

	if (!JB_ROOT_IS_OBJECT(weights) || JB_ROOT_COUNT(weights) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("weights of blend \"%s\" must be a non-empty JSON object", blend),
				 errhint("For example '{\"quality\": 0.3, \"engagement\": 0.7, \"spam:true\": -2}'.")));

	initStringInfo(&spec);
	appendStringInfoString(&spec, "{\"format\": 1, \"task\": \"blend\", \"terms\": [");
	it = JsonbIteratorInit(&weights->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *colon;
		char	   *model;
		char	   *output = NULL;
		double		w;

		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		if (v.type != jbvNumeric || !isfinite(JsonValueNumber(&v)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weight of \"%s\" in blend \"%s\" must be a finite number", key, blend)));
		w = JsonValueNumber(&v);
		model = pstrdup(key);
		colon = strchr(model, ':');
		if (colon)
		{
			*colon = '\0';
			output = colon + 1;
		}
		BlendCheckTerm(blend, model, output);
		appendStringInfoString(&spec, nterms++ ? ", {\"model\": " : "{\"model\": ");
		JsonAppendString(&spec, model);
		if (output)
		{
			appendStringInfoString(&spec, ", \"output\": ");
			JsonAppendString(&spec, output);
		}
		appendStringInfoString(&spec, ", \"weight\": ");
		JsonAppendNumber(&spec, w);
		appendStringInfoChar(&spec, '}');
	}
	appendStringInfoString(&spec, "]}");
	return spec.data;
}

/*
 * The table of blend name: its own, which the caller may write and which
 * holds no trained model, or a new one.
 */
static Oid
BlendTable(text *name, const char *blend)
{
	Oid			relid;

	relid = StoreModelRelid(name, AccessShareLock, true);
	if (OidIsValid(relid))
	{
		AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_INSERT | ACL_UPDATE);
		bool		isnull;
		bool		trained = false;

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
		SPI_connect();
		if (SPI_execute(psprintf("SELECT spec->>'task' FROM %s WHERE block = '' ORDER BY version DESC LIMIT 1",
								 StoreQualifiedName(relid)), false, 1) == SPI_OK_SELECT && SPI_processed > 0)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			/* decided before SPI_finish frees what SPI read */
			trained = !isnull && strcmp(TextDatumGetCString(d), "blend") != 0;
		}
		SPI_finish();
		if (trained)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is a trained model, not a blend", blend),
					 errhint("Choose another name for the blend.")));
	}
	else
		relid = StoreCreateModelTable(StoreNameToRangeVar(name));
	return relid;
}

/* reframe.create_blend: creates a blend, or gives an existing one new weights. */
PG_FUNCTION_INFO_V1(reframe_create_blend);
Datum
reframe_create_blend(PG_FUNCTION_ARGS)
{
	text	   *name;
	char	   *blend;
	char	   *spec;
	Oid			relid;
	int32		version;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("blend name and weights must not be NULL")));
	name = PG_GETARG_TEXT_PP(0);
	blend = text_to_cstring(name);
	spec = BlendSpec(blend, PG_GETARG_JSONB_P(1));
	relid = BlendTable(name, blend);
	LockRelationOid(relid, ShareRowExclusiveLock);
	version = StoreNextVersion(relid);
	StoreWriteVersion(relid, version, spec, NIL, false);
	StoreDeploy(relid, version);
	PG_RETURN_INT32(version);
}
