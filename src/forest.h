/*
 * forest.h
 *		A fitted forest of regression trees: what the trees family stores
 *		and scores with its own traversal (no XGBoost call per row).
 *
 * Stored as two parameter blocks:
 *	 "trees.index"  ntrees x 3: the output a tree adds to, its first row in
 *					"trees.nodes", its number of nodes;
 *	 "trees.nodes"  nnodes x 6: per node the split feature (-1 for a leaf),
 *					the threshold (rows with x < threshold go left), the
 *					left and right children (node numbers within the tree,
 *					-1 for a leaf), 1 if a missing value goes left, and the
 *					leaf's value.
 * Trees are in boosting order, round by round, each round one tree per
 * output.  The starting margins are folded into the first round's leaves,
 * so a row's raw output is the sum of its leaves' values, added in single
 * precision in tree order as XGBoost does.
 */
#ifndef REFRAME_FOREST_H
#define REFRAME_FOREST_H

#include "lib/stringinfo.h"

#define RF_FOREST_NODE_COLS 6
#define RF_FOREST_TREE_COLS 3

typedef struct RfTreeNode
{
	int32		feature;		/* -1: a leaf */
	float		threshold;		/* x < threshold goes left */
	int32		left;			/* absolute node numbers in the forest */
	int32		right;
	bool		default_left;	/* where a missing value goes */
	float		value;			/* a leaf's value */
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
	int32	   *root;			/* per tree */
	int32	   *output;			/* per tree */
} RfForest;

extern RfForest *ForestCreate(int nin, int nout, int ntrees, int64 nnodes);
/* Checks the blocks (raising 22P07 naming the model) and compiles them. */
extern void ForestCompile(RfForest *f, const char *model, int32 version);

/* Raw outputs of one row; acc has room for nout floats. */
static inline void
ForestRow(const RfForest *f, const float *x, float *acc)
{
	for (int o = 0; o < f->nout; o++)
		acc[o] = 0;
	for (int t = 0; t < f->ntrees; t++)
	{
		const RfTreeNode *n = &f->node[f->root[t]];

		while (n->feature >= 0)
		{
			float		v = x[n->feature];

			n = &f->node[isnan(v) ? (n->default_left ? n->left : n->right) :
						 (v < n->threshold ? n->left : n->right)];
		}
		acc[f->output[t]] += n->value;
	}
}

/* XGBoost's JSON model of the forest (see reframe.export). */
extern void ForestToXGBoostJson(const RfForest *f, const char *objective, int num_class,
								int num_target, double base_score, StringInfo buf);

#endif
