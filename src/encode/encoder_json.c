/*
 * encoder_json.c
 *		The encoder in a version's spec: written (EncoderToJson) and read back,
 *		checked whole (EncoderFromJson).
 */
#include "postgres.h"

#include <math.h>

#include "reframe.h"
#include "jsonutil.h"
#include "encoder_int.h"

/*
 * Writes the structure of the encoder as JSON; shift and scale are stored
 * as parameter blocks by the caller.
 */
void
EncoderToJson(RfEncoder *enc, StringInfo buf)
{
	appendStringInfoString(buf, "{\"columns\": [");
	for (int c = 0; c < enc->ncols; c++)
	{
		RfEncColumn *col = &enc->cols[c];
		bool		first = true;

		if (c > 0)
			appendStringInfoString(buf, ", ");
		appendStringInfoString(buf, "{\"name\": ");
		JsonAppendString(buf, col->name);
		appendStringInfo(buf, ", \"kind\": \"%s\", \"length\": %d, \"missing\": [",
						 EncoderKindName(col->kind), col->length);
		for (int k = 0; k < col->length; k++)
			if (enc->missing_slot[col->raw + k] >= 0)
			{
				appendStringInfo(buf, first ? "%d" : ", %d", k);
				first = false;
			}
		appendStringInfoChar(buf, ']');
		if (col->kind == RF_CATEGORY && col->nbuckets > 0)
			appendStringInfo(buf, ", \"hash_buckets\": %d", col->nbuckets);
		else if (col->kind == RF_CATEGORY)
		{
			appendStringInfoString(buf, ", \"vocab\": [");
			for (int v = 0; v < col->nvocab; v++)
			{
				if (v > 0)
					appendStringInfoString(buf, ", ");
				JsonAppendString(buf, col->vocab[v]);
			}
			appendStringInfoChar(buf, ']');
		}
		appendStringInfoChar(buf, '}');
	}
	appendStringInfo(buf, "], \"inputs\": %d, \"width\": %d%s}", enc->nraw, enc->width,
					 enc->raw_numbers ? ", \"numbers\": \"raw\"" : "");
}

static RfColKind
KindFromName(const char *s, const char *where)
{
	static const char *const names[] = {"numeric", "boolean", "array", "category", "time"};
	static const RfColKind kinds[] = {RF_NUMERIC, RF_BOOLEAN, RF_ARRAY, RF_CATEGORY, RF_TIME};

	for (int k = 0; k < lengthof(names); k++)
		if (strcmp(s, names[k]) == 0)
			return kinds[k];
	SpecCorrupt("spec field \"%s.kind\" names an unknown feature kind \"%s\"", where, s);
}

/* A text column's stored vocabulary (or hash buckets), checked: no value twice. */
static void
ColumnVocabFromJson(RfEncColumn *col, JsonbContainer *jc, const char *where)
{
	JsonbContainer *vocab = SpecArray(jc, where, "vocab", false);

	col->nbuckets = SpecInt(jc, where, "hash_buckets", 0, 0, RF_MAX_WIDTH);
	col->nvocab = JsonArraySize(vocab);
	col->vocab = palloc(sizeof(char *) * Max(col->nvocab, 1));
	for (int v = 0; v < col->nvocab; v++)
		col->vocab[v] = SpecElementText(vocab, where, "vocab", v);
	EncoderBuildByName(col);
	for (int v = 1; v < col->nvocab; v++)
		if (strcmp(col->vocab[col->byname[v - 1]], col->vocab[col->byname[v]]) == 0)
			SpecCorrupt("spec field \"%s.vocab\" lists \"%s\" twice", where,
						col->vocab[col->byname[v]]);
}

/*
 * Column c of a stored encoder, checked: its name, kind, length within the
 * nraw inputs, vocabulary, and the inputs with missing indicators (marked in
 * has_missing).  Returns how many encoded inputs it makes.
 */
static int64
ColumnFromJson(RfEncoder *enc, int c, JsonbContainer *jc, const char *where, int nraw, bool *has_missing)
{
	JsonbContainer *missing = SpecArray(jc, where, "missing", false);
	RfEncColumn *col = &enc->cols[c];
	int64		width = 0;

	col->name = SpecText(jc, where, "name", NULL);
	if (col->name[0] == '\0')
		SpecCorrupt("spec field \"%s.name\" is empty", where);
	col->kind = KindFromName(SpecText(jc, where, "kind", NULL), where);
	col->length = SpecInt(jc, where, "length", 1, 1, Max(nraw - enc->nraw, 1));
	if (col->length > nraw - enc->nraw)
		SpecCorrupt("spec field \"%s.length\" reaches past the %d inputs of the encoder blocks",
					where, nraw);
	if ((col->kind == RF_TIME && col->length != 7 && col->length != 5 && col->length != 3 &&
		 col->length != 1) ||
		((col->kind == RF_NUMERIC || col->kind == RF_BOOLEAN || col->kind == RF_CATEGORY) &&
		 col->length != 1))
		SpecCorrupt("spec field \"%s.length\" cannot be %d for a feature of this kind",
					where, col->length);
	col->raw = enc->nraw;
	enc->nraw += col->length;
	if (col->kind == RF_CATEGORY)
	{
		ColumnVocabFromJson(col, jc, where);
		width += col->nbuckets > 0 ? col->nbuckets : col->nvocab + 1;
	}
	else
		width += col->length;
	for (int m = 0; m < JsonArraySize(missing); m++)
	{
		int			k = SpecElementInt(missing, where, "missing", m, 0, col->length - 1);

		if (has_missing[col->raw + k])
			SpecCorrupt("spec field \"%s.missing\" lists input %d twice", where, k);
		has_missing[col->raw + k] = true;
		width++;
	}
	return width;
}

/*
 * Rebuilds an encoder from its JSON and its shift/scale blocks, checked
 * whole (the spec is untrusted, see jsonutil.h): every column's kind,
 * length and vocabulary, its missing indicators, the inputs against the
 * blocks, every shift finite and every scale positive.
 */
RfEncoder *
EncoderFromJson(JsonbContainer *spec, const double *shift, const double *scale, int nraw)
{
	RfEncoder  *enc = palloc0(sizeof(RfEncoder));
	JsonbContainer *cols;
	bool	   *has_missing;
	int64		width = 0;
	char	  **names;
	const char *dup;

	if (spec == NULL || !JsonContainerIsObject(spec))
		SpecCorrupt("spec field \"encoder\" must be an object");
	cols = SpecArray(spec, "encoder", "columns", true);
	enc->ncols = JsonArraySize(cols);
	enc->cols = palloc0(sizeof(RfEncColumn) * Max(enc->ncols, 1));
	enc->raw_numbers = strcmp(SpecText(spec, "encoder", "numbers", "standardized"), "raw") == 0;
	has_missing = palloc0(sizeof(bool) * Max(nraw, 1));
	for (int c = 0; c < enc->ncols; c++)
	{
		char	   *where = psprintf("encoder.columns[%d]", c);

		width += ColumnFromJson(enc, c, SpecElementObject(cols, "encoder", "columns", c), where, nraw,
								has_missing);
		if (width > RF_MAX_WIDTH)
			SpecCorrupt("spec field \"encoder.columns\" encodes more than %d inputs", RF_MAX_WIDTH);
	}
	if (enc->nraw != nraw)
		SpecCorrupt("spec field \"encoder.columns\" reads %d inputs, but the encoder blocks have %d",
					enc->nraw, nraw);
	names = palloc(sizeof(char *) * Max(enc->ncols, 1));
	for (int c = 0; c < enc->ncols; c++)
		names[c] = enc->cols[c].name;
	if ((dup = SpecDuplicateName(names, enc->ncols)) != NULL)
		SpecCorrupt("spec field \"encoder.columns\" names feature \"%s\" twice", dup);
	for (int r = 0; r < nraw; r++)
		if (!isfinite(shift[r]) || !(scale[r] > 0 && isfinite(scale[r])))
			SpecCorrupt("block \"encoder.%s\" has an invalid value at input %d",
						isfinite(shift[r]) ? "scale" : "shift", r + 1);
	enc->shift = palloc(sizeof(double) * Max(nraw, 1));
	enc->scale = palloc(sizeof(double) * Max(nraw, 1));
	memcpy(enc->shift, shift, sizeof(double) * nraw);
	memcpy(enc->scale, scale, sizeof(double) * nraw);
	enc->missing_slot = palloc(sizeof(int) * Max(nraw, 1));
	EncoderLayout(enc, has_missing);
	if (enc->width != SpecInt(spec, "encoder", "width", enc->width, 0, RF_MAX_WIDTH) ||
		enc->nraw != SpecInt(spec, "encoder", "inputs", enc->nraw, 0, RF_MAX_WIDTH))
		SpecCorrupt("spec field \"encoder.width\" or \"encoder.inputs\" disagrees with its columns (%d encoded from %d)",
					enc->width, enc->nraw);
	return enc;
}
