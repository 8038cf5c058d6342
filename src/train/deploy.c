/*
 * deploy.c
 *		reframe.deploy: deploy a version, or the best one measured on the
 *		same rows.
 *
 * Each version's stored validation figure was measured on its own
 * validation rows, which move when its features or split change; so the
 * best version is chosen by scoring every version on one set of rows: the
 * validation rows of the newest version, its source read again and split
 * exactly as its training split it.
 */
#include "postgres.h"

#include <math.h>

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "reframe.h"
#include "evaluate.h"
#include "jsonutil.h"
#include "store.h"
#include "train.h"

static Jsonb *
CopyJsonb(Datum d, MemoryContext cxt)
{
	Jsonb	   *j = DatumGetJsonbP(d);
	Jsonb	   *copy = MemoryContextAlloc(cxt, VARSIZE(j));

	memcpy(copy, j, VARSIZE(j));
	return copy;
}

/* A model's versions, newest first, with their specs and options. */
typedef struct Versions
{
	int			n;
	int32	   *version;
	Jsonb	  **spec;
	Jsonb	  **options;		/* NULL: none */
	RfModel   **model;			/* loaded; NULL for a blend */
} Versions;

static Versions *
ListVersions(Oid relid, const char *name)
{
	MemoryContext outer = CurrentMemoryContext;
	Versions   *vs = palloc0(sizeof(Versions));

	SPI_connect();
	if (SPI_execute(psprintf("SELECT version, spec, spec->'options' FROM %s WHERE block = '' ORDER BY version DESC",
							 StoreQualifiedName(relid)), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reframe: could not list the versions of model \"%s\"", name);
	vs->n = (int) SPI_processed;
	if (vs->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no versions", name)));
	vs->version = MemoryContextAlloc(outer, sizeof(int32) * vs->n);
	vs->spec = MemoryContextAllocZero(outer, sizeof(Jsonb *) * vs->n);
	vs->options = MemoryContextAllocZero(outer, sizeof(Jsonb *) * vs->n);
	vs->model = MemoryContextAllocZero(outer, sizeof(RfModel *) * vs->n);
	for (int i = 0; i < vs->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;

		vs->version[i] = DatumGetInt32(SPI_getbinval(tup, td, 1, &isnull));
		d = SPI_getbinval(tup, td, 2, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("version %d of model \"%s\" has no spec", vs->version[i], name)));
		vs->spec[i] = CopyJsonb(d, outer);
		d = SPI_getbinval(tup, td, 3, &isnull);
		vs->options[i] = isnull ? NULL : CopyJsonb(d, outer);
	}
	SPI_finish();
	for (int i = 0; i < vs->n; i++)
	{
		RfModel    *m = StoreLoadVersion(relid, name, vs->version[i]);

		vs->model[i] = m && m->nterms == 0 ? m : NULL;
	}
	return vs;
}

/* A spec's text field, or an error naming the hand-edited field. */
static char *
VersionSpecText(Jsonb *spec, const char *key, const char *name, int32 v, bool required)
{
	char	   *s = JsonFieldText(&spec->root, key, NULL);

	if (s == NULL && required)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version %d of model \"%s\" has no \"%s\" in its spec", v, name, key)));
	return s;
}

/* A version's targets, as train takes them (comma-separated). */
static text *
SpecTargets(Jsonb *spec, const char *name, int32 v)
{
	JsonbContainer *arr = JsonFieldContainer(&spec->root, "targets");
	StringInfoData buf;

	if (arr == NULL || JsonArraySize(arr) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version %d of model \"%s\" has no \"targets\" in its spec", v, name)));
	initStringInfo(&buf);
	for (int t = 0; t < JsonArraySize(arr); t++)
		appendStringInfo(&buf, "%s%s", t ? "," : "", JsonValueText(JsonArrayElement(arr, t)));
	return cstring_to_text(buf.data);
}

/* Version i's source read again and split as its training split it. */
static RfTrainState *
ReadValidationRows(Versions *vs, int i, Oid relid, const char *name)
{
	int32		v = vs->version[i];
	RfTrainState *ts = TrainBegin(CurrentMemoryContext, name, SpecTargets(vs->spec[i], name, v),
								  VersionSpecText(vs->spec[i], "task", name, v, false), vs->options[i]);

	ts->relid = relid;
	ts->vstore = tuplestore_begin_heap(false, false, work_mem);
	TrainRead(ts, cstring_to_text(VersionSpecText(vs->spec[i], "source", name, v, true)));
	if (tuplestore_tuple_count(ts->vstore) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\": version %d has no validation rows to compare the versions on", name, v),
				 errhint("Name the version to deploy, or retrain with \"validation\" above 0.")));
	return ts;
}

/*
 * The rows every version is measured on: the validation rows of the newest
 * version whose source holds every version's columns, or else the newest
 * version's (the versions they cannot score are passed over).  *ref is the
 * version whose rows they are.
 */
static RfTrainState *
ReferenceRows(Versions *vs, Oid relid, const char *name, int *ref)
{
	for (int r = 0; r < vs->n; r++)
	{
		MemoryContext cxt;
		MemoryContext old;
		RfTrainState *ts;
		bool		all = true;

		/* (a source like the newest's has its columns: no use reading it) */
		if (vs->model[r] == NULL ||
			(r > 0 && strcmp(VersionSpecText(vs->spec[r], "source", name, vs->version[r], true),
							 VersionSpecText(vs->spec[0], "source", name, vs->version[0], true)) == 0))
			continue;
		cxt = AllocSetContextCreate(CurrentMemoryContext, "reframe deploy rows", ALLOCSET_DEFAULT_SIZES);
		old = MemoryContextSwitchTo(cxt);
		ts = ReadValidationRows(vs, r, relid, name);
		MemoryContextSwitchTo(old);
		for (int i = 0; i < vs->n && all; i++)
			all = vs->model[i] == NULL || TrainCanScore(ts, vs->model[i], vs->version[i], true);
		if (all)
		{
			*ref = r;
			return ts;
		}
		MemoryContextDelete(cxt);
	}
	*ref = 0;
	return ReadValidationRows(vs, 0, relid, name);
}

/* Version i scored on the rows; the best so far and its metric are updated. */
static void
MeasureVersion(Versions *vs, int i, RfTrainState *ts, int ref, const char *name, double *best,
			   int32 *winner, const char **metric)
{
	const char *vmetric;
	double		loss;
	int64		rows;

	if (vs->model[i] == NULL || !TrainCanScore(ts, vs->model[i], vs->version[i], false))
		return;
	loss = EvalModelOnTuples(vs->model[i], ts->vstore, ts->tupdesc, &rows, &vmetric);
	*metric = *metric ? *metric : vmetric;
	if (strcmp(vmetric, *metric) != 0 || isnan(loss))
	{
		ereport(NOTICE,
				(errmsg("model \"%s\": version %d is measured by %s, not %s, and is passed over",
						name, vs->version[i], vmetric, *metric)));
		return;
	}
	ereport(NOTICE,
			(errmsg("model \"%s\": version %d: validation %s %g on the %lld validation rows of version %d",
					name, vs->version[i], *metric, loss, (long long) rows, vs->version[ref])));
	if (loss < *best)
		*best = loss, *winner = vs->version[i];
	CHECK_FOR_INTERRUPTS();
}

/*
 * The version with the best selection metric on the same rows; versions
 * that cannot be scored on them (another metric, or columns the rows lack)
 * are passed over with a NOTICE.
 */
static int32
BestVersionOnSameRows(Oid relid, const char *name)
{
	Versions   *vs = ListVersions(relid, name);
	int			ref;
	RfTrainState *ts;
	const char *metric = NULL;
	double		best = get_float8_infinity();
	int32		winner = -1;
	char	   *task = VersionSpecText(vs->spec[0], "task", name, vs->version[0], false);

	if (task && strcmp(task, "blend") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a blend, which has no validation rows to compare its versions on", name),
				 errhint("Name the version: reframe.deploy('%s', version).", name)));
	ts = ReferenceRows(vs, relid, name, &ref);
	for (int i = 0; i < vs->n; i++)
		MeasureVersion(vs, i, ts, ref, name, &best, &winner, &metric);
	if (winner < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\": no version could be scored on the validation rows of version %d",
						name, vs->version[ref]),
				 errhint("Name the version to deploy.")));
	return winner;
}

/* reframe.deploy: deploy a version, or the best one on the same rows. */
PG_FUNCTION_INFO_V1(reframe_deploy);
Datum
reframe_deploy(PG_FUNCTION_ARGS)
{
	text	   *name;
	Oid			relid;
	int32		version;
	AclResult	acl;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL")));
	name = PG_GETARG_TEXT_PP(0);
	relid = StoreModelRelid(name, ShareRowExclusiveLock, false);
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_UPDATE);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
	version = PG_ARGISNULL(1) ? BestVersionOnSameRows(relid, text_to_cstring(name)) : PG_GETARG_INT32(1);
	StoreDeploy(relid, version);
	PG_RETURN_INT32(version);
}
