/*
 * objectives.c
 *		Head losses and the gradient of the training objective, one chunk of
 *		rows at a time: forward through the trunk with DGEMM, per-head loss
 *		derivatives, then back-propagation with DGEMM again.
 */
#include "postgres.h"

#include <math.h>

#include <cblas.h>

#include "miscadmin.h"

#include "reframe.h"
#include "kernels.h"
#include "objectives.h"

/*
 * The loss of one head on one row and, in dz, its derivative with respect
 * to the head's raw outputs z.  y is the target: a (standardized) value, 0/1,
 * or a class index.
 */
double
HeadLoss(const RfHead *head, const double *z, double y, double *dz)
{
	switch (head->kind)
	{
		case RF_HEAD_REGRESSION:
			{
				double		r = z[0] - y;

				switch (head->loss)
				{
					case RF_LOSS_ABSOLUTE:
						{
							/* smoothed |r|: sqrt(r^2 + eps^2) - eps, eps small */
							double		eps = 1e-3;
							double		s = sqrt(r * r + eps * eps);

							dz[0] = r / s;
							return s - eps;
						}
					case RF_LOSS_HUBER:
						{
							double		d = head->huber_delta;

							if (fabs(r) <= d)
							{
								dz[0] = r;
								return 0.5 * r * r;
							}
							dz[0] = r > 0 ? d : -d;
							return d * (fabs(r) - 0.5 * d);
						}
					default:
						dz[0] = 2.0 * r;
						return r * r;
				}
			}
		case RF_HEAD_BINARY:
			{
				/* one exp serves both the sigmoid and the softplus */
				double		e = exp(-fabs(z[0]));
				double		p = z[0] >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);

				dz[0] = p - y;
				return Max(z[0], 0.0) + log1p(e) - y * z[0];
			}
		case RF_HEAD_MULTICLASS:
			{
				int			k = (int) y;
				double		m = z[0];
				double		s = 0;

				for (int j = 1; j < head->nout; j++)
					m = Max(m, z[j]);
				for (int j = 0; j < head->nout; j++)
				{
					dz[j] = exp(z[j] - m);
					s += dz[j];
				}
				for (int j = 0; j < head->nout; j++)
					dz[j] /= s;
				dz[k] -= 1.0;
				return m + log(s) - z[k];
			}
		case RF_HEAD_MULTILABEL:
			/* multilabel heads read their targets per label in ObjectiveEval */
			break;
	}
	elog(ERROR, "reframe: unexpected head kind %d", head->kind);
	return 0;
}

/* The weight of row i's contribution to head h (0 if its target is missing). */
static inline double
RowWeight(const RfObjective *obj, int h, double y)
{
	if (isnan(y))
		return 0;
	if (obj->class_weight && obj->class_weight[h])
		return obj->class_weight[h][(int) y];
	return 1.0;
}

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
	obj->class_weight = class_weight;
	obj->ytarget_shift = ytarget_shift;
	obj->ytarget_scale = ytarget_scale;
	obj->head_norm = palloc0(sizeof(double) * net->nheads);

	for (int h = 0; h < net->nheads; h++)
	{
		const RfHead *head = &net->heads[h];
		double		total = 0;

		for (int64 i = 0; i < Y->nrows; i++)
		{
			const double *y = RfMatrixRow(Y, i);

			if (head->kind == RF_HEAD_MULTILABEL)
				total += isnan(y[head->ycol]) ? 0.0 : 1.0;
			else
				total += RowWeight(obj, h, y[head->ycol]);
		}
		obj->head_norm[h] = total > 0 ? head->weight / total : 0;
	}

	for (int l = 0; l < net->nhidden; l++)
		hidden += net->hidden[l];
	for (int l = 0; l <= net->nhidden; l++)
		maxlayer = Max(maxlayer, (int64) NetLayerOut(net, l) * NetLayerIn(net, l));
	obj->acts = RfAllocAligned(sizeof(float) * RF_CHUNK_ROWS * (hidden + net->nout));
	obj->dZ = RfAllocAligned(sizeof(float) * RF_CHUNK_ROWS * maxw);
	/* dA doubles as the softmax kernel's scratch before the backward pass */
	obj->dA = RfAllocAligned(sizeof(float) * RF_CHUNK_ROWS * maxw);
	obj->gW = RfAllocAligned(sizeof(float) * Max(maxlayer, 1));
	obj->rowmax = RfAllocAligned(sizeof(float) * RF_CHUNK_ROWS);
	obj->z = RfAllocAligned(sizeof(double) * net->nout);
	obj->dz = RfAllocAligned(sizeof(double) * net->nout);
	/* classification heads: each row's weight and target, ready for the kernels */
	obj->yclean = palloc0(sizeof(double *) * net->nheads);
	obj->wrow = palloc0(sizeof(double *) * net->nheads);
	for (int h = 0; h < net->nheads; h++)
	{
		const RfHead *head = &net->heads[h];

		if (head->kind != RF_HEAD_BINARY && head->kind != RF_HEAD_MULTICLASS)
			continue;
		obj->yclean[h] = RfAllocAligned(sizeof(double) * Max(Y->nrows, 1));
		obj->wrow[h] = RfAllocAligned(sizeof(double) * Max(Y->nrows, 1));
		for (int64 i = 0; i < Y->nrows; i++)
		{
			double		yt = RfMatrixRow(Y, i)[head->ycol];

			obj->wrow[h][i] = RowWeight(obj, h, yt) * obj->head_norm[h];
			obj->yclean[h][i] = isnan(yt) ? 0 : yt;
			/* a level of a hierarchy learns only where its parent is known */
			if (head->parent_of && isnan(RfMatrixRow(Y, i)[net->heads[head->parent].ycol]))
				obj->wrow[h][i] = 0;
		}
	}
	return obj;
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
	const RfMatrix *Y = obj->Y;
	int			L = net->nhidden;
	float	   *acts[64];
	float	   *dZ = obj->dZ;
	double	   *z = obj->z;
	double	   *dz = obj->dz;
	float	   *p;
	double		loss = 0;
	double		penalty = 0;

	if (L >= 63)
		elog(ERROR, "reframe: too many hidden layers");
	if (params != net->params)
		memcpy(net->params, params, sizeof(double) * net->nparams);
	NetRefreshSinglePrecision(f);
	memset(grad, 0, sizeof(double) * net->nparams);

	p = obj->acts;
	for (int l = 0; l <= L; l++)
	{
		acts[l] = p;
		p += (Size) RF_CHUNK_ROWS * NetLayerOut(net, l);
	}

	for (int b = 0; b < nranges; b++)
	{
		int			c = ranges[b].chunk;
		int			rows = ranges[b].rows;
		const float *x = RfChunkF(X, c) + (Size) ranges[b].start * X->ncols;
		const double *ychunk = RfChunkD(Y, c) + (Size) ranges[b].start * Y->ncols;
		Size		roff = (Size) c * RF_CHUNK_ROWS + ranges[b].start;
		int			width;

		/* forward */
		for (int l = 0; l <= L; l++)
		{
			int			nout = NetLayerOut(net, l);

			DenseBatchF(f->params + net->w_off[l], f->params + net->b_off[l], nout,
						NetLayerIn(net, l), l == 0 ? x : acts[l - 1], rows, acts[l]);
			if (l < L)
				for (Size k = 0; k < (Size) rows * nout; k++)
					acts[l][k] = acts[l][k] > 0 ? acts[l][k] : 0;
			ReframeYield();		/* a wide layer over a chunk takes milliseconds */
		}

		/* head losses and dZ: vectorised kernels for the classification heads */
		for (int h = 0; h < net->nheads; h++)
		{
			const RfHead *head = &net->heads[h];

			const double *yv = obj->yclean[h] + roff;
			const double *wv = obj->wrow[h] + roff;

			if (head->kind == RF_HEAD_BINARY)
				loss += RfKernelBinary(rows, acts[L] + head->offset, net->nout, yv, wv,
									   dZ + head->offset, net->nout);
			else if (head->kind == RF_HEAD_MULTICLASS && head->parent_of)
				loss += RfKernelSoftmaxRanges(rows, head->nout, acts[L] + head->offset, net->nout,
											  yv, wv, dZ + head->offset, net->nout,
											  obj->yclean[head->parent] + roff,
											  head->child_start, head->child_count);
			else if (head->kind == RF_HEAD_MULTICLASS)
				loss += RfKernelSoftmax(rows, head->nout, acts[L] + head->offset, net->nout,
										yv, wv, dZ + head->offset, net->nout, obj->dA, obj->rowmax);
		}
		for (int i = 0; i < rows; i++)
		{
			const double *y = ychunk + (Size) i * Y->ncols;
			const float *zi = acts[L] + (Size) i * net->nout;
			float	   *dzi = dZ + (Size) i * net->nout;

			for (int h = 0; h < net->nheads; h++)
			{
				const RfHead *head = &net->heads[h];
				double		yt = y[head->ycol];
				double		scale;

				if (head->kind == RF_HEAD_MULTILABEL)
				{
					for (int k = 0; k < head->nout; k++)
					{
						double		yk = y[head->ycol + k];
						double		zk = zi[head->offset + k];
						double		e;
						double		pk;

						if (isnan(yk))
						{
							dzi[head->offset + k] = 0;
							continue;
						}
						e = exp(-fabs(zk));
						pk = zk >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
						loss += obj->head_norm[h] * (Max(zk, 0.0) + log1p(e) - yk * zk) / head->nout;
						dzi[head->offset + k] = (float) (obj->head_norm[h] * (pk - yk) / head->nout);
					}
					continue;
				}
				if (head->kind != RF_HEAD_REGRESSION)
					continue;
				scale = RowWeight(obj, h, yt) * obj->head_norm[h];
				if (scale == 0)
				{
					dzi[head->offset] = 0;
					continue;
				}
				z[0] = zi[head->offset];
				yt = (yt - obj->ytarget_shift[h]) / obj->ytarget_scale[h];
				loss += scale * HeadLoss(head, z, yt, dz);
				dzi[head->offset] = (float) (dz[0] * scale);
			}
		}

		/* backward */
		width = net->nout;
		for (int l = L; l >= 0; l--)
		{
			const float *in = l == 0 ? x : acts[l - 1];
			int			nin = NetLayerIn(net, l);
			double	   *gW = grad + net->w_off[l];
			double	   *gb = grad + net->b_off[l];
			int64		nw = (int64) width * nin;

			if (width == 1)
				cblas_sgemv(CblasRowMajor, CblasTrans, rows, nin, 1.0f, in, nin, dZ, 1,
							0.0f, obj->gW, 1);
			else
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, width, nin, rows,
							1.0f, dZ, width, in, nin, 0.0f, obj->gW, nin);
			for (int64 k = 0; k < nw; k++)
				gW[k] += obj->gW[k];
			RfKernelColumnSums(rows, width, dZ, gb);
			if (l == 0)
				break;
			/* dA = dZ W, then through the ReLU of layer l - 1 */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, nin, width,
						1.0f, dZ, width, f->params + net->w_off[l], nin, 0.0f, obj->dA, nin);
			for (Size k = 0; k < (Size) rows * nin; k++)
				dZ[k] = acts[l - 1][k] > 0 ? obj->dA[k] : 0;
			width = nin;
			ReframeYield();
		}
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
