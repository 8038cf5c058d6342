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

#include "family.h"
#include "optim.h"
#include "heads.h"

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
	int			blocks_set;		/* stored blocks loaded into params */
	double	   *importance;		/* per input: permutation importance (neural), or NULL */
} RfNet;

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
/* A single-precision copy of a network's parameters, for batch inference. */
typedef struct RfNetF
{
	const RfNet *net;
	float	   *params;
	float	   *work;			/* hidden activations of one chunk */
} RfNetF;

extern RfNetF *NetSinglePrecision(const RfNet *net);
extern void NetRefreshSinglePrecision(RfNetF *f);
/* Raw outputs of a block of at most RF_CHUNK_ROWS rows. */
extern void NetForwardBatchF(RfNetF *f, const float *X, int rows, float *out);
/* Training's passes over such a block: every layer's outputs kept, then the gradients. */
extern void NetForwardLayers(const RfNetF *f, const float *X, int rows, float *const *acts, bool yield);
extern void NetBackwardLayers(const RfNetF *f, const float *X, float *const *acts, int rows,
							  float *dZ, float *dA, float *gW, double *grad);

/* Storage */
extern void NetToJson(const RfNet *net, StringInfo buf);
extern List *NetBlocks(const RfNet *net);
extern RfNet *NetFromJson(JsonbContainer *spec, int nin, int nheads, RfHead *heads, int64 stored);
extern bool NetSetBlock(RfNet *net, const char *name, const double *data, int64 n);

/* Starting point: zero weights, output biases at the heads' base rates. */
extern void NetStartAtBaseRates(RfNet *net, RfFitData *d);
/* A warm start's: the parameters of the version continued (d->warm), standardized as a fit's. */
extern void NetStartFrom(RfNet *net, RfFitData *d);
/* Scales regression heads' output rows back from standardized targets. */
extern void NetDestandardizeHeads(RfNet *net, RfTarget *targets);
extern void NetMinimizeLbfgs(RfNet *net, RfFitData *d, RfFitResult *res, RfEvalFn fn, void *arg);
/* Per head: class weights and regression standardization, for the objective. */
extern void NetFitArrays(RfNet *net, RfFitData *d, double ***cw, double **shift, double **scale);

/*
 * The trunk functions of the families built on this network (linear and
 * neural): see RfFamily.
 */
extern void NetTrunkForwardRow(const RfTrunk *t, const double *x, double *out, double *scratch);
extern int	NetTrunkRowScratch(const RfTrunk *t);
extern void *NetTrunkBatchBegin(const RfTrunk *t);
extern void NetTrunkForwardBatch(void *batch, const float *X, int rows, float *out);
extern void NetTrunkToJson(const RfTrunk *t, StringInfo buf);
extern List *NetTrunkBlocks(const RfTrunk *t);
extern void NetTrunkFromJson(RfTrunk *t, JsonbContainer *spec, int64 stored);
extern bool NetTrunkSetBlock(RfTrunk *t, const char *name, const double *data, int64 n);
extern void NetTrunkShiftOutputs(RfTrunk *t, const double *delta);
extern void NetTrunkCheckLoaded(const RfTrunk *t, const char *model, int32 version);

#endif
