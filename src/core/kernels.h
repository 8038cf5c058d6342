/*
 * kernels.h
 *		Vectorised loss kernels over one chunk of rows.
 *
 * These loops are compiled with -ffast-math so that GCC vectorises exp()
 * and log1p() through glibc's libmvec, with an AVX2 clone picked at load
 * time.  Inputs must be finite: callers pass weight 0 (and any finite
 * target) for rows whose target is missing.
 */
#ifndef REFRAME_KERNELS_H
#define REFRAME_KERNELS_H

/*
 * Binary log loss for n rows: returns sum w_i * loss_i and writes
 * dz_i = w_i * (sigmoid(z_i) - y_i).  z and dz are strided (one column of
 * a row-major output block).
 */
extern double RfKernelBinary(int n, const float *z, int zstride, const double *y,
							 const double *w, float *dz, int dzstride);

/*
 * Softmax cross-entropy for n rows of K outputs: y holds class indexes;
 * tmp has room for n x K values and rowmax for n.
 */
extern double RfKernelSoftmax(int n, int K, const float *z, int zstride, const double *y,
							  const double *w, float *dz, int dzstride, float *tmp,
							  float *rowmax);

/* out[k] += column sums of a rows x width block. */
extern void RfKernelColumnSums(int rows, int width, const float *dZ, double *out);

/* Softmax cross-entropy among the children of each row's parent class. */
extern double RfKernelSoftmaxRanges(int n, int K, const float *z, int zstride, const double *y,
									const double *w, float *dz, int dzstride, const double *parent,
									const int *start, const int *count);

#endif
