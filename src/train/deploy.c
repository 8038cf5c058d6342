/*
 * deploy.c
 *		reframe.deploy: deploy a version, or the best one measured on the
 *		same rows.
 *
 * Each version's stored validation figure was measured on its own
 * validation rows, which move when its features or split change; so the
 * best version is chosen by scoring every version on one set of rows: the
 * validation rows of the newest version, its source read again and split
 * exactly as its training split it, kept in a temporary table that
 * reframe.compare scores each version on.
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "utils/array.h"
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

/*
 * The rows every version is measured on, in a temporary table that
 * reframe.compare reads (dropped at commit, or by the caller): its name.
 */
static const char *
RowsTable(RfTrainState *ts)
{
	TupleDesc	td = ts->tupdesc;
	StringInfoData ddl;
	Relation	rel;
	TupleTableSlot *slot = MakeSingleTupleTableSlot(td, &TTSOpsMinimalTuple);

	initStringInfo(&ddl);
	appendStringInfoString(&ddl, "CREATE TEMP TABLE reframe_deploy_rows (");
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);

		appendStringInfo(&ddl, "%s%s %s", i ? ", " : "", quote_identifier(NameStr(att->attname)),
						 format_type_with_typemod(att->atttypid, att->atttypmod));
	}
	appendStringInfoString(&ddl, ") ON COMMIT DROP");
	SPI_connect();
	if ((OidIsValid(RangeVarGetRelid(makeRangeVar("pg_temp", "reframe_deploy_rows", -1), NoLock, true)) &&
		 SPI_execute("DROP TABLE pg_temp.reframe_deploy_rows", false, 0) != SPI_OK_UTILITY) ||
		SPI_execute(ddl.data, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "reframe: could not keep the rows the versions are compared on");
	SPI_finish();
	rel = table_open(RangeVarGetRelid(makeRangeVar("pg_temp", "reframe_deploy_rows", -1), NoLock, false),
					 RowExclusiveLock);
	tuplestore_rescan(ts->vstore);
	while (tuplestore_gettupleslot(ts->vstore, true, false, slot))
	{
		bool		should_free;
		HeapTuple	tup = ExecFetchSlotHeapTuple(slot, true, &should_free);

		simple_heap_insert(rel, tup);
		if (should_free)
			heap_freetuple(tup);
		CHECK_FOR_INTERRUPTS();
	}
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, RowExclusiveLock);
	CommandCounterIncrement();
	return "pg_temp.reframe_deploy_rows";
}

/*
 * The versions that can be scored on the rows (columns the rows lack are
 * passed over, with a NOTICE) as an int[].
 */
static Datum
ScorableVersions(Versions *vs, RfTrainState *ts)
{
	Datum	   *v = palloc(sizeof(Datum) * Max(vs->n, 1));
	int			n = 0;

	for (int i = vs->n - 1; i >= 0; i--)
		if (vs->model[i] != NULL && TrainCanScore(ts, vs->model[i], vs->version[i], false))
			v[n++] = Int32GetDatum(vs->version[i]);
	return PointerGetDatum(construct_array(v, n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}

/*
 * Version by version, newest first, reframe.compare's selection metric on
 * the rows: the best one (the newest of equals); a version measured by
 * another metric is passed over.  Each version's figure is a NOTICE.
 */
static int32
BestOfCompared(const char *name, const char *table, Datum versions, int32 ref)
{
	int32		winner = -1;
	double		best = get_float8_infinity();
	char	   *metric = NULL;

	SPI_connect();
	if (SPI_execute_with_args("SELECT version, selection->>'metric', (selection->>'value')::float8, rows FROM "
							  REFRAME_SCHEMA ".compare($1, $2, $3)", 3,
							  (Oid[]) {TEXTOID, TEXTOID, INT4ARRAYOID},
							  (Datum[]) {CStringGetTextDatum(name), CStringGetTextDatum(table), versions},
							  NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "reframe: could not compare the versions of model \"%s\"", name);
	for (uint64 i = SPI_processed; i-- > 0;)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		int32		v = DatumGetInt32(SPI_getbinval(tup, td, 1, &isnull));
		char	   *vmetric = SPI_getvalue(tup, td, 2);
		Datum		value = SPI_getbinval(tup, td, 3, &isnull);
		double		loss = isnull ? get_float8_nan() : DatumGetFloat8(value);

		metric = metric ? metric : vmetric;
		if (vmetric == NULL || strcmp(vmetric, metric) != 0 || isnan(loss))
		{
			ereport(NOTICE,
					(errmsg("model \"%s\": version %d is measured by %s, not %s, and is passed over",
							name, v, vmetric ? vmetric : "nothing", metric)));
			continue;
		}
		ereport(NOTICE,
				(errmsg("model \"%s\": version %d: validation %s %g on the %s validation rows of version %d",
						name, v, metric, loss, SPI_getvalue(tup, td, 4), ref)));
		if (loss < best)
			best = loss, winner = v;	/* of equals, the newest */
	}
	SPI_finish();
	return winner;
}

/*
 * The version with the best selection metric on the same rows, as
 * reframe.compare measures each; versions that cannot be scored on them
 * (another metric, or columns the rows lack) are passed over with a NOTICE.
 */
static int32
BestVersionOnSameRows(Oid relid, const char *name)
{
	Versions   *vs = ListVersions(relid, name);
	int			ref;
	RfTrainState *ts;
	int32		winner;
	char	   *task = VersionSpecText(vs->spec[0], "task", name, vs->version[0], false);

	if (task && strcmp(task, "blend") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a blend, which has no validation rows to compare its versions on", name),
				 errhint("Name the version: reframe.deploy('%s', version).", name)));
	ts = ReferenceRows(vs, relid, name, &ref);
	winner = BestOfCompared(name, RowsTable(ts), ScorableVersions(vs, ts), vs->version[ref]);
	SPI_connect();
	if (SPI_execute("DROP TABLE pg_temp.reframe_deploy_rows", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "reframe: could not drop the rows the versions were compared on");
	SPI_finish();
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
