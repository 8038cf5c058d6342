/*
 * encoder.c
 *		The feature encoder: a row's raw inputs to the trunk's encoded features
 *		(standardized numbers, one-hot or hashed categories, missing
 *		indicators), for a row of a source or for the matrix of rows kept.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "reframe.h"
#include "encoder_int.h"

const char *
EncoderKindName(RfColKind kind)
{
	switch (kind)
	{
		case RF_NUMERIC:
			return "numeric";
		case RF_BOOLEAN:
			return "boolean";
		case RF_ARRAY:
			return "array";
		case RF_CATEGORY:
			return "category";
		case RF_TIME:
			return "time";
	}
	return "?";
}

/* The hash bucket of a categorical value (stable across platforms). */
int
EncoderCategoryBucket(const RfEncColumn *col, const char *value)
{
	uint64		h = hash_bytes_extended((const unsigned char *) value, strlen(value), 0);

	return (int) (h % (uint64) col->nbuckets);
}

static int
ByNameCmp(const void *a, const void *b, void *arg)
{
	char	  **vocab = arg;

	return strcmp(vocab[*(const int *) a], vocab[*(const int *) b]);
}

void
EncoderBuildByName(RfEncColumn *col)
{
	col->byname = palloc(sizeof(int) * Max(col->nvocab, 1));
	for (int i = 0; i < col->nvocab; i++)
		col->byname[i] = i;
	qsort_arg(col->byname, col->nvocab, sizeof(int), ByNameCmp, col->vocab);
}

/* Assigns encoded slots: each column's values, then its missing indicators. */
void
EncoderLayout(RfEncoder *enc, const bool *has_missing)
{
	enc->width = 0;
	enc->has_category = EncoderHasCategory(enc);
	for (int c = 0; c < enc->ncols; c++)
	{
		RfEncColumn *col = &enc->cols[c];

		col->slot = enc->width;
		if (col->kind == RF_CATEGORY)
		{
			/* its values (and "other"), then whether it was NULL */
			enc->width += col->nbuckets > 0 ? col->nbuckets : col->nvocab + 1;
			enc->missing_slot[col->raw] = has_missing[col->raw] ? enc->width++ : -1;
			continue;
		}
		enc->width += col->length;
		for (int k = 0; k < col->length; k++)
			enc->missing_slot[col->raw + k] = has_missing[col->raw + k] ? enc->width++ : -1;
	}
}

/* Encodes a raw vector for scoring (categories are vocab positions, or -1). */
void
EncoderEncodeRaw(const RfEncoder *enc, const double *raw, double *out)
{
	memset(out, 0, sizeof(double) * enc->width);
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];

		if (col->kind == RF_CATEGORY)
		{
			double		v = raw[col->raw];

			if (isnan(v) && enc->missing_slot[col->raw] >= 0)
				out[enc->missing_slot[col->raw]] = 1.0;
			if (isnan(v))
				continue;		/* NULL: its indicator, if it had NULLs in training */
			out[col->slot + (v < 0 ? col->nvocab : (int) v)] = 1.0;
			continue;
		}
		for (int k = 0; k < col->length; k++)
		{
			int			r = col->raw + k;
			double		v = raw[r];

			if (isnan(v))
			{
				if (enc->missing_slot[r] >= 0)
					out[enc->missing_slot[r]] = 1.0;
				else if (enc->raw_numbers)
					out[col->slot + k] = v;
			}
			else
				out[col->slot + k] = (v - enc->shift[r]) / enc->scale[r];
		}
	}
}

/*
 * Stores a raw training row as floats, as XGBoost keeps its matrix: numbers
 * as they are (so that no value depends on which row came first),
 * categories as their dictionary code.
 */
void
EncoderStoreRaw(const RfEncoder *enc, const double *raw, float *out)
{
	for (int r = 0; r < enc->nraw; r++)
		out[r] = (float) raw[r];
}

/* Encodes one stored training row (see EncoderStoreRaw). */
static void
EncodeStoredRow(const RfEncoder *enc, const float *in, float *out,
				const double *shift, const double *inv)
{
	memset(out, 0, sizeof(float) * enc->width);
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];

		if (col->kind == RF_CATEGORY)
		{
			float		v = in[col->raw];
			int			pos;

			if (isnan(v) && enc->missing_slot[col->raw] >= 0)
				out[enc->missing_slot[col->raw]] = 1.0f;
			if (isnan(v))
				continue;
			pos = col->remap[(int) v];
			out[col->slot + (pos < 0 ? col->nvocab : pos)] = 1.0f;
			continue;
		}
		for (int k = 0; k < col->length; k++)
		{
			int			r = col->raw + k;
			float		v = in[r];

			if (isnan(v))
			{
				if (enc->missing_slot[r] >= 0)
					out[enc->missing_slot[r]] = 1.0f;
				else if (enc->raw_numbers)
					out[col->slot + k] = v;
			}
			else
				out[col->slot + k] = (float) ((v - shift[r]) * inv[r]);
		}
	}
}

/*
 * Encodes every stored training row into the float feature matrix.  When
 * the encoding keeps the layout (numbers only, no missing indicators) the
 * matrix is standardized in place; otherwise it is rebuilt chunk by chunk,
 * each stored chunk freed as soon as it is encoded.
 */
RfMatrix *
EncoderApply(RfEncoder *enc, RfMatrix *raw)
{
	RfMatrix   *out;
	double	   *shift = palloc(sizeof(double) * Max(enc->nraw, 1));
	double	   *inv = palloc(sizeof(double) * Max(enc->nraw, 1));

	for (int r = 0; r < enc->nraw; r++)
	{
		shift[r] = enc->shift[r];
		inv[r] = 1.0 / enc->scale[r];
	}
	if (!enc->has_category && enc->width == enc->nraw && enc->raw_numbers)
		return raw;				/* stored as they are */
	if (!enc->has_category && enc->width == enc->nraw)
	{
		int			ncols = raw->ncols;
		float	   *restrict fshift = palloc(sizeof(float) * ncols);
		float	   *restrict finv = palloc(sizeof(float) * ncols);

		for (int k = 0; k < ncols; k++)
		{
			fshift[k] = (float) shift[k];
			finv[k] = (float) inv[k];
		}
		for (int c = 0; c < raw->nchunks; c++)
		{
			float	   *restrict p = RfChunkF(raw, c);
			int			rows = RfChunkRows(raw, c);

			for (int i = 0; i < rows; i++, p += ncols)
				for (int k = 0; k < ncols; k++)
					p[k] = (p[k] - fshift[k]) * finv[k];
			ReframeYield();
			CHECK_FOR_INTERRUPTS();
		}
		return raw;
	}

	out = RfMatrixCreate(enc->width, sizeof(float), raw->budget);
	for (int c = 0; c < raw->nchunks; c++)
	{
		int			rows = RfChunkRows(raw, c);

		for (int i = 0; i < rows; i++)
			EncodeStoredRow(enc, RfChunkF(raw, c) + (Size) i * raw->ncols,
							RfMatrixAppendRowF(out), shift, inv);
		RfMatrixFreeChunk(raw, c);
		ReframeYield();
		CHECK_FOR_INTERRUPTS();
	}
	raw->nchunks = 0;
	raw->nrows = 0;
	return out;
}

/* The parts of a date or time column, by its length (TimeFeatures' order). */
static const char *
EncoderTimePart(int length, int k)
{
	static const char *const ts[] = {"", ".hour_sin", ".hour_cos", ".dow_sin", ".dow_cos", ".doy_sin", ".doy_cos"};
	static const char *const date[] = {"", ".dow_sin", ".dow_cos", ".doy_sin", ".doy_cos"};
	static const char *const tod[] = {"", ".hour_sin", ".hour_cos"};

	if (length == 7)
		return ts[k];
	if (length == 5)
		return date[k];
	if (length == 3)
		return tod[k];
	return "";
}

void
EncoderSlotNames(const RfEncoder *enc, char **names, const char **types)
{
	for (int c = 0; c < enc->ncols; c++)
	{
		const RfEncColumn *col = &enc->cols[c];

		if (col->kind == RF_CATEGORY)
		{
			int			n = col->nbuckets > 0 ? col->nbuckets : col->nvocab + 1;

			for (int v = 0; v < n; v++)
			{
				names[col->slot + v] = col->nbuckets > 0 ? psprintf("%s#%d", col->name, v) :
					v < col->nvocab ? psprintf("%s=%s", col->name, col->vocab[v]) :
					psprintf("%s=(other)", col->name);
				types[col->slot + v] = "i";
			}
		}
		else
			for (int k = 0; k < col->length; k++)
			{
				names[col->slot + k] = col->kind == RF_ARRAY ? psprintf("%s[%d]", col->name, k + 1) :
					col->kind == RF_TIME ? psprintf("%s%s", col->name, EncoderTimePart(col->length, k)) :
					pstrdup(col->name);
				types[col->slot + k] = col->kind == RF_BOOLEAN ? "i" : "float";
			}
		for (int k = 0; k < col->length; k++)
		{
			int			s = enc->missing_slot[col->raw + k];

			if (s < 0)
				continue;
			names[s] = col->kind == RF_ARRAY ? psprintf("%s[%d] (missing)", col->name, k + 1) :
				psprintf("%s%s (missing)", col->name, col->kind == RF_TIME ? EncoderTimePart(col->length, k) : "");
			types[s] = "i";
		}
	}
}

/* The vocab position of value, or -1 ("other"); its bucket if hashed. */
int
EncoderCategory(const RfEncColumn *col, const char *value)
{
	int			lo = 0;
	int			hi = col->nvocab - 1;

	if (col->nbuckets > 0)
		return EncoderCategoryBucket(col, value);

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			pos = col->byname[mid];
		int			cmp = strcmp(value, col->vocab[pos]);

		if (cmp == 0)
			return pos;
		if (cmp < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}
