/*
 * progress.c
 *		Training progress in shared memory: one slot per running training,
 *		written by its backend, read by reframe.training_progress().
 *
 * The slots are allocated on first use from the shared memory PostgreSQL
 * keeps spare for extensions (as pg_prewarm's autoprewarm does), so reframe
 * needs no shared_preload_libraries entry.  Each slot has a spinlock; the
 * writer holds it for a few stores, the reader to copy the slot.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "progress.h"

#define RF_PROGRESS_SLOTS 64

typedef struct ProgressSlot
{
	slock_t		mutex;
	int			pid;			/* 0 when free */
	Oid			dbid;
	Oid			userid;
	char		model[2 * NAMEDATALEN + 1];
	char		phase[32];
	int64		rows;
	int			iteration;
	double		loss;
	TimestampTz started;
	TimestampTz updated;
} ProgressSlot;

static ProgressSlot *slots = NULL;
static ProgressSlot *mine = NULL;	/* this backend's slot while it trains */
static bool exit_hook = false;

static ProgressSlot *
ProgressSlots(void)
{
	bool		found;

	if (slots)
		return slots;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	slots = ShmemInitStruct("reframe training progress",
							sizeof(ProgressSlot) * RF_PROGRESS_SLOTS, &found);
	if (!found)
	{
		memset(slots, 0, sizeof(ProgressSlot) * RF_PROGRESS_SLOTS);
		for (int i = 0; i < RF_PROGRESS_SLOTS; i++)
			SpinLockInit(&slots[i].mutex);
	}
	LWLockRelease(AddinShmemInitLock);
	return slots;
}

static void
ProgressRelease(void)
{
	if (mine == NULL)
		return;
	SpinLockAcquire(&mine->mutex);
	mine->pid = 0;
	SpinLockRelease(&mine->mutex);
	mine = NULL;
}

static void
ProgressReleaseCallback(void *arg)
{
	ProgressRelease();
}

static void
ProgressExit(int code, Datum arg)
{
	ProgressRelease();
}

void
ProgressStart(const char *model, MemoryContext cxt)
{
	ProgressSlot *s = ProgressSlots();
	MemoryContextCallback *cb;

	ProgressRelease();
	if (!exit_hook)
	{
		before_shmem_exit(ProgressExit, (Datum) 0);
		exit_hook = true;
	}
	for (int i = 0; i < RF_PROGRESS_SLOTS && mine == NULL; i++)
	{
		SpinLockAcquire(&s[i].mutex);
		if (s[i].pid == 0)
		{
			s[i].pid = MyProcPid;
			s[i].dbid = MyDatabaseId;
			s[i].userid = GetUserId();
			strlcpy(s[i].model, model, sizeof(s[i].model));
			strlcpy(s[i].phase, "starting", sizeof(s[i].phase));
			s[i].rows = 0;
			s[i].iteration = 0;
			s[i].loss = get_float8_nan();
			s[i].started = s[i].updated = GetCurrentTimestamp();
			mine = &s[i];
		}
		SpinLockRelease(&s[i].mutex);
	}
	cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	cb->func = ProgressReleaseCallback;
	cb->arg = NULL;
	MemoryContextRegisterResetCallback(cxt, cb);
}

void
ProgressPhase(const char *phase)
{
	TimestampTz now;

	if (mine == NULL)
		return;
	now = GetCurrentTimestamp();
	SpinLockAcquire(&mine->mutex);
	strlcpy(mine->phase, phase, sizeof(mine->phase));
	mine->updated = now;
	SpinLockRelease(&mine->mutex);
}

void
ProgressRows(int64 rows)
{
	if (mine == NULL)
		return;
	SpinLockAcquire(&mine->mutex);
	mine->rows = rows;
	SpinLockRelease(&mine->mutex);
}

void
ProgressIteration(int iteration, double loss)
{
	TimestampTz now;

	if (mine == NULL)
		return;
	now = GetCurrentTimestamp();
	SpinLockAcquire(&mine->mutex);
	mine->iteration = iteration;
	mine->loss = loss;
	mine->updated = now;
	SpinLockRelease(&mine->mutex);
}

/*
 * reframe.training_progress(): one row per running training.  As in
 * pg_stat_activity, a role sees the details of the trainings of roles whose
 * privileges it has, or of all with pg_read_all_stats.
 */
PG_FUNCTION_INFO_V1(reframe_training_progress);
Datum
reframe_training_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ProgressSlot *s = ProgressSlots();
	bool		all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < RF_PROGRESS_SLOTS; i++)
	{
		ProgressSlot copy;
		Datum		values[10];
		bool		nulls[10] = {0};
		char	   *db;
		char	   *role;

		SpinLockAcquire(&s[i].mutex);
		copy = s[i];
		SpinLockRelease(&s[i].mutex);
		if (copy.pid == 0)
			continue;
		values[0] = Int32GetDatum(copy.pid);
		db = get_database_name(copy.dbid);
		role = GetUserNameFromId(copy.userid, true);
		values[1] = db ? CStringGetTextDatum(db) : (Datum) 0;
		nulls[1] = db == NULL;
		values[2] = role ? CStringGetTextDatum(role) : (Datum) 0;
		nulls[2] = role == NULL;
		if (all || has_privs_of_role(GetUserId(), copy.userid))
		{
			values[3] = CStringGetTextDatum(copy.model);
			values[4] = CStringGetTextDatum(copy.phase);
			values[5] = Int64GetDatum(copy.rows);
			values[6] = Int32GetDatum(copy.iteration);
			values[7] = Float8GetDatum(copy.loss);
			nulls[7] = isnan(copy.loss);
			values[8] = TimestampTzGetDatum(copy.started);
			values[9] = TimestampTzGetDatum(copy.updated);
		}
		else
			for (int c = 3; c < 10; c++)
				nulls[c] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
