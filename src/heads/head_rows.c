/*
 * head_rows.c
 *		The heads' part of training over the rows kept: each head's targets and
 *		weights prepared once (HeadsPrepare), the weighted loss of a chunk of
 *		rows with its gradient and hessian (HeadsLossRows, by the kernels or row
 *		by row in double precision), and the start at the base rates.
 */
#include "postgres.h"

#include "kernels.h"
#include "targets.h"
#include "heads_int.h"

/* The weight of a row's contribution to head h (0 if its target is missing). */
static inline double
RowWeight(double **class_weight, int h, double y)
{
	if (isnan(y))
		return 0;
	if (class_weight && class_weight[h])
		return class_weight[h][(int) y];
	return 1.0;
}

/* Raw output o of the rows passed: in double precision when the caller gave them so. */
static inline double
ZAt(const RfHeadData *hd, const float *Z, Size o)
{
	return hd->Zd ? hd->Zd[o] : Z[o];
}

/* A row's own weight (the "weight" column), 1 without one. */
static inline double
SampleWeight(const RfHead *head, const double *yrow)
{
	return head->wcol >= 0 ? yrow[head->wcol] : 1.0;
}

/* A head data's own scratch: nothing of it is shared by two threads. */
static void
HeadsScratch(RfHeadData *hd)
{
	hd->tmp = RfAllocAligned(sizeof(float) * RF_CHUNK_ROWS * Max(hd->nout, 1));
	hd->rowmax = RfAllocAligned(sizeof(float) * RF_CHUNK_ROWS);
	hd->zrow = palloc(sizeof(double) * 4 * Max(hd->nout, 1));
}

/* A copy of hd for another thread: the same rows and weights, scratch of its own. */
RfHeadData *
HeadsThreadCopy(const RfHeadData *hd)
{
	RfHeadData *copy = palloc(sizeof(RfHeadData));

	memcpy(copy, hd, sizeof(RfHeadData));
	HeadsScratch(copy);
	return copy;
}

/*
 * A head's loss normaliser: its task weight over the total weight of its
 * rows; *missing counts the rows whose target is missing.
 */
static double
HeadNorm(const RfHead *head, int h, const RfMatrix *Y, double **class_weight, int64 *missing)
{
	double		total = 0;

	*missing = 0;

	for (int c = 0; c < Y->nchunks; c++)
	{
		const double *y = RfChunkD(Y, c);
		int			rows = RfChunkRows(Y, c);

		for (int i = 0; i < rows; i++, y += Y->ncols)
		{
			*missing += isnan(y[head->ycol]);
			if (head->kind == RF_HEAD_MULTILABEL)
				total += isnan(y[head->ycol]) ? 0.0 : SampleWeight(head, y);
			else
				total += RowWeight(class_weight, h, y[head->ycol]) * SampleWeight(head, y);
		}
	}
	return total > 0 ? head->weight / total : 0;
}

/*
 * Head h's targets and weights for the kernels: each row's class (0 where
 * missing) and its weight (class weight, row weight, the head's normaliser;
 * 0 where the target, or a hierarchy level's parent, is missing).
 */
static void
HeadCleanTargets(RfHeadData *hd, int h, const RfMatrix *Y, double **class_weight)
{
	const RfHead *heads = hd->heads;
	const RfHead *head = &heads[h];

	hd->yclean[h] = RfAllocAligned(sizeof(double) * Max(Y->nrows, 1));
	hd->wrow[h] = RfAllocAligned(sizeof(double) * Max(Y->nrows, 1));
	for (int c = 0; c < Y->nchunks; c++)
	{
		const double *y = RfChunkD(Y, c);
		int			rows = RfChunkRows(Y, c);
		double	   *w = hd->wrow[h] + (Size) c * RF_CHUNK_ROWS;
		double	   *yc = hd->yclean[h] + (Size) c * RF_CHUNK_ROWS;

		for (int i = 0; i < rows; i++, y += Y->ncols)
		{
			double		yt = y[head->ycol];

			w[i] = RowWeight(class_weight, h, yt) * SampleWeight(head, y) * hd->head_norm[h];
			yc[i] = isnan(yt) ? 0 : yt;
			/* a level of a hierarchy learns only where its parent is known */
			if (head->parent_of && isnan(y[heads[head->parent].ycol]))
				w[i] = 0;
		}
	}
}

RfHeadData *
HeadsPrepare(const RfHead *heads, int nheads, const RfMatrix *Y, double **class_weight,
			 double *ytarget_shift, double *ytarget_scale)
{
	RfHeadData *hd = palloc0(sizeof(RfHeadData));
	int64		missing = 0;

	hd->heads = heads;
	hd->nheads = nheads;
	hd->Y = Y;
	hd->class_weight = class_weight;
	hd->ytarget_shift = ytarget_shift;
	hd->ytarget_scale = ytarget_scale;
	hd->head_norm = palloc0(sizeof(double) * nheads);
	for (int h = 0; h < nheads; h++)
		hd->nout = Max(hd->nout, heads[h].offset + heads[h].nout);

	for (int h = 0; h < nheads; h++)
		hd->head_norm[h] = HeadNorm(&heads[h], h, Y, class_weight, &missing);	/* read for a lone head */

	HeadsScratch(hd);
	/* classification heads: each row's weight and target, ready for the kernels */
	hd->yclean = palloc0(sizeof(double *) * nheads);
	hd->wrow = palloc0(sizeof(double *) * nheads);
	hd->in_place = nheads == 1 && Y->ncols == 1 && heads[0].ycol == 0 && heads[0].wcol < 0 &&
		missing == 0 && !heads[0].soft && !heads[0].parent_of &&
		(class_weight == NULL || class_weight[0] == NULL) &&
		(heads[0].kind == RF_HEAD_BINARY || heads[0].kind == RF_HEAD_MULTICLASS);
	if (hd->in_place)
	{
		/* the very weights and targets the copies would hold, without 16 bytes a row */
		hd->wsame = palloc(sizeof(double) * RF_CHUNK_ROWS);
		for (int i = 0; i < RF_CHUNK_ROWS; i++)
			hd->wsame[i] = hd->head_norm[0];
		return hd;
	}
	for (int h = 0; h < nheads; h++)
	{
		const RfHead *head = &heads[h];

		if ((head->kind != RF_HEAD_BINARY && head->kind != RF_HEAD_MULTICLASS) || head->soft)
			continue;
		HeadCleanTargets(hd, h, Y, class_weight);
	}
	return hd;
}

/*
 * Hessians of a classification head from its gradients: with weight w and
 * one-hot target y, dz = w (p - y), so p = dz / w + y and the diagonal
 * hessian is w p (1 - p).  Outputs outside a row's parent range have dz = 0
 * and p = 0: no curvature, as they have no loss.
 */
static void
ClassHessians(const RfHead *head, int rows, int nout, const double *yv, const double *wv,
			  const float *dZ, float *H)
{
	for (int i = 0; i < rows; i++)
	{
		const float *d = dZ + (Size) i * nout + head->offset;
		float	   *hi = H + (Size) i * nout + head->offset;
		double		w = wv[i];

		for (int k = 0; k < head->nout; k++)
		{
			double		y = head->kind == RF_HEAD_BINARY ? yv[i] : (double) ((int) yv[i] == k);
			double		p = w > 0 ? d[k] / w + y : 0;

			p = Min(Max(p, 0.0), 1.0);
			hi[k] = (float) (w * p * (1 - p));
		}
	}
}

/* The weight of a row for head h: its share of the head's loss, 0 without a target. */
static inline double
HeadRowWeight(const RfHeadData *hd, int h, const double *yrow)
{
	const RfHead *head = &hd->heads[h];
	double		y = yrow[head->ycol];

	if (head->kind == RF_HEAD_MULTILABEL)
		return hd->head_norm[h] * SampleWeight(head, yrow);	/* unknown labels count nothing */
	if (head->kind == RF_HEAD_REGRESSION)
		return RowWeight(hd->class_weight, h, y) * hd->head_norm[h] * SampleWeight(head, yrow);
	return RowWeight(hd->class_weight, h, y) * SampleWeight(head, yrow) * hd->head_norm[h];
}

/*
 * A head's rows one by one in double precision (HeadRowLoss): regression
 * (on standardized targets), multilabel, multiclass on a distribution per
 * row, and the heads whose outputs the caller gave in double precision
 * (RfHeadData.Zd).  The kernels (kernels.c) are the single-precision
 * form of the binary and multiclass rows.
 */
static double
HeadRowsPrecise(RfHeadData *hd, int h, const double *ychunk, int ycols, int rows,
				const float *Z, float *dZ, float *H)
{
	const RfHead *head = &hd->heads[h];
	int			nout = hd->nout;
	double		loss = 0;
	double	   *z = hd->zrow;
	double	   *dz = z + head->nout;
	double	   *p = dz + head->nout;
	double	   *hess = p + head->nout;

	for (int i = 0; i < rows; i++)
	{
		const double *yrow = ychunk + (Size) i * ycols;
		Size		o = (Size) i * nout + head->offset;
		double		w = HeadRowWeight(hd, h, yrow);
		double		yt = yrow[head->ycol];
		const double *y = head->soft || head->kind == RF_HEAD_MULTILABEL ? yrow + head->ycol : &yt;

		if (w == 0)
		{
			for (int k = 0; k < head->nout; k++)
			{
				dZ[o + k] = 0;
				if (H)
					H[o + k] = 0;
			}
			continue;
		}
		if (head->kind == RF_HEAD_BINARY)
		{
			/* one output: HeadRowLoss's own losses without its copies */
			loss += w * HeadLogisticRow(ZAt(hd, Z, o), yt, dz, p);
			dZ[o] = (float) (w * dz[0]);
			if (H)
				H[o] = (float) (w * p[0] * (1 - p[0]));
			continue;
		}
		if (head->kind == RF_HEAD_REGRESSION)
		{
			double		z0 = ZAt(hd, Z, o);

			loss += w * HeadLoss(head, &z0, (yt - hd->ytarget_shift[h]) / hd->ytarget_scale[h], dz, hess);
			dZ[o] = (float) (w * dz[0]);
			if (H)
				H[o] = (float) (w * hess[0]);
			continue;
		}
		for (int k = 0; k < head->nout; k++)
			z[k] = ZAt(hd, Z, o + k);
		loss += w * HeadRowLoss(head, z, y, NULL, dz, p, hess);
		for (int k = 0; k < head->nout; k++)
		{
			dZ[o + k] = (float) (w * dz[k]);
			if (H)
				H[o + k] = (float) (w * hess[k]);
		}
	}
	return loss;
}

double
HeadsLossRows(RfHeadData *hd, int c, int start, int rows, const float *Z, float *dZ, float *H)
{
	const RfMatrix *Y = hd->Y;
	const double *ychunk = RfChunkD(Y, c) + (Size) start * Y->ncols;
	Size		roff = (Size) c * RF_CHUNK_ROWS + start;
	int			nout = hd->nout;
	double		loss = 0;

	for (int h = 0; h < hd->nheads; h++)
	{
		const RfHead *head = &hd->heads[h];
		const double *yv = hd->in_place ? ychunk :
			hd->yclean[h] ? hd->yclean[h] + roff : NULL;
		const double *wv = hd->in_place ? hd->wsame :
			hd->wrow[h] ? hd->wrow[h] + roff : NULL;

		if (head->kind == RF_HEAD_REGRESSION || head->kind == RF_HEAD_MULTILABEL || head->soft ||
			(hd->Zd && !head->parent_of))
			loss += HeadRowsPrecise(hd, h, ychunk, Y->ncols, rows, Z, dZ, H);
		else if (head->kind == RF_HEAD_BINARY)
			loss += RfKernelBinary(rows, Z + head->offset, nout, yv, wv, dZ + head->offset, nout);
		else if (head->parent_of)
			loss += RfKernelSoftmaxRanges(rows, head->nout, Z + head->offset, nout,
										  yv, wv, dZ + head->offset, nout,
										  hd->yclean[head->parent] + roff,
										  head->child_start, head->child_count);
		else
			loss += RfKernelSoftmax(rows, head->nout, Z + head->offset, nout,
									yv, wv, dZ + head->offset, nout, hd->tmp, hd->rowmax);
		if (H && (head->kind == RF_HEAD_BINARY || head->kind == RF_HEAD_MULTICLASS) && !head->soft &&
			!(hd->Zd && !head->parent_of))
			ClassHessians(head, rows, nout, yv, wv, dZ, H);
	}
	return loss;
}

/* ---------- starting point ---------- */

/* Each class's training rows, counted, or with row weights summed. */
static const double *
ClassCounts(const RfHead *head, const RfTarget *t, const RfMatrix *Y)
{
	double	   *counts;

	if (head->wcol < 0)
		return t->counts;
	counts = palloc0(sizeof(double) * t->nclasses);
	for (int64 i = 0; i < Y->nrows; i++)
	{
		const double *y = RfMatrixRow(Y, i);
		double		v = y[head->ycol];

		if (isnan(v))
			continue;
		if (head->kind == RF_HEAD_BINARY)
		{
			/* a soft label counts its share to each class */
			counts[0] += y[head->wcol] * (1 - v);
			counts[1] += y[head->wcol] * v;
		}
		else if (head->soft)
			for (int k = 0; k < t->nclasses; k++)
				counts[k] += y[head->wcol] * y[head->ycol + k];
		else if ((int) v < t->nclasses)
			counts[(int) v] += y[head->wcol];
	}
	return counts;
}

void
HeadBaseMargin(const RfHead *head, const double *counts, const double *class_weight,
			   const double *known, double *b)
{
	int			K = head->kind == RF_HEAD_BINARY ? 2 : head->nout;
	double		total = 0;

	for (int k = 0; k < head->nout; k++)
		b[k] = 0;
	if (head->kind == RF_HEAD_REGRESSION)
		return;
	if (head->kind == RF_HEAD_MULTILABEL)
	{
		/* each label at the logit of its training rate */
		for (int k = 0; k < head->nout; k++)
		{
			double		rate = (0.5 + counts[k]) / (1.0 + known[k]);

			b[k] = log(rate / (1 - rate));
		}
		return;
	}
	for (int k = 0; k < K; k++)
		total += counts[k] * (class_weight ? class_weight[k] : 1.0);
	for (int k = 0; k < K; k++)
	{
		double		share = (counts[k] * (class_weight ? class_weight[k] : 1.0) + 0.5) / (total + 0.5 * K);

		if (head->kind == RF_HEAD_BINARY)
		{
			if (k == 1)
				b[0] = log(share / (1.0 - share));
		}
		else
			b[k] = log(share);
	}
}

void
HeadsBaseMargins(const RfHead *heads, int nheads, const RfTarget *targets,
				 const RfMatrix *Y, double *b)
{
	for (int h = 0; h < nheads; h++)
	{
		const RfHead *head = &heads[h];
		const RfTarget *t = &targets[h];

		if (head->kind == RF_HEAD_MULTILABEL)
		{
			double	   *pos = palloc0(sizeof(double) * head->nout);
			double	   *n = palloc0(sizeof(double) * head->nout);

			for (int64 i = 0; i < Y->nrows; i++)
				for (int k = 0; k < head->nout; k++)
				{
					double		v = RfMatrixRow(Y, i)[head->ycol + k];
					double		w = SampleWeight(head, RfMatrixRow(Y, i));

					if (!isnan(v))
					{
						pos[k] += w * v;
						n[k] += w;
					}
				}
			HeadBaseMargin(head, pos, NULL, n, b + head->offset);
		}
		else
			HeadBaseMargin(head, head->kind == RF_HEAD_REGRESSION ? NULL : ClassCounts(head, t, Y),
						   t->class_weight, NULL, b + head->offset);
	}
}
