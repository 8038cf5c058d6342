/*
 * options.c
 *		Parsing of reframe.train()'s options.  Every option is declared once,
 *		in the table below: its key, type and range, where it goes in
 *		RfOptions (which families take it is the family table's to say:
 *		families.c).
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/varlena.h"

#include "reframe.h"
#include "jsonutil.h"
#include "options.h"

typedef enum OptKind
{
	OPT_NUMBER,					/* double */
	OPT_INTEGER,				/* int */
	OPT_INT64,					/* int64 */
	OPT_BOOL,					/* bool */
	OPT_CHOICE,					/* char *, one of choices */
	OPT_NAME,					/* char *, a non-empty column name */
	OPT_NAMES,					/* List * of column names */
	OPT_PARSER					/* parsed by its own function */
} OptKind;

typedef struct OptSpec OptSpec;
typedef void (*OptParser) (const OptSpec *spec, JsonbValue *v, RfOptions *o);

struct OptSpec
{
	const char *key;
	OptKind		kind;
	double		min;			/* numbers: inclusive bounds */
	double		max;
	size_t		offset;			/* destination in RfOptions */
	const char *const *choices; /* OPT_CHOICE: NULL-terminated */
	OptParser	parse;			/* OPT_PARSER */
	const char *help;
};

static void ParseHidden(const OptSpec *spec, JsonbValue *v, RfOptions *o);
static void ParseTasks(const OptSpec *spec, JsonbValue *v, RfOptions *o);
static void ParseTaskWeights(const OptSpec *spec, JsonbValue *v, RfOptions *o);
static void ParseBins(const OptSpec *spec, JsonbValue *v, RfOptions *o);
static void ParseThreshold(const OptSpec *spec, JsonbValue *v, RfOptions *o);
static void ParseClassWeight(const OptSpec *spec, JsonbValue *v, RfOptions *o);
static void ParseL2(const OptSpec *spec, JsonbValue *v, RfOptions *o);
static void ParseSearch(const OptSpec *spec, JsonbValue *v, RfOptions *o);

static const char *const loss_choices[] = {"squared", "absolute", "huber", NULL};
static const char *const deploy_choices[] = {"always", "if_better", "never", NULL};
static const char *const split_choices[] = {"random", "time", NULL};
static const char *const sharing_choices[] = {"hard", "soft", NULL};
static const char *const objective_choices[] = {"pointwise", "ndcg", NULL};

#define OPT(field) offsetof(RfOptions, field)

static const OptSpec known_options[] = {
	{"model", OPT_NAME, 0, 0, OPT(model), NULL, NULL, "a model family, or \"auto\" (the best of them by cross-validation)"},
	{"features", OPT_NAMES, 0, 0, OPT(features), NULL, NULL, "an array of column names"},
	{"exclude", OPT_NAMES, 0, 0, OPT(exclude), NULL, NULL, "an array of column names"},
	{"loss", OPT_CHOICE, 0, 0, OPT(loss), loss_choices, NULL, "\"squared\", \"absolute\" or \"huber\" (regression)"},
	{"huber_delta", OPT_NUMBER, 1e-12, 1e12, OPT(huber_delta), NULL, NULL, "a positive number"},
	{"l2", OPT_PARSER, 0, 1e12, 0, NULL, ParseL2, "a number >= 0, or \"auto\" (a linear model: chosen by cross-validation)"},
	{"max_iter", OPT_INTEGER, 1, 1000000, OPT(max_iter), NULL, NULL, "an integer from 1 to 1000000"},
	{"tol", OPT_NUMBER, 0, 1, OPT(tol), NULL, NULL, "a number from 0 to 1"},
	{"validation", OPT_NUMBER, 0, 0.9, OPT(validation), NULL, NULL, "a fraction from 0 to 0.9"},
	{"seed", OPT_INT64, -9e15, 9e15, OPT(seed), NULL, NULL, "an integer"},
	{"deploy", OPT_CHOICE, 0, 0, OPT(deploy_name), deploy_choices, NULL, "\"always\", \"if_better\" or \"never\""},
	{"verbose", OPT_BOOL, 0, 0, OPT(verbose), NULL, NULL, "true or false"},
	{"max_categories", OPT_INTEGER, 1, 100000, OPT(max_categories), NULL, NULL, "an integer from 1 to 100000"},
	{"class_weight", OPT_PARSER, 0, 0, 0, NULL, ParseClassWeight, "\"balanced\" or an object of positive weights by class, like {\"yes\": 5}"},
	{"threshold", OPT_PARSER, 0, 0, 0, NULL, ParseThreshold, "a probability between 0 and 1, or \"f1\""},
	{"group", OPT_NAME, 0, 0, OPT(group), NULL, NULL, "the name of the query column"},
	{"hidden", OPT_PARSER, 0, 0, 0, NULL, ParseHidden, "an array of 1 to 8 layer sizes from 1 to 4096, like [64, 32]"},
	{"sharing", OPT_CHOICE, 0, 0, OPT(sharing), sharing_choices, NULL, "\"hard\" or \"soft\""},
	{"sharing_strength", OPT_NUMBER, 0, 1e6, OPT(sharing_strength), NULL, NULL, "a number >= 0"},
	{"batch_size", OPT_INTEGER, 1, 65536, OPT(batch_size), NULL, NULL, "an integer from 1 to 65536"},
	{"epochs", OPT_INTEGER, 1, 100000, OPT(epochs), NULL, NULL, "an integer from 1 to 100000"},
	{"learning_rate", OPT_NUMBER, 1e-9, 10, OPT(learning_rate), NULL, NULL, "a number from 1e-9 to 10"},
	{"patience", OPT_INTEGER, 1, 1000, OPT(patience), NULL, NULL, "an integer from 1 to 1000"},
	{"tasks", OPT_PARSER, 0, 0, 0, NULL, ParseTasks, "an object naming each target's task, like {\"rating\": \"multiclass\"}"},
	{"task_weights", OPT_PARSER, 0, 0, 0, NULL, ParseTaskWeights, "an object of positive weights by target, like {\"quality\": 0.3, \"engagement\": 0.7}"},
	{"bins", OPT_PARSER, 0, 0, 0, NULL, ParseBins, "increasing cut points like [100, 200], or {\"quantiles\": k} with k from 2 to 1000"},
	{"rounds", OPT_INTEGER, 1, 10000, OPT(rounds), NULL, NULL, "an integer from 1 to 10000"},
	{"max_depth", OPT_INTEGER, 1, 16, OPT(max_depth), NULL, NULL, "an integer from 1 to 16"},
	{"min_child_weight", OPT_NUMBER, 0, 1e9, OPT(min_child_weight), NULL, NULL, "a number >= 0"},
	{"subsample", OPT_NUMBER, 0.01, 1, OPT(subsample), NULL, NULL, "a fraction from 0.01 to 1"},
	{"colsample", OPT_NUMBER, 0.01, 1, OPT(colsample), NULL, NULL, "a fraction from 0.01 to 1"},
	{"max_bins", OPT_INTEGER, 2, 1024, OPT(max_bins), NULL, NULL, "an integer from 2 to 1024"},
	{"split_by", OPT_NAME, 0, 0, OPT(split_by), NULL, NULL, "the name of a column (an id) whose value alone decides which rows are held out"},
	{"split", OPT_CHOICE, 0, 0, OPT(split), split_choices, NULL, "\"random\" (rows held out by a hash) or \"time\" (the latest rows by \"split_by\")"},
	{"split_seed", OPT_INT64, -9e15, 9e15, OPT(split_seed), NULL, NULL, "an integer"},
	{"objective", OPT_CHOICE, 0, 0, OPT(objective), objective_choices, NULL, "\"pointwise\" (each head's own loss) or \"ndcg\" (LambdaMART over the \"group\" column)"},
	{"classes", OPT_NAMES, 0, 0, OPT(classes), NULL, NULL, "an array of names, one per element of an array target (its classes or labels)"},
	{"weight", OPT_NAME, 0, 0, OPT(weight), NULL, NULL, "the name of a column of row weights (numbers >= 0)"},
	{"search", OPT_PARSER, 0, 0, 0, NULL, ParseSearch, "an object of options to try: lists of values, like {\"max_depth\": [3, 6, 9]} (every combination), or ranges, like {\"l2\": {\"min\": 0.0001, \"max\": 1, \"log\": true}} (random trials)"},
	{"trials", OPT_INTEGER, 1, 1000, OPT(trials), NULL, NULL, "an integer from 1 to 1000"},
	{"time_budget", OPT_NUMBER, 0.001, 1e7, OPT(time_budget), NULL, NULL, "a number of seconds > 0"},
	{"sample", OPT_NUMBER, 1e-9, 1e15, OPT(sample), NULL, NULL, "a fraction of the rows (above 0, up to 1) or a number of rows (above 1)"},
	{"warm_start", OPT_BOOL, 0, 0, OPT(warm_start), NULL, NULL, "true (continue the deployed version on the source given) or false"},
	{"streaming", OPT_BOOL, 0, 0, OPT(streaming), NULL, NULL, "true (sum the moments by aggregate passes, in parallel or on Citus workers) or false (read the rows here)"},
};

StaticAssertDecl(lengthof(known_options) <= 64, "RfOptions.given has one bit per option");

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

static void
ExpectType(const OptSpec *spec, JsonbValue *v, bool ok)
{
	if (!ok)
		BadOption(spec, psprintf("It is %s.", JsonTypeName(v)));
}

static bool
IsObject(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
IsArray(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

static List *
ParseNames(const OptSpec *spec, JsonbValue *v)
{
	List	   *names = NIL;
	JsonbContainer *arr;

	ExpectType(spec, v, IsArray(v));
	arr = v->val.binary.data;
	for (int i = 0; i < JsonArraySize(arr); i++)
	{
		JsonbValue *e = JsonArrayElement(arr, i);

		if (e->type != jbvString || e->val.string.len == 0)
			BadOption(spec, psprintf("Element %d is %s.", i + 1,
									 e->type == jbvString ? "an empty string" : JsonTypeName(e)));
		names = lappend(names, JsonValueText(e));
	}
	if (names == NIL && strcmp(spec->key, "features") == 0)
		BadOption(spec, "It names no column: a model needs at least one feature.");
	return names;
}

static double
ParseNumber(const OptSpec *spec, JsonbValue *v)
{
	double		d;

	ExpectType(spec, v, v->type == jbvNumeric);
	d = JsonValueNumber(v);
	if (isnan(d) || d < spec->min || d > spec->max)
		BadOption(spec, psprintf("%g is out of range.", d));
	if ((spec->kind == OPT_INTEGER || spec->kind == OPT_INT64) && d != floor(d))
		BadOption(spec, psprintf("%g is not an integer.", d));
	return d;
}

static char *
ParseChoice(const OptSpec *spec, JsonbValue *v)
{
	char	   *s;

	ExpectType(spec, v, v->type == jbvString);
	s = JsonValueText(v);
	for (int i = 0; spec->choices[i]; i++)
		if (strcmp(s, spec->choices[i]) == 0)
			return s;
	BadOption(spec, psprintf("\"%s\" is not one of them.", s));
	return NULL;
}

/* Every value of an object option must be a positive finite number. */
static void
CheckPositiveWeights(const OptSpec *spec, JsonbContainer *obj)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_VALUE &&
			(v.type != jbvNumeric || !(JsonValueNumber(&v) > 0) || isinf(JsonValueNumber(&v))))
			BadOption(spec, "Every weight must be a positive number.");
}

static void
ParseHidden(const OptSpec *spec, JsonbValue *v, RfOptions *o)
{
	JsonbContainer *arr;

	ExpectType(spec, v, IsArray(v));
	arr = v->val.binary.data;
	o->nhidden = JsonArraySize(arr);
	if (o->nhidden < 1 || o->nhidden > RF_MAX_LAYERS)
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

static void
ParseTasks(const OptSpec *spec, JsonbValue *v, RfOptions *o)
{
	JsonbIterator *it;
	JsonbValue	tv;
	JsonbIteratorToken tok;

	ExpectType(spec, v, IsObject(v));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &tv, true)) != WJB_DONE)
	{
		char	   *t;

		if (tok != WJB_VALUE)
			continue;
		t = JsonValueText(&tv);
		if (t == NULL || (strcmp(t, "regression") != 0 && strcmp(t, "binary") != 0 &&
						  strcmp(t, "multiclass") != 0))
			BadOption(spec, "Each task must be \"regression\", \"binary\" or \"multiclass\".");
	}
	o->tasks = v->val.binary.data;
}

static void
ParseTaskWeights(const OptSpec *spec, JsonbValue *v, RfOptions *o)
{
	ExpectType(spec, v, IsObject(v) && JsonContainerSize(v->val.binary.data) > 0);
	CheckPositiveWeights(spec, v->val.binary.data);
	o->task_weights = v->val.binary.data;
}

static void
ParseBins(const OptSpec *spec, JsonbValue *v, RfOptions *o)
{
	if (IsArray(v))
	{
		JsonbContainer *arr = v->val.binary.data;

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
	else if (IsObject(v))
	{
		JsonbValue *q = JsonField(v->val.binary.data, "quantiles");

		if (q == NULL || q->type != jbvNumeric || JsonContainerSize(v->val.binary.data) != 1)
			BadOption(spec, "An object must be {\"quantiles\": k}.");
		o->bin_quantiles = (int) JsonValueNumber(q);
		if (JsonValueNumber(q) != o->bin_quantiles || o->bin_quantiles < 2 || o->bin_quantiles > 1000)
			BadOption(spec, "k must be an integer from 2 to 1000.");
	}
	else
		ExpectType(spec, v, false);
}

static void
ParseThreshold(const OptSpec *spec, JsonbValue *v, RfOptions *o)
{
	if (v->type == jbvString && v->val.string.len == 2 && strncmp(v->val.string.val, "f1", 2) == 0)
		o->threshold_f1 = true;
	else if (v->type == jbvNumeric)
	{
		o->threshold = JsonValueNumber(v);
		if (!(o->threshold > 0 && o->threshold < 1))
			BadOption(spec, psprintf("%g is not strictly between 0 and 1.", o->threshold));
	}
	else
		ExpectType(spec, v, false);
}

/* "search" is read by search.c; here its shape is checked. */
static void
ParseSearch(const OptSpec *spec, JsonbValue *v, RfOptions *o)
{
	ExpectType(spec, v, v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data));
	o->search = v->val.binary.data;
}

static void
ParseL2(const OptSpec *spec, JsonbValue *v, RfOptions *o)
{
	if (v->type == jbvString && v->val.string.len == 4 && strncmp(v->val.string.val, "auto", 4) == 0)
		o->l2_auto = true;
	else
		o->l2 = ParseNumber(spec, v);
}

static void
ParseClassWeight(const OptSpec *spec, JsonbValue *v, RfOptions *o)
{
	if (v->type == jbvString && v->val.string.len == 8 &&
		strncmp(v->val.string.val, "balanced", 8) == 0)
		o->balanced = true;
	else if (IsObject(v))
	{
		CheckPositiveWeights(spec, v->val.binary.data);
		o->class_weight = v->val.binary.data;
	}
	else
		ExpectType(spec, v, false);
}

/* Stores a value where its spec says. */
static void
OptionSet(const OptSpec *spec, JsonbValue *v, RfOptions *o)
{
	char	   *dest = (char *) o + spec->offset;

	switch (spec->kind)
	{
		case OPT_NUMBER:
			*(double *) dest = ParseNumber(spec, v);
			break;
		case OPT_INTEGER:
			*(int *) dest = (int) ParseNumber(spec, v);
			break;
		case OPT_INT64:
			*(int64 *) dest = (int64) ParseNumber(spec, v);
			break;
		case OPT_BOOL:
			ExpectType(spec, v, v->type == jbvBool);
			*(bool *) dest = v->val.boolean;
			break;
		case OPT_CHOICE:
			*(char **) dest = ParseChoice(spec, v);
			break;
		case OPT_NAME:
			ExpectType(spec, v, v->type == jbvString);
			if (v->val.string.len == 0)
				BadOption(spec, "It is an empty string.");
			*(char **) dest = JsonValueText(v);
			break;
		case OPT_NAMES:
			*(List **) dest = ParseNames(spec, v);
			break;
		case OPT_PARSER:
			spec->parse(spec, v, o);
			break;
	}
}

static const OptSpec *
OptionFind(const char *key)
{
	for (int i = 0; i < lengthof(known_options); i++)
		if (strcmp(known_options[i].key, key) == 0)
			return &known_options[i];
	return NULL;
}

/* An unknown key: the nearest known one as a suggestion, else the whole list. */
static void
UnknownOption(const char *key)
{
	StringInfoData keys;
	const char *nearest = NULL;
	int			best = 3;		/* at most this many edits away */

	initStringInfo(&keys);
	for (int i = 0; i < lengthof(known_options); i++)
	{
		const char *k = known_options[i].key;
		int			d = varstr_levenshtein_less_equal(key, strlen(key), k, strlen(k), 1, 1, 1, best, false);

		appendStringInfo(&keys, i ? ", %s" : "%s", k);
		if (d < best || (d == best && nearest == NULL && d < (int) strlen(k)))
		{
			best = d;
			nearest = k;
		}
	}
	if (nearest)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown option \"%s\"", key),
				 errhint("Did you mean \"%s\"?", nearest)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown option \"%s\"", key),
			 errhint("Known options are: %s.", keys.data)));
}

static void
OptionsDefaults(RfOptions *o)
{
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
	o->rounds = 100;
	o->max_depth = 6;
	o->min_child_weight = 1.0;
	o->subsample = 1.0;
	o->colsample = 1.0;
	o->max_bins = 256;
}

RfOptions *
OptionsParse(Jsonb *options)
{
	RfOptions  *o = palloc0(sizeof(RfOptions));
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;

	OptionsDefaults(o);
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
		const OptSpec *spec;
		char	   *key;

		if (tok == WJB_BEGIN_OBJECT)
		{
			depth++;
			continue;
		}
		if (tok != WJB_KEY || depth != 1)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		spec = OptionFind(key);
		if (spec == NULL)
			UnknownOption(key);
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		OptionSet(spec, &v, o);
		o->given |= UINT64CONST(1) << (spec - known_options);
	}
	if (o->deploy_name)
		o->deploy = strcmp(o->deploy_name, "if_better") == 0 ? RF_DEPLOY_IF_BETTER :
			strcmp(o->deploy_name, "never") == 0 ? RF_DEPLOY_NEVER : RF_DEPLOY_ALWAYS;
	o->soft_sharing = o->sharing && strcmp(o->sharing, "soft") == 0;
	return o;
}

bool
OptionGiven(const RfOptions *o, const char *key)
{
	const OptSpec *spec = OptionFind(key);

	Assert(spec != NULL);
	return (o->given & (UINT64CONST(1) << (spec - known_options))) != 0;
}

/* Whether "key" is an option that takes an integer. */
bool
OptionIsInteger(const char *key)
{
	for (int i = 0; i < lengthof(known_options); i++)
		if (strcmp(known_options[i].key, key) == 0)
			return known_options[i].kind == OPT_INTEGER || known_options[i].kind == OPT_INT64;
	return false;
}

/* Counts the keys of an object of options (as "search" tries them) as given. */
void
OptionsGivenToo(RfOptions *o, JsonbContainer *obj)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_KEY)
			for (int i = 0; i < lengthof(known_options); i++)
				if (strlen(known_options[i].key) == v.val.string.len &&
					strncmp(known_options[i].key, v.val.string.val, v.val.string.len) == 0)
					o->given |= UINT64CONST(1) << i;
}

/* The keys of the options given, in the table's order, into keys (room for 64); returns how many. */
int
OptionsGivenKeys(const RfOptions *o, const char **keys)
{
	int			n = 0;

	for (int i = 0; i < lengthof(known_options); i++)
		if (o->given & (UINT64CONST(1) << i))
			keys[n++] = known_options[i].key;
	return n;
}
