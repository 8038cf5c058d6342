/*
 * targets.h
 *		Target columns: reading their values, inferring the task, the
 *		classes of a classification target and their weights.
 */
#ifndef REFRAME_TARGETS_H
#define REFRAME_TARGETS_H

#include "catalog/pg_type.h"

#include "encoder.h"
#include "matrix.h"
#include "heads.h"
#include "options.h"

/* Integer targets with at most this many distinct values are classes. */
#define RF_MAX_INFERRED_CLASSES 20
/* No classification has more classes than this. */
#define RF_MAX_CLASSES 100000

typedef enum RfTargetKind
{
	RF_TARGET_NUMBER,			/* numeric types: the value */
	RF_TARGET_BOOL,				/* 0 or 1 */
	RF_TARGET_CATEGORY,			/* text, enum: a dictionary code */
	RF_TARGET_LABELS,			/* text[]: a set of labels (multilabel) */
	RF_TARGET_SHARES			/* float8[], float4[]: a share per class or label ("classes") */
} RfTargetKind;

typedef struct RfTarget
{
	char	   *name;
	int			attno;
	Oid			typid;
	RfTargetKind kind;
	int			ycol;			/* its first column in the Y matrices */
	RfDict	   *dict;			/* category values */

	/* set by TargetResolve */
	RfHeadKind	head;
	int			nclasses;
	char	  **classes;
	double	   *counts;			/* training rows per class */
	double	   *values;			/* streaming passes: a numeric class's value, per class */
	int			wcol;			/* Y's column of row weights, or -1 */
	bool		soft;			/* binary: the target is a share in [0, 1] (a soft label);
								 * multiclass: a distribution over the classes */
	int64		bad_shares;		/* shares targets: rows that are not valid shares */
	double	   *class_weight;	/* per class, or NULL */
	double		mean;			/* regression: training mean and sd */
	double		sd;
	double	   *bin_edges;		/* bins: nclasses - 1 edges, and bucket means */
	double	   *bin_values;
	double	   *bin_raw[2];		/* bins: each row's value, training and validation */
	int		   *parent_of;		/* hierarchy: each class's class one level up */
	int			nparents;
	/* streaming passes, a hierarchy's level: its classes by name or value, and each one's class */
	char	  **sorted_names;
	int		   *rank;
} RfTarget;

extern void TargetInit(RfTarget *t, const char *name, int attno, Oid typid);
/*
 * The value stored in the Y matrix for a non-NULL target datum; mixes the
 * value into *hash (the validation split depends on content, not order).
 */
extern void TargetResolveShares(RfTarget *t, RfMatrix *Y, RfOptions *opts);
extern void TargetReadShares(RfTarget *t, Datum d, bool distribution, double *y, uint64 *hash);
extern void TargetCheckShares(RfTarget *t, RfMatrix *Y, RfMatrix *Yv, int ycol);
extern double TargetValue(RfTarget *t, Datum d, uint64 *hash);

/*
 * Decides the head kind (from task, or inferred from the type and values),
 * turns column ycol of Y and Yv into class indexes for classification, and
 * learns class counts and weights or regression statistics.
 */
extern void TargetResolve(RfTarget *t, const char *task, RfMatrix *Y, RfMatrix *Yv,
						  int ycol, RfOptions *opts, const char *model);

/* The bucket of a value: how many of the sorted edges are at or below it. */
extern int	TargetBinIndex(const double *edges, int nedges, double v);
/* The names of the nedges + 1 buckets between edges: "(-Infinity,a)", "[a,b)", ... */
extern char **TargetBinClasses(const double *edges, int nedges);
/* Bucket k's value: the mean (sum / count) of its training values, or its middle when it has none. */
extern double TargetBinValue(const double *edges, int nedges, int k, double count, double sum);

/* A class of a hierarchy's level, ordered by its parent, then its name. */
typedef struct RfChildOrder
{
	int			cls;
	int			parent;
	const char *name;
} RfChildOrder;

extern int	TargetChildOrderCmp(const void *a, const void *b);

/* qsort's comparison of doubles, increasing. */
extern int	TargetDoubleCmp(const void *a, const void *b);

/* A WARNING naming the classes with few training rows. */
extern void TargetWarnFewExamples(RfTarget *t, const char *model);

/* A numeric class's name: an integer type's value without decimals. */
extern char *TargetNumberLabel(double v, Oid typid);

/* An integer target, whose distinct values decide its task when none is given. */
static inline bool
TargetIsInteger(const RfTarget *t)
{
	return t->typid == INT2OID || t->typid == INT4OID || t->typid == INT8OID;
}

/*
 * The task of a target given none, from its type and (integers) its n
 * smallest distinct values, sorted (n > RF_MAX_INFERRED_CLASSES: more):
 * booleans and 0/1 binary, texts and few integers multiclass, else
 * regression; and the NOTICE that says so.  The rows' path and the
 * streaming passes infer alike.
 */
extern const char *TargetInferTask(const RfTarget *t, const double *values, int n);
extern void TargetNoticeTask(const RfTarget *t, const char *task);

/*
 * An error unless a classification target's training rows hold two classes
 * (a multilabel target's, one label), counted in counts (NULL: every class
 * of t is seen); a bucketed target's says its values fall into one bucket.
 */
extern void TargetCheckClasses(const RfTarget *t, const double *counts);

/*
 * A head's shape from its framed target (index: its place among the
 * targets, a hierarchy level's parent the one before): kind, outputs, loss
 * (a regression head's is given), a distribution per row, classes, buckets,
 * parents.  Weight 1 and threshold 0.5 until the options say otherwise.
 * The rows' path (framing.c) and the streaming passes' counting heads
 * both make their heads so.
 */
extern void TargetHead(const RfTarget *tg, int index, RfLoss regression_loss, RfHead *head);
/* A multilabel head over nlabels labels (several boolean targets, or a label set's labels). */
extern void TargetLabelsHead(const char *name, int nlabels, char **labels, RfHead *head);

#endif
