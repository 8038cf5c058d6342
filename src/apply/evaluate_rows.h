/*
 * evaluate_rows.h
 *		How reframe.evaluate reads rows (evaluate_rows.c): the columns of a
 *		model's inputs, targets and weights in a row, and a row's cells,
 *		shared by the read on this node and by reframe.evaluate_row on the
 *		workers of a Citus cluster (evaluate_workers.c).
 */
#ifndef REFRAME_EVALUATE_ROWS_H
#define REFRAME_EVALUATE_ROWS_H

#include "executor/tuptable.h"
#include "tcop/dest.h"
#include "utils/jsonb.h"

#include "reframe.h"
#include "encoder.h"
#include "evaluate.h"
#include "store.h"

typedef struct EvalReceiver
{
	DestReceiver pub;
	RfModel    *model;
	bool		started;
	int		   *attno;			/* feature columns in the source */
	Oid		   *atttype;
	int		   *tattno;			/* per head: its target column */
	Oid		   *ttype;
	int		  **lattno;			/* per multilabel head: each label's column */
	int		  **byname;			/* per classification head: classes sorted by name */
	RfEvalAcc  *acc;
	double	   *raw;
	double	   *enc;
	double	   *out;
	double	   *scratch;
	int		   *cell_at;		/* per head: its first cell in a row's cells (evaluate_state.h) */
	int			ncells;
	double	   *cells;
	bool		on_workers;		/* scored and summed where the rows are (evaluate_workers.c) */
	int64		rows;
	int64		null_targets;
	int64		unknown_classes;
	MemoryContext rowcxt;

	/* ranking: the query column, and every row's query, score and relevance */
	char	   *group;
	int			k;
	int			gattno;
	/* "weight": the column of row weights, or NULL */
	char	   *weight;
	int			wattno;
	Oid			wtype;
	Oid			gtype;
	RfDict	   *gdict;
	double	   *rank_group;
	double	   *rank_score;
	double	   *rank_rel;
	int64		nrank;
	int64		caprank;
} EvalReceiver;

/* The receiver's arrays for its model (r->model set), and its DestReceiver callbacks. */
extern void EvalReceiverInit(EvalReceiver *r, bool curves);

/* Finds the model's inputs, targets, weight and group among td's columns, by name. */
extern void EvalFindColumns(EvalReceiver *r, TupleDesc td);

/* Checks the types of the columns found (or given by a plan) against what the model learned. */
extern void EvalCheckColumns(EvalReceiver *r, TupleDesc td);

/*
 * A row's cells (evaluate_state.h): its status, and when it has a target
 * its weight and, per head, its targets, linked outputs and logit.
 * Returns the status.
 */
extern int	EvalRowCells(EvalReceiver *r, TupleTableSlot *slot, double *cells);

/* Adds a row's cells to r's metrics, and its query (group) to the ranking's. */
extern void EvalAddCells(EvalReceiver *r, const double *cells, Datum group, bool group_null);

/* Reads the source through r on this node, scoring and measuring each row. */
extern void EvalReadSource(EvalReceiver *r, text *source);

/* The selection metric of the rows r read, weighted over the heads; *metric its name. */
extern double EvalSelection(EvalReceiver *r, const char **metric);

/*
 * reframe.evaluate over a Citus distributed source: scored and summed on
 * the workers, or with every_row (ranking, curves) scored there and each
 * row's cells added here.  Returns false, having read nothing, for any
 * other source.
 */
extern bool EvalOnWorkers(EvalReceiver *r, Oid relid, text *source, bool every_row);

#endif
