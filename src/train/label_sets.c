/*
 * label_sets.c
 *		A text[] target's label sets: each row's labels coded as read, and
 *		the codes expanded into one 0/1 column per label once all are known.
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "utils/builtins.h"

#include "train_steps.h"

/*
 * Reads a label set (text[]): codes its labels, keeps them in label_codes,
 * and stores (start, count) in y.
 */
void
TrainAddLabelSet(RfTrainState *ts, RfTarget *t, Datum d, double *y, uint64 *hash)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	y[0] = (double) ts->nlabel_codes;
	y[1] = 0;
	for (int i = 0; i < n; i++)
	{
		char	   *s;

		if (nulls[i])
			continue;
		s = TextDatumGetCString(elems[i]);
		if (ts->nlabel_codes == ts->caplabel_codes)
		{
			ts->caplabel_codes = Max(1024, ts->caplabel_codes * 2);
			ts->label_codes = ts->label_codes ?
				repalloc_huge(ts->label_codes, sizeof(int32) * ts->caplabel_codes) :
				MemoryContextAllocHuge(ts->mcxt, sizeof(int32) * ts->caplabel_codes);
		}
		ts->label_codes[ts->nlabel_codes++] = RfDictCode(t->dict, s, true);
		*hash = hash_combine64(*hash, hash_bytes_extended((unsigned char *) s, strlen(s), 0));
		y[1] += 1;
	}
	if (RfDictSize(t->dict) > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("label column \"%s\" has more than 10000 distinct labels", t->name)));
}

static int
LabelNameCmp(const void *a, const void *b, void *arg)
{
	return strcmp(RfDictString(arg, *(const int *) a), RfDictString(arg, *(const int *) b));
}

/*
 * Rewrites Y with each label-set target's (start, count) pair expanded to one
 * 0/1 column per label (NaN in every column where the set was NULL); other
 * targets keep their value.  rank[t] maps target t's label codes to columns.
 */
static RfMatrix *
ExpandLabelSets(RfTrainState *ts, RfMatrix *Y, int ncols, int **rank)
{
	RfMatrix   *out = RfMatrixCreate(ncols, sizeof(double), &ts->budget);

	for (int64 i = 0; i < Y->nrows; i++)
	{
		const double *y = RfMatrixRow(Y, i);
		double	   *row = RfMatrixAppendRow(out);
		int			col = 0;

		for (int t = 0; t < ts->ntargets; t++)
		{
			const double *yt = y + ts->targets[t].ycol;
			int			L = ts->targets[t].nclasses;

			if (ts->targets[t].kind != RF_TARGET_LABELS)
			{
				row[col++] = yt[0];
				continue;
			}
			for (int k = 0; k < L; k++)
				row[col + k] = isnan(yt[0]) ? yt[0] : 0.0;
			for (int64 j = (int64) yt[0]; j < (int64) yt[0] + (int64) yt[1]; j++)
				row[col + rank[t][ts->label_codes[j]]] = 1.0;
			col += L;
		}
		/* the query and weight columns follow, in that order */
		if (ts->gcol >= 0)
			row[col++] = y[ts->gcol];
		if (ts->wcol >= 0)
			row[col++] = y[ts->wcol];
	}
	RfMatrixTruncate(Y, 0);
	return out;
}

/*
 * Label-set targets: their labels, sorted by name, become the outputs of a
 * multilabel head, and Y gets one 0/1 column per label.  Other targets keep
 * their (single) column, at its new position.
 */
void
TrainResolveLabelSets(RfTrainState *ts)
{
	int		  **rank = palloc0(sizeof(int *) * ts->ntargets);
	int		   *ycol = palloc(sizeof(int) * ts->ntargets);
	int			ncols = 0;

	for (int t = 0; t < ts->ntargets; t++)
	{
		RfTarget   *tg = &ts->targets[t];
		int			L;
		int		   *order;

		ycol[t] = ncols;
		if (tg->kind != RF_TARGET_LABELS)
		{
			ncols++;
			continue;
		}
		L = RfDictSize(tg->dict);
		if (L < 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("label column \"%s\" holds no label in any training row", tg->name)));
		order = palloc(sizeof(int) * L);
		rank[t] = palloc(sizeof(int) * L);
		tg->classes = palloc(sizeof(char *) * L);
		for (int k = 0; k < L; k++)
			order[k] = k;
		qsort_arg(order, L, sizeof(int), LabelNameCmp, tg->dict);
		for (int k = 0; k < L; k++)
		{
			rank[t][order[k]] = k;
			tg->classes[k] = pstrdup(RfDictString(tg->dict, order[k]));
		}
		tg->nclasses = L;
		tg->head = RF_HEAD_MULTILABEL;
		ncols += L;
	}
	ncols += (ts->gcol >= 0) + (ts->wcol >= 0);
	ts->Y = ExpandLabelSets(ts, ts->Y, ncols, rank);
	ts->Yv = ExpandLabelSets(ts, ts->Yv, ncols, rank);
	if (ts->wcol >= 0)
		ts->wcol = ncols - 1;
	if (ts->gcol >= 0)
		ts->gcol = ncols - 1 - (ts->wcol >= 0);
	for (int t = 0; t < ts->ntargets; t++)
	{
		ts->targets[t].ycol = ycol[t];
		ts->targets[t].wcol = ts->wcol;
	}
	if (ts->ntargets > 1)
		return;
	TrainFramedLabelSet(ts);
}
