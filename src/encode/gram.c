/*
 * gram.c
 *		Streaming least squares (see gram.h).
 */
#include "postgres.h"

#include <math.h>

#include <cblas.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "gram.h"
#include "ridge.h"

#define GRAM_BUF_ROWS 1024

RfGram *
GramCreate(int R, double *origin, double *yorigin)
{
	RfGram	   *g = palloc0(sizeof(RfGram));

	g->R = R;
	g->D = R + 2;
	g->origin = origin;
	g->yorigin = yorigin;
	g->buf = palloc(sizeof(double) * GRAM_BUF_ROWS * g->D);
	g->G = palloc0(sizeof(double) * g->D * g->D);
	g->anymiss = palloc0(sizeof(bool) * R);
	return g;
}

void
GramFree(RfGram *g)
{
	pfree(g->buf);
	pfree(g->G);
	if (g->MX)
	{
		pfree(g->MX);
		pfree(g->MM);
	}
	pfree(g->anymiss);
	pfree(g);
}

static void
GramFlush(RfGram *g)
{
	if (g->nbuf == 0)
		return;
	cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, g->D, g->nbuf,
				1.0, g->buf, g->D, 1.0, g->G, g->D);
	g->nbuf = 0;
}

/*
 * One row's vector a = sqrt(w) [x - origin (0 where missing), 1, y - yorigin];
 * returns whether an input is missing.
 */
bool
GramRowVector(int R, const double *origin, double yorigin, const double *raw, double y, double w,
			  double *restrict a)
{
	double		miss = 0;
	double		sw = w == 1.0 ? 1.0 : sqrt(w);

	/* selects on doubles only, so that the loop vectorises */
	for (int j = 0; j < R; j++)
	{
		double		d = raw[j] - origin[j];

		a[j] = d == d ? sw * d : 0.0;
		miss = d == d ? miss : 1.0;
	}
	a[R] = sw;
	a[R + 1] = sw * (y - yorigin);
	return miss > 0;
}

/*
 * The moments of the rows with gaps: MX (R x D) sums, per missing input j,
 * the rows' vectors a; MM (R x R) weighs the rows missing both j and k.
 */
void
GramAddMissing(int R, const double *raw, const double *a, double w, double *MX, double *MM,
			   bool *anymiss)
{
	int			D = R + 2;
	double		sw = w == 1.0 ? 1.0 : sqrt(w);

	for (int j = 0; j < R; j++)
	{
		if (!isnan(raw[j]))
			continue;
		anymiss[j] = true;
		for (int k = 0; k < D; k++)
			MX[(Size) j * D + k] += sw * a[k];
		for (int k = 0; k < R; k++)
			if (isnan(raw[k]))
				MM[(Size) j * R + k] += w;
	}
}

/*
 * Adds one row: raw inputs (NaN: missing), its target and its weight w
 * (its moments count w times: the buffered row is scaled by sqrt(w)).
 */
void
GramAdd(RfGram *g, const double *raw, double y, double w)
{
	int			R = g->R;
	double	   *restrict a = g->buf + (Size) g->nbuf * g->D;

	if (unlikely(GramRowVector(R, g->origin, *g->yorigin, raw, y, w, a)))
	{
		MemoryContext cxt = GetMemoryChunkContext(g);

		if (g->MX == NULL)
		{
			g->MX = MemoryContextAllocZero(cxt, sizeof(double) * R * g->D);
			g->MM = MemoryContextAllocZero(cxt, sizeof(double) * R * R);
		}
		GramAddMissing(R, raw, a, w, g->MX, g->MM, g->anymiss);
	}
	if (++g->nbuf == GRAM_BUF_ROWS)
		GramFlush(g);
}

/* Adds the moments of "from" (same inputs and origins) into "into". */
void
GramMerge(RfGram *into, RfGram *from)
{
	int			R = into->R;

	GramFlush(into);
	GramFlush(from);
	for (int i = 0; i < into->D * into->D; i++)
		into->G[i] += from->G[i];
	if (from->MX)
	{
		if (into->MX == NULL)
		{
			MemoryContext cxt = GetMemoryChunkContext(into);

			into->MX = MemoryContextAllocZero(cxt, sizeof(double) * R * into->D);
			into->MM = MemoryContextAllocZero(cxt, sizeof(double) * R * R);
		}
		for (int i = 0; i < R * into->D; i++)
			into->MX[i] += from->MX[i];
		for (int i = 0; i < R * R; i++)
			into->MM[i] += from->MM[i];
		for (int j = 0; j < R; j++)
			into->anymiss[j] |= from->anymiss[j];
	}
}

double
GramRows(RfGram *g)
{
	GramFlush(g);
	return g->G[g->R + g->R * g->D];	/* sum of 1 * 1 */
}

/*
 * The moments already hold what the encoder learns from numeric inputs:
 * per input, the count of present values and their shifted sums.
 */
void
GramEncoderStats(RfGram *g, RfEncoder *enc, int set)
{
	int			R = g->R;
	int			D = g->D;
	double		rows = GramRows(g);

	if (enc->origin == NULL)
		EncoderStatsInit(enc);
	enc->unset_origins = 0;
	for (int j = 0; j < R; j++)
	{
		double		missing = g->MX ? g->MX[(Size) j * D + R] : 0;

		enc->origin[j] = g->origin[j];
		enc->n[set][j] = rows - missing;
		enc->sum[set][j] = g->G[j + R * D];
		enc->sumsq[set][j] = g->G[j + j * D];
		enc->missing[set][j] = g->anymiss[j] ? 1.0 : 0.0;
	}
}

/*
 * A' (A x A, column-major): the raw moments of a' = [shifted x, missing
 * indicators (M of them), 1, shifted y] from G (x, 1, y) and the indicator
 * blocks.
 */
static void
GramRawMoments(RfGram *g, int M, int A, double *Ap)
{
	int			R = g->R;
	int			D = g->D;

	/* G's index i maps to x_i, or to 1 and y after the m block */
	for (int i = 0; i < D; i++)
		for (int j = i; j < D; j++)
		{
			int			ii = i < R ? i : i + M;
			int			jj = j < R ? j : j + M;
			double		v = g->G[i + j * D];

			Ap[ii + jj * A] = v;
			Ap[jj + ii * A] = v;
		}
	for (int j = 0; j < M; j++)
	{
		for (int k = 0; k < D; k++)
		{
			int			kk = k < R ? k : k + M;
			double		v = g->MX[(Size) j * D + k];

			Ap[(R + j) + kk * A] = v;
			Ap[kk + (R + j) * A] = v;
		}
		for (int k = 0; k < R; k++)
			Ap[(R + j) + (R + k) * A] = g->MM[(Size) j * R + k];
	}
}

/* T (F x A, column-major): each encoded feature, 1 and y in terms of a'. */
static void
GramEncodingMap(RfGram *g, const RfEncoder *enc, int M, int F, double *T)
{
	int			R = g->R;
	int			W = enc->width;
	int			idx1 = R + M;
	int			idxy = R + M + 1;

	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];

		for (int k = 0; k < col->length; k++)
		{
			int			j = col->raw + k;
			int			s = col->slot + k;
			double		delta = enc->shift[j] - g->origin[j];

			T[s + j * F] = 1.0 / enc->scale[j];
			T[s + idx1 * F] = -delta / enc->scale[j];
			if (M > 0)
			{
				T[s + (R + j) * F] = delta / enc->scale[j];
				if (enc->missing_slot[j] >= 0)
					T[enc->missing_slot[j] + (R + j) * F] = 1.0;
			}
		}
	}
	T[W + idx1 * F] = 1.0;
	T[(W + 1) + idxy * F] = 1.0;
}

/*
 * The second moments of f = [encoded features (width), 1, shifted y]: with
 * a' = [shifted x, missing indicators, 1, shifted y] and f = T a', they are
 * T A' T'.  Returns a (width + 2)^2 column-major symmetric matrix.
 */
static double *
GramEncoded(RfGram *g, const RfEncoder *enc)
{
	int			R = g->R;
	int			M = g->MX ? R : 0;	/* indicator moments, if any row had a gap */
	int			F = enc->width + 2;
	int			A = R + M + 2;	/* x, m, 1, y */
	double	   *Ap = palloc0(sizeof(double) * A * A);
	double	   *T = palloc0(sizeof(double) * F * A);
	double	   *TA = palloc(sizeof(double) * F * A);
	double	   *out = palloc(sizeof(double) * F * F);

	GramFlush(g);
	GramRawMoments(g, M, A, Ap);
	GramEncodingMap(g, enc, M, F, T);
	cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, F, A, A, 1.0, T, F, Ap, A, 0.0, TA, F);
	cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, F, F, A, 1.0, TA, F, T, F, 0.0, out, F);
	pfree(Ap);
	pfree(T);
	pfree(TA);
	return out;
}

void
GramSolve(RfGram *g, const RfEncoder *enc, double l2, double *w, double *b)
{
	int			W = enc->width;
	int			F = W + 2;
	int			m = W + 1;
	double	   *E = GramEncoded(g, enc);
	double	   *Msys = palloc(sizeof(double) * m * m);
	double	   *rhs = palloc(sizeof(double) * m);
	double		n = E[W + W * F];

	for (int j = 0; j < m; j++)
	{
		for (int i = 0; i < m; i++)
			Msys[i + j * m] = E[i + j * F];
		rhs[j] = E[j + (W + 1) * F];
		if (j < W)
			Msys[j + j * m] += n * l2;
	}
	RidgeSolveSystem(Msys, rhs, m);
	memcpy(w, rhs, sizeof(double) * W);
	*b = rhs[W] + *g->yorigin;
	pfree(E);
	pfree(Msys);
	pfree(rhs);
}

void
GramErrors(RfGram *g, const RfEncoder *enc, const double *w, double b,
		   double *sse, double *sst)
{
	int			W = enc->width;
	int			F = W + 2;
	double	   *E = GramEncoded(g, enc);
	double	   *beta = palloc(sizeof(double) * F);
	double	   *Eb = palloc(sizeof(double) * F);
	double		n = E[W + W * F];
	double		sy = E[W + (W + 1) * F];
	double		s = 0;

	memcpy(beta, w, sizeof(double) * W);
	beta[W] = b - *g->yorigin;
	beta[W + 1] = -1.0;
	cblas_dgemv(CblasColMajor, CblasNoTrans, F, F, 1.0, E, F, beta, 1, 0.0, Eb, 1);
	for (int i = 0; i < F; i++)
		s += beta[i] * Eb[i];
	*sse = Max(s, 0.0);
	*sst = n > 0 ? Max(E[(W + 1) + (W + 1) * F] - sy * sy / n, 0.0) : 0.0;
	pfree(E);
	pfree(beta);
	pfree(Eb);
}
