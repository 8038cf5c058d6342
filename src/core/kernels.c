/*
 * kernels.c
 *		Vectorised loss kernels (see kernels.h).  Built with -ffast-math:
 *		nothing here may depend on NaN or infinity semantics.
 */
#include "postgres.h"

#include <math.h>

#include "reframe.h"
#include "kernels.h"

RF_CLONES
double
RfKernelBinary(int n, const float *z, int zstride, const double *y,
			   const double *w, float *dz, int dzstride)
{
	double		loss = 0;

	for (int i = 0; i < n; i++)
	{
		double		zi = z[(Size) i * zstride];
		double		e = exp(-fabs(zi));
		double		p = zi >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);

		loss += w[i] * (fmax(zi, 0.0) + log1p(e) - y[i] * zi);
		dz[(Size) i * dzstride] = (float) (w[i] * (p - y[i]));
	}
	return loss;
}

/*
 * The block is handled as a whole so that the exponentials run as one flat
 * vectorised loop over rows x K values (single precision: 8 per AVX2 op).
 */
RF_CLONES
double
RfKernelSoftmax(int n, int K, const float *z, int zstride, const double *y,
				const double *w, float *dz, int dzstride, float *tmp, float *rowmax)
{
	double		loss = 0;
	Size		total = (Size) n * K;

	for (int i = 0; i < n; i++)
	{
		const float *zi = z + (Size) i * zstride;
		float		m = zi[0];

		for (int k = 1; k < K; k++)
			m = fmaxf(m, zi[k]);
		rowmax[i] = m;
		for (int k = 0; k < K; k++)
			tmp[(Size) i * K + k] = zi[k] - m;
	}
	for (Size j = 0; j < total; j++)
		tmp[j] = expf(tmp[j]);
	for (int i = 0; i < n; i++)
	{
		const float *e = tmp + (Size) i * K;
		const float *zi = z + (Size) i * zstride;
		float	   *dzi = dz + (Size) i * dzstride;
		int			cls = (int) y[i];
		float		s = 0;
		float		scale;

		for (int k = 0; k < K; k++)
			s += e[k];
		scale = (float) (w[i] / s);
		for (int k = 0; k < K; k++)
			dzi[k] = e[k] * scale;
		dzi[cls] -= (float) w[i];
		loss += w[i] * ((double) rowmax[i] + log((double) s) - zi[cls]);
	}
	return loss;
}

/* out[k] += sum over rows of dZ[i][k], for a rows x width block. */
RF_CLONES
void
RfKernelColumnSums(int rows, int width, const float *dZ, double *out)
{
	if (width == 1)
	{
		double		s = 0;

		for (int i = 0; i < rows; i++)
			s += dZ[i];
		out[0] += s;
		return;
	}
	for (int i = 0; i < rows; i++)
	{
		const float *d = dZ + (Size) i * width;

		for (int k = 0; k < width; k++)
			out[k] += d[k];
	}
}

/*
 * Softmax cross-entropy within ranges: row i's classes are the children of
 * its parent class, the range start[parent] .. start[parent] + count[parent]
 * of the K outputs.  Rows with weight 0 get zero derivatives.
 */
double
RfKernelSoftmaxRanges(int n, int K, const float *z, int zstride, const double *y,
					  const double *w, float *dz, int dzstride, const double *parent,
					  const int *start, const int *count)
{
	double		loss = 0;

	for (int i = 0; i < n; i++)
	{
		const float *zi = z + (Size) i * zstride;
		float	   *dzi = dz + (Size) i * dzstride;
		int			p = (int) parent[i];
		int			s = start[p];
		int			c = count[p];
		int			cls = (int) y[i];
		double		m;
		double		sum = 0;

		memset(dzi, 0, sizeof(float) * K);
		if (w[i] == 0 || c == 0)
			continue;
		m = zi[s];
		for (int k = s + 1; k < s + c; k++)
			m = fmax(m, (double) zi[k]);
		for (int k = s; k < s + c; k++)
		{
			double		e = exp((double) zi[k] - m);

			dzi[k] = (float) e;
			sum += e;
		}
		for (int k = s; k < s + c; k++)
			dzi[k] = (float) (dzi[k] * w[i] / sum);
		dzi[cls] -= (float) w[i];
		loss += w[i] * (m + log(sum) - zi[cls]);
	}
	return loss;
}
