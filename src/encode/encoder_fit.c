/*
 * encoder_fit.c
 *		Fitting the encoder from the statistics of the rows read: each input's
 *		standardization, each text column's vocabulary or hash buckets, the
 *		missing indicators, and the layout of the encoded features.
 */
#include "postgres.h"

#include <math.h>

#include "encoder_int.h"

typedef struct VocabCount
{
	int			code;
	double		count;
	const char *str;
} VocabCount;

static int
VocabCountCmp(const void *a, const void *b)
{
	const VocabCount *x = a;
	const VocabCount *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->str, y->str);
}

/*
 * A column's inputs' standardization from their sums over the sets: shift
 * to the mean and scale by the standard deviation (numbers, arrays, times);
 * which inputs had missing values.
 */
static void
FitScaling(RfEncoder *enc, RfEncColumn *col, int sets, bool *has_missing)
{
	for (int r = col->raw; r < col->raw + col->length; r++)
	{
		double		n = 0;
		double		s1 = 0;
		double		s2 = 0;
		double		mean;
		double		var;
		double		sd;

		for (int set = 0; set < sets; set++)
		{
			n += enc->n[set][r];
			s1 += enc->sum[set][r];
			s2 += enc->sumsq[set][r];
			has_missing[r] |= enc->missing[set][r] > 0 && (col->kind == RF_CATEGORY || !enc->raw_numbers);
		}
		mean = n > 0 ? enc->origin[r] + s1 / n : 0;
		var = n > 0 ? Max(s2 / n - (s1 / n) * (s1 / n), 0) : 0;
		sd = sqrt(var);
		enc->shift[r] = 0;
		enc->scale[r] = 1;
		if ((col->kind == RF_NUMERIC || col->kind == RF_ARRAY || col->kind == RF_TIME) && !enc->raw_numbers)
		{
			enc->shift[r] = mean;
			/* a constant column carries no signal: leave it centred at 0 */
			enc->scale[r] = sd > 1e-12 * Max(fabs(mean), 1.0) ? sd : 1.0;
		}
	}
}

/*
 * A text column's vocabulary: its values seen in training rows, most
 * frequent first, up to max_categories; beyond that many, its values
 * hashed into max_categories buckets.
 */
static void
FitVocabulary(RfEncColumn *col, int sets, int max_categories)
{
	int			ncodes = RfDictSize(col->dict);
	VocabCount *vc = palloc(sizeof(VocabCount) * Max(ncodes, 1));
	int			keep = 0;

	for (int code = 0; code < ncodes; code++)
	{
		vc[code].code = code;
		vc[code].count = 0;
		for (int set = 0; set < sets; set++)
			if (code < col->ncounts)
				vc[code].count += col->counts[set][code];
		vc[code].str = RfDictString(col->dict, code);
	}
	qsort(vc, ncodes, sizeof(VocabCount), VocabCountCmp);
	col->remap = palloc(sizeof(int) * Max(ncodes, 1));
	for (int code = 0; code < ncodes; code++)
		col->remap[code] = -1;
	for (int j = 0; j < ncodes && vc[j].count >= 1; j++)
		keep++;
	if (keep > max_categories)
	{
		/* too many values for a vocabulary: hash them into buckets */
		col->nbuckets = max_categories;
		col->nvocab = 0;
		for (int code = 0; code < ncodes; code++)
			col->remap[code] = EncoderCategoryBucket(col, RfDictString(col->dict, code));
		return;
	}
	keep = 0;
	col->vocab = palloc(sizeof(char *) * Max(ncodes, 1));
	for (int j = 0; j < ncodes && keep < max_categories; j++)
	{
		if (vc[j].count < 1)
			break;		/* seen only in validation rows */
		col->remap[vc[j].code] = keep;
		col->vocab[keep++] = pstrdup(vc[j].str);
	}
	col->nvocab = keep;
	EncoderBuildByName(col);
}

/*
 * A warm start: instead of a fit to the rows read, the encoder of the
 * version continued (whose columns EncoderPlanLike put this plan in): its
 * standardization, vocabularies and missing indicators.  A category the
 * rows read hold and that version never saw takes its "other" slot, as in
 * scoring; so does a NULL where it had no missing indicator.
 */
void
EncoderAdopt(RfEncoder *enc, const RfEncoder *from)
{
	int			R = enc->nraw;
	bool	   *has_missing = palloc0(sizeof(bool) * Max(R, 1));

	if (R != from->nraw || enc->ncols != from->ncols)
		elog(ERROR, "reframe: a warm start's inputs (%d) differ from the deployed version's (%d)", R, from->nraw);
	enc->shift = palloc(sizeof(double) * Max(R, 1));
	enc->scale = palloc(sizeof(double) * Max(R, 1));
	enc->missing_slot = palloc(sizeof(int) * Max(R, 1));
	memcpy(enc->shift, from->shift, sizeof(double) * R);
	memcpy(enc->scale, from->scale, sizeof(double) * R);
	for (int r = 0; r < R; r++)
		has_missing[r] = from->missing_slot[r] >= 0;
	for (int c = 0; c < enc->ncols; c++)
	{
		RfEncColumn *col = &enc->cols[c];
		const RfEncColumn *fc = &from->cols[c];
		int			ncodes = col->dict ? RfDictSize(col->dict) : 0;

		if (col->kind != RF_CATEGORY)
			continue;
		col->nbuckets = fc->nbuckets;
		col->nvocab = fc->nvocab;
		col->vocab = fc->vocab;
		col->byname = fc->byname;
		col->remap = palloc(sizeof(int) * Max(ncodes, 1));
		for (int code = 0; code < ncodes; code++)
			col->remap[code] = EncoderCategory(col, RfDictString(col->dict, code));
	}
	EncoderLayout(enc, has_missing);
	if (enc->width != from->width)
		elog(ERROR, "reframe: a warm start's encoder has %d slots, the deployed version's %d", enc->width, from->width);
}

/*
 * Learns standardization, vocabularies and missing indicators from the
 * statistics of the rows read (encoder_stats.c, or the moments' pass): the
 * training set's, plus the validation set's when with_validation (no rows
 * held out after all).
 */
void
EncoderFit(RfEncoder *enc, bool with_validation, int max_categories)
{
	int			R = enc->nraw;
	int			sets = with_validation ? 2 : 1;
	bool	   *has_missing = palloc0(sizeof(bool) * Max(R, 1));

	if (enc->origin == NULL)
		EncoderStatsInit(enc);
	enc->shift = palloc0(sizeof(double) * R);
	enc->scale = palloc(sizeof(double) * R);
	enc->missing_slot = palloc(sizeof(int) * R);
	for (int c = 0; c < enc->ncols; c++)
	{
		FitScaling(enc, &enc->cols[c], sets, has_missing);
		if (enc->cols[c].kind == RF_CATEGORY)
			FitVocabulary(&enc->cols[c], sets, max_categories);
	}
	EncoderLayout(enc, has_missing);
}
