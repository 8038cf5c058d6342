/*
 * gradient_pass.h
 *		The layout of reframe.gradient's configuration and state, shared by
 *		the aggregate (gradient.c) and the training that makes the
 *		configurations and reads the sums (gradient_train.c).
 */
#ifndef REFRAME_GRADIENT_PASS_H
#define REFRAME_GRADIENT_PASS_H

#include "evaluate.h"
#include "heads.h"
#include "stream_targets.h"

#define GRADIENT_MAGIC 0x52464432	/* "RFD2" */

/* Streamed multiclass heads have at most this many classes (a confusion matrix per pass). */
#define GRADIENT_MAX_CLASSES 256

/* How a head's target cell becomes its target. */
typedef enum GradientMap
{
	MAP_NONE,					/* the cell is the target (a value, 0/1, a class index) */
	MAP_VALUES,					/* a number's position among the classes' values */
	MAP_BINS					/* a number's bucket among the edges */
} GradientMap;

/* A head in the configuration. */
typedef struct GradientHead
{
	int32		kind;			/* RfHeadKind */
	int32		loss;			/* regression: RfLoss */
	int32		offset;			/* first output */
	int32		nout;
	int32		cell;			/* first target cell */
	int32		map;			/* GradientMap */
	int32		nvalues;		/* MAP_VALUES: the values; MAP_BINS: the edges */
	int32		values_at;		/* in the pool; bins: the buckets' values follow */
	double		huber_delta;
	double		threshold;
	double		yshift;			/* regression: its target's standardization */
	double		yscale;
	double		ycenter;		/* regression: the target's sums are taken about it */
	double		weight;			/* the head's task weight */
	int32		soft;			/* multiclass: each row holds a distribution (nout cells) */
	int32		parent;			/* a hierarchy's level: the head of the level above, or -1 */
	int32		parents_at;		/* its classes' parents (nout), then the order of its classes */
	int32		ranked;			/* the mapped class (its value's or name's sorted position) is ranked: rank[] follows the parents */
} GradientHead;

/* A target in the configuration: its cells, and its sorted texts. */
typedef struct GradientTarget
{
	int32		cell;
	int32		nnames;			/* categories and label sets */
	int32		names_at;		/* byte offset of the first in the names */
	int32		pad;
} GradientTarget;

/* What every part of one pass agrees on (a bytea). */
typedef struct GradientConfig
{
	int32		vl_len_;
	int32		magic;
	int32		R;				/* raw inputs */
	int32		ncols;			/* the source columns they come from */
	int32		width;			/* encoded features */
	int32		nout;			/* outputs */
	int32		nheads;
	int32		ncells;			/* target cells */
	int32		npool;
	int32		names_len;
	int32		folds;			/* cross-validation: hold out fold "fold" of "folds" */
	int32		fold;
	int32		merged;			/* the validation rows train too */
	int32		evaluate;		/* sum the metrics too */
	int32		inner_fold;		/* "l2": "auto": the training rows of this inner fold are held out; -1: none */
	int32		pad;
	uint64		hash0;			/* the split hash's seed */
	double		holdout;
	double		sample;
	RfStreamTargets targets;
	GradientTarget target[RF_MAX_TARGETS];
	/*
	 * double shift[R], scale[R], W[nout x width], b[nout], pool[npool];
	 * GradientHead heads[nheads]; int32 slot[R], missing[R], col_len[ncols];
	 * char names[names_len] (NUL-terminated, each target's sorted)
	 */
} GradientConfig;

static inline Size
ConfigSize(int R, int ncols, int width, int nout, int npool, int nheads, int names_len)
{
	return sizeof(GradientConfig) + sizeof(double) * (2 * R + (Size) nout * (width + 1) + npool) +
		sizeof(GradientHead) * nheads + sizeof(int32) * (2 * R + ncols) + names_len;
}

/* A configuration taken apart, cached per aggregate call site. */
typedef struct GradientView
{
	const GradientConfig *cfg;	/* a copy */
	const void *arg;			/* the argument it was copied from */
	bool		stable;			/* the argument is the same datum on every row */
	const double *shift;
	const double *scale;
	const double *W;
	const double *b;
	const double *pool;
	const GradientHead *heads;
	const int32 *slot;
	const int32 *missing;
	const int32 *collen;
	const char **names[RF_MAX_TARGETS];
	RfHead	   *rfheads;		/* the heads as RfHead, for HeadRowLoss and HeadsLink */
	bool		hierarchy;		/* a hierarchy is among them: its levels' path probabilities */
	/* the state's layout: per head and set its sums; the gradient */
	int			sums_at[2 * RF_MAX_TARGETS];
	int			grad_at;
	int			ndoubles;
} GradientView;

/*
 * A head's sums for one set.  The counts are over the rows whose target
 * the head has; the metrics (a pass with "evaluate") are RfEvalAcc's.
 */
typedef struct HeadSums
{
	double		rows;
	double		weight;
	double		loss;			/* weighted, per row as the objective has it */
	double		ysum;			/* regression: weighted sums of y - ycenter, and squared */
	double		yysum;
	double		soft;			/* binary: targets strictly between 0 and 1 */
	/* RfEvalAcc's sums */
	double		n;
	double		erows;
	RfEvalSums	sums;
	/*
	 * Per output: count[nout] (rows, or shares, of each class or label),
	 * cweight[nout] (their weight), pweight[nout] (the weight of the rows
	 * where a label is known), bsum[nout] (buckets: the values' sum); with
	 * "evaluate": confusion[K x K] (binary K = 2, multiclass K = nout),
	 * tp[nout], fp[nout], fn[nout] (multilabel).
	 */
} HeadSums;

#define SUMS_SCALARS (sizeof(HeadSums) / sizeof(double))

/* The sums of one part (a bytea of doubles, changed in place while aggregating). */
typedef struct GradientState
{
	int32		vl_len_;
	int32		magic;
	int32		ndoubles;
	int32		pad;
	double		skipped;		/* rows without any target */
	double		sampled_out;
	double		bad_targets;
	double		bad_weights;
	double		bad_shares;		/* targets of shares that are not shares */
	/* the head sums, the training rows' gradient nout x (width + 1): W then b */
} GradientState;

#define STATE_D(s) ((double *) ((char *) (s) + sizeof(GradientState)))
#define STATE_COMMON 5			/* skipped .. bad_shares */

static inline Size
StateSize(int ndoubles)
{
	return sizeof(GradientState) + sizeof(double) * (Size) ndoubles;
}

static inline int
ConfusionK(const GradientHead *h)
{
	return h->kind == RF_HEAD_BINARY ? 2 : h->kind == RF_HEAD_MULTICLASS ? h->nout : 0;
}

static inline int
SumsDoubles(const GradientHead *h, bool evaluate)
{
	int			n = SUMS_SCALARS + 4 * h->nout;

	if (evaluate)
		n += ConfusionK(h) * ConfusionK(h) + (h->kind == RF_HEAD_MULTILABEL ? 3 * h->nout : 0) +
			(h->kind == RF_HEAD_BINARY ? EVAL_BINS_DOUBLES : 0);
	return n;
}

/* Checks a configuration and takes it apart into v (an error when it is not one training made). */
extern void GradientViewBuild(const GradientConfig *cfg, GradientView *v);
/* A datum as this aggregate's state, or an error naming "what". */
extern GradientState *GradientStateCheck(Datum d, const char *what);
/* An accumulator's sums from a head's (its arrays are the caller's). */
extern void GradientSumsToAcc(const HeadSums *s, RfEvalAcc *acc);

#endif
