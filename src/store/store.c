/*
 * store.c
 *		Model tables, versions and the per-backend model cache.
 *
 * Scoring looks a model up once per query: the backend keeps each model's
 * deployed version in a hash keyed by the model table's OID.  Every write
 * to a model table fires a statement trigger that sends a relcache
 * invalidation for it; the callback only marks the cached model stale, and
 * the next query reloads it.  Invalidations go out at commit, so no backend
 * ever sees a half-written or rolled-back version.
 *
 * On a Citus coordinator with workers, a new model table becomes a
 * reference table (citus.c): its rows live in one shard replicated to every
 * node, written by two-phase commit, and the trigger is created on each
 * shard, so every node's backends hear of a change to their own copy.  A
 * model is then read from the local shard (StoreLocalRelid), on the
 * coordinator as on a worker scoring its part of a distributed table.
 */
#include "postgres.h"

#include <float.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "common/hashfn.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "parser/parser.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/varlena.h"

#include "reframe.h"
#include "citus.h"
#include "jsonutil.h"
#include "shared_cache.h"
#include "store.h"

/* Largest number of values stored in one row of a parameter block. */
#define STORE_PART_VALUES (1 << 20)

typedef struct ModelCacheKey
{
	Oid			relid;
	int32		version;		/* 0: the deployed one */
} ModelCacheKey;

typedef struct ModelCacheEntry
{
	ModelCacheKey key;			/* hash key */
	RfModel    *model;
} ModelCacheEntry;

static HTAB *ModelCache = NULL;

/* ---------- names ---------- */

/*
 * A model's name resolves like a table name, but is never truncated: a part
 * longer than an identifier may be (63 bytes) is refused, not cut to a name
 * that may be another model's.
 */
RangeVar *
StoreNameToRangeVar(text *name)
{
	char	   *s = text_to_cstring(name);
	int			len = 0;
	bool		quoted = false;

	for (char *p = s; *p; p++)
	{
		if (*p == '"' && quoted && p[1] == '"')
			p++;				/* a doubled quote is one character */
		else if (*p == '"')
		{
			quoted = !quoted;
			continue;
		}
		else if (*p == '.' && !quoted)
		{
			len = 0;
			continue;
		}
		if (++len >= NAMEDATALEN)
			ereport(ERROR,
					(errcode(ERRCODE_NAME_TOO_LONG),
					 errmsg("model name \"%s\" is too long", s),
					 errdetail("A model is a table, and a table's name has at most %d bytes.", NAMEDATALEN - 1)));
	}
	return makeRangeVarFromNameList(textToQualifiedNameList(name));
}

/*
 * A model name may end in "@" and a version number, outside quotes: that
 * version scores instead of the deployed one.  A Citus coordinator pins a
 * statement's version so for its workers (pin.c); an unquoted name cannot
 * contain "@", so no table's name reads as one.  Returns the name without
 * the version, and *version (0 when none is given).
 */
text *
StoreSplitVersion(text *name, int32 *version)
{
	char	   *s = text_to_cstring(name);
	char	   *at = NULL;
	bool		quoted = false;
	int64		v = 0;

	*version = 0;
	for (char *p = s; *p; p++)
	{
		if (*p == '"')
			quoted = !quoted;	/* a doubled quote toggles twice */
		else if (*p == '@' && !quoted)
			at = p;
	}
	if (at == NULL || at[1] == '\0' || at == s)
		return name;
	for (char *p = at + 1; *p; p++)
	{
		if (*p < '0' || *p > '9' || v > PG_INT32_MAX / 10)
			return name;		/* not a version: the name is refused as it was */
		v = v * 10 + (*p - '0');
	}
	if (v == 0 || v > PG_INT32_MAX)
		return name;
	*version = (int32) v;
	return cstring_to_text_with_len(s, at - s);
}

/*
 * The name of a model's table as reframe.train reports it: what the name
 * given resolved to (case-folded, unquoted as needed), schema-qualified if
 * it was given so.
 */
char *
StoreStoredName(text *name, Oid relid)
{
	RangeVar   *rv = StoreNameToRangeVar(name);

	if (rv->schemaname)
		return StoreQualifiedName(relid);
	return pstrdup(quote_identifier(get_rel_name(relid)));
}

/*
 * Trainings of one model name run one at a time: an exclusive lock on the
 * name within its schema, held to the end of the transaction, taken before
 * the table is looked up or created.  A second training of a new name waits
 * for the first to commit and adds a version to the model it made, instead
 * of failing on the catalog's unique index after its whole training.
 */
void
StoreLockModelName(text *name)
{
	RangeVar   *rv = StoreNameToRangeVar(name);
	Oid			relid = RangeVarGetRelid(rv, NoLock, true);
	/* an existing model's own schema, however it was named; else where it will be */
	Oid			nsp = OidIsValid(relid) ? get_rel_namespace(relid) : RangeVarGetCreationNamespace(rv);
	uint32		h = hash_bytes((const unsigned char *) rv->relname, strlen(rv->relname));

	/* objsubid 0 is the schema itself, which CREATE takes shared */
	LockDatabaseObject(NamespaceRelationId, nsp, (int32) (h | 1), ExclusiveLock);
	AcceptInvalidationMessages();
}

/*
 * Reading a source: the transaction is read-only until StoreEndSourceRead
 * (or an error) restores it, so that a source with side effects -- a
 * sequence's nextval, a function that writes -- fails with PostgreSQL's own
 * error instead of changing data at every training.  The GUC's nesting
 * restores it on error, in a subtransaction too.
 */
static void
SourceReadContext(void *arg)
{
	if (geterrcode() == ERRCODE_READ_ONLY_SQL_TRANSACTION)
		errcontext("reframe reads a source in a read-only transaction: a source must not write or call nextval()");
}

void
StoreBeginSourceRead(RfSourceRead *r)
{
	r->nest = NewGUCNestLevel();
	(void) set_config_option("transaction_read_only", "on", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	r->cb.previous = error_context_stack;
	r->cb.callback = SourceReadContext;
	r->cb.arg = NULL;
	error_context_stack = &r->cb;
}

void
StoreEndSourceRead(RfSourceRead *r)
{
	error_context_stack = r->cb.previous;
	AtEOXact_GUC(true, r->nest);
}

Oid
StoreModelRowType(void)
{
	Oid			nsp = get_namespace_oid(REFRAME_SCHEMA, false);

	return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
						   CStringGetDatum("model_row"), ObjectIdGetDatum(nsp));
}

/*
 * Whether a relation's columns are reframe.model_row's, in order: a Citus
 * worker's copy of a model table is created from its columns, not as a
 * typed table.
 */
static bool
HasModelRowColumns(Oid relid)
{
	TupleDesc	want = lookup_rowtype_tupdesc(StoreModelRowType(), -1);
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	have = RelationGetDescr(rel);
	int			j = 0;
	bool		same = true;

	for (int i = 0; i < have->natts && same; i++)
	{
		Form_pg_attribute a = TupleDescAttr(have, i);

		if (a->attisdropped)
			continue;
		same = j < want->natts &&
			a->atttypid == TupleDescAttr(want, j)->atttypid &&
			strcmp(NameStr(a->attname), NameStr(TupleDescAttr(want, j)->attname)) == 0;
		j++;
	}
	same = same && j == want->natts;
	table_close(rel, AccessShareLock);
	ReleaseTupleDesc(want);
	return same;
}

static bool
IsModelTable(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		typed;
	char		kind;

	if (!HeapTupleIsValid(tup))
		return false;
	typed = ((Form_pg_class) GETSTRUCT(tup))->reloftype == StoreModelRowType();
	kind = ((Form_pg_class) GETSTRUCT(tup))->relkind;
	ReleaseSysCache(tup);
	if (typed)
		return true;
	return kind == RELKIND_RELATION && CitusIsReferenceTable(relid) && HasModelRowColumns(relid);
}

Oid
StoreModelRelid(text *name, LOCKMODE lockmode, bool missing_ok)
{
	RangeVar   *rv = StoreNameToRangeVar(name);
	Oid			relid = RangeVarGetRelid(rv, lockmode, true);

	if (!OidIsValid(relid))
	{
		if (missing_ok)
			return InvalidOid;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", text_to_cstring(name)),
				 CitusIsWorker() ?
				 errhint("On this Citus worker: if the model exists on the coordinator, its table is local there (restored from a dump, or made before the workers were added); run SELECT reframe.replicate_models() on the coordinator.") :
				 errhint("Train it with reframe.train('%s', source, target); reframe.models lists the models you can see.",
						 text_to_cstring(name))));
	}
	if (!IsModelTable(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation \"%s\" is not a reframe model", text_to_cstring(name)),
				 errdetail("A model is a table of type reframe.model_row created by reframe.train().")));
	return relid;
}

/*
 * The model table a name resolves to, if the caller may read it; InvalidOid,
 * raising nothing, when the name is no model the caller may score (where
 * scoring it would raise the error).
 */
Oid
StoreFindReadableModel(text *name)
{
	char	   *s = text_to_cstring(name);
	List	   *parts;
	List	   *names = NIL;
	ListCell   *lc;
	Oid			relid;

	if (!SplitIdentifierString(s, '.', &parts) || list_length(parts) > 3)
		return InvalidOid;
	foreach(lc, parts)
	{
		if (strlen(lfirst(lc)) >= NAMEDATALEN - 1)
			return InvalidOid;	/* perhaps truncated: StoreNameToRangeVar refuses it */
		names = lappend(names, makeString(lfirst(lc)));
	}
	relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, true);
	if (!OidIsValid(relid) || !IsModelTable(relid) ||
		pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return InvalidOid;
	return relid;
}

/* The model table for a name, which the caller may read (42501 if not). */
Oid
StoreReadableModelRelid(text *name)
{
	Oid			relid = StoreModelRelid(name, AccessShareLock, false);
	AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);

	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
	return relid;
}

char *
StoreQualifiedName(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/*
 * A source is a query when it starts like one; otherwise it names a table
 * or view, resolved like any relation name.
 */
/* A syntax error in the source points into the source, as SPI's would. */
static void
SourceErrorCallback(void *arg)
{
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery((const char *) arg);
	}
}

/*
 * A source is read, never written through: no data-modifying WITH (allowed
 * only at the top level), no SELECT INTO, no row locks.  The read-only SPI
 * call that runs the source would refuse these too, but with a message
 * about non-volatile functions.
 */
static void
SourceCheckReadOnly(SelectStmt *stmt, const char *sql)
{
	const char *what = NULL;

	if (stmt->withClause)
	{
		ListCell   *lc;

		foreach(lc, stmt->withClause->ctes)
		{
			CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

			if (!IsA(cte->ctequery, SelectStmt))
				what = psprintf("its WITH query \"%s\" modifies data", cte->ctename);
		}
	}
	if (stmt->intoClause)
		what = "SELECT INTO creates a table";
	if (stmt->lockingClause)
		what = "it locks rows";
	if (what)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source must only read data, but %s", what),
				 errdetail("The source was: %s", sql)));
}

char *
StoreSourceSql(text *source)
{
	char	   *s = text_to_cstring(source);
	char	   *p = s;
	static const char *const starts[] = {"select", "with", "values", "table"};
	RangeVar   *rv;
	Oid			relid;

	bool		query = false;

	while (*p && isspace((unsigned char) *p))
		p++;
	query = *p == '(';
	for (int i = 0; i < lengthof(starts) && !query; i++)
	{
		int			len = strlen(starts[i]);

		query = pg_strncasecmp(p, starts[i], len) == 0 &&
			(p[len] == '\0' || isspace((unsigned char) p[len]) || p[len] == '(');
	}
	if (query)
	{
		/* one query, nothing after it: the source is read, never run as commands */
		ErrorContextCallback cb = {.previous = error_context_stack,.callback = SourceErrorCallback,.arg = s};
		List	   *stmts;
		SelectStmt *stmt;

		error_context_stack = &cb;
		stmts = raw_parser(s, RAW_PARSE_DEFAULT);
		error_context_stack = cb.previous;
		if (list_length(stmts) != 1 || !IsA(linitial_node(RawStmt, stmts)->stmt, SelectStmt))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("source must be a single query"),
					 errdetail("The source was: %s", s),
					 errhint("Pass one SELECT, WITH, VALUES or TABLE query, without other statements after it.")));
		stmt = (SelectStmt *) linitial_node(RawStmt, stmts)->stmt;
		SourceCheckReadOnly(stmt, s);
		return s;
	}
	{
		static const char *const writes[] = {"INSERT", "UPDATE", "DELETE", "MERGE"};

		for (int i = 0; i < lengthof(writes); i++)
			if (pg_strncasecmp(p, writes[i], strlen(writes[i])) == 0 && isspace((unsigned char) p[strlen(writes[i])]))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("source must be a query that reads, but it starts with %s", writes[i]),
						 errdetail("The source was: %s", s),
						 errhint("Pass a table or view name, or one SELECT, WITH, VALUES or TABLE query.")));
	}
	rv = makeRangeVarFromNameList(textToQualifiedNameList(source));
	relid = RangeVarGetRelid(rv, AccessShareLock, true);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("source relation \"%s\" does not exist", s),
				 errhint("The source is a table or view name, or a query starting with SELECT, WITH, VALUES or TABLE.")));
	return psprintf("SELECT * FROM %s", StoreQualifiedName(relid));
}

/*
 * Creates the table of a new model in the caller's transaction, with the
 * trigger that tells every backend when the model changes.
 */
Oid
StoreCreateModelTable(RangeVar *rv)
{
	Oid			nsp = RangeVarGetCreationNamespace(rv);
	char	   *qname = quote_qualified_identifier(get_namespace_name(nsp), rv->relname);
	StringInfoData sql;

	CitusCheckModelName(nsp, rv->relname, qname);
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TABLE %s OF reframe.model_row (PRIMARY KEY (version, block, part));"
					 "CREATE TRIGGER reframe_model_changed"
					 " AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s"
					 " FOR EACH STATEMENT EXECUTE FUNCTION reframe.model_changed();"
					 "COMMENT ON TABLE %s IS 'reframe model: one header row per version (block '''') and its parameter blocks'",
					 qname, qname, qname);
	SPI_connect();
	if (SPI_execute(sql.data, false, 0) < 0)
		elog(ERROR, "reframe: could not create model table %s", qname);
	SPI_finish();
	CommandCounterIncrement();
	CitusReplicateModelTable(qname);
	return get_relname_relid(rv->relname, nsp);
}

/* ---------- versions ---------- */

static int32
QueryInt(const char *sql, int nargs, Oid *types, Datum *values, int32 dflt, bool read_only)
{
	int32		result = dflt;

	SPI_connect();
	if (SPI_execute_with_args(sql, nargs, types, values, NULL, read_only, 1) != SPI_OK_SELECT)
		elog(ERROR, "reframe: query failed: %s", sql);
	if (SPI_processed > 0)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			result = DatumGetInt32(d);
	}
	SPI_finish();
	return result;
}

int32
StoreNextVersion(Oid relid)
{
	return QueryInt(psprintf("SELECT coalesce(max(version), 0) + 1 FROM %s",
							 StoreQualifiedName(relid)), 0, NULL, NULL, 1, false);
}

/*
 * The deployed version for a training deciding whether to deploy, or -1: a
 * query with the trainer's rights that sees versions committed since its
 * statement began.  Scoring finds it through the key (DeployedVersionByIndex).
 */
int32
StoreDeployedVersion(Oid relid)
{
	return QueryInt(psprintf("SELECT version FROM %s WHERE block = '' AND deployed"
							 " ORDER BY version DESC LIMIT 1",
							 StoreQualifiedName(relid)), 0, NULL, NULL, -1, false);
}

/* Writes a version: its header row, then every block in parts. */
void
StoreWriteVersion(Oid relid, int32 version, const char *spec, List *blocks, bool deployed)
{
	Oid			types[7] = {INT4OID, TEXTOID, INT4OID, INT4ARRAYOID, FLOAT8ARRAYOID, JSONBOID, BOOLOID};
	Datum		values[7];
	char		nulls[7];
	char	   *sql = psprintf("INSERT INTO %s (version, block, part, shape, data, spec, created, deployed)"
							   " VALUES ($1, $2, $3, $4, $5, $6, now(), $7)",
							   StoreQualifiedName(relid));
	SPIPlanPtr	plan;
	ListCell   *lc;

	SPI_connect();
	plan = SPI_prepare(sql, 7, types);
	if (plan == NULL)
		elog(ERROR, "reframe: could not prepare %s", sql);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int32GetDatum(version);
	values[1] = CStringGetTextDatum("");
	values[2] = Int32GetDatum(0);
	nulls[3] = 'n';
	nulls[4] = 'n';
	values[5] = JsonbPGetDatum(JsonFromText(spec));
	values[6] = BoolGetDatum(deployed);
	if (SPI_execute_plan(plan, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "reframe: could not write the header of version %d", version);

	nulls[5] = 'n';
	nulls[6] = 'n';
	foreach(lc, blocks)
	{
		RfBlock    *b = lfirst(lc);
		int64		n = (int64) b->shape[0] * Max(b->shape[1], 1);
		Datum		dims[2] = {Int32GetDatum(b->shape[0]), Int32GetDatum(b->shape[1])};
		int			part = 0;

		values[1] = CStringGetTextDatum(b->name);
		values[3] = PointerGetDatum(construct_array(dims, b->ndim, INT4OID, 4, true, TYPALIGN_INT));
		nulls[3] = ' ';
		nulls[4] = ' ';
		for (int64 start = 0; start < n || (n == 0 && part == 0); start += STORE_PART_VALUES)
		{
			int			len = (int) Min(n - start, STORE_PART_VALUES);

			values[2] = Int32GetDatum(part++);
			values[4] = PointerGetDatum(ReframeFloat8Array(b->data + start, len));
			if (SPI_execute_plan(plan, values, nulls, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "reframe: could not write block %s", b->name);
			pfree(DatumGetPointer(values[4]));
			if (n == 0)
				break;
		}
		CHECK_FOR_INTERRUPTS();
	}
	SPI_finish();
}

/* Marks one version deployed (and every other one not). */
void
StoreDeploy(Oid relid, int32 version)
{
	char	   *rel = StoreQualifiedName(relid);
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(version)};

	if (QueryInt(psprintf("SELECT version FROM %s WHERE block = '' AND version = $1", rel),
				 1, types, values, -1, false) < 0)
	{
		MemoryContext caller = CurrentMemoryContext;
		char	   *list = NULL;

		SPI_connect();
		if (SPI_execute(psprintf("SELECT string_agg(version::text, ', ' ORDER BY version) FROM %s WHERE block = ''",
								 rel), true, 1) == SPI_OK_SELECT && SPI_processed == 1)
			list = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		/* out of SPI's memory, which SPI_finish frees */
		list = list ? MemoryContextStrdup(caller, list) : NULL;
		SPI_finish();
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", get_rel_name(relid), version),
				 list ? errhint("Its versions are %s.", list) : errhint("It has no versions.")));
	}
	SPI_connect();
	if (SPI_execute_with_args(psprintf("UPDATE %s SET deployed = (version = $1)"
									   " WHERE block = '' AND deployed IS DISTINCT FROM (version = $1)", rel),
							  1, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "reframe: could not deploy version %d", version);
	SPI_finish();
}

/*
 * The validation loss a version was selected on (lower is better); *found
 * is false when the version kept no validation data.
 */
double
StoreVersionSelection(Oid relid, int32 version, bool *found)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(version)};
	double		result = 0;

	*found = false;
	SPI_connect();
	if (SPI_execute_with_args(psprintf("SELECT (spec #>> '{selection,value}')::float8 FROM %s"
									   " WHERE block = '' AND version = $1",
									   StoreQualifiedName(relid)),
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "reframe: could not read version %d", version);
	if (SPI_processed > 0)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			*found = true;
			result = DatumGetFloat8(d);
		}
	}
	SPI_finish();
	return result;
}

/* ---------- loading ---------- */

typedef struct LoadedBlock
{
	char	   *name;
	int64		n;
	int64		cap;
	double	   *data;
	struct RfMapped *map;		/* where data is mapped, or NULL (matrix.h) */
	int			nparts;
	int			ndim;			/* of the shape column */
	int			shape[2];
} LoadedBlock;

static LoadedBlock *
FindBlock(List *blocks, const char *name)
{
	ListCell   *lc;

	foreach(lc, blocks)
		if (strcmp(((LoadedBlock *) lfirst(lc))->name, name) == 0)
			return lfirst(lc);
	return NULL;
}

/* Columns of reframe.model_row, of which every model table is a typed table. */
#define MODEL_ROW_VERSION	1
#define MODEL_ROW_BLOCK		2
#define MODEL_ROW_PART		3
#define MODEL_ROW_SHAPE		4
#define MODEL_ROW_DATA		5
#define MODEL_ROW_SPEC		6
/* A block's values are allocated at once for at most this many parts the size of its first */
#define BLOCK_PRESIZE_PARTS	4
#define MODEL_ROW_DEPLOYED	8

/*
 * The newest deployed version in a model table, found by walking its primary
 * key (version, block, part) down from the newest version to a header row
 * (block '') that is deployed; -1 when none is.
 */
static int32
DeployedVersionByIndex(Relation rel, Relation idx, Snapshot snap)
{
	TupleDesc	td = RelationGetDescr(rel);
	SysScanDesc scan = systable_beginscan_ordered(rel, idx, snap, 0, NULL);
	HeapTuple	tup;
	int32		version = -1;

	while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, BackwardScanDirection)))
	{
		bool		isnull;
		Datum		block = heap_getattr(tup, MODEL_ROW_BLOCK, td, &isnull);
		Datum		deployed;

		if (isnull || VARSIZE_ANY_EXHDR(DatumGetPointer(block)) != 0)
			continue;
		deployed = heap_getattr(tup, MODEL_ROW_DEPLOYED, td, &isnull);
		if (!isnull && DatumGetBool(deployed))
		{
			version = DatumGetInt32(heap_getattr(tup, MODEL_ROW_VERSION, td, &isnull));
			break;
		}
	}
	systable_endscan_ordered(scan);
	return version;
}

/*
 * Whether an index is the model row's key (version, block, part), which the
 * loader's ordered scans walk: a forged table may declare another.
 */
static bool
IndexIsPrimaryModelKey(Relation idx)
{
	Form_pg_index ind = idx->rd_index;

	return ind->indnkeyatts == 3 && ind->indkey.values[0] == MODEL_ROW_VERSION &&
		ind->indkey.values[1] == MODEL_ROW_BLOCK && ind->indkey.values[2] == MODEL_ROW_PART;
}

/* A block row's shape column: one or two non-negative sizes. */
static void
ReadShape(Datum d, bool isnull, const char *block, int part, int *ndim, int *shape)
{
	ArrayType  *arr;
	int			n;

	if (isnull)
		SpecCorrupt("block \"%s\" part %d has no shape", block, part);
	arr = DatumGetArrayTypeP(d);
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (ARR_NDIM(arr) != 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != INT4OID || n < 1 || n > 2)
		SpecCorrupt("block \"%s\" part %d has a shape that is not one or two sizes", block, part);
	*ndim = n;
	shape[1] = 0;
	for (int k = 0; k < n; k++)
	{
		shape[k] = ((int32 *) ARR_DATA_PTR(arr))[k];
		if (shape[k] < 0)
			SpecCorrupt("block \"%s\" part %d has a negative size in its shape", block, part);
	}
}

/*
 * A block's part, checked (a float8 vector of finite numbers, numbered
 * after the parts before it, of their shape) and appended to its block in
 * *blocks (made in mcxt).
 */
static void
AddBlockPart(List **blocks, const char *block, int part, Datum data, bool isnull, Datum shaped,
			 bool shapenull, MemoryContext mcxt)
{
	ArrayType  *arr;
	int			n;
	int			ndim;
	int			shape[2];
	LoadedBlock *lb = FindBlock(*blocks, block);

	if (isnull)
		SpecCorrupt("block \"%s\" part %d has no data", block, part);
	arr = DatumGetArrayTypeP(data);
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (ARR_NDIM(arr) > 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != FLOAT8OID)
		SpecCorrupt("block \"%s\" part %d is not a float8 vector without NULLs", block, part);
	if (!ReframeAllFinite((double *) ARR_DATA_PTR(arr), n))
		SpecCorrupt("block \"%s\" part %d holds NaN or infinity", block, part);
	ReadShape(shaped, shapenull, block, part, &ndim, shape);
	if (part != (lb ? lb->nparts : 0))
		SpecCorrupt("block \"%s\" has part %d where part %d belongs", block, part,
					lb ? lb->nparts : 0);
	if (lb && (ndim != lb->ndim || shape[0] != lb->shape[0] || shape[1] != lb->shape[1]))
		SpecCorrupt("block \"%s\" part %d has another shape than part 0", block, part);
	MemoryContextSwitchTo(mcxt);
	if (lb == NULL)
	{
		int64		total = (int64) shape[0] * Max(shape[1], 1);

		lb = palloc0(sizeof(LoadedBlock));
		lb->name = pstrdup(block);
		lb->ndim = ndim;
		memcpy(lb->shape, shape, sizeof(shape));
		/*
		 * room for every part at once, as its shape says: within four parts
		 * of this one's size (the shape is untrusted, and checked at the end)
		 */
		lb->cap = Max(Max(n, 16), Min(total, (int64) Max(n, 16) * BLOCK_PRESIZE_PARTS));
		lb->data = RfAllocLarge(sizeof(double) * lb->cap, &lb->map);
		*blocks = lappend(*blocks, lb);
	}
	if (lb->n + n > lb->cap)
	{
		Size		used = sizeof(double) * lb->n;

		lb->cap = Max(lb->cap * 2, lb->n + n);
		lb->data = RfGrowLarge(lb->data, used, sizeof(double) * lb->cap, &lb->map);
	}
	memcpy(lb->data + lb->n, ARR_DATA_PTR(arr), sizeof(double) * n);
	lb->n += n;
	lb->nparts++;
}

/*
 * Reads one version's rows of a model table into m and a list of its blocks,
 * allocated in the current memory context.  Checked: one header with a
 * spec; each block's parts numbered from 0, each a float8 vector of finite
 * numbers, all of one shape that the values fill exactly.
 */
static List *
ReadVersionRows(RfModel *m, Relation rel, Relation idx, Snapshot snap, MemoryContext bcxt)
{
	MemoryContext mcxt = CurrentMemoryContext;
	TupleDesc	td = RelationGetDescr(rel);
	int32		version = m->version;
	List	   *blocks = NIL;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	ListCell   *lc;
	MemoryContext tmp = AllocSetContextCreate(mcxt, "reframe model load", ALLOCSET_DEFAULT_SIZES);

	/* in key order: the header, then each block part by part */
	ScanKeyInit(&key, MODEL_ROW_VERSION, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(version));
	scan = systable_beginscan_ordered(rel, idx, snap, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection)))
	{
		MemoryContext old = MemoryContextSwitchTo(tmp);
		bool		isnull;
		bool		shapenull;
		Datum		bd = heap_getattr(tup, MODEL_ROW_BLOCK, td, &isnull);
		char	   *block = isnull ? "" : TextDatumGetCString(bd);
		int			part = DatumGetInt32(heap_getattr(tup, MODEL_ROW_PART, td, &isnull));
		Datum		data = heap_getattr(tup, MODEL_ROW_DATA, td, &isnull);
		Datum		shaped = heap_getattr(tup, MODEL_ROW_SHAPE, td, &shapenull);

		if (block[0] == '\0')
		{
			Datum		s = heap_getattr(tup, MODEL_ROW_SPEC, td, &isnull);

			if (part != 0 || m->spec != NULL)
				SpecCorrupt("the header row (block '') has part %d; a version has one header, part 0", part);
			if (isnull)
				SpecCorrupt("the header row (block '') has no spec");
			MemoryContextSwitchTo(mcxt);
			m->spec = DatumGetJsonbPCopy(s);
		}
		else
			AddBlockPart(&blocks, block, part, data, isnull, shaped, shapenull, bcxt);
		MemoryContextSwitchTo(old);
		MemoryContextReset(tmp);
	}
	systable_endscan_ordered(scan);
	MemoryContextDelete(tmp);
	foreach(lc, blocks)
	{
		LoadedBlock *lb = lfirst(lc);

		if (lb->n != (int64) lb->shape[0] * (lb->ndim > 1 ? lb->shape[1] : 1))
			SpecCorrupt("block \"%s\" holds %lld values, but its shape says %lld", lb->name,
						(long long) lb->n, (long long) lb->shape[0] * (lb->ndim > 1 ? lb->shape[1] : 1));
	}
	return blocks;
}

/* The tasks a version's spec may name. */
static const char *const StoreTasks[] = {
	"regression", "binary", "multiclass", "multilabel", "hierarchical", "multitask", "blend"
};

/* A blend's terms: at least one, each a model's name and a finite weight. */
static void
BlendFromJson(RfModel *m, JsonbContainer *spec)
{
	JsonbContainer *terms = SpecArray(spec, "", "terms", true);

	m->nterms = JsonArraySize(terms);
	if (m->nterms < 1)
		SpecCorrupt("spec field \"terms\" of a blend is empty");
	m->terms = palloc0(sizeof(RfBlendTerm) * m->nterms);
	for (int i = 0; i < m->nterms; i++)
	{
		char	   *where = psprintf("terms[%d]", i);
		JsonbContainer *t = SpecElementObject(terms, "", "terms", i);

		m->terms[i].model = SpecText(t, where, "model", NULL);
		if (m->terms[i].model[0] == '\0')
			SpecCorrupt("spec field \"%s.model\" is empty", where);
		m->terms[i].output = JsonField(t, "output") ? SpecText(t, where, "output", NULL) : NULL;
		if (JsonField(t, "weight") == NULL)
			SpecCorrupt("spec field \"%s.weight\" is missing", where);
		m->terms[i].weight = SpecNumber(t, where, "weight", 0, -DBL_MAX, DBL_MAX);
	}
}

/*
 * The blocks a loaded version must have, with their shapes: the encoder's
 * and the family's, as the spec lays them out.  Any other block, a missing
 * one, or a shape that disagrees is corrupt.
 */
static void
CheckBlocks(RfModel *m, List *blocks)
{
	List	   *expected = m->net->family->blocks(m->net);
	ListCell   *lc;

	expected = lappend(expected, RfBlockMake("encoder.shift", m->enc->nraw, 0, NULL));
	expected = lappend(expected, RfBlockMake("encoder.scale", m->enc->nraw, 0, NULL));
	foreach(lc, blocks)
	{
		LoadedBlock *lb = lfirst(lc);
		RfBlock    *b = NULL;
		ListCell   *ec;

		foreach(ec, expected)
			if (strcmp(((RfBlock *) lfirst(ec))->name, lb->name) == 0)
				b = lfirst(ec);
		if (b == NULL)
			SpecCorrupt("block \"%s\" is not one the spec describes", lb->name);
		if (lb->ndim != b->ndim || lb->shape[0] != b->shape[0] || (b->ndim > 1 && lb->shape[1] != b->shape[1]))
			SpecCorrupt("block \"%s\" has shape %s, but the spec lays it out as %s", lb->name,
						lb->ndim > 1 ? psprintf("{%d,%d}", lb->shape[0], lb->shape[1]) : psprintf("{%d}", lb->shape[0]),
						b->ndim > 1 ? psprintf("{%d,%d}", b->shape[0], b->shape[1]) : psprintf("{%d}", b->shape[0]));
	}
	foreach(lc, expected)
		if (FindBlock(blocks, ((RfBlock *) lfirst(lc))->name) == NULL)
			SpecCorrupt("block \"%s\" is missing", ((RfBlock *) lfirst(lc))->name);
}

/* Builds a version from its spec and blocks, checking it whole. */
static void
ModelFromRows(RfModel *m, List *blocks)
{
	JsonbContainer *spec = &m->spec->root;
	LoadedBlock *shift;
	LoadedBlock *scale;
	int64		stored = 0;
	ListCell   *lc;
	int			k;

	if (!JsonContainerIsObject(spec))
		SpecCorrupt("the spec is not a JSON object");
	m->task = SpecText(spec, "", "task", "regression");
	for (k = 0; k < lengthof(StoreTasks); k++)
		if (strcmp(m->task, StoreTasks[k]) == 0)
			break;
	if (k == lengthof(StoreTasks))
		SpecCorrupt("spec field \"task\" names an unknown task \"%s\"", m->task);
	if (strcmp(m->task, "blend") == 0)
	{
		if (blocks != NIL)
			SpecCorrupt("a blend has no blocks, but this one has \"%s\"", ((LoadedBlock *) linitial(blocks))->name);
		BlendFromJson(m, spec);
		return;
	}
	shift = FindBlock(blocks, "encoder.shift");
	scale = FindBlock(blocks, "encoder.scale");
	if (shift == NULL || scale == NULL || shift->n != scale->n)
		SpecCorrupt("the blocks \"encoder.shift\" and \"encoder.scale\" are missing or of different lengths");
	foreach(lc, blocks)
		stored += ((LoadedBlock *) lfirst(lc))->n;
	m->enc = EncoderFromJson(JsonFieldContainer(spec, "encoder"), shift->data, scale->data,
							 (int) shift->n);
	m->net = TrunkFromJson(JsonFieldContainer(spec, "network"), m->enc->width, stored);
	CheckBlocks(m, blocks);
	foreach(lc, blocks)
	{
		LoadedBlock *lb = lfirst(lc);

		m->net->family->set_block(m->net, lb->name, lb->data, lb->n);
	}
	m->net->family->check_loaded(m->net, m->name, m->version);
	m->linear = m->net->family->fold_encoder &&
		m->net->family->fold_encoder(m->net, m->enc, &m->lin_w, &m->lin_b);
}

/*
 * A model table opened for reading with its primary key index, checked: no
 * row-level security (a loaded model serves every role of the backend: all
 * rows or none), the key (version, block, part).
 */
static Relation
OpenModelTable(Oid relid, const char *name, Relation *idx)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Oid			indexoid;

	if (rel->rd_rel->relrowsecurity)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" has row-level security, which model tables do not support", name),
				 errhint("Disable it with ALTER TABLE ... DISABLE ROW LEVEL SECURITY; grant or revoke SELECT on the model table instead.")));
	indexoid = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(indexoid))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" has lost its primary key (version, block, part)", name)));
	*idx = index_open(indexoid, AccessShareLock);
	if (!IndexIsPrimaryModelKey(*idx))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" has a primary key other than (version, block, part)", name)));
	return rel;
}

/*
 * Reads a version of a model (the deployed one when version < 0) into the
 * current memory context, uncached; NULL when no version is deployed.  A
 * backend reloads after every write to the model table while a scoring
 * query waits, so this reads the table through its primary key rather than
 * planning queries: the caller has checked SELECT on the table, and model
 * tables do not take row security.
 *
 * A model table is untrusted input: any role can make a table of the model
 * row type and hand it to a scoring function, and owners edit theirs.  So
 * the version is checked whole here, once per load, before anything scores
 * with it; whatever is inconsistent raises ERRCODE_DATA_CORRUPTED naming the
 * model, the version and the field or block at fault.
 */
RfModel *
StoreLoadVersion(Oid relid, const char *name, int32 version)
{
	RfModel    *m = palloc0(sizeof(RfModel));
	List	   *blocks = NIL;
	Relation	rel;
	Relation	idx;
	Snapshot	snap;
	bool		asked = version >= 0;
	MemoryContext mcxt = CurrentMemoryContext;
	MemoryContext bcxt = AllocSetContextCreate(mcxt, "reframe model blocks", ALLOCSET_DEFAULT_SIZES);

	m->relid = relid;
	m->name = pstrdup(name);
	m->readrelid = CitusLocalShard(relid, name);

	rel = OpenModelTable(m->readrelid, name, &idx);
	snap = RegisterSnapshot(ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot());
	if (!asked)
		version = DeployedVersionByIndex(rel, idx, snap);
	m->version = version;
	PG_TRY();
	{
		if (version >= 0)
			blocks = ReadVersionRows(m, rel, idx, snap, bcxt);
		if (version >= 0 && m->spec == NULL && asked)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" has no version %d", name, version)));
		if (version >= 0 && m->spec == NULL)
			SpecCorrupt("the version has no header row");
		if (version >= 0)
			ModelFromRows(m, blocks);
		/* the families keep copies of the blocks */
		MemoryContextDelete(bcxt);
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(mcxt);
		ed = CopyErrorData();
		if (ed->sqlerrcode != ERRCODE_DATA_CORRUPTED)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" version %d is corrupt: %s", name, version, ed->message),
				 ed->detail ? errdetail_internal("%s", ed->detail) : 0,
				 errhint("A model table holds what reframe.train wrote; retrain the model, deploy another version, or restore the table from a dump.")));
	}
	PG_END_TRY();
	UnregisterSnapshot(snap);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	return version < 0 ? NULL : m;
}

/* ---------- cache ---------- */

static void
StoreRelcacheCallback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	ModelCacheEntry *e;

	if (ModelCache == NULL)
		return;
	/* every version of this model (or of the model read from this Citus shard), or all */
	hash_seq_init(&status, ModelCache);
	while ((e = hash_seq_search(&status)) != NULL)
		if (e->model && (!OidIsValid(relid) || e->key.relid == relid || e->model->readrelid == relid))
			e->model->stale = true;
}

void
ReframeStoreInit(void)
{
	CacheRegisterRelcacheCallback(StoreRelcacheCallback, (Datum) 0);
}

static void
ReleaseModel(RfModel *m)
{
	m->orphan = true;
	if (m->refcount == 0)
		MemoryContextDelete(m->mcxt);
}

static void
UnpinModel(void *arg)
{
	RfModel    *m = arg;

	if (--m->refcount == 0 && m->orphan)
		MemoryContextDelete(m->mcxt);
}

/*
 * What a version is, as the statement sees it: a hash of the place and
 * inserting transaction of each of its rows.  Any write to a row (by
 * reframe or by hand, committed or not) moves it to a new place, so two
 * snapshots that agree on the stamp see the same rows; 0 when none.
 */
static uint64
VersionStamp(Relation rel, Relation idx, Snapshot snap, int32 version)
{
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	uint64		stamp = 0;

	ScanKeyInit(&key, MODEL_ROW_VERSION, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(version));
	scan = systable_beginscan_ordered(rel, idx, snap, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection)))
	{
		uint64		row = ((uint64) ItemPointerGetBlockNumber(&tup->t_self) << 16 |
						   ItemPointerGetOffsetNumber(&tup->t_self)) << 32 |
			HeapTupleHeaderGetRawXmin(tup->t_data);

		stamp = hash_bytes_extended((const unsigned char *) &row, sizeof(row), stamp) | 1;
	}
	systable_endscan_ordered(scan);
	return stamp;
}

/*
 * The version to share (version, or when it is 0 the one deployed as the
 * statement sees it; -1 when none is) and its stamp; *readrelid the table
 * read.  The model table is opened as a load opens it, and checked so.
 */
static int32
VersionToShare(Oid relid, const char *name, int32 version, Oid *readrelid, uint64 *stamp)
{
	Relation	rel;
	Relation	idx;
	Snapshot	snap;

	*readrelid = CitusLocalShard(relid, name);
	rel = OpenModelTable(*readrelid, name, &idx);
	snap = RegisterSnapshot(ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot());
	if (version <= 0)
		version = DeployedVersionByIndex(rel, idx, snap);
	*stamp = version > 0 ? VersionStamp(rel, idx, snap, version) : 0;
	UnregisterSnapshot(snap);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	return version;
}

/* The error of a model that has no deployed version. */
static void pg_attribute_noreturn()
NoDeployedVersion(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("model \"%s\" has no deployed version", name),
			 errhint("Deploy one with reframe.deploy('%s', version).", name)));
}

/*
 * A version of a model (the deployed one when version is 0) loaded into a
 * memory context of its own under CacheMemoryContext, deleted again on
 * error; an error when the model has no deployed version.  With a shared
 * cache, a copy of the shared model's header (shared_cache.c).
 */
static RfModel *
LoadIntoCache(Oid relid, const char *name, int32 version)
{
	int32		load = version > 0 ? version : -1;	/* -1: the deployed one */
	RfModel    *m;
	MemoryContext mcxt;
	MemoryContext old;

	if (SharedCacheEnabled())
	{
		Oid			readrelid;
		uint64		stamp;

		/* the version, resolved once for the shared cache and for this backend's own load */
		load = VersionToShare(relid, name, load, &readrelid, &stamp);
		if (load < 0)
			NoDeployedVersion(name);
		m = stamp ? SharedCacheModel(relid, readrelid, name, load, stamp, StoreLoadVersion) : NULL;
		if (m)
			return m;
	}
	mcxt = AllocSetContextCreate(CacheMemoryContext, "reframe model", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(mcxt);
	PG_TRY();
	{
		m = StoreLoadVersion(relid, name, load);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(mcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	if (m == NULL)
	{
		MemoryContextDelete(mcxt);
		NoDeployedVersion(name);
	}
	m->mcxt = mcxt;
	MemoryContextSetIdentifier(mcxt, m->name);
	return m;
}

/* Drops stale versions no query holds: a pinned version is not asked for again once replaced. */
static void
SweepStale(void)
{
	HASH_SEQ_STATUS status;
	ModelCacheEntry *e;

	hash_seq_init(&status, ModelCache);
	while ((e = hash_seq_search(&status)) != NULL)
		if (e->model && e->model->stale && e->model->refcount == 0)
		{
			ReleaseModel(e->model);
			hash_search(ModelCache, &e->key, HASH_REMOVE, NULL);
		}
}

/*
 * A version of a model (the deployed one when version is 0), loaded at most
 * once per backend while the model table is unchanged.  It stays pinned,
 * and so valid, until pin_mcxt goes away.
 */
RfModel *
StoreGetModel(Oid relid, const char *name, int32 version, MemoryContext pin_mcxt)
{
	ModelCacheKey key = {.relid = relid,.version = version};
	ModelCacheEntry *e;
	bool		found;
	RfModel    *m;
	MemoryContextCallback *cb;

	if (ModelCache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(ModelCacheKey);
		ctl.entrysize = sizeof(ModelCacheEntry);
		ModelCache = hash_create("reframe models", 16, &ctl, HASH_ELEM | HASH_BLOBS);
	}
	SweepStale();
	e = hash_search(ModelCache, &key, HASH_ENTER, &found);
	if (!found)
		e->model = NULL;
	if (e->model && e->model->stale)
	{
		ReleaseModel(e->model);
		e->model = NULL;
	}
	if (e->model == NULL)
	{
		m = LoadIntoCache(relid, name, version);
		e = hash_search(ModelCache, &key, HASH_ENTER, &found);
		e->model = m;
	}
	m = e->model;
	m->refcount++;
	cb = MemoryContextAlloc(pin_mcxt, sizeof(MemoryContextCallback));
	cb->func = UnpinModel;
	cb->arg = m;
	MemoryContextRegisterResetCallback(pin_mcxt, cb);
	return m;
}

/*
 * The version a statement scoring model relid pins (pin.c): the deployed
 * one when the model's table is a Citus reference table, read on every
 * node; 0 when there is nothing to pin (one node's table, or no version
 * deployed, which scoring will report).  *readrelid is the table the model
 * is read from.
 */
int32
StoreStatementVersion(Oid relid, const char *name, Oid *readrelid)
{
	ModelCacheKey key = {.relid = relid,.version = 0};
	ModelCacheEntry *e = ModelCache ? hash_search(ModelCache, &key, HASH_FIND, NULL) : NULL;
	RfModel    *m;

	if (e == NULL || e->model == NULL || e->model->stale)
	{
		if (!CitusIsReferenceTable(relid) || StoreDeployedVersion(relid) < 0)
			return 0;
	}
	m = StoreGetModel(relid, name, 0, CurrentMemoryContext);
	*readrelid = m->readrelid;
	return m->readrelid != m->relid ? m->version : 0;
}

/* Statement trigger on every model table: tell all backends it changed. */
PG_FUNCTION_INFO_V1(reframe_model_changed);
Datum
reframe_model_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("reframe.model_changed() must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}
