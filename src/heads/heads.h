/*
 * heads.h
 *		The heads of a model: one per task, each owning a contiguous slice of
 *		the trunk's raw outputs, its link (identity, sigmoid, softmax) and its
 *		loss with the loss's gradient and hessian with respect to those raw
 *		outputs.  Heads know nothing of the trunk that feeds them, so every
 *		family (L-BFGS or Adam through a network, boosting through trees)
 *		trains every head.
 *
 * The training objective of every family is
 *
 *	 sum over heads h of  weight_h * (sum_i c_hi loss_h(z_hi, y_hi)) / (sum_i c_hi)
 *
 * plus the family's own penalty, where c_hi is the class weight of row i's
 * class for classification heads (1 otherwise) and rows whose target for
 * head h is missing (NaN) are left out of that head's sums.  Regression
 * targets are standardized while training, so every loss is on a comparable
 * scale.
 */
#ifndef REFRAME_HEADS_H
#define REFRAME_HEADS_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "matrix.h"

typedef enum RfHeadKind
{
	RF_HEAD_REGRESSION,
	RF_HEAD_BINARY,
	RF_HEAD_MULTICLASS,
	RF_HEAD_MULTILABEL
} RfHeadKind;

typedef enum RfLoss
{
	RF_LOSS_SQUARED,
	RF_LOSS_ABSOLUTE,
	RF_LOSS_HUBER,
	RF_LOSS_LOG,				/* binary and multilabel */
	RF_LOSS_CROSS_ENTROPY		/* multiclass */
} RfLoss;

typedef struct RfHead
{
	char	   *name;			/* the target column; also the output name */
	RfHeadKind	kind;
	RfLoss		loss;
	double		huber_delta;
	int			offset;			/* first output */
	int			nout;			/* outputs: 1, or K classes, or L labels */
	int			ycol;			/* target column in the training Y matrix */
	int			wcol;			/* training: Y's column of row weights ("weight"), or -1 */
	bool		soft;			/* multiclass: Y holds a distribution (nout columns from ycol) */
	double		weight;			/* weight of this head's loss */
	int			nclasses;		/* class or label names */
	char	  **classes;
	double		threshold;		/* binary decision threshold */
	double	   *label_thresholds;	/* multilabel: one per label, or NULL */

	/*
	 * Multiclass trained with class weights, its scores calibrated back to
	 * the data's prior: the decision is the argmax of p_k times these (the
	 * weights), as the weighted model decided.  NULL: the argmax of p.
	 */
	double	   *decision_weights;

	/*
	 * A numeric target reframed as classes ("bins"): the bucket edges (one
	 * fewer than the classes) and each bucket's mean training value, whose
	 * probability-weighted sum is the head's expected value.
	 */
	double	   *bin_edges;
	double	   *bin_values;

	/*
	 * A level of a hierarchy below the first: the head of the level above,
	 * and for each of this level's classes its parent class there.  Classes
	 * are sorted by parent, so each parent's children are the contiguous
	 * range child_start[p] .. child_start[p] + child_count[p], and the
	 * softmax runs within that range: P(class | parent).
	 */
	int			parent;			/* head index, or -1 */
	int		   *parent_of;
	int			nparents;
	int		   *child_start;
	int		   *child_count;
} RfHead;

/* Gives each head its slice of the outputs; returns the number of outputs. */
extern int	HeadsLayout(RfHead *heads, int nheads);
/* Derives child_start/child_count from parent_of (sorted by parent). */
extern void HeadSetParents(RfHead *head, int parent, int nparents, int *parent_of);

/* Applies a head's link in place: sigmoid, softmax or identity. */
extern void HeadLink(const RfHead *head, double *z);
/* Applies every head's link; hierarchy levels become path probabilities. */
extern void HeadsLink(const RfHead *heads, int nheads, double *out);
/* The class a binary or multiclass head predicts from its linked outputs p. */
extern int	HeadPredictedClass(const RfHead *head, const double *p);

/* The decision threshold of label k of a multilabel head (or of a binary head). */
static inline double
HeadThreshold(const RfHead *head, int k)
{
	return head->label_thresholds ? head->label_thresholds[k] : head->threshold;
}

extern const char *HeadKindName(RfHeadKind kind);
extern const char *LossName(RfLoss loss);

/* Storage: the "heads" array of a version's spec. */
extern void HeadsToJson(const RfHead *heads, int nheads, StringInfo buf);
extern RfHead *HeadsFromJson(JsonbContainer *jheads, int *nheads);

/*
 * Loss of one row for a regression head given its raw output z (on the
 * standardized scale); writes the derivative and, when hess is not NULL,
 * the second derivative.
 */
extern double HeadLoss(const RfHead *head, const double *z, double y, double *dz, double *hess);

/*
 * One row of any head in double precision, as every family's objective and
 * the streaming passes count it: the loss per unit weight, its derivative
 * with respect to the head's raw outputs z into dz, the linked outputs into
 * p (regression: z itself), and when hess is not NULL the diagonal hessian.
 * y is the head's target as the rows keep it: regression, the standardized
 * value; binary, 0 or 1; multiclass, the class, or (soft) nout shares;
 * multilabel, nout 0/1 or NaN for a label not known, which counts nothing;
 * the loss is the mean over the labels.  range: a hierarchy level's
 * softmax over its parent's children (start, count), or NULL.
 */
extern double HeadRowLoss(const RfHead *head, const double *z, const double *y, const int *range,
						  double *dz, double *p, double *hess);

/* ---------- training ---------- */

/*
 * What the heads need of the training targets, prepared once: each head's
 * normaliser (its weight over the sum of its rows' weights), and for
 * classification heads each row's clean target and weight (0 where the
 * target is missing, or where a hierarchy level's parent is), unless the
 * targets can be read as they are (in_place).
 */
typedef struct RfHeadData
{
	const RfHead *heads;
	int			nheads;
	int			nout;
	const RfMatrix *Y;
	double	  **class_weight;	/* per head: per class weight, or NULL */
	double	   *ytarget_shift;	/* per head: regression target standardization */
	double	   *ytarget_scale;
	double	   *head_norm;		/* per head: weight / (sum of weights of present rows) */
	double	  **yclean;			/* per classification head */
	double	  **wrow;
	/*
	 * Or, for a lone head with nothing to clean (one target column, no
	 * missing target, no class or row weights): its targets read in place
	 * from Y, and RF_CHUNK_ROWS copies of its one weight.
	 */
	bool		in_place;
	double	   *wsame;
	float	   *tmp;			/* softmax scratch, RF_CHUNK_ROWS x nout */
	const double *Zd;			/* when set: the raw outputs in double precision, read instead of Z */
	float	   *rowmax;
	double	   *zrow;			/* one row's outputs, derivatives, links and hessians (HeadRowLoss) */
} RfHeadData;

extern RfHeadData *HeadsPrepare(const RfHead *heads, int nheads, const RfMatrix *Y,
								double **class_weight, double *ytarget_shift,
								double *ytarget_scale);

/*
 * The weighted loss of rows start .. start + rows of chunk c of Y, given
 * their raw outputs Z (rows x nout).  Writes the gradient of that loss with
 * respect to Z into dZ and, when H is not NULL, its diagonal hessian into H
 * (each rows x nout).
 */
extern RfHeadData *HeadsThreadCopy(const RfHeadData *hd);
extern double HeadsLossRows(RfHeadData *hd, int c, int start, int rows, const float *Z,
							float *dZ, float *H);

/*
 * The raw outputs that predict each head's (weighted) training base rate:
 * 0 for regression (standardized), the logit of the positive rate, the log
 * of each class's share.  Families start from it.
 */
struct RfTarget;
/*
 * One head's: from its training rows' (weighted) counts of each class (a
 * binary head's of 0 and 1), times class_weight when not NULL; multilabel,
 * each label's positives in counts and the weight of the rows that know it
 * in known.  b: the head's first output.
 */
extern void HeadBaseMargin(const RfHead *head, const double *counts, const double *class_weight,
						   const double *known, double *b);
extern void HeadsBaseMargins(const RfHead *heads, int nheads, const struct RfTarget *targets,
							 const RfMatrix *Y, double *margin);

#endif
