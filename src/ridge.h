/*
 * ridge.h
 *		Closed-form ridge regression on OpenBLAS/LAPACK.
 */
#ifndef REFRAME_RIDGE_H
#define REFRAME_RIDGE_H

#include "matrix.h"

/* Fits w (X->ncols values) and b for target column ycol of Y. */
extern void RidgeFit(const RfMatrix *X, const RfMatrix *Y, int ycol, double l2,
					 double *w, double *b);

#endif
