/*
 * score.c
 *		Scoring functions: score, predict, and model registry helpers.
 *
 * Each call site keeps a ScoreState in fn_extra: the model (pinned for the
 * query, so it is loaded once and never changes under a running query), the
 * mapping from the row type's columns to the encoder's inputs, and scratch
 * buffers.  Per row, scoring only encodes and runs the network.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/fmgroids.h"
#include "utils/typcache.h"

#include "reframe.h"
#include "jsonutil.h"
#include "store.h"

typedef struct ScoreState
{
	text	   *name;			/* model name of the cached model */
	RfModel    *model;
	Oid			argtype;		/* float8[], float4[] or a row type */

	/* row arguments: layout of the last row type seen */
	Oid			rowtype;
	int32		rowtypmod;
	int			natts;
	int		   *attno;			/* per encoder column: 0-based attribute */
	Oid		   *atttype;		/* per encoder column: base type */
	Datum	   *values;
	bool	   *isnull;

	double	   *raw;			/* nraw */
	double	   *enc;			/* encoded width */
	double	   *out;			/* outputs of every head */
	double	   *scratch;		/* the family's row scratch */

	/* a blend: one state per term, and the head and class each term scores */
	struct ScoreState **terms;
	RfHead	  **term_head;
	int		   *term_class;
} ScoreState;

static RfHead *ScoreOutputNamed(ScoreState *st, const char *output, int *cls);
static ArrayType *LabelSet(const RfHead *head, const double *p, double threshold, int top_k,
						   bool at_least_one);

/* ---------- model lookup ---------- */

/*
 * A scoring state for the model (or blend) called name, pinned for as long
 * as fn_mcxt lives: its deployed version, or the one "name@version" names.
 * argtype is the type of the features argument.
 */
static ScoreState *
ScoreStateFor(text *name, Oid argtype, MemoryContext fn_mcxt, bool allow_blend)
{
	int32		version;
	text	   *model = StoreSplitVersion(name, &version);
	Oid			relid = StoreReadableModelRelid(model);
	MemoryContext old;
	ScoreState *st;
	RfModel    *m;

	m = StoreGetModel(relid, text_to_cstring(model), version, fn_mcxt);
	if (m->nterms > 0 && !allow_blend)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is a blend, and a blend cannot be part of a blend", m->name)));

	old = MemoryContextSwitchTo(fn_mcxt);
	st = palloc0(sizeof(ScoreState));
	st->name = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(name));
	st->model = m;
	st->argtype = argtype;
	if (m->nterms > 0)
	{
		st->terms = palloc(sizeof(ScoreState *) * m->nterms);
		st->term_head = palloc(sizeof(RfHead *) * m->nterms);
		st->term_class = palloc(sizeof(int) * m->nterms);
		for (int i = 0; i < m->nterms; i++)
		{
			st->terms[i] = ScoreStateFor(cstring_to_text(m->terms[i].model), argtype, fn_mcxt, false);
			st->term_head[i] = ScoreOutputNamed(st->terms[i], m->terms[i].output, &st->term_class[i]);
		}
	}
	else
	{
		st->raw = palloc(sizeof(double) * Max(m->enc->nraw, 1));
		st->enc = palloc(sizeof(double) * Max(m->enc->width, 1));
		st->out = palloc(sizeof(double) * Max(m->net->nout, 1));
		st->scratch = palloc(sizeof(double) * Max(m->net->family->row_scratch(m->net), 1));
		st->attno = palloc(sizeof(int) * Max(m->enc->ncols, 1));
		st->atttype = palloc(sizeof(Oid) * Max(m->enc->ncols, 1));
	}
	MemoryContextSwitchTo(old);
	return st;
}

static ScoreState *
ScoreGetState(FunctionCallInfo fcinfo)
{
	ScoreState *st = (ScoreState *) fcinfo->flinfo->fn_extra;
	text	   *name;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL")));
	name = PG_GETARG_TEXT_PP(0);
	if (st && VARSIZE_ANY_EXHDR(name) == VARSIZE_ANY_EXHDR(st->name) &&
		memcmp(VARDATA_ANY(name), VARDATA_ANY(st->name), VARSIZE_ANY_EXHDR(name)) == 0)
		return st;
	st = ScoreStateFor(name, get_fn_expr_argtype(fcinfo->flinfo, 1), fcinfo->flinfo->fn_mcxt, true);
	fcinfo->flinfo->fn_extra = st;
	return st;
}

/* A trained model, not a blend, for the functions that need its heads. */
static ScoreState *
ScoreGetModelState(FunctionCallInfo fcinfo, const char *what)
{
	ScoreState *st = ScoreGetState(fcinfo);

	if (st->model->nterms > 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s: \"%s\" is a blend, which only reframe.score can use", what, st->model->name)));
	return st;
}

/* ---------- features ---------- */

static void ReadArrayFeatures(ScoreState *st, ArrayType *arr);
static void ReadRowFeatures(ScoreState *st, HeapTupleHeader row);
static RfHead *ScoreOutput(FunctionCallInfo fcinfo, ScoreState *st, int argno, int *cls);

/* The array types the features may come as (the SQL overloads). */
static bool
IsFeatureArray(Oid argtype)
{
	return argtype == FLOAT8ARRAYOID || argtype == FLOAT4ARRAYOID || argtype == INT4ARRAYOID ||
		argtype == INT8ARRAYOID || argtype == NUMERICARRAYOID;
}

static void
CheckFinite(RfModel *m, double v, int pos)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("features for model \"%s\" contain NaN or Infinity at position %d",
						m->name, pos)));
}

/* Reads a float8[]/float4[] feature vector into st->raw. */
static void
ReadArrayFeatures(ScoreState *st, ArrayType *arr)
{
	RfModel    *m = st->model;
	int			n;

	if (m->enc->has_category)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model \"%s\" has categorical features and cannot score an array", m->name),
				 errhint("Pass a row whose columns are named as at training time.")));
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features for model \"%s\" must be a one-dimensional array", m->name)));
	n = ARR_NDIM(arr) == 0 ? 0 : ARR_DIMS(arr)[0];
	if (n != m->enc->nraw)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" expects %d features, got %d", m->name, m->enc->nraw, n)));
	if (ARR_HASNULL(arr) && array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("features for model \"%s\" must not contain NULL", m->name),
				 errhint("Pass a row instead to have NULL columns imputed.")));
	{
		double	   *restrict out = st->raw;

		if (ARR_ELEMTYPE(arr) == FLOAT8OID)
			memcpy(out, ARR_DATA_PTR(arr), sizeof(double) * n);
		else if (ARR_ELEMTYPE(arr) == FLOAT4OID)
		{
			const float4 *x = (const float4 *) ARR_DATA_PTR(arr);

			for (int i = 0; i < n; i++)
				out[i] = x[i];
		}
		else
		{
			/* integer[], bigint[], numeric[]: element by element */
			Datum	   *d;
			int16		typlen;
			bool		typbyval;
			char		typalign;
			int			nd;

			get_typlenbyvalalign(ARR_ELEMTYPE(arr), &typlen, &typbyval, &typalign);
			deconstruct_array(arr, ARR_ELEMTYPE(arr), typlen, typbyval, typalign, &d, NULL, &nd);
			for (int i = 0; i < n; i++)
				out[i] = ReframeDatumToDouble(d[i], ARR_ELEMTYPE(arr));
			pfree(d);
		}
		if (!ReframeAllFinite(out, n))
			for (int i = 0; i < n; i++)
				CheckFinite(m, out[i], i + 1);
	}
}

/* Maps the model's feature columns onto a row type, once per type. */
static void
MapRowType(ScoreState *st, HeapTupleHeader row)
{
	Oid			typid = HeapTupleHeaderGetTypeId(row);
	int32		typmod = HeapTupleHeaderGetTypMod(row);
	TupleDesc	td;

	if (st->values && typid == st->rowtype && typmod == st->rowtypmod)
		return;
	td = lookup_rowtype_tupdesc(typid, typmod);
	EncoderMapColumns(st->model->enc, td, st->attno, st->atttype, st->model->name);
	st->natts = td->natts;
	st->values = MemoryContextAlloc(GetMemoryChunkContext(st), sizeof(Datum) * Max(td->natts, 1));
	st->isnull = MemoryContextAlloc(GetMemoryChunkContext(st), sizeof(bool) * Max(td->natts, 1));
	st->rowtype = typid;
	st->rowtypmod = typmod;
	ReleaseTupleDesc(td);
}

/* Reads a row's feature columns into st->raw (NaN: missing). */
static void
ReadRowFeatures(ScoreState *st, HeapTupleHeader row)
{
	HeapTupleData tuple;
	TupleDesc	td;

	MapRowType(st, row);
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	td = lookup_rowtype_tupdesc(st->rowtype, st->rowtypmod);
	heap_deform_tuple(&tuple, td, st->values, st->isnull);
	ReleaseTupleDesc(td);
	EncoderReadColumns(st->model->enc, st->attno, st->atttype, st->values, st->isnull,
					   st->raw, st->model->name);
}

/* The most probable path of a hierarchy, finest class first in path[L - 1]. */
static void
BestPath(const RfTrunk *net, const double *out, int *path)
{
	int			L = net->nheads;
	const RfHead *leaf = &net->heads[L - 1];
	int			best = 0;

	for (int k = 1; k < leaf->nout; k++)
		if (out[leaf->offset + k] > out[leaf->offset + best])
			best = k;
	path[L - 1] = best;
	for (int h = L - 1; h > 0; h--)
		path[h - 1] = net->heads[h].parent_of[path[h]];
}

static bool
IsHierarchy(const RfTrunk *net)
{
	return net->nheads > 1 && net->heads[net->nheads - 1].parent_of != NULL;
}

/*
 * The rule for a row whose finite features drive a raw output beyond double
 * precision (a value such as 1e308 in a linear model): an error, never an
 * infinite or NaN score.
 */
static void
CheckOutputs(ScoreState *st)
{
	RfModel    *m = st->model;

	for (int o = 0; o < m->net->nout; o++)
		if (!isfinite(st->out[o]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("model \"%s\" cannot score these features: an output is beyond the range of double precision",
							m->name),
					 errhint("A feature lies far outside the values the model was trained on.")));
}

/*
 * The hot path, a linear model over a float8[] without NULLs: dot products
 * straight from the array, linked.  A NaN or infinite input makes the
 * output non-finite, and only then are the inputs examined.  Returns false,
 * having done nothing, for any other array.
 */
static bool
ScoreLinearArray(ScoreState *st, ArrayType *arr)
{
	RfModel    *m = st->model;
	int			n = m->enc->nraw;
	const double *x = (const double *) ARR_DATA_PTR(arr);
	bool		finite = true;

	if (ARR_NDIM(arr) != 1 || ARR_DIMS(arr)[0] != n || ARR_HASNULL(arr))
		return false;
	for (int o = 0; o < m->net->nout; o++)
	{
		st->out[o] = ReframeDot(m->lin_w + (int64) o * n, x, n) + m->lin_b[o];
		finite &= isfinite(st->out[o]);
	}
	if (!finite)
	{
		ReadArrayFeatures(st, arr); /* reports the bad input */
		CheckOutputs(st);
	}
	HeadsLink(m->net->heads, m->net->nheads, st->out);
	return true;
}

/* Computes every head's outputs (after links) for the features argument. */
static void
ScoreFeatures(FunctionCallInfo fcinfo, ScoreState *st)
{
	RfModel    *m = st->model;
	bool		missing = false;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("features for model \"%s\" must not be NULL", m->name)));
	if (st->argtype == FLOAT8ARRAYOID && m->linear)
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);

		if (ScoreLinearArray(st, arr))
			return;
		ReadArrayFeatures(st, arr);
	}
	else if (IsFeatureArray(st->argtype))
		ReadArrayFeatures(st, PG_GETARG_ARRAYTYPE_P(1));
	else
	{
		ReadRowFeatures(st, PG_GETARG_HEAPTUPLEHEADER(1));
		for (int r = 0; r < m->enc->nraw && !missing; r++)
			missing = isnan(st->raw[r]);
	}

	if (m->linear && !missing)
	{
		int			n = m->enc->nraw;

		for (int o = 0; o < m->net->nout; o++)
			st->out[o] = ReframeDot(m->lin_w + (int64) o * n, st->raw, n) + m->lin_b[o];
	}
	else
	{
		EncoderEncodeRaw(m->enc, st->raw, st->enc);
		TrunkForwardRow(m->net, st->enc, st->out, st->scratch);
	}
	CheckOutputs(st);
	HeadsLink(m->net->heads, m->net->nheads, st->out);
}

/*
 * What an output argument names: a head (by its target name), or a class
 * or label of one.  *cls is the class's index, or -1 for the head itself.
 */
static RfHead *
ScoreOutputNamed(ScoreState *st, const char *output, int *cls)
{
	RfTrunk    *net = st->model->net;
	StringInfoData names;

	*cls = -1;
	/* one rule: without an output, a model must have one (a hierarchy: its leaves) */
	if (output == NULL && IsHierarchy(net))
		return &net->heads[net->nheads - 1];
	if (output == NULL && net->nheads > 1)
	{
		initStringInfo(&names);
		for (int h = 0; h < net->nheads; h++)
			appendStringInfo(&names, "%s\"%s\"", h ? ", " : "", net->heads[h].name);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" has %d heads: name the one to use with output", st->model->name, net->nheads),
				 errhint("Its heads are %s; reframe.predict_all gives every head at once.", names.data)));
	}
	if (output == NULL)
		return &net->heads[0];
	for (int h = 0; h < net->nheads; h++)
		if (strcmp(net->heads[h].name, output) == 0)
			return &net->heads[h];
	for (int h = 0; h < net->nheads; h++)
		for (int k = 0; k < net->heads[h].nclasses; k++)
			if (strcmp(net->heads[h].classes[k], output) == 0)
			{
				*cls = k;
				return &net->heads[h];
			}
	initStringInfo(&names);
	for (int h = 0; h < net->nheads; h++)
	{
		appendStringInfo(&names, "%s\"%s\"", h ? ", " : "", net->heads[h].name);
		for (int k = 0; k < net->heads[h].nclasses && k < 10; k++)
			appendStringInfo(&names, ", \"%s\"", net->heads[h].classes[k]);
		if (net->heads[h].nclasses > 10)
			appendStringInfo(&names, " and %d more classes", net->heads[h].nclasses - 10);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("model \"%s\" has no output \"%s\"", st->model->name, output),
			 errhint("Outputs are the target and its classes: %s.", names.data)));
	return NULL;
}

/*
 * For reframe.explain: the deployed model of argument 0, the encoded
 * features of argument 1, and the raw output that argument 2 names (a
 * head with one output, or a class or label of a head).
 */
RfModel *
ScoreEncodedRow(FunctionCallInfo fcinfo, const double **x, int *output, char **output_name)
{
	ScoreState *st = ScoreGetModelState(fcinfo, "reframe.explain");
	RfModel    *m = st->model;
	RfHead	   *head;
	int			cls;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("features for model \"%s\" must not be NULL", m->name)));
	if (IsFeatureArray(st->argtype))
		ReadArrayFeatures(st, PG_GETARG_ARRAYTYPE_P(1));
	else
		ReadRowFeatures(st, PG_GETARG_HEAPTUPLEHEADER(1));
	EncoderEncodeRaw(m->enc, st->raw, st->enc);
	head = PG_ARGISNULL(2) ? &m->net->heads[0] : ScoreOutput(fcinfo, st, 2, &cls);
	if (PG_ARGISNULL(2))
		cls = -1;
	if (cls < 0 && head->nout > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\": output \"%s\" has %d outputs; name one of them to explain",
						m->name, head->name, head->nout),
				 errhint("Pass output => '%s' (one of reframe.classes('%s', '%s')).",
						 head->nclasses > 0 ? head->classes[0] : "", m->name, head->name)));
	*x = st->enc;
	*output = head->offset + Max(cls, 0);
	*output_name = cls >= 0 && head->nclasses > cls ? head->classes[cls] : head->name;
	return m;
}

/* ScoreOutputNamed for argument argno, NULL (or absent) naming the default head. */
static RfHead *
ScoreOutput(FunctionCallInfo fcinfo, ScoreState *st, int argno, int *cls)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return ScoreOutputNamed(st, NULL, cls);
	return ScoreOutputNamed(st, text_to_cstring(PG_GETARG_TEXT_PP(argno)), cls);
}

/* The probability of class k of a classification head, from its outputs. */
static double
ClassProbability(const RfHead *head, const double *p, int k)
{
	if (head->kind == RF_HEAD_BINARY)
		return k == 1 ? p[0] : 1.0 - p[0];
	return p[k];
}


/*
 * The score of a head from its linked outputs p: a class's probability, a
 * bucketed target's expected value, a binary probability or a value.
 */
static double
ScoreValue(ScoreState *st, RfHead *head, int cls, const double *p)
{
	double		e = 0;

	if (cls >= 0)
		return ClassProbability(head, p, cls);
	if (head->bin_values)
	{
		for (int k = 0; k < head->nout; k++)
			e += p[k] * head->bin_values[k];
		return e;
	}
	if (head->kind == RF_HEAD_MULTILABEL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" is multilabel: name the label to score", st->model->name),
				 errhint("For example reframe.score('%s', features, '%s'); reframe.predict_labels gives the label set.",
						 st->model->name, head->classes[0])));
	if (head->kind == RF_HEAD_MULTICLASS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" is multiclass: name the class to score", st->model->name),
				 errhint("For example reframe.score('%s', features, '%s'); reframe.predict gives the most likely class.",
						 st->model->name, head->classes[0])));
	return p[0];
}

/* reframe.score: a regression value, a probability, an expected value, or a blend of them. */
PG_FUNCTION_INFO_V1(reframe_score);
Datum
reframe_score(PG_FUNCTION_ARGS)
{
	ScoreState *st = ScoreGetState(fcinfo);
	RfModel    *m = st->model;
	int			cls;
	RfHead	   *head;
	double		total = 0;

	if (m->nterms == 0)
	{
		head = ScoreOutput(fcinfo, st, 2, &cls);
		ScoreFeatures(fcinfo, st);
		PG_RETURN_FLOAT8(ScoreValue(st, head, cls, st->out + head->offset));
	}
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("blend \"%s\" has a single output", m->name),
				 errhint("Leave the output NULL; the blend's weights name its components' outputs.")));
	for (int i = 0; i < m->nterms; i++)
	{
		ScoreState *t = st->terms[i];
		RfHead	   *th = st->term_head[i];

		ScoreFeatures(fcinfo, t);
		total += m->terms[i].weight * ScoreValue(t, th, st->term_class[i], t->out + th->offset);
	}
	PG_RETURN_FLOAT8(total);
}

/* reframe.predict: the predicted value or class, as text. */
PG_FUNCTION_INFO_V1(reframe_predict);
Datum
reframe_predict(PG_FUNCTION_ARGS)
{
	ScoreState *st = ScoreGetModelState(fcinfo, "predict");
	int			cls;
	RfHead	   *head = ScoreOutput(fcinfo, st, 2, &cls);
	double	   *p;

	ScoreFeatures(fcinfo, st);
	p = st->out + head->offset;
	if (head->kind == RF_HEAD_REGRESSION)
		PG_RETURN_TEXT_P(cstring_to_text(float8out_internal(p[0])));
	if (head->kind == RF_HEAD_MULTILABEL)
	{
		/* the label set, written as a text[] literal */
		ArrayType  *labels = LabelSet(head, p, get_float8_nan(), 0, false);

		PG_RETURN_TEXT_P(cstring_to_text(OidOutputFunctionCall(F_ARRAY_OUT, PointerGetDatum(labels))));
	}
	PG_RETURN_TEXT_P(cstring_to_text(head->classes[HeadPredictedClass(head, p)]));
}

typedef struct LabelProb
{
	int			k;
	double		p;
} LabelProb;

static int
LabelProbDesc(const void *a, const void *b)
{
	const LabelProb *x = a;
	const LabelProb *y = b;

	if (x->p != y->p)
		return x->p > y->p ? -1 : 1;
	return x->k - y->k;
}

/*
 * The labels of a multilabel head at or above a threshold (NaN: each label's
 * stored one), or its top_k labels, most probable first; at_least_one keeps
 * the most probable label when none passes.
 */
static ArrayType *
LabelSet(const RfHead *head, const double *p, double threshold, int top_k, bool at_least_one)
{
	LabelProb  *lp = palloc(sizeof(LabelProb) * head->nout);
	Datum	   *d = palloc(sizeof(Datum) * head->nout);
	int			n = 0;

	for (int k = 0; k < head->nout; k++)
	{
		lp[k].k = k;
		lp[k].p = p[k];
	}
	qsort(lp, head->nout, sizeof(LabelProb), LabelProbDesc);
	for (int i = 0; i < head->nout; i++)
	{
		bool		take = top_k > 0 ? i < top_k :
			lp[i].p >= (isnan(threshold) ? HeadThreshold(head, lp[i].k) : threshold);

		if (take || (at_least_one && i == 0))
			d[n++] = CStringGetTextDatum(head->classes[lp[i].k]);
	}
	return construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT);
}

static RfHead *
ClassificationHead(ScoreState *st, RfHead *head, const char *what)
{
	if (head->kind == RF_HEAD_REGRESSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: output \"%s\" of model \"%s\" is a regression, not classes",
						what, head->name, st->model->name),
				 errhint("Use reframe.score or reframe.predict for its value.")));
	return head;
}

/* reframe.predict_proba: class probabilities in the order of reframe.classes. */
PG_FUNCTION_INFO_V1(reframe_predict_proba);
Datum
reframe_predict_proba(PG_FUNCTION_ARGS)
{
	ScoreState *st = ScoreGetModelState(fcinfo, "predict_proba");
	int			cls;
	RfHead	   *head = ClassificationHead(st, ScoreOutput(fcinfo, st, 2, &cls), "predict_proba");
	double	   *p;
	double		two[2];

	ScoreFeatures(fcinfo, st);
	p = st->out + head->offset;
	if (head->kind == RF_HEAD_BINARY)
	{
		two[0] = 1.0 - p[0];
		two[1] = p[0];
		PG_RETURN_ARRAYTYPE_P(ReframeFloat8Array(two, 2));
	}
	PG_RETURN_ARRAYTYPE_P(ReframeFloat8Array(p, head->nout));
}

/* The multilabel head predict_labels answers for: the output named, or the model's only one. */
static RfHead *
LabelsHead(FunctionCallInfo fcinfo, ScoreState *st)
{
	RfHead	   *head = NULL;

	if (PG_NARGS() > 5 && !PG_ARGISNULL(5))
	{
		int			cls;

		head = ScoreOutput(fcinfo, st, 5, &cls);
		if (head->kind != RF_HEAD_MULTILABEL || cls >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("predict_labels: output \"%s\" of model \"%s\" is not a multilabel head",
							text_to_cstring(PG_GETARG_TEXT_PP(5)), st->model->name),
					 errhint("Use reframe.predict for a single class.")));
	}
	else
	{
		/* the model's multilabel head, which must be the only one */
		for (int h = 0; h < st->model->net->nheads; h++)
		{
			RfHead	   *cand = &st->model->net->heads[h];

			if (cand->kind != RF_HEAD_MULTILABEL)
				continue;
			if (head)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("predict_labels: model \"%s\" has several multilabel heads", st->model->name),
						 errhint("Name one with output => '%s' or '%s'.", head->name, cand->name)));
			head = cand;
		}
		if (head == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("predict_labels: model \"%s\" has no multilabel output", st->model->name),
					 errhint("Use reframe.predict for a single class.")));
	}
	return head;
}

/*
 * reframe.predict_labels: a multilabel model's labels, by threshold (its
 * stored one by default) or top_k.
 */
PG_FUNCTION_INFO_V1(reframe_predict_labels);
Datum
reframe_predict_labels(PG_FUNCTION_ARGS)
{
	ScoreState *st = ScoreGetModelState(fcinfo, "predict_labels");
	RfHead	   *head = NULL;
	double		threshold;
	int			top_k = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3);
	bool		at_least_one = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);

	if (IsHierarchy(st->model->net))
	{
		/* a hierarchy's labels are its most probable path, coarse to fine */
		RfTrunk    *net = st->model->net;
		int		   *path = palloc(sizeof(int) * net->nheads);
		Datum	   *d = palloc(sizeof(Datum) * net->nheads);

		ScoreFeatures(fcinfo, st);
		BestPath(net, st->out, path);
		for (int h = 0; h < net->nheads; h++)
			d[h] = CStringGetTextDatum(net->heads[h].classes[path[h]]);
		PG_RETURN_ARRAYTYPE_P(construct_array(d, net->nheads, TEXTOID, -1, false, TYPALIGN_INT));
	}
	head = LabelsHead(fcinfo, st);
	/* NaN: each label at its stored threshold */
	threshold = PG_ARGISNULL(2) ? get_float8_nan() : PG_GETARG_FLOAT8(2);
	if (!PG_ARGISNULL(2) && !(threshold >= 0 && threshold <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("predict_labels: threshold must be between 0 and 1, not %g", threshold)));
	if (!PG_ARGISNULL(3) && top_k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("predict_labels: top_k must be at least 1, not %d", top_k)));
	ScoreFeatures(fcinfo, st);
	PG_RETURN_ARRAYTYPE_P(LabelSet(head, st->out + head->offset, threshold, top_k, at_least_one));
}

/* reframe.predict_all: every head of a model from one pass, as jsonb. */
PG_FUNCTION_INFO_V1(reframe_predict_all);
Datum
reframe_predict_all(PG_FUNCTION_ARGS)
{
	ScoreState *st = ScoreGetModelState(fcinfo, "predict_all");
	RfTrunk    *net = st->model->net;
	StringInfoData buf;
	int		   *path = NULL;

	ScoreFeatures(fcinfo, st);
	if (IsHierarchy(net))
	{
		path = palloc(sizeof(int) * net->nheads);
		BestPath(net, st->out, path);
	}
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int h = 0; h < net->nheads; h++)
	{
		RfHead	   *head = &net->heads[h];
		double	   *p = st->out + head->offset;

		if (h)
			appendStringInfoString(&buf, ", ");
		JsonAppendString(&buf, head->name);
		appendStringInfoString(&buf, ": ");
		if (head->kind == RF_HEAD_REGRESSION)
		{
			JsonAppendNumber(&buf, p[0]);
			continue;
		}
		appendStringInfoChar(&buf, '{');
		if (head->kind != RF_HEAD_MULTILABEL)
		{
			appendStringInfoString(&buf, "\"predicted\": ");
			JsonAppendString(&buf, head->classes[path ? path[h] : HeadPredictedClass(head, p)]);
			appendStringInfoString(&buf, ", ");
		}
		if (head->bin_values)
		{
			appendStringInfoString(&buf, "\"expected\": ");
			JsonAppendNumber(&buf, ScoreValue(st, head, -1, p));
			appendStringInfoString(&buf, ", ");
		}
		appendStringInfoString(&buf, "\"probabilities\": {");
		for (int k = 0; k < head->nclasses; k++)
		{
			if (k)
				appendStringInfoString(&buf, ", ");
			JsonAppendString(&buf, head->classes[k]);
			appendStringInfoString(&buf, ": ");
			JsonAppendNumber(&buf, ClassProbability(head, p, k));
		}
		appendStringInfoString(&buf, "}}");
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_JSONB_P(JsonFromText(buf.data));
}

/* reframe.classes: the classes of a model's output, in predict_proba order. */
PG_FUNCTION_INFO_V1(reframe_classes);
Datum
reframe_classes(PG_FUNCTION_ARGS)
{
	ScoreState *st = ScoreGetModelState(fcinfo, "classes");
	int			cls;
	RfHead	   *head = ClassificationHead(st, ScoreOutput(fcinfo, st, 1, &cls), "classes");
	Datum	   *d = palloc(sizeof(Datum) * Max(head->nclasses, 1));

	for (int k = 0; k < head->nclasses; k++)
		d[k] = CStringGetTextDatum(head->classes[k]);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, head->nclasses, TEXTOID, -1, false, TYPALIGN_INT));
}

/* reframe.model_table: the table of a model, checked to be one. */
PG_FUNCTION_INFO_V1(reframe_model_table);
Datum
reframe_model_table(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(StoreModelRelid(PG_GETARG_TEXT_PP(0), AccessShareLock, false));
}

