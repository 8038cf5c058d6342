/*
 * gradient.c
 *		Streaming L-BFGS for a linear model: one aggregate pass
 *		(reframe.gradient) per evaluation of the objective.
 *
 * A linear model with one binary or multiclass head (numeric classes), or
 * one regression head with the absolute or Huber loss, over numeric
 * inputs, trains without the rows:
 * the moments pass (moments.c) gives the encoder's statistics, the row
 * counts and the target's, and then every evaluation of the objective is
 *
 *	SELECT reframe.gradient(config, ARRAY[x1, x2, ...]::float8[], y, w)
 *	FROM (source) s
 *
 * with the weights in the configuration: each part sums its rows' losses
 * and gradients (in double precision) into a bytea state, parts add up
 * (the combine function), and the training backend holds O(parameters).
 * Rows split into training and validation sets as they do when read here
 * (moments.c's row hash); the validation rows give the validation loss and
 * accuracy or errors.  The objective is the one the rows would give
 * (heads.c): the mean weighted loss over the training rows plus
 * l2 |W|^2.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "reframe.h"
#include "gradient.h"
#include "heads.h"
#include "targets.h"
#include "jsonutil.h"
#include "moments.h"
#include "network.h"
#include "optim.h"

#define GRADIENT_MAGIC 0x52464431	/* "RFD1" */

/* What every part of one evaluation agrees on (a bytea). */
typedef struct GradientConfig
{
	int32		vl_len_;
	int32		magic;
	int32		R;				/* raw inputs */
	int32		ncols;			/* the source columns they come from */
	int32		width;			/* encoded features */
	int32		nout;			/* outputs: the classes of a multiclass head, else 1 */
	int32		kind;			/* RF_HEAD_BINARY, RF_HEAD_MULTICLASS or RF_HEAD_REGRESSION */
	int32		loss;			/* regression: RfLoss */
	int32		folds;			/* cross-validation: hold out fold "fold" of "folds" */
	int32		fold;
	int32		merged;			/* the validation rows train too */
	uint64		hash0;			/* the split hash's seed */
	double		holdout;
	double		sample;
	double		huber_delta;
	double		yshift;			/* regression: the target's standardization */
	double		yscale;
	double		threshold;		/* binary: the decision threshold */
	/*
	 * double shift[R], scale[R], W[nout x width], b[nout], classes[nout]
	 * (multiclass: each class's value, increasing); int32 slot[R],
	 * missing_slot[R], col_len[ncols]
	 */
} GradientConfig;

#define CONFIG_SHIFT(c) ((double *) ((char *) (c) + sizeof(GradientConfig)))
#define CONFIG_SCALE(c) (CONFIG_SHIFT(c) + (c)->R)
#define CONFIG_W(c) (CONFIG_SCALE(c) + (c)->R)
#define CONFIG_B(c) (CONFIG_W(c) + (Size) (c)->nout * (c)->width)
#define CONFIG_CLASSES(c) (CONFIG_B(c) + (c)->nout)
#define CONFIG_SLOT(c) ((int32 *) (CONFIG_CLASSES(c) + (c)->nout))
#define CONFIG_MISSING(c) (CONFIG_SLOT(c) + (c)->R)
#define CONFIG_COLLEN(c) (CONFIG_MISSING(c) + (c)->R)

static Size
ConfigSize(int R, int ncols, int width, int nout)
{
	return sizeof(GradientConfig) + sizeof(double) * (2 * R + (Size) nout * (width + 2)) +
		sizeof(int32) * (2 * R + ncols);
}

/* The sums of one part (a bytea, changed in place while aggregating). */
typedef struct GradientState
{
	int32		vl_len_;
	int32		magic;
	int32		width;
	int32		nout;
	double		weight[2];		/* per set: the rows' weights */
	double		rows[2];
	double		loss[2];		/* the weighted loss (standardized target for regression) */
	double		correct[2];		/* binary: weight of the rows decided right */
	double		sse[2];			/* regression: in the target's units */
	double		sae[2];
	double		bad_targets;	/* binary: targets that are not 0 or 1 */
	double		bad_weights;
	double		skipped;
	double		sampled_out;
	/*
	 * double grad[nout x (width + 1)]: the training rows' weighted gradient,
	 * W then b; double classw[2 x nout]: per set, each class's weight
	 */
} GradientState;

#define STATE_GRAD(s) ((double *) ((char *) (s) + sizeof(GradientState)))
#define STATE_CLASSW(s) (STATE_GRAD(s) + (Size) (s)->nout * ((s)->width + 1))

static Size
StateSize(int width, int nout)
{
	return sizeof(GradientState) + sizeof(double) * ((Size) nout * (width + 1) + 2 * (Size) nout);
}

static GradientState *
StateCheck(Datum d, const char *what)
{
	GradientState *st = (GradientState *) DatumGetByteaP(d);

	if (VARSIZE(st) < sizeof(GradientState) || st->magic != GRADIENT_MAGIC || st->width < 1 ||
		st->width > 2 * RF_MOMENTS_MAX_INPUTS || st->nout < 1 || st->nout > RF_MAX_CLASSES ||
		VARSIZE(st) != StateSize(st->width, st->nout))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.gradient: %s is not a state of this aggregate", what)));
	return st;
}

static const GradientConfig *
ConfigCheck(bytea *b)
{
	const GradientConfig *cfg = (const GradientConfig *) b;
	bool		ok;

	ok = VARSIZE(b) >= sizeof(GradientConfig) && cfg->magic == GRADIENT_MAGIC &&
		cfg->R >= 1 && cfg->R <= RF_MOMENTS_MAX_INPUTS && cfg->ncols >= 1 && cfg->ncols <= cfg->R &&
		cfg->width >= 1 && cfg->width <= 2 * cfg->R &&
		(cfg->kind == RF_HEAD_MULTICLASS ? cfg->nout >= 2 && cfg->nout <= RF_MAX_CLASSES :
		 (cfg->kind == RF_HEAD_BINARY || cfg->kind == RF_HEAD_REGRESSION) && cfg->nout == 1) &&
		VARSIZE(b) == ConfigSize(cfg->R, cfg->ncols, cfg->width, cfg->nout) && cfg->yscale > 0 &&
		MomentsSplitValid(cfg->R, cfg->ncols, CONFIG_COLLEN(cfg), cfg->folds, cfg->fold);
	for (int r = 0; ok && r < cfg->R; r++)
		ok = CONFIG_SLOT(cfg)[r] >= 0 && CONFIG_SLOT(cfg)[r] < cfg->width &&
			CONFIG_MISSING(cfg)[r] >= -1 && CONFIG_MISSING(cfg)[r] < cfg->width;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.gradient: the configuration is not one training made")));
	return cfg;
}

/* A row's encoded features, as EncoderEncodeRaw makes them for numeric inputs. */
static void
RowFeatures(const GradientConfig *cfg, const double *raw, double *f)
{
	const double *shift = CONFIG_SHIFT(cfg);
	const double *scale = CONFIG_SCALE(cfg);
	const int32 *slot = CONFIG_SLOT(cfg);
	const int32 *missing = CONFIG_MISSING(cfg);

	memset(f, 0, sizeof(double) * cfg->width);
	for (int r = 0; r < cfg->R; r++)
	{
		if (isnan(raw[r]))
		{
			if (missing[r] >= 0)
				f[missing[r]] = 1.0;
		}
		else
			f[slot[r]] = (raw[r] - shift[r]) / scale[r];
	}
}

/* A multiclass target's class: the position of its value, or -1. */
static int
ClassOf(const GradientConfig *cfg, double y)
{
	const double *v = CONFIG_CLASSES(cfg);
	int			lo = 0,
				hi = cfg->nout - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (v[mid] == y)
			return mid;
		if (v[mid] < y)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * One row's loss and dz (per unit weight) from its outputs z, for a target
 * y (multiclass: its class); *right: the decision is the target's.
 */
static double
RowLoss(const GradientConfig *cfg, const double *z, double y, double *dz, bool *right)
{
	if (cfg->kind == RF_HEAD_BINARY)
	{
		double		e = exp(-fabs(z[0]));
		double		p = z[0] >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);

		dz[0] = p - y;
		*right = (p >= cfg->threshold) == (y > 0.5);
		return Max(z[0], 0.0) + log1p(e) - y * z[0];
	}
	if (cfg->kind == RF_HEAD_MULTICLASS)
	{
		int			k = (int) y;
		int			best = 0;
		double		m = z[0];
		double		sum = 0;
		double		lse;

		for (int j = 1; j < cfg->nout; j++)
		{
			m = Max(m, z[j]);
			best = z[j] > z[best] ? j : best;
		}
		for (int j = 0; j < cfg->nout; j++)
			sum += exp(z[j] - m);
		lse = m + log(sum);
		for (int j = 0; j < cfg->nout; j++)
			dz[j] = exp(z[j] - lse) - (j == k ? 1.0 : 0.0);
		*right = best == k;
		return lse - z[k];
	}
	{
		RfHead		head = {.kind = RF_HEAD_REGRESSION,.loss = cfg->loss,.huber_delta = cfg->huber_delta};

		*right = false;
		return HeadLoss(&head, z, (y - cfg->yshift) / cfg->yscale, dz, NULL);
	}
}

/* Transition: (state, config, x, y, w) -> state, changed in place. */
PG_FUNCTION_INFO_V1(reframe_gradient_accum);
Datum
reframe_gradient_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	const GradientConfig *cfg;
	GradientState *st;
	double		raw[RF_MOMENTS_MAX_INPUTS];
	bool		nulls[RF_MOMENTS_MAX_INPUTS];
	double		f[2 * RF_MOMENTS_MAX_INPUTS];
	double		zbuf[128];		/* outputs and their derivatives, up to 64 classes */
	double	   *z;
	double	   *dz;
	double		y,
				w,
				loss;
	bool		right;
	int			set;
	uint64		h;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("reframe.gradient_accum can only be called as an aggregate's transition")));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("reframe.gradient: the configuration and the inputs must not be NULL")));
	cfg = ConfigCheck(PG_GETARG_BYTEA_P(1));
	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		st = palloc0(StateSize(cfg->width, cfg->nout));
		SET_VARSIZE(st, StateSize(cfg->width, cfg->nout));
		st->magic = GRADIENT_MAGIC;
		st->width = cfg->width;
		st->nout = cfg->nout;
		MemoryContextSwitchTo(old);
	}
	else
		st = StateCheck(PG_GETARG_DATUM(0), "the state");
	if (st->width != cfg->width || st->nout != cfg->nout)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.gradient: the state does not fit the configuration")));
	if (PG_ARGISNULL(3))
	{
		st->skipped++;
		PG_RETURN_BYTEA_P(st);
	}
	y = PG_GETARG_FLOAT8(3);
	w = PG_ARGISNULL(4) ? get_float8_nan() : PG_GETARG_FLOAT8(4);
	if (!(w >= 0 && isfinite(w)))
	{
		st->bad_weights++;
		w = 0;
	}
	MomentsRowInputs(cfg->R, PG_GETARG_ARRAYTYPE_P(2), raw, nulls);
	h = MomentsRowHash(cfg->hash0, cfg->ncols, CONFIG_COLLEN(cfg), raw, nulls, y);
	if (cfg->sample < 1 && ReframeSampleDraw(h) >= cfg->sample)
	{
		st->sampled_out++;
		PG_RETURN_BYTEA_P(st);
	}
	set = ReframeSplitSet(ReframeHashToUnit(hash_bytes_uint32_extended((uint32) h, h >> 32)),
						  cfg->holdout, cfg->folds, cfg->fold);
	if (cfg->merged)
		set = 0;
	if (cfg->kind == RF_HEAD_MULTICLASS)
		y = ClassOf(cfg, y);
	if (!isfinite(y) || (cfg->kind == RF_HEAD_BINARY && y != 0 && y != 1) ||
		(cfg->kind == RF_HEAD_MULTICLASS && y < 0))
	{
		st->bad_targets++;
		PG_RETURN_BYTEA_P(st);
	}

	RowFeatures(cfg, raw, f);
	z = cfg->nout <= lengthof(zbuf) / 2 ? zbuf : palloc(sizeof(double) * cfg->nout * 2);
	dz = z + cfg->nout;
	for (int k = 0; k < cfg->nout; k++)
	{
		const double *Wk = CONFIG_W(cfg) + (Size) k * cfg->width;

		z[k] = CONFIG_B(cfg)[k];
		for (int j = 0; j < cfg->width; j++)
			z[k] += Wk[j] * f[j];
	}
	loss = RowLoss(cfg, z, y, dz, &right);

	st->rows[set]++;
	st->weight[set] += w;
	st->loss[set] += w * loss;
	st->correct[set] += right ? w : 0;
	if (cfg->kind != RF_HEAD_REGRESSION)
		STATE_CLASSW(st)[set * cfg->nout + (cfg->kind == RF_HEAD_BINARY ? 0 : (int) y)] += w * (cfg->kind == RF_HEAD_BINARY ? y : 1);
	if (cfg->kind == RF_HEAD_REGRESSION)
	{
		double		e = z[0] * cfg->yscale + cfg->yshift - y;

		st->sse[set] += w * e * e;
		st->sae[set] += w * fabs(e);
	}
	if (set == 0 && w > 0)
	{
		double	   *g = STATE_GRAD(st);
		double	   *gb = g + (Size) cfg->nout * cfg->width;

		for (int k = 0; k < cfg->nout; k++)
		{
			double		wd = w * dz[k];
			double	   *gk = g + (Size) k * cfg->width;

			if (wd == 0)
				continue;
			for (int j = 0; j < cfg->width; j++)
				gk[j] += wd * f[j];
			gb[k] += wd;
		}
	}
	if (z != zbuf)
		pfree(z);
	PG_RETURN_BYTEA_P(st);
}

/* Combine: the sum of two parts. */
PG_FUNCTION_INFO_V1(reframe_gradient_combine);
Datum
reframe_gradient_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	bool		inagg = AggCheckCallContext(fcinfo, &aggcxt);
	GradientState *a;
	GradientState *b;
	double	   *da,
			   *db;
	int			n;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = StateCheck(PG_GETARG_DATUM(1), "the state to combine");
	if (PG_ARGISNULL(0))
	{
		a = MemoryContextAlloc(inagg ? aggcxt : CurrentMemoryContext, VARSIZE(b));
		memcpy(a, b, VARSIZE(b));
		PG_RETURN_BYTEA_P(a);
	}
	a = StateCheck(PG_GETARG_DATUM(0), "the state");
	if (a->width != b->width || a->nout != b->nout)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.gradient: cannot combine the sums of %d and %d features", a->width, b->width)));
	if (!inagg)
	{
		/* called on its own: never change the argument in place */
		GradientState *copy = palloc(VARSIZE(a));

		memcpy(copy, a, VARSIZE(a));
		a = copy;
	}
	/* every field after the header is a sum */
	da = (double *) ((char *) a + offsetof(GradientState, weight));
	db = (double *) ((char *) b + offsetof(GradientState, weight));
	n = (VARSIZE(a) - offsetof(GradientState, weight)) / sizeof(double);
	for (int i = 0; i < n; i++)
		da[i] += db[i];
	PG_RETURN_BYTEA_P(a);
}

/* ---------- the training side ---------- */

/*
 * An evaluation's configuration: the trunk's weights W (nout x width,
 * row-major) and biases b.
 */
static bytea *
ConfigBuild(RfTrainState *ts, const double *W, const double *b, double yshift, double yscale)
{
	RfEncoder  *enc = ts->enc;
	RfHead	   *head = &ts->trunk->heads[0];
	int			R = enc->nraw;
	int			width = enc->width;
	int			nout = head->nout;
	Size		size = ConfigSize(R, enc->ncols, width, nout);
	GradientConfig *cfg = palloc0(size);

	SET_VARSIZE(cfg, size);
	cfg->magic = GRADIENT_MAGIC;
	cfg->R = R;
	cfg->ncols = enc->ncols;
	cfg->width = width;
	cfg->nout = nout;
	cfg->kind = head->kind;
	cfg->loss = head->loss;
	cfg->folds = ts->folds;
	cfg->fold = ts->fold;
	cfg->merged = ts->with_validation;
	cfg->hash0 = (uint64) ts->opts->seed * UINT64CONST(0x9E3779B97F4A7C15) + 1;
	cfg->holdout = ts->holdout;
	cfg->sample = ts->sample;
	cfg->huber_delta = head->huber_delta;
	cfg->yshift = yshift;
	cfg->yscale = yscale;
	cfg->threshold = head->threshold;
	for (int r = 0; r < R; r++)
	{
		/* before the encoder is fitted (the counting pass, at zero weights): as is */
		CONFIG_SHIFT(cfg)[r] = enc->shift ? enc->shift[r] : 0.0;
		CONFIG_SCALE(cfg)[r] = enc->scale ? enc->scale[r] : 1.0;
	}
	memcpy(CONFIG_W(cfg), W, sizeof(double) * nout * width);
	memcpy(CONFIG_B(cfg), b, sizeof(double) * nout);
	if (head->kind == RF_HEAD_MULTICLASS)
		memcpy(CONFIG_CLASSES(cfg), ts->targets[0].values, sizeof(double) * nout);
	for (int c = 0; c < enc->ncols; c++)
	{
		CONFIG_COLLEN(cfg)[c] = enc->cols[c].length;
		for (int k = 0; k < enc->cols[c].length; k++)
			CONFIG_SLOT(cfg)[enc->cols[c].raw + k] = enc->cols[c].slot + k;
	}
	for (int r = 0; r < R; r++)
		CONFIG_MISSING(cfg)[r] = enc->missing_slot ? enc->missing_slot[r] : -1;
	return (bytea *) cfg;
}

/* Runs one pass; its sums, or NULL when the source has no rows. */
static GradientState *
GradientRun(RfTrainState *ts, bytea *config)
{
	bytea	   *result = MomentsRunPass(ts, "gradient", config);
	GradientState *st = result ? StateCheck(PointerGetDatum(result), "the result") : NULL;

	if (st && st->bad_targets > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" has %.0f rows that are NaN, Infinity or, for a binary target, not 0 or 1",
						ts->targets[0].name, st->bad_targets)));
	return st;
}

typedef struct GradientObjective
{
	RfTrainState *ts;
	RfNet	   *net;
	double		yshift;
	double		yscale;
	double		l2;
} GradientObjective;

/* The objective at params: one pass over the source. */
static double
GradientEval(void *arg, const double *params, double *grad)
{
	GradientObjective *o = arg;
	RfNet	   *net = o->net;
	int			width = NetLayerIn(net, 0);
	int			nout = net->nout;
	const double *W = params + net->w_off[0];
	GradientState *st = GradientRun(o->ts, ConfigBuild(o->ts, W, params + net->b_off[0], o->yshift, o->yscale));
	double		norm;
	double		penalty = 0;
	double		loss;

	if (st == NULL || st->weight[0] <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("model \"%s\": no training rows with a positive weight", o->ts->model_name)));
	norm = 1.0 / st->weight[0];
	memset(grad, 0, sizeof(double) * net->nparams);
	for (int64 j = 0; j < (int64) nout * width; j++)
	{
		grad[net->w_off[0] + j] = norm * STATE_GRAD(st)[j] + 2.0 * o->l2 * W[j];
		penalty += W[j] * W[j];
	}
	for (int k = 0; k < nout; k++)
		grad[net->b_off[0] + k] = norm * STATE_GRAD(st)[(Size) nout * width + k];
	loss = norm * st->loss[0] + o->l2 * penalty;
	pfree(st);
	return loss;
}

static bool
IsMulticlass(RfTrainState *ts)
{
	return ts->task && strcmp(ts->task, "multiclass") == 0;
}

/* Why a training cannot take the gradient passes, or NULL when it can. */
const char *
GradientUnsupported(RfTrainState *ts)
{
	RfTarget   *tg = &ts->targets[0];
	bool		binary = tg->kind == RF_TARGET_BOOL ||
		(ts->task && strcmp(ts->task, "binary") == 0 && tg->kind == RF_TARGET_NUMBER);
	bool		multiclass = IsMulticlass(ts) && tg->kind == RF_TARGET_NUMBER;
	bool		regression = tg->kind == RF_TARGET_NUMBER && !binary && !multiclass &&
		(ts->task == NULL || strcmp(ts->task, "regression") == 0);

	if (strcmp(ts->family->name, "linear") != 0)
		return "only the linear family streams";
	if (ts->ntargets > 1)
		return "it has several targets";
	if (!binary && !multiclass && !regression)
		return psprintf("its target \"%s\" (%s) is framed as %s, and streaming passes take a binary, numeric multiclass or regression target",
						tg->name, format_type_be(tg->typid), ts->task ? ts->task : "classes");
	if (regression && ts->task == NULL &&
		(tg->typid == INT2OID || tg->typid == INT4OID || tg->typid == INT8OID))
		return psprintf("integer target \"%s\" may be classes: pass task => 'regression', 'binary' or 'multiclass'", tg->name);
	if (ts->opts->l2_auto)
		return "\"l2\": \"auto\" fits a path of penalties; give \"l2\" a number";
	if (ts->opts->balanced || ts->opts->class_weight)
		return "option \"class_weight\" is not supported by streaming passes";
	if (ts->opts->threshold_f1)
		return "\"threshold\": \"f1\" tunes on the validation rows' scores";
	if (ts->opts->nbins > 0 || ts->opts->bin_quantiles > 0)
		return "option \"bins\" frames the target by the rows' values";
	if (ts->gattno >= 0)
		return "option \"group\" needs the rows of each query";
	return NULL;
}

/*
 * A numeric multiclass target's classes: the source's distinct values,
 * kept where a counting pass (at zero weights) finds rows of them among the
 * rows read, as the rows' path finds them; their training rows' weights.
 */
static void
ResolveNumericClasses(RfTrainState *ts)
{
	RfTarget   *tg = &ts->targets[0];
	RfHead		head = {.kind = RF_HEAD_MULTICLASS,.loss = RF_LOSS_CROSS_ENTROPY};
	RfTrunk		trunk = {.heads = &head,.nheads = 1};
	double	   *values;
	int			n = 0;
	GradientState *st;
	int			kept = 0;

	SPI_connect();
	if (SPI_execute(psprintf("SELECT DISTINCT %s AS v FROM (%s) s WHERE %s IS NOT NULL ORDER BY 1 LIMIT %d",
							 MomentsTargetSql(ts), ts->source_sql, MomentsTargetSql(ts), RF_MAX_CLASSES + 1),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reframe: could not read the classes of %s", tg->name);
	n = (int) SPI_processed;
	values = MemoryContextAlloc(ts->mcxt, sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		values[i] = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	if (n > RF_MAX_CLASSES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("target column \"%s\" has more than %d distinct values", tg->name, RF_MAX_CLASSES)));
	if (n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" has only one class", tg->name),
				 errdetail("A classifier needs rows of at least two classes.")));

	/* the counting pass */
	head.nout = n;
	tg->values = values;
	ts->trunk = &trunk;
	{
		double	   *zero = palloc0(sizeof(double) * ((Size) n * ts->enc->width + n));

		st = GradientRun(ts, ConfigBuild(ts, zero, zero + (Size) n * ts->enc->width, 0, 1));
	}
	ts->trunk = NULL;
	tg->counts = palloc0(sizeof(double) * n);
	tg->classes = palloc(sizeof(char *) * n);
	for (int k = 0; k < n; k++)
		if (STATE_CLASSW(st)[k] + STATE_CLASSW(st)[n + k] > 0)
		{
			values[kept] = values[k];
			tg->counts[kept] = STATE_CLASSW(st)[k];
			tg->classes[kept] = TargetNumberLabel(values[k], tg->typid);
			kept++;
		}
	tg->nclasses = kept;
	if (kept < 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" has only one class in its rows", tg->name),
				 errdetail("A classifier needs rows of at least two classes.")));
}

/*
 * The target as the moments pass saw it (its value, 0 or 1 for a boolean):
 * a binary head's classes and counts, or a regression target's mean and
 * standard deviation, from the training rows' moments; a numeric
 * multiclass target's classes from the source (ResolveNumericClasses).
 */
void
GradientResolveTarget(RfTrainState *ts)
{
	RfTarget   *tg = &ts->targets[0];
	RfGram	   *g = ts->gram[0];
	int			R = g->R;
	int			D = g->D;
	double		n = GramRows(g);
	double		sy = g->G[R + (R + 1) * D] + *g->yorigin * n;	/* sum of w y */
	double		syy = g->G[(R + 1) + (R + 1) * D];	/* sum of w (y - yorigin)^2 */
	double		mean = n > 0 ? sy / n : 0;
	double		m2 = syy - n * (mean - *g->yorigin) * (mean - *g->yorigin);

	if (IsMulticlass(ts))
	{
		tg->head = RF_HEAD_MULTICLASS;
		ResolveNumericClasses(ts);
	}
	else if (tg->kind == RF_TARGET_BOOL || (ts->task && strcmp(ts->task, "binary") == 0))
	{
		tg->head = RF_HEAD_BINARY;
		tg->nclasses = 2;
		tg->classes = palloc(sizeof(char *) * 2);
		tg->classes[0] = tg->kind == RF_TARGET_BOOL ? pstrdup("false") : TargetNumberLabel(0, tg->typid);
		tg->classes[1] = tg->kind == RF_TARGET_BOOL ? pstrdup("true") : TargetNumberLabel(1, tg->typid);
		tg->counts = palloc(sizeof(double) * 2);
		tg->counts[0] = n - sy;
		tg->counts[1] = sy;
		if (tg->counts[0] <= 0 || tg->counts[1] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("target column \"%s\" has only one class in its training rows", tg->name),
					 errdetail("A classifier needs rows of at least two classes.")));
		ts->task = "binary";
	}
	else
	{
		tg->head = RF_HEAD_REGRESSION;
		tg->mean = mean;
		tg->sd = n > 0 && m2 > 0 ? sqrt(m2 / n) : 1.0;
		ts->task = "regression";
	}
}

/* L-BFGS on the passes, from the base rates (classification) or the mean (regression). */
void
GradientFit(RfTrunk *t, RfFitData *d, RfFitResult *res)
{
	RfNet	   *net = t->state;
	RfTrainState *ts = d->stream;
	RfTarget   *tg = &ts->targets[0];
	GradientObjective o = {.ts = ts,.net = net,.l2 = d->opts->l2,.yshift = 0,.yscale = 1};

	res->solver = "lbfgs (streaming passes)";
	memset(net->params, 0, sizeof(double) * net->nparams);
	if (tg->head == RF_HEAD_REGRESSION)
	{
		o.yshift = tg->mean;
		o.yscale = tg->sd;
	}
	else
	{
		/* the weights' heads carry no row weights here: the passes weigh rows */
		t->heads[0].wcol = -1;
		HeadsBaseMargins(t->heads, 1, tg, NULL, net->params + net->b_off[0]);
	}
	NetMinimizeLbfgs(net, d, res, GradientEval, &o);
}

/* One set's figures as JSON; returns its selection metric. */
static double
SetJson(GradientState *st, int set, RfHeadKind kind, StringInfo m)
{
	double		w = st->weight[set];
	const char *loss = kind == RF_HEAD_BINARY ? "log_loss" : "cross_entropy";

	appendStringInfo(m, "{\"rows\": %.0f", st->rows[set]);
	if (kind != RF_HEAD_REGRESSION)
	{
		appendStringInfo(m, ", \"%s\": ", loss);
		JsonAppendNumber(m, st->loss[set] / w);
		appendStringInfoString(m, ", \"accuracy\": ");
		JsonAppendNumber(m, st->correct[set] / w);
		appendStringInfoChar(m, '}');
		return st->loss[set] / w;
	}
	appendStringInfoString(m, ", \"rmse\": ");
	JsonAppendNumber(m, sqrt(st->sse[set] / w));
	appendStringInfoString(m, ", \"mae\": ");
	JsonAppendNumber(m, st->sae[set] / w);
	appendStringInfoChar(m, '}');
	return sqrt(st->sse[set] / w);
}

/*
 * The metrics of the fitted model, from one more pass: the training and
 * validation rows' loss and accuracy (classification) or errors
 * (regression).
 */
void
GradientEvaluate(RfTrainState *ts, StringInfo m)
{
	RfNet	   *net = ts->trunk->state;
	RfHeadKind	kind = ts->trunk->heads[0].kind;
	GradientState *st = GradientRun(ts, ConfigBuild(ts, net->params + net->w_off[0],
													 net->params + net->b_off[0], 0, 1));

	appendStringInfoString(m, "{\"training\": ");
	ts->train_loss = SetJson(st, 0, kind, m);
	if (kind == RF_HEAD_REGRESSION)
		ts->train_loss *= ts->train_loss;	/* as the rows' path reports it: the mean squared error */
	if (st->weight[1] > 0)
	{
		appendStringInfoString(m, ", \"validation\": ");
		ts->selection = SetJson(st, 1, kind, m);
	}
	appendStringInfoChar(m, '}');
}
