/*
 * matrix.h
 *		Row-major dense matrices stored in fixed-size chunks of rows.
 *
 * Training data arrives one tuple at a time with no row count known in
 * advance; chunks grow without ever copying what was already read, keep
 * every BLAS call within a 32-bit blasint, and let a re-layout (say, adding
 * one-hot columns) proceed chunk by chunk with one chunk of extra memory.
 */
#ifndef REFRAME_MATRIX_H
#define REFRAME_MATRIX_H

#define RF_CHUNK_ROWS 8192

/* Memory one training uses for its data, against reframe.max_train_memory. */
typedef struct RfBudget
{
	Size		used;
	Size		peak;
} RfBudget;

extern void RfBudgetCharge(RfBudget *budget, Size bytes, const char *what);
extern void RfBudgetRelease(RfBudget *budget, Size bytes);

typedef struct RfMatrix
{
	int			ncols;
	int64		nrows;
	int			elemsize;		/* sizeof(double), or sizeof(float) */
	int			nchunks;
	int			maxchunks;
	char	  **chunks;			/* each RF_CHUNK_ROWS x ncols, row-major */
	char	   *slab_next;		/* where the next chunk is carved (matrix.c) */
	Size		slab_left;
	MemoryContext mcxt;
	RfBudget   *budget;			/* the training's memory budget, or NULL */
} RfMatrix;

extern RfMatrix *RfMatrixCreate(int ncols, int elemsize, RfBudget *budget);
extern void RfMatrixTruncate(RfMatrix *m, int64 nrows);
extern void *RfMatrixAppend(RfMatrix *m);
extern void RfMatrixDropLastRow(RfMatrix *m);
extern void RfMatrixFreeChunk(RfMatrix *m, int c);
extern Size RfMatrixBytes(const RfMatrix *m);

/* Number of rows held by chunk c. */
static inline int
RfChunkRows(const RfMatrix *m, int c)
{
	int64		left = m->nrows - (int64) c * RF_CHUNK_ROWS;

	return (int) Min(left, RF_CHUNK_ROWS);
}

static inline void *
RfMatrixRowPtr(const RfMatrix *m, int64 i)
{
	return m->chunks[i / RF_CHUNK_ROWS] + (Size) (i % RF_CHUNK_ROWS) * m->ncols * m->elemsize;
}

/* Typed access: double matrices (targets, raw rows) and float ones (features). */
static inline double *
RfMatrixRow(const RfMatrix *m, int64 i)
{
	Assert(m->elemsize == sizeof(double));
	return (double *) RfMatrixRowPtr(m, i);
}

static inline float *
RfMatrixRowF(const RfMatrix *m, int64 i)
{
	Assert(m->elemsize == sizeof(float));
	return (float *) RfMatrixRowPtr(m, i);
}

static inline double *
RfChunkD(const RfMatrix *m, int c)
{
	Assert(m->elemsize == sizeof(double));
	return (double *) m->chunks[c];
}

static inline float *
RfChunkF(const RfMatrix *m, int c)
{
	Assert(m->elemsize == sizeof(float));
	return (float *) m->chunks[c];
}

static inline double *
RfMatrixAppendRow(RfMatrix *m)
{
	Assert(m->elemsize == sizeof(double));
	return (double *) RfMatrixAppend(m);
}

static inline float *
RfMatrixAppendRowF(RfMatrix *m)
{
	Assert(m->elemsize == sizeof(float));
	return (float *) RfMatrixAppend(m);
}

/*
 * size bytes in the current memory context, starting on a 64-byte boundary
 * (freed with the context, never by pfree).  Training's work arrays use it
 * so that no vectorised loop's path or summation order can depend on where
 * the heap happened to put an array.  From 512 kB on, arrays are mapped in
 * populated huge pages as the chunks are.
 */
extern void *RfAllocAligned(Size size);

/*
 * Arrays of size bytes: from 512 kB on, fresh memory in populated huge pages
 * (one system call instead of a page fault per 4 kB, which on virtual
 * machines can cost more than filling the memory), *m telling where; below,
 * palloc'd.  Freed with the current memory context, or before by
 * RfFreeLarge.  RfGrowLarge moves the first used bytes of old (allocated
 * so, with *m) into a new array of size bytes and frees old.
 */
typedef struct RfMapped RfMapped;

extern void *RfAllocLarge(Size size, RfMapped **m);
extern void RfFreeLarge(void *p, RfMapped *m);
extern void *RfGrowLarge(void *old, Size used, Size size, RfMapped **m);

#endif
