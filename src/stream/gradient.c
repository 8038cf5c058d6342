/*
 * gradient.c
 *		Streaming L-BFGS's pass: the reframe.gradient aggregate.
 *
 * A linear model over numeric inputs with any heads -- regression
 * (squared, absolute, Huber), binary, multiclass (numeric or text classes,
 * a number's buckets, a distribution over classes), multilabel (a label
 * set, boolean columns, each label's share), a hierarchy's levels, several
 * of them -- trains without the rows (gradient_train.c): every evaluation
 * of the objective is
 *
 *	SELECT reframe.gradient(config, ARRAY[x1, x2, ...]::float8[], y, t, w)
 *	FROM (source) s
 *
 * with the weights in the configuration and the targets in y and t
 * (stream_targets.h): each part sums its rows' losses and gradients (in
 * double precision) into a bytea state, parts add up (the combine
 * function), and the training backend holds O(parameters).  Rows split into
 * training and validation sets as they do when read row by row (the same
 * row hash).  Each head's sums are its rows' loss (as heads.c counts it),
 * class counts and, in a pass that evaluates, the sums of RfEvalAcc
 * (evaluate.c's own code adds each row), with histograms of a binary
 * head's scores for its ROC AUC and calibration error.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "nodes/primnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "reframe.h"
#include "evaluate.h"
#include "family.h"
#include "heads.h"
#include "targets.h"
#include "moments.h"
#include "stream_targets.h"
#include "gradient_pass.h"

static void
ConfigInvalid(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("reframe.gradient: the configuration is not one training made")));
}

/* Whether a head's fields fit the configuration. */
static bool
HeadValid(const GradientConfig *cfg, const GradientHead *h, int *next_offset)
{
	int			cells = h->kind == RF_HEAD_MULTILABEL || h->soft ? h->nout : 1;
	bool		ok;

	ok = h->offset == *next_offset && h->nout >= 1 && h->offset + h->nout <= cfg->nout &&
		h->cell >= 0 && h->cell + cells <= cfg->ncells && h->map >= MAP_NONE && h->map <= MAP_BINS &&
		h->nvalues >= 0 && h->values_at >= 0 && isfinite(h->yshift) && isfinite(h->ycenter) && h->yscale > 0;
	switch (h->kind)
	{
		case RF_HEAD_REGRESSION:
			ok &= h->nout == 1 && h->map == MAP_NONE &&
				(h->loss == RF_LOSS_SQUARED || h->loss == RF_LOSS_ABSOLUTE || h->loss == RF_LOSS_HUBER);
			break;
		case RF_HEAD_BINARY:
			ok &= h->nout == 1 && h->map == MAP_NONE;
			break;
		case RF_HEAD_MULTICLASS:
			ok &= h->nout >= 2 && h->nout <= GRADIENT_MAX_CLASSES && (!h->soft || h->map == MAP_NONE) &&
				(h->map != MAP_VALUES || h->nvalues == h->nout) &&
				(h->map != MAP_BINS || h->nvalues == h->nout - 1);
			break;
		case RF_HEAD_MULTILABEL:
			ok &= h->map == MAP_NONE;
			break;
		default:
			ok = false;
	}
	ok &= h->soft == 0 || (h->soft == 1 && h->kind == RF_HEAD_MULTICLASS);
	ok &= h->parent == -1 ||
		(h->kind == RF_HEAD_MULTICLASS && !h->soft && h->map != MAP_BINS && h->parents_at >= 0 &&
		 (Size) h->parents_at + 2 * (Size) h->nout <= (Size) cfg->npool);
	if (h->map != MAP_NONE)
		ok &= (Size) h->values_at + h->nvalues + (h->map == MAP_BINS ? h->nout : 0) <= (Size) cfg->npool;
	*next_offset += h->nout;
	return ok;
}

/*
 * The heads as RfHead, for the loss of a row (HeadRowLoss) and its links;
 * a hierarchy's levels checked (each level's classes sorted by their
 * parent, a class of the level above, and its ranks a permutation of its
 * classes) and given the ranges of each parent's children.
 */
static void
ViewHeads(GradientView *v)
{
	const GradientConfig *cfg = v->cfg;

	v->rfheads = palloc0(sizeof(RfHead) * cfg->nheads);
	v->hierarchy = false;
	for (int h = 0; h < cfg->nheads; h++)
	{
		const GradientHead *g = &v->heads[h];
		RfHead	   *rh = &v->rfheads[h];

		rh->kind = g->kind;
		rh->loss = g->loss;
		rh->huber_delta = g->huber_delta;
		rh->nout = g->nout;
		rh->offset = g->offset;
		rh->threshold = g->threshold;
		rh->soft = g->soft;
		rh->parent = -1;
		if (g->map == MAP_BINS)
			rh->bin_values = (double *) v->pool + g->values_at + g->nvalues;	/* for the expected value */
		v->hierarchy |= g->parent >= 0;
		if (g->parent < 0)
			continue;
		if (g->parent >= h || v->heads[g->parent].kind != RF_HEAD_MULTICLASS || v->heads[g->parent].soft)
			ConfigInvalid();
		{
			const double *par = v->pool + g->parents_at;
			const double *rank = par + g->nout;
			int			nparents = v->heads[g->parent].nout;
			int		   *parent_of = palloc(sizeof(int) * g->nout);
			bool	   *seen = palloc0(sizeof(bool) * g->nout);

			for (int k = 0; k < g->nout; k++)
			{
				if (!(par[k] >= 0 && par[k] < nparents && par[k] == floor(par[k])) ||
					(k > 0 && par[k] < par[k - 1]) ||
					!(rank[k] >= 0 && rank[k] < g->nout && rank[k] == floor(rank[k])) || seen[(int) rank[k]])
					ConfigInvalid();
				parent_of[k] = (int) par[k];
				seen[(int) rank[k]] = true;
			}
			HeadSetParents(rh, g->parent, nparents, parent_of);
		}
	}
}

/*
 * The targets in a configuration, checked: their cells follow each other,
 * and each text target's sorted names lie in names .. end.
 */
static void
ViewTargets(const GradientConfig *cfg, GradientView *v, const char *names, const char *end)
{
	int			cells = 0;

	for (int t = 0; t < cfg->targets.ntargets; t++)
	{
		const GradientTarget *gt = &cfg->target[t];
		int			kind = cfg->targets.kind[t];
		const char *p = names + gt->names_at;

		if (gt->cell != cells || gt->nnames < 0 || gt->names_at < 0 || gt->names_at > cfg->names_len ||
			((kind == RF_STREAM_NUMBER || kind == RF_STREAM_SHARES) && gt->nnames != 0) || gt->nnames > 20000)
			ConfigInvalid();
		cells += kind == RF_STREAM_LABELS ? gt->nnames :
			kind == RF_STREAM_SHARES ? cfg->targets.nshares[t] : 1;
		v->names[t] = palloc(sizeof(char *) * Max(gt->nnames, 1));
		for (int k = 0; k < gt->nnames; k++)
		{
			if (p >= end)
				ConfigInvalid();
			v->names[t][k] = p;
			p += strlen(p) + 1;
			if (k > 0 && strcmp(v->names[t][k - 1], v->names[t][k]) >= 0)
				ConfigInvalid();
		}
	}
	if (cells != cfg->ncells)
		ConfigInvalid();
}

/* Checks a configuration and takes it apart into v. */
void
GradientViewBuild(const GradientConfig *cfg, GradientView *v)
{
	const char *names;
	const char *end;
	int			offset = 0;
	int			at;
	bool		ok;

	ok = VARSIZE(cfg) >= sizeof(GradientConfig) && cfg->magic == GRADIENT_MAGIC &&
		cfg->R >= 1 && cfg->R <= RF_MOMENTS_MAX_INPUTS && cfg->ncols >= 1 && cfg->ncols <= cfg->R &&
		cfg->width >= 1 && cfg->width <= 2 * cfg->R && cfg->nout >= 1 && cfg->nout <= 20000 &&
		cfg->nheads >= 1 && cfg->nheads <= RF_MAX_TARGETS && cfg->npool >= 0 && cfg->npool <= 100000 &&
		cfg->names_len >= 0 && cfg->ncells >= 1 && cfg->ncells <= 20000 &&
		cfg->inner_fold >= -1 && cfg->inner_fold < RF_L2_FOLDS &&
		StreamTargetsValid(&cfg->targets) &&
		VARSIZE(cfg) == ConfigSize(cfg->R, cfg->ncols, cfg->width, cfg->nout, cfg->npool, cfg->nheads, cfg->names_len);
	if (!ok)
		ConfigInvalid();
	v->cfg = cfg;
	v->shift = (const double *) ((const char *) cfg + sizeof(GradientConfig));
	v->scale = v->shift + cfg->R;
	v->W = v->scale + cfg->R;
	v->b = v->W + (Size) cfg->nout * cfg->width;
	v->pool = v->b + cfg->nout;
	v->heads = (const GradientHead *) (v->pool + cfg->npool);
	v->slot = (const int32 *) (v->heads + cfg->nheads);
	v->missing = v->slot + cfg->R;
	v->collen = v->missing + cfg->R;
	names = (const char *) (v->collen + cfg->ncols);
	end = names + cfg->names_len;
	if (!MomentsSplitValid(cfg->R, cfg->ncols, v->collen, cfg->folds, cfg->fold) ||
		(cfg->names_len > 0 && end[-1] != '\0'))
		ConfigInvalid();
	for (int r = 0; r < cfg->R; r++)
		if (v->slot[r] < 0 || v->slot[r] >= cfg->width || v->missing[r] < -1 || v->missing[r] >= cfg->width)
			ConfigInvalid();
	ViewTargets(cfg, v, names, end);
	at = STATE_COMMON;
	for (int h = 0; h < cfg->nheads; h++)
	{
		if (!HeadValid(cfg, &v->heads[h], &offset))
			ConfigInvalid();
		for (int s = 0; s < 2; s++)
		{
			v->sums_at[2 * h + s] = at;
			at += SumsDoubles(&v->heads[h], cfg->evaluate);
		}
	}
	if (offset != cfg->nout)
		ConfigInvalid();
	ViewHeads(v);
	v->grad_at = at;
	v->ndoubles = at - STATE_COMMON + cfg->nout * (cfg->width + 1);
}

/*
 * Whether the aggregate's configuration argument is the same datum for
 * every row: a constant or a query parameter (as train passes it).
 */
static bool
ConfigArgStable(FunctionCallInfo fcinfo)
{
	Aggref	   *agg = AggGetAggref(fcinfo);
	Expr	   *arg;

	if (agg == NULL || list_length(agg->args) < 1)
		return false;
	arg = ((TargetEntry *) linitial(agg->args))->expr;
	return IsA(arg, Const) || (IsA(arg, Param) && ((Param *) arg)->paramkind == PARAM_EXTERN);
}

/*
 * The view of a configuration: built once per call site and kept while the
 * same bytes come back (every row of a pass).  A configuration that is a
 * constant or a parameter is the same datum row after row: its pointer
 * identifies it; any other is compared byte by byte.
 */
static GradientView *
ViewOf(FunctionCallInfo fcinfo, bytea *b)
{
	GradientView *v = fcinfo->flinfo->fn_extra;

	if (v && v->arg == b && v->stable)
		return v;
	if (v && VARSIZE(v->cfg) == VARSIZE(b) && memcmp(v->cfg, b, VARSIZE(b)) == 0)
	{
		v->arg = b;
		return v;
	}
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		bytea	   *copy = palloc(VARSIZE(b));

		memcpy(copy, b, VARSIZE(b));
		v = palloc0(sizeof(GradientView));
		GradientViewBuild((const GradientConfig *) copy, v);
		v->arg = b;
		v->stable = ConfigArgStable(fcinfo);
		MemoryContextSwitchTo(old);
	}
	fcinfo->flinfo->fn_extra = v;
	return v;
}

GradientState *
GradientStateCheck(Datum d, const char *what)
{
	GradientState *st = (GradientState *) DatumGetByteaP(d);

	if (VARSIZE(st) < sizeof(GradientState) || st->magic != GRADIENT_MAGIC || st->ndoubles < 0 ||
		VARSIZE(st) != StateSize(st->ndoubles))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.gradient: %s is not a state of this aggregate", what)));
	return st;
}

/* A row's encoded features, as EncoderEncodeRaw makes them for numeric inputs. */
static void
RowFeatures(const GradientView *v, const double *raw, double *f)
{
	memset(f, 0, sizeof(double) * v->cfg->width);
	for (int r = 0; r < v->cfg->R; r++)
	{
		if (isnan(raw[r]))
		{
			if (v->missing[r] >= 0)
				f[v->missing[r]] = 1.0;
		}
		else
			f[v->slot[r]] = (raw[r] - v->shift[r]) / v->scale[r];
	}
}

static int
NameCmp(const void *key, const void *elem)
{
	const text *s = key;
	const char *name = *(const char *const *) elem;
	int			len = VARSIZE_ANY_EXHDR(s);
	int			nlen = strlen(name);
	int			c = memcmp(VARDATA_ANY(s), name, Min(len, nlen));

	return c ? c : len - nlen;
}

/* A text's position among a target's sorted names, or -1. */
static int
NameIndex(const GradientView *v, int t, Datum d)
{
	const char **hit = bsearch(DatumGetTextPP(d), v->names[t], v->cfg->target[t].nnames,
							   sizeof(char *), NameCmp);

	return hit ? (int) (hit - v->names[t]) : -1;
}

/* The target cells of a row: false when a target is not one of the configuration's. */
static bool
RowCells(const GradientView *v, const RfStreamRow *row, double *cells)
{
	const GradientConfig *cfg = v->cfg;

	for (int t = 0; t < cfg->targets.ntargets; t++)
	{
		double	   *c = cells + cfg->target[t].cell;
		int			L = cfg->target[t].nnames;

		switch (cfg->targets.kind[t])
		{
			case RF_STREAM_NUMBER:
				c[0] = row->value[t];
				break;
			case RF_STREAM_SHARES:
				for (int k = 0; k < cfg->targets.nshares[t]; k++)
					c[k] = row->shares[t] ? row->shares[t][k] : get_float8_nan();
				break;
			case RF_STREAM_CATEGORY:
				c[0] = get_float8_nan();
				if (!isnan(row->value[t]) && !row->tnulls[row->tstart[t]])
				{
					int			k = NameIndex(v, t, row->texts[row->tstart[t]]);

					if (k < 0)
						return false;
					c[0] = k;
				}
				break;
			case RF_STREAM_LABELS:
				for (int k = 0; k < L; k++)
					c[k] = isnan(row->value[t]) ? get_float8_nan() : 0.0;
				for (int i = row->tstart[t]; i < row->tstart[t] + row->tcount[t]; i++)
				{
					int			k;

					if (row->tnulls[i])
						continue;
					if ((k = NameIndex(v, t, row->texts[i])) < 0)
						return false;
					c[k] = 1.0;
				}
				break;
		}
	}
	return true;
}

/* A head's target from its cell: NaN when missing; false when it cannot be one. */
static bool
HeadTarget(const GradientView *v, const GradientHead *h, const double *cells, double *y)
{
	double		c = cells[h->cell];

	*y = c;
	if (isnan(c) || h->kind == RF_HEAD_MULTILABEL || h->soft)
		return true;
	if (!isfinite(c))
		return false;
	if (h->map == MAP_VALUES)
	{
		const double *vals = v->pool + h->values_at;
		const double *hit = bsearch(&c, vals, h->nvalues, sizeof(double), TargetDoubleCmp);

		*y = hit ? hit - vals : -1;
	}
	else if (h->map == MAP_BINS)
		*y = TargetBinIndex(v->pool + h->values_at, h->nvalues, c);
	if (h->parent >= 0 && *y >= 0 && *y < h->nout)
		*y = v->pool[h->parents_at + h->nout + (int) *y];	/* a level's classes are ordered by parent */
	if (h->kind == RF_HEAD_BINARY)
		return *y >= 0 && *y <= 1;
	if (h->kind == RF_HEAD_MULTICLASS)
		return *y >= 0 && *y < h->nout && *y == floor(*y);
	return true;
}

/* An accumulator's sums from a head's (its arrays are the caller's). */
void
GradientSumsToAcc(const HeadSums *s, RfEvalAcc *acc)
{
	acc->n = s->n;
	acc->rows = (int64) s->erows;
	acc->sums = s->sums;
}

/* Adds a row to a head's metrics, by RfEvalAcc's own code. */
static void
HeadEvalAdd(const GradientHead *h, const RfHead *head, HeadSums *s, const double *z,
			const double *p, const double *cells, double y, double w)
{
	double	   *arr = (double *) s + SUMS_SCALARS + 4 * h->nout;
	int			K = ConfusionK(h);
	RfEvalAcc	acc = {.head = head};

	GradientSumsToAcc(s, &acc);
	acc.confusion = K ? arr : NULL;
	if (h->kind == RF_HEAD_MULTILABEL)
	{
		acc.tp = arr;
		acc.fp = arr + h->nout;
		acc.fn = arr + 2 * h->nout;
		EvalAccAddLabels(&acc, p, cells + h->cell, w);
	}
	else if (h->soft)
		EvalAccAddRow(&acc, p, cells + h->cell, w);
	else
	{
		EvalAccAdd(&acc, p, y, w);
		if (h->map == MAP_BINS && w > 0)
			EvalAccAddExpected(&acc, p, cells[h->cell]);
		if (h->kind == RF_HEAD_BINARY && w > 0)
			EvalBinsAdd(arr + K * K, z[0], p[0], y);
	}
	s->n = acc.n;
	s->erows = acc.rows;
	s->sums = acc.sums;
}

/* A head's counts of a row whose target it has. */
static void
HeadCount(const GradientHead *h, HeadSums *s, const double *cells, double y, double w)
{
	double	   *count = (double *) s + SUMS_SCALARS;
	double	   *cweight = count + h->nout;
	double	   *pweight = cweight + h->nout;
	double	   *bsum = pweight + h->nout;

	switch (h->kind)
	{
		case RF_HEAD_REGRESSION:
			s->ysum += w * (y - h->ycenter);
			s->yysum += w * (y - h->ycenter) * (y - h->ycenter);
			break;
		case RF_HEAD_BINARY:
			count[0] += y;
			cweight[0] += w * y;
			pweight[0] += w;
			s->soft += y != 0 && y != 1;
			break;
		case RF_HEAD_MULTICLASS:
			if (h->soft)
			{
				for (int k = 0; k < h->nout; k++)
				{
					count[k] += cells[h->cell + k];
					cweight[k] += w * cells[h->cell + k];
				}
				break;
			}
			count[(int) y] += 1;
			cweight[(int) y] += w;
			if (h->map == MAP_BINS)
				bsum[(int) y] += cells[h->cell];
			break;
		default:
			for (int k = 0; k < h->nout; k++)
			{
				double		yk = cells[h->cell + k];

				if (isnan(yk))
					continue;
				count[k] += yk;
				cweight[k] += w * yk;
				pweight[k] += w;
				s->soft += yk != 0 && yk != 1;
			}
			break;
	}
}

/* Whether a head has any target in a row. */
static bool
HeadHas(const GradientHead *h, const double *cells, double y)
{
	if (h->kind != RF_HEAD_MULTILABEL)
		return !isnan(y);
	for (int k = 0; k < h->nout; k++)
		if (!isnan(cells[h->cell + k]))
			return true;
	return false;
}

/* Whether a row's targets are ones its heads can take. */
static bool
RowTargetsValid(const GradientView *v, const double *cells, double *y)
{
	for (int h = 0; h < v->cfg->nheads; h++)
	{
		const GradientHead *head = &v->heads[h];

		if (!HeadTarget(v, head, cells, &y[h]))
			return false;
		if (head->kind == RF_HEAD_MULTILABEL)
			for (int k = 0; k < head->nout; k++)
			{
				double		c = cells[head->cell + k];

				if (!isnan(c) && !(c >= 0 && c <= 1))
					return false;
			}
	}
	return true;
}

/* The linear trunk's raw outputs z = W f + b for a row's encoded features f. */
static void
RowOutputs(const GradientView *v, const double *f, double *z)
{
	const GradientConfig *cfg = v->cfg;

	for (int k = 0; k < cfg->nout; k++)
	{
		const double *Wk = v->W + (Size) k * cfg->width;
		double		s = v->b[k];

		for (int j = 0; j < cfg->width; j++)
			s += Wk[j] * f[j];
		z[k] = s;
	}
}

/* Adds a training row's gradient w dz f' (and w dz for the biases) to g. */
static void
AddGradient(const GradientView *v, double *g, const double *f, const double *dz, double w)
{
	const GradientConfig *cfg = v->cfg;
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

/* Adds a row of set "set" with weight w and features f to the sums. */
static void
StateAddRow(const GradientView *v, GradientState *st, int set, const double *f, const double *cells,
			const double *y, double w)
{
	const GradientConfig *cfg = v->cfg;
	double	   *d = STATE_D(st) - STATE_COMMON;
	double		zbuf[512];		/* outputs, derivatives, links and path probabilities, up to 128 */
	double	   *z = cfg->nout <= lengthof(zbuf) / 4 ? zbuf : palloc(sizeof(double) * cfg->nout * 4);
	double	   *dz = z + cfg->nout;
	double	   *p = dz + cfg->nout;
	double	   *path = p + cfg->nout;	/* a hierarchy's: each class's probability with its parents' */

	RowOutputs(v, f, z);
	if (cfg->evaluate && v->hierarchy)
	{
		memcpy(path, z, sizeof(double) * cfg->nout);
		HeadsLink(v->rfheads, cfg->nheads, path);
	}
	for (int h = 0; h < cfg->nheads; h++)
	{
		const GradientHead *head = &v->heads[h];
		HeadSums   *s = (HeadSums *) (d + v->sums_at[2 * h + set]);
		double		loss = 0;
		int			range[2];
		double		yt = head->kind == RF_HEAD_REGRESSION ? (y[h] - head->yshift) / head->yscale : y[h];
		const double *target = head->soft || head->kind == RF_HEAD_MULTILABEL ? cells + head->cell : &yt;

		if (!HeadHas(head, cells, y[h]))
		{
			memset(dz + head->offset, 0, sizeof(double) * head->nout);
			continue;
		}
		if (head->parent >= 0 && isnan(y[head->parent]))
			memset(dz + head->offset, 0, sizeof(double) * head->nout);	/* learns only under a known parent */
		else
		{
			if (head->parent >= 0)
			{
				range[0] = v->rfheads[h].child_start[(int) y[head->parent]];
				range[1] = Max(v->rfheads[h].child_count[(int) y[head->parent]], 1);
			}
			loss = HeadRowLoss(&v->rfheads[h], z + head->offset, target, head->parent >= 0 ? range : NULL,
							   dz + head->offset, p + head->offset, NULL);
			if (head->kind == RF_HEAD_REGRESSION)
				p[head->offset] = z[head->offset] * head->yscale + head->yshift;	/* in the target's units */
		}
		/* a multilabel head's rows are those whose first label is known, as in heads.c */
		if (head->kind != RF_HEAD_MULTILABEL || !isnan(cells[head->cell]))
		{
			s->rows++;
			s->weight += w;
		}
		s->loss += w * loss;
		HeadCount(head, s, cells, y[h], w);
		if (cfg->evaluate)
			HeadEvalAdd(head, &v->rfheads[h], s, z + head->offset, (v->hierarchy ? path : p) + head->offset, cells, y[h], w);
	}
	if (set == 0 && w > 0)
		AddGradient(v, d + v->grad_at, f, dz, w);
	if (z != zbuf)
		pfree(z);
}

/* An empty state for the view's sums, in the aggregate's context. */
static GradientState *
StateCreate(MemoryContext aggcxt, const GradientView *v)
{
	GradientState *st = MemoryContextAllocZero(aggcxt, StateSize(v->ndoubles));

	SET_VARSIZE(st, StateSize(v->ndoubles));
	st->magic = GRADIENT_MAGIC;
	st->ndoubles = v->ndoubles;
	return st;
}

/*
 * A row's set from its hash h, as training splits it: 0 training, 1
 * validation (or, for "l2": "auto"'s inner folds, the fold held out of the
 * training rows); -1 for a validation row an inner fold's pass skips.
 */
static int
RowSet(const GradientConfig *cfg, uint64 h)
{
	double		u = ReframeHashToUnit(hash_bytes_uint32_extended((uint32) h, h >> 32));
	int			set = cfg->merged ? 0 : ReframeSplitSet(u, cfg->holdout, cfg->folds, cfg->fold);

	if (cfg->inner_fold < 0)
		return set;
	if (set != 0)
		return -1;
	return ReframeInnerFold(u, RF_L2_FOLDS) == cfg->inner_fold ? 1 : 0;
}

/* Transition: (state, config, x, y, t, w) -> state, changed in place. */
PG_FUNCTION_INFO_V1(reframe_gradient_accum);
Datum
reframe_gradient_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	GradientView *v;
	GradientState *st;
	RfStreamRow row;
	double		raw[RF_MOMENTS_MAX_INPUTS];
	bool		nulls[RF_MOMENTS_MAX_INPUTS];
	double		f[2 * RF_MOMENTS_MAX_INPUTS];
	double	   *cells;
	double		cellbuf[256];
	double		y[RF_MAX_TARGETS];
	double		w;
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
	v = ViewOf(fcinfo, PG_GETARG_BYTEA_P(1));
	st = PG_ARGISNULL(0) ? StateCreate(aggcxt, v) : GradientStateCheck(PG_GETARG_DATUM(0), "the state");
	if (st->ndoubles != v->ndoubles)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.gradient: the state does not fit the configuration")));
	MomentsRowInputs(v->cfg->R, PG_GETARG_ARRAYTYPE_P(2), raw, nulls);
	h = MomentsRowHash(v->cfg->hash0, v->cfg->ncols, v->collen, raw, nulls);
	StreamRowRead(&v->cfg->targets, PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3),
				  PG_ARGISNULL(4) ? NULL : PG_GETARG_ARRAYTYPE_P(4), &row, &h);
	if (row.present == 0)
	{
		st->skipped++;
		PG_RETURN_BYTEA_P(st);
	}
	st->bad_shares += row.bad_shares;
	w = StreamRowWeight(fcinfo, 5, &st->bad_weights);
	if (v->cfg->sample < 1 && ReframeSampleDraw(h) >= v->cfg->sample)
	{
		st->sampled_out++;
		PG_RETURN_BYTEA_P(st);
	}
	set = RowSet(v->cfg, h);
	if (set < 0)
		PG_RETURN_BYTEA_P(st);
	cells = v->cfg->ncells <= lengthof(cellbuf) ? cellbuf : palloc(sizeof(double) * v->cfg->ncells);
	if (row.bad > 0 || !RowCells(v, &row, cells) || !RowTargetsValid(v, cells, y))
	{
		st->bad_targets++;
		PG_RETURN_BYTEA_P(st);
	}
	RowFeatures(v, raw, f);
	StateAddRow(v, st, set, f, cells, y, w);
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

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = GradientStateCheck(PG_GETARG_DATUM(1), "the state to combine");
	if (PG_ARGISNULL(0))
	{
		a = MemoryContextAlloc(inagg ? aggcxt : CurrentMemoryContext, VARSIZE(b));
		memcpy(a, b, VARSIZE(b));
		PG_RETURN_BYTEA_P(a);
	}
	a = GradientStateCheck(PG_GETARG_DATUM(0), "the state");
	if (a->ndoubles != b->ndoubles)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reframe.gradient: cannot combine sums of %d and %d values", a->ndoubles, b->ndoubles)));
	if (!inagg)
	{
		/* called on its own: never change the argument in place */
		GradientState *copy = palloc(VARSIZE(a));

		memcpy(copy, a, VARSIZE(a));
		a = copy;
	}
	/* every field after the header is a sum */
	da = (double *) ((char *) a + offsetof(GradientState, skipped));
	db = (double *) ((char *) b + offsetof(GradientState, skipped));
	for (int i = 0; i < STATE_COMMON + a->ndoubles; i++)
		da[i] += db[i];
	PG_RETURN_BYTEA_P(a);
}
