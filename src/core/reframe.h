/*
 * reframe.h
 *		Cross-cutting declarations shared by every reframe source file.
 */
#ifndef REFRAME_H
#define REFRAME_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "common/hashfn.h"

/* GUCs (reframe.c) */
extern int	reframe_blas_threads;
extern int	reframe_tree_threads;
extern int	reframe_threads;		/* 0: as parallel query would (threads.c) */

#define RF_MAX_THREADS 64

/*
 * Limits of what a stored model may describe, checked when it is loaded:
 * raw outputs of all heads, encoded inputs, hidden units of a layer,
 * hidden layers.
 */
#define RF_MAX_OUTPUTS (1 << 20)
#define RF_MAX_WIDTH (1 << 24)
#define RF_MAX_HIDDEN (1 << 20)
#define RF_MAX_LAYERS 8			/* hidden layers */
extern int	reframe_max_train_memory;	/* kB */

/* reframe.default_model: the family trained when the options name none ("auto": chosen) */
extern char *reframe_default_model;
extern double reframe_train_yield_interval; /* ms */

/* Concept initialisers called from _PG_init */
extern void ReframeStoreInit(void);

/* Sets OpenBLAS's thread count from the GUC; call before heavy BLAS work. */
extern void ReframeBlasPrepare(void);

/*
 * Offers the core to other runnable processes when a training has held it
 * for reframe.train_yield_interval while they want it, or for a millisecond
 * (yield.c).  Cheap: call it every few tens of microseconds of work in
 * training loops, never while scoring.
 */
extern void ReframeYield(void);

/*
 * A hot loop compiled twice, plain and for the x86-64-v3 feature level
 * (AVX2, FMA), the clone picked when the library loads.  Named by feature
 * level, not processor: GCC dispatches "arch=haswell" on the processor's
 * model, so every AMD processor ran the plain clone.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RF_CLONES __attribute__((target_clones("default", "arch=x86-64-v3")))
#else
#define RF_CLONES
#endif

#define REFRAME_SCHEMA "reframe"

/* The number (0-based) of a source's column named "name", or -1. */
extern int	ReframeColumnNumber(TupleDesc td, const char *name);

/*
 * True when no element is NaN or infinite (x - x is 0 exactly for finite x).
 * Written as a floating-point select so that it vectorises on plain x86-64.
 */
static inline bool
ReframeAllFinite(const double *x, int n)
{
	double		bad = 0;

	for (int i = 0; i < n; i++)
		bad = (x[i] - x[i] == 0.0) ? bad : 1.0;
	return bad == 0;
}

/* A dot product with four running sums, so that the additions overlap. */
static inline double
ReframeDot(const double *a, const double *b, int n)
{
	double		s0 = 0,
				s1 = 0,
				s2 = 0,
				s3 = 0;
	int			i = 0;

	for (; i + 4 <= n; i += 4)
	{
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

/*
 * The inner fold (of k) of a row whose split draw is u: drawn from the
 * draw's low bits, so that it is independent of the validation holdout and
 * of cross_validate's folds, which the high bits decide.
 */
static inline int
ReframeInnerFold(double u, int k)
{
	double		v = u * 65536.0;
	int			fold = (int) ((v - (double) (int64) v) * k);

	return fold < k ? fold : k - 1;
}

/* Maps a 64-bit hash to [0, 1): a row's split draw. */
static inline double
ReframeHashToUnit(uint64 h)
{
	return (double) (h >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * A row's sample draw ("sample"), uniform in [0, 1) and independent of its
 * split draw: the same row hash, mixed another way.
 */
static inline double
ReframeSampleDraw(uint64 h)
{
	return ReframeHashToUnit(hash_bytes_uint32_extended((uint32) (h >> 32), h ^ UINT64CONST(0x5851F42D4C957F2D)));
}

/*
 * Validation (1) or training (0) for a row's split draw u: below the
 * holdout, or, cross-validating, in fold "fold" of "folds".
 */
static inline int
ReframeSplitSet(double u, double holdout, int folds, int fold)
{
	if (folds > 0)
		return Min((int) (u * folds), folds - 1) == fold;
	return u < holdout;
}

#endif							/* REFRAME_H */
