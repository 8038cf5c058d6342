/*
 * matrix.c
 *		Chunked row-major matrices for training data.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "reframe.h"
#include "matrix.h"

RfMatrix *
RfMatrixCreate(int ncols, Size *budget)
{
	RfMatrix   *m = palloc0(sizeof(RfMatrix));

	m->ncols = ncols;
	m->maxchunks = 16;
	m->chunks = palloc(sizeof(double *) * m->maxchunks);
	m->mcxt = CurrentMemoryContext;
	m->budget = budget;
	return m;
}

Size
RfMatrixBytes(const RfMatrix *m)
{
	return (Size) m->nchunks * RF_CHUNK_ROWS * Max(m->ncols, 1) * sizeof(double);
}

void
RfCheckMemory(Size used, Size more, const char *what)
{
	Size		limit = (Size) reframe_max_train_memory * 1024;

	if (used + more > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s needs more than reframe.max_train_memory (%zu MB)",
						what, limit / (1024 * 1024)),
				 errdetail("The encoded training data already takes %zu MB.",
						   used / (1024 * 1024)),
				 errhint("Raise reframe.max_train_memory, train on a sample, or select fewer features.")));
}

/* Returns a pointer to a new, uninitialised last row. */
double *
RfMatrixAppendRow(RfMatrix *m)
{
	int64		i = m->nrows;

	if (i % RF_CHUNK_ROWS == 0 && i / RF_CHUNK_ROWS == m->nchunks)
	{
		Size		chunk = (Size) RF_CHUNK_ROWS * Max(m->ncols, 1) * sizeof(double);

		if (m->budget)
		{
			RfCheckMemory(*m->budget, chunk, "training");
			*m->budget += chunk;
		}

		if (m->nchunks == m->maxchunks)
		{
			m->maxchunks *= 2;
			m->chunks = repalloc_huge(m->chunks, sizeof(double *) * m->maxchunks);
		}
		m->chunks[m->nchunks++] = MemoryContextAllocHuge(m->mcxt, chunk);
	}
	m->nrows++;
	return RfMatrixRow(m, i);
}

/* Forgets the last row (its chunk is reused by the next append). */
void
RfMatrixDropLastRow(RfMatrix *m)
{
	Assert(m->nrows > 0);
	m->nrows--;
}

/* Keeps the first nrows rows and frees the chunks no longer needed. */
void
RfMatrixTruncate(RfMatrix *m, int64 nrows)
{
	int			keep = (int) ((nrows + RF_CHUNK_ROWS - 1) / RF_CHUNK_ROWS);

	Assert(nrows <= m->nrows);
	while (m->nchunks > keep)
	{
		pfree(m->chunks[--m->nchunks]);
		if (m->budget)
			*m->budget -= (Size) RF_CHUNK_ROWS * Max(m->ncols, 1) * sizeof(double);
	}
	m->nrows = nrows;
}
