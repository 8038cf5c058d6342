/*
 * shared_cache.c
 *		One copy of a loaded model for every backend.
 *
 * With reframe in shared_preload_libraries, reframe.model_cache_size
 * megabytes of the server's shared memory hold loaded models: a dynamic
 * shared memory area placed in the main segment, which every backend maps
 * at the same address (they are forked from the postmaster).  A model is
 * loaded there once, by the loader every backend uses, into a memory
 * context whose chunks come from that area (an arena): its pointers are
 * then valid in every backend, and a backend scores from it directly.
 * Each backend holds a model of its own that is a copy of the shared
 * model's header (its name, reference count and memory context are the
 * backend's), pinning the shared copy until it lets go.
 *
 * A copy is keyed by database, model table, version and the version's
 * stamp: a hash of the place and inserting transaction of each of its
 * rows, as the looking backend's snapshot sees them (store.c).  Any write
 * to a version's rows, by reframe or by hand, puts them in new places, so
 * a backend takes a copy only if its snapshot sees exactly the rows the
 * copy was loaded from, whenever and by whom they were written: a copy
 * loaded before a write is never taken by a snapshot after it, nor one
 * loaded from rows a transaction wrote and rolled back.  Copies nothing
 * matches any more are evicted in their turn.
 *
 * When the area is full, the least recently used copies no backend holds
 * are evicted (a backend lets go of a copy once its model table changes).  A model of more
 * than half the area, one that does not fit beside the copies held, or
 * one whose load left something outside the arena, is loaded again by the
 * backend for itself, in its own memory: no shared memory is held for one
 * backend, so none is lost when it exits.
 * Without preloading, every backend loads its own models, as before.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/memnodes.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/dsa.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "reframe.h"
#include "shared_cache.h"

#define CACHE_ENTRIES 256
#define ARENA_BLOCK (256 * 1024)

int			reframe_model_cache_size = 128;

typedef struct CacheEntry
{
	uint64		id;				/* this use of the slot; 0: free */
	Oid			dbid;			/* table OIDs are a database's own */
	Oid			relid;
	Oid			readrelid;
	int32		version;
	uint64		stamp;			/* the version's rows as the load saw them (VersionStamp) */
	RfModel    *model;			/* in the area */
	MemoryContext cxt;			/* its arena */
	Size		bytes;
	int			pins;			/* backends' copies of the header */
	uint64		last_used;
} CacheEntry;

typedef struct CacheShared
{
	LWLock	   *lock;
	int			area_tranche;
	Size		area_size;
	uint64		next_id;
	uint64		clock;
	CacheEntry	entries[CACHE_ENTRIES];
} CacheShared;

static CacheShared *Cache = NULL;
static void *AreaPlace = NULL;
static dsa_area *Area = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* The arena a load of this backend is filling (freed if the backend exits meanwhile). */
static MemoryContext Loading = NULL;

/* This backend's pins, by slot (released at exit). */
static int	LocalPins[CACHE_ENTRIES];
static uint64 LocalIds[CACHE_ENTRIES];


/* ---------- the arena: a memory context in the area ---------- */

typedef struct ArenaBlock
{
	struct ArenaBlock *next;
	dsa_pointer dp;				/* InvalidDsaPointer: malloc'd here (not shareable) */
	Size		size;
} ArenaBlock;

typedef struct Arena
{
	MemoryContextData header;
	dsa_pointer self;
	ArenaBlock *blocks;
	char	   *free;
	char	   *end;
	Size		total;
	bool		spilled;		/* a block had to come from this backend's memory */
} Arena;

typedef struct ArenaChunk
{
	Size		size;
	MemoryContext cxt;			/* just before the chunk, as palloc requires */
} ArenaChunk;

#define CHUNK_HDR MAXALIGN(sizeof(ArenaChunk))
#define BLOCK_HDR MAXALIGN(sizeof(ArenaBlock))

static void Evict(Size need);

/* Memory of the area, or of this backend when the area has none even after evicting. */
static ArenaBlock *
ArenaNewBlock(Arena *a, Size size)
{
	/* a model of more than half the cache is not worth evicting the rest for */
	bool		fits = !a->spilled && a->total + size <= Cache->area_size / 2;
	dsa_pointer dp = fits ? dsa_allocate_extended(Area, size, DSA_ALLOC_NO_OOM | DSA_ALLOC_HUGE) :
		InvalidDsaPointer;
	ArenaBlock *b;

	if (fits && !DsaPointerIsValid(dp))
	{
		Evict(size);
		dp = dsa_allocate_extended(Area, size, DSA_ALLOC_NO_OOM | DSA_ALLOC_HUGE);
	}
	if (DsaPointerIsValid(dp))
		b = dsa_get_address(Area, dp);
	else
	{
		b = malloc(size);
		if (b == NULL)
			return NULL;
		a->spilled = true;
	}
	b->dp = dp;
	b->size = size;
	b->next = a->blocks;
	a->blocks = b;
	a->total += size;
	a->header.mem_allocated += size;
	return b;
}

static void *
ArenaAlloc(MemoryContext cxt, Size size)
{
	Arena	   *a = (Arena *) cxt;
	Size		need = CHUNK_HDR + MAXALIGN(size);
	ArenaChunk *c;

	if (need > (Size) (a->end - a->free))
	{
		bool		own = need > ARENA_BLOCK / 4;
		ArenaBlock *b = ArenaNewBlock(a, own ? BLOCK_HDR + need : ARENA_BLOCK);

		if (b == NULL)
			return NULL;
		if (own)
			c = (ArenaChunk *) ((char *) b + BLOCK_HDR);
		else
		{
			a->free = (char *) b + BLOCK_HDR;
			a->end = (char *) b + ARENA_BLOCK;
			c = (ArenaChunk *) a->free;
			a->free += need;
		}
	}
	else
	{
		c = (ArenaChunk *) a->free;
		a->free += need;
	}
	c->size = MAXALIGN(size);
	c->cxt = cxt;
	return (char *) c + CHUNK_HDR;
}

static void
ArenaFree(MemoryContext cxt, void *p)
{
	/* freed with the arena */
}

static void *
ArenaRealloc(MemoryContext cxt, void *p, Size size)
{
	ArenaChunk *c = (ArenaChunk *) ((char *) p - CHUNK_HDR);
	void	   *q;

	if (size <= c->size)
		return p;
	q = ArenaAlloc(cxt, size);
	if (q)
		memcpy(q, p, c->size);
	return q;
}

static void
ArenaReset(MemoryContext cxt)
{
	Arena	   *a = (Arena *) cxt;

	while (a->blocks)
	{
		ArenaBlock *b = a->blocks;

		a->blocks = b->next;
		if (DsaPointerIsValid(b->dp))
			dsa_free(Area, b->dp);
		else
			free(b);
	}
	a->free = a->end = NULL;
	a->total = 0;
	a->header.mem_allocated = 0;
}

static void
ArenaDelete(MemoryContext cxt)
{
	ArenaReset(cxt);
	dsa_free(Area, ((Arena *) cxt)->self);
}

static Size
ArenaChunkSpace(MemoryContext cxt, void *p)
{
	return ((ArenaChunk *) ((char *) p - CHUNK_HDR))->size + CHUNK_HDR;
}

static bool
ArenaIsEmpty(MemoryContext cxt)
{
	return ((Arena *) cxt)->total == 0;
}

static void
ArenaStats(MemoryContext cxt, MemoryStatsPrintFunc printfunc, void *passthru,
		   MemoryContextCounters *totals, bool print_to_stderr)
{
	Arena	   *a = (Arena *) cxt;

	if (printfunc)
	{
		char		stats[100];

		snprintf(stats, sizeof(stats), "%zu total in shared memory", a->total);
		printfunc(cxt, passthru, stats, print_to_stderr);
	}
	if (totals)
		totals->totalspace += a->total;
}

#ifdef MEMORY_CONTEXT_CHECKING
static void
ArenaCheck(MemoryContext cxt)
{
}
#endif

static const MemoryContextMethods ArenaMethods = {
	ArenaAlloc, ArenaFree, ArenaRealloc, ArenaReset, ArenaDelete, ArenaChunkSpace, ArenaIsEmpty,
	ArenaStats
#ifdef MEMORY_CONTEXT_CHECKING
	,ArenaCheck
#endif
};

/* A new arena in the area, or NULL when the area cannot hold even that. */
static MemoryContext
ArenaCreate(void)
{
	dsa_pointer dp = dsa_allocate_extended(Area, sizeof(Arena), DSA_ALLOC_NO_OOM | DSA_ALLOC_ZERO);
	Arena	   *a;

	if (!DsaPointerIsValid(dp))
	{
		Evict(sizeof(Arena));
		dp = dsa_allocate_extended(Area, sizeof(Arena), DSA_ALLOC_NO_OOM | DSA_ALLOC_ZERO);
	}
	if (!DsaPointerIsValid(dp))
		return NULL;
	a = dsa_get_address(Area, dp);
	a->self = dp;
	/* no parent: the context is shared, and no backend's tree may point at it */
	MemoryContextCreate(&a->header, T_GenerationContext, &ArenaMethods, NULL, "reframe shared model");
	return &a->header;
}

/* Whether everything a load left in the arena is the arena's (and so readable by every backend). */
static bool
ArenaShareable(MemoryContext cxt)
{
	return !((Arena *) cxt)->spilled && cxt->firstchild == NULL && cxt->reset_cbs == NULL;
}

/* ---------- shared memory ---------- */

static Size
CacheBytes(void)
{
	return MAXALIGN(sizeof(CacheShared)) + (Size) reframe_model_cache_size * 1024 * 1024;
}

static void
CacheRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(CacheBytes());
	RequestNamedLWLockTranche("reframe_model_cache", 1);
}

static void
CacheStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	Cache = ShmemInitStruct("reframe model cache", CacheBytes(), &found);
	AreaPlace = (char *) Cache + MAXALIGN(sizeof(CacheShared));
	if (!found)
	{
		dsa_area   *area;

		memset(Cache, 0, sizeof(CacheShared));
		Cache->lock = &(GetNamedLWLockTranche("reframe_model_cache"))->lock;
		Cache->area_tranche = LWLockNewTrancheId();
		Cache->area_size = (Size) reframe_model_cache_size * 1024 * 1024;
		Cache->next_id = 1;
		area = dsa_create_in_place(AreaPlace, Cache->area_size, Cache->area_tranche, NULL);
		dsa_set_size_limit(area, Cache->area_size);
		dsa_pin(area);
		dsa_detach(area);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
SharedCacheInit(void)
{
	/* a setting of the server's start: there is none when reframe loads later */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("reframe.model_cache_size",
							"Shared memory for loaded models, shared by every backend.",
							"Needs reframe in shared_preload_libraries; 0 keeps a copy per backend.",
							&reframe_model_cache_size,
							128, 0, 64 * 1024,
							PGC_POSTMASTER, GUC_UNIT_MB,
							NULL, NULL, NULL);
	if (reframe_model_cache_size == 0 || dsa_minimum_size() > (Size) reframe_model_cache_size * 1024 * 1024)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = CacheRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = CacheStartup;
}

/* Gives back this backend's pins as it exits. */
static void
CacheExit(int code, Datum arg)
{
	if (Loading)
		MemoryContextDelete(Loading);
	if (!LWLockHeldByMe(Cache->lock))
		LWLockAcquire(Cache->lock, LW_EXCLUSIVE);
	for (int i = 0; i < CACHE_ENTRIES; i++)
		if (LocalPins[i] > 0 && Cache->entries[i].id == LocalIds[i])
			Cache->entries[i].pins -= LocalPins[i];
	LWLockRelease(Cache->lock);
	memset(LocalPins, 0, sizeof(LocalPins));
}

bool
SharedCacheEnabled(void)
{
	if (Cache == NULL)
		return false;
	if (Area == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		LWLockRegisterTranche(Cache->area_tranche, "reframe_model_cache_area");
		Area = dsa_attach_in_place(AreaPlace, NULL);
		dsa_pin_mapping(Area);
		before_shmem_exit(CacheExit, (Datum) 0);
		MemoryContextSwitchTo(old);
	}
	return true;
}

/* ---------- entries ---------- */

/* Frees an entry's copy (the lock held exclusively; no backend holds it). */
static void
EntryFree(CacheEntry *e)
{
	MemoryContextDelete(e->cxt);
	memset(e, 0, sizeof(*e));
}

/* Evicts the least recently used copies until about need bytes are free (or none is left). */
static void
Evict(Size need)
{
	Size		freed = 0;

	LWLockAcquire(Cache->lock, LW_EXCLUSIVE);
	while (freed < need + ARENA_BLOCK)
	{
		CacheEntry *lru = NULL;

		for (int i = 0; i < CACHE_ENTRIES; i++)
		{
			CacheEntry *e = &Cache->entries[i];

			if (e->id != 0 && e->pins == 0 && (lru == NULL || e->last_used < lru->last_used))
				lru = e;
		}
		if (lru == NULL)
			break;				/* every copy left is held by a backend */
		freed += lru->bytes;
		EntryFree(lru);
	}
	LWLockRelease(Cache->lock);
}

/* Gives back a pin of this backend (a copy's context is deleted). */
static void
Unpin(void *arg)
{
	int			slot = (int) (intptr_t) arg;

	LWLockAcquire(Cache->lock, LW_EXCLUSIVE);
	if (LocalPins[slot] > 0 && Cache->entries[slot].id == LocalIds[slot])
	{
		CacheEntry *e = &Cache->entries[slot];

		LocalPins[slot]--;
		e->pins--;
	}
	LWLockRelease(Cache->lock);
}

/* This backend's model over entry slot (pinned by the caller): a copy of the header. */
static RfModel *
Shell(int slot, const char *name)
{
	CacheEntry *e = &Cache->entries[slot];
	MemoryContext cxt = AllocSetContextCreate(CacheMemoryContext, "reframe model (shared)",
											  ALLOCSET_SMALL_SIZES);
	MemoryContextCallback *cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	RfModel    *m = MemoryContextAlloc(cxt, sizeof(RfModel));

	memcpy(m, e->model, sizeof(RfModel));
	m->name = MemoryContextStrdup(cxt, name);
	m->mcxt = cxt;
	m->refcount = 0;
	m->stale = m->orphan = false;
	LocalPins[slot]++;
	LocalIds[slot] = e->id;
	cb->func = Unpin;
	cb->arg = (void *) (intptr_t) slot;
	MemoryContextRegisterResetCallback(cxt, cb);
	MemoryContextSetIdentifier(cxt, m->name);
	return m;
}

/* The live entry of this version's rows as this snapshot sees them, pinned; or -1. */
static int
Lookup(Oid relid, Oid readrelid, int32 version, uint64 stamp)
{
	int			found = -1;

	LWLockAcquire(Cache->lock, LW_EXCLUSIVE);
	for (int i = 0; i < CACHE_ENTRIES && found < 0; i++)
	{
		CacheEntry *e = &Cache->entries[i];

		if (e->id == 0 || e->dbid != MyDatabaseId || e->relid != relid ||
			e->readrelid != readrelid || e->version != version || e->stamp != stamp)
			continue;
		e->pins++;
		e->last_used = ++Cache->clock;
		found = i;
	}
	LWLockRelease(Cache->lock);
	return found;
}

/*
 * Shares a loaded model: a free slot (evicting the least recently used
 * entry if none), pinned; or -1 when another backend shared the same rows
 * meanwhile.
 */
static int
Insert(Oid relid, Oid readrelid, int32 version, uint64 stamp, RfModel *m, MemoryContext cxt)
{
	int			slot = -1;

	LWLockAcquire(Cache->lock, LW_EXCLUSIVE);
	{
		CacheEntry *lru = NULL;

		for (int i = 0; i < CACHE_ENTRIES; i++)
		{
			CacheEntry *e = &Cache->entries[i];

			if (e->id != 0 && e->dbid == MyDatabaseId && e->relid == relid &&
				e->readrelid == readrelid && e->version == version && e->stamp == stamp)
			{
				slot = -2;		/* shared meanwhile */
				break;
			}
			if (e->id == 0 && slot == -1)
				slot = i;
			if (e->id != 0 && e->pins == 0 && (lru == NULL || e->last_used < lru->last_used))
				lru = e;
		}
		if (slot == -1 && lru)
		{
			slot = lru - Cache->entries;
			EntryFree(lru);
		}
	}
	if (slot >= 0)
	{
		CacheEntry *e = &Cache->entries[slot];

		e->id = Cache->next_id++;
		e->dbid = MyDatabaseId;
		e->relid = relid;
		e->readrelid = readrelid;
		e->version = version;
		e->stamp = stamp;
		e->model = m;
		e->cxt = cxt;
		e->bytes = ((Arena *) cxt)->total;
		e->pins = 1;
		e->last_used = ++Cache->clock;
	}
	LWLockRelease(Cache->lock);
	return slot;
}

/* Whether this backend found (relid, version) too large to share: loaded for itself since. */
static bool
TooLarge(Oid relid, int32 version, bool remember)
{
	static Oid	relids[16];
	static int32 versions[16];
	static int	next = 0;

	for (int i = 0; i < lengthof(relids); i++)
		if (relids[i] == relid && versions[i] == version && OidIsValid(relid))
			return true;
	if (remember)
	{
		relids[next] = relid;
		versions[next] = version;
		next = (next + 1) % lengthof(relids);
	}
	return false;
}

RfModel *
SharedCacheModel(Oid relid, Oid readrelid, const char *name, int32 version, uint64 stamp,
				 SharedCacheLoader load)
{
	int			slot;
	MemoryContext old;
	RfModel    *m;

	/* a session's temporary table is its own */
	if (!SharedCacheEnabled() || get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		return NULL;
	slot = Lookup(relid, readrelid, version, stamp);
	if (slot >= 0)
		return Shell(slot, name);
	if (TooLarge(relid, version, false))
		return NULL;
	Loading = ArenaCreate();
	if (Loading == NULL)
		return NULL;
	old = MemoryContextSwitchTo(Loading);
	PG_TRY();
	{
		m = load(relid, name, version);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(Loading);
		Loading = NULL;
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	m->mcxt = Loading;
	if (((Arena *) Loading)->spilled)
		TooLarge(relid, version, true);
	if (m->readrelid == readrelid && ArenaShareable(Loading) &&
		(slot = Insert(relid, readrelid, version, stamp, m, Loading)) >= 0)
	{
		Loading = NULL;
		return Shell(slot, name);
	}

	/*
	 * Not to be shared (too large, or shared by another backend meanwhile):
	 * no shared memory is kept for one backend.
	 */
	MemoryContextDelete(Loading);
	Loading = NULL;
	slot = Lookup(relid, readrelid, version, stamp);
	return slot >= 0 ? Shell(slot, name) : NULL;
}

/* ---------- reframe.model_cache() ---------- */

/*
 * reframe.model_cache(): this database's versions in shared memory, one
 * row each: the model table, version, bytes, and how many backends hold
 * it.  No row without a shared cache.
 */
PG_FUNCTION_INFO_V1(reframe_model_cache);
Datum
reframe_model_cache(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (!SharedCacheEnabled())
		return (Datum) 0;
	LWLockAcquire(Cache->lock, LW_SHARED);
	for (int i = 0; i < CACHE_ENTRIES; i++)
	{
		CacheEntry *e = &Cache->entries[i];
		Datum		values[4];
		bool		nulls[4] = {0};

		if (e->id == 0 || e->dbid != MyDatabaseId)
			continue;
		values[0] = ObjectIdGetDatum(e->relid);
		values[1] = Int32GetDatum(e->version);
		values[2] = Int64GetDatum((int64) e->bytes);
		values[3] = Int32GetDatum(e->pins);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(Cache->lock);
	return (Datum) 0;
}
