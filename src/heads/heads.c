/*
 * heads.c
 *		The heads: their layout over the trunk's outputs, links (sigmoid,
 *		softmax, a hierarchy's paths), and one row's loss, gradient and hessian
 *		(HeadLoss, HeadRowLoss).  Nothing here knows which trunk feeds them.
 */
#include "postgres.h"

#include "heads_int.h"

int
HeadsLayout(RfHead *heads, int nheads)
{
	int			nout = 0;

	for (int h = 0; h < nheads; h++)
	{
		heads[h].offset = nout;
		nout += heads[h].nout;
	}
	return nout;
}

static double
HeadSigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	else
	{
		double		e = exp(z);

		return e / (1.0 + e);
	}
}

void
HeadSetParents(RfHead *head, int parent, int nparents, int *parent_of)
{
	head->parent = parent;
	head->nparents = nparents;
	head->parent_of = parent_of;
	head->child_start = palloc0(sizeof(int) * Max(nparents, 1));
	head->child_count = palloc0(sizeof(int) * Max(nparents, 1));
	for (int k = head->nout - 1; k >= 0; k--)
	{
		head->child_start[parent_of[k]] = k;
		head->child_count[parent_of[k]]++;
	}
}

static void
SoftmaxRange(double *z, int n)
{
	double		m = z[0];
	double		s = 0;

	for (int k = 1; k < n; k++)
		m = Max(m, z[k]);
	for (int k = 0; k < n; k++)
	{
		z[k] = exp(z[k] - m);
		s += z[k];
	}
	for (int k = 0; k < n; k++)
		z[k] /= s;
}

void
HeadLink(const RfHead *head, double *z)
{
	if (head->parent_of)
	{
		/* conditional probabilities: a softmax among each parent's children */
		for (int p = 0; p < head->nparents; p++)
			if (head->child_count[p] > 0)
				SoftmaxRange(z + head->child_start[p], head->child_count[p]);
		return;
	}
	switch (head->kind)
	{
		case RF_HEAD_REGRESSION:
			break;
		case RF_HEAD_BINARY:
		case RF_HEAD_MULTILABEL:
			for (int k = 0; k < head->nout; k++)
				z[k] = HeadSigmoid(z[k]);
			break;
		case RF_HEAD_MULTICLASS:
			SoftmaxRange(z, head->nout);
			break;
	}
}

/*
 * Applies every head's link.  The levels of a hierarchy come out as
 * conditional probabilities, P(class | parent); multiplying down the levels
 * makes them path probabilities, the marginals of each level.
 */
int
HeadPredictedClass(const RfHead *head, const double *p)
{
	const double *w = head->decision_weights;
	int			best = 0;

	if (head->kind == RF_HEAD_BINARY)
		return p[0] >= head->threshold ? 1 : 0;
	for (int k = 1; k < head->nout; k++)
		if (w ? p[k] * w[k] > p[best] * w[best] : p[k] > p[best])
			best = k;
	return best;
}

void
HeadsLink(const RfHead *heads, int nheads, double *out)
{
	for (int h = 0; h < nheads; h++)
	{
		const RfHead *head = &heads[h];

		HeadLink(head, out + head->offset);
		if (head->parent_of)
		{
			const double *up = out + heads[head->parent].offset;

			for (int k = 0; k < head->nout; k++)
				out[head->offset + k] *= up[head->parent_of[k]];
		}
	}
}

const char *
HeadKindName(RfHeadKind kind)
{
	switch (kind)
	{
		case RF_HEAD_REGRESSION:
			return "regression";
		case RF_HEAD_BINARY:
			return "binary";
		case RF_HEAD_MULTICLASS:
			return "multiclass";
		case RF_HEAD_MULTILABEL:
			return "multilabel";
	}
	return "?";
}

const char *
LossName(RfLoss loss)
{
	switch (loss)
	{
		case RF_LOSS_SQUARED:
			return "squared";
		case RF_LOSS_ABSOLUTE:
			return "absolute";
		case RF_LOSS_HUBER:
			return "huber";
		case RF_LOSS_LOG:
			return "log";
		case RF_LOSS_CROSS_ENTROPY:
			return "cross_entropy";
	}
	return "?";
}

/* ---------- losses ---------- */

/*
 * The loss of one row for a regression head and, in dz, its derivative with
 * respect to the head's raw output z (targets standardized).  Where the loss
 * has no useful curvature (absolute error, Huber beyond delta) the hessian
 * is 1, as gradient boosting libraries use for them: a Newton step on such a
 * leaf is then a gradient step.
 */
double
HeadLoss(const RfHead *head, const double *z, double y, double *dz, double *hess)
{
	double		r = z[0] - y;
	double		h = 1.0;
	double		loss;

	Assert(head->kind == RF_HEAD_REGRESSION);
	switch (head->loss)
	{
		case RF_LOSS_ABSOLUTE:
			{
				/* smoothed |r|: sqrt(r^2 + eps^2) - eps, eps small */
				double		eps = 1e-3;
				double		s = sqrt(r * r + eps * eps);

				dz[0] = r / s;
				loss = s - eps;
				break;
			}
		case RF_LOSS_HUBER:
			{
				double		d = head->huber_delta;

				if (fabs(r) <= d)
				{
					dz[0] = r;
					loss = 0.5 * r * r;
				}
				else
				{
					dz[0] = r > 0 ? d : -d;
					loss = d * (fabs(r) - 0.5 * d);
				}
				break;
			}
		default:
			dz[0] = 2.0 * r;
			h = 2.0;
			loss = r * r;
			break;
	}
	if (hess)
		*hess = h;
	return loss;
}

/* log(sum exp z) of n outputs. */
static inline double
LogSumExp(const double *z, int n)
{
	double		m = z[0];
	double		sum = 0;

	for (int k = 1; k < n; k++)
		m = Max(m, z[k]);
	for (int k = 0; k < n; k++)
		sum += exp(z[k] - m);
	return m + log(sum);
}

double
HeadRowLoss(const RfHead *head, const double *z, const double *y, const int *range,
			double *dz, double *p, double *hess)
{
	double		loss = 0;

	switch (head->kind)
	{
		case RF_HEAD_REGRESSION:
			p[0] = z[0];
			return HeadLoss(head, z, y[0], dz, hess);
		case RF_HEAD_BINARY:
			loss = HeadLogisticRow(z[0], y[0], dz, p);
			if (hess)
				hess[0] = p[0] * (1 - p[0]);
			return loss;
		case RF_HEAD_MULTICLASS:
			{
				/* a hierarchy's level: the softmax over its parent's children */
				int			start = range ? range[0] : 0;
				int			n = range ? range[1] : head->nout;
				double		lse = LogSumExp(z + start, n);

				for (int k = 0; k < head->nout; k++)
				{
					double		q = head->soft ? y[k] : k == (int) y[0] ? 1.0 : 0.0;

					p[k] = k >= start && k < start + n ? exp(z[k] - lse) : 0;
					dz[k] = p[k] - q;
					if (hess)
						hess[k] = p[k] * (1 - p[k]);
					if (head->soft)
						loss -= q * (z[k] - lse);
				}
				return head->soft ? loss : lse - z[(int) y[0]];
			}
		case RF_HEAD_MULTILABEL:
			/* the mean over the labels, of those known */
			for (int k = 0; k < head->nout; k++)
			{
				if (isnan(y[k]))
				{
					dz[k] = 0;
					p[k] = HeadSigmoid(z[k]);
					if (hess)
						hess[k] = 0;
					continue;
				}
				loss += HeadLogisticRow(z[k], y[k], &dz[k], &p[k]) / head->nout;
				dz[k] /= head->nout;
				if (hess)
					hess[k] = p[k] * (1 - p[k]) / head->nout;
			}
			return loss;
	}
	return 0;
}
