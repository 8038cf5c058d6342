/*
 * family.h
 *		Model families: what turns encoded features into the heads' raw
 *		outputs (the trunk), and how it is fitted, run and stored.
 *
 * A model is encoder -> trunk -> heads.  Each family is one static table of
 * functions in a file of its own (family_linear.c, family_neural.c,
 * family_trees.c), picked by name once, in the way pgvector keeps one table
 * per supported type.  The training driver, scoring, evaluation and blends
 * call the table and never name a family; a new family is one file and one
 * entry in FamilyByName.
 */
#ifndef REFRAME_FAMILY_H
#define REFRAME_FAMILY_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "encoder.h"
#include "gram.h"
#include "heads.h"
#include "matrix.h"
#include "optim.h"
#include "options.h"
#include "targets.h"

typedef struct RfFamily RfFamily;

/* A trunk with its heads: a fitted (or loaded) model's scoring part. */
typedef struct RfTrunk
{
	const RfFamily *family;
	int			nin;			/* encoded width */
	int			nout;			/* raw outputs of all heads */
	int			nheads;
	RfHead	   *heads;
	void	   *state;			/* the family's own: RfNet, RfForest */
} RfTrunk;

/* A named parameter block of a version, as stored in the model table. */
typedef struct RfBlock
{
	char	   *name;
	int			ndim;
	int			shape[2];
	const double *data;
} RfBlock;

extern RfBlock *RfBlockMake(const char *name, int rows, int cols, const double *data);

/* Folds of "l2": "auto" (ReframeInnerFold of the rows' split draws) */
#define RF_L2_FOLDS 5
/* up to this many training rows times parameters; beyond, the validation rows choose */
#define RF_L2_CV_WORK 2e6
/* beyond twice this many training rows, the path fits on a sample of this many */
#define RF_L2_PATH_ROWS 100000

/*
 * The penalty path of "l2": "auto" (family_linear.c) over splits of the
 * rows: fit(arg, t, k, l2) fits split k at penalty l2 from the trunk's
 * parameters and returns its held-out selection metric.
 */
struct RfTrunk;
typedef struct RfL2Path
{
	int			nsplits;		/* 5 folds, or the training and validation rows */
	int64		rows;			/* training rows: where the path starts */
	double		(*fit) (void *arg, struct RfTrunk *t, int k, double l2);
	void	   *arg;
} RfL2Path;

/* What a fit is given: the training (and validation) rows, or their moments. */
struct RfFitResult;

typedef struct RfFitData
{
	const char *model_name;
	RfOptions  *opts;
	const RfEncoder *enc;
	RfTarget   *targets;		/* per head (a multilabel head: its first target) */
	int			ntargets;
	RfMatrix   *X;				/* encoded training rows; NULL when streamed */
	RfMatrix   *Y;
	RfMatrix   *Xva;			/* validation rows (may have none) */
	RfMatrix   *Yva;
	RfGram	   *gram;			/* streamed squared-loss data, or NULL */
	RfGram	  **gram_folds;		/* RF_L2_FOLDS folds' moments of the training rows ("l2": "auto"), or NULL */
	int			gcol;			/* Y's column of query codes ("group"), or -1 */
	const double *draw;			/* per training row: its split draw in [0, 1) (folds) */
	const double *draw_va;		/* per validation row: the same */
	bool		quiet;			/* no NOTICE on convergence (fits along a path) */
	/*
	 * A cross-validation fold: the validation rows are the ones the fold is
	 * measured on, so a fit must not choose anything on them (a network does
	 * not stop early on them).
	 */
	bool		measured_on_validation;
	RfBudget   *budget;
	/* a warm start: the trunk of the version continued, whose shape this one has; or NULL */
	const RfTrunk *warm;
	struct RfTrainState *stream;	/* no rows: a pass over the source per evaluation (gradient.c), or NULL */
	/* ... and the fit by those passes, which the family calls instead of its own (GradientFit) */
	void		(*stream_fit) (RfTrunk *t, struct RfFitData *d, struct RfFitResult *res);
} RfFitData;

typedef struct RfFitResult
{
	const char *solver;			/* as stored in the spec */
	RfOptimResult opt;			/* iterations (rounds), convergence, loss history */
	char	   *choice;			/* a JSON object on what the fit chose (e.g. "l2"), or NULL */
} RfFitResult;

struct RfFamily
{
	const char *name;			/* the "model" option's value */
	bool		raw_inputs;		/* numbers unstandardized, NULL kept missing (RfEncoder) */
	/* the share of rows held out by default (from 1,000 rows), or 0 for 0.2 */
	double		validation;
	/*
	 * The options that only some families take, this one among them
	 * (NULL-terminated); an option no family lists is every family's.
	 */
	const char *const *options;
	bool		chooses_l2;		/* "l2": "auto" chooses its penalty (and is its default) */
	bool		streams;		/* trains by aggregate passes over the source (stream/) */
	/* "model": "auto"'s candidate: the options it starts from (NULL: none) ... */
	const char *candidate;
	int64		candidate_rows; /* ... on sources of up to this many rows (0: any) */

	/* Lays out an untrained trunk for t->heads from the options. */
	void		(*create) (RfTrunk *t, const RfOptions *opts, int nin);
	/* Fits the trunk; reports the solver and its progress. */
	void		(*fit) (RfTrunk *t, RfFitData *d, RfFitResult *res);

	/* Raw outputs of one encoded row; scratch holds row_scratch doubles. */
	void		(*forward_row) (const RfTrunk *t, const double *x, double *out, double *scratch);
	int			(*row_scratch) (const RfTrunk *t);
	/*
	 * Raw outputs of up to RF_CHUNK_ROWS encoded rows, after batch_begin.
	 * The evaluation calls forward_batch on the training's threads
	 * (threads.h), each with a batch of its own: it calls nothing of
	 * PostgreSQL.
	 */
	void	   *(*batch_begin) (const RfTrunk *t);
	void		(*forward_batch) (void *batch, const float *X, int rows, float *out);

	/* Adds delta[o] to every row's raw output o (nout values). */
	void		(*shift_outputs) (RfTrunk *t, const double *delta);

	/* Storage: the family's part of the spec, and its parameter blocks. */
	void		(*to_json) (const RfTrunk *t, StringInfo buf);
	List	   *(*blocks) (const RfTrunk *t);
	/*
	 * Lays out a stored trunk from its spec, checked: stored is the number
	 * of values in the version's blocks, which no layout may exceed.
	 */
	void		(*from_json) (RfTrunk *t, JsonbContainer *spec, int64 stored);
	/* Takes one stored block; false if the family has no block of that name. */
	bool		(*set_block) (RfTrunk *t, const char *name, const double *data, int64 n);
	/* After every block is set: raises 22P07 naming a block that is missing. */
	void		(*check_loaded) (const RfTrunk *t, const char *model, int32 version);

	/*
	 * Optional: a linear map from raw inputs to raw outputs, folding the
	 * encoder in (out = W raw + b, nout x nraw), for models whose inputs
	 * need no more than standardization.  NULL, or false when not linear.
	 */
	bool		(*fold_encoder) (const RfTrunk *t, const RfEncoder *enc, double **W, double **b);

	/*
	 * Optional: the family fits squared-loss regression from streamed second
	 * moments (RfFitData.gram) and gives the squared errors of a set from
	 * its moments.  NULL: the rows are kept.
	 */
	void		(*moments_errors) (const RfTrunk *t, RfGram *g, const RfEncoder *enc,
								   double *sse, double *sst);

	/*
	 * Explains raw output `output` of an encoded row: base + sum of
	 * contrib (one per encoded input) is the output.  Exact for linear
	 * models (each input's term) and trees (TreeSHAP); an approximation for
	 * networks, whose remainder goes to *rest.
	 */
	void		(*explain) (const RfTrunk *t, const double *x, int output, double *contrib,
							double *base, double *rest);

	/*
	 * Optional: how much each encoded input matters to the model as a whole
	 * (non-negative, one per input; see reframe.importance).
	 */
	void		(*importance) (const RfTrunk *t, const RfEncoder *enc, double *imp);

	/*
	 * Optional: the trunk and heads as XGBoost's JSON model (reframe.export),
	 * its inputs named and typed (EncoderSlotNames).
	 */
	void		(*export_xgboost) (const RfTrunk *t, char **names, const char **types, StringInfo buf);
};

extern const RfFamily ReframeLinearFamily;
extern const RfFamily ReframeNeuralFamily;
extern const RfFamily ReframeTreesFamily;

/* The family called name (the "model" option), or NULL. */
extern const RfFamily *FamilyByName(const char *name);
/* The table (families.c), in "model": "auto"'s order of candidates. */
extern int	FamilyCount(void);
extern const RfFamily *FamilyAt(int i);
/* The family that trains by aggregate passes, or NULL. */
extern const RfFamily *FamilyStreaming(void);
/* Whether every option given (and "l2": "auto") applies to the family. */
extern bool FamilyTakesOptions(const RfFamily *f, const RfOptions *o);
/* An error naming an option given that the family (NULL: "model": "auto", every family) does not take. */
extern void FamilyCheckOptions(const RfFamily *f, const RfOptions *o);
extern void FamilyCheckSomeFamily(const RfOptions *o);
/* The options' defaults that depend on the family ("l2": "auto"). */
extern void FamilyDefaults(const RfFamily *f, RfOptions *o);
/* An error unless "model" is "auto" or a family's name. */
extern void FamilyCheckModel(const RfOptions *o);
/* The family named by the options: "model", or what "hidden" implies. */
extern const RfFamily *FamilyFromOptions(const RfOptions *opts);

/* Makes an untrained trunk of a family for laid-out heads. */
extern RfTrunk *TrunkCreate(const RfFamily *f, const RfOptions *opts, int nin,
							RfHead *heads, int nheads);
/* Storage of a whole trunk: the spec's "network" object, and the blocks. */
extern void TrunkToJson(const RfTrunk *t, StringInfo buf);
extern RfTrunk *TrunkFromJson(JsonbContainer *spec, int nin, int64 stored);

static inline void
TrunkForwardRow(const RfTrunk *t, const double *x, double *out, double *scratch)
{
	t->family->forward_row(t, x, out, scratch);
}

/* Raw outputs of every row of X, one chunk at a time, handed to fn. */
typedef void (*RfChunkFn) (void *arg, int c, int rows, const float *out);
extern void TrunkForwardMatrix(const RfTrunk *t, const RfMatrix *X, RfChunkFn fn, void *arg);

/* Every head's metrics over the rows of X, Y, into acc (EvalAccInit'ed); see family.c. */
struct RfEvalAcc;
extern void TrunkEvaluateMatrix(const RfTrunk *t, const RfMatrix *X, const RfMatrix *Y,
								const double *const *bin_raw, struct RfEvalAcc *acc);

/*
 * "l2": "auto" of the linear family: the penalty with the best held-out
 * metric along the path (over the rows in d, or over path's splits when
 * given), into d->opts->l2; the net's parameters where the final fit starts.
 */
extern void LinearChooseL2(RfTrunk *t, RfFitData *d, RfFitResult *res, const RfL2Path *path);

/* The heads' metrics as JSON (several heads: by name), *loss their weighted selection metric. */
extern void HeadsJson(const RfTrunk *t, struct RfEvalAcc *acc, StringInfo buf, double *loss, bool training);

#endif
