/*
 * stream_targets.h
 *		The targets of a row as the streaming passes read them.
 *
 * Both passes (moments.c, gradient.c) take a row's targets as
 *
 *	y float8[]	one value per target: a number (a boolean as 0 or 1), or
 *				for a text target 0, for a label set its number of labels;
 *				NULL where the target is NULL; a target of shares gives 1
 *				(0 where NULL) and then its K shares (NaN where the array
 *				does not hold K)
 *	t text[]	the text targets' values in order: one per category, the
 *				labels of each label set
 *
 * and mix them into the row's split hash exactly as the rows' path does
 * (TrainAddRow), so both read the same split.
 */
#ifndef REFRAME_STREAM_TARGETS_H
#define REFRAME_STREAM_TARGETS_H

#include "utils/array.h"

#include "train_state.h"

typedef enum RfStreamKind
{
	RF_STREAM_NUMBER,			/* numbers and booleans */
	RF_STREAM_CATEGORY,			/* any type read as text: one class */
	RF_STREAM_LABELS,			/* text[]: a set of labels */
	RF_STREAM_SHARES			/* float8[]: K shares, or a distribution over K classes */
} RfStreamKind;

/* What both configurations say of the targets. */
typedef struct RfStreamTargets
{
	int32		ntargets;
	int32		kind[RF_MAX_TARGETS];
	int32		nshares[RF_MAX_TARGETS];	/* shares: K */
	int32		distribution[RF_MAX_TARGETS];	/* shares: they sum to 1 */
} RfStreamTargets;

/* A row's targets, as read. */
typedef struct RfStreamRow
{
	double		value[RF_MAX_TARGETS];	/* NaN where NULL */
	const double *shares[RF_MAX_TARGETS];	/* shares: K values, or NULL where not valid */
	int			tstart[RF_MAX_TARGETS]; /* text kinds: their values in texts[] */
	int			tcount[RF_MAX_TARGETS];
	Datum	   *texts;
	bool	   *tnulls;
	int			present;		/* targets not NULL */
	int			bad;			/* numbers that are NaN or Infinity */
	int			bad_shares;		/* targets of shares that are not K shares in [0, 1] */
	double		ybuf[256];		/* y's values, when they fit */
} RfStreamRow;

/* Why a target cannot be streamed, or NULL. */
extern void StreamTargetsInit(RfTrainState *ts, RfStreamTargets *st);
extern bool StreamTargetsValid(const RfStreamTargets *st);
/* The y and t arguments of a pass over source rows "s". */
extern char *StreamTargetsYSql(RfTrainState *ts);
extern char *StreamTargetsTSql(RfTrainState *ts);
/* Any target not NULL (the rows the passes read). */
extern char *StreamTargetsPresentSql(RfTrainState *ts);

/*
 * Reads a row's targets (y or t may be NULL arrays: pass NULL), mixing
 * them into *hash; an error when the arrays do not fit the targets.
 */
extern void StreamRowRead(const RfStreamTargets *st, ArrayType *y, ArrayType *t, RfStreamRow *row,
						  uint64 *hash);

/*
 * The row weight in argument argno of an aggregate's transition: a NULL,
 * negative, NaN or infinite one counts as 0, and in *bad_weights.
 */
extern double StreamRowWeight(FunctionCallInfo fcinfo, int argno, double *bad_weights);

#endif
