/*
 * family.c
 *		Picking a model family, and what every family's trunk shares: its
 *		heads, its place in a version's spec, batch forward passes.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "reframe.h"
#include "family.h"
#include "jsonutil.h"

static const RfFamily *const families[] = {
	&ReframeLinearFamily,
	&ReframeNeuralFamily,
	&ReframeTreesFamily,
};

const RfFamily *
FamilyByName(const char *name)
{
	for (int i = 0; i < lengthof(families); i++)
		if (strcmp(families[i]->name, name) == 0)
			return families[i];
	return NULL;
}

const RfFamily *
FamilyFromOptions(const RfOptions *opts)
{
	if (opts->model && strcmp(opts->model, "auto") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"model\": \"auto\" chooses a family in reframe.train"),
				 errhint("Cross-validate one family at a time.")));
	if (opts->model)
		return FamilyByName(opts->model);
	return opts->nhidden > 0 ? &ReframeNeuralFamily : &ReframeLinearFamily;
}

RfBlock *
RfBlockMake(const char *name, int rows, int cols, const double *data)
{
	RfBlock    *b = palloc0(sizeof(RfBlock));

	b->name = pstrdup(name);
	b->ndim = cols > 0 ? 2 : 1;
	b->shape[0] = rows;
	b->shape[1] = cols;
	b->data = data;
	return b;
}

RfTrunk *
TrunkCreate(const RfFamily *f, const RfOptions *opts, int nin, RfHead *heads, int nheads)
{
	RfTrunk    *t = palloc0(sizeof(RfTrunk));

	t->family = f;
	t->nin = nin;
	t->heads = heads;
	t->nheads = nheads;
	t->nout = HeadsLayout(heads, nheads);
	f->create(t, opts, nin);
	return t;
}

/*
 * The spec's "network" object: the family, the encoded width, the family's
 * own layout and the heads.
 */
void
TrunkToJson(const RfTrunk *t, StringInfo buf)
{
	appendStringInfo(buf, "{\"family\": \"%s\", \"inputs\": %d, ", t->family->name, t->nin);
	t->family->to_json(t, buf);
	appendStringInfoString(buf, ", \"heads\": ");
	HeadsToJson(t->heads, t->nheads, buf);
	appendStringInfoChar(buf, '}');
}

/*
 * A trunk from a stored spec; its parameters are zero until its blocks are
 * set.  Versions stored before families were named are linear without
 * hidden layers and neural with them.
 */
RfTrunk *
TrunkFromJson(JsonbContainer *spec, int nin)
{
	RfTrunk    *t = palloc0(sizeof(RfTrunk));
	char	   *name = JsonFieldText(spec, "family", NULL);

	if (name == NULL)
		name = JsonArraySize(JsonFieldContainer(spec, "hidden")) > 0 ? "neural" : "linear";
	t->family = FamilyByName(name);
	if (t->family == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model spec names an unknown model family \"%s\"", name)));
	t->nin = nin;
	t->heads = HeadsFromJson(JsonFieldContainer(spec, "heads"), &t->nheads);
	t->nout = HeadsLayout(t->heads, t->nheads);
	t->family->from_json(t, spec);
	return t;
}

void
TrunkForwardMatrix(const RfTrunk *t, const RfMatrix *X, RfChunkFn fn, void *arg)
{
	void	   *batch = t->family->batch_begin(t);
	float	   *out = MemoryContextAllocHuge(CurrentMemoryContext,
											 sizeof(float) * RF_CHUNK_ROWS * Max(t->nout, 1));

	for (int c = 0; c < X->nchunks; c++)
	{
		int			rows = RfChunkRows(X, c);

		t->family->forward_batch(batch, RfChunkF(X, c), rows, out);
		fn(arg, c, rows, out);
		ReframeYield();
		CHECK_FOR_INTERRUPTS();
	}
	pfree(out);
}
