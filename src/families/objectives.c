/*
 * objectives.c
 *		The gradient of a network's training objective, one chunk of rows at
 *		a time: the network's forward pass (NetForwardLayers), the heads'
 *		loss derivatives (HeadsLossRows), the network's backward pass
 *		(NetBackwardLayers); a linear trunk's chunks on threads, optionally
 *		in double precision; the L2 penalty.
 */
#include "postgres.h"

#include <math.h>

#include <cblas.h>

#include "miscadmin.h"

#include "reframe.h"
#include "kernels.h"
#include "objectives.h"
#include "threads.h"

RfObjective *
ObjectiveCreate(RfNet *net, const RfMatrix *X, const RfMatrix *Y, double l2,
				double **class_weight, double *ytarget_shift, double *ytarget_scale)
{
	RfObjective *obj = palloc0(sizeof(RfObjective));
	int64		hidden = 0;
	int64		maxlayer = 0;
	int			maxw = NetMaxWidth(net);

	obj->net = net;
	obj->fnet = NetSinglePrecision(net);
	obj->X = X;
	obj->Y = Y;
	obj->l2 = l2;
	obj->hd = HeadsPrepare(net->heads, net->nheads, Y, class_weight, ytarget_shift, ytarget_scale);

	for (int l = 0; l < net->nhidden; l++)
		hidden += net->hidden[l];
	for (int l = 0; l <= net->nhidden; l++)
		maxlayer = Max(maxlayer, (int64) NetLayerOut(net, l) * NetLayerIn(net, l));
	if (net->nhidden == 0)
		return obj;				/* a linear trunk's buffers are per thread (LinearScratch) */
	obj->acts = RfAllocAligned(sizeof(float) * RF_CHUNK_ROWS * (hidden + net->nout));
	obj->dZ = RfAllocAligned(sizeof(float) * RF_CHUNK_ROWS * maxw);
	obj->dA = RfAllocAligned(sizeof(float) * RF_CHUNK_ROWS * maxw);
	obj->gW = RfAllocAligned(sizeof(float) * Max(maxlayer, 1));
	return obj;
}

/* Rows per block of the double-precision gradient (bounds its buffers) */
#define PRECISE_BLOCK 256

/*
 * A linear layer's outputs from the double-precision parameters, in double
 * precision (zd, for the heads) and rounded (out).
 */
static void
PreciseForward(int rows, int nout, int nin, const float *x, const double *W, const double *b,
			   double *zd, float *out, double *xd)
{
	for (int r0 = 0; r0 < rows; r0 += PRECISE_BLOCK)
	{
		int			n = Min(PRECISE_BLOCK, rows - r0);
		double	   *z = zd + (Size) r0 * nout;

		for (Size k = 0; k < (Size) n * nin; k++)
			xd[k] = x[(Size) r0 * nin + k];
		for (int i = 0; i < n; i++)
			memcpy(z + (Size) i * nout, b, sizeof(double) * nout);
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nout, nin,
					1.0, xd, nin, W, nin, 1.0, z, nout);
	}
	for (Size k = 0; k < (Size) rows * nout; k++)
		out[k] = (float) zd[k];
}

/*
 * gW += dZ' in over a chunk, in double precision: blocks of rows are
 * widened and multiplied by DGEMM, so that the gradient's rounding stays
 * far below an L-BFGS tolerance under 1e-4 (SGEMM's float sums leave about
 * 1e-5 of noise in a logistic gradient).
 */
static void
PreciseLayerGradient(int rows, int width, int nin, const float *dZ, const float *in, double *gW,
					 double *dd, double *xd)
{
	for (int r0 = 0; r0 < rows; r0 += PRECISE_BLOCK)
	{
		int			n = Min(PRECISE_BLOCK, rows - r0);

		for (Size k = 0; k < (Size) n * width; k++)
			dd[k] = dZ[(Size) r0 * width + k];
		for (Size k = 0; k < (Size) n * nin; k++)
			xd[k] = in[(Size) r0 * nin + k];
		cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, width, nin, n,
					1.0, dd, width, xd, nin, 1.0, gW, nin);
	}
}

/* One thread's buffers for a linear trunk's ranges of rows. */
typedef struct LinearScratch
{
	float	   *acts;			/* RF_CHUNK_ROWS x nout */
	float	   *dZ;
	float	   *gW;				/* nout x nin, from SGEMM */
	double	   *zd;				/* precise: the outputs in double */
	double	   *xd;				/* precise: blocks of rows widened */
	double	   *dd;
	RfHeadData *hd;				/* the heads, with scratch of its own */
} LinearScratch;

/* A linear trunk's pass: every range's loss and gradient, apart. */
typedef struct LinearPass
{
	RfObjective *obj;
	const RfRowRange *ranges;
	int			first;			/* the wave's first range */
	LinearScratch *scratch;		/* per thread */
	double	   *loss;			/* per range of the wave */
	double	   *grad;			/* per range of the wave: W's gradient, then b's */
} LinearPass;

static void
LinearScratchInit(LinearScratch *s, RfObjective *obj)
{
	RfNet	   *net = obj->net;
	int			nin = NetLayerIn(net, 0);

	s->acts = RfAllocAligned(sizeof(float) * RF_CHUNK_ROWS * net->nout);
	s->dZ = RfAllocAligned(sizeof(float) * RF_CHUNK_ROWS * net->nout);
	s->gW = RfAllocAligned(sizeof(float) * Max((int64) net->nout * nin, 1));
	s->zd = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * RF_CHUNK_ROWS * net->nout);
	s->xd = palloc(sizeof(double) * PRECISE_BLOCK * Max(nin, 1));
	s->dd = palloc(sizeof(double) * PRECISE_BLOCK * net->nout);
	s->hd = HeadsThreadCopy(obj->hd);
}

/* Range b of the wave, on thread t: touches nothing but its own results and t's scratch. */
static void
LinearRange(void *arg, int b, int t)
{
	LinearPass *lp = arg;
	RfObjective *obj = lp->obj;
	RfNet	   *net = obj->net;
	LinearScratch *s = &lp->scratch[t];
	const RfRowRange *r = &lp->ranges[lp->first + b];
	int			nout = net->nout;
	int			nin = NetLayerIn(net, 0);
	int64		nw = (int64) nout * nin;
	const float *x = RfChunkF(obj->X, r->chunk) + (Size) r->start * obj->X->ncols;
	double	   *g = lp->grad + b * (nw + nout);
	float	   *acts[1] = {s->acts};
	const double *W = net->params + net->w_off[0];

	/* the outputs in double precision for the heads' sums, or the network's own pass */
	if (obj->precise)
		PreciseForward(r->rows, nout, nin, x, W, W + nw, s->zd, s->acts, s->xd);
	else
		NetForwardLayers(obj->fnet, x, r->rows, acts, false);
	s->hd->Zd = obj->precise ? s->zd : NULL;
	lp->loss[b] = HeadsLossRows(s->hd, r->chunk, r->start, r->rows, s->acts, s->dZ, NULL);

	memset(g, 0, sizeof(double) * (nw + nout));
	if (obj->precise)
	{
		PreciseLayerGradient(r->rows, nout, nin, s->dZ, x, g, s->dd, s->xd);
		RfKernelColumnSums(r->rows, nout, s->dZ, g + nw);
	}
	else
		NetBackwardLayers(obj->fnet, x, acts, r->rows, s->dZ, NULL, s->gW, g);	/* g laid out as the parameters */
	ReframeYield();
}

/* Largest number of doubles the per-range results of one wave may take */
#define LINEAR_WAVE_DOUBLES (4 * 1024 * 1024)

/*
 * A linear trunk's data terms over the ranges: each range's loss and
 * gradient computed apart, on reframe.threads threads, then added up in
 * range order, so that the sums are the same whatever the number of
 * threads.  Waves of ranges bound the memory of the per-range results.
 */
static double
ObjectiveEvalLinear(RfObjective *obj, double *grad, const RfRowRange *ranges, int nranges)
{
	RfNet	   *net = obj->net;
	int64		nw = (int64) net->nout * NetLayerIn(net, 0);
	int			wave = (int) Max(1, Min(nranges, LINEAR_WAVE_DOUBLES / (nw + net->nout)));
	int			nthreads = Min(RfTrainThreads(), wave);
	LinearPass	lp = {.obj = obj,.ranges = ranges};
	double		loss = 0;

	if (obj->scratch == NULL || obj->nscratch < nthreads)
	{
		obj->scratch = palloc(sizeof(LinearScratch) * nthreads);
		for (int t = 0; t < nthreads; t++)
			LinearScratchInit(&((LinearScratch *) obj->scratch)[t], obj);
		obj->nscratch = nthreads;
	}
	lp.scratch = obj->scratch;
	lp.loss = palloc(sizeof(double) * wave);
	lp.grad = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * wave * (nw + net->nout));
	for (lp.first = 0; lp.first < nranges; lp.first += wave)
	{
		int			n = Min(wave, nranges - lp.first);

		RfParallelFor(n, nthreads, LinearRange, &lp);
		for (int b = 0; b < n; b++)
		{
			const double *g = lp.grad + b * (nw + net->nout);

			loss += lp.loss[b];
			for (int64 k = 0; k < nw; k++)
				grad[net->w_off[0] + k] += g[k];
			for (int k = 0; k < net->nout; k++)
				grad[net->b_off[0] + k] += g[nw + k];
		}
		CHECK_FOR_INTERRUPTS();
	}
	pfree(lp.loss);
	pfree(lp.grad);
	return loss;
}

/*
 * The objective and its gradient.  For each chunk: forward pass keeping
 * every hidden activation, per-head loss derivatives dZ, then
 * gradW += dZ' A and dA = dZ W, layer by layer downwards.  Products run in
 * single precision (SGEMM/SGEMV) over the single-precision features; each
 * chunk's gradient is added up in double precision.
 */
double
ObjectiveEval(void *objective, const double *params, double *grad)
{
	RfObjective *obj = objective;

	if (obj->all == NULL)
	{
		obj->all = palloc(sizeof(RfRowRange) * Max(obj->X->nchunks, 1));
		for (int c = 0; c < obj->X->nchunks; c++)
		{
			obj->all[c].chunk = c;
			obj->all[c].start = 0;
			obj->all[c].rows = RfChunkRows(obj->X, c);
		}
	}
	return ObjectiveEvalRanges(obj, params, grad, obj->all, obj->X->nchunks, 1.0);
}

/*
 * The objective over some row ranges, its data terms multiplied by scale
 * (for a mini-batch: all rows / batch rows, so that it estimates the mean).
 */
double
ObjectiveEvalRanges(RfObjective *obj, const double *params, double *grad,
					const RfRowRange *ranges, int nranges, double scale)
{
	RfNet	   *net = obj->net;
	RfNetF	   *f = obj->fnet;
	const RfMatrix *X = obj->X;
	int			L = net->nhidden;
	float	   *acts[RF_MAX_LAYERS + 1];
	float	   *p = obj->acts;
	double		loss = 0;
	double		penalty = 0;

	if (params != net->params)
		memcpy(net->params, params, sizeof(double) * net->nparams);
	NetRefreshSinglePrecision(f);
	memset(grad, 0, sizeof(double) * net->nparams);
	if (L == 0)
		loss = ObjectiveEvalLinear(obj, grad, ranges, nranges);
	for (int l = 0; L > 0 && l <= L; l++)
	{
		acts[l] = p;
		p += (Size) RF_CHUNK_ROWS * NetLayerOut(net, l);
	}
	for (int b = 0; L > 0 && b < nranges; b++)
	{
		int			c = ranges[b].chunk;
		int			rows = ranges[b].rows;
		const float *x = RfChunkF(X, c) + (Size) ranges[b].start * X->ncols;

		NetForwardLayers(f, x, rows, acts, true);
		loss += HeadsLossRows(obj->hd, c, ranges[b].start, rows, acts[L], obj->dZ, NULL);
		NetBackwardLayers(f, x, acts, rows, obj->dZ, obj->dA, obj->gW, grad);
		ReframeYield();
		CHECK_FOR_INTERRUPTS();
	}

	if (scale != 1.0)
	{
		loss *= scale;
		for (int64 k = 0; k < net->nparams; k++)
			grad[k] *= scale;
	}

	/* L2 on the weight matrices */
	for (int l = 0; l <= L; l++)
	{
		const double *W = net->params + net->w_off[l];
		double	   *gW = grad + net->w_off[l];
		int64		n = net->b_off[l] - net->w_off[l];

		for (int64 k = 0; k < n; k++)
		{
			penalty += W[k] * W[k];
			gW[k] += 2.0 * obj->l2 * W[k];
		}
	}
	obj->evaluations++;
	return loss + obj->l2 * penalty + NetSoftSharing(net, net->params, grad, obj->sharing_strength);
}
