/*
 * pin.c
 *		One version per statement on a Citus cluster.
 *
 * A distributed query's shards are scored by worker tasks, each in a
 * transaction and snapshot of its own: a deployment committing while they
 * run would leave some shards scored by one version and the rest by the
 * next.  So the planner pins every model a statement scores by a constant
 * name, when the model's table is a Citus reference table:
 * reframe.score('m', e) is planned as reframe.score('m@3', e), 3 being the
 * version this backend sees deployed as the statement is planned, and
 * Citus ships that name to every task.  The plan depends on the model's
 * table, so a prepared statement is planned, and pinned, again after a
 * deployment.  Elsewhere nothing changes: one node's statement already
 * scores with the version its snapshot sees.
 *
 * The planner hook is there from the start of a session only when reframe
 * is in shared_preload_libraries (after citus); loaded later, it pins the
 * statements planned once the module is loaded.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "reframe.h"
#include "pin.h"
#include "store.h"

/* The C functions that score a row with a model named by their first argument. */
static const char *const scoring_symbols[] = {
	"reframe_score", "reframe_predict", "reframe_predict_proba", "reframe_predict_labels",
	"reframe_predict_all", "reframe_explain"
};

static planner_hook_type prev_planner = NULL;

typedef struct PinContext
{
	List	   *relids;			/* the model tables pinned, for the plan's dependencies */
} PinContext;

/* Whether funcid is one of reframe's scoring functions (by its C symbol and library). */
static bool
IsScoringFunction(Oid funcid)
{
	HeapTuple	tp = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	bool		found = false;

	if (!HeapTupleIsValid(tp))
		return false;
	if (((Form_pg_proc) GETSTRUCT(tp))->prolang == ClanguageId)
	{
		bool		srcnull;
		bool		binnull;
		Datum		src = SysCacheGetAttr(PROCOID, tp, Anum_pg_proc_prosrc, &srcnull);
		Datum		bin = SysCacheGetAttr(PROCOID, tp, Anum_pg_proc_probin, &binnull);

		if (!srcnull && !binnull)
		{
			char	   *lib = TextDatumGetCString(bin);
			char	   *sym = TextDatumGetCString(src);
			const char *base = strrchr(lib, '/');

			base = base ? base + 1 : lib;
			if (strncmp(base, "reframe", 7) == 0 && (base[7] == '\0' || base[7] == '.'))
				for (int i = 0; i < lengthof(scoring_symbols) && !found; i++)
					found = strcmp(sym, scoring_symbols[i]) == 0;
		}
	}
	ReleaseSysCache(tp);
	return found;
}

/* The model-name argument of a call: its first, or the one named "model". */
static Node **
ModelArgument(FuncExpr *f)
{
	ListCell   *lc;

	foreach(lc, f->args)
	{
		Node	   *arg = lfirst(lc);

		if (IsA(arg, NamedArgExpr) && ((NamedArgExpr *) arg)->argnumber == 0)
			return (Node **) &((NamedArgExpr *) arg)->arg;
		if (!IsA(arg, NamedArgExpr) && foreach_current_index(lc) == 0)
			return (Node **) &lfirst(lc);
	}
	return NULL;
}

/* Pins one call's constant model name, when its model is on a Citus cluster. */
static void
PinCall(FuncExpr *f, PinContext *cx)
{
	Node	  **arg = ModelArgument(f);
	Const	   *c;
	text	   *name;
	int32		version;
	Oid			relid;
	Oid			readrelid = InvalidOid;

	if (arg == NULL || !IsA(*arg, Const))
		return;
	c = (Const *) *arg;
	if (c->consttype != TEXTOID || c->constisnull || !IsScoringFunction(f->funcid))
		return;
	name = DatumGetTextPP(c->constvalue);
	(void) StoreSplitVersion(name, &version);
	if (version > 0)
		return;					/* a version named already */
	relid = StoreFindReadableModel(name);
	if (!OidIsValid(relid))
		return;					/* scoring will say why */
	version = StoreStatementVersion(relid, text_to_cstring(name), &readrelid);
	if (version <= 0)
		return;
	*arg = (Node *) makeConst(TEXTOID, -1, c->constcollid, -1,
							  CStringGetTextDatum(psprintf("%s@%d", text_to_cstring(name), version)),
							  false, false);
	cx->relids = lappend_oid(cx->relids, relid);
	if (readrelid != relid)
		cx->relids = lappend_oid(cx->relids, readrelid);
}

static bool
PinWalker(Node *node, PinContext *cx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, PinWalker, cx, 0);
	if (IsA(node, FuncExpr))
		PinCall((FuncExpr *) node, cx);
	return expression_tree_walker(node, PinWalker, cx);
}

static PlannedStmt *
PinPlanner(Query *parse, const char *query_string, int cursorOptions, ParamListInfo boundParams)
{
	PinContext	cx = {NIL};
	PlannedStmt *result;

	if (parse->commandType == CMD_SELECT || parse->commandType == CMD_INSERT ||
		parse->commandType == CMD_UPDATE || parse->commandType == CMD_DELETE)
		(void) PinWalker((Node *) parse, &cx);
	result = prev_planner ? prev_planner(parse, query_string, cursorOptions, boundParams) :
		standard_planner(parse, query_string, cursorOptions, boundParams);
	/* a write to a pinned model's table invalidates the plan, which is then pinned anew */
	result->relationOids = list_concat(result->relationOids, cx.relids);
	return result;
}

void
ReframePinInit(void)
{
	prev_planner = planner_hook;
	planner_hook = PinPlanner;
}
