/*
 * gram.h
 *		Streaming sufficient statistics for least squares.
 *
 * Squared-loss linear models need only the second moments of [x, 1, y], so
 * training accumulates them as rows stream by, in a buffer of rows folded
 * in with DSYRK: memory is O(d^2), whatever the number of rows.  Missing
 * values are kept as indicator moments, so that mean imputation and the
 * missing-indicator columns chosen after the pass are exact linear
 * transformations of what was accumulated.
 */
#ifndef REFRAME_GRAM_H
#define REFRAME_GRAM_H

#include "encoder.h"

typedef struct RfGram
{
	int			R;				/* raw inputs */
	int			D;				/* R + 2: shifted x, the constant 1, shifted y */
	double	   *origin;			/* shift of each raw input (shared by all sets) */
	double	   *yorigin;		/* shift of the target (shared) */
	double	   *buf;			/* rows waiting for DSYRK, row-major */
	int			nbuf;
	double	   *G;				/* D x D, upper triangle, column-major */
	double	   *MX;				/* R x D: sum over rows missing input j of the row */
	double	   *MM;				/* R x R: rows missing both j and k */
	bool	   *anymiss;		/* per input: missing in some row */
} RfGram;

extern RfGram *GramCreate(int R, double *origin, double *yorigin);
extern void GramFree(RfGram *g);
extern void GramAdd(RfGram *g, const double *raw, double y, double w);
/* GramAdd's parts, for moments kept elsewhere (moments.c) */
extern bool GramRowVector(int R, const double *origin, double yorigin, const double *raw,
						  double y, double w, double *a);
extern void GramAddMissing(int R, const double *raw, const double *a, double w, double *MX,
						   double *MM, bool *anymiss);
extern void GramMerge(RfGram *into, RfGram *from);
extern double GramRows(RfGram *g);

/* Fills the encoder's statistics of split set "set" from the moments. */
extern void GramEncoderStats(RfGram *g, RfEncoder *enc, int set);

/*
 * Ridge regression on the encoded features (encoder fitted): writes the
 * encoded weights w (enc->width values) and the intercept b.
 */
extern void GramSolve(RfGram *g, const RfEncoder *enc, double l2, double *w, double *b);

/* Sum of squared errors and total sum of squares of a fit on a set's rows. */
extern void GramErrors(RfGram *g, const RfEncoder *enc, const double *w, double b,
					   double *sse, double *sst);

#endif
