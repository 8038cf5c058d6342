/*
 * ridge.c
 *		Exact least squares with an L2 penalty (ridge regression).
 *
 * Minimises (1/n) sum v_i (y_i - w.x_i - b)^2 + l2 |w|^2 (n = sum v_i; v_i the
 * row weights, 1 without "weight") over the encoded training
 * rows.  The normal equations of [X 1] are accumulated chunk by chunk with
 * DSYRK/DGEMV and solved by Cholesky (LAPACK DPOSV); the intercept is not
 * penalised.
 */
#include "postgres.h"

#include <math.h>

#include <cblas.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "reframe.h"
#include "ridge.h"

extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a,
				   const int *lda, double *b, const int *ldb, int *info);

/*
 * Solves the symmetric positive definite system A x = rhs in place (A is
 * m x m, column-major, upper triangle used); rhs receives x.
 */
void
RidgeSolveSystem(double *A, double *rhs, int m)
{
	int			one = 1;
	int			info = 0;

	dposv_("U", &m, &one, A, &m, rhs, &m, &info);
	if (info != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the least-squares system is singular"),
				 errdetail("Some features are exact linear combinations of others (or there are fewer rows than features)."),
				 errhint("Set a positive \"l2\" option, or remove the redundant features.")));
}

/*
 * The bordered system of ridge regression with an intercept, upper part:
 * [G + n l2 I, colsum; colsum', n] [w; b] = [X'y; sum y] (m = d + 1).
 */
static void
RidgeBorderedSystem(const double *G, const double *colsum, double n, double l2, double ysum, int d,
					double *A, double *rhs)
{
	int			m = d + 1;

	for (int j = 0; j < d; j++)
	{
		for (int i = 0; i <= j; i++)
			A[i + j * m] = G[i + j * d];
		A[j + j * m] += n * l2;
		A[j + d * m] = colsum[j];
	}
	A[d + d * m] = n;
	rhs[d] = ysum;
}

void
RidgeFit(const RfMatrix *X, const RfMatrix *Y, int ycol, int wcol, double l2, double *w, double *b)
{
	int			d = X->ncols;
	int			m = d + 1;
	double		n = 0;
	double	   *G = palloc0(sizeof(double) * d * d);
	double	   *A = palloc0(sizeof(double) * m * m);
	double	   *rhs = palloc0(sizeof(double) * m);
	double	   *colsum = palloc0(sizeof(double) * d);
	double	   *sw = palloc(sizeof(double) * RF_CHUNK_ROWS);
	double	   *ysw = palloc(sizeof(double) * RF_CHUNK_ROWS);
	double	   *xd = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * RF_CHUNK_ROWS * d);
	double		ysum = 0;

	for (int c = 0; c < X->nchunks; c++)
	{
		int			rows = RfChunkRows(X, c);
		const float *xf = RfChunkF(X, c);
		const double *yc = RfChunkD(Y, c);

		/* rows weigh w: scaled by sqrt(w), their products count w times */
		for (int i = 0; i < rows; i++)
		{
			double		wi = wcol >= 0 ? yc[(Size) i * Y->ncols + wcol] : 1.0;

			sw[i] = sqrt(wi);
			ysw[i] = sw[i] * yc[(Size) i * Y->ncols + ycol];
			ysum += wi * yc[(Size) i * Y->ncols + ycol];
			n += wi;
			/* the normal equations are accumulated in double precision */
			for (int k = 0; k < d; k++)
				xd[(Size) i * d + k] = sw[i] * xf[(Size) i * d + k];
		}

		/* row-major rows x d is column-major d x rows: G += x x' */
		cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, d, rows,
					1.0, xd, d, 1.0, G, d);
		cblas_dgemv(CblasColMajor, CblasNoTrans, d, rows, 1.0, xd, d,
					ysw, 1, 1.0, rhs, 1);
		cblas_dgemv(CblasColMajor, CblasNoTrans, d, rows, 1.0, xd, d,
					sw, 1, 1.0, colsum, 1);
		ReframeYield();
		CHECK_FOR_INTERRUPTS();
	}

	RidgeBorderedSystem(G, colsum, n, l2, ysum, d, A, rhs);
	RidgeSolveSystem(A, rhs, m);
	memcpy(w, rhs, sizeof(double) * d);
	*b = rhs[d];
	pfree(G);
	pfree(A);
	pfree(rhs);
	pfree(colsum);
	pfree(sw);
	pfree(ysw);
	pfree(xd);
}
