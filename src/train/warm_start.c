/*
 * warm_start.c
 *		"warm_start": a new version that continues the deployed one on the
 *		rows of a source, instead of starting over.
 *
 * The options are the deployed version's (as given, with the family and
 * the penalty it chose) under those given now (reframe.warm_start_options,
 * in SQL); the encoder is the deployed one, checked against the source's
 * columns; the heads must be the deployed ones; and the family starts from
 * the deployed trunk: trees by XGBoost's own continued training, linear and
 * neural networks from its weights (RfFitData.warm).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "reframe.h"
#include "store.h"
#include "train_steps.h"

/*
 * The options of a training, with "warm_start": the deployed version's
 * under those given; the options as given without it.
 */
Jsonb *
WarmStartOptions(text *model, Jsonb *options)
{
	bool		isnull;
	Datum		merged;

	if (options == NULL || !OptionsParse(options)->warm_start)
		return options;
	SPI_connect();
	if (SPI_execute_with_args("SELECT " REFRAME_SCHEMA ".warm_start_options($1, $2)", 2,
							  (Oid[]) {TEXTOID, JSONBOID},
							  (Datum[]) {PointerGetDatum(model), JsonbPGetDatum(options)},
							  NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "reframe: could not read the options of the version a warm start continues");
	merged = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	merged = isnull ? PointerGetDatum(NULL) : SPI_datumTransfer(merged, false, -1);
	SPI_finish();
	{
		/* the family comes from the deployed version's spec, which is untrusted */
		RfOptions  *o = OptionsParse(DatumGetJsonbP(merged));

		if (o->model && FamilyByName(o->model) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model \"%s\": its deployed version is corrupt: spec field \"network.family\" names an unknown model family \"%s\"",
							text_to_cstring(model), o->model),
					 errhint("A model table holds what reframe.train wrote; retrain the model, or restore the table from a dump.")));
	}
	return DatumGetJsonbP(merged);
}

/* The deployed version a warm start continues, loaded whole and checked. */
void
WarmStartLoad(RfTrainState *ts)
{
	ts->warm = StoreLoadVersion(ts->relid, ts->model_name, -1);
	if (ts->warm == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no deployed version for a warm start to continue", ts->model_name),
				 errhint("Deploy a version with reframe.deploy, or train without \"warm_start\".")));
	if (ts->warm->nterms > 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a blend, which a warm start cannot continue", ts->model_name)));
}

/* A warm start's rows, read by aggregate passes: only the closed-form fits, which need no start. */
void
WarmStartCheckPath(RfTrainState *ts)
{
	if (ts->warm && ts->gradient)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\": a warm start reads the rows, and this training streams them by aggregate passes",
						ts->model_name),
				 errhint("Set \"streaming\": false.")));
}

/* The heads of a warm start: the deployed version's, output by output. */
void
WarmStartCheckHeads(RfTrainState *ts, const RfHead *heads, int nheads)
{
	const RfTrunk *old = ts->warm->net;
	bool		same = nheads == old->nheads;

	for (int h = 0; same && h < nheads; h++)
	{
		const RfHead *a = &heads[h];
		const RfHead *b = &old->heads[h];

		same = a->kind == b->kind && a->nout == b->nout && a->loss == b->loss &&
			a->nclasses == b->nclasses && strcmp(a->name, b->name) == 0;
		for (int k = 0; same && k < a->nclasses; k++)
			same = strcmp(a->classes[k], b->classes[k]) == 0;
	}
	if (!same)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("warm start of model \"%s\": the rows read make heads other than version %d's",
						ts->model_name, ts->warm->version),
				 errdetail("A warm start keeps the deployed version's targets, tasks and classes; the rows read must hold every class it knows, and no other."),
				 errhint("Train without \"warm_start\" to learn the new framing.")));
}
