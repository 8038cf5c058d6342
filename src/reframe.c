/*
 * reframe.c
 *		Module entry point and settings.
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "reframe.h"

#include <cblas.h>

PG_MODULE_MAGIC;

int			reframe_blas_threads = 1;
int			reframe_max_train_memory = 4 * 1024 * 1024;	/* 4 GB in kB */

void		_PG_init(void);

/*
 * OpenBLAS threads never call PostgreSQL APIs; they only run GEMM/SYRK
 * kernels.  One thread by default, since PostgreSQL parallelises with
 * processes and most servers run several backends at once.
 */
void
ReframeBlasPrepare(void)
{
	static int	applied = -1;

	if (applied != reframe_blas_threads)
	{
		openblas_set_num_threads(reframe_blas_threads);
		applied = reframe_blas_threads;
	}
}

void
_PG_init(void)
{
	DefineCustomIntVariable("reframe.blas_threads",
							"Number of OpenBLAS threads a backend uses for training.",
							"Scoring always uses one thread.",
							&reframe_blas_threads,
							1, 1, 64,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("reframe.max_train_memory",
							"Largest amount of memory one training may use for its data.",
							"Training stops with an error when the encoded data would exceed it.",
							&reframe_max_train_memory,
							4 * 1024 * 1024, 1024, INT_MAX,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("reframe");

	ReframeStoreInit();
}
