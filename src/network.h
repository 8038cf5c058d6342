/*
 * network.h
 *		The model's shape: encoded features -> trunk -> heads.
 *
 * The trunk is a stack of dense ReLU layers (none for a linear model).  The
 * heads' output layers are stacked into one dense layer on top of the trunk,
 * so one matrix product scores every head; each head owns a contiguous
 * slice [offset, offset + nout) of the outputs and applies its own link.
 * All parameters live in one flat array, which is what the optimizers see.
 */
#ifndef REFRAME_NETWORK_H
#define REFRAME_NETWORK_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

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
	double		weight;			/* weight of this head's loss */
	int			nclasses;		/* class or label names */
	char	  **classes;
	double		threshold;		/* binary decision threshold */
	double	   *label_thresholds;	/* multilabel: one per label, or NULL */

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

typedef struct RfNet
{
	int			nin;			/* encoded width */
	int			nhidden;		/* hidden layers */
	int		   *hidden;			/* their sizes */
	int			nout;			/* outputs of all heads */
	int			nheads;
	RfHead	   *heads;
	/*
	 * Soft sharing: each hidden layer holds one block of hidden[l] / tasks
	 * units per task, connected only to the same task's block below (layer 1
	 * sees every feature) and feeding only that task's head; weights across
	 * blocks stay zero.  0: one trunk shared by every head.
	 */
	int			soft_tasks;
	int64		nparams;
	double	   *params;
	int64	   *w_off;			/* per layer (nhidden + 1): weights, out x in, row-major */
	int64	   *b_off;			/* per layer: biases */
} RfNet;

typedef struct RfBlock
{
	char	   *name;
	int			ndim;
	int			shape[2];
	const double *data;
} RfBlock;

/* Derives child_start/child_count from parent_of (sorted by parent). */
extern void HeadSetParents(RfHead *head, int parent, int nparents, int *parent_of);
/* Soft sharing: whether weight (o, i) of layer l joins units of one task. */
extern bool NetWeightAllowed(const RfNet *net, int l, int o, int i);
/* Soft sharing: zeroes cross-task gradients and adds the closeness penalty. */
extern double NetSoftSharing(const RfNet *net, const double *params, double *grad, double strength);
extern RfNet *NetCreate(int nin, int nhidden, const int *hidden, int nheads, RfHead *heads);
extern int	NetLayerIn(const RfNet *net, int layer);
extern int	NetLayerOut(const RfNet *net, int layer);
extern int	NetMaxWidth(const RfNet *net);

/* Raw outputs (before links) of one encoded row; scratch holds 2 * NetMaxWidth. */
extern void NetForwardRow(const RfNet *net, const double *x, double *out, double *scratch);
/* Applies every head's link; hierarchy levels become path probabilities. */
extern void NetLinkHeads(const RfNet *net, double *out);
/* Applies a head's link in place: sigmoid, softmax or identity. */
extern void HeadLink(const RfHead *head, double *z);
/* A single-precision copy of a network's parameters, for batch inference. */
typedef struct RfNetF
{
	const RfNet *net;
	float	   *params;
	float	   *work;			/* hidden activations of one chunk */
} RfNetF;

extern RfNetF *NetSinglePrecision(const RfNet *net);
extern void NetRefreshSinglePrecision(RfNetF *f);
extern void DenseBatchF(const float *W, const float *b, int nout, int nin,
						const float *X, int rows, float *out);
/* Raw outputs of a block of at most RF_CHUNK_ROWS rows. */
extern void NetForwardBatchF(RfNetF *f, const float *X, int rows, float *out);

/* The decision threshold of label k of a multilabel head (or of a binary head). */
static inline double
HeadThreshold(const RfHead *head, int k)
{
	return head->label_thresholds ? head->label_thresholds[k] : head->threshold;
}

extern const char *HeadKindName(RfHeadKind kind);
extern const char *LossName(RfLoss loss);

/* Storage */
extern void NetToJson(const RfNet *net, StringInfo buf);
extern List *NetBlocks(const RfNet *net);
extern RfNet *NetFromJson(JsonbContainer *spec, int nin);
extern void NetSetBlock(RfNet *net, const char *name, const double *data, int64 n);

#endif
