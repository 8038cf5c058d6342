/*
 * store.h
 *		Model tables, versions and the per-backend model cache.
 *
 * Every model is an ordinary table of type reframe.model_row, named by the
 * model.  A version is a header row (block '', with its spec and deployed
 * flag) plus one row per part of each parameter block.
 */
#ifndef REFRAME_STORE_H
#define REFRAME_STORE_H

#include "fmgr.h"
#include "nodes/primnodes.h"
#include "storage/lockdefs.h"
#include "utils/jsonb.h"

#include "encoder.h"
#include "family.h"

/* One term of a blend: weight * score(model, features, output). */
typedef struct RfBlendTerm
{
	char	   *model;
	char	   *output;			/* NULL: the model's default score */
	double		weight;
} RfBlendTerm;

typedef struct RfModel
{
	Oid			relid;
	Oid			readrelid;		/* the table read: relid, or its Citus shard here */
	int32		version;
	char	   *name;			/* as the user wrote it */
	char	   *task;
	Jsonb	   *spec;
	RfEncoder  *enc;
	RfTrunk    *net;			/* the family's trunk and the heads */

	/* a blend has terms instead of an encoder and a network */
	int			nterms;
	RfBlendTerm *terms;

	/*
	 * Families that can fold the encoder into a linear map (a linear model
	 * over numeric inputs): out = lin_w * raw + lin_b (nout x nraw), one
	 * pass per row.
	 */
	bool		linear;
	double	   *lin_w;
	double	   *lin_b;

	MemoryContext mcxt;
	int			refcount;
	bool		stale;			/* a newer deployment may exist */
	bool		orphan;			/* no longer in the cache; free at last unpin */
} RfModel;

/* Finds the model table for a name, or raises 42704 / 42809. */
extern Oid	StoreModelRelid(text *name, LOCKMODE lockmode, bool missing_ok);
extern Oid	StoreReadableModelRelid(text *name);
extern Oid	StoreModelRowType(void);
extern RangeVar *StoreNameToRangeVar(text *name);
extern Oid	StoreCreateModelTable(RangeVar *rv);
extern char *StoreQualifiedName(Oid relid);
extern char *StoreStoredName(text *name, Oid relid);
extern void StoreLockModelName(text *name);
/*
 * The transaction read-only while a source is read, between these two calls
 * (an error restores it too); a write's error says why.
 */
typedef struct RfSourceRead
{
	int			nest;			/* GUC nest level */
	ErrorContextCallback cb;
} RfSourceRead;
extern void StoreBeginSourceRead(RfSourceRead *r);
extern void StoreEndSourceRead(RfSourceRead *r);
/* The SQL of a source: a query as given, or SELECT * FROM a table or view. */
extern char *StoreSourceSql(text *source);

extern int32 StoreNextVersion(Oid relid);
extern void StoreWriteVersion(Oid relid, int32 version, const char *spec,
							  List *blocks, bool deployed);
extern int32 StoreDeployedVersion(Oid relid);
extern void StoreDeploy(Oid relid, int32 version);
extern double StoreVersionSelection(Oid relid, int32 version, bool *found);

/* For reframe.explain (score.c): the model, its encoded row and the output named. */
extern RfModel *ScoreEncodedRow(FunctionCallInfo fcinfo, const double **x, int *output,
								char **output_name);

/* A version (the deployed one when version < 0), uncached, in the current context. */
extern RfModel *StoreLoadVersion(Oid relid, const char *name, int32 version);

/*
 * A version (the deployed one when version is 0), cached per backend and
 * pinned until pin_mcxt is reset.
 */
extern RfModel *StoreGetModel(Oid relid, const char *name, int32 version, MemoryContext pin_mcxt);

/* A name without its "@version" suffix (*version 0 when it has none). */
extern text *StoreSplitVersion(text *name, int32 *version);

/* The readable model table a name resolves to, or InvalidOid; raises nothing. */
extern Oid	StoreFindReadableModel(text *name);

/* The version a statement pins on a Citus cluster, or 0 (pin.c). */
extern int32 StoreStatementVersion(Oid relid, const char *name, Oid *readrelid);

#endif
