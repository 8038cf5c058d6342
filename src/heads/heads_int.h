/*
 * heads_int.h
 *		What the heads' files share: one row's losses (heads.c) for the
 *		training rows' objective (head_rows.c).
 */
#ifndef REFRAME_HEADS_INT_H
#define REFRAME_HEADS_INT_H

#include <math.h>

#include "heads.h"

/*
 * The logistic loss of raw output z for a 0/1 target y, stable for any z:
 * p = sigmoid(z) into *p and the derivative p - y into *dz.
 */
static inline double
HeadLogisticRow(double z, double y, double *dz, double *p)
{
	double		e = exp(-fabs(z));

	*p = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
	*dz = *p - y;
	return Max(z, 0.0) + log1p(e) - y * z;
}

#endif
