/*
 * heads.c
 *		Links, losses, gradients and hessians of the heads, and their part of
 *		a version's spec.  Nothing here knows which trunk feeds the heads.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "utils/float.h"

#include "reframe.h"
#include "heads.h"
#include "jsonutil.h"
#include "kernels.h"
#include "targets.h"

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
Sigmoid(double z)
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
				z[k] = Sigmoid(z[k]);
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

void
HeadsToJson(const RfHead *heads, int nheads, StringInfo buf)
{
	appendStringInfoChar(buf, '[');
	for (int h = 0; h < nheads; h++)
	{
		const RfHead *head = &heads[h];

		appendStringInfoString(buf, h ? ", {\"name\": " : "{\"name\": ");
		JsonAppendString(buf, head->name);
		appendStringInfo(buf, ", \"kind\": \"%s\", \"loss\": \"%s\", \"outputs\": %d, \"weight\": ",
						 HeadKindName(head->kind), LossName(head->loss), head->nout);
		JsonAppendNumber(buf, head->weight);
		if (head->loss == RF_LOSS_HUBER)
		{
			appendStringInfoString(buf, ", \"huber_delta\": ");
			JsonAppendNumber(buf, head->huber_delta);
		}
		if (head->kind == RF_HEAD_BINARY)
		{
			appendStringInfoString(buf, ", \"threshold\": ");
			JsonAppendNumber(buf, head->threshold);
		}
		if (head->parent_of)
		{
			appendStringInfo(buf, ", \"parent\": %d, \"parents\": %d, \"parent_of\": [",
							 head->parent, head->nparents);
			for (int k = 0; k < head->nout; k++)
				appendStringInfo(buf, k ? ", %d" : "%d", head->parent_of[k]);
			appendStringInfoChar(buf, ']');
		}
		if (head->soft)
			appendStringInfoString(buf, ", \"soft\": true");
		if (head->decision_weights)
			JsonAppendNumbers(buf, "decision_weights", head->decision_weights, head->nout);
		if (head->label_thresholds)
			JsonAppendNumbers(buf, "label_thresholds", head->label_thresholds, head->nout);
		if (head->bin_values)
		{
			JsonAppendNumbers(buf, "bin_edges", head->bin_edges, head->nclasses - 1);
			JsonAppendNumbers(buf, "bin_values", head->bin_values, head->nclasses);
		}
		if (head->nclasses > 0)
			JsonAppendStrings(buf, "classes", head->classes, head->nclasses);
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoChar(buf, ']');
}

static RfHeadKind
HeadKindFromName(const char *s, const char *where)
{
	for (int k = RF_HEAD_REGRESSION; k <= RF_HEAD_MULTILABEL; k++)
		if (strcmp(s, HeadKindName(k)) == 0)
			return k;
	SpecCorrupt("spec field \"%s.kind\" names an unknown head kind \"%s\"", where, s);
}

static RfLoss
LossFromName(const char *s, const char *where)
{
	for (int k = RF_LOSS_SQUARED; k <= RF_LOSS_CROSS_ENTROPY; k++)
		if (strcmp(s, LossName(k)) == 0)
			return k;
	SpecCorrupt("spec field \"%s.loss\" names an unknown loss \"%s\"", where, s);
}

/* Whether a head of this kind is trained with this loss. */
static bool
HeadLossFits(RfHeadKind kind, RfLoss loss)
{
	switch (kind)
	{
		case RF_HEAD_REGRESSION:
			return loss == RF_LOSS_SQUARED || loss == RF_LOSS_ABSOLUTE || loss == RF_LOSS_HUBER;
		case RF_HEAD_BINARY:
		case RF_HEAD_MULTILABEL:
			return loss == RF_LOSS_LOG;
		case RF_HEAD_MULTICLASS:
			return loss == RF_LOSS_CROSS_ENTROPY;
	}
	return false;
}

/* An array of n finite numbers stored under key, or NULL when absent. */
static double *
HeadNumbers(JsonbContainer *jh, const char *where, const char *key, int n, double lo, double hi)
{
	JsonbContainer *ja = SpecArray(jh, where, key, false);
	double	   *v;

	if (ja == NULL)
		return NULL;
	if (JsonArraySize(ja) != n)
		SpecCorrupt("spec field \"%s.%s\" has %d values, not %d", where, key, JsonArraySize(ja), n);
	v = palloc(sizeof(double) * Max(n, 1));
	for (int k = 0; k < n; k++)
	{
		v[k] = SpecElementNumber(ja, where, key, k);
		if (v[k] < lo || v[k] > hi)
			SpecCorrupt("spec field \"%s.%s\" must hold numbers from %g to %g, not %g",
						where, key, lo, hi, v[k]);
	}
	return v;
}

/*
 * A level of a hierarchy: parent_of (one coarse class per class, sorted),
 * the head of the level above (an earlier multiclass head) and its classes,
 * each with at least one child.
 */
static void
HeadHierarchyFromJson(RfHead *heads, int h, JsonbContainer *jh, const char *where)
{
	RfHead	   *head = &heads[h];
	JsonbContainer *jp = SpecArray(jh, where, "parent_of", false);
	int			parent;
	int			nparents;
	int		   *parent_of;

	head->parent = -1;
	if (jp == NULL)
		return;
	if (head->kind != RF_HEAD_MULTICLASS)
		SpecCorrupt("spec field \"%s.parent_of\" belongs to a multiclass head only", where);
	parent = SpecInt(jh, where, "parent", -1, 0, h - 1);
	if (heads[parent].kind != RF_HEAD_MULTICLASS)
		SpecCorrupt("spec field \"%s.parent\" names head %d, which is not multiclass", where, parent);
	nparents = SpecInt(jh, where, "parents", -1, heads[parent].nout, heads[parent].nout);
	if (JsonArraySize(jp) != head->nout)
		SpecCorrupt("spec field \"%s.parent_of\" has %d entries for %d classes", where,
					JsonArraySize(jp), head->nout);
	parent_of = palloc(sizeof(int) * head->nout);
	for (int k = 0; k < head->nout; k++)
	{
		parent_of[k] = SpecElementInt(jp, where, "parent_of", k, 0, nparents - 1);
		if (k > 0 && parent_of[k] != parent_of[k - 1] && parent_of[k] != parent_of[k - 1] + 1)
			SpecCorrupt("spec field \"%s.parent_of\" must list every parent class in order", where);
	}
	if (parent_of[0] != 0 || parent_of[head->nout - 1] != nparents - 1)
		SpecCorrupt("spec field \"%s.parent_of\" must list every parent class in order", where);
	HeadSetParents(head, parent, nparents, parent_of);
}

/* A head's optional lists: decision weights, label thresholds, buckets. */
static void
HeadArraysFromJson(RfHead *head, JsonbContainer *jh, const char *where)
{
if (JsonField(jh, "decision_weights") && head->kind != RF_HEAD_MULTICLASS)
	SpecCorrupt("spec field \"%s.decision_weights\" belongs to a multiclass head only", where);
head->decision_weights = HeadNumbers(jh, where, "decision_weights", head->nout, DBL_MIN, DBL_MAX);
if (JsonField(jh, "label_thresholds") && head->kind != RF_HEAD_MULTILABEL)
	SpecCorrupt("spec field \"%s.label_thresholds\" belongs to a multilabel head only", where);
head->label_thresholds = HeadNumbers(jh, where, "label_thresholds", head->nout, 0, 1);
if (JsonField(jh, "bin_values") || JsonField(jh, "bin_edges"))
{
	if (head->kind != RF_HEAD_MULTICLASS || head->parent >= 0)
		SpecCorrupt("spec field \"%s.bin_values\" belongs to a multiclass head of buckets only", where);
	head->bin_values = HeadNumbers(jh, where, "bin_values", head->nclasses, -DBL_MAX, DBL_MAX);
	head->bin_edges = HeadNumbers(jh, where, "bin_edges", head->nclasses - 1, -DBL_MAX, DBL_MAX);
	if (head->bin_values == NULL || head->bin_edges == NULL)
		SpecCorrupt("spec field \"%s\" needs both \"bin_values\" and \"bin_edges\"", where);
	for (int k = 1; k + 1 < head->nclasses; k++)
		if (!(head->bin_edges[k] > head->bin_edges[k - 1]))
			SpecCorrupt("spec field \"%s.bin_edges\" must increase", where);
}
}

/* Head h of a stored spec, checked whole: its kind, loss, outputs, classes and hierarchy. */
static void
HeadFromJson(RfHead *heads, int h, JsonbContainer *jh, const char *where)
{
	JsonbContainer *jc = SpecArray(jh, where, "classes", false);
	RfHead	   *head = &heads[h];
	const char *dup;

	head->wcol = -1;		/* row weights are training's */
	head->name = SpecText(jh, where, "name", NULL);
	if (head->name[0] == '\0')
		SpecCorrupt("spec field \"%s.name\" is empty", where);
	head->kind = HeadKindFromName(SpecText(jh, where, "kind", NULL), where);
	head->loss = LossFromName(SpecText(jh, where, "loss", NULL), where);
	if (!HeadLossFits(head->kind, head->loss))
		SpecCorrupt("spec field \"%s.loss\": a %s head has no loss \"%s\"", where,
					HeadKindName(head->kind), LossName(head->loss));
	head->nout = SpecInt(jh, where, "outputs", 1, 1, RF_MAX_OUTPUTS);
	head->weight = SpecNumber(jh, where, "weight", 1.0, 0, DBL_MAX);
	head->huber_delta = SpecNumber(jh, where, "huber_delta", 1.0, DBL_MIN, DBL_MAX);
	head->threshold = SpecNumber(jh, where, "threshold", 0.5, 0, 1);
	head->nclasses = JsonArraySize(jc);
	head->classes = palloc(sizeof(char *) * Max(head->nclasses, 1));
	for (int k = 0; k < head->nclasses; k++)
		head->classes[k] = SpecElementText(jc, where, "classes", k);

	/* the names of the outputs, one per output (two for a binary head) */
	if ((head->kind == RF_HEAD_REGRESSION && head->nout != 1) ||
		(head->kind == RF_HEAD_BINARY && head->nout != 1))
		SpecCorrupt("spec field \"%s.outputs\": a %s head has one output, not %d", where,
					HeadKindName(head->kind), head->nout);
	if (head->nclasses != (head->kind == RF_HEAD_REGRESSION ? 0 :
						   head->kind == RF_HEAD_BINARY ? 2 : head->nout))
		SpecCorrupt("spec field \"%s.classes\" has %d entries for the %d outputs of a %s head",
					where, head->nclasses, head->nout, HeadKindName(head->kind));
	if ((dup = SpecDuplicateName(head->classes, head->nclasses)) != NULL)
		SpecCorrupt("spec field \"%s.classes\" lists \"%s\" twice", where, dup);

	HeadHierarchyFromJson(heads, h, jh, where);
	if (head->kind == RF_HEAD_MULTICLASS && head->parent < 0 && head->nout < 2)
		SpecCorrupt("spec field \"%s.outputs\": a multiclass head has at least 2 classes", where);
	head->soft = head->kind == RF_HEAD_MULTICLASS && JsonFieldBool(jh, "soft", false);
	HeadArraysFromJson(head, jh, where);
}

/*
 * The heads of a stored spec, checked whole: each list against the outputs
 * it describes, every number finite and in range; offsets laid out.  The
 * spec is untrusted (see jsonutil.h): nothing it says may reach past an
 * array at scoring time.
 */
RfHead *
HeadsFromJson(JsonbContainer *jheads, int *nheads_out)
{
	int			nheads = JsonArraySize(jheads);
	RfHead	   *heads = palloc0(sizeof(RfHead) * Max(nheads, 1));
	char	  **names = palloc(sizeof(char *) * Max(nheads, 1));
	int64		nout = 0;
	const char *dup;

	if (jheads == NULL || !JsonContainerIsArray(jheads) || nheads < 1)
		SpecCorrupt("spec field \"network.heads\" must be an array of at least one head");
	for (int h = 0; h < nheads; h++)
	{
		char	   *where = psprintf("network.heads[%d]", h);

		HeadFromJson(heads, h, SpecElementObject(jheads, "network", "heads", h), where);
		names[h] = heads[h].name;
		nout += heads[h].nout;
		if (nout > RF_MAX_OUTPUTS)
			SpecCorrupt("spec field \"network.heads\" has more than %d outputs", RF_MAX_OUTPUTS);
	}
	if ((dup = SpecDuplicateName(names, nheads)) != NULL)
		SpecCorrupt("spec field \"network.heads\" names head \"%s\" twice", dup);
	HeadsLayout(heads, nheads);
	*nheads_out = nheads;
	return heads;
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

/*
 * The logistic loss of raw output z for a 0/1 target y, stable for any z:
 * p = sigmoid(z) into *p and the derivative p - y into *dz.
 */
static inline double
LogisticRow(double z, double y, double *dz, double *p)
{
	double		e = exp(-fabs(z));

	*p = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
	*dz = *p - y;
	return Max(z, 0.0) + log1p(e) - y * z;
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
			loss = LogisticRow(z[0], y[0], dz, p);
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
					p[k] = Sigmoid(z[k]);
					if (hess)
						hess[k] = 0;
					continue;
				}
				loss += LogisticRow(z[k], y[k], &dz[k], &p[k]) / head->nout;
				dz[k] /= head->nout;
				if (hess)
					hess[k] = p[k] * (1 - p[k]) / head->nout;
			}
			return loss;
	}
	return 0;
}

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
			loss += w * LogisticRow(ZAt(hd, Z, o), yt, dz, p);
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
