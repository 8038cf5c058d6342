/*
 * citus.h
 *		Model tables on a Citus cluster: reference tables, read locally.
 */
#ifndef REFRAME_CITUS_H
#define REFRAME_CITUS_H

#include "nodes/pg_list.h"

/* Whether the Citus extension is in this database. */
extern bool CitusInstalled(void);
/* Whether Citus is installed here and relid is one of its reference tables. */
extern bool CitusIsReferenceTable(Oid relid);

/*
 * The table holding relid's rows on this node: relid itself, or the local
 * shard of a Citus reference table (an error naming the model when this
 * node has no copy).
 */
extern Oid	CitusLocalShard(Oid relid, const char *model);

/*
 * Refuses, before the table is made, a model Citus could not keep: one in a
 * distributed schema, or named as one of its shards.
 */
extern void CitusCheckModelName(Oid nsp, const char *relname, const char *qname);

/*
 * Makes a new model table a reference table when this node is a Citus
 * coordinator with workers; does nothing otherwise.
 */
extern void CitusReplicateModelTable(const char *qname);

/* Whether this node is a Citus cluster's worker (whose coordinator is in its metadata). */
extern bool CitusIsWorker(void);

/* Whether one of these relations is a Citus distributed (sharded) table. */
extern bool CitusReadsDistributedTable(List *relids);

#endif
