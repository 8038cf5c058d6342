/*
 * options.c
 *		Parsing of reframe.train()'s options.
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"

#include "jsonutil.h"
#include "options.h"

typedef enum OptKind
{
	OPT_NUMBER,
	OPT_INTEGER,
	OPT_STRING,
	OPT_BOOL,
	OPT_NAMES,					/* array of column names */
	OPT_SPECIAL					/* parsed by its own code below */
} OptKind;

typedef struct OptSpec
{
	const char *key;
	OptKind		kind;
	double		min;			/* numbers: inclusive bounds */
	double		max;
	const char *help;
} OptSpec;

static const OptSpec known_options[] = {
	{"features", OPT_NAMES, 0, 0, "an array of column names"},
	{"exclude", OPT_NAMES, 0, 0, "an array of column names"},
	{"loss", OPT_STRING, 0, 0, "\"squared\", \"absolute\" or \"huber\" (regression)"},
	{"huber_delta", OPT_NUMBER, 1e-12, 1e12, "a positive number"},
	{"l2", OPT_NUMBER, 0, 1e12, "a number >= 0"},
	{"max_iter", OPT_INTEGER, 1, 1000000, "an integer from 1 to 1000000"},
	{"tol", OPT_NUMBER, 0, 1, "a number from 0 to 1"},
	{"validation", OPT_NUMBER, 0, 0.9, "a fraction from 0 to 0.9"},
	{"seed", OPT_INTEGER, -9e15, 9e15, "an integer"},
	{"deploy", OPT_STRING, 0, 0, "\"always\", \"if_better\" or \"never\""},
	{"verbose", OPT_BOOL, 0, 0, "true or false"},
	{"max_categories", OPT_INTEGER, 1, 100000, "an integer from 1 to 100000"},
	{"class_weight", OPT_SPECIAL, 0, 0, "\"balanced\" or an object of positive weights by class, like {\"yes\": 5}"},
	{"threshold", OPT_SPECIAL, 0, 0, "a probability between 0 and 1, or \"f1\""},
	{"group", OPT_STRING, 0, 0, "the name of the query column"},
	{"hidden", OPT_SPECIAL, 0, 0, "an array of 1 to 8 layer sizes from 1 to 4096, like [64, 32]"},
	{"sharing", OPT_STRING, 0, 0, "\"hard\" or \"soft\""},
	{"sharing_strength", OPT_NUMBER, 0, 1e6, "a number >= 0"},
	{"batch_size", OPT_INTEGER, 1, 65536, "an integer from 1 to 65536"},
	{"epochs", OPT_INTEGER, 1, 100000, "an integer from 1 to 100000"},
	{"learning_rate", OPT_NUMBER, 1e-9, 10, "a number from 1e-9 to 10"},
	{"patience", OPT_INTEGER, 1, 1000, "an integer from 1 to 1000"},
	{"tasks", OPT_SPECIAL, 0, 0, "an object naming each target's task, like {\"rating\": \"multiclass\"}"},
	{"task_weights", OPT_SPECIAL, 0, 0, "an object of positive weights by target, like {\"quality\": 0.3, \"engagement\": 0.7}"},
	{"bins", OPT_SPECIAL, 0, 0, "increasing cut points like [100, 200], or {\"quantiles\": k} with k from 2 to 1000"},
};

static const char *
JsonTypeName(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		default:
			return "a JSON value";
	}
}

static void
BadOption(const OptSpec *spec, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"%s\"", spec->key),
			 errdetail("%s", detail),
			 errhint("\"%s\" takes %s.", spec->key, spec->help)));
}

static List *
ParseNames(const OptSpec *spec, JsonbValue *v)
{
	List	   *names = NIL;
	JsonbContainer *arr;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		BadOption(spec, psprintf("It is %s.", JsonTypeName(v)));
	arr = v->val.binary.data;
	for (int i = 0; i < JsonArraySize(arr); i++)
	{
		JsonbValue *e = JsonArrayElement(arr, i);

		if (e->type != jbvString || e->val.string.len == 0)
			BadOption(spec, psprintf("Element %d is %s.", i + 1,
									 e->type == jbvString ? "an empty string" : JsonTypeName(e)));
		names = lappend(names, JsonValueText(e));
	}
	return names;
}

static double
ParseNumber(const OptSpec *spec, JsonbValue *v)
{
	double		d;

	if (v->type != jbvNumeric)
		BadOption(spec, psprintf("It is %s.", JsonTypeName(v)));
	d = JsonValueNumber(v);
	if (isnan(d) || d < spec->min || d > spec->max)
		BadOption(spec, psprintf("%g is out of range.", d));
	if (spec->kind == OPT_INTEGER && d != floor(d))
		BadOption(spec, psprintf("%g is not an integer.", d));
	return d;
}

RfOptions *
OptionsParse(Jsonb *options)
{
	RfOptions  *o = palloc0(sizeof(RfOptions));
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;

	o->l2 = 1e-4;
	o->huber_delta = 1.0;
	o->max_iter = 200;
	o->tol = 1e-4;
	o->validation = -1;
	o->seed = 0;
	o->deploy = RF_DEPLOY_ALWAYS;
	o->max_categories = 100;
	o->threshold = get_float8_nan();
	o->batch_size = 256;
	o->epochs = 100;
	o->learning_rate = 1e-3;
	o->patience = 5;
	o->sharing_strength = 0.01;
	o->raw = options;
	if (options == NULL)
		return o;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object"),
				 errhint("For example '{\"l2\": 0.01, \"validation\": 0.2}'.")));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		const OptSpec *spec = NULL;
		char	   *key;

		if (tok == WJB_BEGIN_OBJECT)
		{
			depth++;
			continue;
		}
		if (tok != WJB_KEY || depth != 1)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (int i = 0; i < lengthof(known_options); i++)
			if (strcmp(known_options[i].key, key) == 0)
				spec = &known_options[i];
		if (spec == NULL)
		{
			StringInfoData keys;

			initStringInfo(&keys);
			for (int i = 0; i < lengthof(known_options); i++)
				appendStringInfo(&keys, i ? ", %s" : "%s", known_options[i].key);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\"", key),
					 errhint("Known options are: %s.", keys.data)));
		}
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);

		switch (spec->kind)
		{
			case OPT_NAMES:
				if (strcmp(key, "features") == 0)
					o->features = ParseNames(spec, &v);
				else
					o->exclude = ParseNames(spec, &v);
				break;
			case OPT_BOOL:
				if (v.type != jbvBool)
					BadOption(spec, psprintf("It is %s.", JsonTypeName(&v)));
				o->verbose = v.val.boolean;
				break;
			case OPT_STRING:
				{
					char	   *s;

					if (v.type != jbvString)
						BadOption(spec, psprintf("It is %s.", JsonTypeName(&v)));
					s = JsonValueText(&v);
					if (strcmp(key, "deploy") == 0)
					{
						if (strcmp(s, "always") == 0)
							o->deploy = RF_DEPLOY_ALWAYS;
						else if (strcmp(s, "if_better") == 0)
							o->deploy = RF_DEPLOY_IF_BETTER;
						else if (strcmp(s, "never") == 0)
							o->deploy = RF_DEPLOY_NEVER;
						else
							BadOption(spec, psprintf("\"%s\" is not one of them.", s));
					}
					else if (strcmp(key, "sharing") == 0)
					{
						if (strcmp(s, "soft") == 0)
							o->soft_sharing = true;
						else if (strcmp(s, "hard") != 0)
							BadOption(spec, psprintf("\"%s\" is not one of them.", s));
					}
					else if (strcmp(key, "group") == 0)
					{
						if (s[0] == '\0')
							BadOption(spec, "It is an empty string.");
						o->group = s;
					}
					else if (strcmp(key, "loss") == 0)
					{
						if (strcmp(s, "squared") != 0 && strcmp(s, "absolute") != 0 &&
							strcmp(s, "huber") != 0)
							BadOption(spec, psprintf("\"%s\" is not one of them.", s));
						o->loss = s;
					}
					break;
				}
			case OPT_SPECIAL:
				if (strcmp(key, "hidden") == 0)
				{
					JsonbContainer *arr;

					if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
						BadOption(spec, psprintf("It is %s.", JsonTypeName(&v)));
					arr = v.val.binary.data;
					o->nhidden = JsonArraySize(arr);
					if (o->nhidden < 1 || o->nhidden > 8)
						BadOption(spec, o->nhidden < 1 ? "It is empty: a linear model has no \"hidden\" option." :
								  "It has more than 8 layers.");
					o->hidden = palloc(sizeof(int) * o->nhidden);
					for (int i = 0; i < o->nhidden; i++)
					{
						JsonbValue *e = JsonArrayElement(arr, i);
						double		d = JsonValueNumber(e);

						if (e->type != jbvNumeric || d != floor(d) || d < 1 || d > 4096)
							BadOption(spec, psprintf("Layer %d is not an integer from 1 to 4096.", i + 1));
						o->hidden[i] = (int) d;
					}
				}
				else if (strcmp(key, "tasks") == 0)
				{
					JsonbIterator *tit;
					JsonbValue	tv;
					JsonbIteratorToken ttok;

					if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
						BadOption(spec, psprintf("It is %s.", JsonTypeName(&v)));
					tit = JsonbIteratorInit(v.val.binary.data);
					while ((ttok = JsonbIteratorNext(&tit, &tv, true)) != WJB_DONE)
					{
						char	   *t;

						if (ttok != WJB_VALUE)
							continue;
						t = JsonValueText(&tv);
						if (t == NULL || (strcmp(t, "regression") != 0 && strcmp(t, "binary") != 0 &&
										  strcmp(t, "multiclass") != 0))
							BadOption(spec, "Each task must be \"regression\", \"binary\" or \"multiclass\".");
					}
					o->tasks = v.val.binary.data;
				}
				else if (strcmp(key, "task_weights") == 0)
				{
					JsonbIterator *wit;
					JsonbValue	wv;
					JsonbIteratorToken wtok;

					if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data) ||
						JsonContainerSize(v.val.binary.data) == 0)
						BadOption(spec, psprintf("It is %s.", JsonTypeName(&v)));
					wit = JsonbIteratorInit(v.val.binary.data);
					while ((wtok = JsonbIteratorNext(&wit, &wv, true)) != WJB_DONE)
						if (wtok == WJB_VALUE &&
							(wv.type != jbvNumeric || !(JsonValueNumber(&wv) > 0) ||
							 isinf(JsonValueNumber(&wv))))
							BadOption(spec, "Every weight must be a positive number.");
					o->task_weights = v.val.binary.data;
				}
				else if (strcmp(key, "bins") == 0)
				{
					if (v.type == jbvBinary && JsonContainerIsArray(v.val.binary.data))
					{
						JsonbContainer *arr = v.val.binary.data;

						o->nbins = JsonArraySize(arr);
						if (o->nbins < 1 || o->nbins > 999)
							BadOption(spec, "It needs from 1 to 999 cut points.");
						o->bin_edges = palloc(sizeof(double) * o->nbins);
						for (int i = 0; i < o->nbins; i++)
						{
							JsonbValue *e = JsonArrayElement(arr, i);

							if (e->type != jbvNumeric || !isfinite(JsonValueNumber(e)))
								BadOption(spec, psprintf("Cut point %d is not a finite number.", i + 1));
							o->bin_edges[i] = JsonValueNumber(e);
							if (i > 0 && !(o->bin_edges[i] > o->bin_edges[i - 1]))
								BadOption(spec, "The cut points must increase strictly.");
						}
					}
					else if (v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data))
					{
						JsonbValue *q = JsonField(v.val.binary.data, "quantiles");

						if (q == NULL || q->type != jbvNumeric || JsonContainerSize(v.val.binary.data) != 1)
							BadOption(spec, "An object must be {\"quantiles\": k}.");
						o->bin_quantiles = (int) JsonValueNumber(q);
						if (JsonValueNumber(q) != o->bin_quantiles || o->bin_quantiles < 2 || o->bin_quantiles > 1000)
							BadOption(spec, "k must be an integer from 2 to 1000.");
					}
					else
						BadOption(spec, psprintf("It is %s.", JsonTypeName(&v)));
				}
				else if (strcmp(key, "threshold") == 0)
				{
					if (v.type == jbvString && v.val.string.len == 2 &&
						strncmp(v.val.string.val, "f1", 2) == 0)
						o->threshold_f1 = true;
					else if (v.type == jbvNumeric)
					{
						o->threshold = JsonValueNumber(&v);
						if (!(o->threshold > 0 && o->threshold < 1))
							BadOption(spec, psprintf("%g is not strictly between 0 and 1.", o->threshold));
					}
					else
						BadOption(spec, psprintf("It is %s.", JsonTypeName(&v)));
				}
				else			/* class_weight */
				{
					if (v.type == jbvString && v.val.string.len == 8 &&
						strncmp(v.val.string.val, "balanced", 8) == 0)
						o->balanced = true;
					else if (v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data))
					{
						JsonbIterator *wit = JsonbIteratorInit(v.val.binary.data);
						JsonbValue	wv;
						JsonbIteratorToken wtok;

						while ((wtok = JsonbIteratorNext(&wit, &wv, true)) != WJB_DONE)
							if (wtok == WJB_VALUE &&
								(wv.type != jbvNumeric || !(JsonValueNumber(&wv) > 0) ||
								 isinf(JsonValueNumber(&wv))))
								BadOption(spec, "Every weight must be a positive number.");
						o->class_weight = v.val.binary.data;
					}
					else
						BadOption(spec, psprintf("It is %s.", JsonTypeName(&v)));
				}
				break;
			case OPT_NUMBER:
			case OPT_INTEGER:
				{
					double		d = ParseNumber(spec, &v);

					if (strcmp(key, "l2") == 0)
						o->l2 = d;
					else if (strcmp(key, "huber_delta") == 0)
						o->huber_delta = d;
					else if (strcmp(key, "max_iter") == 0)
						o->max_iter = (int) d;
					else if (strcmp(key, "tol") == 0)
						o->tol = d;
					else if (strcmp(key, "validation") == 0)
						o->validation = d;
					else if (strcmp(key, "seed") == 0)
						o->seed = (int64) d;
					else if (strcmp(key, "max_categories") == 0)
						o->max_categories = (int) d;
					else if (strcmp(key, "batch_size") == 0)
						o->batch_size = (int) d;
					else if (strcmp(key, "epochs") == 0)
						o->epochs = (int) d;
					else if (strcmp(key, "learning_rate") == 0)
						o->learning_rate = d;
					else if (strcmp(key, "patience") == 0)
						o->patience = (int) d;
					else if (strcmp(key, "sharing_strength") == 0)
						o->sharing_strength = d;
					break;
				}
		}
	}
	return o;
}
