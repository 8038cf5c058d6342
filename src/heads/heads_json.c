/*
 * heads_json.c
 *		The heads in a version's spec: written (HeadsToJson) and read back,
 *		checked whole (HeadsFromJson).
 */
#include "postgres.h"

#include <float.h>

#include "reframe.h"
#include "heads.h"
#include "jsonutil.h"

void
HeadsToJson(const RfHead *heads, int nheads, StringInfo buf)
{
	appendStringInfoChar(buf, '[');
	for (int h = 0; h < nheads; h++)
	{
		const RfHead *head = &heads[h];

		appendStringInfoString(buf, h ? ", {\"name\": " : "{\"name\": ");
		JsonAppendString(buf, head->name);
		appendStringInfo(buf, ", \"kind\": \"%s\", \"loss\": \"%s\", \"outputs\": %d, \"weight\": ",
						 HeadKindName(head->kind), LossName(head->loss), head->nout);
		JsonAppendNumber(buf, head->weight);
		if (head->loss == RF_LOSS_HUBER)
		{
			appendStringInfoString(buf, ", \"huber_delta\": ");
			JsonAppendNumber(buf, head->huber_delta);
		}
		if (head->kind == RF_HEAD_BINARY)
		{
			appendStringInfoString(buf, ", \"threshold\": ");
			JsonAppendNumber(buf, head->threshold);
		}
		if (head->parent_of)
		{
			appendStringInfo(buf, ", \"parent\": %d, \"parents\": %d, \"parent_of\": [",
							 head->parent, head->nparents);
			for (int k = 0; k < head->nout; k++)
				appendStringInfo(buf, k ? ", %d" : "%d", head->parent_of[k]);
			appendStringInfoChar(buf, ']');
		}
		if (head->soft)
			appendStringInfoString(buf, ", \"soft\": true");
		if (head->decision_weights)
			JsonAppendNumbers(buf, "decision_weights", head->decision_weights, head->nout);
		if (head->label_thresholds)
			JsonAppendNumbers(buf, "label_thresholds", head->label_thresholds, head->nout);
		if (head->bin_values)
		{
			JsonAppendNumbers(buf, "bin_edges", head->bin_edges, head->nclasses - 1);
			JsonAppendNumbers(buf, "bin_values", head->bin_values, head->nclasses);
		}
		if (head->nclasses > 0)
			JsonAppendStrings(buf, "classes", head->classes, head->nclasses);
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoChar(buf, ']');
}

static RfHeadKind
HeadKindFromName(const char *s, const char *where)
{
	for (int k = RF_HEAD_REGRESSION; k <= RF_HEAD_MULTILABEL; k++)
		if (strcmp(s, HeadKindName(k)) == 0)
			return k;
	SpecCorrupt("spec field \"%s.kind\" names an unknown head kind \"%s\"", where, s);
}

static RfLoss
LossFromName(const char *s, const char *where)
{
	for (int k = RF_LOSS_SQUARED; k <= RF_LOSS_CROSS_ENTROPY; k++)
		if (strcmp(s, LossName(k)) == 0)
			return k;
	SpecCorrupt("spec field \"%s.loss\" names an unknown loss \"%s\"", where, s);
}

/* Whether a head of this kind is trained with this loss. */
static bool
HeadLossFits(RfHeadKind kind, RfLoss loss)
{
	switch (kind)
	{
		case RF_HEAD_REGRESSION:
			return loss == RF_LOSS_SQUARED || loss == RF_LOSS_ABSOLUTE || loss == RF_LOSS_HUBER;
		case RF_HEAD_BINARY:
		case RF_HEAD_MULTILABEL:
			return loss == RF_LOSS_LOG;
		case RF_HEAD_MULTICLASS:
			return loss == RF_LOSS_CROSS_ENTROPY;
	}
	return false;
}

/* An array of n finite numbers stored under key, or NULL when absent. */
static double *
HeadNumbers(JsonbContainer *jh, const char *where, const char *key, int n, double lo, double hi)
{
	JsonbContainer *ja = SpecArray(jh, where, key, false);
	double	   *v;

	if (ja == NULL)
		return NULL;
	if (JsonArraySize(ja) != n)
		SpecCorrupt("spec field \"%s.%s\" has %d values, not %d", where, key, JsonArraySize(ja), n);
	v = palloc(sizeof(double) * Max(n, 1));
	for (int k = 0; k < n; k++)
	{
		v[k] = SpecElementNumber(ja, where, key, k);
		if (v[k] < lo || v[k] > hi)
			SpecCorrupt("spec field \"%s.%s\" must hold numbers from %g to %g, not %g",
						where, key, lo, hi, v[k]);
	}
	return v;
}

/*
 * A level of a hierarchy: parent_of (one coarse class per class, sorted),
 * the head of the level above (an earlier multiclass head) and its classes,
 * each with at least one child.
 */
static void
HeadHierarchyFromJson(RfHead *heads, int h, JsonbContainer *jh, const char *where)
{
	RfHead	   *head = &heads[h];
	JsonbContainer *jp = SpecArray(jh, where, "parent_of", false);
	int			parent;
	int			nparents;
	int		   *parent_of;

	head->parent = -1;
	if (jp == NULL)
		return;
	if (head->kind != RF_HEAD_MULTICLASS)
		SpecCorrupt("spec field \"%s.parent_of\" belongs to a multiclass head only", where);
	parent = SpecInt(jh, where, "parent", -1, 0, h - 1);
	if (heads[parent].kind != RF_HEAD_MULTICLASS)
		SpecCorrupt("spec field \"%s.parent\" names head %d, which is not multiclass", where, parent);
	nparents = SpecInt(jh, where, "parents", -1, heads[parent].nout, heads[parent].nout);
	if (JsonArraySize(jp) != head->nout)
		SpecCorrupt("spec field \"%s.parent_of\" has %d entries for %d classes", where,
					JsonArraySize(jp), head->nout);
	parent_of = palloc(sizeof(int) * head->nout);
	for (int k = 0; k < head->nout; k++)
	{
		parent_of[k] = SpecElementInt(jp, where, "parent_of", k, 0, nparents - 1);
		if (k > 0 && parent_of[k] != parent_of[k - 1] && parent_of[k] != parent_of[k - 1] + 1)
			SpecCorrupt("spec field \"%s.parent_of\" must list every parent class in order", where);
	}
	if (parent_of[0] != 0 || parent_of[head->nout - 1] != nparents - 1)
		SpecCorrupt("spec field \"%s.parent_of\" must list every parent class in order", where);
	HeadSetParents(head, parent, nparents, parent_of);
}

/* A head's optional lists: decision weights, label thresholds, buckets. */
static void
HeadArraysFromJson(RfHead *head, JsonbContainer *jh, const char *where)
{
if (JsonField(jh, "decision_weights") && head->kind != RF_HEAD_MULTICLASS)
	SpecCorrupt("spec field \"%s.decision_weights\" belongs to a multiclass head only", where);
head->decision_weights = HeadNumbers(jh, where, "decision_weights", head->nout, DBL_MIN, DBL_MAX);
if (JsonField(jh, "label_thresholds") && head->kind != RF_HEAD_MULTILABEL)
	SpecCorrupt("spec field \"%s.label_thresholds\" belongs to a multilabel head only", where);
head->label_thresholds = HeadNumbers(jh, where, "label_thresholds", head->nout, 0, 1);
if (JsonField(jh, "bin_values") || JsonField(jh, "bin_edges"))
{
	if (head->kind != RF_HEAD_MULTICLASS || head->parent >= 0)
		SpecCorrupt("spec field \"%s.bin_values\" belongs to a multiclass head of buckets only", where);
	head->bin_values = HeadNumbers(jh, where, "bin_values", head->nclasses, -DBL_MAX, DBL_MAX);
	head->bin_edges = HeadNumbers(jh, where, "bin_edges", head->nclasses - 1, -DBL_MAX, DBL_MAX);
	if (head->bin_values == NULL || head->bin_edges == NULL)
		SpecCorrupt("spec field \"%s\" needs both \"bin_values\" and \"bin_edges\"", where);
	for (int k = 1; k + 1 < head->nclasses; k++)
		if (!(head->bin_edges[k] > head->bin_edges[k - 1]))
			SpecCorrupt("spec field \"%s.bin_edges\" must increase", where);
}
}

/* Head h of a stored spec, checked whole: its kind, loss, outputs, classes and hierarchy. */
static void
HeadFromJson(RfHead *heads, int h, JsonbContainer *jh, const char *where)
{
	JsonbContainer *jc = SpecArray(jh, where, "classes", false);
	RfHead	   *head = &heads[h];
	const char *dup;

	head->wcol = -1;		/* row weights are training's */
	head->name = SpecText(jh, where, "name", NULL);
	if (head->name[0] == '\0')
		SpecCorrupt("spec field \"%s.name\" is empty", where);
	head->kind = HeadKindFromName(SpecText(jh, where, "kind", NULL), where);
	head->loss = LossFromName(SpecText(jh, where, "loss", NULL), where);
	if (!HeadLossFits(head->kind, head->loss))
		SpecCorrupt("spec field \"%s.loss\": a %s head has no loss \"%s\"", where,
					HeadKindName(head->kind), LossName(head->loss));
	head->nout = SpecInt(jh, where, "outputs", 1, 1, RF_MAX_OUTPUTS);
	head->weight = SpecNumber(jh, where, "weight", 1.0, 0, DBL_MAX);
	head->huber_delta = SpecNumber(jh, where, "huber_delta", 1.0, DBL_MIN, DBL_MAX);
	head->threshold = SpecNumber(jh, where, "threshold", 0.5, 0, 1);
	head->nclasses = JsonArraySize(jc);
	head->classes = palloc(sizeof(char *) * Max(head->nclasses, 1));
	for (int k = 0; k < head->nclasses; k++)
		head->classes[k] = SpecElementText(jc, where, "classes", k);

	/* the names of the outputs, one per output (two for a binary head) */
	if ((head->kind == RF_HEAD_REGRESSION && head->nout != 1) ||
		(head->kind == RF_HEAD_BINARY && head->nout != 1))
		SpecCorrupt("spec field \"%s.outputs\": a %s head has one output, not %d", where,
					HeadKindName(head->kind), head->nout);
	if (head->nclasses != (head->kind == RF_HEAD_REGRESSION ? 0 :
						   head->kind == RF_HEAD_BINARY ? 2 : head->nout))
		SpecCorrupt("spec field \"%s.classes\" has %d entries for the %d outputs of a %s head",
					where, head->nclasses, head->nout, HeadKindName(head->kind));
	if ((dup = SpecDuplicateName(head->classes, head->nclasses)) != NULL)
		SpecCorrupt("spec field \"%s.classes\" lists \"%s\" twice", where, dup);

	HeadHierarchyFromJson(heads, h, jh, where);
	if (head->kind == RF_HEAD_MULTICLASS && head->parent < 0 && head->nout < 2)
		SpecCorrupt("spec field \"%s.outputs\": a multiclass head has at least 2 classes", where);
	head->soft = head->kind == RF_HEAD_MULTICLASS && JsonFieldBool(jh, "soft", false);
	HeadArraysFromJson(head, jh, where);
}

/*
 * The heads of a stored spec, checked whole: each list against the outputs
 * it describes, every number finite and in range; offsets laid out.  The
 * spec is untrusted (see jsonutil.h): nothing it says may reach past an
 * array at scoring time.
 */
RfHead *
HeadsFromJson(JsonbContainer *jheads, int *nheads_out)
{
	int			nheads = JsonArraySize(jheads);
	RfHead	   *heads = palloc0(sizeof(RfHead) * Max(nheads, 1));
	char	  **names = palloc(sizeof(char *) * Max(nheads, 1));
	int64		nout = 0;
	const char *dup;

	if (jheads == NULL || !JsonContainerIsArray(jheads) || nheads < 1)
		SpecCorrupt("spec field \"network.heads\" must be an array of at least one head");
	for (int h = 0; h < nheads; h++)
	{
		char	   *where = psprintf("network.heads[%d]", h);

		HeadFromJson(heads, h, SpecElementObject(jheads, "network", "heads", h), where);
		names[h] = heads[h].name;
		nout += heads[h].nout;
		if (nout > RF_MAX_OUTPUTS)
			SpecCorrupt("spec field \"network.heads\" has more than %d outputs", RF_MAX_OUTPUTS);
	}
	if ((dup = SpecDuplicateName(names, nheads)) != NULL)
		SpecCorrupt("spec field \"network.heads\" names head \"%s\" twice", dup);
	HeadsLayout(heads, nheads);
	*nheads_out = nheads;
	return heads;
}
