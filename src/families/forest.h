/*
 * forest.h
 *		A fitted forest of regression trees: what the trees family stores
 *		and scores with its own traversal (no XGBoost call per row).
 *
 * Stored as two parameter blocks:
 *	 "trees.index"  ntrees x 3: the output a tree adds to, its first row in
 *					"trees.nodes", its number of nodes;
 *	 "trees.nodes"  nnodes x 8: per node the split feature (-1 for a leaf),
 *					the threshold (rows with x < threshold go left), the
 *					left and right children (node numbers within the tree,
 *					-1 for a leaf), 1 if a missing value goes left, the
 *					leaf's value, the split's gain (its loss reduction, 0
 *					for a leaf) and the node's cover (the training rows'
 *					hessians that reached it).
 * Trees are in boosting order, round by round, each round one tree per
 * output.  The starting margins are folded into the first round's leaves,
 * so a row's raw output is the sum of its leaves' values, added in single
 * precision in tree order as XGBoost does.
 */
#ifndef REFRAME_FOREST_H
#define REFRAME_FOREST_H

#include "lib/stringinfo.h"

#define RF_FOREST_NODE_COLS 8
#define RF_FOREST_TREE_COLS 3

/*
 * A node compiled for scoring, 16 bytes: children are adjacent (right is
 * left + 1), so a step down is one comparison and no branch.  A leaf steps
 * to itself (threshold NaN, which no input reaches or passes; left its own
 * number), so several trees can be walked in lockstep for a fixed number of
 * steps; its value is in RfForest.leaf.
 */
typedef struct RfTreeNode
{
	int32		feature;
	float		threshold;		/* x < threshold goes left */
	int32		left;			/* absolute node number in the compiled forest */
	int32		default_right;	/* 1 if a missing value goes right */
} RfTreeNode;

typedef struct RfForest
{
	int			nin;			/* features */
	int			nout;			/* outputs */
	int			ntrees;
	int64		nnodes;
	int			rounds;
	double	   *index;			/* the "trees.index" block */
	double	   *nodes;			/* the "trees.nodes" block */
	bool		index_set;
	bool		nodes_set;
	RfTreeNode *node;			/* compiled for scoring */
	float	   *leaf;			/* per compiled node: a leaf's value */
	int32	   *root;			/* per tree */
	int32	   *output;			/* per tree */
	int32	   *depth;			/* per tree: steps from the root to its deepest leaf */
} RfForest;

extern RfForest *ForestCreate(int nin, int nout, int ntrees, int64 nnodes);
/* Checks the blocks (raising 22P07 naming the model) and compiles them. */
extern void ForestCompile(RfForest *f, const char *model, int32 version);

/* One step down: v >= threshold goes right; a NaN compares false, and goes its default way. */
static inline int32
TreeStep(const RfTreeNode *node, int32 n, const float *x)
{
	const RfTreeNode *nd = &node[n];
	float		v = x[nd->feature];

	return nd->left + ((v >= nd->threshold) | ((v != v) & nd->default_right));
}

/* Raw outputs of one row; acc has room for nout floats. */
static inline void
ForestRow(const RfForest *f, const float *x, float *acc)
{
	int			t = 0;

	for (int o = 0; o < f->nout; o++)
		acc[o] = 0;
	/* eight trees in lockstep: their steps are independent loads */
	for (; t + 8 <= f->ntrees; t += 8)
	{
		int32		n[8];
		int32		steps = 0;

		for (int k = 0; k < 8; k++)
		{
			n[k] = f->root[t + k];
			steps = Max(steps, f->depth[t + k]);
		}
		for (int s = 0; s < steps; s++)
			for (int k = 0; k < 8; k++)
				n[k] = TreeStep(f->node, n[k], x);
		for (int k = 0; k < 8; k++)
			acc[f->output[t + k]] += f->leaf[n[k]];
	}
	for (; t < f->ntrees; t++)
	{
		int32		a = f->root[t];

		for (int s = 0; s < f->depth[t]; s++)
			a = TreeStep(f->node, a, x);
		acc[f->output[t]] += f->leaf[a];
	}
}

/* Raw outputs of rows x (rows x nin) into out (rows x nout), tree by tree. */
extern void ForestRows(const RfForest *f, const float *x, int rows, float *out);

/*
 * TreeSHAP: each input's exact Shapley contribution to output `output` of a
 * row, and the forest's expected output; base + sum(phi) = the output.
 */
extern void ForestShap(const RfForest *f, const float *x, int output, double *phi, double *base);

/* XGBoost's JSON model of the forest (see reframe.export), its inputs named and typed. */
extern void ForestToXGBoostJson(const RfForest *f, const char *objective, int num_class,
								int num_target, double base_score, char **names,
								const char **types, StringInfo buf);

#endif
