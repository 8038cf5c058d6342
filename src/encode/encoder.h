/*
 * encoder.h
 *		Feature encoding: learned at training time, stored with the model,
 *		applied at scoring time.
 *
 * A source row is first read into a "raw" vector: one double per numeric or
 * boolean column, one per array element, and one code per categorical
 * column (NaN marks a missing value).  Fitting the encoder turns raw vectors
 * into "encoded" vectors: numbers standardized with the training mean and
 * standard deviation, categories one-hot over a learned vocabulary with an
 * "other" slot, and a 0/1 missing indicator for every raw input that was
 * NULL in training (the value itself is imputed with the training mean).
 */
#ifndef REFRAME_ENCODER_H
#define REFRAME_ENCODER_H

#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "matrix.h"

typedef enum RfColKind
{
	RF_NUMERIC,
	RF_BOOLEAN,
	RF_ARRAY,
	RF_CATEGORY,
	RF_TIME						/* timestamp, date, time, interval: numbers derived from it */
} RfColKind;

/* A string -> code dictionary (open addressing). */
typedef struct RfDict RfDict;

extern RfDict *RfDictCreate(void);
extern int	RfDictCode(RfDict *d, const char *s, bool insert);
extern int	RfDictSize(const RfDict *d);
extern const char *RfDictString(const RfDict *d, int code);

typedef struct RfEncColumn
{
	char	   *name;
	RfColKind	kind;
	int			length;			/* raw inputs: array length, else 1 */
	int			raw;			/* first raw input */
	int			slot;			/* first encoded slot */
	int			nvocab;			/* categories: vocabulary size */
	int			nbuckets;		/* categories hashed into this many slots, or 0 */
	char	  **vocab;			/* categories, in slot order ("other" follows) */
	int		   *byname;			/* vocab positions sorted by string */

	/* training only */
	int			attno;			/* 0-based position in the source row */
	Oid			typid;
	RfDict	   *dict;			/* value -> training code */
	int		   *remap;			/* training code -> vocab position or -1 */
	double	   *counts[2];		/* per training code, per split set */
	int			ncounts;		/* codes the counts have room for */
} RfEncColumn;

typedef struct RfEncoder
{
	int			ncols;
	RfEncColumn *cols;
	int			nraw;			/* raw inputs */
	int			width;			/* encoded slots */
	double	   *shift;			/* per raw input */
	double	   *scale;			/* per raw input */
	int		   *missing_slot;	/* per raw input; -1: no indicator */
	bool		has_category;
	/*
	 * Numbers as they are: no standardization, and a NULL stays missing
	 * (NaN) instead of being imputed with an indicator.  For trees, which
	 * split raw values and send missing ones down a learned branch.
	 */
	bool		raw_numbers;

	/*
	 * Training only: per raw input and per split set (0 training, 1
	 * validation), the weight of its non-missing values and their sums,
	 * shifted by the first value seen (the "shifted data" variance
	 * algorithm); see encoder_stats.c.
	 */
	double	   *origin;
	double	   *n[2];
	double	   *sum[2];
	double	   *sumsq[2];
	double	   *missing[2];		/* count of missing values */
	int			unset_origins;	/* inputs not seen yet, whose origin is NaN */
} RfEncoder;

/* Training */
extern RfEncoder *EncoderPlan(TupleDesc tupdesc, const bool *is_target,
							  List *features, List *exclude);
extern bool EncoderLengthsKnown(RfEncoder *enc, Datum *values, bool *isnull);
extern void EncoderReadRow(RfEncoder *enc, Datum *values, bool *isnull,
						   double *raw, uint64 *hash);
/* Whether a column is a category (one-hot or hashed slots). */
static inline bool
EncoderHasCategory(const RfEncoder *enc)
{
	for (int c = 0; c < enc->ncols; c++)
		if (enc->cols[c].kind == RF_CATEGORY)
			return true;
	return false;
}
extern void EncoderStatsInit(RfEncoder *enc);
extern void EncoderNoteRow(RfEncoder *enc, const double *raw, int set, double w);
extern void EncoderStatsFromRows(RfEncoder *enc, const RfMatrix *stored, const RfMatrix *Y,
								 int wcol, int set);
extern void EncoderFit(RfEncoder *enc, bool with_validation, int max_categories);
/* A warm start: the plan checked against the encoder of the version continued, and its fit that encoder. */
extern RfEncoder *EncoderPlanColumns(TupleDesc tupdesc, const int *attnos, int n);
extern void EncoderPlanLike(RfEncoder *enc, const RfEncoder *like, const char *model, int32 version);
extern void EncoderAdopt(RfEncoder *enc, const RfEncoder *from);
extern uint64 ReframeHashDoubles(const double *x, int n, uint64 h);
extern void EncoderStoreRaw(const RfEncoder *enc, const double *raw, float *out);
extern RfMatrix *EncoderApply(RfEncoder *enc, RfMatrix *raw);

/* Storage */
extern void EncoderToJson(RfEncoder *enc, StringInfo buf);
extern RfEncoder *EncoderFromJson(JsonbContainer *spec, const double *shift,
								  const double *scale, int nraw);

/*
 * The name and XGBoost feature type ("float", or "i" for a 0/1 indicator)
 * of every encoded slot, width of each: a column, "col[k]" for an array
 * element, "col.hour_sin" and the like for a date or time's parts,
 * "col=value" for a category's slot ("col=(other)", or "col#k" when
 * hashed), "... (missing)" for a missing indicator.
 */
extern void EncoderSlotNames(const RfEncoder *enc, char **names, const char **types);

/* Scoring */
extern void EncoderMapColumns(const RfEncoder *enc, TupleDesc td, int *attno, Oid *atttype,
							  const char *model);
/* The same for the columns at attno (0-based, e.g. a plan's), checked the same way. */
extern void EncoderCheckColumns(const RfEncoder *enc, TupleDesc td, const int *attno, Oid *atttype,
								const char *model);
extern void EncoderReadColumns(const RfEncoder *enc, const int *attno, const Oid *atttype,
							   const Datum *values, const bool *isnull, double *raw,
							   const char *model);
extern void EncoderEncodeRaw(const RfEncoder *enc, const double *raw, double *out);
extern int	EncoderCategory(const RfEncColumn *col, const char *value);
extern double ReframeDatumToDouble(Datum d, Oid typid);
struct ArrayType;
extern struct ArrayType *ReframeFloat8Array(const double *v, int n);
extern char *EncoderCategoryString(Datum d, Oid typid);
extern void EncoderReadNumbers(const RfEncColumn *col, Datum d, Oid typid, double *out,
							   const char *model);
extern bool ReframeIsNumericType(Oid typid);

#endif
