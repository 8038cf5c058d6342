/*
 * network.c
 *		Trunk and heads: layout, forward pass and storage.
 */
#include "postgres.h"

#include <math.h>

#include <cblas.h>

#include "nodes/pg_list.h"

#include "reframe.h"
#include "jsonutil.h"
#include "matrix.h"
#include "network.h"

int
NetLayerIn(const RfNet *net, int layer)
{
	return layer == 0 ? net->nin : net->hidden[layer - 1];
}

int
NetLayerOut(const RfNet *net, int layer)
{
	return layer == net->nhidden ? net->nout : net->hidden[layer];
}

int
NetMaxWidth(const RfNet *net)
{
	int			w = Max(net->nin, net->nout);

	for (int l = 0; l < net->nhidden; l++)
		w = Max(w, net->hidden[l]);
	return w;
}

/* Lays out the parameters; heads get their offsets here. */
RfNet *
NetCreate(int nin, int nhidden, const int *hidden, int nheads, RfHead *heads)
{
	RfNet	   *net = palloc0(sizeof(RfNet));
	int64		off = 0;

	net->nin = nin;
	net->nhidden = nhidden;
	net->hidden = palloc(sizeof(int) * Max(nhidden, 1));
	memcpy(net->hidden, hidden, sizeof(int) * nhidden);
	net->nheads = nheads;
	net->heads = heads;
	for (int h = 0; h < nheads; h++)
	{
		heads[h].offset = net->nout;
		net->nout += heads[h].nout;
	}
	net->w_off = palloc(sizeof(int64) * (nhidden + 1));
	net->b_off = palloc(sizeof(int64) * (nhidden + 1));
	for (int l = 0; l <= nhidden; l++)
	{
		net->w_off[l] = off;
		off += (int64) NetLayerOut(net, l) * NetLayerIn(net, l);
		net->b_off[l] = off;
		off += NetLayerOut(net, l);
	}
	net->nparams = off;
	net->params = RfAllocAligned(sizeof(double) * Max(off, 1));
	memset(net->params, 0, sizeof(double) * Max(off, 1));
	return net;
}

/* The task of unit u of layer l's output (hidden block, or head). */
static int
UnitTask(const RfNet *net, int l, int u)
{
	if (l == net->nhidden)
	{
		for (int h = 0; h < net->nheads; h++)
			if (u < net->heads[h].offset + net->heads[h].nout)
				return h;
		return net->nheads - 1;
	}
	return u / (net->hidden[l] / net->soft_tasks);
}

bool
NetWeightAllowed(const RfNet *net, int l, int o, int i)
{
	if (net->soft_tasks == 0 || (l == 0 && net->nhidden > 0))
		return true;
	return UnitTask(net, l, o) == UnitTask(net, l - 1, i);
}

/*
 * The closeness penalty strength * sum over tasks |W_t - mean_t W_t|^2, over
 * each hidden layer's task blocks, and its gradient; gradients of weights
 * across tasks are zeroed so that those weights stay zero.
 */
double
NetSoftSharing(const RfNet *net, const double *params, double *grad, double strength)
{
	int			T = net->soft_tasks;
	double		penalty = 0;

	if (T == 0)
		return 0;
	for (int l = 0; l <= net->nhidden; l++)
	{
		int			nout = NetLayerOut(net, l);
		int			nin = NetLayerIn(net, l);

		for (int o = 0; o < nout; o++)
			for (int i = 0; i < nin; i++)
				if (!NetWeightAllowed(net, l, o, i))
					grad[net->w_off[l] + (int64) o * nin + i] = 0;
		if (l == net->nhidden)
			continue;
		{
			/* block t's weight (r, c) sits at row t * bs + r, column c (or t * bsin + c) */
			int			bs = net->hidden[l] / T;
			int			bsin = l == 0 ? nin : nin / T;

			for (int r = 0; r < bs; r++)
				for (int c = 0; c < bsin; c++)
				{
					double		mean = 0;

					for (int t = 0; t < T; t++)
						mean += params[net->w_off[l] + (int64) (t * bs + r) * nin + (l == 0 ? c : t * bsin + c)];
					mean /= T;
					for (int t = 0; t < T; t++)
					{
						int64		k = net->w_off[l] + (int64) (t * bs + r) * nin + (l == 0 ? c : t * bsin + c);
						double		d = params[k] - mean;

						penalty += strength * d * d;
						grad[k] += 2 * strength * d;
					}
				}
		}
	}
	return penalty;
}

/* out = W x + b for one dense layer; short rows avoid the BLAS call overhead. */
static void
DenseRow(const double *W, const double *b, int nout, int nin, const double *x, double *out)
{
	if ((int64) nout * nin >= 4096)
	{
		memcpy(out, b, sizeof(double) * nout);
		cblas_dgemv(CblasRowMajor, CblasNoTrans, nout, nin, 1.0, W, nin, x, 1, 1.0, out, 1);
		return;
	}
	for (int o = 0; o < nout; o++)
		out[o] = ReframeDot(W + (int64) o * nin, x, nin) + b[o];
}

void
NetForwardRow(const RfNet *net, const double *x, double *out, double *scratch)
{
	int			width = NetMaxWidth(net);
	double	   *bufs[2] = {scratch, scratch + width};
	const double *in = x;

	for (int l = 0; l < net->nhidden; l++)
	{
		double	   *h = bufs[l % 2];
		int			n = net->hidden[l];

		DenseRow(net->params + net->w_off[l], net->params + net->b_off[l],
				 n, NetLayerIn(net, l), in, h);
		for (int i = 0; i < n; i++)
			h[i] = h[i] > 0 ? h[i] : 0;
		in = h;
	}
	DenseRow(net->params + net->w_off[net->nhidden], net->params + net->b_off[net->nhidden],
			 net->nout, NetLayerIn(net, net->nhidden), in, out);
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
void
NetLinkHeads(const RfNet *net, double *out)
{
	for (int h = 0; h < net->nheads; h++)
	{
		const RfHead *head = &net->heads[h];

		HeadLink(head, out + head->offset);
		if (head->parent_of)
		{
			const double *up = out + net->heads[head->parent].offset;

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
NetToJson(const RfNet *net, StringInfo buf)
{
	appendStringInfo(buf, "{\"inputs\": %d, \"hidden\": [", net->nin);
	for (int l = 0; l < net->nhidden; l++)
		appendStringInfo(buf, l ? ", %d" : "%d", net->hidden[l]);
	appendStringInfo(buf, "], \"activation\": \"relu\", \"soft_tasks\": %d, \"heads\": [", net->soft_tasks);
	for (int h = 0; h < net->nheads; h++)
	{
		const RfHead *head = &net->heads[h];

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
		if (head->label_thresholds)
		{
			appendStringInfoString(buf, ", \"label_thresholds\": [");
			for (int k = 0; k < head->nout; k++)
			{
				if (k)
					appendStringInfoString(buf, ", ");
				JsonAppendNumber(buf, head->label_thresholds[k]);
			}
			appendStringInfoChar(buf, ']');
		}
		if (head->bin_values)
		{
			appendStringInfoString(buf, ", \"bin_edges\": [");
			for (int k = 0; k + 1 < head->nclasses; k++)
			{
				if (k)
					appendStringInfoString(buf, ", ");
				JsonAppendNumber(buf, head->bin_edges[k]);
			}
			appendStringInfoString(buf, "], \"bin_values\": [");
			for (int k = 0; k < head->nclasses; k++)
			{
				if (k)
					appendStringInfoString(buf, ", ");
				JsonAppendNumber(buf, head->bin_values[k]);
			}
			appendStringInfoChar(buf, ']');
		}
		if (head->nclasses > 0)
		{
			appendStringInfoString(buf, ", \"classes\": [");
			for (int k = 0; k < head->nclasses; k++)
			{
				if (k)
					appendStringInfoString(buf, ", ");
				JsonAppendString(buf, head->classes[k]);
			}
			appendStringInfoChar(buf, ']');
		}
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoString(buf, "]}");
}

static RfBlock *
MakeBlock(const char *name, int rows, int cols, const double *data)
{
	RfBlock    *b = palloc0(sizeof(RfBlock));

	b->name = pstrdup(name);
	b->ndim = cols > 0 ? 2 : 1;
	b->shape[0] = rows;
	b->shape[1] = cols;
	b->data = data;
	return b;
}

/*
 * The parameters as named blocks: "trunk.L.weight"/"trunk.L.bias" for
 * hidden layer L (from 1), and "head.NAME.weight"/"head.NAME.bias".
 */
List *
NetBlocks(const RfNet *net)
{
	List	   *blocks = NIL;
	int			top = net->nhidden;
	int			in = NetLayerIn(net, top);

	for (int l = 0; l < net->nhidden; l++)
	{
		blocks = lappend(blocks, MakeBlock(psprintf("trunk.%d.weight", l + 1), net->hidden[l],
										   NetLayerIn(net, l), net->params + net->w_off[l]));
		blocks = lappend(blocks, MakeBlock(psprintf("trunk.%d.bias", l + 1), net->hidden[l], 0,
										   net->params + net->b_off[l]));
	}
	for (int h = 0; h < net->nheads; h++)
	{
		const RfHead *head = &net->heads[h];

		blocks = lappend(blocks, MakeBlock(psprintf("head.%s.weight", head->name), head->nout, in,
										   net->params + net->w_off[top] + (int64) head->offset * in));
		blocks = lappend(blocks, MakeBlock(psprintf("head.%s.bias", head->name), head->nout, 0,
										   net->params + net->b_off[top] + head->offset));
	}
	return blocks;
}

static RfHeadKind
HeadKindFromName(const char *s)
{
	for (int k = RF_HEAD_REGRESSION; k <= RF_HEAD_MULTILABEL; k++)
		if (s && strcmp(s, HeadKindName(k)) == 0)
			return k;
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("model spec names an unknown head kind \"%s\"", s ? s : "")));
	return RF_HEAD_REGRESSION;
}

static RfLoss
LossFromName(const char *s)
{
	for (int k = RF_LOSS_SQUARED; k <= RF_LOSS_CROSS_ENTROPY; k++)
		if (s && strcmp(s, LossName(k)) == 0)
			return k;
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("model spec names an unknown loss \"%s\"", s ? s : "")));
	return RF_LOSS_SQUARED;
}

/* Rebuilds the network's layout from its JSON; parameters are zero. */
RfNet *
NetFromJson(JsonbContainer *spec, int nin)
{
	JsonbContainer *jhidden = JsonFieldContainer(spec, "hidden");
	JsonbContainer *jheads = JsonFieldContainer(spec, "heads");
	int			nhidden = JsonArraySize(jhidden);
	int			nheads = JsonArraySize(jheads);
	int		   *hidden = palloc(sizeof(int) * Max(nhidden, 1));
	RfHead	   *heads = palloc0(sizeof(RfHead) * Max(nheads, 1));

	for (int l = 0; l < nhidden; l++)
	{
		hidden[l] = (int) JsonValueNumber(JsonArrayElement(jhidden, l));
		if (hidden[l] < 1)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("model spec has an invalid hidden layer size")));
	}
	for (int h = 0; h < nheads; h++)
	{
		JsonbContainer *jh = JsonArrayContainer(jheads, h);
		JsonbContainer *jc = JsonFieldContainer(jh, "classes");
		RfHead	   *head = &heads[h];

		head->name = JsonFieldText(jh, "name", "");
		head->kind = HeadKindFromName(JsonFieldText(jh, "kind", NULL));
		head->loss = LossFromName(JsonFieldText(jh, "loss", NULL));
		head->nout = (int) JsonFieldNumber(jh, "outputs", 1);
		head->weight = JsonFieldNumber(jh, "weight", 1.0);
		head->huber_delta = JsonFieldNumber(jh, "huber_delta", 1.0);
		head->threshold = JsonFieldNumber(jh, "threshold", 0.5);
		head->nclasses = JsonArraySize(jc);
		if (head->nout < 1)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("model spec has a head \"%s\" without outputs", head->name)));
		head->classes = palloc(sizeof(char *) * Max(head->nclasses, 1));
		for (int k = 0; k < head->nclasses; k++)
		{
			head->classes[k] = JsonValueText(JsonArrayElement(jc, k));
			if (head->classes[k] == NULL)
				head->classes[k] = pstrdup("");
		}
		head->parent = -1;
		if (JsonArraySize(JsonFieldContainer(jh, "parent_of")) == head->nout)
		{
			JsonbContainer *jp = JsonFieldContainer(jh, "parent_of");
			int			parent = (int) JsonFieldNumber(jh, "parent", -1);
			int			nparents = (int) JsonFieldNumber(jh, "parents", 0);
			int		   *parent_of = palloc(sizeof(int) * head->nout);

			for (int k = 0; k < head->nout; k++)
			{
				parent_of[k] = (int) JsonValueNumber(JsonArrayElement(jp, k));
				if (parent_of[k] < 0 || parent_of[k] >= nparents ||
					(k > 0 && parent_of[k] < parent_of[k - 1]))
					ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
									errmsg("model spec has an invalid hierarchy for head \"%s\"", head->name)));
			}
			if (parent < 0 || parent >= h)
				ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
								errmsg("model spec has an invalid parent for head \"%s\"", head->name)));
			HeadSetParents(head, parent, nparents, parent_of);
		}
		if (JsonArraySize(JsonFieldContainer(jh, "label_thresholds")) == head->nout)
		{
			JsonbContainer *jt = JsonFieldContainer(jh, "label_thresholds");

			head->label_thresholds = palloc(sizeof(double) * head->nout);
			for (int k = 0; k < head->nout; k++)
				head->label_thresholds[k] = JsonValueNumber(JsonArrayElement(jt, k));
		}
		if (JsonFieldContainer(jh, "bin_values"))
		{
			JsonbContainer *je = JsonFieldContainer(jh, "bin_edges");
			JsonbContainer *jv = JsonFieldContainer(jh, "bin_values");

			if (JsonArraySize(jv) != head->nclasses || JsonArraySize(je) != head->nclasses - 1)
				ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
								errmsg("model spec has inconsistent bins for head \"%s\"", head->name)));
			head->bin_edges = palloc(sizeof(double) * Max(head->nclasses, 1));
			head->bin_values = palloc(sizeof(double) * head->nclasses);
			for (int k = 0; k < head->nclasses; k++)
			{
				head->bin_values[k] = JsonValueNumber(JsonArrayElement(jv, k));
				if (k + 1 < head->nclasses)
					head->bin_edges[k] = JsonValueNumber(JsonArrayElement(je, k));
			}
		}
	}
	{
		RfNet	   *net = NetCreate(nin, nhidden, hidden, nheads, heads);

		net->soft_tasks = (int) JsonFieldNumber(spec, "soft_tasks", 0);
		return net;
	}
}

/* Copies a stored block into the parameters, checking its size. */
void
NetSetBlock(RfNet *net, const char *name, const double *data, int64 n)
{
	List	   *blocks = NetBlocks(net);
	ListCell   *lc;

	foreach(lc, blocks)
	{
		RfBlock    *b = lfirst(lc);
		int64		size = (int64) b->shape[0] * Max(b->shape[1], 1);

		if (strcmp(b->name, name) != 0)
			continue;
		if (size != n)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("parameter block \"%s\" has %lld values, expected %lld",
							name, (long long) n, (long long) size)));
		memcpy((double *) b->data, data, sizeof(double) * n);
		return;
	}
	/* blocks the network does not know (e.g. the encoder's) are not ours */
}

/*
 * Single-precision batch inference.  Training keeps its feature matrix in
 * single precision (half the memory and memory traffic); these run the
 * network over a chunk of it with SGEMV/SGEMM.
 */
RfNetF *
NetSinglePrecision(const RfNet *net)
{
	RfNetF	   *f = palloc0(sizeof(RfNetF));

	f->net = net;
	f->params = RfAllocAligned(sizeof(float) * Max(net->nparams, 1));
	if (net->nhidden > 0)
		f->work = MemoryContextAllocHuge(CurrentMemoryContext,
										 sizeof(float) * 2 * RF_CHUNK_ROWS * NetMaxWidth(net));
	NetRefreshSinglePrecision(f);
	return f;
}

void
NetRefreshSinglePrecision(RfNetF *f)
{
	for (int64 i = 0; i < f->net->nparams; i++)
		f->params[i] = (float) f->net->params[i];
}

/* out (rows x nout) = X W' + b for one dense layer over a block of rows. */
void
DenseBatchF(const float *W, const float *b, int nout, int nin,
			const float *X, int rows, float *out)
{
	if (nout == 1)
	{
		/* a single output is a matrix-vector product: no packing */
		for (int i = 0; i < rows; i++)
			out[i] = b[0];
		cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, nin, 1.0f, X, nin, W, 1, 1.0f, out, 1);
		return;
	}
	for (int i = 0; i < rows; i++)
		memcpy(out + (int64) i * nout, b, sizeof(float) * nout);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, nout, nin,
				1.0f, X, nin, W, nin, 1.0f, out, nout);
}

/* Raw outputs (rows x nout) of a block of encoded rows (rows x nin). */
void
NetForwardBatchF(RfNetF *f, const float *X, int rows, float *out)
{
	const RfNet *net = f->net;
	const float *in = X;
	int64		width = NetMaxWidth(net);

	for (int l = 0; l < net->nhidden; l++)
	{
		float	   *h = f->work + (l % 2) * rows * width;
		int64		n = (int64) rows * net->hidden[l];

		DenseBatchF(f->params + net->w_off[l], f->params + net->b_off[l],
					net->hidden[l], NetLayerIn(net, l), in, rows, h);
		for (int64 i = 0; i < n; i++)
			h[i] = h[i] > 0 ? h[i] : 0;
		in = h;
	}
	DenseBatchF(f->params + net->w_off[net->nhidden], f->params + net->b_off[net->nhidden],
				net->nout, NetLayerIn(net, net->nhidden), in, rows, out);
}
