/*
 * row_order.c
 *		The rows' canonical order: the same rows give the same model in
 *		whatever order the source returns them.
 *
 * A parallel scan, or a Citus cluster's tasks, return a table's rows in
 * an order that changes from run to run; XGBoost's row sampling, a
 * network's batches, the order of floating-point sums all follow the
 * stored order.  So once every row is read, each split set's stored rows
 * are sorted by their split hash (the query's or the split_by value's, or
 * the row's own), then by the hash of their content, then by their stored
 * values, and only then counted into the encoder's statistics: the first
 * row of that order fixes their origins.  Sorting by a hash is a seeded
 * shuffle, which is what the fits want anyway.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "reframe.h"
#include "train_steps.h"

typedef struct RowKey
{
	uint64		split;			/* the hash the split draws from */
	uint64		content;		/* the hash of the row's values and targets */
	int64		row;			/* where it is stored */
} RowKey;

typedef struct RowSet
{
	RfMatrix   *raw;
	RfMatrix   *Y;
	double	   *draws;
} RowSet;

/* Keeps row n of set `set`'s sort keys. */
void
TrainKeepRowKey(RfTrainState *ts, int set, uint64 split, uint64 content)
{
	int64		n = ts->nrows[set];
	RowKey	   *k;

	ts->rowkeys[set] = TrainRowArray(ts, ts->rowkeys[set], n, sizeof(RowKey), &ts->rowkeys_map[set]);
	k = (RowKey *) ts->rowkeys[set] + n;
	k->split = split;
	k->content = content;
	k->row = n;
}

/* The same hashes: the same values, but for a weight (or a collision). */
static int
RowValuesCmp(const RowKey *x, const RowKey *y, const RowSet *s)
{
	int			c = memcmp(RfMatrixRowF(s->raw, x->row), RfMatrixRowF(s->raw, y->row),
						   sizeof(float) * s->raw->ncols);

	if (c == 0)
		c = memcmp(RfMatrixRow(s->Y, x->row), RfMatrixRow(s->Y, y->row), sizeof(double) * s->Y->ncols);
	return c;
}

#define ROW_KEY_CMP(a, b, s) \
	((a)->split != (b)->split ? ((a)->split < (b)->split ? -1 : 1) : \
	 (a)->content != (b)->content ? ((a)->content < (b)->content ? -1 : 1) : \
	 RowValuesCmp(a, b, s))

#define ST_SORT sort_row_keys
#define ST_ELEMENT_TYPE RowKey
#define ST_COMPARE(a, b, arg) ROW_KEY_CMP(a, b, arg)
#define ST_COMPARE_ARG_TYPE RowSet
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * The keys sorted, into a new array (*map says where it is mapped): first
 * into buckets by their split hash's top 16 bits, one pass, then each
 * bucket (a dozen keys for a million rows) by the full comparison.
 */
static RowKey *
SortRowKeys(RowKey *keys, int64 n, RowSet *s, RfMapped **map)
{
	int64	   *start = palloc0(sizeof(int64) * (65536 + 1));
	int64	   *next = palloc(sizeof(int64) * 65536);
	RowKey	   *out = RfAllocLarge(sizeof(RowKey) * n, map);

	for (int64 i = 0; i < n; i++)
		start[(keys[i].split >> 48) + 1]++;
	for (int b = 0; b < 65536; b++)
	{
		start[b + 1] += start[b];
		next[b] = start[b];
	}
	for (int64 i = 0; i < n; i++)
		out[next[keys[i].split >> 48]++] = keys[i];
	for (int b = 0; b < 65536; b++)
		if (start[b + 1] - start[b] > 1)
			sort_row_keys(out + start[b], start[b + 1] - start[b], s);
	pfree(start);
	pfree(next);
	return out;
}

/* Stored row `from` (or the saved row, from < 0) to position `to`. */
static inline void
MoveRow(const RowSet *s, int64 from, int64 to, const float *saved_raw, const double *saved_y,
		double saved_draw)
{
	memcpy(RfMatrixRowF(s->raw, to), from < 0 ? saved_raw : RfMatrixRowF(s->raw, from),
		   sizeof(float) * s->raw->ncols);
	memcpy(RfMatrixRow(s->Y, to), from < 0 ? saved_y : RfMatrixRow(s->Y, from),
		   sizeof(double) * s->Y->ncols);
	if (s->draws)
		s->draws[to] = from < 0 ? saved_draw : s->draws[from];
}

/* How many moves ahead a cycle's rows are fetched into the cache. */
#define LOOKAHEAD 8

/*
 * Puts the rows in the order of their keys, in place: position j takes row
 * order[j], cycle by cycle, one row held aside per cycle.  Each step of a
 * cycle waits for the last, so the order is kept small (4 bytes a row, in
 * huge pages: the cache holds it) and a runner LOOKAHEAD steps ahead on
 * the cycle fetches the rows the next moves read.
 */
static void
PermuteRows(const RowSet *s, const RowKey *keys, int64 n)
{
	RfMapped   *map;
	int32	   *order;
	float	   *saved_raw = palloc(sizeof(float) * Max(s->raw->ncols, 1));
	double	   *saved_y = palloc(sizeof(double) * Max(s->Y->ncols, 1));

	if (n > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a training or validation set of %lld rows is more than reframe keeps in memory (%d)",
						(long long) n, PG_INT32_MAX),
				 errhint("Train on a sample (option \"sample\").")));
	order = RfAllocLarge(sizeof(int32) * n, &map);
	for (int64 j = 0; j < n; j++)
		order[j] = (int32) keys[j].row;
	for (int64 i = 0; i < n; i++)
	{
		int64		j = i;
		int64		runner = i;
		double		saved_draw;

		if (order[i] < 0)
			continue;			/* placed by an earlier cycle */
		memcpy(saved_raw, RfMatrixRowF(s->raw, i), sizeof(float) * s->raw->ncols);
		memcpy(saved_y, RfMatrixRow(s->Y, i), sizeof(double) * s->Y->ncols);
		saved_draw = s->draws ? s->draws[i] : 0;
		for (int k = 0; k < LOOKAHEAD && order[runner] != i; k++)
			runner = order[runner];
		for (;;)
		{
			int64		from = order[j];

			order[j] = -1;
			if (from == i)
			{
				MoveRow(s, -1, j, saved_raw, saved_y, saved_draw);
				break;
			}
			if (order[runner] >= 0 && order[runner] != i)
			{
				runner = order[runner];
				__builtin_prefetch(RfMatrixRowF(s->raw, runner));
				__builtin_prefetch(RfMatrixRow(s->Y, runner));
			}
			MoveRow(s, from, j, saved_raw, saved_y, saved_draw);
			j = from;
		}
		if ((i & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	RfFreeLarge(order, map);
	pfree(saved_raw);
	pfree(saved_y);
}

/*
 * Query codes were given in arrival order: renumbered by first appearance
 * in the sorted rows (training, then validation), the queries keep the
 * order of their hashes.
 */
static void
RenumberQueries(RfTrainState *ts)
{
	int			ncodes = RfDictSize(ts->gdict);
	double	   *map = palloc(sizeof(double) * Max(ncodes, 1));
	int			next = 0;

	for (int k = 0; k < ncodes; k++)
		map[k] = -1;
	for (int set = 0; set < 2; set++)
	{
		RfMatrix   *Y = set ? ts->Yv : ts->Y;

		for (int64 i = 0; i < Y->nrows; i++)
		{
			double	   *y = RfMatrixRow(Y, i);
			int			code = (int) y[ts->gcol];

			if (map[code] < 0)
				map[code] = next++;
			y[ts->gcol] = map[code];
		}
	}
	pfree(map);
}

/* Counts the sorted rows into the encoder's statistics (EncoderNoteRow). */
static void
NoteRows(RfTrainState *ts, int set)
{
	RfMatrix   *raw = set ? ts->rawv : ts->raw;
	RfMatrix   *Y = set ? ts->Yv : ts->Y;
	double	   *row = palloc(sizeof(double) * Max(raw->ncols, 1));

	for (int64 i = 0; i < raw->nrows; i++)
	{
		const float *f = RfMatrixRowF(raw, i);

		for (int r = 0; r < raw->ncols; r++)
			row[r] = f[r];
		EncoderNoteRow(ts->enc, row, set, ts->wcol >= 0 ? RfMatrixRow(Y, i)[ts->wcol] : 1.0);
	}
	pfree(row);
}

/* Sorts both split sets' stored rows into their canonical order (see above). */
void
TrainCanonicalOrder(RfTrainState *ts)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "reframe row order",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	for (int set = 0; set < 2 && ts->ready; set++)
	{
		RowSet		s = {set ? ts->rawv : ts->raw, set ? ts->Yv : ts->Y, ts->draws[set]};
		RowKey	   *keys = ts->rowkeys[set];
		int64		n = s.raw->nrows;

		Assert(n == ts->nrows[set] && s.Y->nrows == n);
		if (n > 1)
		{
			RfMapped   *map;
			RowKey	   *sorted = SortRowKeys(keys, n, &s, &map);

			PermuteRows(&s, sorted, n);
			RfFreeLarge(sorted, map);
		}
		NoteRows(ts, set);
		if (keys)
			RfFreeLarge(keys, ts->rowkeys_map[set]);
		ts->rowkeys[set] = NULL;
	}
	if (ts->gdict && ts->ready)
		RenumberQueries(ts);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}
