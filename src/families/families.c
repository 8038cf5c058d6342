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
#include "options.h"

/* The families, in "model": "auto"'s order of candidates: the simplest first. */
static const RfFamily *const families[] = {
	&ReframeLinearFamily,
	&ReframeTreesFamily,
	&ReframeNeuralFamily,
};

int
FamilyCount(void)
{
	return lengthof(families);
}

const RfFamily *
FamilyAt(int i)
{
	return families[i];
}

const RfFamily *
FamilyByName(const char *name)
{
	for (int i = 0; i < lengthof(families); i++)
		if (strcmp(families[i]->name, name) == 0)
			return families[i];
	return NULL;
}

const RfFamily *
FamilyStreaming(void)
{
	for (int i = 0; i < lengthof(families); i++)
		if (families[i]->streams)
			return families[i];
	return NULL;
}

static bool
ListHas(const char *const *list, const char *key)
{
	for (int i = 0; list && list[i]; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

/* The families that take an option some families lack, as "a, b", or NULL when every one does. */
static char *
OptionOwners(const char *key)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < lengthof(families); i++)
		if (ListHas(families[i]->options, key))
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", families[i]->name);
	return buf.len ? buf.data : NULL;
}

static bool
FamilyTakes(const RfFamily *f, const char *key)
{
	return ListHas(f->options, key) || OptionOwners(key) == NULL;
}

bool
FamilyTakesOptions(const RfFamily *f, const RfOptions *o)
{
	const char *keys[64];
	int			n = OptionsGivenKeys(o, keys);

	if (o->l2_auto && !f->chooses_l2)
		return false;
	for (int i = 0; i < n; i++)
		if (!FamilyTakes(f, keys[i]))
			return false;
	return true;
}

/*
 * An error unless some family takes every option given (the options of the
 * default, which then chooses among those families).
 */
void
FamilyCheckSomeFamily(const RfOptions *o)
{
	const char *keys[64];
	int			n = OptionsGivenKeys(o, keys);
	StringInfoData owned;

	for (int i = 0; i < lengthof(families); i++)
		if (FamilyTakesOptions(families[i], o))
			return;
	initStringInfo(&owned);
	for (int i = 0; i < n; i++)
	{
		char	   *owners = OptionOwners(keys[i]);

		if (owners)
			appendStringInfo(&owned, "%s\"%s\" is an option of %s", owned.len ? "; " : "",
							 keys[i], owners);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("the options given apply to no one model family"),
			 errdetail("%s.", owned.data),
			 errhint("Remove the options of all families but one, or name it with \"model\".")));
}

/*
 * An error unless the options apply to family f; with f NULL, unless every
 * family takes them ("model": "auto", which races them all).
 */
void
FamilyCheckOptions(const RfFamily *f, const RfOptions *o)
{
	const char *keys[64];
	int			n = OptionsGivenKeys(o, keys);
	StringInfoData owned;

	for (int i = 0; i < n; i++)
	{
		char	   *owners = OptionOwners(keys[i]);

		if (owners == NULL || (f && ListHas(f->options, keys[i])))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" does not apply to %s", keys[i],
						f ? psprintf("a %s model", f->name) : "\"model\": \"auto\""),
				 errdetail("\"%s\" is an option of the %s %s.", keys[i], owners,
						   strchr(owners, ' ') ? "families" : "family"),
				 errhint("Remove it, or choose that family with \"model\".")));
	}
	if (f && o->l2_auto && !f->chooses_l2)
	{
		initStringInfo(&owned);
		for (int i = 0; i < lengthof(families); i++)
			if (families[i]->chooses_l2)
				appendStringInfo(&owned, "%s%s", owned.len ? ", " : "", families[i]->name);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"l2\": \"auto\" does not apply to a %s model", f->name),
				 errdetail("It chooses the penalty of the %s family.", owned.data),
				 errhint("Give \"l2\" a number for a %s model.", f->name)));
	}
}

void
FamilyDefaults(const RfFamily *f, RfOptions *o)
{
	if (f->chooses_l2 && !OptionGiven(o, "l2"))
		o->l2_auto = true;
}

void
FamilyCheckModel(const RfOptions *o)
{
	StringInfoData names;

	if (o->model == NULL || strcmp(o->model, "auto") == 0 || FamilyByName(o->model))
		return;
	initStringInfo(&names);
	for (int i = 0; i < lengthof(families); i++)
		appendStringInfo(&names, "\"%s\"%s ", families[i]->name,
						 i < lengthof(families) - 1 ? "," : "");
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"model\""),
			 errdetail("\"%s\" is not one of them.", o->model),
			 errhint("\"model\" takes %sor \"auto\" (the best of them by cross-validation).", names.data)));
}

const RfFamily *
FamilyFromOptions(const RfOptions *opts)
{
	if (opts->model && strcmp(opts->model, "auto") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"model\": \"auto\" chooses a family in reframe.train"),
				 errhint("Cross-validate one family at a time.")));
	FamilyCheckModel(opts);
	if (opts->model)
		return FamilyByName(opts->model);
	/* versions stored before the default chose: a network with "hidden", else linear */
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

