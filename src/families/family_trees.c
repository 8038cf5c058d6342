/*
 * family_trees.c
 *		The trees family: gradient-boosted trees grown by XGBoost's hist
 *		booster, one round at a time, on the heads' own gradients and
 *		hessians (XGBoost's custom-objective interface), so that every head
 *		and every framing trains: several heads share the rounds, one tree
 *		per output per round.  Early stopping keeps the round with the best
 *		validation loss.  The trees are then stored as parameter blocks (see
 *		forest.h) and scored by our own traversal.
 *
 * XGBoost runs inside the backend: every handle is freed by a reset
 * callback of the training's memory context (on success, error or
 * cancel), every failure becomes an ereport with XGBoost's message, and
 * cancellation and the training yield are checked between rounds.
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include <xgboost/c_api.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/float.h"

#include "reframe.h"
#include "threads.h"
#include "family.h"
#include "forest.h"
#include "jsonutil.h"
#include "progress.h"
#include "rank.h"

/*
 * The defaults, as the best boosted-tree defaults have them (measured on
 * real tables, bench/real_tables.py): learning rate 0.1; with validation
 * rows, up to TREES_ROUND_BUDGET rounds, stopped when the validation loss
 * has not improved for 20; without, TREES_ROUNDS.  "rounds" and
 * "learning_rate" given keep their meaning.
 */
#define TREES_LEARNING_RATE 0.1
#define TREES_ROUNDS 100
#define TREES_ROUND_BUDGET 1000

/* ---------- XGBoost inside a backend ---------- */

typedef struct XgbRun
{
	const char *model;
	DMatrixHandle dtrain;
	DMatrixHandle dvalid;
	BoosterHandle booster;
	MemoryContextCallback cb;
} XgbRun;

/*
 * XGBoost's threads at most: reframe.tree_threads, or by default as many as
 * reframe.threads; round by round only as many as the cores other processes
 * leave free (RfCoresStep), since XGBoost's threads spin while they wait for
 * each other and collapse on a busy machine.  The trees do not depend on
 * the number (threads suite).
 */
static int
TreeThreads(void)
{
	return reframe_tree_threads > 0 ? reframe_tree_threads : RfTrainThreads();
}

static void
XgbFree(void *arg)
{
	XgbRun	   *run = arg;

	if (run->booster)
		XGBoosterFree(run->booster);
	if (run->dtrain)
		XGDMatrixFree(run->dtrain);
	if (run->dvalid)
		XGDMatrixFree(run->dvalid);
	run->booster = run->dtrain = run->dvalid = NULL;
}

static void
XgbCheck(XgbRun *run, int rc, const char *what)
{
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("model \"%s\": XGBoost failed to %s", run->model, what),
				 errdetail("%s", XGBGetLastError())));
}

/* Handles that live as long as the current memory context. */
static XgbRun *
XgbRunCreate(const char *model)
{
	XgbRun	   *run = palloc0(sizeof(XgbRun));

	run->model = model;
	run->cb.func = XgbFree;
	run->cb.arg = run;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &run->cb);
	return run;
}

/*
 * Row weights ("weight") for XGBoost's histogram cuts, which then fall as
 * they would on the rows repeated (the gradients carry the weights already).
 */
static void
XgbRowWeights(XgbRun *run, DMatrixHandle h, const RfMatrix *Y, int wcol)
{
	float	   *w;
	int			rc;

	if (wcol < 0)
		return;
	w = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * Max(Y->nrows, 1));
	for (int64 i = 0; i < Y->nrows; i++)
		w[i] = (float) RfMatrixRow(Y, i)[wcol];
	rc = XGDMatrixSetFloatInfo(h, "weight", w, (bst_ulong) Y->nrows);
	pfree(w);
	XgbCheck(run, rc, "set the row weights");
}

/* The head's targets as a DMatrix's labels, for XGBoost's own objective (a warm start). */
static void
XgbLabels(XgbRun *run, DMatrixHandle h, const RfMatrix *Y, int ycol)
{
	float	   *label = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * Max(Y->nrows, 1));
	int			rc;

	for (int64 i = 0; i < Y->nrows; i++)
		label[i] = (float) RfMatrixRow(Y, i)[ycol];
	rc = XGDMatrixSetFloatInfo(h, "label", label, (bst_ulong) Y->nrows);
	pfree(label);
	XgbCheck(run, rc, "set the labels");
}

/* A DMatrix of encoded rows (NaN: missing), starting from base margins (or, NULL, none). */
static DMatrixHandle
XgbMatrix(XgbRun *run, const RfMatrix *X, const float *margin, int nout, RfBudget *budget, int nthread)
{
	Size		bytes = sizeof(float) * (Size) X->nrows * X->ncols;
	float	   *dense = MemoryContextAllocHuge(CurrentMemoryContext, Max(bytes, 1));
	float	   *base = MemoryContextAllocHuge(CurrentMemoryContext,
											  sizeof(float) * Max(X->nrows, 1) * nout);
	DMatrixHandle h = NULL;
	int			rc;

	/* XGBoost keeps its own copy (and a histogram index): about 2 bytes per byte here */
	RfBudgetCharge(budget, 3 * bytes, "the trees' data");
	for (int c = 0; c < X->nchunks; c++)
		memcpy(dense + (Size) c * RF_CHUNK_ROWS * X->ncols, RfChunkF(X, c),
			   sizeof(float) * RfChunkRows(X, c) * X->ncols);
	rc = XGDMatrixCreateFromMat_omp(dense, X->nrows, X->ncols, NAN, &h, nthread);
	pfree(dense);
	RfBudgetRelease(budget, bytes);
	XgbCheck(run, rc, "build its data matrix");
	if (margin == NULL)
	{
		/* a warm start's rows start from the loaded trees and their base score */
		pfree(base);
		return h;
	}
	for (int64 i = 0; i < X->nrows; i++)
		memcpy(base + i * nout, margin, sizeof(float) * nout);
	rc = XGDMatrixSetFloatInfo(h, "base_margin", base, (bst_ulong) X->nrows * nout);
	pfree(base);
	if (rc != 0)
		XGDMatrixFree(h);
	XgbCheck(run, rc, "set the starting margins");
	return h;
}

static void
XgbParam(XgbRun *run, const char *key, const char *value)
{
	XgbCheck(run, XGBoosterSetParam(run->booster, key, value), psprintf("set parameter %s", key));
}

/*
 * The booster's parameters, from the options (XGBoost's defaults where not
 * given); a continued booster keeps the objective and base score of the
 * model it loaded.
 */
static void
XgbConfigure(XgbRun *run, const RfOptions *o, int nout, int nthread, bool continued)
{
	XgbParam(run, "tree_method", "hist");
	if (!continued)
	{
		XgbParam(run, "objective", "reg:squarederror");
		XgbParam(run, "base_score", "0");
	}
	XgbParam(run, "verbosity", "1");
	XgbParam(run, "nthread", psprintf("%d", nthread));
	XgbParam(run, "seed", psprintf("%lld", (long long) o->seed));
	XgbParam(run, "max_depth", psprintf("%d", o->max_depth));
	XgbParam(run, "eta", psprintf("%.17g", OptionGiven(o, "learning_rate") ? o->learning_rate : TREES_LEARNING_RATE));
	XgbParam(run, "lambda", psprintf("%.17g", OptionGiven(o, "l2") ? o->l2 : 1.0));
	XgbParam(run, "min_child_weight", psprintf("%.17g", o->min_child_weight));
	XgbParam(run, "subsample", psprintf("%.17g", o->subsample));
	XgbParam(run, "colsample_bytree", psprintf("%.17g", o->colsample));
	XgbParam(run, "max_bin", psprintf("%d", o->max_bins));
	if (nout > 1)
		XgbParam(run, "num_class", psprintf("%d", nout));
}

/* Raw outputs (margins) of a DMatrix's rows under the trees so far. */
static const float *
XgbMargins(XgbRun *run, DMatrixHandle d, bool training)
{
	bst_ulong const *shape;
	bst_ulong	dim;
	const float *out;

	XgbCheck(run, XGBoosterPredictFromDMatrix(run->booster, d,
											  training ? "{\"type\": 1, \"training\": true, \"iteration_begin\": 0, \"iteration_end\": 0, \"strict_shape\": false}" :
											  "{\"type\": 1, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, \"strict_shape\": false}",
											  &shape, &dim, &out),
			 "predict");
	return out;
}

/* ---------- boosting ---------- */

typedef struct TreesBoost
{
	XgbRun	   *run;
	RfTrunk    *trunk;
	RfFitData  *d;
	RfHeadData *train;
	RfHeadData *valid;			/* NULL without validation rows */
	float	   *grad;
	float	   *hess;
	float	   *scale;			/* per output: gradients per row, as XGBoost's own */
	RfRankGroups *rank;			/* "objective": "ndcg": the training queries */
	RfRankGroups *rank_valid;
	RfCores		cores;			/* XGBoost's threads, as the machine allows */
	int			nthread;		/* set in the booster */
	bool		own_objective;	/* a warm start: XGBoost's objective grows the trees */
	int			round;			/* rounds grown so far */
} TreesBoost;

/* The heads' loss over a set's rows at margins Z, and its gradients. */
static double
TreesLoss(RfHeadData *hd, const RfMatrix *Y, const float *Z, float *dZ, float *H)
{
	double		loss = 0;

	for (int c = 0; c < Y->nchunks; c++)
	{
		Size		off = (Size) c * RF_CHUNK_ROWS * hd->nout;

		loss += HeadsLossRows(hd, c, 0, RfChunkRows(Y, c), Z + off, dZ + off, H ? H + off : NULL);
	}
	return loss;
}

/*
 * The heads normalise each loss by its rows (their weights, summed); trees
 * want per-row gradients, whose hessians min_child_weight and lambda are
 * measured against: scale by the rows, and halve the squared loss's (whose
 * hessian is 2).
 */
static float *
TreesGradScale(RfTrunk *t, const RfMatrix *Y)
{
	float	   *scale = palloc(sizeof(float) * t->nout);
	int			wcol = t->heads[0].wcol;
	double		rows = wcol >= 0 ? 0 : (double) Y->nrows;

	for (int64 i = 0; i < Y->nrows && wcol >= 0; i++)
		rows += RfMatrixRow(Y, i)[wcol];

	for (int h = 0; h < t->nheads; h++)
		for (int k = 0; k < t->heads[h].nout; k++)
			scale[t->heads[h].offset + k] = (float) rows *
				(t->heads[h].kind == RF_HEAD_REGRESSION && t->heads[h].loss == RF_LOSS_SQUARED ? 0.5f : 1.0f);
	return scale;
}

/* One round: gradients at the current margins, one tree per output. */
static double
TreesRound(TreesBoost *b)
{
	int64		n = b->d->Y->nrows * b->trunk->nout;
	const float *Z = XgbMargins(b->run, b->run->dtrain, true);
	int			nout = b->trunk->nout;
	double		loss;

	if (b->own_objective)
	{
		/* the loss reported; XGBoost computes its own gradients */
		loss = TreesLoss(b->train, b->d->Y, Z, b->grad, b->hess);
		RfCoresStep(&b->cores);
		XgbCheck(b->run, XGBoosterUpdateOneIter(b->run->booster, b->round++, b->run->dtrain),
				 "grow a tree");
		RfCoresDone(&b->cores);
		return loss;
	}
	if (b->rank)
	{
		memset(b->grad, 0, sizeof(float) * n);
		memset(b->hess, 0, sizeof(float) * n);
		loss = RankNdcgLambdas(b->rank, Z, nout, b->grad, b->hess);
	}
	else
	{
		loss = TreesLoss(b->train, b->d->Y, Z, b->grad, b->hess);
		for (int64 i = 0; i < n; i++)
		{
			b->grad[i] *= b->scale[i % nout];
			b->hess[i] *= b->scale[i % nout];
		}
	}
	{
		int			threads = RfCoresStep(&b->cores);

		if (threads != b->nthread)
		{
			XgbParam(b->run, "nthread", psprintf("%d", threads));
			b->nthread = threads;
		}
	}
	XgbCheck(b->run, XGBoosterBoostOneIter(b->run->booster, b->run->dtrain, b->grad, b->hess, n),
			 "grow a tree");
	RfCoresDone(&b->cores);
	return loss;
}

/*
 * "objective": "ndcg": the one head's target is each row's relevance within
 * its query, and the trees follow LambdaRank's gradients (LambdaMART).
 */
static void
TreesListwise(TreesBoost *b)
{
	RfTrunk    *t = b->trunk;
	RfFitData  *d = b->d;

	if (d->gcol < 0 || t->nheads != 1 ||
		(t->heads[0].kind != RF_HEAD_BINARY && t->heads[0].kind != RF_HEAD_REGRESSION))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"objective\": \"ndcg\" ranks the rows of each query of one binary or numeric target"),
				 errhint("Name the query column with \"group\", and one relevance target.")));
	b->rank = RankGroups(d->Y, t->heads[0].ycol, d->gcol);
	if (b->valid)
		b->rank_valid = RankGroups(d->Yva, t->heads[0].ycol, d->gcol);
}

/* Rounds until "rounds" or until the validation loss stops improving. */
static void
TreesBoostRounds(TreesBoost *b, RfFitResult *res)
{
	const RfOptions *o = b->d->opts;
	int			rounds = OptionGiven(o, "rounds") ? o->rounds : b->valid ? TREES_ROUND_BUDGET : TREES_ROUNDS;
	int			patience = OptionGiven(o, "patience") ? o->patience : 20;
	double		best = get_float8_infinity();
	int			best_rounds = 0;
	float	   *vscratch = b->valid ? MemoryContextAllocHuge(CurrentMemoryContext,
															  sizeof(float) * Max(b->d->Yva->nrows, 1) * b->trunk->nout) : NULL;

	res->opt.history = palloc(sizeof(double) * rounds);
	res->opt.history_from = 1;
	for (int r = 0; r < rounds; r++)
	{
		double		loss = TreesRound(b);
		double		vloss = loss;

		if (b->valid)
		{
			const float *Zv = XgbMargins(b->run, b->run->dvalid, false);

			if (b->rank_valid)
				vloss = RankNdcgLambdas(b->rank_valid, Zv, b->trunk->nout, NULL, NULL);
			else
				vloss = TreesLoss(b->valid, b->d->Yva, Zv, vscratch, NULL);
			if (vloss < best)
			{
				best = vloss;
				best_rounds = r + 1;
			}
		}
		else
			best_rounds = r + 1;
		res->opt.history[res->opt.nhistory++] = b->valid ? vloss : loss;
		res->opt.iterations = r + 1;
		ProgressIteration(r + 1, vloss);
		if (o->verbose)
			ereport(NOTICE, (errmsg("model \"%s\": round %d, training loss %g%s", b->d->model_name,
									r + 1, loss, b->valid ? psprintf(", validation loss %g", vloss) : "")));
		if (b->valid && r + 1 - best_rounds >= patience)
		{
			res->opt.converged = true;
			break;
		}
		ReframeYield();
		CHECK_FOR_INTERRUPTS();
	}
	if (!b->valid)
		res->opt.converged = true;	/* nothing to stop on: the rounds asked for */
	else if (!res->opt.converged)
		ereport(NOTICE,
				(errmsg("model \"%s\": the validation loss still improved after all %d rounds",
						b->d->model_name, rounds),
				 errhint("Raise \"rounds\" or \"learning_rate\".")));
	res->opt.iterations = best_rounds;
	res->opt.loss = best;
}

/* ---------- reading the trees back ---------- */

/* The per-node arrays of XGBoost's JSON model that a forest keeps. */
enum
{
	TF_LEFT, TF_RIGHT, TF_FEATURE, TF_COND, TF_DEFAULT, TF_GAIN, TF_COVER, TF_INFO, TF_NFIELDS
};
static const char *const tree_fields[TF_NFIELDS] = {
	"left_children", "right_children", "split_indices", "split_conditions", "default_left",
	"loss_changes", "sum_hessian", "tree_info"
};

typedef struct TreeParse
{
	char	   *field;			/* the last object key */
	int			in_array;		/* a field's array we collect: TF_*, or -1 */
	int			depth;
	double	   *v[TF_NFIELDS];	/* every value, all trees one after another */
	int64		n[TF_NFIELDS];
	int64		cap[TF_NFIELDS];
	int64	   *start;			/* per tree: its first node (from left_children) */
	int			ntrees;
	int			captrees;
} TreeParse;

static void
TreeParseField(void *state, char *fname, bool isnull)
{
	((TreeParse *) state)->field = fname;
}

static void
TreeParseArrayStart(void *state)
{
	TreeParse  *p = state;

	p->depth++;
	p->in_array = -1;
	for (int k = 0; k < TF_NFIELDS && p->field; k++)
		if (strcmp(p->field, tree_fields[k]) == 0)
			p->in_array = k;
	if (p->in_array == TF_LEFT)
	{
		if (p->ntrees == p->captrees)
		{
			p->captrees = Max(64, p->captrees * 2);
			p->start = repalloc_huge(p->start, sizeof(int64) * p->captrees);
		}
		p->start[p->ntrees++] = p->n[TF_LEFT];
	}
}

static void
TreeParseArrayEnd(void *state)
{
	TreeParse  *p = state;

	p->depth--;
	p->in_array = -1;
	p->field = NULL;
}

static void
TreeParseScalar(void *state, char *token, JsonTokenType type)
{
	TreeParse  *p = state;
	int			k = p->in_array;

	if (k < 0 || type != JSON_TOKEN_NUMBER)
		return;
	if (p->n[k] == p->cap[k])
	{
		p->cap[k] = Max(1024, p->cap[k] * 2);
		p->v[k] = repalloc_huge(p->v[k], sizeof(double) * p->cap[k]);
	}
	/* thresholds and leaf values are floats: read them as such, exactly */
	p->v[k][p->n[k]++] = k == TF_COND ? (double) strtof(token, NULL) : strtod(token, NULL);
}

/* XGBoost's JSON model, parsed for the per-node arrays of its trees. */
static TreeParse *
TreesParseModel(XgbRun *run, RfBudget *budget)
{
	bst_ulong	len;
	const char *raw;
	char	   *json;
	TreeParse  *p = palloc0(sizeof(TreeParse));
	JsonSemAction sem = {0};
	JsonLexContext *lex;

	XgbCheck(run, XGBoosterSaveModelToBuffer(run->booster, "{\"format\": \"json\"}", &len, &raw),
			 "save its model");
	/* the text, and about as much again for its numbers */
	RfBudgetCharge(budget, 2 * (Size) len, "the trees' model");
	json = MemoryContextAllocHuge(CurrentMemoryContext, len + 1);
	memcpy(json, raw, len);
	json[len] = '\0';
	for (int k = 0; k < TF_NFIELDS; k++)
		p->v[k] = palloc(sizeof(double));
	p->start = palloc(sizeof(int64));
	p->in_array = -1;
	sem.semstate = p;
	sem.object_field_start = TreeParseField;
	sem.array_start = TreeParseArrayStart;
	sem.array_end = TreeParseArrayEnd;
	sem.scalar = TreeParseScalar;
	lex = makeJsonLexContextCstringLen(json, len, PG_UTF8, true);
	if (pg_parse_json(lex, &sem) != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("model \"%s\": XGBoost's model could not be read", run->model)));
	pfree(json);
	for (int k = 0; k < TF_INFO; k++)
		if (p->n[k] != p->n[TF_LEFT])
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("model \"%s\": XGBoost's model has inconsistent trees", run->model)));
	return p;
}

/*
 * The first ntrees trees as a forest.  leaf_scale and leaf_shift (per
 * output) map leaves back to target units; the first round's leaves also
 * take the starting margins.
 */
static RfForest *
TreesForest(TreeParse *p, int ntrees, int nin, int nout, const double *margin,
			const double *leaf_scale, const double *leaf_shift, RfBudget *budget)
{
	int64		nnodes = ntrees < p->ntrees ? p->start[ntrees] : p->n[TF_LEFT];
	RfForest   *f;

	/* the blocks, and the nodes compiled for evaluation */
	RfBudgetCharge(budget, (sizeof(double) * RF_FOREST_NODE_COLS + sizeof(RfTreeNode) + sizeof(float)) * nnodes,
				   "the trees");
	f = ForestCreate(nin, nout, ntrees, nnodes);

	for (int t = 0; t < ntrees; t++)
	{
		int64		start = p->start[t];
		int64		size = (t + 1 < p->ntrees ? p->start[t + 1] : p->n[TF_LEFT]) - start;
		int			o = nout > 1 ? (int) p->v[TF_INFO][t] : 0;
		double	   *ti = f->index + (Size) t * RF_FOREST_TREE_COLS;

		ti[0] = o;
		ti[1] = start;
		ti[2] = size;
		for (int64 j = start; j < start + size; j++)
		{
			double	   *nd = f->nodes + (Size) j * RF_FOREST_NODE_COLS;
			bool		leaf = p->v[TF_LEFT][j] < 0;
			double		v = p->v[TF_COND][j];

			nd[0] = leaf ? -1 : p->v[TF_FEATURE][j];
			nd[1] = leaf ? 0 : v;
			nd[2] = leaf ? -1 : p->v[TF_LEFT][j];
			nd[3] = leaf ? -1 : p->v[TF_RIGHT][j];
			nd[4] = leaf ? 0 : p->v[TF_DEFAULT][j];
			if (leaf && t < nout)
				v = (v + margin[o]) * leaf_scale[o] + leaf_shift[o];
			else if (leaf)
				v *= leaf_scale[o];
			/* stored as a float, as XGBoost keeps and sums it */
			nd[5] = leaf ? (double) (float) v : 0;
			nd[6] = leaf ? 0 : p->v[TF_GAIN][j];
			nd[7] = p->v[TF_COVER][j];
		}
	}
	f->index_set = f->nodes_set = true;
	f->rounds = ntrees / Max(nout, 1);
	return f;
}

/* Per output: the starting margin, and the map of leaves to target units. */
static void
TreesOutputMaps(RfTrunk *t, RfFitData *d, double **margin, double **scale, double **shift)
{
	*margin = palloc0(sizeof(double) * t->nout);
	*scale = palloc(sizeof(double) * t->nout);
	*shift = palloc0(sizeof(double) * t->nout);
	HeadsBaseMargins(t->heads, t->nheads, d->targets, d->Y, *margin);
	for (int h = 0; h < t->nheads; h++)
		for (int k = 0; k < t->heads[h].nout; k++)
		{
			int			o = t->heads[h].offset + k;
			RfTarget   *tg = &d->targets[Min(h, d->ntargets - 1)];
			bool		reg = t->heads[h].kind == RF_HEAD_REGRESSION;

			(*scale)[o] = reg ? tg->sd : 1.0;
			(*shift)[o] = reg ? tg->mean : 0.0;
		}
}

static void TreesExportXGBoost(const RfTrunk *t, char **names, const char **types, StringInfo buf);

/*
 * A booster over the training rows and, unless a cross-validation fold is
 * measured on them (no stopping on them then), the validation rows, every
 * row starting from margin (NULL: from the booster's own base); the heads
 * prepared over both, and room for the rows' gradients.
 */
static void
TreesBoostStart(TreesBoost *b, RfTrunk *t, RfFitData *d, const float *margin, double **cw,
				double *ys, double *yd)
{
	DMatrixHandle cache[2];

	b->d = d;
	b->trunk = t;
	b->run = XgbRunCreate(d->model_name);
	RfCoresStart(&b->cores, TreeThreads());
	b->nthread = b->cores.now;
	cache[0] = b->run->dtrain = XgbMatrix(b->run, d->X, margin, t->nout, d->budget, b->nthread);
	XgbRowWeights(b->run, b->run->dtrain, d->Y, t->heads[0].wcol);
	if (d->Xva && d->Xva->nrows > 0 && !d->measured_on_validation)
	{
		cache[1] = b->run->dvalid = XgbMatrix(b->run, d->Xva, margin, t->nout, d->budget, b->nthread);
		b->valid = HeadsPrepare(t->heads, t->nheads, d->Yva, cw, ys, yd);
	}
	XgbCheck(b->run, XGBoosterCreate(cache, b->valid ? 2 : 1, &b->run->booster), "create a booster");
	b->train = HeadsPrepare(t->heads, t->nheads, d->Y, cw, ys, yd);
	RfBudgetCharge(d->budget, 4 * sizeof(float) * (Size) d->Y->nrows * t->nout, "the trees' gradients");
	b->grad = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * Max(d->Y->nrows, 1) * t->nout);
	b->hess = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * Max(d->Y->nrows, 1) * t->nout);
}

/* Whether XGBoost's continued training has an objective for the heads (TreesContinue). */
static void
TreesCheckContinued(RfTrunk *t, RfFitData *d)
{
	const RfHead *head = &t->heads[0];

	if (t->nheads != 1 || head->parent_of || head->bin_values || head->kind == RF_HEAD_MULTILABEL ||
		(head->kind == RF_HEAD_REGRESSION && head->loss != RF_LOSS_SQUARED) ||
		d->opts->objective || OptionGiven(d->opts, "class_weight"))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\": a warm start of trees continues one binary, multiclass or squared-loss regression head",
						d->model_name),
				 errhint("XGBoost's continued training has an objective for each of those (without \"class_weight\" or \"objective\"); train this framing without \"warm_start\".")));
}

/*
 * A warm start ("warm_start"): XGBoost's own continued training.  The
 * version continued, written as XGBoost's model (as reframe.export writes
 * it), is loaded into the booster, which grows the new rounds on the rows
 * read with XGBoost's own objective for the head, as xgb.train(params,
 * rows, rounds, xgb_model=<that model>) does; the new version holds the
 * old trees and the new ones.  Early stopping, without "rounds", is ours.
 */
static void
TreesContinue(RfTrunk *t, RfFitData *d, RfFitResult *res)
{
	TreesBoost	b = {0};
	char	  **names = palloc0(sizeof(char *) * Max(d->enc->width, 1));
	const char **types = palloc0(sizeof(char *) * Max(d->enc->width, 1));
	const RfForest *old = d->warm->state;
	double	   *zero = palloc0(sizeof(double) * t->nout);
	double	   *one = palloc(sizeof(double) * t->nout);
	double	  **cw = palloc0(sizeof(double *) * t->nheads);
	double	   *ys = palloc0(sizeof(double) * t->nheads);
	double	   *yd = palloc(sizeof(double) * t->nheads);
	StringInfoData json;
	TreeParse  *p;

	TreesCheckContinued(t, d);
	for (int o = 0; o < t->nout; o++)
		one[o] = 1;
	yd[0] = 1;					/* the loss reported in the target's units, as the margins are */
	res->solver = "xgboost (hist), continued";
	EncoderSlotNames(d->enc, names, types);
	initStringInfo(&json);
	TreesExportXGBoost(d->warm, names, types, &json);
	b.own_objective = true;
	TreesBoostStart(&b, t, d, NULL, cw, ys, yd);
	XgbLabels(b.run, b.run->dtrain, d->Y, t->heads[0].ycol);
	XgbCheck(b.run, XGBoosterLoadModelFromBuffer(b.run->booster, json.data, json.len),
			 "load the deployed version's trees");
	XgbConfigure(b.run, d->opts, t->nout, b.nthread, true);
	TreesBoostRounds(&b, res);
	p = TreesParseModel(b.run, d->budget);
	t->state = TreesForest(p, Min(old->ntrees + res->opt.iterations * t->nout, p->ntrees),
						   t->nin, t->nout, zero, one, zero, d->budget);
	XgbFree(b.run);
	ForestCompile(t->state, d->model_name, 0);
}

static void
TreesFit(RfTrunk *t, RfFitData *d, RfFitResult *res)
{
	TreesBoost	b = {0};
	double	   *margin;
	double	   *scale;
	double	   *shift;
	float	   *fmargin = palloc(sizeof(float) * t->nout);
	double	  **cw = palloc0(sizeof(double *) * t->nheads);
	double	   *ys = palloc0(sizeof(double) * t->nheads);
	double	   *yd = palloc(sizeof(double) * t->nheads);
	TreeParse  *p;

	if (d->warm)
	{
		TreesContinue(t, d, res);
		return;
	}
	res->solver = "xgboost (hist)";
	TreesOutputMaps(t, d, &margin, &scale, &shift);
	for (int o = 0; o < t->nout; o++)
		fmargin[o] = (float) margin[o];
	for (int h = 0; h < t->nheads; h++)
	{
		RfTarget   *tg = &d->targets[Min(h, d->ntargets - 1)];

		cw[h] = tg->class_weight;
		ys[h] = tg->mean;
		yd[h] = tg->sd;
	}
	TreesBoostStart(&b, t, d, fmargin, cw, ys, yd);
	XgbConfigure(b.run, d->opts, t->nout, b.nthread, false);
	b.scale = TreesGradScale(t, d->Y);
	if (d->opts->objective && strcmp(d->opts->objective, "ndcg") == 0)
		TreesListwise(&b);

	TreesBoostRounds(&b, res);
	p = TreesParseModel(b.run, d->budget);
	t->state = TreesForest(p, Min(res->opt.iterations * t->nout, p->ntrees), t->nin, t->nout,
						   margin, scale, shift, d->budget);
	XgbFree(b.run);
	ForestCompile(t->state, d->model_name, 0);
}

/* ---------- the family's table ---------- */

static void
TreesCreate(RfTrunk *t, const RfOptions *opts, int nin)
{
	t->state = NULL;			/* grown by TreesFit */
}

static void
TreesForwardRow(const RfTrunk *t, const double *x, double *out, double *scratch)
{
	const RfForest *f = t->state;
	float	   *xf = (float *) scratch;
	float	   *acc = xf + f->nin;

	for (int i = 0; i < f->nin; i++)
		xf[i] = (float) x[i];
	ForestRow(f, xf, acc);
	for (int o = 0; o < f->nout; o++)
		out[o] = acc[o];
}

static int
TreesRowScratch(const RfTrunk *t)
{
	return t->nin + t->nout;	/* floats, in as many doubles */
}

static void *
TreesBatchBegin(const RfTrunk *t)
{
	return t->state;
}

static void
TreesForwardBatch(void *batch, const float *X, int rows, float *out)
{
	ForestRows(batch, X, rows, out);
}

static void
TreesToJson(const RfTrunk *t, StringInfo buf)
{
	const RfForest *f = t->state;

	appendStringInfo(buf, "\"trees\": %d, \"nodes\": %lld, \"rounds\": %d",
					 f->ntrees, (long long) f->nnodes, f->rounds);
}

static List *
TreesBlocks(const RfTrunk *t)
{
	const RfForest *f = t->state;

	return list_make2(RfBlockMake("trees.index", f->ntrees, RF_FOREST_TREE_COLS, f->index),
					  RfBlockMake("trees.nodes", (int) f->nnodes, RF_FOREST_NODE_COLS, f->nodes));
}

/* A forest's layout: no more trees and nodes than its blocks hold. */
static void
TreesFromJson(RfTrunk *t, JsonbContainer *spec, int64 stored)
{
	int			ntrees = SpecInt(spec, "network", "trees", -1, 1, INT_MAX);
	int			nnodes = SpecInt(spec, "network", "nodes", -1, ntrees, INT_MAX);

	if ((int64) ntrees * RF_FOREST_TREE_COLS + (int64) nnodes * RF_FOREST_NODE_COLS > stored)
		SpecCorrupt("spec field \"network\" describes %d trees of %d nodes, more than its blocks hold (%lld values)",
					ntrees, nnodes, (long long) stored);

	t->state = ForestCreate(t->nin, t->nout, ntrees, nnodes);
	((RfForest *) t->state)->rounds = SpecInt(spec, "network", "rounds", 0, 0, INT_MAX);
}

static bool
TreesSetBlock(RfTrunk *t, const char *name, const double *data, int64 n)
{
	RfForest   *f = t->state;
	bool		index = strcmp(name, "trees.index") == 0;
	int64		size = index ? (int64) f->ntrees * RF_FOREST_TREE_COLS : f->nnodes * RF_FOREST_NODE_COLS;

	if (!index && strcmp(name, "trees.nodes") != 0)
		return false;
	if (n != size)
		SpecCorrupt("block \"%s\" has %lld values, expected %lld", name, (long long) n, (long long) size);
	memcpy(index ? f->index : f->nodes, data, sizeof(double) * n);
	if (index)
		f->index_set = true;
	else
		f->nodes_set = true;
	return true;
}

static void
TreesCheckLoaded(const RfTrunk *t, const char *model, int32 version)
{
	ForestCompile(t->state, model, version);
}

/* The total gain of every split on an input, over every tree. */
static void
TreesImportance(const RfTrunk *t, const RfEncoder *enc, double *imp)
{
	const RfForest *f = t->state;

	memset(imp, 0, sizeof(double) * t->nin);
	for (int64 j = 0; j < f->nnodes; j++)
	{
		const double *nd = f->nodes + (Size) j * RF_FOREST_NODE_COLS;

		if (nd[0] >= 0 && nd[0] < t->nin)
			imp[(int) nd[0]] += nd[6];
	}
}

/* Exact: TreeSHAP over the stored trees. */
static void
TreesExplain(const RfTrunk *t, const double *x, int output, double *contrib, double *base,
			 double *rest)
{
	const RfForest *f = t->state;
	float	   *xf = palloc(sizeof(float) * Max(f->nin, 1));

	for (int i = 0; i < f->nin; i++)
		xf[i] = (float) x[i];
	ForestShap(f, xf, output, contrib, base);
	*rest = 0;
	pfree(xf);
}

/*
 * The first round has one tree per output: every leaf of output o's first
 * tree takes delta[o] (as the starting margins do), and the forest is
 * compiled again.
 */
static void
TreesShiftOutputs(RfTrunk *t, const double *delta)
{
	RfForest   *f = t->state;

	for (int tr = 0; tr < f->ntrees && tr < f->nout; tr++)
	{
		const double *ti = f->index + (Size) tr * RF_FOREST_TREE_COLS;
		int			o = (int) ti[0];

		for (int64 j = (int64) ti[1]; j < (int64) ti[1] + (int64) ti[2]; j++)
		{
			double	   *nd = f->nodes + (Size) j * RF_FOREST_NODE_COLS;

			if (nd[0] < 0)
				nd[5] = (double) (float) (nd[5] + delta[o]);
		}
	}
	ForestCompile(f, "(training)", 0);
}

/*
 * XGBoost's JSON model: one regression or binary head, or one multiclass
 * head, is the objective XGBoost has for it, so that its predict gives
 * reframe's score; anything else (several heads, multilabel, hierarchy)
 * is a model of nout margins, the heads' raw outputs.
 */
static void
TreesExportXGBoost(const RfTrunk *t, char **names, const char **types, StringInfo buf)
{
	const RfHead *head = &t->heads[0];
	bool		one = t->nheads == 1 && head->parent_of == NULL;

	if (one && head->kind == RF_HEAD_BINARY)
		ForestToXGBoostJson(t->state, "binary:logistic", 0, 1, 0.5, names, types, buf);
	else if (one && head->kind == RF_HEAD_MULTICLASS)
		ForestToXGBoostJson(t->state, "multi:softprob", head->nout, 1, 0, names, types, buf);
	else if (one && head->kind == RF_HEAD_MULTILABEL)
		ForestToXGBoostJson(t->state, "binary:logistic", 0, head->nout, 0.5, names, types, buf);
	else
		ForestToXGBoostJson(t->state, "reg:squarederror", 0, t->nout, 0, names, types, buf);
}

static const char *const trees_options[] = {
	"rounds", "max_depth", "min_child_weight", "subsample", "colsample", "max_bins", "objective",
	"learning_rate", "patience", NULL
};

const RfFamily ReframeTreesFamily = {
	.name = "trees",
	.raw_inputs = true,
	/* early stopping wants few rows, as HistGradientBoosting's 10% */
	.validation = 0.1,
	.options = trees_options,
	.candidate = "{}",
	.create = TreesCreate,
	.fit = TreesFit,
	.forward_row = TreesForwardRow,
	.row_scratch = TreesRowScratch,
	.batch_begin = TreesBatchBegin,
	.forward_batch = TreesForwardBatch,
	.to_json = TreesToJson,
	.blocks = TreesBlocks,
	.from_json = TreesFromJson,
	.set_block = TreesSetBlock,
	.check_loaded = TreesCheckLoaded,
	.shift_outputs = TreesShiftOutputs,
	.export_xgboost = TreesExportXGBoost,
	.explain = TreesExplain,
	.importance = TreesImportance,
};
