/*
 * split.c
 *		The split of the source's rows into training and validation rows
 *		(and cross-validation folds): each row's seeded draw.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "utils/builtins.h"

#include "reframe.h"
#include "train_steps.h"

/* The split draw of a value: uniform in [0, 1) for the seed (reframe.split_fraction). */
uint64
ReframeSplitHash(const char *value, uint64 seed)
{
	return hash_bytes_extended((const unsigned char *) value, strlen(value), seed);
}

/* Keeps a row's split draw, which also draws its fold for "l2": "auto" (ReframeInnerFold). */
void
TrainKeepDraw(RfTrainState *ts, int set, double u)
{
	int64		n = ts->nrows[set];

	if (!ts->opts->l2_auto)
		return;
	if (ts->draws[set] == NULL || (n >= 1024 && (n & (n - 1)) == 0))
	{
		/* doubled, in huge pages once large (matrix.h) */
		MemoryContext old = MemoryContextSwitchTo(ts->mcxt);

		ts->draws[set] = RfGrowLarge(ts->draws[set], sizeof(double) * n,
									 sizeof(double) * Max(1024, 2 * n), &ts->draws_map[set]);
		MemoryContextSwitchTo(old);
	}
	ts->draws[set][n] = u;
}

/* Validation (1) or training (0) for a row's draw u: below the holdout, or in its fold. */
int
TrainSplitSet(RfTrainState *ts, double u)
{
	return ReframeSplitSet(u, ts->holdout, ts->folds, ts->fold);
}

/* The split draw of a value (the text of a split_by column), as training makes it. */
PG_FUNCTION_INFO_V1(reframe_split_fraction);
Datum
reframe_split_fraction(PG_FUNCTION_ARGS)
{
	char	   *v = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uint64		h = ReframeSplitHash(v, (uint64) PG_GETARG_INT64(1));

	PG_RETURN_FLOAT8(ReframeHashToUnit(hash_bytes_uint32_extended((uint32) h, h >> 32)));
}

/*
 * "l2": "auto" on streamed moments keeps the training rows' moments by inner
 * fold, and the validation rows' too while they may yet become training rows
 * (by default, under 1,000 rows): the penalty is then cross-validated
 * exactly as on kept rows.
 */
void
TrainCreateFoldMoments(RfTrainState *ts)
{
	bool		may_merge = ts->opts->validation < 0 && ts->folds == 0;

	for (int set = 0; set < 2 && ts->opts->l2_auto; set++)
		for (int k = 0; k < RF_L2_FOLDS && (set == 0 || may_merge); k++)
			ts->fgram[set][k] = GramCreate(ts->enc->nraw, ts->origin, &ts->yorigin);
}

void
TrainAddFoldMoments(RfTrainState *ts, int set, const double *raw, double y, double w, double u)
{
	if (set == 1 && ts->fgram[1][0] && ts->nrows[0] + ts->nrows[1] >= 1000)
	{
		/* past 1,000 rows the validation rows stay apart */
		for (int k = 0; k < RF_L2_FOLDS; k++)
			GramFree(ts->fgram[1][k]);
		memset(ts->fgram[1], 0, sizeof(ts->fgram[1]));
	}
	if (ts->fgram[set][0])
		GramAdd(ts->fgram[set][ReframeInnerFold(u, RF_L2_FOLDS)], raw, y, w);
}
