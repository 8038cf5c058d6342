/*
 * evaluate_state.c
 *		A model's metrics as one flat state of doubles (evaluate_state.h):
 *		each head's accumulator, viewed as an RfEvalAcc so that rows are
 *		added and parts merged by evaluate.c's own code, with a binary
 *		head's scores as histograms (evaluate.c) instead of kept scores.
 *
 * A configuration or state may come from any caller of the aggregate: it
 * is checked whole before use, and so is every row's cells.
 */
#include "postgres.h"

#include <math.h>

#include "utils/float.h"
#include "utils/memutils.h"

#include "evaluate_state.h"

/* An accumulator's scalars: n, rows, ymean, ym2, then its sums. */
#define ACC_SCALARS (4 + (int) (sizeof(RfEvalSums) / sizeof(double)))
#define MAX_HEADS 64
#define MAX_OUTPUTS 100000

static int
ConfusionOf(const RfHead *head)
{
	return head->kind == RF_HEAD_BINARY ? 2 : head->kind == RF_HEAD_MULTICLASS ? head->nout : 0;
}

/* The doubles of a head's accumulator: scalars, confusion, per-label counts, histograms. */
static int64
AccDoubles(const RfHead *head)
{
	int64		K = ConfusionOf(head);

	return ACC_SCALARS + K * K + (head->kind == RF_HEAD_MULTILABEL ? 3 * (int64) head->nout : 0) +
		(head->kind == RF_HEAD_BINARY ? EVAL_BINS_DOUBLES : 0);
}

/* A binary head's histograms: after its scalars and its 2 x 2 confusion matrix. */
static double *
AccBins(double *a)
{
	return a + ACC_SCALARS + 4;
}

/* Head h's accumulator over the sums, its scalars copied, its arrays the state's. */
static void
AccView(const EvalStateView *v, double *sums, int h, const RfHead *head, RfEvalAcc *acc)
{
	double	   *a = sums + v->acc_at[h];
	double	   *arr = a + ACC_SCALARS;
	int			K = ConfusionOf(head);

	memset(acc, 0, sizeof(*acc));
	acc->head = head;
	acc->n = a[0];
	acc->rows = (int64) a[1];
	acc->ymean = a[2];
	acc->ym2 = a[3];
	memcpy(&acc->sums, a + 4, sizeof(RfEvalSums));
	acc->confusion = K ? arr : NULL;
	if (head->kind == RF_HEAD_MULTILABEL)
	{
		acc->tp = arr;
		acc->fp = arr + head->nout;
		acc->fn = arr + 2 * head->nout;
	}
}

void
EvalStateAcc(const EvalStateView *v, double *sums, int h, const RfHead *head, RfEvalAcc *acc)
{
	AccView(v, sums, h, head, acc);
	if (head->kind == RF_HEAD_BINARY)
		EvalAccFromBins(acc, AccBins(sums + v->acc_at[h]));
}

/* Writes an accumulator's scalars back (its arrays are the state's already). */
static void
AccSave(const RfEvalAcc *acc, double *a)
{
	a[0] = acc->n;
	a[1] = (double) acc->rows;
	a[2] = acc->ymean;
	a[3] = acc->ym2;
	memcpy(a + 4, &acc->sums, sizeof(RfEvalSums));
}

int
EvalRowLayout(const RfHead *heads, int nheads, int *cell_at)
{
	int			at = 2;			/* the status and the weight */

	for (int h = 0; h < nheads; h++)
	{
		cell_at[h] = at;
		at += EvalTargetCells(&heads[h]) + heads[h].nout + (heads[h].kind == RF_HEAD_BINARY);
	}
	return at;
}

bytea *
EvalStateConfig(const RfHead *heads, int nheads)
{
	int			nparams = 0;
	Size		size;
	EvalState  *s;
	EvalStateHead *sh;
	double	   *params;

	for (int h = 0; h < nheads; h++)
		nparams += heads[h].nout * ((heads[h].label_thresholds != NULL) +
									(heads[h].decision_weights != NULL) + (heads[h].bin_values != NULL));
	size = sizeof(EvalState) + sizeof(EvalStateHead) * nheads + sizeof(double) * nparams;
	s = palloc0(size);
	SET_VARSIZE(s, size);
	s->magic = EVAL_STATE_MAGIC;
	s->nheads = nheads;
	s->nparams = nparams;
	sh = (EvalStateHead *) (s + 1);
	params = (double *) (sh + nheads);
	for (int h = 0; h < nheads; h++)
	{
		const RfHead *head = &heads[h];
		const double *arrays[] = {head->label_thresholds, head->decision_weights, head->bin_values};

		sh[h].kind = head->kind;
		sh[h].nout = head->nout;
		sh[h].soft = head->soft;
		sh[h].threshold = head->threshold;
		for (int a = 0; a < lengthof(arrays); a++)
			if (arrays[a])
			{
				sh[h].flags |= 1 << a;
				memcpy(params, arrays[a], sizeof(double) * head->nout);
				params += head->nout;
			}
	}
	return (bytea *) s;
}

static void
StateInvalid(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("reframe.evaluation: %s not one reframe.evaluate made", what)));
}

/* Whether a head of the header is one a model could have. */
static bool
HeadValid(const EvalStateHead *sh)
{
	bool		one = sh->kind == RF_HEAD_REGRESSION || sh->kind == RF_HEAD_BINARY;

	if (sh->kind < RF_HEAD_REGRESSION || sh->kind > RF_HEAD_MULTILABEL || sh->nout < 1 ||
		sh->nout > MAX_OUTPUTS || (one && sh->nout != 1) || (sh->flags & ~7) != 0)
		return false;
	if (sh->soft && sh->kind != RF_HEAD_MULTICLASS)
		return false;
	if ((sh->flags & EVAL_HEAD_LABEL_THRESHOLDS) && sh->kind != RF_HEAD_MULTILABEL)
		return false;
	if ((sh->flags & (EVAL_HEAD_DECISION_WEIGHTS | EVAL_HEAD_BIN_VALUES)) && sh->kind != RF_HEAD_MULTICLASS)
		return false;
	return isfinite(sh->threshold) || sh->kind != RF_HEAD_BINARY;
}

void
EvalStateOpen(const EvalState *s, Size size, EvalStateView *v)
{
	const EvalStateHead *sh = (const EvalStateHead *) (s + 1);
	const double *params;
	int64		nparams = 0;
	int64		nacc = EVAL_STATE_COUNTS;

	if (size < sizeof(EvalState) || s->magic != EVAL_STATE_MAGIC || s->nheads < 1 || s->nheads > MAX_HEADS ||
		s->nparams < 0 || s->nacc < 0 || size < sizeof(EvalState) + sizeof(EvalStateHead) * s->nheads)
		StateInvalid("the state is");
	memset(v, 0, sizeof(*v));
	v->nheads = s->nheads;
	v->heads = palloc0(sizeof(RfHead) * s->nheads);
	v->acc_at = palloc(sizeof(int) * s->nheads);
	v->cell_at = palloc(sizeof(int) * s->nheads);
	params = (const double *) (sh + s->nheads);
	for (int h = 0; h < s->nheads; h++)
	{
		RfHead	   *head = &v->heads[h];
		double	  **arrays[] = {&head->label_thresholds, &head->decision_weights, &head->bin_values};

		if (!HeadValid(&sh[h]))
			StateInvalid("the state is");
		head->name = "";
		head->kind = sh[h].kind;
		head->nout = sh[h].nout;
		head->soft = sh[h].soft;
		head->threshold = sh[h].threshold;
		head->parent = -1;
		for (int a = 0; a < lengthof(arrays); a++)
			if (sh[h].flags & (1 << a))
			{
				if (nparams + head->nout > s->nparams)
					StateInvalid("the state is");
				*arrays[a] = (double *) (params + nparams);
				nparams += head->nout;
			}
		v->acc_at[h] = (int) nacc;
		nacc += AccDoubles(head);
		if (nacc > (int64) (MaxAllocSize / sizeof(double)) / 2)
			StateInvalid("the state is");
	}
	v->config_size = sizeof(EvalState) + sizeof(EvalStateHead) * s->nheads + sizeof(double) * nparams;
	v->nacc = (int) nacc;
	if (nparams != s->nparams || (s->nacc != 0 && s->nacc != v->nacc) ||
		size != v->config_size + sizeof(double) * s->nacc)
		StateInvalid("the state is");
	v->ncells = EvalRowLayout(v->heads, v->nheads, v->cell_at);
}

bool
EvalStateSameConfig(const EvalState *a, const EvalState *b, const EvalStateView *v)
{
	return a->magic == b->magic && a->nheads == b->nheads && a->nparams == b->nparams &&
		VARSIZE(b) >= v->config_size &&
		memcmp((const char *) a + sizeof(EvalState), (const char *) b + sizeof(EvalState),
			   v->config_size - sizeof(EvalState)) == 0;
}

EvalState *
EvalStateCreate(const EvalState *config, const EvalStateView *v, MemoryContext cxt)
{
	EvalState  *s = MemoryContextAllocZero(cxt, v->config_size + sizeof(double) * v->nacc);

	memcpy(s, config, v->config_size);
	s->nacc = v->nacc;
	SET_VARSIZE(s, v->config_size + sizeof(double) * v->nacc);
	return s;
}

/*
 * Whether a scored row's cells for a head can be added: what indexes an
 * array (a class, a score's bin) must be in range; the rest may be anything
 * a model outputs.
 */
static bool
RowCellsValid(const RfHead *head, const double *t, const double *p)
{
	if (head->kind == RF_HEAD_MULTICLASS && !head->soft)
		return isnan(t[0]) || (t[0] >= 0 && t[0] < head->nout && t[0] == floor(t[0]));
	if (head->kind == RF_HEAD_BINARY)
		return (isnan(t[0]) || (t[0] >= 0 && t[0] <= 1)) && p[0] >= 0 && p[0] <= 1 && !isnan(p[1]);
	return true;
}

bool
EvalCellsValid(const RfHead *heads, int nheads, const int *cell_at, const double *cells)
{
	if (cells[0] != EVAL_ROW_SCORED)
		return cells[0] == EVAL_ROW_NULL_TARGET || cells[0] == EVAL_ROW_UNKNOWN_CLASS;
	if (!(cells[1] >= 0) || isinf(cells[1]))
		return false;
	for (int h = 0; h < nheads; h++)
		if (!RowCellsValid(&heads[h], cells + cell_at[h], cells + cell_at[h] + EvalTargetCells(&heads[h])))
			return false;
	return true;
}

void
EvalStateAddRow(const EvalStateView *v, double *sums, const double *cells)
{
	double		w = cells[1];

	if (!EvalCellsValid(v->heads, v->nheads, v->cell_at, cells))
		StateInvalid("a row's cells are");
	if (cells[0] != EVAL_ROW_SCORED)
	{
		sums[cells[0] == EVAL_ROW_NULL_TARGET ? 1 : 2] += 1;
		return;
	}
	sums[0] += 1;
	for (int h = 0; h < v->nheads; h++)
	{
		const RfHead *head = &v->heads[h];
		const double *t = cells + v->cell_at[h];
		const double *p = t + EvalTargetCells(head);
		RfEvalAcc	acc;

		AccView(v, sums, h, head, &acc);
		EvalAccAddCells(&acc, p, t, w);
		if (head->kind == RF_HEAD_BINARY && w > 0 && !isnan(t[0]))
			EvalBinsAdd(AccBins(sums + v->acc_at[h]), p[1], p[0], t[0]);
		AccSave(&acc, sums + v->acc_at[h]);
	}
}

void
EvalStateMerge(const EvalStateView *v, double *dst, const double *src)
{
	double	   *copy = palloc(sizeof(double) * v->nacc);

	memcpy(copy, src, sizeof(double) * v->nacc);
	for (int i = 0; i < EVAL_STATE_COUNTS; i++)
		dst[i] += src[i];
	for (int h = 0; h < v->nheads; h++)
	{
		const RfHead *head = &v->heads[h];
		RfEvalAcc	a;
		RfEvalAcc	b;

		AccView(v, dst, h, head, &a);
		AccView(v, copy, h, head, &b);
		EvalAccMerge(&a, &b);
		AccSave(&a, dst + v->acc_at[h]);
		if (head->kind == RF_HEAD_BINARY)
		{
			double	   *d = AccBins(dst + v->acc_at[h]);
			const double *s = AccBins(copy + v->acc_at[h]);

			for (int i = 0; i < EVAL_BINS_DOUBLES; i++)
				d[i] += s[i];
		}
	}
	pfree(copy);
}
