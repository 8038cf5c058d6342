/*
 * gradient_config.c
 *		A streaming pass's configuration, built from the training's state and
 *		heads (GradientConfigBuild), run (GradientRun), and its sums read back.
 */
#include "postgres.h"

#include "moments.h"
#include "gradient_int.h"

/* One multilabel head over several targets (boolean labels or shares)? */
bool
GradientLabelColumns(RfTrainState *ts)
{
	return ts->ntargets > 1 && ts->task && strcmp(ts->task, "multilabel") == 0;
}

/* The target cells of each target: one, or a label set's labels. */
static int
TargetCells(RfTrainState *ts, int *cell)
{
	int			n = 0;

	for (int t = 0; t < ts->ntargets; t++)
	{
		cell[t] = n;
		n += ts->targets[t].kind == RF_TARGET_LABELS || ts->targets[t].kind == RF_TARGET_SHARES ?
			ts->targets[t].nclasses : 1;
	}
	return n;
}

static GradientMap
HeadMap(const RfHead *head, const RfTarget *tg)
{
	if (head->kind != RF_HEAD_MULTICLASS || tg->kind != RF_TARGET_NUMBER)
		return MAP_NONE;
	return tg->bin_edges ? MAP_BINS : MAP_VALUES;
}

/* The sorted names of the text targets, one after the other. */
static void
ConfigNames(RfTrainState *ts, StringInfo names, GradientTarget *gt)
{
	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];

		gt[t].names_at = names->len;
		gt[t].nnames = 0;
		if (tg->kind != RF_TARGET_CATEGORY && tg->kind != RF_TARGET_LABELS)
			continue;
		gt[t].nnames = tg->nclasses;
		for (int k = 0; k < tg->nclasses; k++)
		{
			/* a hierarchy's level orders its classes by parent: its names stay sorted here */
			const char *name = tg->sorted_names ? tg->sorted_names[k] : tg->classes[k];

			appendBinaryStringInfo(names, name, strlen(name) + 1);
		}
	}
}

/* A head's part of a pass's configuration; its parent map, ranks and values go to pool. */
static void
ConfigHead(RfTrainState *ts, const RfHead *head, int h, const int *cell, PassKind kind,
		   const double *center, GradientHead *gh, StringInfo pool)
{
	RfTarget   *tg = &ts->targets[GradientLabelColumns(ts) ? 0 : h];
	bool		regression = head->kind == RF_HEAD_REGRESSION;

	gh->kind = head->kind;
	gh->loss = head->loss;
	gh->offset = head->offset;
	gh->nout = head->nout;
	gh->cell = GradientLabelColumns(ts) ? 0 : cell[h];
	gh->map = HeadMap(head, tg);
	gh->huber_delta = head->huber_delta;
	gh->threshold = head->threshold;
	gh->yshift = regression && kind == PASS_FIT ? tg->mean : 0;
	gh->yscale = regression && kind == PASS_FIT ? tg->sd : 1;
	gh->ycenter = center ? center[h] : 0;
	gh->weight = head->weight;
	gh->soft = head->kind == RF_HEAD_MULTICLASS && head->soft;
	gh->parent = head->parent_of ? head->parent : -1;
	gh->parents_at = -1;
	if (head->parent_of)
	{
		gh->parents_at = pool->len / sizeof(double);
		for (int k = 0; k < head->nout; k++)
		{
			double		v = head->parent_of[k];

			appendBinaryStringInfo(pool, (const char *) &v, sizeof(double));
		}
		for (int k = 0; k < head->nout; k++)
		{
			double		v = tg->rank[k];

			appendBinaryStringInfo(pool, (const char *) &v, sizeof(double));
		}
	}
	gh->values_at = pool->len / sizeof(double);
	if (gh->map == MAP_VALUES)
	{
		gh->nvalues = tg->nclasses;
		appendBinaryStringInfo(pool, (const char *) (tg->values), sizeof(double) * tg->nclasses);
	}
	else if (gh->map == MAP_BINS)
	{
		double	   *bv = tg->bin_values ? tg->bin_values : palloc0(sizeof(double) * tg->nclasses);

		gh->nvalues = tg->nclasses - 1;
		appendBinaryStringInfo(pool, (const char *) (tg->bin_edges), sizeof(double) * (tg->nclasses - 1));
		appendBinaryStringInfo(pool, (const char *) (bv), sizeof(double) * tg->nclasses);
	}
}

/* Each input's shift, then its scale: as is before the encoder is fitted (the counting pass). */
static void
ConfigAppendScaling(const RfEncoder *enc, StringInfo buf)
{
	for (int r = 0; r < enc->nraw; r++)
	{
		double		shift = enc->shift ? enc->shift[r] : 0.0;

		appendBinaryStringInfo(buf, (const char *) (&shift), sizeof(double));
	}
	for (int r = 0; r < enc->nraw; r++)
	{
		double		scale = enc->scale ? enc->scale[r] : 1.0;

		appendBinaryStringInfo(buf, (const char *) (&scale), sizeof(double));
	}
}

/* Each input's encoded slot, its missing indicator's slot, each column's length. */
static void
ConfigAppendSlots(const RfEncoder *enc, StringInfo buf)
{
	int			R = enc->nraw;
	int32	   *slot = palloc(sizeof(int32) * (2 * R + enc->ncols));

	for (int c = 0; c < enc->ncols; c++)
	{
		slot[2 * R + c] = enc->cols[c].length;
		for (int k = 0; k < enc->cols[c].length; k++)
			slot[enc->cols[c].raw + k] = enc->cols[c].slot + k;
	}
	for (int r = 0; r < R; r++)
		slot[R + r] = enc->missing_slot ? enc->missing_slot[r] : -1;
	appendBinaryStringInfo(buf, (const char *) (slot), sizeof(int32) * (2 * R + enc->ncols));
}

/*
 * A pass's configuration for the heads, with the trunk's weights W
 * (nout x width, row-major) and biases b; center: per head, what a
 * regression target's sums are taken about (NULL: 0).
 */
bytea *
GradientConfigBuild(RfTrainState *ts, const RfHead *heads, int nheads, const double *W, const double *b,
			PassKind kind, const double *center, int inner_fold)
{
	RfEncoder  *enc = ts->enc;
	int			R = enc->nraw;
	int			width = enc->width;
	int			nout = heads[nheads - 1].offset + heads[nheads - 1].nout;
	int			cell[RF_MAX_TARGETS];
	GradientConfig hdr = {0};
	GradientHead *gh = palloc0(sizeof(GradientHead) * nheads);
	StringInfoData pool;
	StringInfoData names;
	StringInfoData buf;

	initStringInfo(&pool);
	initStringInfo(&names);
	hdr.ncells = TargetCells(ts, cell);
	for (int h = 0; h < nheads; h++)
		ConfigHead(ts, &heads[h], h, cell, kind, center, &gh[h], &pool);
	ConfigNames(ts, &names, hdr.target);
	hdr.magic = GRADIENT_MAGIC;
	hdr.R = R;
	hdr.ncols = enc->ncols;
	hdr.width = width;
	hdr.nout = nout;
	hdr.nheads = nheads;
	hdr.npool = pool.len / sizeof(double);
	hdr.names_len = names.len;
	hdr.folds = ts->folds;
	hdr.fold = ts->fold;
	hdr.merged = ts->with_validation;
	hdr.evaluate = kind == PASS_EVAL;
	hdr.inner_fold = inner_fold;
	hdr.hash0 = (uint64) ts->opts->seed * UINT64CONST(0x9E3779B97F4A7C15) + 1;
	hdr.holdout = ts->holdout;
	hdr.sample = ts->sample;
	StreamTargetsInit(ts, &hdr.targets);
	for (int t = 0; t < ts->ntargets; t++)
		hdr.target[t].cell = cell[t];
	SET_VARSIZE(&hdr, ConfigSize(R, enc->ncols, width, nout, hdr.npool, nheads, hdr.names_len));

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (const char *) (&hdr), sizeof(hdr));
	ConfigAppendScaling(enc, &buf);
	appendBinaryStringInfo(&buf, (const char *) (W), sizeof(double) * nout * width);
	appendBinaryStringInfo(&buf, (const char *) (b), sizeof(double) * nout);
	appendBinaryStringInfo(&buf, (const char *) (pool.data), pool.len);
	appendBinaryStringInfo(&buf, (const char *) (gh), sizeof(GradientHead) * nheads);
	ConfigAppendSlots(enc, &buf);
	appendBinaryStringInfo(&buf, (const char *) (names.data), names.len);
	Assert(buf.len == VARSIZE(&hdr));
	return (bytea *) buf.data;
}

void
GradientRun(RfTrainState *ts, bytea *config, PassResult *res)
{
	bytea	   *result = MomentsRunPass(ts, "gradient", config);

	memset(res, 0, sizeof(*res));
	GradientViewBuild((const GradientConfig *) config, &res->view);
	res->st = result ? GradientStateCheck(PointerGetDatum(result), "the result") : NULL;
	if (res->st && res->st->ndoubles != res->view.ndoubles)
		elog(ERROR, "reframe.gradient: the pass's sums do not fit its configuration");
	if (res->st && res->st->bad_shares > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("target column \"%s\" has %.0f rows that are not %d shares in [0, 1]%s",
						ts->targets[0].name, res->st->bad_shares, ts->targets[0].nclasses,
						ts->targets[0].soft ? " summing to 1" : ""),
				 errhint("Each row holds one share per name of \"classes\", none NULL%s.",
						 ts->targets[0].soft ? ", adding up to 1 (within 1e-6)" : "")));
	if (res->st && res->st->bad_targets > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 ts->ntargets == 1 ?
				 errmsg("target column \"%s\" has %.0f rows that are NaN, Infinity or not a target of its %s head",
						ts->targets[0].name, res->st->bad_targets, HeadKindName(ts->targets[0].head)) :
				 errmsg("model \"%s\": %.0f rows have a target that is NaN, Infinity or not one its head takes",
						ts->model_name, res->st->bad_targets),
				 errdetail("A binary target is 0 or 1 (or a share in [0, 1]), a multilabel label 0 or 1; a class is one the source had in an earlier pass."),
				 errhint("Filter such rows out in the source, or frame the target differently; a source that changes while it trains gives this too.")));
}

HeadSums *
GradientSumsOf(PassResult *r, int h, int set)
{
	return (HeadSums *) (STATE_D(r->st) - STATE_COMMON + r->view.sums_at[2 * h + set]);
}

/* A head's per-output sums: count, cweight, pweight, bsum. */
double *
GradientSumsArray(HeadSums *s, int nout, int which)
{
	return (double *) s + SUMS_SCALARS + which * nout;
}
