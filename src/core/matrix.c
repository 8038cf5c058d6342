/*
 * matrix.c
 *		Chunked row-major matrices for training data.
 *
 * Chunks are mapped directly rather than palloc'd: training touches
 * hundreds of megabytes of fresh memory, and faulting it in 4 kB page by
 * page costs several times more than the scan that fills it (on virtual
 * machines most of all).  So chunks are carved from slabs of 32 MB aligned
 * to 2 MB and advised as transparent huge pages, and each chunk is
 * populated (written in by the kernel, 2 MB at a time) when it is carved:
 * reading 1M x 32 floats costs about half as much as with 4 kB pages
 * populated by MAP_POPULATE.  The mappings belong to the memory context the
 * matrix was created in: a reset callback unmaps whatever is left when
 * that context goes away, error or not.
 */
#include "postgres.h"

#include <sys/mman.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "reframe.h"
#include "matrix.h"

#define SLAB_BYTES ((Size) 32 * 1024 * 1024)
#define HUGE_PAGE_BYTES ((Size) 2 * 1024 * 1024)
/*
 * Arrays from this size are mapped in a huge page or more: a 4 kB fault
 * costs ~20 us in a virtual machine, 128 of them more than populating 2 MB
 */
#define MAP_MIN_BYTES ((Size) 512 * 1024)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14 */
#endif

static Size
ChunkBytes(const RfMatrix *m)
{
	return (Size) RF_CHUNK_ROWS * Max(m->ncols, 1) * m->elemsize;
}

static void
ChunkUnmap(RfMatrix *m, int c)
{
	if (m->chunks[c] == NULL)
		return;
	munmap(m->chunks[c], ChunkBytes(m));
	m->chunks[c] = NULL;
	if (m->budget)
		RfBudgetRelease(m->budget, ChunkBytes(m));
}

/* Unmaps the part of the current slab no chunk was carved from. */
static void
SlabReleaseTail(RfMatrix *m)
{
	if (m->slab_left > 0)
		munmap(m->slab_next, m->slab_left);
	m->slab_next = NULL;
	m->slab_left = 0;
}

/* Has the kernel put memory behind fresh pages, in one call rather than a fault per page. */
static void
Populate(void *p, Size bytes)
{
	/* where the kernel cannot populate, the first writes fault pages in */
	(void) madvise(p, bytes, MADV_POPULATE_WRITE);
}

/* len (a multiple of 2 MB) fresh bytes aligned to 2 MB and advised as huge pages. */
static char *
HugeMap(Size len)
{
	char	   *p = mmap(NULL, len + HUGE_PAGE_BYTES, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char	   *a;

	if (p == MAP_FAILED)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed to map %zu bytes for training data.", len)));
	a = (char *) TYPEALIGN(HUGE_PAGE_BYTES, p);
	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + len + HUGE_PAGE_BYTES - (a + len));
	(void) madvise(a, len, MADV_HUGEPAGE);
	return a;
}

/*
 * A new chunk of bytes, carved from the current slab (or a new one) and
 * populated.
 */
static char *
ChunkMap(RfMatrix *m, Size bytes)
{
	char	   *c;

	if (m->slab_left < bytes)
	{
		Size		len = Max(SLAB_BYTES, TYPEALIGN(HUGE_PAGE_BYTES, bytes));
		char	   *a = HugeMap(len);

		SlabReleaseTail(m);
		m->slab_next = a;
		m->slab_left = len;
	}
	c = m->slab_next;
	m->slab_next += bytes;
	m->slab_left -= bytes;
	Populate(c, bytes);
	return c;
}

/* Unmaps every chunk when the matrix's memory context is reset or deleted. */
static void
MatrixRelease(void *arg)
{
	RfMatrix   *m = arg;

	for (int c = 0; c < m->nchunks; c++)
		ChunkUnmap(m, c);
	SlabReleaseTail(m);
	m->nchunks = 0;
	m->nrows = 0;
}

RfMatrix *
RfMatrixCreate(int ncols, int elemsize, RfBudget *budget)
{
	RfMatrix   *m = palloc0(sizeof(RfMatrix));
	MemoryContextCallback *cb = palloc(sizeof(MemoryContextCallback));

	m->ncols = ncols;
	m->elemsize = elemsize;
	m->maxchunks = 16;
	m->chunks = palloc(sizeof(char *) * m->maxchunks);
	m->mcxt = CurrentMemoryContext;
	m->budget = budget;
	cb->func = MatrixRelease;
	cb->arg = m;
	MemoryContextRegisterResetCallback(m->mcxt, cb);
	return m;
}

Size
RfMatrixBytes(const RfMatrix *m)
{
	return (Size) m->nchunks * ChunkBytes(m);
}

/* Counts bytes more against the budget, or fails before they are taken. */
void
RfBudgetCharge(RfBudget *budget, Size bytes, const char *what)
{
	Size		limit = (Size) reframe_max_train_memory * 1024;

	if (budget->used + bytes > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s needs more than reframe.max_train_memory (%zu MB)",
						what, limit / (1024 * 1024)),
				 errdetail("The training data already takes %zu MB.",
						   budget->used / (1024 * 1024)),
				 errhint("Train on a sample (option \"sample\": a fraction, or a number of rows), raise reframe.max_train_memory, or select fewer features; a linear model on numeric features can also train by streaming passes (\"streaming\": true).")));
	budget->used += bytes;
	budget->peak = Max(budget->peak, budget->used);
}

void
RfBudgetRelease(RfBudget *budget, Size bytes)
{
	budget->used -= Min(bytes, budget->used);
}

/* Returns a pointer to a new, uninitialised last row. */
void *
RfMatrixAppend(RfMatrix *m)
{
	int64		i = m->nrows;

	if (i % RF_CHUNK_ROWS == 0 && i / RF_CHUNK_ROWS == m->nchunks)
	{
		Size		bytes = ChunkBytes(m);
		void	   *p;

		if (m->budget)
			RfBudgetCharge(m->budget, bytes, "training");
		if (m->nchunks == m->maxchunks)
		{
			m->maxchunks *= 2;
			m->chunks = repalloc_huge(m->chunks, sizeof(char *) * m->maxchunks);
		}
		p = ChunkMap(m, bytes);
		m->chunks[m->nchunks++] = p;
	}
	m->nrows++;
	return RfMatrixRowPtr(m, i);
}

/* Forgets the last row (its chunk is reused by the next append). */
void
RfMatrixDropLastRow(RfMatrix *m)
{
	Assert(m->nrows > 0);
	m->nrows--;
}

/* Returns chunk c's memory to the system; its rows must no longer be read. */
void
RfMatrixFreeChunk(RfMatrix *m, int c)
{
	ChunkUnmap(m, c);
}

/* Keeps the first nrows rows and frees the chunks no longer needed. */
void
RfMatrixTruncate(RfMatrix *m, int64 nrows)
{
	int			keep = (int) ((nrows + RF_CHUNK_ROWS - 1) / RF_CHUNK_ROWS);

	Assert(nrows <= m->nrows);
	while (m->nchunks > keep)
		ChunkUnmap(m, --m->nchunks);
	m->nrows = nrows;
}

struct RfMapped
{
	char	   *p;
	Size		len;
};

static void
MappedRelease(void *arg)
{
	RfMapped   *m = arg;

	if (m->p)
		munmap(m->p, m->len);
	m->p = NULL;
}

/* size bytes mapped in populated huge pages, unmapped with the current context. */
static RfMapped *
MapArray(Size size)
{
	RfMapped   *m = palloc(sizeof(RfMapped));
	MemoryContextCallback *cb = palloc(sizeof(MemoryContextCallback));

	/* what could fail is done: the mapping is released with the context */
	m->len = TYPEALIGN(HUGE_PAGE_BYTES, Max(size, 1));
	m->p = HugeMap(m->len);
	cb->func = MappedRelease;
	cb->arg = m;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	Populate(m->p, m->len);
	return m;
}

/*
 * A context of another kind than AllocSet (a model's arena in shared
 * memory, shared_cache.c) keeps large arrays itself: a mapping would be
 * this process's alone.
 */
void *
RfAllocLarge(Size size, RfMapped **m)
{
	*m = size >= MAP_MIN_BYTES && IsA(CurrentMemoryContext, AllocSetContext) ? MapArray(size) : NULL;
	return *m ? (*m)->p : MemoryContextAllocHuge(CurrentMemoryContext, Max(size, 1));
}

void
RfFreeLarge(void *p, RfMapped *m)
{
	if (m)
		MappedRelease(m);
	else
		pfree(p);
}

void *
RfGrowLarge(void *old, Size used, Size size, RfMapped **m)
{
	RfMapped   *was = *m;
	void	   *p = RfAllocLarge(size, m);

	if (old)
	{
		memcpy(p, old, used);
		RfFreeLarge(old, was);
	}
	return p;
}

/*
 * Arrays of 512 kB or more (a value per training row) are mapped like the
 * chunks: faulting them in 4 kB at a time cost more than filling them.
 */
void *
RfAllocAligned(Size size)
{
	char	   *p;

	if (size >= MAP_MIN_BYTES)
		return MapArray(size)->p;
	p = MemoryContextAllocHuge(CurrentMemoryContext, size + 63);
	return (void *) TYPEALIGN(64, p);
}
