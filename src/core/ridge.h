/*
 * ridge.h
 *		Closed-form ridge regression on OpenBLAS/LAPACK.
 */
#ifndef REFRAME_RIDGE_H
#define REFRAME_RIDGE_H

#include "matrix.h"

/* Fits w (X->ncols values) and b for target column ycol of Y. */
extern void RidgeFit(const RfMatrix *X, const RfMatrix *Y, int ycol, int wcol, double l2,
					 double *w, double *b);

/* Solves A x = rhs (SPD, m x m, column-major) in place; an error if singular. */
extern void RidgeSolveSystem(double *A, double *rhs, int m);

#endif
