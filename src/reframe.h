/*
 * reframe.h
 *		Cross-cutting declarations shared by every reframe source file.
 */
#ifndef REFRAME_H
#define REFRAME_H

#include "postgres.h"

/* GUCs (reframe.c) */
extern int	reframe_blas_threads;
extern int	reframe_max_train_memory;	/* kB */

/* Concept initialisers called from _PG_init */
extern void ReframeStoreInit(void);

/* Sets OpenBLAS's thread count from the GUC; call before heavy BLAS work. */
extern void ReframeBlasPrepare(void);

#define REFRAME_SCHEMA "reframe"

#endif							/* REFRAME_H */
