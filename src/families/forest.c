/*
 * forest.c
 *		A forest's blocks: checked, compiled for scoring, and written out as
 *		XGBoost's JSON model.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "reframe.h"
#include "forest.h"
#include "jsonutil.h"
#include "matrix.h"

RfForest *
ForestCreate(int nin, int nout, int ntrees, int64 nnodes)
{
	RfForest   *f = palloc0(sizeof(RfForest));
	RfMapped   *map;

	/* large arrays in populated huge pages, released with the context (a model loads faster) */
	f->nin = nin;
	f->nout = nout;
	f->ntrees = ntrees;
	f->nnodes = nnodes;
	f->index = RfAllocLarge(sizeof(double) * RF_FOREST_TREE_COLS * Max(ntrees, 1), &map);
	f->nodes = RfAllocLarge(sizeof(double) * RF_FOREST_NODE_COLS * Max(nnodes, 1), &map);
	return f;
}

/* The store names the model and version (StoreLoadVersion). */
static void
ForestCorrupt(const char *model, int32 version, const char *what, int64 where)
{
	SpecCorrupt("block \"%s\" is invalid at row %lld", what, (long long) where + 1);
}

/* Whether v is an integer in [lo, hi]. */
static bool
IntIn(double v, double lo, double hi)
{
	return v == floor(v) && v >= lo && v <= hi;
}

/*
 * One tree's stored nodes, checked, compiled in place of its rows: each
 * split's two children are laid out side by side, in the order a walk from
 * the root reaches them.  Children must come after their parent within the
 * tree, so that every traversal ends at a leaf.
 */
static void
CompileTree(RfForest *f, int t, int64 start, int64 size, const char *model, int32 version)
{
	int64	   *slot = palloc(sizeof(int64) * size);	/* stored node -> compiled slot */
	int32	   *depth = palloc0(sizeof(int32) * size);	/* per compiled slot */
	int64		next = 1;

	slot[0] = 0;
	for (int64 j = 1; j < size; j++)
		slot[j] = -1;
	f->depth[t] = 0;
	for (int64 j = 0; j < size; j++)
	{
		const double *nd = f->nodes + (Size) (start + j) * RF_FOREST_NODE_COLS;
		bool		leaf = nd[0] == -1;
		RfTreeNode *n;

		if (!(isfinite(nd[6]) && isfinite(nd[7]) && nd[7] >= 0) ||
			(leaf ? !(isfinite(nd[5]) && nd[2] == -1 && nd[3] == -1) :
			!(IntIn(nd[0], 0, f->nin - 1) && !isnan(nd[1]) &&
			  IntIn(nd[2], j + 1, size - 1) && IntIn(nd[3], j + 1, size - 1) &&
			  nd[2] != nd[3] && (nd[4] == 0 || nd[4] == 1))))
			ForestCorrupt(model, version, "trees.nodes", start + j);
		if (slot[j] < 0)
			continue;			/* unreachable from the root */
		n = &f->node[start + slot[j]];
		f->depth[t] = Max(f->depth[t], depth[slot[j]]);
		if (leaf)
		{
			/* a leaf steps to itself */
			*n = (RfTreeNode) {0, NAN, (int32) (start + slot[j]), 0};
			f->leaf[start + slot[j]] = (float) nd[5];
			continue;
		}
		if (slot[(int64) nd[2]] >= 0 || slot[(int64) nd[3]] >= 0 || next + 2 > size)
			ForestCorrupt(model, version, "trees.nodes", start + j);
		*n = (RfTreeNode) {(int32) nd[0], (float) nd[1], (int32) (start + next), nd[4] == 0};
		f->leaf[start + slot[j]] = 0;
		slot[(int64) nd[2]] = next;
		slot[(int64) nd[3]] = next + 1;
		depth[next] = depth[next + 1] = depth[slot[j]] + 1;
		next += 2;
	}
	/* slots of unreachable nodes stay leaves of value 0 */
	for (int64 k = next; k < size; k++)
	{
		f->node[start + k] = (RfTreeNode) {0, NAN, (int32) (start + k), 0};
		f->leaf[start + k] = 0;
	}
	pfree(slot);
	pfree(depth);
}

/*
 * Blocks of rows small enough to stay in the first-level cache while every
 * tree walks them, four rows in lockstep (as XGBoost's own predictor blocks
 * its rows).  Each row's outputs still add up its trees in tree order.
 */
#define FOREST_BLOCK_ROWS 64

void
ForestRows(const RfForest *f, const float *x, int rows, float *out)
{
	int			nin = f->nin;

	memset(out, 0, sizeof(float) * rows * f->nout);
	for (int b = 0; b < rows; b += FOREST_BLOCK_ROWS)
	{
		int			n = Min(FOREST_BLOCK_ROWS, rows - b);
		const float *xb = x + (Size) b * nin;
		float	   *ob = out + (Size) b * f->nout;

		for (int t = 0; t < f->ntrees; t++)
		{
			int32		root = f->root[t];
			int			depth = f->depth[t];
			float	   *o = ob + f->output[t];
			int			i = 0;

			for (; i + 4 <= n; i += 4)
			{
				int32		p = root,
							q = root,
							r = root,
							s = root;

				for (int d = 0; d < depth; d++)
				{
					p = TreeStep(f->node, p, xb + (Size) i * nin);
					q = TreeStep(f->node, q, xb + (Size) (i + 1) * nin);
					r = TreeStep(f->node, r, xb + (Size) (i + 2) * nin);
					s = TreeStep(f->node, s, xb + (Size) (i + 3) * nin);
				}
				o[(Size) i * f->nout] += f->leaf[p];
				o[(Size) (i + 1) * f->nout] += f->leaf[q];
				o[(Size) (i + 2) * f->nout] += f->leaf[r];
				o[(Size) (i + 3) * f->nout] += f->leaf[s];
			}
			for (; i < n; i++)
			{
				int32		p = root;

				for (int d = 0; d < depth; d++)
					p = TreeStep(f->node, p, xb + (Size) i * nin);
				o[(Size) i * f->nout] += f->leaf[p];
			}
		}
	}
}

/*
 * Every tree's nodes must lie within the node block, every split name a
 * feature, and every child come after its parent within its tree.
 */
void
ForestCompile(RfForest *f, const char *model, int32 version)
{
	RfMapped   *map;

	if (!f->index_set || !f->nodes_set)
		SpecCorrupt("block \"%s\" is missing", f->index_set ? "trees.nodes" : "trees.index");
	f->node = RfAllocLarge(sizeof(RfTreeNode) * Max(f->nnodes, 1), &map);
	f->leaf = RfAllocLarge(sizeof(float) * Max(f->nnodes, 1), &map);
	f->depth = palloc(sizeof(int32) * Max(f->ntrees, 1));
	f->root = palloc(sizeof(int32) * Max(f->ntrees, 1));
	f->output = palloc(sizeof(int32) * Max(f->ntrees, 1));
	for (int t = 0; t < f->ntrees; t++)
	{
		const double *ti = f->index + (Size) t * RF_FOREST_TREE_COLS;

		if (!IntIn(ti[0], 0, f->nout - 1) || !IntIn(ti[1], 0, f->nnodes - 1) ||
			!IntIn(ti[2], 1, f->nnodes - ti[1]))
			ForestCorrupt(model, version, "trees.index", t);
		f->output[t] = (int32) ti[0];
		f->root[t] = (int32) ti[1];
		CompileTree(f, t, (int64) ti[1], (int64) ti[2], model, version);
	}
}

/* ---------- XGBoost's JSON model ---------- */

/* A float as a JSON number XGBoost reads as one (never as an integer). */
static void
AppendFloat(StringInfo buf, double v)
{
	int			start = buf->len;

	/* nine significant digits round-trip a float */
	appendStringInfo(buf, "%.9g", v);
	if (strpbrk(buf->data + start, ".e") == NULL)
		appendStringInfoString(buf, ".0");
}

/*
 * Field k of XGBoost's tree arrays (TreeJson's fields) for node nd: its
 * children, parent, split feature and condition (a leaf's value), default
 * direction, split type, weight, gain and hessian sum.
 */
static void
NodeFieldJson(StringInfo buf, int k, const double *nd, int32 parent)
{
	bool		leaf = nd[0] < 0;

	switch (k)
	{
		case 0:
		case 1:
			appendStringInfo(buf, "%d", (int) nd[2 + k]);
			break;
		case 2:
			appendStringInfo(buf, "%d", parent);
			break;
		case 3:
			appendStringInfo(buf, "%d", leaf ? 0 : (int) nd[0]);
			break;
		case 4:
			AppendFloat(buf, leaf ? nd[5] : nd[1]);
			break;
		case 5:
			appendStringInfo(buf, "%d", (int) nd[4]);
			break;
		case 6:
			appendStringInfoChar(buf, '0');
			break;
		case 7:
			AppendFloat(buf, leaf ? nd[5] : 0);
			break;
		case 8:
			AppendFloat(buf, nd[6]);
			break;
		default:
			AppendFloat(buf, nd[7]);
			break;
	}
}

/* One tree in XGBoost 1.7's JSON layout. */
static void
TreeJson(const RfForest *f, int t, StringInfo buf)
{
	const double *ti = f->index + (Size) t * RF_FOREST_TREE_COLS;
	int64		start = (int64) ti[1];
	int			size = (int) ti[2];
	const char *fields[] = {"left_children", "right_children", "parents", "split_indices",
	"split_conditions", "default_left", "split_type", "base_weights", "loss_changes", "sum_hessian"};
	int32	   *parent = palloc(sizeof(int32) * size);

	parent[0] = INT32_MAX;
	for (int j = 0; j < size; j++)
	{
		const double *nd = f->nodes + (Size) (start + j) * RF_FOREST_NODE_COLS;

		if (nd[0] >= 0)
			parent[(int) nd[2]] = parent[(int) nd[3]] = j;
	}
	appendStringInfo(buf, "{\"id\": %d, \"tree_param\": {\"num_deleted\": \"0\", \"num_feature\": \"%d\", "
					 "\"num_nodes\": \"%d\", \"size_leaf_vector\": \"0\"}, \"categories\": [], "
					 "\"categories_nodes\": [], \"categories_segments\": [], \"categories_sizes\": []",
					 t, f->nin, size);
	for (int k = 0; k < lengthof(fields); k++)
	{
		appendStringInfo(buf, ", \"%s\": [", fields[k]);
		for (int j = 0; j < size; j++)
		{
			const double *nd = f->nodes + (Size) (start + j) * RF_FOREST_NODE_COLS;

			if (j)
				appendStringInfoChar(buf, ',');
			NodeFieldJson(buf, k, nd, parent[j]);
		}
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoChar(buf, '}');
	pfree(parent);
}

/*
 * The forest as XGBoost's JSON model (the format of
 * Booster.save_model("m.json") in XGBoost 1.7), which
 * xgboost.Booster().load_model() reads.  base_score is in the objective's
 * units (a probability for binary:logistic).
 */
void
ForestToXGBoostJson(const RfForest *f, const char *objective, int num_class, int num_target,
					double base_score, char **names, const char **types, StringInfo buf)
{
	appendStringInfoString(buf, "{\"version\": [1, 7, 4], \"learner\": {\"attributes\": {}, \"feature_names\": [");
	for (int j = 0; j < f->nin; j++)
	{
		if (j)
			appendStringInfoString(buf, ", ");
		JsonAppendString(buf, names[j]);
	}
	appendStringInfoString(buf, "], \"feature_types\": [");
	for (int j = 0; j < f->nin; j++)
		appendStringInfo(buf, j ? ", \"%s\"" : "\"%s\"", types[j]);
	appendStringInfoString(buf, "], \"gradient_booster\": {\"name\": \"gbtree\", \"model\": {\"gbtree_model_param\": ");
	appendStringInfo(buf, "{\"num_parallel_tree\": \"1\", \"num_trees\": \"%d\", \"size_leaf_vector\": \"0\"}, "
					 "\"tree_info\": [", f->ntrees);
	for (int t = 0; t < f->ntrees; t++)
		appendStringInfo(buf, t ? ",%d" : "%d", (int) f->index[(Size) t * RF_FOREST_TREE_COLS]);
	appendStringInfoString(buf, "], \"trees\": [");
	for (int t = 0; t < f->ntrees; t++)
	{
		if (t)
			appendStringInfoString(buf, ", ");
		TreeJson(f, t, buf);
		CHECK_FOR_INTERRUPTS();
	}
	appendStringInfoString(buf, "]}}, \"learner_model_param\": {\"base_score\": \"");
	AppendFloat(buf, base_score);
	appendStringInfo(buf, "\", \"boost_from_average\": \"1\", \"num_class\": \"%d\", \"num_feature\": \"%d\", "
					 "\"num_target\": \"%d\"}, \"objective\": {\"name\": \"%s\"",
					 num_class > 1 ? num_class : 0, f->nin, num_target, objective);
	if (strncmp(objective, "multi:", 6) == 0)
		appendStringInfo(buf, ", \"softmax_multiclass_param\": {\"num_class\": \"%d\"}", num_class);
	else
		appendStringInfoString(buf, ", \"reg_loss_param\": {\"scale_pos_weight\": \"1\"}");
	appendStringInfoString(buf, "}}}");
}

/* ---------- TreeSHAP ---------- */

/*
 * Exact Shapley values of one tree's output (Lundberg, Erion and Lee,
 * "Consistent individualized feature attribution for tree ensembles",
 * 2018, Algorithm 2), over the stored nodes: the covers weigh the branches
 * a row does not take.  A path element is a feature split on, with the
 * share of training rows (zero) and of this row (one) that go its way.
 */
typedef struct ShapPath
{
	int			feature;
	double		zero;
	double		one;
	double		weight;
} ShapPath;

static void
ShapExtend(ShapPath *path, int depth, double zero, double one, int feature)
{
	path[depth].feature = feature;
	path[depth].zero = zero;
	path[depth].one = one;
	path[depth].weight = depth == 0 ? 1.0 : 0.0;
	for (int i = depth - 1; i >= 0; i--)
	{
		path[i + 1].weight += one * path[i].weight * (i + 1) / (double) (depth + 1);
		path[i].weight = zero * path[i].weight * (depth - i) / (double) (depth + 1);
	}
}

static void
ShapUnwind(ShapPath *path, int depth, int index)
{
	double		one = path[index].one;
	double		zero = path[index].zero;
	double		next = path[depth].weight;

	for (int i = depth - 1; i >= 0; i--)
	{
		if (one != 0)
		{
			double		tmp = path[i].weight;

			path[i].weight = next * (depth + 1) / ((i + 1) * one);
			next = tmp - path[i].weight * zero * (depth - i) / (double) (depth + 1);
		}
		else
			path[i].weight = path[i].weight * (depth + 1) / (zero * (depth - i));
	}
	for (int i = index; i < depth; i++)
	{
		path[i].feature = path[i + 1].feature;
		path[i].zero = path[i + 1].zero;
		path[i].one = path[i + 1].one;
	}
}

/* The total weight of the path with element index unwound. */
static double
ShapUnwoundSum(const ShapPath *path, int depth, int index)
{
	double		one = path[index].one;
	double		zero = path[index].zero;
	double		next = path[depth].weight;
	double		total = 0;

	for (int i = depth - 1; i >= 0; i--)
	{
		if (one != 0)
		{
			double		tmp = next * (depth + 1) / ((i + 1) * one);

			total += tmp;
			next = path[i].weight - tmp * zero * (depth - i) / (double) (depth + 1);
		}
		else if (zero != 0)
			total += path[i].weight / zero / ((depth - i) / (double) (depth + 1));
	}
	return total;
}

typedef struct ShapTree
{
	const double *nodes;		/* the tree's stored rows */
	const float *x;
	double	   *phi;
} ShapTree;

#define SHAP_NODE(s, j) ((s)->nodes + (Size) (j) * RF_FOREST_NODE_COLS)

static void
ShapRecurse(ShapTree *s, int j, ShapPath *parent, int depth, double zero, double one, int feature)
{
	const double *nd = SHAP_NODE(s, j);
	ShapPath   *path = parent + depth + 1;
	int			hot;
	int			cold;
	int			k;
	double		izero = 1;
	double		ione = 1;

	CHECK_FOR_INTERRUPTS();
	memcpy(path, parent, sizeof(ShapPath) * (depth + 1));
	ShapExtend(path, depth, zero, one, feature);
	if (nd[0] < 0)
	{
		for (int i = 1; i <= depth; i++)
			s->phi[path[i].feature] += ShapUnwoundSum(path, depth, i) *
				(path[i].one - path[i].zero) * nd[5];
		return;
	}
	{
		float		v = s->x[(int) nd[0]];
		bool		left = isnan(v) ? nd[4] == 1 : v < (float) nd[1];

		hot = (int) (left ? nd[2] : nd[3]);
		cold = (int) (left ? nd[3] : nd[2]);
	}
	for (k = 0; k <= depth; k++)
		if (path[k].feature == (int) nd[0])
			break;
	if (k <= depth)
	{
		izero = path[k].zero;
		ione = path[k].one;
		ShapUnwind(path, depth, k);
		depth--;
	}
	if (nd[7] <= 0)
		return;					/* no training rows: no weight to share */
	ShapRecurse(s, hot, path, depth + 1, SHAP_NODE(s, hot)[7] / nd[7] * izero, ione, (int) nd[0]);
	ShapRecurse(s, cold, path, depth + 1, SHAP_NODE(s, cold)[7] / nd[7] * izero, 0, (int) nd[0]);
}

/* The cover-weighted mean of a subtree's leaves: the tree's expected value at its root. */
static double
ShapMean(const ShapTree *s, int j)
{
	const double *nd = SHAP_NODE(s, j);
	double		l;
	double		r;

	if (nd[0] < 0)
		return nd[5];
	l = SHAP_NODE(s, (int) nd[2])[7];
	r = SHAP_NODE(s, (int) nd[3])[7];
	if (l + r <= 0)
		return 0.5 * (ShapMean(s, (int) nd[2]) + ShapMean(s, (int) nd[3]));
	return (ShapMean(s, (int) nd[2]) * l + ShapMean(s, (int) nd[3]) * r) / (l + r);
}

/*
 * SHAP values of output `output` for one row (x: nin floats): phi (nin)
 * receives each input's contribution, *base the forest's expected output;
 * base + sum(phi) is the row's output.
 */
void
ForestShap(const RfForest *f, const float *x, int output, double *phi, double *base)
{
	int			maxdepth = 0;
	ShapPath   *paths;

	for (int t = 0; t < f->ntrees; t++)
		maxdepth = Max(maxdepth, f->depth[t]);
	paths = palloc0(sizeof(ShapPath) * (maxdepth + 2) * (maxdepth + 3) / 2);
	memset(phi, 0, sizeof(double) * f->nin);
	*base = 0;
	for (int t = 0; t < f->ntrees; t++)
	{
		const double *ti = f->index + (Size) t * RF_FOREST_TREE_COLS;
		ShapTree	s;

		if ((int) ti[0] != output)
			continue;
		s.nodes = f->nodes + (Size) ti[1] * RF_FOREST_NODE_COLS;
		s.x = x;
		s.phi = phi;
		*base += ShapMean(&s, 0);
		/* the root's element (feature -1) is a placeholder that is never credited */
		ShapRecurse(&s, 0, paths, 0, 1, 1, -1);
	}
	pfree(paths);
}
