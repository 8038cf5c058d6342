/*
 * reframe.c
 *		The module's entry point: its settings defined, the store's hooks
 *		installed; and reframe.blas_sgemm_gflops.
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/guc.h"

#include "reframe.h"
#include "family.h"
#include "pin.h"
#include "shared_cache.h"

#include <cblas.h>

PG_MODULE_MAGIC;

/* reframe.default_model: "auto" or a family of the table */
static bool
CheckDefaultModel(char **newval, void **extra, GucSource source)
{
	StringInfoData names;

	if (strcmp(*newval, "auto") == 0 || FamilyByName(*newval) != NULL)
		return true;
	initStringInfo(&names);
	for (int i = 0; i < FamilyCount(); i++)
		appendStringInfo(&names, "%s, ", FamilyAt(i)->name);
	GUC_check_errhint("Available values: %sauto.", names.data);
	return false;
}

void		_PG_init(void);

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

	DefineCustomStringVariable("reframe.default_model",
							   "The model family reframe.train trains when the options name none.",
							   "auto: the family its options apply to, else the best of the families by "
							   "cross-validation (see the README); a family's name: that family, where the options apply to it.",
							   &reframe_default_model,
							   "auto",
							   PGC_USERSET, 0,
							   CheckDefaultModel, NULL, NULL);

	DefineCustomIntVariable("reframe.max_train_memory",
							"Largest amount of memory one training may use for its data.",
							"Training stops with an error when the encoded data would exceed it.",
							&reframe_max_train_memory,
							4 * 1024 * 1024, 1024, INT_MAX,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomRealVariable("reframe.train_yield_interval",
							 "How often a training offers its core to other runnable processes while they want the cores.",
							 "At this interval for 50 ms after a yield that gave the core away, once a millisecond otherwise; "
							 "keeps scoring latency low while a training runs on the same cores; 0 never yields.",
							 &reframe_train_yield_interval,
							 0.02, 0, 1000,
							 PGC_USERSET, GUC_UNIT_MS,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("reframe.threads",
							"Number of threads a backend computes a training's objective and metrics with.",
							"0, the default: one more than max_parallel_workers_per_gather, at most the machine's cores.  "
							"The model and its metrics are the same whatever the number.",
							&reframe_threads,
							0, 0, RF_MAX_THREADS,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("reframe.tree_threads",
							"Most XGBoost threads a backend uses to train trees.",
							"0, the default: as many as reframe.threads.  Fewer, round by round, while other processes want the cores.  Scoring trees never calls XGBoost.",
							&reframe_tree_threads,
							0, 0, 64,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	ReframeStoreInit();
	SharedCacheInit();
	MarkGUCPrefixReserved("reframe");
	ReframePinInit();
}

/*
 * reframe.blas_sgemm_gflops: the single-precision matrix product rate of
 * this backend's OpenBLAS (at reframe.blas_threads threads), for benchmarks
 * that report how much of it training reaches.
 */
PG_FUNCTION_INFO_V1(reframe_blas_sgemm_gflops);
Datum
reframe_blas_sgemm_gflops(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	float	   *a;
	float	   *b;
	float	   *c;
	instr_time	start;
	instr_time	t;
	int			reps = 0;
	double		seconds;

	if (n < 16 || n > 8192)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("matrix size must be from 16 to 8192, not %d", n)));
	a = palloc_extended(sizeof(float) * n * n, MCXT_ALLOC_HUGE);
	b = palloc_extended(sizeof(float) * n * n, MCXT_ALLOC_HUGE);
	c = palloc_extended(sizeof(float) * n * n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < (int64) n * n; i++)
	{
		a[i] = (float) ((i % 17) - 8) / 8;
		b[i] = (float) ((i % 13) - 6) / 6;
	}
	ReframeBlasPrepare();
	INSTR_TIME_SET_CURRENT(start);
	do
	{
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
		reps++;
		INSTR_TIME_SET_CURRENT(t);
		INSTR_TIME_SUBTRACT(t, start);
		CHECK_FOR_INTERRUPTS();
	} while (INSTR_TIME_GET_DOUBLE(t) < 0.5);
	seconds = INSTR_TIME_GET_DOUBLE(t);
	PG_RETURN_FLOAT8(2.0 * n * n * (double) n * reps / seconds / 1e9);
}
