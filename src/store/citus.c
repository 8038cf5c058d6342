/*
 * citus.c
 *		Model tables on a Citus cluster.
 *
 * reframe does not link against Citus: it asks Citus's catalogs and
 * functions through SPI, and only when the extension is installed in the
 * database.  A model table created on a coordinator that has workers
 * becomes a reference table, so that scoring runs where the rows are: each
 * worker reads the model from its own copy (the reference table's local
 * shard), and the statement trigger, created on every shard, invalidates
 * the model in the backends of the node whose copy changed.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "citus.h"

bool
CitusInstalled(void)
{
	return OidIsValid(get_extension_oid("citus", true));
}

/*
 * The first value of a query with an optional oid parameter ($1 when arg is
 * valid), or NULL when it returns no row.
 */
static Datum
QueryWithOid(const char *sql, Oid arg, bool *isnull)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(arg)};
	Datum		result = (Datum) 0;

	*isnull = true;
	SPI_connect();
	if (SPI_execute_with_args(sql, OidIsValid(arg) ? 1 : 0, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reframe: query failed: %s", sql);
	if (SPI_processed > 0)
		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
	SPI_finish();
	return result;				/* by value: an oid or a bool */
}

bool
CitusIsReferenceTable(Oid relid)
{
	bool		isnull;
	Datum		d;

	if (!CitusInstalled())
		return false;
	d = QueryWithOid("SELECT true FROM pg_catalog.pg_dist_partition"
					 " WHERE logicalrelid = $1 AND partmethod = 'n' AND repmodel = 't'",
					 relid, &isnull);
	return !isnull && DatumGetBool(d);
}

Oid
CitusLocalShard(Oid relid, const char *model)
{
	bool		isnull;
	Datum		d;

	if (!CitusIsReferenceTable(relid))
		return relid;
	d = QueryWithOid("SELECT to_regclass(pg_catalog.shard_name(logicalrelid, shardid))::oid"
					 " FROM pg_catalog.pg_dist_shard WHERE logicalrelid = $1",
					 relid, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" is a Citus reference table without a copy on this node", model),
				 errhint("Add this node to the cluster's metadata (citus_set_coordinator_host on a coordinator), then SELECT replicate_reference_tables().")));
	return DatumGetObjectId(d);
}

bool
CitusIsWorker(void)
{
	bool		isnull;
	Datum		d;

	if (!CitusInstalled())
		return false;
	d = QueryWithOid("SELECT NOT pg_catalog.citus_is_coordinator() AND EXISTS"
					 " (SELECT 1 FROM pg_catalog.pg_dist_node WHERE groupid = 0)", InvalidOid, &isnull);
	return !isnull && DatumGetBool(d);
}

/* The first value of a query with a text parameter $1, or NULL when it returns no row. */
static char *
QueryWithText(const char *sql, const char *arg)
{
	char	   *result = NULL;

	SPI_connect();
	if (SPI_execute_with_args(sql, 1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(arg)},
							  NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reframe: query failed: %s", sql);
	if (SPI_processed > 0)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		result = v ? MemoryContextStrdup(TopTransactionContext, v) : NULL;
	}
	SPI_finish();
	return result;
}

void
CitusCheckModelName(Oid nsp, const char *relname, const char *qname)
{
	bool		isnull;
	Datum		d;
	char	   *shard_of;

	if (!CitusInstalled())
		return;
	d = QueryWithOid("SELECT to_regclass('pg_catalog.pg_dist_schema') IS NOT NULL AND EXISTS"
					 " (SELECT 1 FROM pg_catalog.pg_dist_schema WHERE schemaid = $1)", nsp, &isnull);
	if (!isnull && DatumGetBool(d))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model %s cannot be made in a Citus distributed schema", qname),
				 errdetail("A model is a reference table, on every node; a distributed schema holds one tenant's tables, on one node."),
				 errhint("Train it in a regular schema, e.g. public.%s.", quote_identifier(relname))));
	shard_of = QueryWithText("SELECT s.logicalrelid::regclass::text FROM pg_catalog.pg_dist_shard s"
							 " WHERE $1 ~ '_[0-9]{1,18}$' AND s.shardid = substring($1 from '_([0-9]+)$')::bigint"
							 " AND $1 = (SELECT relname FROM pg_catalog.pg_class WHERE oid = s.logicalrelid)"
							 " || '_' || s.shardid", relname);
	if (shard_of)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("model name %s is the name of a shard of Citus table %s", qname, shard_of),
				 errhint("Name the model otherwise.")));
}

void
CitusReplicateModelTable(const char *qname)
{
	int			nestlevel;
	bool		isnull;
	Datum		d;

	if (!CitusInstalled())
		return;
	/* a worker of a cluster would make a model only it has */
	if (CitusIsWorker())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model table %s would be made on a Citus worker, where only this node would have it", qname),
				 errhint("Train on the coordinator: its model tables are reference tables, replicated to every node.")));
	d = QueryWithOid("SELECT pg_catalog.citus_is_coordinator() AND EXISTS"
					 " (SELECT 1 FROM pg_catalog.pg_dist_node WHERE groupid <> 0 AND noderole = 'primary'"
					 ")", InvalidOid, &isnull);
	if (isnull || !DatumGetBool(d))
		return;

	/*
	 * Citus refuses tables with triggers unless told the trigger is wanted;
	 * ours only sends an invalidation, on each node for its own copy.
	 */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("citus.enable_unsafe_triggers", "on", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	SPI_connect();
	if (SPI_execute_with_args("SELECT pg_catalog.create_reference_table($1::regclass)", 1,
							  (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(qname)},
							  NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "reframe: could not make %s a Citus reference table", qname);
	SPI_finish();
	AtEOXact_GUC(true, nestlevel);
}

bool
CitusReadsDistributedTable(List *relids)
{
	ListCell   *lc;

	if (!CitusInstalled())
		return false;
	foreach(lc, relids)
	{
		bool		isnull;
		Datum		d = QueryWithOid("SELECT true FROM pg_catalog.pg_dist_partition"
									 " WHERE logicalrelid = $1 AND partmethod <> 'n'",
									 lfirst_oid(lc), &isnull);

		if (!isnull && DatumGetBool(d))
			return true;
	}
	return false;
}
