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

#include "objectives.h"

/* log(1 + exp(z)) without overflow */
static inline double
Softplus(double z)
{
	return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

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
	int64		width = 0;

	obj->net = net;
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
			{
				bool		present = !isnan(y[head->ycol]);

				total += present ? 1.0 : 0.0;
			}
			else
				total += RowWeight(obj, h, y[head->ycol]);
		}
		obj->head_norm[h] = total > 0 ? head->weight / total : 0;
	}

	/* activations of every layer, plus deltas, for one chunk */
	for (int l = 0; l < net->nhidden; l++)
		width += net->hidden[l];
	obj->work = MemoryContextAllocHuge(CurrentMemoryContext,
									   sizeof(double) * RF_CHUNK_ROWS *
									   (2 * width + 2 * (int64) net->nout + 2 * NetMaxWidth(net)));
	return obj;
}

/*
 * The objective and its gradient.  For each chunk: forward pass keeping
 * every hidden activation, per-head loss derivatives dZ, then
 * gradW += dZ' A and dA = dZ W, layer by layer downwards.
 */
double
ObjectiveEval(void *objective, const double *params, double *grad)
{
	RfObjective *obj = objective;
	RfNet	   *net = obj->net;
	const RfMatrix *X = obj->X;
	const RfMatrix *Y = obj->Y;
	int			L = net->nhidden;
	double	   *acts[64];
	double	   *dZ;
	double	   *dA;
	double	   *p;
	double		loss = 0;
	double		penalty = 0;

	if (L >= 63)
		elog(ERROR, "reframe: too many hidden layers");
	if (params != net->params)
		memcpy(net->params, params, sizeof(double) * net->nparams);
	memset(grad, 0, sizeof(double) * net->nparams);

	p = obj->work;
	for (int l = 0; l < L; l++)
	{
		acts[l] = p;
		p += (Size) RF_CHUNK_ROWS * net->hidden[l];
	}
	acts[L] = p;				/* raw outputs */
	p += (Size) RF_CHUNK_ROWS * net->nout;
	dZ = p;
	p += (Size) RF_CHUNK_ROWS * Max(net->nout, NetMaxWidth(net));
	dA = p;

	for (int c = 0; c < X->nchunks; c++)
	{
		int			rows = RfChunkRows(X, c);
		const double *x = X->chunks[c];
		const double *ychunk = Y->chunks[c];
		int			width;

		/* forward */
		for (int l = 0; l <= L; l++)
		{
			const double *in = l == 0 ? x : acts[l - 1];
			int			nin = NetLayerIn(net, l);
			int			nout = NetLayerOut(net, l);
			const double *W = net->params + net->w_off[l];
			const double *b = net->params + net->b_off[l];
			double	   *out = acts[l];

			if (nout == 1)
			{
				/* a single output is a matrix-vector product: no packing */
				for (int i = 0; i < rows; i++)
					out[i] = b[0];
				cblas_dgemv(CblasRowMajor, CblasNoTrans, rows, nin, 1.0, in, nin, W, 1, 1.0, out, 1);
			}
			else
			{
				for (int i = 0; i < rows; i++)
					memcpy(out + (Size) i * nout, b, sizeof(double) * nout);
				cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, nout, nin,
							1.0, in, nin, W, nin, 1.0, out, nout);
			}
			if (l < L)
				for (Size k = 0; k < (Size) rows * nout; k++)
					out[k] = out[k] > 0 ? out[k] : 0;
		}

		/* head losses and dZ */
		for (int i = 0; i < rows; i++)
		{
			const double *y = ychunk + (Size) i * Y->ncols;
			const double *z = acts[L] + (Size) i * net->nout;
			double	   *dz = dZ + (Size) i * net->nout;

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
						double		zk = z[head->offset + k];
						double		pk;

						if (isnan(yk))
						{
							dz[head->offset + k] = 0;
							continue;
						}
						pk = zk >= 0 ? 1.0 / (1.0 + exp(-zk)) : exp(zk) / (1.0 + exp(zk));
						loss += obj->head_norm[h] * (Softplus(zk) - yk * zk) / head->nout;
						dz[head->offset + k] = obj->head_norm[h] * (pk - yk) / head->nout;
					}
					continue;
				}
				scale = RowWeight(obj, h, yt) * obj->head_norm[h];
				if (scale == 0)
				{
					memset(dz + head->offset, 0, sizeof(double) * head->nout);
					continue;
				}
				if (head->kind == RF_HEAD_REGRESSION)
					yt = (yt - obj->ytarget_shift[h]) / obj->ytarget_scale[h];
				loss += scale * HeadLoss(head, z + head->offset, yt, dz + head->offset);
				for (int k = 0; k < head->nout; k++)
					dz[head->offset + k] *= scale;
			}
		}

		/* backward */
		width = net->nout;
		for (int l = L; l >= 0; l--)
		{
			const double *in = l == 0 ? x : acts[l - 1];
			int			nin = NetLayerIn(net, l);
			double	   *gW = grad + net->w_off[l];
			double	   *gb = grad + net->b_off[l];

			if (width == 1)
				cblas_dgemv(CblasRowMajor, CblasTrans, rows, nin, 1.0, in, nin, dZ, 1, 1.0, gW, 1);
			else
				cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, width, nin, rows,
							1.0, dZ, width, in, nin, 1.0, gW, nin);
			for (int i = 0; i < rows; i++)
			{
				const double *d = dZ + (Size) i * width;

				for (int k = 0; k < width; k++)
					gb[k] += d[k];
			}
			if (l == 0)
				break;
			/* dA = dZ W, then through the ReLU of layer l - 1 */
			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, nin, width,
						1.0, dZ, width, net->params + net->w_off[l], nin, 0.0, dA, nin);
			for (Size k = 0; k < (Size) rows * nin; k++)
				dZ[k] = acts[l - 1][k] > 0 ? dA[k] : 0;
			width = nin;
		}
		CHECK_FOR_INTERRUPTS();
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
	return loss + obj->l2 * penalty;
}
