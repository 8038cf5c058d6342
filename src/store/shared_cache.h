/*
 * shared_cache.h
 *		One copy of a loaded model for every backend (shared_cache.c).
 */
#ifndef REFRAME_SHARED_CACHE_H
#define REFRAME_SHARED_CACHE_H

#include "store.h"

/* reframe.model_cache_size: megabytes of shared memory for models (0: none). */
extern int	reframe_model_cache_size;

/* In _PG_init: when preloading, the setting and the shared memory. */
extern void SharedCacheInit(void);

/* Whether models are shared here: reframe preloaded with a cache size. */
extern bool SharedCacheEnabled(void);

/* Loads a version into the current memory context (StoreLoadVersion). */
typedef RfModel *(*SharedCacheLoader) (Oid relid, const char *name, int32 version);

/*
 * Version `version` of the model in table relid (read from readrelid),
 * whose rows the statement sees as stamp (a hash of their places and
 * inserting transactions), from the shared cache: a model of its own whose
 * parts are the shared copy's, in a memory context of its own (m->mcxt)
 * that holds the copy until deleted.  On a miss it is loaded by load into
 * shared memory and shared.  NULL when it is not to be shared (a temporary
 * table, too large): the caller loads it for itself.
 */
extern RfModel *SharedCacheModel(Oid relid, Oid readrelid, const char *name, int32 version, uint64 stamp,
								 SharedCacheLoader load);

#endif
