/*
 * settings.c
 *		The values of reframe's settings (defined in _PG_init, reframe.c)
 *		and the small helpers every layer shares.
 */
#include "postgres.h"

#include "access/tupdesc.h"

#include "reframe.h"

#include <cblas.h>

int			reframe_tree_threads = 0;
int			reframe_blas_threads = 1;
int			reframe_threads = 0;
int			reframe_max_train_memory = 4 * 1024 * 1024;	/* 4 GB in kB */
char	   *reframe_default_model = NULL;	/* reframe.default_model: "auto" or a family's name */


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

int
ReframeColumnNumber(TupleDesc td, const char *name)
{
	for (int i = td->natts - 1; i >= 0; i--)
		if (!TupleDescAttr(td, i)->attisdropped && strcmp(NameStr(TupleDescAttr(td, i)->attname), name) == 0)
			return i;
	return -1;
}
