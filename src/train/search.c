/*
 * search.c
 *		Choosing options by cross-validation, in one call of reframe.train:
 *		"model": "auto" (the families) and "search" (a family's options).
 *
 * Every candidate is cross-validated on the same folds (5 up to
 * SEARCH_CV_ROWS source rows, else one held-out fifth) by the training
 * driver's own folds, so a candidate's loss is what reframe.cross_validate
 * reports for its options.  The best trains the version; every candidate's
 * figures go to the version's metrics ("auto" or "search"), readable with
 * reframe.trials.  "trials" and "time_budget" bound how many are tried.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

#include "reframe.h"
#include "family.h"
#include "jsonutil.h"
#include "options.h"
#include "moments.h"
#include "store.h"
#include "train.h"

/* Up to this many source rows candidates are cross-validated on 5 folds, beyond on one. */
#define SEARCH_CV_ROWS 20000
/* Below this many source rows the default trains the linear family without comparing. */
#define AUTO_MIN_ROWS 100
/* Beyond this many source rows auto's candidates are measured on a sample of that many. */
#define AUTO_SAMPLE_ROWS 50000
/* Random trials when "trials" is not given */
#define SEARCH_DEFAULT_TRIALS 20
/* A grid larger than this needs "trials" (a sample of it) */
#define SEARCH_MAX_GRID 1000

/* One candidate: its options, and what the leaderboard shows of it (a JSON member list). */
typedef struct Candidate
{
	Jsonb	   *options;
	Jsonb	   *measured;		/* the options its folds train with */
	bool		sampled;		/* on a sample of AUTO_SAMPLE_ROWS rows */
	char	   *shown;			/* e.g. "\"model\": \"trees\"" */
	char	   *label;			/* for progress */
	char	   *context;		/* for errors */
} Candidate;

/* The source's rows, counted. */
static int64
SourceRows(text *source)
{
	char	   *sql = psprintf("SELECT count(*) FROM (%s) s", StoreSourceSql(source));
	int64		n = 0;
	bool		isnull;

	SPI_connect();
	if (SPI_execute(sql, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return n;
}

static Jsonb *
JsonConcat(Jsonb *a, Jsonb *b)
{
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(a), JsonbPGetDatum(b)));
}

/* The user's options without the keys that choose ("search", "trials", "time_budget"). */
static Jsonb *
BaseOptions(Jsonb *user)
{
	static const char *const keys[] = {"search", "trials", "time_budget"};
	Jsonb	   *j = user ? user : JsonFromText("{}");

	for (int i = 0; i < lengthof(keys); i++)
		j = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(j), CStringGetTextDatum(keys[i])));
	return j;
}

/* A candidate's options for its folds: without those that concern the version ("validation", "deploy"). */
static Jsonb *
FoldOptions(Jsonb *options)
{
	static const char *const keys[] = {"validation", "deploy"};

	for (int i = 0; i < lengthof(keys); i++)
		options = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(options),
													 CStringGetTextDatum(keys[i])));
	return options;
}

static void
CandidateContext(void *arg)
{
	errcontext("%s", (const char *) arg);
}

/*
 * A candidate's fold, its NOTICEs and WARNINGs kept from the client: the
 * training of the winner says each of them once (a rare class, a task
 * inferred), not once per candidate and fold.  Errors still reach it.
 */
static double
QuietFold(TrainArgs *a, int fold)
{
	int			nest = NewGUCNestLevel();
	double		loss;

	(void) set_config_option("client_min_messages", "error", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	loss = TrainOneFold(a, fold, 5, NULL);
	AtEOXact_GUC(true, nest);
	return loss;
}

/*
 * A race ("model": "auto"): after each fold, a candidate whose mean loss so
 * far is RACE_FAR times the best's after one fold, or RACE_NEAR times after
 * two or more, is out (the folds are the same rows for every candidate, so
 * the gap is not fold noise); once one is left, the folds stop.
 */
#define RACE_FAR 2.0
#define RACE_NEAR 1.5
/*
 * ... and after RACE_STEADY_FOLDS folds, one worse than the leader on every
 * fold so far and RACE_STEADY times its loss: a steady gap, which one fold's
 * luck does not make.
 */
#define RACE_STEADY 1.1
#define RACE_STEADY_FOLDS 3

/*
 * After fold f of a race: drops each candidate far behind the leader's mean
 * loss lead after the first fold, near behind after later ones, or behind
 * it on every fold so far by a steady gap.
 */
static void
RaceDrop(int n, int nfolds, int f, int leader, double lead, const double *sum, const double *fold_loss,
		 const int *folds, bool *alive, int *left)
{
	for (int i = 0; i < n; i++)
	{
		bool		steady = f + 1 >= RACE_STEADY_FOLDS && i != leader;

		for (int k = 0; steady && k <= f; k++)
			steady = fold_loss[i * nfolds + k] > fold_loss[leader * nfolds + k];
		if (alive[i] && (sum[i] / folds[i] > lead * (f == 0 ? RACE_FAR : RACE_NEAR) ||
						 (steady && sum[i] / folds[i] > lead * RACE_STEADY)))
		{
			alive[i] = false;
			(*left)--;
		}
	}
}

/*
 * Appends each measured candidate's {shown..., "loss", "folds"} and how
 * they were measured to buf; returns the best of those measured on the
 * most folds, or an error when none has a loss.
 */
static int
CandidatesReport(const char *model, Candidate *c, int n, int nfolds, bool race, const double *sum,
				 const int *folds, StringInfo buf)
{
	double		best = get_float8_infinity();
	int			winner = -1;
	int			measured = 0;
	bool		first = true;

	for (int i = 0; i < n; i++)
	{
		double		loss;

		if (folds[i] == 0)
			continue;
		loss = sum[i] / folds[i];
		appendStringInfo(buf, "%s{%s, \"loss\": ", first ? "" : ", ", c[i].shown);
		JsonAppendNumber(buf, loss);
		appendStringInfo(buf, ", \"folds\": %d}", folds[i]);
		first = false;
		measured++;
		if (isnan(loss))
			continue;
		/* the best of those measured on the most folds */
		if (winner < 0 || folds[i] > folds[winner] || (folds[i] == folds[winner] && loss < best))
			best = loss, winner = i;
	}
	appendStringInfo(buf, "], \"method\": \"%s\", \"measured\": %d, \"planned\": %d",
					 nfolds > 1 ? (race ? "5-fold cross-validation, raced" : "5-fold cross-validation") :
					 "one held-out fifth", measured, n);
	if (measured < n)
		appendStringInfoString(buf, ", \"stopped\": \"time_budget\"");
	if (winner < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("model \"%s\": no candidate could be measured, each cross-validated loss being NaN", model),
				 errhint("Look at cross_validate's figures for these options.")));
	return winner;
}

/*
 * Cross-validates the candidates fold by fold, within the time budget (the
 * first always runs; a candidate not started by then is not measured),
 * appending {shown..., "loss", "folds"} for each measured one to buf, the
 * loss being the mean over its folds.  Returns the index of the best.
 */
static int
MeasureCandidates(const char *model, Candidate *c, int n, TrainArgs *base, int nfolds, double time_budget,
				  bool race, StringInfo buf)
{
	instr_time	start;
	double	   *sum = palloc0(sizeof(double) * n);
	double	   *fold_loss = palloc0(sizeof(double) * n * nfolds);	/* [candidate][fold] */
	int		   *folds = palloc0(sizeof(int) * n);
	bool	   *alive = palloc(sizeof(bool) * n);
	int			left = n;

	for (int i = 0; i < n; i++)
		alive[i] = true;
	INSTR_TIME_SET_CURRENT(start);
	/* a race ends once one is left (a lone candidate is measured on one fold) */
	for (int f = 0; f < nfolds && (f == 0 || left > (race ? 1 : 0)); f++)
	{
		double		lead = get_float8_infinity();
		int			leader = -1;

		for (int i = 0; i < n; i++)
		{
			TrainArgs	a = *base;
			ErrorContextCallback cb = {error_context_stack, CandidateContext, c[i].context};
			instr_time	now;

			if (!alive[i])
				continue;
			INSTR_TIME_SET_CURRENT(now);
			INSTR_TIME_SUBTRACT(now, start);
			if (f == 0 && i > 0 && time_budget > 0 && INSTR_TIME_GET_DOUBLE(now) > time_budget)
			{
				alive[i] = false;	/* not started: not measured */
				left--;
				continue;
			}
			a.options = c[i].measured;
			a.label = c[i].label;
			error_context_stack = &cb;
			fold_loss[i * nfolds + f] = QuietFold(&a, f);
			sum[i] += fold_loss[i * nfolds + f];
			error_context_stack = cb.previous;
			folds[i]++;
			if (sum[i] / folds[i] < lead)
			{
				lead = sum[i] / folds[i];
				leader = i;
			}
			CHECK_FOR_INTERRUPTS();
		}
		if (race && f + 1 < nfolds)
			RaceDrop(n, nfolds, f, leader, lead, sum, fold_loss, folds, alive, &left);
	}
	return CandidatesReport(model, c, n, nfolds, race, sum, folds, buf);
}

/* ---------- "model": "auto", and the default ---------- */

/*
 * The candidates of the family table (families.c), in its order: the
 * linear family (its penalty chosen by cross-validation), trees (early
 * stopped) and, on sources of up to 10,000 rows, a [32] network (the first
 * "trials" of them); for the default, only the families every option given
 * applies to ("fit", else NULL).  Beyond AUTO_SAMPLE_ROWS rows each is
 * measured on a seeded sample of that many (of the user's sample).
 */
static int
AutoCandidates(const char *model, Jsonb *user, const RfOptions *o, int64 rows, const RfOptions *fit,
			   Candidate **out)
{
	Candidate  *c = palloc0(sizeof(Candidate) * FamilyCount());
	double		kept = !OptionGiven(o, "sample") ? rows : o->sample <= 1 ? o->sample * rows : o->sample;
	int			n = 0;

	for (int i = 0; i < FamilyCount() && (o->trials == 0 || n < o->trials); i++)
	{
		const RfFamily *f = FamilyAt(i);
		const char *start = f->candidate;

		if (start == NULL || (f->candidate_rows > 0 && rows > f->candidate_rows))
			continue;
		if (fit && !FamilyTakesOptions(f, fit))
			continue;
		c[n].options = JsonConcat(JsonConcat(JsonFromText(start), user),
								  JsonFromText(psprintf("{\"model\": \"%s\"}", f->name)));
		c[n].measured = FoldOptions(c[n].options);
		c[n].sampled = kept > AUTO_SAMPLE_ROWS;
		if (c[n].sampled)
			c[n].measured = JsonConcat(c[n].measured, JsonFromText(psprintf("{\"sample\": %d}", AUTO_SAMPLE_ROWS)));
		/* its options as the leaderboard and reframe.trials show them */
		c[n].shown = psprintf("\"model\": \"%s\"%s%.*s", f->name, strlen(start) > 2 ? ", " : "",
							  (int) strlen(start) - 2, start + 1);
		if (fit)
		{
			/* the default: errors read as the training's own */
			c[n].label = pstrdup(model);
			c[n].context = psprintf("choosing the family of model \"%s\": cross-validating the %s family",
									model, f->name);
		}
		else
		{
			c[n].label = psprintf("%s (auto: %s)", model, f->name);
			c[n].context = psprintf("cross-validating the %s candidate of \"model\": \"auto\" for model \"%s\"",
									f->name, model);
		}
		n++;
	}
	*out = c;
	return n;
}

/* Races the candidates: the leaderboard into buf, the winner's options into *options. */
static void
AutoRace(const char *model, TrainArgs *args, RfOptions *o, const RfOptions *fit, int64 rows, Jsonb **options,
		 StringInfo buf)
{
	Candidate  *c;
	int			n = AutoCandidates(model, BaseOptions(*options), o, rows, fit, &c);
	int			winner;

	TrainCheckArgs(model, args->target, args->task, c[0].options);
	appendStringInfoString(buf, "{\"candidates\": [");
	winner = MeasureCandidates(model, c, n, args, rows <= SEARCH_CV_ROWS ? 5 : 1, o->time_budget, true, buf);
	if (c[winner].sampled)
		appendStringInfo(buf, ", \"sample\": %d", AUTO_SAMPLE_ROWS);
	appendStringInfo(buf, ", \"chosen\": {%s}}", c[winner].shown);
	*options = c[winner].options;
}

/*
 * Sets "model" (and the options its candidate starts from) in the options,
 * with the reason as auto's leaderboard (none for NULL).
 */
static void
DefaultFamily(const RfFamily *f, const char *reason, Jsonb **options, StringInfo buf)
{
	*options = JsonConcat(JsonConcat(JsonFromText(f->candidate ? f->candidate : "{}"), BaseOptions(*options)),
						  JsonFromText(psprintf("{\"model\": \"%s\"}", f->name)));
	if (reason == NULL)
		return;
	appendStringInfo(buf, "{\"chosen\": {\"model\": \"%s\"}, \"reason\": ", f->name);
	JsonAppendString(buf, reason);
	appendStringInfoChar(buf, '}');
}

/*
 * The family when the options name none (and give no "hidden" layers):
 * reframe.default_model's, where the options apply to it; else the one
 * family they apply to; else the family that trains by passes for a source
 * that calls for them (MomentsSourceCallsForPasses), or the table's first
 * (the simplest) for fewer than AUTO_MIN_ROWS rows; else auto's race among
 * the families they apply to.  Searched options count as given.
 */
static void
DefaultChoose(const char *model, TrainArgs *args, RfOptions *o, Jsonb **options, StringInfo buf)
{
	const RfFamily *streaming = FamilyStreaming();
	const RfFamily *only = NULL;
	const RfFamily *simplest = NULL;
	const char *passes;
	int64		rows;
	int			fitting = 0;

	if (strcmp(reframe_default_model, "auto") != 0)
	{
		const RfFamily *f = FamilyByName(reframe_default_model);

		if (f && FamilyTakesOptions(f, o))
		{
			/* as asked: no reason in the metrics */
			DefaultFamily(f, NULL, options, buf);
			return;
		}
	}
	for (int i = 0; i < FamilyCount(); i++)
		if (FamilyTakesOptions(FamilyAt(i), o))
		{
			only = FamilyAt(i);
			simplest = simplest ? simplest : only;
			fitting++;
		}
	if (fitting == 0)
		FamilyCheckSomeFamily(o);
	if (fitting == 1)
	{
		DefaultFamily(only, "the options given apply to this family alone", options, buf);
		return;
	}
	passes = streaming && FamilyTakesOptions(streaming, o) ?
		MomentsSourceCallsForPasses(StoreSourceSql(args->source)) : NULL;
	if (passes)
	{
		DefaultFamily(streaming, passes, options, buf);
		return;
	}
	rows = SourceRows(args->source);
	if (rows < AUTO_MIN_ROWS)
	{
		DefaultFamily(simplest, psprintf("%lld source rows, too few to compare families by cross-validation",
										 (long long) rows), options, buf);
		return;
	}
	AutoRace(model, args, o, o, rows, options, buf);
}

/* ---------- "search" ---------- */

/* One searched option: a list of values (JSON texts), or a range. */
typedef struct Axis
{
	char	   *key;
	int			n;				/* values; 0 for a range */
	char	  **values;
	double		lo, hi;
	bool		log;
	bool		integer;
} Axis;

static void
BadSearch(const char *key, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"search\" cannot try \"%s\": %s", key, why),
			 errhint("Give a list of values, like [3, 6, 9], or a range, like {\"min\": 0.001, \"max\": 1, \"log\": true}.")));
}

static void
AxisRange(Axis *a, JsonbContainer *r)
{
	JsonbValue *lo = JsonField(r, "min");
	JsonbValue *hi = JsonField(r, "max");

	if (!lo || !hi || lo->type != jbvNumeric || hi->type != jbvNumeric)
		BadSearch(a->key, "a range needs numbers \"min\" and \"max\"");
	a->lo = JsonValueNumber(lo);
	a->hi = JsonValueNumber(hi);
	a->log = JsonFieldBool(r, "log", false);
	a->integer = OptionIsInteger(a->key);
	if (!(a->lo < a->hi))
		BadSearch(a->key, "\"min\" must be below \"max\"");
	if (a->log && a->lo <= 0)
		BadSearch(a->key, "a \"log\" range must be above 0");
	if (a->integer && (a->lo != floor(a->lo) || a->hi != floor(a->hi)))
		BadSearch(a->key, "it takes integers, so the range's ends must be integers");
}

/* The searched options; *random when a range asks for random trials. */
static int
SearchAxes(JsonbContainer *search, Axis **out, bool *random)
{
	static const char *const fixed[] = {"search", "trials", "time_budget", "model", "validation", "deploy"};
	int			cap = 8;
	int			n = 0;
	Axis	   *axes = palloc0(sizeof(Axis) * cap);
	JsonbIterator *it = JsonbIteratorInit(search);
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	*random = false;
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		if (tok != WJB_VALUE)
			continue;
		for (int i = 0; i < lengthof(fixed); i++)
			if (strcmp(key, fixed[i]) == 0)
				BadSearch(key, "it is not an option a trial can vary");
		if (n == cap)
			axes = repalloc(axes, sizeof(Axis) * (cap *= 2));
		axes[n].key = key;
		if (v.type == jbvBinary && JsonContainerIsArray(v.val.binary.data))
		{
			JsonbContainer *arr = v.val.binary.data;

			axes[n].n = JsonArraySize(arr);
			if (axes[n].n == 0)
				BadSearch(key, "the list of values is empty");
			axes[n].values = palloc(sizeof(char *) * axes[n].n);
			for (int i = 0; i < axes[n].n; i++)
				axes[n].values[i] = JsonValueJson(JsonArrayElement(arr, i));
		}
		else if (v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data))
		{
			AxisRange(&axes[n], v.val.binary.data);
			*random = true;
		}
		else
			BadSearch(key, "it is neither a list of values nor a range");
		n++;
	}
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"search\" names no option to try"),
				 errhint("For example '{\"search\": {\"max_depth\": [3, 6, 9]}}'.")));
	*out = axes;
	return n;
}

/* A random value of a range, as JSON. */
static char *
RangeDraw(const Axis *a, pg_prng_state *rng)
{
	double		u = pg_prng_double(rng);
	double		x = a->log ? exp(log(a->lo) + u * (log(a->hi) - log(a->lo))) : a->lo + u * (a->hi - a->lo);
	StringInfoData buf;

	if (a->integer)
		return psprintf("%.0f", Min(floor(a->log ? x + 0.5 : a->lo + u * (a->hi - a->lo + 1)), a->hi));
	initStringInfo(&buf);
	JsonAppendNumber(&buf, x);
	return buf.data;
}

/* Trial t's values: grid point "point", or random draws. */
static char *
TrialValues(Axis *axes, int naxes, int64 point, pg_prng_state *rng)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < naxes; i++)
	{
		const char *value;

		if (axes[i].n == 0)
			value = RangeDraw(&axes[i], rng);
		else if (point >= 0)
		{
			value = axes[i].values[point % axes[i].n];
			point /= axes[i].n;
		}
		else
			value = axes[i].values[pg_prng_uint64_range(rng, 0, axes[i].n - 1)];
		appendStringInfoString(&buf, i ? ", " : "");
		JsonAppendString(&buf, axes[i].key);
		appendStringInfo(&buf, ": %s", value);
	}
	return buf.data;
}

/*
 * The trials: every combination of the lists (a grid), or "trials" of
 * them drawn without repetition when asked for fewer; with a range,
 * "trials" random draws (20 by default).  Seeded by "seed".
 */
static int
SearchCandidates(const char *model, Jsonb *user, RfOptions *o, Candidate **out)
{
	Axis	   *axes;
	bool		random;
	int			naxes = SearchAxes(o->search, &axes, &random);
	double		grid = 1;
	int			n;
	int64	   *points = NULL;
	pg_prng_state rng;
	Candidate  *c;

	pg_prng_seed(&rng, (uint64) o->seed ^ UINT64CONST(0x5EA2C4));
	for (int i = 0; i < naxes && !random; i++)
		grid *= axes[i].n;
	if (!random && grid > SEARCH_MAX_GRID && o->trials == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"search\" has %.0f combinations, more than %d", grid, SEARCH_MAX_GRID),
				 errhint("Give \"trials\" to try that many of them, drawn at random.")));
	n = random ? (o->trials ? o->trials : SEARCH_DEFAULT_TRIALS) : (int) Min(grid, o->trials ? o->trials : grid);
	if (!random)
	{
		/* the first n of a seeded shuffle of the grid (all of it, in order, when n is) */
		int64		size = (int64) Min(grid, 1e7);

		points = palloc(sizeof(int64) * n);
		for (int64 i = 0; i < n; i++)
			points[i] = i;
		for (int64 i = n; n < grid && i < size; i++)
		{
			int64		j = (int64) pg_prng_uint64_range(&rng, 0, i);

			if (j < n)
				points[j] = i;
		}
	}
	c = palloc0(sizeof(Candidate) * n);
	for (int t = 0; t < n; t++)
	{
		char	   *values = TrialValues(axes, naxes, random ? -1 : points[t], &rng);

		c[t].options = JsonConcat(user, JsonFromText(psprintf("{%s}", values)));
		c[t].measured = FoldOptions(c[t].options);
		c[t].shown = psprintf("\"options\": {%s}", values);
		c[t].label = psprintf("%s (search: trial %d of %d)", model, t + 1, n);
		c[t].context = psprintf("search trial %d of %d for model \"%s\": {%s}", t + 1, n, model, values);
	}
	*out = c;
	return n;
}

static void
SearchTrials(const char *model, TrainArgs *args, RfOptions *o, Jsonb **options, StringInfo buf)
{
	int64		rows = SourceRows(args->source);
	Candidate  *c;
	int			n = SearchCandidates(model, BaseOptions(*options), o, &c);
	int			winner;

	appendStringInfoString(buf, "{\"trials\": [");
	winner = MeasureCandidates(model, c, n, args, rows <= SEARCH_CV_ROWS ? 5 : 1, o->time_budget, false, buf);
	appendStringInfo(buf, ", \"chosen\": {%s}}", c[winner].shown);
	*options = c[winner].options;
}

/*
 * What reframe.train chooses before it trains: the family when the options
 * name none (the default), "model": "auto"'s race, and "search"'s trials.
 * Returns the choices as JSON members for the version's metrics ("auto",
 * "search"), or NULL; *options become those to train with.
 */
char *
SearchChoose(text *model, text *source, text *target, char *task, Jsonb **options)
{
	RfOptions  *o = OptionsParse(*options);
	bool		automatic = o->model && strcmp(o->model, "auto") == 0;
	bool		defaulted = o->model == NULL && o->nhidden == 0;
	TrainArgs	args = {source, target, task, NULL, NULL};
	char	   *name = text_to_cstring(model);
	StringInfoData buf;

	FamilyCheckModel(o);
	if (!automatic && !defaulted && o->search == NULL)
	{
		if (OptionGiven(o, "trials") || OptionGiven(o, "time_budget"))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("options \"trials\" and \"time_budget\" bound \"search\" or \"model\": \"auto\""),
					 errhint("Add one of them, or drop these options.")));
		return NULL;
	}
	if (automatic && o->search)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"search\" tries one family's options, and \"model\": \"auto\" tries the families"),
				 errhint("Choose a family with \"model\" to search its options.")));
	initStringInfo(&buf);
	if (automatic)
	{
		FamilyCheckOptions(NULL, o);
		appendStringInfoString(&buf, "\"auto\": ");
		AutoRace(name, &args, o, NULL, SourceRows(source), options, &buf);
	}
	else if (defaulted)
	{
		/* the family first, by its defaults; then the options "search" tries for it */
		RfOptions  *plain = OptionsParse(BaseOptions(*options));
		Jsonb	   *given = *options;
		StringInfoData why;

		initStringInfo(&why);
		if (o->search)
			OptionsGivenToo(plain, o->search);
		DefaultChoose(name, &args, o->search ? plain : o, options, &why);
		if (o->search)
			*options = JsonConcat(*options, given);
		if (why.len)
			appendStringInfo(&buf, "\"auto\": %s", why.data);
	}
	if (o->search)
	{
		o = OptionsParse(*options);
		appendStringInfoString(&buf, buf.len ? ", \"search\": " : "\"search\": ");
		SearchTrials(name, &args, o, options, &buf);
	}
	return buf.len ? buf.data : NULL;
}

/*
 * The options reframe.cross_validate measures: the default's family chosen
 * as reframe.train chooses it (said in a NOTICE), when they name none.
 */
Jsonb *
SearchDefaultOptions(text *source, text *target, char *task, Jsonb *options)
{
	RfOptions  *o = OptionsParse(options);
	TrainArgs	args = {source, target, task, NULL, NULL};
	StringInfoData buf;

	if (o->model || o->nhidden > 0 || o->search)
		return options;
	initStringInfo(&buf);
	DefaultChoose("cross_validate", &args, o, &options, &buf);
	if (buf.len)
	{
		JsonbValue *reason = JsonField(&JsonFromText(buf.data)->root, "reason");

		ereport(NOTICE,
				(errmsg("cross-validating the %s family, which reframe.train chooses for these options",
						JsonValueText(JsonField(&options->root, "model"))),
				 errdetail("%s.", reason ? JsonValueText(reason) :
						   "Of the families it cross-validated, its loss was the least")));
	}
	return options;
}
