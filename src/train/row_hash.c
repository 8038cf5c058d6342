/*
 * row_hash.c
 *		A source row's hashes, from its values and targets: the seeded
 *		draws of its split and of its sample come from them, so that a row
 *		goes where its content says whatever the order rows arrive in.  The
 *		read (read.c) and the sample's filter where the rows are
 *		(sample_filter.c) hash a row by these functions alone.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "utils/float.h"

#include "reframe.h"
#include "train_steps.h"

/* A row's targets into its Y row y, each mixed into the row's hash. */
void
TrainReadTargets(RfTrainState *ts, Datum *values, bool *isnull, double *y, uint64 *hash)
{
	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];
		double	   *yt = y + tg->ycol;

		if (isnull[tg->attno])
		{
			for (int k = 0; k < (tg->kind == RF_TARGET_SHARES ? tg->nclasses : 1); k++)
				yt[k] = get_float8_nan();
			if (tg->kind == RF_TARGET_LABELS)
				yt[1] = 0;
		}
		else if (tg->kind == RF_TARGET_LABELS)
			TrainAddLabelSet(ts, tg, values[tg->attno], yt, hash);
		else if (tg->kind == RF_TARGET_SHARES)
			TargetReadShares(tg, values[tg->attno], tg->soft, yt, hash);
		else
			yt[0] = TargetValue(tg, values[tg->attno], hash);
	}
}

/*
 * A row read into raw and y (but its weight), and its hashes: *content of
 * its values and targets, and the returned one that its split and sample
 * draw from (its query's, or its split_by value's, or *content).  Shared
 * with the sample's filter where the rows are (sample_filter.c).
 */
uint64
TrainRowHashes(RfTrainState *ts, Datum *values, bool *isnull, double *raw, double *y, uint64 *content)
{
	uint64		hash = (uint64) ts->opts->seed * UINT64CONST(0x9E3779B97F4A7C15) + 1;

	EncoderReadRow(ts->enc, values, isnull, raw, &hash);
	TrainReadTargets(ts, values, isnull, y, &hash);
	*content = hash;
	if (ts->gdict)
	{
		/* whole queries go to one side of the split: hash the query alone */
		char	   *g = isnull[ts->gattno] ? pstrdup("") :
			EncoderCategoryString(values[ts->gattno], ts->gtype);

		y[ts->gcol] = RfDictCode(ts->gdict, g, true);
		hash = hash_bytes_extended((unsigned char *) g, strlen(g), (uint64) ts->opts->seed);
	}
	if (ts->sattno >= 0)
		hash = ReframeSplitHash(isnull[ts->sattno] ? "" :
								EncoderCategoryString(values[ts->sattno], ts->stype), ts->split_seed);
	return hash;
}
