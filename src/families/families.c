/*
 * families.c
 *		The table of model families: picking one by name or from the
 *		options, and reading a stored trunk with its family.  A new family
 *		is one file and one entry here.
 */
#include "postgres.h"

#include "reframe.h"
#include "family.h"
#include "heads.h"
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

/*
 * A trunk from a stored spec; its parameters are zero until its blocks are
 * set.  Versions stored before families were named are linear without
 * hidden layers and neural with them.
 */
RfTrunk *
TrunkFromJson(JsonbContainer *spec, int nin, int64 stored)
{
	RfTrunk    *t = palloc0(sizeof(RfTrunk));
	char	   *name;

	if (spec == NULL || !JsonContainerIsObject(spec))
		SpecCorrupt("spec field \"network\" must be an object");
	name = SpecText(spec, "network", "family",
					JsonArraySize(JsonFieldContainer(spec, "hidden")) > 0 ? "neural" : "linear");
	t->family = FamilyByName(name);
	if (t->family == NULL)
		SpecCorrupt("spec field \"network.family\" names an unknown model family \"%s\"", name);
	if (SpecInt(spec, "network", "inputs", nin, 0, RF_MAX_WIDTH) != nin)
		SpecCorrupt("spec field \"network.inputs\" disagrees with the encoder's %d encoded inputs", nin);
	t->nin = nin;
	t->heads = HeadsFromJson(JsonFieldContainer(spec, "heads"), &t->nheads);
	t->nout = HeadsLayout(t->heads, t->nheads);
	t->family->from_json(t, spec, stored);
	return t;
}

