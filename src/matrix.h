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

typedef struct RfMatrix
{
	int			ncols;
	int64		nrows;
	int			nchunks;
	int			maxchunks;
	double	  **chunks;			/* each RF_CHUNK_ROWS x ncols, row-major */
	MemoryContext mcxt;
	Size	   *budget;		/* bytes used by all training matrices, or NULL */
} RfMatrix;

extern RfMatrix *RfMatrixCreate(int ncols, Size *budget);
extern void RfMatrixTruncate(RfMatrix *m, int64 nrows);
extern double *RfMatrixAppendRow(RfMatrix *m);
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

static inline double *
RfMatrixRow(const RfMatrix *m, int64 i)
{
	return m->chunks[i / RF_CHUNK_ROWS] + (i % RF_CHUNK_ROWS) * m->ncols;
}

/* Checks the memory budget (reframe.max_train_memory) for "bytes" more. */
extern void RfCheckMemory(Size used, Size more, const char *what);

#endif
