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
#include "kernels.h"
#include "matrix.h"
#include "network.h"
#include "optim.h"
#include "targets.h"

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
	net->nout = HeadsLayout(heads, nheads);
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

/* The network's part of a version's spec (its heads are written beside it). */
void
NetToJson(const RfNet *net, StringInfo buf)
{
	appendStringInfoString(buf, "\"hidden\": [");
	for (int l = 0; l < net->nhidden; l++)
		appendStringInfo(buf, l ? ", %d" : "%d", net->hidden[l]);
	appendStringInfo(buf, "], \"activation\": \"relu\", \"soft_tasks\": %d", net->soft_tasks);
	if (net->importance)
	{
		appendStringInfoString(buf, ", \"importance\": [");
		for (int j = 0; j < net->nin; j++)
		{
			if (j)
				appendStringInfoString(buf, ", ");
			JsonAppendNumber(buf, net->importance[j]);
		}
		appendStringInfoChar(buf, ']');
	}
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
		blocks = lappend(blocks, RfBlockMake(psprintf("trunk.%d.weight", l + 1), net->hidden[l],
										   NetLayerIn(net, l), net->params + net->w_off[l]));
		blocks = lappend(blocks, RfBlockMake(psprintf("trunk.%d.bias", l + 1), net->hidden[l], 0,
										   net->params + net->b_off[l]));
	}
	for (int h = 0; h < net->nheads; h++)
	{
		const RfHead *head = &net->heads[h];

		blocks = lappend(blocks, RfBlockMake(psprintf("head.%s.weight", head->name), head->nout, in,
										   net->params + net->w_off[top] + (int64) head->offset * in));
		blocks = lappend(blocks, RfBlockMake(psprintf("head.%s.bias", head->name), head->nout, 0,
										   net->params + net->b_off[top] + head->offset));
	}
	return blocks;
}

/*
 * Rebuilds a network's layout from its spec, for the laid-out heads;
 * parameters are zero.  Checked: hidden layers, each split evenly among the
 * tasks of soft sharing, and no more parameters than stored.
 */
RfNet *
NetFromJson(JsonbContainer *spec, int nin, int nheads, RfHead *heads, int64 stored)
{
	JsonbContainer *jhidden = SpecArray(spec, "network", "hidden", false);
	JsonbContainer *ji = SpecArray(spec, "network", "importance", false);
	int			nhidden = JsonArraySize(jhidden);
	int		   *hidden = palloc(sizeof(int) * Max(nhidden, 1));
	int			soft_tasks = SpecInt(spec, "network", "soft_tasks", 0, 0, nheads);
	int64		nparams = 0;
	int64		in = nin;
	RfNet	   *net;

	if (nhidden > RF_MAX_LAYERS)
		SpecCorrupt("spec field \"network.hidden\" lists %d layers, more than %d", nhidden, RF_MAX_LAYERS);
	if (soft_tasks == 1 || (soft_tasks > 0 && nhidden == 0))
		SpecCorrupt("spec field \"network.soft_tasks\" cannot be %d", soft_tasks);
	for (int l = 0; l <= nhidden; l++)
	{
		int64		out = l < nhidden ? SpecElementInt(jhidden, "network", "hidden", l, 1, RF_MAX_HIDDEN) :
			heads[nheads - 1].offset + heads[nheads - 1].nout;

		if (l < nhidden)
			hidden[l] = (int) out;
		if (l < nhidden && soft_tasks > 0 && hidden[l] % soft_tasks != 0)
			SpecCorrupt("spec field \"network.hidden\": layer %d's %d units do not split among %d tasks",
						l + 1, hidden[l], soft_tasks);
		nparams += (in + 1) * out;
		if (nparams > stored)
			SpecCorrupt("spec field \"network\" describes more parameters than its blocks hold (%lld)",
						(long long) stored);
		in = out;
	}
	net = NetCreate(nin, nhidden, hidden, nheads, heads);
	net->soft_tasks = soft_tasks;
	if (ji != NULL)
	{
		if (JsonArraySize(ji) != nin)
			SpecCorrupt("spec field \"network.importance\" has %d values for %d inputs",
						JsonArraySize(ji), nin);
		net->importance = palloc(sizeof(double) * Max(nin, 1));
		for (int j = 0; j < nin; j++)
			net->importance[j] = SpecElementNumber(ji, "network", "importance", j);
	}
	return net;
}

/* Copies a stored block into the parameters, checking its size. */
bool
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
			SpecCorrupt("block \"%s\" has %lld values, expected %lld", name, (long long) n, (long long) size);
		memcpy((double *) b->data, data, sizeof(double) * n);
		net->blocks_set++;
		return true;
	}
	/* blocks the network does not know (e.g. the encoder's) are not ours */
	return false;
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
static void
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

/*
 * The forward pass over a block of encoded rows X (rows x nin): each layer's
 * outputs into acts[l] (rows x its width), ReLU on the hidden layers, the
 * raw outputs in acts[nhidden].  Training keeps every layer's (for the
 * backward pass) and offers its core between layers (yield: a wide layer
 * over a chunk takes milliseconds); scoring passes two buffers in turn and
 * never yields.
 */
void
NetForwardLayers(const RfNetF *f, const float *X, int rows, float *const *acts, bool yield)
{
	const RfNet *net = f->net;

	for (int l = 0; l <= net->nhidden; l++)
	{
		int			nout = NetLayerOut(net, l);
		float	   *a = acts[l];	/* a local pointer: the loop below then vectorizes */

		DenseBatchF(f->params + net->w_off[l], f->params + net->b_off[l], nout,
					NetLayerIn(net, l), l == 0 ? X : acts[l - 1], rows, a);
		if (l < net->nhidden)
			for (Size k = 0; k < (Size) rows * nout; k++)
				a[k] = a[k] > 0 ? a[k] : 0;
		if (yield)
			ReframeYield();
	}
}

/*
 * The backward pass over the same block: from dZ, the loss's derivative
 * with respect to the raw outputs (rows x nout, overwritten), each layer's
 * weight and bias gradients added to grad (laid out as the parameters);
 * dA (rows x the widest layer) and gW (the largest weight matrix) are
 * scratch.
 */
void
NetBackwardLayers(const RfNetF *f, const float *X, float *const *acts, int rows,
				  float *dZ, float *dA, float *gW, double *grad)
{
	const RfNet *net = f->net;
	int			width = net->nout;

	for (int l = net->nhidden; l >= 0; l--)
	{
		const float *in = l == 0 ? X : acts[l - 1];
		int			nin = NetLayerIn(net, l);
		double	   *gWl = grad + net->w_off[l];
		int64		nw = (int64) width * nin;

		if (width == 1)
			cblas_sgemv(CblasRowMajor, CblasTrans, rows, nin, 1.0f, in, nin, dZ, 1, 0.0f, gW, 1);
		else
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, width, nin, rows,
						1.0f, dZ, width, in, nin, 0.0f, gW, nin);
		for (int64 k = 0; k < nw; k++)
			gWl[k] += gW[k];
		RfKernelColumnSums(rows, width, dZ, grad + net->b_off[l]);
		if (l == 0)
			break;
		/* dA = dZ W, then through the ReLU of layer l - 1 */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, nin, width,
					1.0f, dZ, width, f->params + net->w_off[l], nin, 0.0f, dA, nin);
		{
			const float *a = acts[l - 1];

			for (Size k = 0; k < (Size) rows * nin; k++)
				dZ[k] = a[k] > 0 ? dA[k] : 0;
		}
		width = nin;
		ReframeYield();
	}
}

/* Raw outputs (rows x nout) of a block of encoded rows (rows x nin). */
void
NetForwardBatchF(RfNetF *f, const float *X, int rows, float *out)
{
	const RfNet *net = f->net;
	int64		width = NetMaxWidth(net);
	float	   *acts[RF_MAX_LAYERS + 1];

	/* the hidden layers in two buffers by turns, the last into out */
	for (int l = 0; l < net->nhidden; l++)
		acts[l] = f->work + (l % 2) * rows * width;
	acts[net->nhidden] = out;
	NetForwardLayers(f, X, rows, acts, false);
}

/* ---------- fitting helpers shared by the linear and neural families ---------- */

void
NetStartAtBaseRates(RfNet *net, RfFitData *d)
{
	HeadsBaseMargins(net->heads, net->nheads, d->targets, d->Y,
					 net->params + net->b_off[net->nhidden]);
}

/*
 * L-BFGS on objective fn from the net's parameters, which then hold the
 * minimum with the regression heads in the target's units; a NOTICE when it
 * did not converge.
 */
void
NetMinimizeLbfgs(RfNet *net, RfFitData *d, RfFitResult *res, RfEvalFn fn, void *arg)
{
	double	   *x = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * net->nparams);

	memcpy(x, net->params, sizeof(double) * net->nparams);
	LbfgsMinimize(fn, arg, x, net->nparams, d->opts->max_iter, d->opts->tol,
				  d->opts->verbose ? d->model_name : NULL, NULL, &res->opt);
	memcpy(net->params, x, sizeof(double) * net->nparams);
	pfree(x);
	NetDestandardizeHeads(net, d->targets);
	if (!res->opt.converged && !d->quiet)
		ereport(NOTICE,
				(errmsg("model \"%s\": L-BFGS stopped after %d iterations without converging",
						d->model_name, res->opt.iterations),
				 errhint("Raise \"max_iter\", or loosen \"tol\" (now %g).", d->opts->tol)));
}

/*
 * The regression heads' weights and biases from the standardized scale a
 * fit works on to the targets' units, or (to_units false: a warm start's
 * start) back.
 */
static void
NetScaleHeads(RfNet *net, RfTarget *targets, bool to_units)
{
	int			top = net->nhidden;
	int			in = NetLayerIn(net, top);

	for (int h = 0; h < net->nheads; h++)
	{
		RfHead	   *head = &net->heads[h];
		double	   *W = net->params + net->w_off[top] + (Size) head->offset * in;
		double	   *b = net->params + net->b_off[top] + head->offset;
		double		sd = targets[h].sd;

		if (head->kind != RF_HEAD_REGRESSION)
			continue;
		for (int k = 0; k < in; k++)
			W[k] = to_units ? W[k] * sd : W[k] / sd;
		b[0] = to_units ? b[0] * sd + targets[h].mean : (b[0] - targets[h].mean) / sd;
	}
}

void
NetStartFrom(RfNet *net, RfFitData *d)
{
	const RfNet *from = d->warm->state;
	bool		same = from->nparams == net->nparams && from->nhidden == net->nhidden &&
		from->nin == net->nin && from->soft_tasks == net->soft_tasks;

	for (int l = 0; same && l < net->nhidden; l++)
		same = from->hidden[l] == net->hidden[l];
	if (!same)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\": a warm start continues the deployed version's network of %lld parameters, and these options make one of %lld",
						d->model_name, (long long) from->nparams, (long long) net->nparams),
				 errhint("Leave out \"hidden\" and \"sharing\", or train without \"warm_start\".")));
	memcpy(net->params, from->params, sizeof(double) * net->nparams);
	NetScaleHeads(net, d->targets, false);
}

void
NetDestandardizeHeads(RfNet *net, RfTarget *targets)
{
	NetScaleHeads(net, targets, true);
}

void
NetFitArrays(RfNet *net, RfFitData *d, double ***cw, double **shift, double **scale)
{
	*cw = palloc0(sizeof(double *) * net->nheads);
	*shift = palloc0(sizeof(double) * net->nheads);
	*scale = palloc(sizeof(double) * net->nheads);
	for (int h = 0; h < net->nheads; h++)
	{
		RfTarget   *t = &d->targets[Min(h, d->ntargets - 1)];

		(*cw)[h] = t->class_weight;
		(*shift)[h] = t->mean;
		(*scale)[h] = t->sd;
	}
}

/* ---------- the trunk functions of the network families ---------- */

void
NetTrunkForwardRow(const RfTrunk *t, const double *x, double *out, double *scratch)
{
	NetForwardRow(t->state, x, out, scratch);
}

int
NetTrunkRowScratch(const RfTrunk *t)
{
	return 2 * NetMaxWidth(t->state);
}

void *
NetTrunkBatchBegin(const RfTrunk *t)
{
	return NetSinglePrecision(t->state);
}

void
NetTrunkForwardBatch(void *batch, const float *X, int rows, float *out)
{
	NetForwardBatchF(batch, X, rows, out);
}

void
NetTrunkToJson(const RfTrunk *t, StringInfo buf)
{
	NetToJson(t->state, buf);
}

List *
NetTrunkBlocks(const RfTrunk *t)
{
	return NetBlocks(t->state);
}

void
NetTrunkFromJson(RfTrunk *t, JsonbContainer *spec, int64 stored)
{
	t->state = NetFromJson(spec, t->nin, t->nheads, t->heads, stored);
}

/* The output layer's biases take the shift. */
void
NetTrunkShiftOutputs(RfTrunk *t, const double *delta)
{
	RfNet	   *net = t->state;

	for (int o = 0; o < net->nout; o++)
		net->params[net->b_off[net->nhidden] + o] += delta[o];
}

bool
NetTrunkSetBlock(RfTrunk *t, const char *name, const double *data, int64 n)
{
	return NetSetBlock(t->state, name, data, n);
}

void
NetTrunkCheckLoaded(const RfTrunk *t, const char *model, int32 version)
{
	RfNet	   *net = t->state;
	List	   *blocks = NetBlocks(net);

	if (net->blocks_set != list_length(blocks))
		SpecCorrupt("%d of the %d parameter blocks the spec names are stored",
					net->blocks_set, list_length(blocks));
}
