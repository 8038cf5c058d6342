/*
 * family.c
 *		What every family's trunk shares: its heads, its place in a
 *		version's spec, batch forward passes, its heads' metrics (the
 *		families themselves are listed in families.c).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "reframe.h"
#include "evaluate.h"
#include "family.h"
#include "jsonutil.h"
#include "threads.h"

RfBlock *
RfBlockMake(const char *name, int rows, int cols, const double *data)
{
	RfBlock    *b = palloc0(sizeof(RfBlock));

	b->name = pstrdup(name);
	b->ndim = cols > 0 ? 2 : 1;
	b->shape[0] = rows;
	b->shape[1] = cols;
	b->data = data;
	return b;
}

RfTrunk *
TrunkCreate(const RfFamily *f, const RfOptions *opts, int nin, RfHead *heads, int nheads)
{
	RfTrunk    *t = palloc0(sizeof(RfTrunk));

	t->family = f;
	t->nin = nin;
	t->heads = heads;
	t->nheads = nheads;
	t->nout = HeadsLayout(heads, nheads);
	f->create(t, opts, nin);
	return t;
}

/*
 * The spec's "network" object: the family, the encoded width, the family's
 * own layout and the heads.
 */
void
TrunkToJson(const RfTrunk *t, StringInfo buf)
{
	appendStringInfo(buf, "{\"family\": \"%s\", \"inputs\": %d, ", t->family->name, t->nin);
	t->family->to_json(t, buf);
	appendStringInfoString(buf, ", \"heads\": ");
	HeadsToJson(t->heads, t->nheads, buf);
	appendStringInfoChar(buf, '}');
}

void
TrunkForwardMatrix(const RfTrunk *t, const RfMatrix *X, RfChunkFn fn, void *arg)
{
	void	   *batch = t->family->batch_begin(t);
	float	   *out = MemoryContextAllocHuge(CurrentMemoryContext,
											 sizeof(float) * RF_CHUNK_ROWS * Max(t->nout, 1));

	for (int c = 0; c < X->nchunks; c++)
	{
		int			rows = RfChunkRows(X, c);

		t->family->forward_batch(batch, RfChunkF(X, c), rows, out);
		fn(arg, c, rows, out);
		ReframeYield();
		CHECK_FOR_INTERRUPTS();
	}
	pfree(out);
}

/* Chunks measured between two merges of their accumulators */
#define EVAL_WAVE_CHUNKS 16

/*
 * A chunk's accumulator for a head, alone in its cache lines (as are its
 * arrays and each thread's z): threads adding rows to neighbouring
 * accumulators would otherwise pass lines back and forth at every row.
 */
#define CACHE_LINE 64
typedef union EvalPart
{
	RfEvalAcc	acc;
	char		lines[TYPEALIGN(CACHE_LINE, sizeof(RfEvalAcc))];
} EvalPart;

/* A wave of chunks, whose outputs threads compute and add to each chunk's accumulators. */
typedef struct EvalWave
{
	const RfTrunk *t;
	const RfMatrix *X;
	const RfMatrix *Y;
	const double *const *bin_raw;
	int			first;			/* the wave's first chunk */
	void	   *batch[RF_MAX_THREADS];	/* per thread: the family's forward state */
	float	   *out;			/* per thread: RF_CHUNK_ROWS x nout outputs */
	Size		outstride;
	EvalPart   *part;			/* per chunk of the wave: one per head */
	double	   *z;				/* per thread: zstride values */
	int			zstride;
} EvalWave;

/* n zeros alone in their cache lines */
static double *
LineZeros(const double *was, int n)
{
	Size		bytes = TYPEALIGN(CACHE_LINE, sizeof(double) * Max(n, 1));
	double	   *p;

	if (was == NULL)
		return NULL;
	p = RfAllocAligned(bytes);
	memset(p, 0, bytes);
	return p;
}

static void
EvalPartInit(RfEvalAcc *part, const RfHead *head, const RfEvalAcc *acc)
{
	int			K = head->kind == RF_HEAD_BINARY ? 2 : head->nout;

	EvalAccInit(part, head, acc->keep_scores);
	part->keep_pairs = acc->keep_pairs;
	part->confusion = LineZeros(part->confusion, K * K);
	part->tp = LineZeros(part->tp, head->nout);
	part->fp = LineZeros(part->fp, head->nout);
	part->fn = LineZeros(part->fn, head->nout);
}

static void
EvalWaveChunk(void *arg, int task, int thread)
{
	EvalWave   *w = arg;
	const RfTrunk *t = w->t;
	int			c = w->first + task;
	int			rows = RfChunkRows(w->Y, c);
	float	   *out = w->out + w->outstride * thread;
	EvalPart   *acc = w->part + (Size) task * t->nheads;
	double	   *z = w->z + (Size) thread * w->zstride;

	t->family->forward_batch(w->batch[thread], RfChunkF(w->X, c), rows, out);
	ReframeYield();
	for (int i = 0; i < rows; i++)
	{
		const double *y = RfChunkD(w->Y, c) + (Size) i * w->Y->ncols;

		for (int k = 0; k < t->nout; k++)
			z[k] = out[(Size) i * t->nout + k];
		HeadsLink(t->heads, t->nheads, z);
		if ((i & 1023) == 0)
			ReframeYield();
		for (int h = 0; h < t->nheads; h++)
		{
			const RfHead *head = &t->heads[h];

			EvalAccAddRow(&acc[h].acc, z + head->offset, y + head->ycol,
						  head->wcol >= 0 ? y[head->wcol] : 1.0);
			if (head->bin_values && w->bin_raw && w->bin_raw[h] && !isnan(y[head->ycol]))
				EvalAccAddExpected(&acc[h].acc, z + head->offset,
								   w->bin_raw[h][(int64) c * RF_CHUNK_ROWS + i]);
		}
	}
}

/* Each chunk's accumulators of the wave, their kept scores in acc's arrays at the chunk's rows. */
static void
EvalWaveParts(EvalWave *w, RfEvalAcc *acc, int n)
{
	const RfTrunk *t = w->t;

	for (int task = 0; task < n; task++)
		for (int h = 0; h < t->nheads; h++)
		{
			RfEvalAcc  *part = &w->part[(Size) task * t->nheads + h].acc;

			if (!acc[h].keep_scores && !acc[h].keep_pairs)
				continue;
			part->scores = acc[h].scores + (Size) (w->first + task) * RF_CHUNK_ROWS;
			part->labels = acc[h].labels + (Size) (w->first + task) * RF_CHUNK_ROWS;
			part->capscores = RF_CHUNK_ROWS;	/* a chunk's rows: never grown */
		}
}

/*
 * The metrics of every head over the rows of X and Y, into acc (as set up
 * by EvalAccInit).  reframe.threads threads take a wave of chunks, compute
 * each chunk's outputs (each thread with a forward state of its own), link
 * and measure its rows into the chunk's own accumulators, which are merged
 * in chunk order: the same figures whatever the number of threads.
 * bin_raw, per head, holds a bucketed target's values by row (or NULL).
 */
void
TrunkEvaluateMatrix(const RfTrunk *t, const RfMatrix *X, const RfMatrix *Y,
					const double *const *bin_raw, RfEvalAcc *acc)
{
	/* the parts and buffers go with this context: the l2 path calls this per penalty */
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "reframe evaluation",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	int			nthreads = RfTrainThreads();
	int			nout = Max(t->nout, 1);
	int			wave = Max(1, Min(EVAL_WAVE_CHUNKS, X->nchunks));
	EvalWave	w = {.t = t,.X = X,.Y = Y,.bin_raw = bin_raw};

	for (int i = 0; i < nthreads; i++)
		w.batch[i] = t->family->batch_begin(t);
	w.outstride = TYPEALIGN(CACHE_LINE, sizeof(float) * RF_CHUNK_ROWS * nout) / sizeof(float);
	w.out = RfAllocAligned(sizeof(float) * w.outstride * nthreads);
	w.part = RfAllocAligned(sizeof(EvalPart) * wave * t->nheads);
	w.zstride = TYPEALIGN(CACHE_LINE, sizeof(double) * nout) / sizeof(double);
	w.z = RfAllocAligned(sizeof(double) * nthreads * w.zstride);
	for (int h = 0; h < t->nheads; h++)
	{
		if (acc[h].keep_scores || acc[h].keep_pairs)
			EvalAccReserve(&acc[h], (int64) X->nchunks * RF_CHUNK_ROWS);
		for (int task = 0; task < wave; task++)
			EvalPartInit(&w.part[(Size) task * t->nheads + h].acc, &t->heads[h], &acc[h]);
	}
	for (w.first = 0; w.first < X->nchunks; w.first += wave)
	{
		int			n = Min(wave, X->nchunks - w.first);

		EvalWaveParts(&w, acc, n);
		RfParallelFor(n, nthreads, EvalWaveChunk, &w);
		for (int task = 0; task < n; task++)
			for (int h = 0; h < t->nheads; h++)
				EvalAccMerge(&acc[h], &w.part[(Size) task * t->nheads + h].acc);
		ReframeYield();
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/*
 * The metrics of every head: one object, or one per head by name.  *loss
 * receives the training loss (mean squared error, log loss) or the
 * selection metric, weighted by the heads' task weights.
 */
void
HeadsJson(const RfTrunk *t, RfEvalAcc *acc, StringInfo buf, double *loss, bool training)
{
	double		total = 0;
	double		weights = 0;

	if (t->nheads > 1)
		appendStringInfoChar(buf, '{');
	for (int h = 0; h < t->nheads; h++)
	{
		RfEvalAcc  *a = &acc[h];
		double		v;

		if (t->nheads > 1)
		{
			if (h)
				appendStringInfoString(buf, ", ");
			JsonAppendString(buf, t->heads[h].name);
			appendStringInfoString(buf, ": ");
		}
		EvalAccJson(a, buf, false);
		if (training && a->head->kind == RF_HEAD_REGRESSION)
			v = a->sums.sse / a->n;
		else if (training)
			v = a->head->kind == RF_HEAD_MULTILABEL ? a->sums.logloss / a->sums.correct : a->sums.logloss / a->n;
		else
			v = EvalAccSelection(a);
		if (a->n > 0)
		{
			total += t->heads[h].weight * v;
			weights += t->heads[h].weight;
		}
	}
	if (t->nheads > 1)
		appendStringInfoChar(buf, '}');
	*loss = weights > 0 ? total / weights : get_float8_nan();
}
